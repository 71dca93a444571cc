/**
 * Adding one batch to a Pebble partition without Pebble (docs/pebble-store.md "Writer rules"): one
 * new WAL, numbered above every file name and sequenced above every sequence
 * number in the store, replayed last by Pebble's next open.
 *
 * The order of steps is what keeps a crash harmless:
 * 1. The whole store is loaded and checked first (every table's meta blocks,
 *    see writeBatch): nothing is written to a store this tool could not read.
 * 2. A torn tail of the newest WAL is cut back to its last complete record —
 *    exactly where Pebble's tolerant replay stops, so the replayed content
 *    does not change — because once ours is added, that WAL is no longer the
 *    last and Pebble would replay it strictly and refuse to open.
 * 3. The WAL is written under a temporary name, fsynced, linked to its final
 *    name without overwriting anything, and the directory fsynced.
 * 4. Before it is linked it is read back (size and CRC-32C against the bytes
 *    written), while the fsync runs: Pebble replays the last WAL tolerantly,
 *    so a damaged copy would be dropped silently; a mismatch removes the
 *    temporary file and fails, and the WAL never gets its name.
 * The batch is encoded and framed as it is written (see placeWal), so its
 * size costs disk, not memory.
 * A partition without a store gets the minimal MANIFEST + CURRENT first
 * (§7.7): a lone WAL in a new directory makes Pebble panic.
 */
import * as fsp from 'node:fs/promises';
import * as path from 'node:path';
import { ErrLogDB, ErrUnsupportedLogStore, ioError } from '../../errors.js';
import { crc32cFunction } from '../../engines/native.js';
import { loadNative } from '../../native/binding.js';
import { crc32cUpdate } from '../../pebble/crc32c.js';
import { fsyncDir, mkdirDurable } from '../../files/durable.js';
import { isNotFound } from '../../files/fsutil.js';
import { BATCH_HEADER_SIZE, batchOpSize, encodeBatchHeader, encodeBatchOpInto, type BatchOp } from '../../pebble/batch.js';
import { frameLogRecord, RecordStreamFramer } from '../../pebble/record.js';
import { BYTEWISE_COMPARATOR } from '../../pebble/sstable-meta.js';
import { encodeVersionEdit } from '../../pebble/version-edit.js';
import type { EncodedPuts } from '../store.js';
import { isToolTempName, manifestName, pebbleTempName, toolTempName, walName } from './names.js';
import { closeStore, loadStore, type PebbleDirs, type StoreState } from './state.js';

/** A torn WAL tail that was cut off before the write. */
export interface TruncatedTail {
  path: string;
  /** New size of the file: the end of its last complete record. */
  offset: number;
  /** Size before the cut. */
  originalSize: number;
  /** The bytes removed (`[offset, originalSize)`), for a backup or an undo. */
  bytes: Uint8Array;
}

/** What a write did. */
export interface PebbleWriteReport {
  /** The new WAL. */
  walPath: string;
  fileNum: number;
  /** Sequence number of the batch's first operation; operation i has `seqNum + i`. */
  seqNum: number;
  /** Number of operations. */
  count: number;
  /** Size of the new WAL. */
  walSize: number;
  /** A brand-new store was created (MANIFEST-000001, CURRENT) before the WAL. */
  createdStore: boolean;
  /** Files created, in creation order (MANIFEST, CURRENT, WAL). */
  createdFiles: string[];
  /** Directories created, outermost first. */
  createdDirs: string[];
  truncated?: TruncatedTail;
}

/** Number of the WAL and MANIFEST of a brand-new store, as Pebble numbers them. */
const FRESH_MANIFEST_NUM = 1;
const FRESH_WAL_NUM = 2;

/**
 * One batch's operations, produced on demand: twice, once to size the batch
 * and once to write it, so a batch of any size is written without being held
 * encoded (a million-entry log suffix is over a hundred megabytes). Both
 * passes must yield the same operations; a difference in count or size fails
 * the write before the WAL is placed.
 */
export interface BatchStream {
  count: number;
  /** Bytes of the operations (the batch without its 12-byte header), when known: no sizing pass then. */
  size?: number;
  /**
   * The operations in pieces (a piece's bytes need only stay valid until the
   * next piece is asked for): decoded, or already encoded as the batch body
   * holds them.
   */
  ops(): Iterable<readonly BatchOp[] | EncodedPuts> | AsyncIterable<readonly BatchOp[] | EncodedPuts>;
}

