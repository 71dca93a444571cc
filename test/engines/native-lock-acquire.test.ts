/**
 * acquireLock: the addon's whole-file fcntl write lock, as Dragonboat's
 * NodeHost takes NodeHostDir/LOCK. Whether a lock is held is always asked of
 * another process (python3 trying a non-blocking lockf), because fcntl never
 * reports a process's own locks to itself.
 */
import fs from 'node:fs';
import path from 'node:path';

import { afterAll, beforeAll, describe, expect, it } from 'vitest';

import { loadNative } from '../../src/native/binding.js';
import { acquireLock, lockHolder, type FileLock } from '../../src/nodehost/native-lock.js';
import { ErrDirLocked, ErrIO } from '../../src/errors.js';
import { hasPython3, holdFcntlLock, probeLock } from '../helpers/lock-holders.js';
import { tempDir } from '../native/v2file.js';

function thrown(run: () => unknown): unknown {
  try {
    run();
  } catch (e) {
    return e;
  }
  throw new Error('expected a throw');
}

const enabled = loadNative() !== undefined && hasPython3;

describe.skipIf(!enabled)('acquireLock', () => {
  let tmp: ReturnType<typeof tempDir>;
  let n = 0;
  const fresh = (): string => path.join(tmp.dir, `LOCK-${++n}`);
  const locks: FileLock[] = [];
  const take = (file: string): FileLock => {
    const l = acquireLock(file);
    locks.push(l);
    return l;
  };

  beforeAll(() => {
    tmp = tempDir('nh-native-acquire');
  });
  afterAll(() => {
    for (const l of locks) l.release();
    tmp.cleanup();
  });

  it('creates a missing file (0644 less the umask), holds it until release, and release frees it', () => {
    const file = fresh();
    const lock = take(file);
    expect(lock).toMatchObject({ path: file, created: true, held: true });
    const st = fs.statSync(file);
    expect(st.size).toBe(0);
    expect(st.mode & 0o777).toBe(0o644 & ~process.umask());
    expect(probeLock(file)).toBe('locked');
    lock.release();
    expect(lock.held).toBe(false);
    expect(probeLock(file)).toBe('free');
    lock.release(); // idempotent
    expect(fs.existsSync(file)).toBe(true); // the file is the caller's to remove
  });

  it('an existing file is locked as it is: not created, not truncated', () => {
    const file = fresh();
    fs.writeFileSync(file, 'pid 1234\n');
    const lock = take(file);
    expect(lock.created).toBe(false);
    expect(probeLock(file)).toBe('locked');
    expect(fs.readFileSync(file, 'utf8')).toBe('pid 1234\n');
    lock.release();
    expect(probeLock(file)).toBe('free');
  });

  it('held by another process → ErrDirLocked with its pid; nothing taken; free once it lets go', async () => {
    const file = fresh();
    fs.writeFileSync(file, '');
    const holder = await holdFcntlLock(file);
    try {
      const e = thrown(() => take(file));
      expect(e).toBeInstanceOf(ErrDirLocked);
      expect((e as ErrDirLocked).code).toBe('ErrDirLocked');
      expect((e as ErrDirLocked).details).toMatchObject({ path: file, pid: holder.pid, check: 'lock' });
      expect((e as ErrDirLocked).message).toContain(`process ${holder.pid}`);
    } finally {
      await holder.release();
    }
    const lock = take(file);
    expect(probeLock(file)).toBe('locked');
    lock.release();
  });

  it('a second acquire in this process is refused (ownProcess), and the first lock stays held', () => {
    const file = fresh();
    const first = take(file);
    const e = thrown(() => take(file));
    expect(e).toBeInstanceOf(ErrDirLocked);
    expect((e as ErrDirLocked).details).toMatchObject({ path: file, pid: process.pid, ownProcess: true });
    // Through another name of the same file too (identity is device and inode).
    const alias = `${file}-alias`;
    fs.symlinkSync(file, alias);
    expect(thrown(() => take(alias))).toBeInstanceOf(ErrDirLocked);
    expect(probeLock(file)).toBe('locked');
    first.release();
    expect(probeLock(file)).toBe('free');
    // Released, it can be taken again.
    take(alias).release();
  });

  it('why the wrapper refuses: the raw binding locks twice, and releasing either drops both', () => {
    const binding = loadNative()!;
    const file = fresh();
    const a = binding.acquireLock(file);
    const b = binding.acquireLock(file); // fcntl locks belong to the process: no conflict
    try {
      expect(probeLock(file)).toBe('locked');
      expect(b.release()).toBe(true);
      expect(probeLock(file)).toBe('free'); // a is "held", but the process's lock is gone
    } finally {
      a.release();
      b.release();
    }
    expect(b.release()).toBe(false);
  });

  it('lockHolder on a file held here answers this pid without opening it (which would drop the lock)', () => {
    const file = fresh();
    const lock = take(file);
    expect(lockHolder(file)).toBe(process.pid);
    expect(probeLock(file)).toBe('locked');
    lock.release();
    expect(lockHolder(file)).toBe(0);
  });

  it('a missing directory is ErrIO (ENOENT) and creates nothing', () => {
    const dir = path.join(tmp.dir, 'no-such-dir');
    const e = thrown(() => take(path.join(dir, 'LOCK')));
    expect(e).toBeInstanceOf(ErrIO);
    expect((e as ErrIO).details).toMatchObject({ path: path.join(dir, 'LOCK'), errno: 'ENOENT', syscall: 'open' });
    expect(fs.existsSync(dir)).toBe(false);
  });
});
