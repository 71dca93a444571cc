import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { ClassicLevel } from 'classic-level';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { ErrDirLocked } from '../../src/errors.js';
import { resolveNodeHostConfig } from '../../src/nodehost/config.js';
import {
  checkNodeHostNotLocked,
  checkNotLocked,
  lockStatus,
  parseProcLocks,
  registerOwnLock,
  splitDev,
  unregisterOwnLock,
} from '../../src/nodehost/lock.js';
import { holdFcntlLock, type FileLockKind, type LockHolder } from '../helpers/lock-holders.js';

const holders: LockHolder[] = [];

async function holdLock(kind: FileLockKind, file: string): Promise<LockHolder> {
  const holder = await holdFcntlLock(file, kind);
  holders.push(holder);
  return holder;
}

let dir: string;
beforeEach(() => {
  dir = fs.mkdtempSync(path.join(os.tmpdir(), 'nht-lock-'));
});
afterEach(async () => {
  for (const h of holders.splice(0)) await h.release();
  fs.rmSync(dir, { recursive: true, force: true });
});

describe('splitDev and parseProcLocks', () => {
  it('maps glibc st_dev encodings to major:minor', () => {
    expect(splitDev(0xfe00n)).toEqual({ major: 0xfen, minor: 0n });
    expect(splitDev((259n << 8n) | 1n)).toEqual({ major: 259n, minor: 1n });
    // minor 300 spills into the high minor bits
    expect(splitDev((8n << 8n) | (300n & 0xffn) | ((300n & ~0xffn) << 12n))).toEqual({ major: 8n, minor: 300n });
    // major 5000 spills into the high major bits
    expect(splitDev(((5000n & 0xfffn) << 8n) | ((5000n & ~0xfffn) << 32n) | 7n)).toEqual({ major: 5000n, minor: 7n });
  });

  it('parses holders and skips waiters and leases', () => {
    const table = [
      '1: POSIX  ADVISORY  WRITE 12345 fd:01:1234567 0 EOF',
      '1: -> POSIX  ADVISORY  WRITE 12346 fd:01:1234567 0 EOF',
      '2: FLOCK  ADVISORY  WRITE 222 103:02:42 0 EOF',
      '3: OFDLCK ADVISORY  READ  -1 00:2e:9 0 EOF',
      '4: LEASE  ACTIVE    READ 33 fd:01:5 0 EOF',
      'garbage',
      '',
    ].join('\n');
    expect(parseProcLocks(table)).toEqual([
      { kind: 'POSIX', access: 'WRITE', pid: 12345, major: 0xfdn, minor: 1n, inode: 1234567n },
      { kind: 'FLOCK', access: 'WRITE', pid: 222, major: 0x103n, minor: 2n, inode: 42n },
      { kind: 'OFDLCK', access: 'READ', pid: undefined, major: 0n, minor: 0x2en, inode: 9n },
    ]);
  });
});

