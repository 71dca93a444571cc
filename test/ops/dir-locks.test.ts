/**
 * holdNodeHostLocks and its users: while an import (or a restore) rewrites a
 * NodeHost directory, NodeHostDir/LOCK and WALDir/LOCK are held, so a
 * NodeHost started meanwhile could not take them and would refuse to start.
 *
 * "Could a NodeHost lock it now?" is asked of a python3 child trying a
 * non-blocking fcntl write lock (lockf LOCK_EX|LOCK_NB), exactly the lock a
 * NodeHost takes. fcntl never reports a process's own locks to itself, and
 * reading a held LOCK file here (treeHash) would drop the lock: trees are
 * only fingerprinted while nothing is held.
 */
import * as fsp from 'node:fs/promises';
import * as path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { DISABLE_NATIVE_ENV, loadNative } from '../../src/native/binding.js';
import { ErrDirLocked, ErrIncompleteSnapshot } from '../../src/errors.js';
import { resolveNodeHostConfig, type NodeHostConfig } from '../../src/nodehost/config.js';
import { checkNodeHostNotLocked, isOwnLock } from '../../src/nodehost/lock.js';
import { restoreBackup } from '../../src/ops/backup.js';
import { holdNodeHostLocks } from '../../src/ops/dir-locks.js';
import { IMPORT_STEPS, importSnapshot } from '../../src/ops/import.js';
import { nativeLockHolder } from '../../src/nodehost/native-lock.js';
import { makeRunningNode, makeTempDir, type RunningNode } from '../helpers/nodehost.js';
import { flipByte, V2_BLOCK_SIZE, V2_FULL_BLOCK_SIZE } from '../helpers/snapshots.js';
import { treeHash } from '../helpers/tree.js';
import { hasPython3, holdFcntlLock, probeLock, probeLocks, type LockProbe } from '../helpers/lock-holders.js';
import { expectCodedRejection, freshConfig, makeExport } from './fixtures.js';
import { M4, workedMembers } from '../helpers/worked-example.js';
import { statePayload } from '../helpers/payload.js';

function lockFiles(config: NodeHostConfig): string[] {
  const cfg = resolveNodeHostConfig(config);
  return [path.join(cfg.nodeHostDir, 'LOCK'), ...(cfg.walDir ? [path.join(cfg.walDir, 'LOCK')] : [])];
}

const probeAll = (config: NodeHostConfig): LockProbe[] => probeLocks(lockFiles(config));

let root: string;
let n = 0;
const next = (name: string): string => path.join(root, `${name}-${++n}`);

beforeAll(async () => {
  root = await makeTempDir('nht-ops-dirlocks-');
});

afterAll(async () => {
  await fsp.rm(root, { recursive: true, force: true });
});

async function runningNode(): Promise<RunningNode> {
  return makeRunningNode({ root: next('m1'), entries: 30, snapshotIndex: 10n, walDir: true });
}

/** A fresh host (nothing on disk under `base`) with a WALDir. */
async function freshHost(): Promise<{ base: string; config: NodeHostConfig }> {
  const base = next('m4');
  await fsp.mkdir(base);
  return { base, config: { ...freshConfig(base, M4), walDir: path.join(base, 'wal') } };
}

const withLocks = loadNative() !== undefined && hasPython3;

