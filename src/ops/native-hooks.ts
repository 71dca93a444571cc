/**
 * Where operations plug the native addon into the lock checks, when it is
 * loaded: fcntl(F_GETLK) for lock checks, fcntl(F_SETLK) for holding the
 * NodeHost's LOCK files. Without the addon the checks fall back to
 * /proc/locks, and locks cannot be taken at all.
 */
import { acquireLock, loadNative, lockHolder, nativeLoadError, type FileLock } from '../engines/native.js';
import { guardProbe, type LockHolderProbe } from '../nodehost/lock.js';

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
