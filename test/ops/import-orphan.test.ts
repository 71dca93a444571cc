/**
 * Issue 10 #12: a run that fails before its commit removes what it created
 * (the temporary and the final snapshot directory, the backup, the
 * directories and `dragonboat.ds` it made), so the NodeHost directory is as
 * it was; and an orphan `snapshot-<INDEX>` of our own (unrecorded, carrying
 * our flag file with the same record — left by a killed run) never blocks or
 * doubles the retry: the rerun reuses it when it verifies identical, or
 * removes it before copying.
 */
import { existsSync } from 'node:fs';
import * as fsp from 'node:fs/promises';
import * as path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ErrAborted } from '../../src/errors.js';
import { importSnapshot, type ImportStep } from '../../src/ops/import.js';
import { makeRunningNode, makeTempDir } from '../helpers/nodehost.js';
import { flipByte } from '../helpers/snapshots.js';
import { treeSnapshot } from '../helpers/tree.js';
import { expectCodedRejection, freshConfig, makeExport, nodeState, runImportChild } from './fixtures.js';
import { M4, workedMembers } from '../helpers/worked-example.js';
import { statePayload } from '../helpers/payload.js';

const NEW_DIR = 'snapshot-0000000000000014';

let root: string;
let work: string;
let exportDir: string;

beforeAll(async () => {
  root = await makeTempDir('nht-orphan-');
  work = path.join(root, 'work');
  exportDir = (await makeExport(path.join(root, 'backup'), { payload: statePayload(5 * 1024 * 1024 + 9) })).dir;
});
afterAll(async () => {
  await fsp.rm(root, { recursive: true, force: true });
});

async function setupM1(): Promise<Awaited<ReturnType<typeof makeRunningNode>>> {
  await fsp.rm(work, { recursive: true, force: true });
  return makeRunningNode({ root: work, entries: 30, snapshotIndex: 10n });
}

/** Aborts the import at step `at`. */
async function abortAt(config: Parameters<typeof importSnapshot>[0], at: ImportStep, extra: { backupDir?: string } = {}): Promise<void> {
  const ac = new AbortController();
  await expectCodedRejection(
    importSnapshot(config, exportDir, workedMembers(), config.raftAddress === M4 ? 4 : 1, {
      engine: 'js',
      signal: ac.signal,
      ...extra,
      onStep: (s) => {
        if (s === at) ac.abort();
      },
    }),
    ErrAborted,
  );
}

describe('a failed run removes what it created', () => {
  for (const at of ['snapshot-copied', 'flag-written', 'data-status-written', 'finalized'] as const) {
    it(`survivor m1, aborted at ${at}, with a backup: the NodeHost directory is as it was, no backup left`, async () => {
      const m1 = await setupM1();
      const before = await nodeState(work, m1.config);
      const backupDir = path.join(root, `undo-${at}`);
      await abortAt(m1.config, at, { backupDir });
      expect(await nodeState(work, m1.config)).toEqual(before);
      await expect(fsp.stat(backupDir)).rejects.toThrow();
    });
  }

  it('fresh host m4, aborted at finalized: nothing of the run is left', async () => {
    const parent = path.join(root, 'm4-fresh');
    await fsp.rm(parent, { recursive: true, force: true });
    await fsp.mkdir(parent);
    const cfg = freshConfig(parent, M4);
    await abortAt(cfg, 'finalized');
    expect(await treeSnapshot(parent)).toEqual({});
  });
});

describe('a rerun after a kill past the rename reuses or removes its own orphan', () => {
  it('reuses an identical orphan (no second copy) and ends exactly as an uninterrupted run', async () => {
    let m1 = await setupM1();
    await importSnapshot(m1.config, exportDir, workedMembers(), 1, { engine: 'js' });
    const want = await nodeState(work, m1.config);

    m1 = await setupM1();
    const crashed = await runImportChild({
      config: m1.config,
      srcDir: exportDir,
      members: workedMembers(),
      replicaId: '1',
      crashStep: 'finalized',
      options: { engine: 'js' },
    });
    expect(crashed.signal).toBe('SIGKILL');
    const orphan = path.join(path.dirname(m1.snapshotDir!), NEW_DIR);
    expect((await fsp.stat(orphan)).isDirectory()).toBe(true);

    const steps: string[] = [];
    let copied = 0;
    const res = await importSnapshot(m1.config, exportDir, workedMembers(), 1, {
      engine: 'js',
      onStep: (s) => steps.push(s),
      onProgress: (phase, done) => {
        if (phase === 'copy') copied = Math.max(copied, done);
      },
    });
    expect(steps).not.toContain('temp-created');
    expect(steps).not.toContain('snapshot-copied');
    expect(copied).toBe(0);
    expect(res.files.every((f) => f.how === 'reused')).toBe(true);
    expect(await nodeState(work, m1.config)).toEqual(want);
  });

  it('removes an orphan that is not identical before copying, and ends exactly as an uninterrupted run', async () => {
    let m1 = await setupM1();
    await importSnapshot(m1.config, exportDir, workedMembers(), 1, { engine: 'js' });
    const want = await nodeState(work, m1.config);

    m1 = await setupM1();
    await runImportChild({
      config: m1.config,
      srcDir: exportDir,
      members: workedMembers(),
      replicaId: '1',
      crashStep: 'finalized',
      options: { engine: 'js' },
    });
    const orphan = path.join(path.dirname(m1.snapshotDir!), NEW_DIR);
    flipByte(path.join(orphan, `${NEW_DIR}.gbsnap`), 1024 + 100);

    let orphanAtCopy: boolean | undefined;
    await importSnapshot(m1.config, exportDir, workedMembers(), 1, {
      engine: 'js',
      onStep: (s) => {
        if (s === 'temp-created') orphanAtCopy = existsSync(orphan);
      },
    });
    expect(orphanAtCopy).toBe(false);
    expect(await nodeState(work, m1.config)).toEqual(want);
  });
});