describe('checkNotLocked with real lock holders', () => {
  it('treats a missing LOCK file as not locked', async () => {
    const s = await checkNotLocked(path.join(dir, 'LOCK'));
    expect(s).toMatchObject({ exists: false, lockedByOther: false, holders: [] });
  });

  it('passes an existing but unlocked file', async () => {
    const f = path.join(dir, 'LOCK');
    fs.writeFileSync(f, '');
    const s = await checkNotLocked(f);
    expect(s).toMatchObject({ exists: true, lockedByOther: false, methods: ['proc-locks'] });
  });

  it.each(['posix', 'flock', 'ofd'] as const)('refuses a file held with a %s lock by another process', async (kind) => {
    const f = path.join(dir, 'LOCK');
    fs.writeFileSync(f, '');
    const child = await holdLock(kind, f);
    const err = await checkNotLocked(f).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(ErrDirLocked);
    const e = err as ErrDirLocked;
    expect(e.details.path).toBe(f);
    expect(e.message).toContain('stop the NodeHost');
    if (kind === 'ofd') {
      expect(e.details.pid).toBeUndefined();
      expect(e.details.lockKind).toBe('OFDLCK');
    } else {
      expect(e.details.pid).toBe(child.pid);
      expect(e.message).toContain(String(child.pid));
      expect(e.details.lockKind).toBe(kind === 'posix' ? 'POSIX' : 'FLOCK');
    }
  });

  it('does not confuse a lock on another file', async () => {
    const a = path.join(dir, 'A');
    const b = path.join(dir, 'B');
    fs.writeFileSync(a, '');
    fs.writeFileSync(b, '');
    await holdLock('posix', a);
    await expect(checkNotLocked(b)).resolves.toMatchObject({ lockedByOther: false });
    await expect(checkNotLocked(a)).rejects.toBeInstanceOf(ErrDirLocked);
  });

  it('reports a LevelDB opened in this process as its own lock, refused only on request', async () => {
    const dbDir = path.join(dir, 'db');
    const db = new ClassicLevel(dbDir);
    await db.open();
    try {
      const s = await checkNotLocked(path.join(dbDir, 'LOCK'));
      expect(s.lockedBySelf).toBe(true);
      expect(s.lockedByOther).toBe(false);
      expect(s.holders[0]).toMatchObject({ pid: process.pid, kind: 'POSIX', ownProcess: true });
      const err = await checkNotLocked(path.join(dbDir, 'LOCK'), { refuseOwnProcess: true }).catch((e: unknown) => e);
      expect(err).toBeInstanceOf(ErrDirLocked);
      expect((err as Error).message).toContain('this process');
      // Looking must not have dropped LevelDB's lock.
      expect((await lockStatus(path.join(dbDir, 'LOCK'))).lockedBySelf).toBe(true);
    } finally {
      await db.close();
    }
  });

  it('confirms an inode-only match through /proc/<pid>/fd (device numbers differ on some file systems)', async () => {
    const a = path.join(dir, 'A');
    const b = path.join(dir, 'B');
    fs.writeFileSync(a, '');
    fs.writeFileSync(b, '');
    const child = await holdLock('posix', a);
    const fake = (file: string): string => {
      const ino = fs.statSync(file, { bigint: true }).ino;
      const p = path.join(dir, `locks-${path.basename(file)}`);
      fs.writeFileSync(p, `1: POSIX  ADVISORY  WRITE ${child.pid} ff:ff:${ino} 0 EOF\n`);
      return p;
    };
    const held = await lockStatus(a, { procLocksPath: fake(a) });
    expect(held.holders).toMatchObject([{ pid: child.pid, matchedBy: 'fd' }]);
    const notHeld = await lockStatus(b, { procLocksPath: fake(b) });
    expect(notHeld.holders).toEqual([]);
  });
});

describe('injected lock probe', () => {
  it('uses the probe and merges it with /proc/locks', async () => {
    const f = path.join(dir, 'LOCK');
    fs.writeFileSync(f, '');
    const seen: string[] = [];
    const err = await checkNotLocked(f, {
      lockHolder: (p) => {
        seen.push(p);
        return { pid: 4242, kind: 'POSIX', access: 'WRITE' };
      },
    }).catch((e: unknown) => e);
    expect(seen).toEqual([f]);
    expect(err).toBeInstanceOf(ErrDirLocked);
    expect((err as ErrDirLocked).details.pid).toBe(4242);
    const ok = await checkNotLocked(f, { lockHolder: () => null });
    expect(ok.methods).toEqual(['proc-locks', 'probe']);
  });

  it('never probes a file this process holds locked (closing a probe descriptor would drop the lock)', async () => {
    const f = path.join(dir, 'LOCK');
    fs.writeFileSync(f, '');
    registerOwnLock(f);
    try {
      let called = false;
      const s = await checkNotLocked(f, {
        lockHolder: () => {
          called = true;
          return null;
        },
      });
      expect(called).toBe(false);
      expect(s.lockedBySelf).toBe(true);
    } finally {
      unregisterOwnLock(f);
    }
  });
});

describe('checkNodeHostNotLocked', () => {
  it('checks NodeHostDir/LOCK and WALDir/LOCK', async () => {
    const cfg = resolveNodeHostConfig({ nodeHostDir: path.join(dir, 'nh'), walDir: path.join(dir, 'wal'), raftAddress: 'a:1' });
    fs.mkdirSync(cfg.nodeHostDir);
    fs.mkdirSync(cfg.walDir!);
    fs.writeFileSync(path.join(cfg.nodeHostDir, 'LOCK'), '');
    fs.writeFileSync(path.join(cfg.walDir!, 'LOCK'), '');
    expect((await checkNodeHostNotLocked(cfg)).length).toBe(2);
    await holdLock('posix', path.join(cfg.walDir!, 'LOCK'));
    const err = await checkNodeHostNotLocked(cfg).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(ErrDirLocked);
    expect((err as ErrDirLocked).details.path).toBe(path.join(cfg.walDir!, 'LOCK'));
  });
});