describe.skipIf(!withLocks)('holdNodeHostLocks', () => {
  it("locks NodeHostDir/LOCK and WALDir/LOCK as this process's own, writes nothing, and frees them on release", async () => {
    const m1 = await runningNode();
    const before = await treeHash(m1.root);
    const hold = await holdNodeHostLocks(m1.cfg);
    try {
      expect(hold.held).toBe(true);
      expect(hold.notHeldReason).toBeUndefined();
      expect(hold.files).toEqual(lockFiles(m1.config));
      expect(probeAll(m1.config)).toEqual(['locked', 'locked']);
      for (const f of hold.files) expect(isOwnLock(f)).toBe(true);
      // The checks the operations make see this process, not a NodeHost, and do not refuse (nor unlock).
      const status = await checkNodeHostNotLocked(m1.cfg, { lockHolder: nativeLockHolder() });
      expect(status.map((s) => [s.lockedBySelf, s.lockedByOther])).toEqual([
        [true, false],
        [true, false],
      ]);
      expect(probeAll(m1.config)).toEqual(['locked', 'locked']);
    } finally {
      await hold.release();
    }
    expect(probeAll(m1.config)).toEqual(['free', 'free']);
    for (const f of lockFiles(m1.config)) expect(isOwnLock(f)).toBe(false);
    expect(await treeHash(m1.root)).toBe(before);
    await hold.release(); // idempotent
  });

  it('holds taken together share the lock: it is freed when the last one ends', async () => {
    const m1 = await runningNode();
    const [a, b] = await Promise.all([holdNodeHostLocks(m1.cfg), holdNodeHostLocks(m1.cfg)]);
    expect(a.held && b.held).toBe(true);
    await a.release({ failed: true });
    expect(probeAll(m1.config)).toEqual(['locked', 'locked']);
    await b.release();
    expect(probeAll(m1.config)).toEqual(['free', 'free']);
  });

  it('create: false on a fresh host writes nothing; acquireMissing creates and locks; a failed release removes it all', async () => {
    const { base, config } = await freshHost();
    const cfg = resolveNodeHostConfig(config);
    const hold = await holdNodeHostLocks(cfg, { create: false });
    expect(await fsp.readdir(base)).toEqual([]);
    expect(hold.held).toBe(false);
    expect(hold.notHeldReason).toMatch(/not locked yet/);
    expect(hold.files).toEqual([]);
    await hold.acquireMissing();
    expect(hold.held).toBe(true);
    expect(probeAll(config)).toEqual(['locked', 'locked']);
    await hold.release({ failed: true });
    expect(await fsp.readdir(base)).toEqual([]);
  });

  it("a successful hold keeps the LOCK files it created, as a NodeHost's first start would", async () => {
    const { config } = await freshHost();
    const hold = await holdNodeHostLocks(resolveNodeHostConfig(config));
    await hold.release();
    expect(probeAll(config)).toEqual(['free', 'free']);
  });

  it('another process holding WALDir/LOCK → ErrDirLocked with its pid; NodeHostDir/LOCK is not left locked', async () => {
    const m1 = await runningNode();
    const [nhLock, walLock] = lockFiles(m1.config) as [string, string];
    const holder = await holdFcntlLock(walLock);
    try {
      const e = await expectCodedRejection(holdNodeHostLocks(m1.cfg), ErrDirLocked);
      expect(e.details).toMatchObject({ path: walLock, pid: holder.pid });
      expect(probeLock(nhLock)).toBe('free');
      expect(isOwnLock(nhLock)).toBe(false);
    } finally {
      await holder.release();
    }
  });

  it('on a fresh host whose WALDir/LOCK is held elsewhere, what was created for NodeHostDir is removed again', async () => {
    const { base, config } = await freshHost();
    const walLock = lockFiles(config)[1]!;
    await fsp.mkdir(path.dirname(walLock));
    await fsp.writeFile(walLock, '');
    const before = await treeHash(base);
    const holder = await holdFcntlLock(walLock);
    try {
      await expectCodedRejection(holdNodeHostLocks(resolveNodeHostConfig(config)), ErrDirLocked);
    } finally {
      await holder.release();
    }
    expect(await treeHash(base)).toBe(before);
    expect(await fsp.readdir(base)).toEqual(['wal']);
  });
});

