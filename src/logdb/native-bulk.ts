/**
 * Bulk LevelDB entry work in the addon (its own copy of the LevelDB 1.20
 * sources classic-level ships): removing or copying every entry of a replica
 * directly in a partition directory.
 *
 * **Never call these on a database that classic-level holds open in this
 * process**: LevelDB's LOCK is an fcntl record lock, and fcntl locks do not
 * exclude a second open from the same process, so two library copies would
 * both write the database and corrupt it. Close the classic-level handle
 * first. Another process holding the database is refused ({@link ErrDirLocked}).
 * Never on a Pebble partition: LevelDB would take it for its own.
 */
import path from 'node:path';

import { ErrInvalidConfig, throwIfAborted } from '../errors.js';
import {
  checkCount,
  checkU64,
  mapNativeError,
  requireNative,
  withCancel,
  type CopyEntriesResult,
  type NativeRemoveOptions,
  type RemoveEntriesResult,
} from '../native/binding.js';

export type { CopyEntriesResult, RemoveEntriesResult } from '../native/binding.js';

/** Options of {@link removeEntries}. */
export interface RemoveEntriesOptions {
  /** First entry index to remove (default 0). */
  fromIndex?: bigint;
  /** Entry index to stop before (default: no limit). */
  toIndex?: bigint;
  /**
   * Entries per batch key (Dragonboat's 48): batch `id` holds indexes
   * `[id*n, (id+1)*n)` and is removed only when all of them are in range.
   */
  entriesPerBatch?: number;
  /** Deletes per LevelDB write batch (default 65536). */
  deletesPerWrite?: number;
  /** Compact the removed key ranges afterwards (default true), so the data leaves the disk. */
  compact?: boolean;
  /** Cancels between write batches; removal is idempotent, so rerun to finish. */
  signal?: AbortSignal;
}

/**
 * Deletes every plain-entry key (`01 01`) and entry-batch key (`07 07`) of
 * (shardId, replicaId) from the LevelDB database at `dbPath` (optionally only
 * an index range), in large write batches, the last one synced, then compacts
 * exactly those key ranges. Other records of the replica (state, snapshot,
 * bootstrap, max index) and every other replica are left alone.
 *
 * Throws {@link ErrPathNotExist} (no such directory), {@link ErrLogDB} (not a
 * database, LevelDB failure), {@link ErrDirLocked} (held by another process),
 * {@link ErrAborted}, {@link ErrEngineUnavailable} (no addon). Must not be
 * used on a database classic-level holds open in this process.
 */
export async function removeEntries(
  dbPath: string,
  shardId: bigint,
  replicaId: bigint,
  options: RemoveEntriesOptions = {},
): Promise<RemoveEntriesResult> {
  const binding = requireNative('removing log entries in bulk');
  throwIfAborted(options.signal, 'log entry removal');
  const raw: NativeRemoveOptions = {};
  if (options.fromIndex !== undefined) raw.fromIndex = checkU64(options.fromIndex, 'fromIndex');
  if (options.toIndex !== undefined) raw.toIndex = checkU64(options.toIndex, 'toIndex');
  if (raw.fromIndex !== undefined && raw.toIndex !== undefined && raw.toIndex < raw.fromIndex) {
    throw new ErrInvalidConfig(`toIndex ${raw.toIndex} is below fromIndex ${raw.fromIndex}`, {});
  }
  const perBatch = checkCount(options.entriesPerBatch, 'entriesPerBatch');
  if (perBatch !== undefined) raw.entriesPerBatch = BigInt(perBatch);
  raw.deletesPerWrite = checkCount(options.deletesPerWrite, 'deletesPerWrite');
  if (options.compact !== undefined) raw.compact = options.compact;
  const db = path.resolve(dbPath);
  const token = new binding.CancelToken();
  return withCancel(token, options.signal, async () => {
    try {
      return await binding.removeEntries(db, checkU64(shardId, 'shardId'), checkU64(replicaId, 'replicaId'), raw, token);
    } catch (err) {
      throw mapNativeError(err, 'log entry removal', db, options.signal);
    }
  });
}

/** Options of {@link copyEntries} and {@link moveEntries}. */
export interface CopyEntriesOptions {
  /** Puts per LevelDB write batch (default 65536; batches also stop at 32 MiB). */
  putsPerWrite?: number;
  /** Cancels between write batches. */
  signal?: AbortSignal;
}

async function copyOrMove(
  srcDbPath: string,
  dstDbPath: string,
  shardId: bigint,
  replicaId: bigint,
  options: CopyEntriesOptions,
  move: boolean,
): Promise<CopyEntriesResult> {
  const what = move ? 'log entry move' : 'log entry copy';
  const binding = requireNative(`${what} in bulk`);
  throwIfAborted(options.signal, what);
  const putsPerWrite = checkCount(options.putsPerWrite, 'putsPerWrite');
  const src = path.resolve(srcDbPath);
  const dst = path.resolve(dstDbPath);
  const s = checkU64(shardId, 'shardId');
  const r = checkU64(replicaId, 'replicaId');
  const token = new binding.CancelToken();
  return withCancel(token, options.signal, async () => {
    try {
      return await binding.copyEntries(src, dst, s, r, { move, putsPerWrite }, token);
    } catch (err) {
      throw mapNativeError(err, what, src, options.signal);
    }
  });
}

/**
 * Copies every plain-entry and entry-batch key of (shardId, replicaId) from
 * the database at `srcDbPath` to the one at `dstDbPath` (created when
 * missing; existing keys with the same name are overwritten, others kept).
 * The destination is synced before this resolves. Same errors as
 * {@link removeEntries}; same-database source and destination is
 * {@link ErrInvalidConfig}.
 */
export function copyEntries(
  srcDbPath: string,
  dstDbPath: string,
  shardId: bigint,
  replicaId: bigint,
  options: CopyEntriesOptions = {},
): Promise<CopyEntriesResult> {
  return copyOrMove(srcDbPath, dstDbPath, shardId, replicaId, options, false);
}

/**
 * {@link copyEntries}, then (once the destination is durable) removes those
 * keys from the source and compacts them there.
 */
export function moveEntries(
  srcDbPath: string,
  dstDbPath: string,
  shardId: bigint,
  replicaId: bigint,
  options: CopyEntriesOptions = {},
): Promise<CopyEntriesResult> {
  return copyOrMove(srcDbPath, dstDbPath, shardId, replicaId, options, true);
}
