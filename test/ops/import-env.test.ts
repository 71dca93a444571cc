/**
 * importSnapshot and its surroundings: a NodeHost (or anything) holding a
 * lock, the degraded engines (no native addon), and cancellation mid-copy.
 */
import { TEST_LOGDB_TYPE } from '../helpers/store.js';
import * as fsp from 'node:fs/promises';
import * as path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { loadNative } from '../../src/native/binding.js';
import { ErrAborted, ErrDirLocked } from '../../src/errors.js';
import type { NodeHostConfig } from '../../src/nodehost/config.js';
import { importSnapshot } from '../../src/ops/import.js';
import { inspectNode } from '../../src/ops/inspect.js';
import { makeRunningNode, makeTempDir, type RunningNode } from '../helpers/nodehost.js';
import { treeHash } from '../helpers/tree.js';
import {
  INDEX,
  expectCodedRejection,
  freshConfig,
  staleEntriesRemoved,
  makeExport,
  nodeState,
  partitionDir,
  runImportChild,
} from './fixtures.js';
import { holdFcntlLock, holdPartition } from '../helpers/lock-holders.js';
import { M4, M5, SHARD, workedMembers } from '../helpers/worked-example.js';
import { statePayload } from '../helpers/payload.js';

let root: string;

beforeAll(async () => {
  root = await makeTempDir('nht-ops-env-');
});

afterAll(async () => {
  await fsp.rm(root, { recursive: true, force: true });
});

describe('locks', () => {
  let m1: RunningNode;
  let src: string;
  beforeAll(async () => {
    m1 = await makeRunningNode({ root: path.join(root, 'locks'), entries: 30, snapshotIndex: 10n, walDir: true });
    src = (await makeExport(path.join(root, 'locks-backup'))).dir;
  });

  async function refusedWhileHeld(file: string, hold: (f: string) => ReturnType<typeof holdFcntlLock>): Promise<void> {
    const holder = await hold(file);
    try {
      const before = await treeHash(path.join(root, 'locks'));
      const exportBefore = await treeHash(src);
      const e = await expectCodedRejection(importSnapshot(m1.config, src, workedMembers(), 1n), ErrDirLocked);
      expect(e.details.path).toBe(file);
      expect(e.details.pid).toBe(holder.pid);
      expect(e.message).toContain(file);
      expect(await treeHash(path.join(root, 'locks'))).toBe(before);
      expect(await treeHash(src)).toBe(exportBefore);
    } finally {
      await holder.release();
    }
  }

  it('a process holding an fcntl lock on NodeHostDir/LOCK → ErrDirLocked, nothing changed', async () => {
    await refusedWhileHeld(path.join(m1.cfg.nodeHostDir, 'LOCK'), holdFcntlLock);
  });

  it('a process holding an fcntl lock on WALDir/LOCK → ErrDirLocked, nothing changed', async () => {
    await refusedWhileHeld(path.join(m1.cfg.walDir!, 'LOCK'), holdFcntlLock);
  });

  it("a process holding the partition open (its engine's lock) → ErrDirLocked, nothing changed", async () => {
    await refusedWhileHeld(path.join(partitionDir(m1.cfg), 'LOCK'), () => holdPartition(partitionDir(m1.cfg)));
  });

  it('once the holders are gone the import runs', async () => {
    const res = await importSnapshot(m1.config, src, workedMembers(), 1n);
    expect(res.index).toBe(INDEX);
  });
});

describe('degraded engines: the worked example in child processes without the native addon', () => {
  const work = (): string => path.join(root, 'degraded');
  let src: string;
  let reference: Awaited<ReturnType<typeof nodeState>>[];

  /** m1 (history), m4 and m5 (fresh) at the same absolute paths every time. */
  async function setup(): Promise<[NodeHostConfig, bigint][]> {
    await fsp.rm(work(), { recursive: true, force: true });
    const m1 = await makeRunningNode({ root: path.join(work(), 'm1'), entries: 30, snapshotIndex: 10n });
    return [
      [m1.config, 1n],
      [freshConfig(path.join(work(), 'm4'), M4), 4n],
      [freshConfig(path.join(work(), 'm5'), M5), 5n],
    ];
  }

  async function states(nodes: [NodeHostConfig, bigint][]): Promise<Awaited<ReturnType<typeof nodeState>>[]> {
    const out = [];
    for (const [cfg] of nodes) out.push(await nodeState(path.dirname(cfg.nodeHostDir), cfg));
    return out;
  }

  beforeAll(async () => {
    src = (await makeExport(path.join(root, 'degraded-backup'))).dir;
    const nodes = await setup();
    for (const [cfg, r] of nodes) {
      const res = await importSnapshot(cfg, src, workedMembers(), r);
      // In this process the native addon is used whenever it is built; without it 'auto' says so.
      expect(res.engine).toBe(loadNative() ? 'native' : 'wasm');
      expect(res.warnings.some((w) => w.code === 'degraded-engine')).toBe(!loadNative());
    }
    reference = await states(nodes);
  });

  const variants: [string, string, string, boolean][] = [
    ["engine 'auto' falls back to wasm and says so", 'auto', 'wasm', true],
    ["engine 'js'", 'js', 'js', false],
  ];
  for (const [title, choice, expected, warned] of variants) {
    it(`${title}; the nodes end exactly as with the default engine in-process`, async () => {
      const nodes = await setup();
      for (const [cfg, r] of nodes) {
        const out = await runImportChild(
          { config: cfg, srcDir: src, members: workedMembers(), replicaId: String(r), options: { engine: choice } },
          { NODEHOST_TOOLS_DISABLE_NATIVE: '1' },
        );
        expect(out.code, out.stderr + JSON.stringify(out.out)).toBe(0);
        expect(out.out?.ok).toBe(true);
        const res = out.out!.result as {
          engine: string;
          warnings: { code: string; message: string }[];
          index: string;
          staleEntries: unknown;
        };
        expect(res.engine).toBe(expected);
        expect(res.index).toBe(String(INDEX));
        const degraded = res.warnings.find((w) => w.code === 'degraded-engine');
        if (warned) expect(degraded?.message).toMatch(/native engine unavailable/);
        else expect(degraded).toBeUndefined();
        if (r === 1n) expect(res.staleEntries).toMatchObject(staleEntriesRemoved(30, 0));
      }
      // The portable entry removal (classic-level clear + compaction) leaves the same records, and no old bytes.
      expect(await states(nodes)).toEqual(reference);
      const view = await inspectNode(nodes[0]![0], SHARD, 1n);
      expect(view.snapshot?.index).toBe(INDEX);
      expect(view.entries.count).toBe(0n);
      // LevelDB deleted and compacted the old entries; Pebble covers them with a tombstone until its own compaction.
      if (TEST_LOGDB_TYPE === 'sharded-leveldb') {
        const p = path.join(path.dirname(nodes[0]![0].nodeHostDir), 'nodehost', 'testhost', '00000000000000000001', 'logdb-4');
        for (const name of await fsp.readdir(p)) {
          expect((await fsp.readFile(path.join(p, name))).includes(Buffer.from('cmd-')), name).toBe(false);
        }
      }
    });
  }
});

