/**
 * Bulk LevelDB key work in the addon (its own copy of the LevelDB 1.20
 * sources classic-level ships): removing key ranges, or copying every entry
 * of a replica, directly in a partition directory.
 *
 * **Never call these on a database that classic-level holds open in this
 * process**: LevelDB's LOCK is an fcntl record lock, and fcntl locks do not
 * exclude a second open from the same process, so two library copies would
 * both write the database and corrupt it. Close the classic-level handle
 * first (the LevelDB partition does, see `leveldb-partition.ts`). Another process
 * holding the database is refused ({@link ErrDirLocked}). Never on a Pebble
 * partition: LevelDB would take it for its own.
 */
import path from 'node:path';

import { ErrInvalidConfig, throwIfAborted } from '../errors.js';
import { checkCount, loadNative, mapNativeError, requireNative, withCancel, type RemoveRangesResult } from '../native/binding.js';
import { exclusiveEnd, keyHex, type KeyRange } from './keys.js';

export type { RemoveRangesResult } from '../native/binding.js';

/** True when the addon is loaded, so {@link removeKeyRanges} can run. */
export function nativeRemovalAvailable(): boolean {
  return loadNative() !== undefined;
}

/** Options of {@link removeKeyRanges}. */
export interface RemoveKeyRangesOptions {
  /** Deletes per LevelDB write batch (default 65536; batches also stop at 32 MiB). */
  deletesPerWrite?: number;
  /** Cancels between write batches and between compactions; removal is idempotent, so rerun to finish. */
  signal?: AbortSignal;
}

/**
 * Deletes every key of `ranges` (the log store seam's ranges: an `lte` bound
 * is included, see {@link exclusiveEnd}) from the LevelDB database at
 * `dbPath`, in large write batches, the last one synced, then compacts each
 * range so the data leaves the disk. The same keys go as through the
 * partition's classic-level path; this one saves the JavaScript round trips
 * and that path's compaction before the deletes (a fresh open has already
 * put every record in a table, see logdb_bulk.cc).
 *
 * Throws {@link ErrPathNotExist} (no such directory), {@link ErrLogDB} (not a
 * database, LevelDB failure), {@link ErrDirLocked} (held by another process),
 * {@link ErrInvalidConfig} (a range ending before it starts), {@link ErrAborted},
 * {@link ErrEngineUnavailable} (no addon). Must not be used on a database
 * classic-level holds open in this process.
 */
export async function removeKeyRanges(
  dbPath: string,
  ranges: readonly KeyRange[],
  options: RemoveKeyRangesOptions = {},
): Promise<RemoveRangesResult> {
  const binding = requireNative('removing log store key ranges in bulk');
  throwIfAborted(options.signal, 'log store key range removal');
  const pairs = ranges.map((r): [Uint8Array, Uint8Array] => {
    const end = exclusiveEnd(r);
    if (Buffer.compare(r.gte, end) > 0) {
      throw new ErrInvalidConfig(`key range ${keyHex(r.gte)}..${keyHex(end)} ends before it starts`, {
        start: keyHex(r.gte),
        end: keyHex(end),
      });
    }
    return [r.gte, end];
  });
  const deletesPerWrite = checkCount(options.deletesPerWrite, 'deletesPerWrite');
  const db = path.resolve(dbPath);
  const token = new binding.CancelToken();
  return withCancel(token, options.signal, async () => {
    try {
      return await binding.removeRanges(db, pairs, { deletesPerWrite }, token);
    } catch (err) {
      throw mapNativeError(err, 'log store key range removal', db, options.signal);
    }
  });
}