function isEncoded(piece: readonly BatchOp[] | EncodedPuts): piece is EncodedPuts {
  return !Array.isArray(piece);
}

/** CRC-32C continued over `data` (the addon's where loaded): what the read-back compares. */
function crcOfBytes(): (crc: number, data: Uint8Array) => number {
  const b = loadNative();
  const fn = b?.crc32c;
  if (b && typeof fn === 'function') return (crc, data) => fn.call(b, data, crc);
  return (crc, data) => crc32cUpdate(crc, data);
}

/** A batch held as an array, as a {@link BatchStream}. */
export function batchOf(ops: readonly BatchOp[]): BatchStream {
  return { count: ops.length, ops: () => [ops] };
}

/** Writes `batch` as one batch (see the module comment). The caller has checked Pebble's LOCK. */
export async function writeBatch(dirs: PebbleDirs, batch: readonly BatchOp[] | BatchStream): Promise<PebbleWriteReport> {
  const ops = Array.isArray(batch) ? batchOf(batch as readonly BatchOp[]) : (batch as BatchStream);
  // Tables: every meta block (footer, metaindex, properties, index, range
  // deletions) is read and CRC-checked at open, the MANIFEST's sizes are
  // checked, and every data block a reader of this write reads (the
  // replica's records, its first and last entries) is checked when read.
  // The data blocks elsewhere are not read, so the write costs the same for
  // a store of 10 thousand entries as for one of 10 million. That is still
  // safe: the drop-in never rewrites, moves or deletes a table, and nothing
  // it writes depends on a data block's content (the sequence number comes
  // from the MANIFEST and the WALs, the range tombstones from checked meta
  // blocks); a block already damaged stays exactly as damaged, and Pebble
  // itself only checks the blocks it reads, so it reports that block when
  // it reads it, with or without this write — as it would have before it.
  const state = await loadStore(dirs);
  try {
    if (!state.exists) return await createStore(dirs, state, ops);
    return await dropIn(dirs, state, ops);
  } finally {
    await closeStore(state);
  }
}

async function dropIn(dirs: PebbleDirs, state: StoreState, ops: BatchStream): Promise<PebbleWriteReport> {
  const separate = path.resolve(dirs.walDir) !== path.resolve(dirs.dataDir);
  if (separate && state.wals.length === 0) {
    throw new ErrUnsupportedLogStore(
      `${dirs.walDir}: no WAL numbered ${state.manifest!.minUnflushedLogNum} or above in the WAL dir (is this the partition's WAL dir?)`,
      { path: dirs.walDir, check: 'no-live-wal' },
    );
  }
  // Our own temporary names left by an interrupted earlier write (Pebble ignores them; they are garbage).
  for (const p of state.leftovers) {
    if (isToolTempName(path.basename(p))) await fsp.rm(p, { force: true }).catch(() => undefined);
  }
  const report: Partial<PebbleWriteReport> = { createdStore: false, createdFiles: [], createdDirs: [] };
  const newest = state.wals[state.wals.length - 1];
  if (newest && newest.ending.kind === 'torn') {
    report.truncated = await truncateTail(newest.path, newest.goodEnd);
  }
  const fileNum = state.dropInFileNum;
  const seqNum = state.dropInSeqNum;
  const wal = await placeWal(dirs, separate, fileNum, seqNum, ops);
  report.createdFiles!.push(wal.path);
  return { ...report, walPath: wal.path, fileNum, seqNum, count: ops.count, walSize: wal.size } as PebbleWriteReport;
}

