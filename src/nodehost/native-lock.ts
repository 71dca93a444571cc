/**
 * fcntl locks in the addon: `acquireLock` (F_SETLK, as a NodeHost holds
 * NodeHostDir/LOCK) and `lockHolder` (F_GETLK), and the probes the lock
 * checks and holds of this layer use when the addon is loaded. Without it
 * the checks fall back to /proc/locks, and locks cannot be taken at all.
 */
import fs from 'node:fs';
import path from 'node:path';

import { ErrDirLocked, ErrInvalidConfig } from '../errors.js';
import { loadNative, mapNativeError, nativeLoadError, requireNative, type RawFileLock } from '../native/binding.js';
import { guardProbe, type LockHolderProbe } from './lock.js';

/** A whole-file POSIX write lock this process holds, from {@link acquireLock}. */
export interface FileLock {
  /** The locked file (absolute). */
  readonly path: string;
  /** {@link acquireLock} created the file (it did not exist). */
  readonly created: boolean;
  /** Not released yet. */
  readonly held: boolean;
  /** Drops the lock by closing its descriptor. Idempotent; the file itself is left as it is. */
  release(): void;
}

// Every lock acquireLock holds, by device and inode (paths can alias through links).
// fcntl locks belong to the process: a second lock on the same file would
// succeed, and releasing either would silently drop both.
const heldLocks = new Map<string, FileLock>();
const strayLocks: RawFileLock[] = [];

function fileIdentity(p: string): string | undefined {
  let st: fs.BigIntStats | undefined;
  try {
    st = fs.statSync(p, { bigint: true, throwIfNoEntry: false });
  } catch {
    return undefined;
  }
  return st ? `${st.dev}:${st.ino}` : undefined;
}

/**
 * Takes a non-blocking whole-file POSIX write lock (`fcntl(F_SETLK,
 * F_WRLCK)`, as Dragonboat's NodeHost takes NodeHostDir/LOCK) on `filePath`,
 * creating the file with `mode` (default 0o644, less the umask) when it is
 * missing; an existing file is neither truncated nor written. The descriptor
 * stays open until {@link FileLock.release}.
 *
 * Throws {@link ErrDirLocked} (details: `path`, `pid` when known) when
 * another process holds a lock on the file, and also when this process
 * already holds it through `acquireLock` (`details.ownProcess`): fcntl locks
 * belong to the process, so a second lock would succeed and releasing either
 * would drop both. {@link ErrIO} for other failures (a missing directory is
 * not created), {@link ErrEngineUnavailable} without the addon.
 *
 * While held, never open and close the file elsewhere in this process (read
 * it, hash it, probe it with the raw binding): closing any descriptor of it
 * drops the lock. {@link lockHolder} knows the files held here and answers
 * this process's pid without opening them.
 */
export function acquireLock(filePath: string, options: { mode?: number } = {}): FileLock {
  const binding = requireNative('locking a file');
  const p = path.resolve(filePath);
  const mode = options.mode ?? 0o644;
  if (!Number.isInteger(mode) || mode < 0 || mode > 0o7777) {
    throw new ErrInvalidConfig(`invalid file mode ${String(mode)} for ${p}`, { path: p });
  }
  const refuseOwn = (): never => {
    throw new ErrDirLocked(`${p} is already locked by this process (pid ${process.pid}); release that lock first`, {
      path: p,
      pid: process.pid,
      ownProcess: true,
      check: 'lock',
      operation: 'lock acquisition',
    });
  };
  const before = fileIdentity(p);
  if (before !== undefined && heldLocks.has(before)) refuseOwn();
  let raw: RawFileLock;
  try {
    raw = binding.acquireLock(p, mode);
  } catch (err) {
    const mapped = mapNativeError(err, 'lock acquisition', p);
    if (mapped instanceof ErrDirLocked) {
      const pid = mapped.details.pid as number | undefined;
      throw new ErrDirLocked(
        `${p} is locked by ${pid === undefined ? 'another process (pid unknown)' : `process ${pid}`}: ` +
          'a NodeHost (or something else) is using this directory; stop it first, then retry',
        { path: p, pid, check: 'lock', operation: 'lock acquisition' },
        { cause: err },
      );
    }
    throw mapped;
  }
  const key = `${raw.dev}:${raw.ino}`;
  if (heldLocks.has(key)) {
    // Only possible if the path was swapped for a file we hold between the stat and the open.
    // This second descriptor cannot be closed (nor collected) without dropping the first lock.
    strayLocks.push(raw);
    refuseOwn();
  }
  let held = true;
  const lock: FileLock = {
    path: p,
    created: raw.created,
    get held() {
      return held;
    },
    release() {
      if (!held) return;
      held = false;
      heldLocks.delete(key);
      raw.release();
    },
  };
  heldLocks.set(key, lock);
  return lock;
}

/**
 * The pid of the process holding a POSIX (fcntl) lock on `filePath` that
 * conflicts with a whole-file write lock; 0 when nobody does or the file does
 * not exist; -1 when it is held by an unknown pid (open-file-description
 * lock, other pid namespace). Used for `NodeHostDir/LOCK`.
 *
 * fcntl never reports this process's own locks, and opening and closing the
 * file here releases any fcntl lock this process holds on it: do not ask
 * about a file this process locks. Files held through {@link acquireLock}
 * are known and answered with this process's pid without opening them.
 * Throws {@link ErrIO} for other failures.
 */
export function lockHolder(filePath: string): number {
  const binding = requireNative('checking a file lock');
  const p = path.resolve(filePath);
  // F_GETLK would not see our own lock, and closing its descriptor would drop it.
  if (heldLocks.has(fileIdentity(p) ?? '')) return process.pid;
  try {
    return binding.lockHolder(p);
  } catch (err) {
    throw mapNativeError(err, 'lock check', p);
  }
}

/** The native lock probe (guarded by the held-lock registry), or undefined without the addon. */
export function nativeLockHolder(): LockHolderProbe | undefined {
  if (!loadNative()) return undefined;
  // F_GETLK needs a descriptor; a file this process holds (the registry in nodehost/lock.ts) is never opened.
  return guardProbe((file) => {
    const pid = lockHolder(file);
    if (pid === 0) return null;
    return { kind: 'POSIX', access: 'WRITE', ...(pid > 0 ? { pid } : {}) };
  });
}

/**
 * The native whole-file write lock ({@link acquireLock}: creates the file
 * when missing, throws `ErrDirLocked` when another process holds it), or
 * undefined without the addon.
 */
export function nativeAcquireLock(): ((file: string) => FileLock) | undefined {
  if (!loadNative()) return undefined;
  return (file) => acquireLock(file);
}

/** Why the addon is not loaded, or undefined when it is. */
export function nativeUnavailableReason(): string | undefined {
  return loadNative() ? undefined : (nativeLoadError() ?? 'not loaded');
}
