/**
 * Where operations plug the native addon into the storage layer, when it is
 * loaded: fcntl(F_GETLK) for lock checks, fcntl(F_SETLK) for holding the
 * NodeHost's LOCK files, and bulk entry removal. Without the addon the first
 * and last fall back to portable paths (/proc/locks; classic-level); locks
 * cannot be taken at all.
 */
import { acquireLock, loadNative, lockHolder, nativeLoadError, removeEntries, type FileLock } from '../engines/native.js';
import type { LockHolderProbe } from '../nodehost/lock.js';

/** The native lock probe, or undefined without the addon. */
export function nativeLockHolder(): LockHolderProbe | undefined {
  if (!loadNative()) return undefined;
  return (file) => {
    const pid = lockHolder(file);
    if (pid === 0) return null;
    return { kind: 'POSIX', access: 'WRITE', ...(pid > 0 ? { pid } : {}) };
  };
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

/**
 * Removes every entry (plain and batched) of a replica from a partition
 * directory with the native bulk path, then compacts the range. Undefined
 * without the addon. The partition must not be open in classic-level.
 */
export function nativeRemoveAllEntries():
  | ((partitionDir: string, shardId: bigint, replicaId: bigint, signal?: AbortSignal) => Promise<{ plainEntriesRemoved: number; entryBatchesRemoved: number }>)
  | undefined {
  if (!loadNative()) return undefined;
  return async (dir, shardId, replicaId, signal) => {
    const r = await removeEntries(dir, shardId, replicaId, signal ? { signal } : {});
    return { plainEntriesRemoved: r.plainRemoved, entryBatchesRemoved: r.batchesRemoved };
  };
}