async function createStore(dirs: PebbleDirs, state: StoreState, ops: BatchStream): Promise<PebbleWriteReport> {
  const separate = path.resolve(dirs.walDir) !== path.resolve(dirs.dataDir);
  // Leftover temporary files of an earlier interrupted creation: garbage by construction.
  for (const p of state.leftovers)
    await fsp.rm(p, { force: true }).catch((err: unknown) => {
      throw ioError(err, 'cannot remove', p);
    });
  const createdDirs = await mkdirDurable(dirs.dataDir);
  if (separate) createdDirs.push(...(await mkdirDurable(dirs.walDir)));
  const createdFiles: string[] = [];
  const edit = encodeVersionEdit({
    comparator: BYTEWISE_COMPARATOR,
    minUnflushedLogNum: FRESH_WAL_NUM,
    nextFileNum: FRESH_WAL_NUM + 1,
    lastSeqNum: 0,
  });
  const manifest = path.join(dirs.dataDir, manifestName(FRESH_MANIFEST_NUM));
  await placeFile(
    dirs.dataDir,
    pebbleTempName(FRESH_MANIFEST_NUM),
    manifestName(FRESH_MANIFEST_NUM),
    frameLogRecord(edit, { recyclable: false }),
  );
  createdFiles.push(manifest);
  // From here on the directory is a valid empty store; a crash leaves exactly that.
  await placeFile(
    dirs.dataDir,
    `CURRENT.${String(FRESH_MANIFEST_NUM).padStart(6, '0')}.dbtmp`,
    'CURRENT',
    Buffer.from(`${manifestName(FRESH_MANIFEST_NUM)}\n`),
  );
  createdFiles.push(path.join(dirs.dataDir, 'CURRENT'));
  const wal = await placeWal(dirs, separate, FRESH_WAL_NUM, 1, ops);
  createdFiles.push(wal.path);
  return {
    walPath: wal.path,
    fileNum: FRESH_WAL_NUM,
    seqNum: 1,
    count: ops.count,
    walSize: wal.size,
    createdStore: true,
    createdFiles,
    createdDirs,
  };
}

/**
 * The temporary name of a new WAL: Pebble's own `temporary.N.dbtmp` in the
 * data dir (its next open deletes a leftover), but never in a separate WAL
 * dir, where Pebble would try to delete it by its data-dir path and fail to
 * open; there a name Pebble does not parse.
 */
export function walTempName(separateWalDir: boolean, fileNum: number): string {
  return separateWalDir ? toolTempName(fileNum) : pebbleTempName(fileNum);
}

/** Bytes written between two early datasyncs of a WAL being written (see placeWal). */
const SYNC_EVERY = 32 << 20;

/** Bytes handed to the file system at a time while a WAL is written. */
const WRITE_CHUNK = 1 << 20;

/**
 * Encodes, frames, places and reads back the WAL, streaming: the batch is
 * sized first (its length decides every chunk's type), then encoded one
 * operation at a time into a buffer that is framed and written as it fills.
 */