describe.skipIf(!withLocks)('importSnapshot and restoreBackup hold the locks while they write', () => {
  let src: string;
  let corrupt: string;
  beforeAll(async () => {
    src = (await makeExport(next('export'))).dir;
    // Three blocks, block 1's data flipped under an intact CRC: found only while copying.
    corrupt = (await makeExport(next('corrupt'), { payload: statePayload(2 * V2_BLOCK_SIZE + 100_000, 11) })).dir;
    flipByte(path.join(corrupt, 'snapshot-0000000000000014.gbsnap'), 1024 + V2_FULL_BLOCK_SIZE + 777);
  });

  it('m1 (history): a NodeHost could not start at any step; it can once the import is done', async () => {
    const m1 = await runningNode();
    const seen: [string, LockProbe[]][] = [];
    await importSnapshot(m1.config, src, workedMembers(), 1n, { onStep: (s) => seen.push([s, probeAll(m1.config)]) });
    expect(seen).toEqual(IMPORT_STEPS.map((s) => [s, ['locked', 'locked']]));
    expect(probeAll(m1.config)).toEqual(['free', 'free']);
  });

  it('where the LOCK files exist they are held from validation on (a rerun verifies the export before its first step)', async () => {
    const m1 = await runningNode();
    await importSnapshot(m1.config, src, workedMembers(), 1n);
    const duringValidation: LockProbe[][] = [];
    let stepped = false;
    const res = await importSnapshot(m1.config, src, workedMembers(), 1n, {
      onStep: () => (stepped = true),
      onProgress: (phase) => {
        if (phase === 'verify' && !stepped) duringValidation.push(probeAll(m1.config));
      },
    });
    expect(res.files.map((f) => f.how)).toEqual(['reused']);
    expect(duringValidation.length).toBeGreaterThan(0);
    expect(duringValidation.every((p) => p.join() === 'locked,locked')).toBe(true);
    expect(probeAll(m1.config)).toEqual(['free', 'free']);
  });

  it('a fresh host: locked from the first write on; afterwards the LOCK files stay, free', async () => {
    const { config } = await freshHost();
    const seen: [string, LockProbe[]][] = [];
    const res = await importSnapshot(config, src, workedMembers(), 4n, { onStep: (s) => seen.push([s, probeAll(config)]) });
    expect(res.warnings.map((w) => w.code)).not.toContain('lock-not-held');
    expect(seen).toEqual(IMPORT_STEPS.map((s) => [s, ['locked', 'locked']]));
    expect(probeAll(config)).toEqual(['free', 'free']);
  });

  for (const which of ['m1', 'fresh'] as const) {
    it(`a corrupt block found while copying (${which}): held until the rollback, then freed; every byte unchanged`, async () => {
      const { base, config } = which === 'm1' ? await runningNode().then((m) => ({ base: m.root, config: m.config })) : await freshHost();
      const before = await treeHash(base);
      const seen: [string, LockProbe[]][] = [];
      const e = await expectCodedRejection(
        importSnapshot(config, corrupt, workedMembers(), which === 'm1' ? 1n : 4n, { onStep: (s) => seen.push([s, probeAll(config)]) }),
        ErrIncompleteSnapshot,
      );
      expect(e.details.check).toBe('block-crc');
      expect(seen).toEqual([
        ['validated', ['locked', 'locked']],
        ['temp-created', ['locked', 'locked']],
      ]);
      expect(probeAll(config)).toEqual(which === 'm1' ? ['free', 'free'] : ['missing', 'missing']);
      expect(await treeHash(base)).toBe(before);
      if (which === 'fresh') expect(await fsp.readdir(base)).toEqual([]);
    });
  }

  it('a NodeHost holding the lock when phase B starts: refused, nothing written', async () => {
    const { base, config } = await freshHost();
    const nhLock = lockFiles(config)[0]!;
    await fsp.mkdir(path.dirname(nhLock));
    await fsp.writeFile(nhLock, '');
    const before = await treeHash(base);
    const holder = await holdFcntlLock(nhLock);
    try {
      const e = await expectCodedRejection(importSnapshot(config, src, workedMembers(), 4n), ErrDirLocked);
      expect(e.details).toMatchObject({ path: nhLock, pid: holder.pid });
    } finally {
      await holder.release();
    }
    expect(await treeHash(base)).toBe(before);
  });

  it('restoreBackup holds them while it writes, and frees them after', async () => {
    const m1 = await runningNode();
    const backupDir = next('backup');
    await importSnapshot(m1.config, src, workedMembers(), 1n, { backupDir });
    // The restore polls its signal between its writes: each poll asks whether a NodeHost could start.
    const seen: LockProbe[][] = [];
    const signal = new AbortController().signal;
    Object.defineProperty(signal, 'aborted', {
      get: () => {
        seen.push(probeAll(m1.config));
        return false;
      },
    });
    await restoreBackup(backupDir, m1.config, signal);
    expect(seen.length).toBeGreaterThan(0);
    expect(seen.every((p) => p[0] === 'locked' && p[1] === 'locked')).toBe(true);
    expect(probeAll(m1.config)).toEqual(['free', 'free']);
  });
});

describe('without the native addon', () => {
  let saved: string | undefined;
  beforeAll(() => {
    saved = process.env[DISABLE_NATIVE_ENV];
    process.env[DISABLE_NATIVE_ENV] = '1';
  });
  afterAll(() => {
    if (saved === undefined) delete process.env[DISABLE_NATIVE_ENV];
    else process.env[DISABLE_NATIVE_ENV] = saved;
  });

  it('the hold says it holds nothing and why; LOCK files are still created as with the addon', async () => {
    const { base, config } = await freshHost();
    const hold = await holdNodeHostLocks(resolveNodeHostConfig(config));
    expect(hold.held).toBe(false);
    expect(hold.notHeldReason).toMatch(/native addon/);
    expect(hold.files).toEqual(lockFiles(config));
    await hold.release({ failed: true });
    expect(await fsp.readdir(base)).toEqual([]);
  });

  it('the import warns lock-not-held (once), and still completes', async () => {
    const { config } = await freshHost();
    const src = (await makeExport(next('export'))).dir;
    const res = await importSnapshot(config, src, workedMembers(), 4n, { engine: 'js' });
    const w = res.warnings.filter((x) => x.code === 'lock-not-held');
    expect(w).toHaveLength(1);
    expect(w[0]!.message).toMatch(/NodeHostDir\/LOCK was checked but not held/);
    for (const f of lockFiles(config)) await expect(fsp.stat(f)).resolves.toBeDefined();
  });
});
