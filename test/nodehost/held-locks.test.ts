/**
 * Issue 10 #3: one process-wide registry of the lock files this process
 * holds (NodeHost LOCK files held by an operation, LevelDB partitions open
 * for writing), consulted by every probe. fcntl locks belong to the process
 * and any close of any descriptor of the file drops them, so the native
 * probe (F_GETLK needs a descriptor) must never open a file held here —
 * proven from outside: another process can still not lock the file after
 * the probe ran.
 */
import * as fsp from 'node:fs/promises';
import * as path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { loadNative } from '../../src/native/binding.js';
import { ErrDirLocked } from '../../src/errors.js';
import { LogDB } from '../../src/logdb/logdb.js';
import { resolveNodeHostConfig } from '../../src/nodehost/config.js';
import { checkNotLocked, heldLockFiles, isOwnLock } from '../../src/nodehost/lock.js';
import { LOCK_FILENAME, lockFilePath, logdbPartitionDirByIndex } from '../../src/nodehost/paths.js';
import { holdNodeHostLocks } from '../../src/ops/dir-locks.js';
import { nativeLockHolder } from '../../src/nodehost/native-lock.js';
import { probeLock } from '../helpers/lock-holders.js';
import { makeRunningNode, makeTempDir, type RunningNode } from '../helpers/nodehost.js';

let root: string;
let node: RunningNode;
beforeAll(async () => {
  root = await makeTempDir('nht-held-');
  node = await makeRunningNode({ root, entries: 20, snapshotIndex: 10n, config: { logdbType: 'sharded-leveldb' } });
});
afterAll(async () => {
  await fsp.rm(root, { recursive: true, force: true });
});

describe.skipIf(!loadNative())('the held-lock registry (needs the addon: fcntl locks and the F_GETLK probe)', () => {
  it('a LevelDB partition open for writing is registered before LevelDB opens it; the native probe never opens its LOCK', async () => {
    const cfg = resolveNodeHostConfig(node.config);
    const lock = path.join(logdbPartitionDirByIndex(cfg, 4), LOCK_FILENAME);
    const db = await LogDB.open(cfg, { lock: { lockHolder: nativeLockHolder() } });
    try {
      await db.saveBootstrap(100n, 1n, { addresses: new Map([[1n, 'm1:63001']]), join: false, type: 1 });
      expect(isOwnLock(lock)).toBe(true);
      expect(heldLockFiles()).toContain(lock);
      expect(probeLock(lock)).toBe('locked');
      // The probe answers this process for its own file, without a descriptor...
      expect(nativeLockHolder()!(lock)).toMatchObject({ pid: process.pid });
      // ...so LevelDB still holds its lock.
      expect(probeLock(lock)).toBe('locked');
      // Every check consults the registry too.
      const st = await checkNotLocked(lock, { lockHolder: nativeLockHolder() });
      expect(st.lockedBySelf).toBe(true);
      expect(probeLock(lock)).toBe('locked');
      // A second writer in this process is refused before LevelDB runs.
      const other = await LogDB.open(cfg, { lock: { lockHolder: nativeLockHolder() } });
      await expect(other.saveBootstrap(100n, 1n, { addresses: new Map(), join: false, type: 1 })).rejects.toBeInstanceOf(ErrDirLocked);
      await other.close();
      expect(probeLock(lock)).toBe('locked');
    } finally {
      await db.close();
    }
    expect(isOwnLock(lock)).toBe(false);
    expect(probeLock(lock)).toBe('free');
  });

  it('NodeHost LOCK files held for an operation are in the same registry, reference-counted', async () => {
    const cfg = resolveNodeHostConfig(node.config);
    const lock = path.resolve(lockFilePath(cfg.nodeHostDir));
    const a = await holdNodeHostLocks(cfg);
    const b = await holdNodeHostLocks(cfg);
    expect(isOwnLock(lock)).toBe(true);
    expect(nativeLockHolder()!(lock)).toMatchObject({ pid: process.pid });
    expect(probeLock(lock)).toBe('locked');
    await a.release();
    expect(isOwnLock(lock)).toBe(true);
    expect(probeLock(lock)).toBe('locked');
    await b.release();
    expect(isOwnLock(lock)).toBe(false);
    expect(probeLock(lock)).toBe('free');
  });
});