async function placeWal(
  dirs: PebbleDirs,
  separate: boolean,
  fileNum: number,
  seqNum: number,
  batch: BatchStream,
): Promise<{ path: string; size: number }> {
  let count = batch.count;
  let size = BATCH_HEADER_SIZE + (batch.size ?? 0);
  if (batch.size === undefined) {
    count = 0;
    for await (const piece of batch.ops()) {
      if (isEncoded(piece)) {
        size += piece.bytes.length;
        count += piece.count;
        continue;
      }
      for (const op of piece) size += batchOpSize(op);
      count += piece.length;
    }
  }
  if (count !== batch.count)
    throw new ErrLogDB(`a batch announced ${batch.count} operations and yielded ${count}`, { check: 'batch-count' });
  const header = encodeBatchHeader(seqNum, count);
  const crcOf = crcOfBytes();
  let written = 0;
  let walSize = 0;
  const final = await placeFileWith(
    dirs.walDir,
    walTempName(separate, fileNum),
    walName(fileNum),
    async (fh) => {
      const framer = new RecordStreamFramer({ recyclable: true, logNum: fileNum }, size, crc32cFunction());
      let pending: Uint8Array[] = [];
      let pendingBytes = 0;
      let inflight: Promise<void> | undefined;
      const drain = async (): Promise<void> => {
        const w = inflight;
        inflight = undefined;
        await w;
      };
      // What is written goes to the disk while the rest is produced (a hundred megabytes made durable by one
      // fsync at the end would wait for all of it then): one datasync at a time, each started once SYNC_EVERY more
      // bytes are written. Its failure is not swallowed: an fsync error may be reported once only.
      let syncedUpTo = 0;
      let syncing: Promise<void> | undefined;
      let syncBusy = false;
      const startEarlySync = (writtenUpTo: number): void => {
        if (syncBusy || writtenUpTo - syncedUpTo < SYNC_EVERY) return;
        syncBusy = true;
        syncing = fh.datasync().then(() => {
          syncedUpTo = writtenUpTo;
          syncBusy = false;
        });
        syncing.catch(() => undefined);
      };
      const out = async (chunks: Uint8Array[], force: boolean): Promise<void> => {
        for (const c of chunks) {
          // Chunks carved one after the other from the framer's block are one view: one CRC call, one iovec.
          const last = pending[pending.length - 1];
          if (last && last.buffer === c.buffer && last.byteOffset + last.length === c.byteOffset) {
            pending[pending.length - 1] = new Uint8Array(c.buffer, last.byteOffset, last.length + c.length);
          } else pending.push(c);
          pendingBytes += c.length;
        }
        if (pendingBytes === 0 || (!force && pendingBytes < WRITE_CHUNK)) {
          if (force) await drain();
          return;
        }
        const ready = pending;
        pending = [];
        pendingBytes = 0;
        let readyBytes = 0;
        for (const c of ready) {
          written = crcOf(written, c);
          readyBytes += c.length;
        }
        walSize += readyBytes;
        // One write in flight while the next piece is produced; when it is done, the framer reuses its chunks' memory.
        if (inflight) await inflight;
        // Every byte before this batch is written.
        startEarlySync(walSize - readyBytes);
        const mark = framer.mark();
        inflight = writeAll(fh, ready).then(() => framer.release(mark));
        // Awaited by the next write or at the end; a failure meanwhile must not be an unhandled rejection.
        inflight.catch(() => undefined);
        if (force) await drain();
      };
      const frame = (bytes: Uint8Array): Uint8Array[] => {
        try {
          return framer.push(bytes);
        } catch (err) {
          // More bytes than announced: a producer that yielded other operations the second time.
          throw new ErrLogDB(`a batch yielded other operations than announced (${(err as Error).message})`, { check: 'batch-size' });
        }
      };
      let buf = new Uint8Array(WRITE_CHUNK);
      buf.set(header);
      let used = header.length;
      let n = 0;
      for await (const piece of batch.ops()) {
        if (isEncoded(piece)) {
          // Already the batch body's bytes: framed as they are.
          if (used > 0) await out(frame(buf.subarray(0, used)), false);
          used = 0;
          await out(frame(piece.bytes), false);
          n += piece.count;
          continue;
        }
        for (const op of piece) {
          const need = batchOpSize(op);
          if (used + need > buf.length) {
            await out(frame(buf.subarray(0, used)), false);
            used = 0;
            if (need > buf.length) buf = new Uint8Array(need);
          }
          used = encodeBatchOpInto(op, buf, used);
          n++;
        }
      }
      if (n !== count) throw new ErrLogDB(`a batch yielded ${count} operations, then ${n}`, { check: 'batch-count' });
      await out(frame(buf.subarray(0, used)), false);
      let tail: Uint8Array[];
      try {
        tail = framer.finish();
      } catch (err) {
        // Fewer bytes than announced: a producer that yielded other operations the second time.
        throw new ErrLogDB(`a batch yielded other operations than announced (${(err as Error).message})`, { check: 'batch-size' });
      }
      await out(tail, true);
      await syncing;
    },
    (tmp) => readBack(tmp, walSize, written, crcOf),
  );
  return { path: final, size: walSize };
}

/** Writes `chunks` in order at the file position (one writev per call, continued where the system wrote less). */
async function writeAll(fh: fsp.FileHandle, chunks: Uint8Array[]): Promise<void> {
  let rest = chunks;
  while (rest.length > 0) {
    const { bytesWritten } = await fh.writev(rest);
    let done = bytesWritten;
    let i = 0;
    while (i < rest.length && done >= rest[i]!.length) done -= rest[i++]!.length;
    rest = rest.slice(i);
    if (done > 0) rest[0] = rest[0]!.subarray(done);
  }
}

/**
 * Checks the WAL on disk holds exactly the bytes written (size and CRC-32C,
 * read in pieces); throws otherwise (the caller removes it). What those bytes frame is settled
 * by the framer and the batch encoder, which are checked against Pebble's
 * own format by their tests; what this catches is the disk or the file
 * system not returning them, for which a CRC-32C is as good a witness as a
 * cryptographic digest (nobody forges the bytes between our write and our
 * read) at a tenth of its cost.
 */