describe('cancellation', () => {
  let src: string;
  beforeAll(async () => {
    // Several 8 MiB pieces, so that the portable engines report progress before the copy ends.
    src = (await makeExport(path.join(root, 'abort-backup'), { payload: statePayload(20 * 1024 * 1024, 5) })).dir;
  });

  async function target(which: 'm1' | 'm4'): Promise<{ base: string; config: NodeHostConfig; replica: bigint }> {
    const base = path.join(root, `abort-${which}-${Math.random().toString(36).slice(2)}`);
    if (which === 'm4') {
      await fsp.mkdir(base);
      return { base, config: freshConfig(base, M4), replica: 4n };
    }
    return { base, config: (await makeRunningNode({ root: base, entries: 30, snapshotIndex: 10n })).config, replica: 1n };
  }

  for (const which of ['m1', 'm4'] as const) {
    it(`an AbortSignal aborted mid-copy → ErrAborted, rolled back: ${which === 'm1' ? 'm1 (history)' : 'fresh m4'} unchanged`, async () => {
      const { base, config, replica } = await target(which);
      const before = await treeHash(base);
      const exportBefore = await treeHash(src);
      const controller = new AbortController();
      let abortedAt: [number, number] | undefined;
      const steps: string[] = [];
      const e = await expectCodedRejection(
        importSnapshot(config, src, workedMembers(), replica, {
          engine: 'wasm',
          signal: controller.signal,
          onStep: (s) => steps.push(s),
          onProgress: (phase, done, total) => {
            if (phase === 'copy' && done > 0 && done < total && !abortedAt) {
              abortedAt = [done, total];
              controller.abort(new Error('operator cancelled'));
            }
          },
        }),
        ErrAborted,
      );
      expect(abortedAt).toBeDefined();
      expect(abortedAt![0]).toBeLessThan(abortedAt![1]);
      expect(steps).toEqual(['validated', 'temp-created']);
      expect(e.message).toMatch(/abort/);
      expect(await treeHash(base)).toBe(before);
      expect(await treeHash(src)).toBe(exportBefore);
      if (which === 'm4') await expect(fsp.stat(config.nodeHostDir)).rejects.toThrow(/ENOENT/);
    });
  }

  it('default engine: aborted when the copy starts → ErrAborted, fresh m4 rolled back', async () => {
    const { base, config, replica } = await target('m4');
    const controller = new AbortController();
    const e = await expectCodedRejection(
      importSnapshot(config, src, workedMembers(), replica, {
        signal: controller.signal,
        onStep: (s) => {
          if (s === 'temp-created') controller.abort();
        },
      }),
      ErrAborted,
    );
    expect(e.message).toMatch(/abort/);
    expect(await fsp.readdir(base)).toEqual([]);
  });

  it('aborted after finalizing → ErrAborted; the old state is intact and the run removed its new directory (issue 10 #12)', async () => {
    const { config, replica } = await target('m1');
    const controller = new AbortController();
    await expectCodedRejection(
      importSnapshot(config, src, workedMembers(), replica, {
        signal: controller.signal,
        onStep: (s) => {
          if (s === 'finalized') controller.abort();
        },
      }),
      ErrAborted,
    );
    const view = await inspectNode(config, SHARD, replica);
    expect(view.snapshot?.index).toBe(10n);
    expect(view.maxIndex).toBe(30n);
    expect(view.snapshotDirs.map((d) => [d.name, d.status, d.restartFate])).toEqual([['snapshot-000000000000000A', 'current', 'keep']]);
  });

  it('a signal already aborted → ErrAborted before anything is written', async () => {
    const base = path.join(root, 'abort-early');
    const m1 = await makeRunningNode({ root: base, entries: 5, snapshotIndex: 3n });
    const before = await treeHash(base);
    const controller = new AbortController();
    controller.abort();
    await expectCodedRejection(importSnapshot(m1.config, src, workedMembers(), 1n, { signal: controller.signal }), ErrAborted);
    expect(await treeHash(base)).toBe(before);
  });
});