async function readBack(file: string, size: number, crc: number, crcOf: (crc: number, data: Uint8Array) => number): Promise<void> {
  let problem: string | undefined;
  try {
    let c = 0;
    let got = 0;
    const fh = await fsp.open(file, 'r');
    try {
      const buf = new Uint8Array(WRITE_CHUNK);
      for (;;) {
        const { bytesRead } = await fh.read(buf, 0, buf.length, null);
        if (bytesRead === 0) break;
        c = crcOf(c, buf.subarray(0, bytesRead));
        got += bytesRead;
      }
    } finally {
      await fh.close();
    }
    if (got !== size) problem = `it holds ${got} bytes, ${size} were written`;
    else if (c !== crc) problem = 'the file differs from what was written';
  } catch (err) {
    problem = (err as Error).message;
  }
  if (problem !== undefined) {
    throw new ErrLogDB(`read-back of ${file} failed: ${problem}; the WAL was not placed`, { path: file, check: 'read-back' });
  }
}

/**
 * Writes `bytes` to `dir/tmpName`, fsyncs it, gives it the name `finalName`
 * without overwriting an existing file, and fsyncs the directory.
 */
async function placeFile(dir: string, tmpName: string, finalName: string, bytes: Uint8Array): Promise<string> {
  return placeFileWith(dir, tmpName, finalName, async (fh) => {
    await fh.writeFile(bytes);
  });
}

/** {@link placeFile} with the content written by `write` into the open temporary file. */
async function placeFileWith(
  dir: string,
  tmpName: string,
  finalName: string,
  write: (fh: fsp.FileHandle) => Promise<void>,
  /** Checks the written file by its temporary path, while it is fsynced; a failure removes it. */
  verify?: (tmp: string) => Promise<void>,
): Promise<string> {
  const tmp = path.join(dir, tmpName);
  const final = path.join(dir, finalName);
  let fh: fsp.FileHandle | undefined;
  try {
    fh = await fsp.open(tmp, 'wx', 0o644);
    await write(fh);
    // The read-back reads what the file system returns whether or not the fsync has finished: it runs meanwhile.
    await Promise.all([fh.sync(), verify?.(tmp)]);
    await fh.close();
    fh = undefined;
    try {
      // link() refuses an existing target atomically; rename() would replace it.
      await fsp.link(tmp, final);
      await fsp.unlink(tmp);
    } catch (err) {
      const code = (err as NodeJS.ErrnoException).code;
      if (code === 'EEXIST') {
        throw new ErrLogDB(`${final} already exists`, { path: final, check: 'file-exists' });
      }
      if (code !== 'EPERM' && code !== 'ENOTSUP' && code !== 'EOPNOTSUPP' && code !== 'ENOSYS') throw err;
      // A file system without hard links: check, then rename.
      try {
        await fsp.lstat(final);
        throw new ErrLogDB(`${final} already exists`, { path: final, check: 'file-exists' });
      } catch (e) {
        if (!isNotFound(e)) throw e;
      }
      await fsp.rename(tmp, final);
    }
  } catch (err) {
    await fh?.close().catch(() => undefined);
    await fsp.rm(tmp, { force: true }).catch(() => undefined);
    throw ioError(err, 'cannot write', final);
  }
  await fsyncDir(dir);
  return final;
}

/** Cuts `file` back to `offset` (fsynced), returning what was cut. */
async function truncateTail(file: string, offset: number): Promise<TruncatedTail> {
  let fh: fsp.FileHandle | undefined;
  try {
    fh = await fsp.open(file, 'r+');
    const st = await fh.stat();
    const bytes = new Uint8Array(st.size - offset);
    let got = 0;
    while (got < bytes.length) {
      const { bytesRead } = await fh.read(bytes, got, bytes.length - got, offset + got);
      if (bytesRead === 0) break;
      got += bytesRead;
    }
    await fh.truncate(offset);
    await fh.sync();
    return { path: file, offset, originalSize: st.size, bytes: bytes.subarray(0, got) };
  } catch (err) {
    throw ioError(err, 'cannot truncate the torn tail of', file);
  } finally {
    await fh?.close().catch(() => undefined);
  }
}
