/**
 * Streamed reading and writing of a log suffix file (format:
 * `records/log-suffix.ts`, docs/log-suffix.md). A million entries are about a
 * hundred megabytes: both directions hold one buffer, never the file.
 */
import { createHash, type Hash } from 'node:crypto';
import { open, type FileHandle } from 'node:fs/promises';
import { ErrLogSuffix, ioError, throwIfAborted } from '../errors.js';
import { crc32cFunction } from '../engines/native.js';
import { crc32c } from '../pebble/crc32c.js';
import {
  checkFrameCrc,
  decodeEnd,
  decodeEntryPayload,
  decodeFrameHead,
  decodeHeader,
  encodeEndFrame,
  encodeEntryFrame,
  encodeHeaderFrame,
  FRAME_HEADER_SIZE,
  FrameKind,
  LOG_SUFFIX_MAGIC,
  LogSuffixValidator,
  MAX_FRAME_PAYLOAD,
  type LogSuffixEntry,
  type LogSuffixHeader,
} from '../records/log-suffix.js';

const CHUNK = 1 << 20;
/**
 * Bytes read at a time when a bulk checker takes the entries: each read is a
 * hand-off to the thread pool (and, for the first pass, a hash on it), and
 * under load a hand-off can cost more than checking a megabyte.
 */
const BULK_CHUNK = 4 << 20;
/** Bytes of entry frames handed out per piece by the portable reader. */
const PIECE = 1 << 20;
/** Frames from this size on are checked with the addon's CRC-32C (below it, the call costs more than it saves). */
const NATIVE_CRC_MIN = 4096;

/**
 * A digest updated asynchronously (the addon's SHA-256, on the thread pool):
 * one update at a time, its bytes unchanged until it settles.
 */
export interface AsyncHash {
  update(data: Uint8Array): Promise<void>;
}

/** What a complete pass over a suffix file found. */
export interface LogSuffixSummary {
  header: LogSuffixHeader;
  /** The last entry's term. */
  lastTerm: bigint;
  /** File size and SHA-256 of its bytes (what an export manifest records). */
  size: bigint;
  sha256: string;
}

/**
 * Reads a file front to back in chunks, handing out exact byte counts. The
 * next chunk is read ahead while the caller works on this one (a hundred
 * megabytes read twice by an import: the reads overlap the checking). An
 * asynchronous hash (the addon's SHA-256 on the thread pool) hashes each
 * chunk read ahead in the background, in order, never holding up the next
 * read: the hash, the reads and the caller's checks all run at once.
 */
class ChunkReader {
  private buf: Uint8Array;
  private start = 0;
  private end = 0;
  /** Bytes handed out so far (the offset of the next read). */
  offset = 0;
  private eof = false;
  /** The chunk being read ahead, into a buffer of its own. */
  private ahead: { buf: Uint8Array; bytesRead: Promise<number> } | undefined;
  /** Read-ahead buffers free to read into (a buffer is free once its bytes are hashed). */
  private spares: Uint8Array[] = [];
  /** The hash updates queued so far, in file order; how many buffers they still hold. */
  private hashing: Promise<void> = Promise.resolve();
  private hashingBuffers = 0;

  constructor(
    private readonly fh: FileHandle,
    private readonly hash: Hash | AsyncHash | undefined,
    private readonly chunk = CHUNK,
  ) {
    this.buf = new Uint8Array(2 * chunk);
  }

  /**
   * The next whole frame (head and payload, one view valid until the next
   * call), undefined at a clean end of file, `short` when the file ends
   * inside it. A length no valid file has is refused before it is read.
   */
  async readFrame(path: string): Promise<Uint8Array | 'short' | undefined> {
    const has = await this.bufferFrame(path);
    return has === true ? this.takeFrame() : has;
  }

  /**
   * Buffers the next whole frame without taking it (true), undefined at a
   * clean end of file, `short` when the file ends inside it; reads as much
   * as the buffer holds, so many frames usually follow it.
   */
  async bufferFrame(path: string): Promise<true | 'short' | undefined> {
    if (!(await this.fill(FRAME_HEADER_SIZE))) return this.end === this.start ? undefined : 'short';
    const size = this.frameSize();
    if (size - FRAME_HEADER_SIZE > MAX_FRAME_PAYLOAD) {
      decodeFrameHead(this.buf.subarray(this.start, this.start + FRAME_HEADER_SIZE), this.offset, path);
    }
    if (!(await this.fill(size))) return 'short';
    return true;
  }

  /** Every byte buffered and not handed out (a view valid until the next read). */
  buffered(): Uint8Array {
    return this.buf.subarray(this.start, this.end);
  }

  /** Hands out `n` buffered bytes that were consumed in place (through {@link buffered}). */
  skip(n: number): void {
    this.start += n;
    this.offset += n;
  }

  /** Whether a whole frame is buffered (reading it will not touch the file or move the buffer). */
  hasFrame(): boolean {
    const have = this.end - this.start;
    return have >= FRAME_HEADER_SIZE && have >= this.frameSize();
  }

  /** The buffered whole frame ({@link hasFrame} said there is one). */
  takeFrame(): Uint8Array {
    return this.take(this.frameSize());
  }

  /** Head and payload bytes of the frame whose head is buffered at the read position. */
  private frameSize(): number {
    const b = this.buf;
    const o = this.start;
    return FRAME_HEADER_SIZE + ((b[o]! | (b[o + 1]! << 8) | (b[o + 2]! << 16) | (b[o + 3]! << 24)) >>> 0);
  }

  /** Exactly `n` bytes (a view valid until the next call), or undefined at a clean end of file; `short` when it ends inside them. */
  async read(n: number): Promise<Uint8Array | 'short' | undefined> {
    if (!(await this.fill(n))) return this.end === this.start && n > 0 ? undefined : 'short';
    return this.take(n);
  }

  private take(n: number): Uint8Array {
    const out = this.buf.subarray(this.start, this.start + n);
    this.start += n;
    this.offset += n;
    return out;
  }

  /** Buffers at least `n` bytes; false when the file ends first. */
  private async fill(n: number): Promise<boolean> {
    while (this.end - this.start < n && !this.eof) {
      if (this.start > 0) {
        this.buf.copyWithin(0, this.start, this.end);
        this.end -= this.start;
        this.start = 0;
      }
      let bytesRead: number;
      if (this.ahead) {
        const ahead = this.ahead;
        this.ahead = undefined;
        bytesRead = await ahead.bytesRead;
        this.room(this.end + bytesRead);
        this.buf.set(ahead.buf.subarray(0, bytesRead), this.end);
        this.hashInBackground(ahead.buf, bytesRead);
        // At most two chunks waiting for the hash: a hash slower than the reads must not pile up buffers.
        if (this.hashingBuffers >= 2) await this.hashing;
      } else {
        this.room(n);
        ({ bytesRead } = await this.fh.read(this.buf, this.end, this.buf.length - this.end, null));
        if (bytesRead > 0) await this.hash?.update(this.buf.subarray(this.end, this.end + bytesRead));
      }
      if (bytesRead === 0) this.eof = true;
      else {
        this.end += bytesRead;
        this.readAhead();
      }
    }
    return this.end - this.start >= n;
  }

  /** Makes the buffer hold at least `n` bytes (keeping what it holds). */
  private room(n: number): void {
    if (this.buf.length >= n) return;
    const bigger = new Uint8Array(Math.max(n, this.buf.length * 2));
    bigger.set(this.buf.subarray(0, this.end));
    this.buf = bigger;
  }

  /** Starts reading the next chunk (the file position is where the last read ended: one read at a time). */
  private readAhead(): void {
    const buf = this.spares.pop() ?? new Uint8Array(this.chunk);
    const bytesRead = this.fh.read(buf, 0, buf.length, null).then((r) => r.bytesRead);
    // Awaited by the next fill; a reader abandoned meanwhile must not leave an unhandled rejection behind.
    bytesRead.catch(() => undefined);
    this.ahead = { buf, bytesRead };
  }

  /** Hashes `buf[0, n)` after every chunk before it; the buffer is free again once it is hashed. */
  private hashInBackground(buf: Uint8Array, n: number): void {
    const hash = this.hash;
    if (!hash || n === 0) {
      this.spares.push(buf);
      return;
    }
    this.hashingBuffers++;
    this.hashing = this.hashing.then(async () => {
      await hash.update(buf.subarray(0, n));
      this.hashingBuffers--;
      this.spares.push(buf);
    });
    // Awaited by settled(); a reader abandoned meanwhile must not leave an unhandled rejection behind.
    this.hashing.catch(() => undefined);
  }

  /** Once every byte read is hashed (a failed update throws here). */
  async settled(): Promise<void> {
    await this.hashing;
  }
}

function truncated(path: string, offset: number): ErrLogSuffix {
  return new ErrLogSuffix(`${path}: the file ends inside the frame at byte ${offset}: it is truncated; export it again`, {
    path,
    offset,
    check: 'truncated',
  });
}

/** An entry as read: with its frame's CRC (what a second pass over the file must find again). */
export interface ReadLogSuffixEntry extends LogSuffixEntry {
  crc: number;
}

/**
 * Takes entry frames in bulk (the addon's kernel, `logdb/native-suffix.ts`):
 * given the buffered bytes, which start at a frame, and where the entries
 * stand, takes the whole entry frames at their front that follow every rule
 * of an entry frame, and says how many bytes and entries it took, the last
 * one's term, and why it stopped: `more` (no whole frame left), `frame` (the
 * reader handles the next frame itself, and reports what is wrong with it),
 * `flush` (the caller must run before it takes more: the reader yields an
 * empty piece, then asks again).
 */
export type BulkEntryFrames = (
  buffered: Uint8Array,
  cursor: { next: bigint; lastTerm: bigint; lastIndex: bigint },
) => { consumed: number; entries: number; lastTerm: bigint; stop: 'more' | 'frame' | 'flush' };

/** What a complete read of a suffix file ends with. */
export interface LogSuffixEnd {
  header: LogSuffixHeader;
  lastTerm: bigint;
  size: number;
}

/**
 * Reads the file, checking every frame (CRC, shape, order, contiguity, terms,
 * the end frame): yields the header first, then the entries of each piece
 * read (about a megabyte at a time; their values are views into the read
 * buffer, valid until the next piece is asked for). Throws
 * {@link ErrLogSuffix} where the file goes wrong, and after the last entry if
 * the end frame is missing, so a caller that must not act on a bad file
 * consumes it whole before acting. Pieces, not entries, keep a million
 * entries from costing a million turns of the event loop.
 *
 * With `bulk`, the entry frames it takes are not yielded (the hook has
 * dealt with them); the reader yields an empty piece before each read of
 * the file, and every entry it takes itself in a piece of its own, so the
 * caller sees the entries in file order.
 */
export async function* readLogSuffixChunks(
  path: string,
  opts: { signal?: AbortSignal; hash?: Hash | AsyncHash; bulk?: BulkEntryFrames } = {},
): AsyncGenerator<{ header: LogSuffixHeader } | { entries: ReadLogSuffixEntry[] }, LogSuffixEnd> {
  let fh: FileHandle;
  try {
    fh = await open(path, 'r');
  } catch (err) {
    throw ioError(err, 'cannot open log suffix file', path);
  }
  try {
    const r = new ChunkReader(fh, opts.hash, opts.bulk ? BULK_CHUNK : CHUNK);
    const v = new LogSuffixValidator(path);
    const magic = await r.read(LOG_SUFFIX_MAGIC.length);
    if (magic === undefined || magic === 'short' || !magic.every((b, i) => b === LOG_SUFFIX_MAGIC[i])) {
      throw new ErrLogSuffix(`${path} is not a log suffix file (no NHLOGSFX magic)`, { path, offset: 0, check: 'magic' });
    }
    const native = crc32cFunction();
    // The addon's CRC-32C costs a call across the boundary; a typical entry frame is cheaper checked in place.
    const crc = (b: Uint8Array): number => (native && b.length >= NATIVE_CRC_MIN ? native(b) : crc32c(b));
    const bulk = opts.bulk;
    let entries: ReadLogSuffixEntry[] = [];
    let piecedAt = 0;
    let header: LogSuffixHeader | undefined;
    const take = (frame: Uint8Array, at: number): void => {
      const kind = frame[8]!;
      const expected = (frame[4]! | (frame[5]! << 8) | (frame[6]! << 16) | (frame[7]! << 24)) >>> 0;
      checkFrameCrc(expected, frame.subarray(8), at, path, crc);
      const payload = frame.subarray(FRAME_HEADER_SIZE);
      if (kind === FrameKind.Entry) {
        const e = decodeEntryPayload(payload, at, path) as ReadLogSuffixEntry;
        v.onEntry(e, at);
        e.crc = expected;
        entries.push(e);
      } else if (kind === FrameKind.Header) {
        header = decodeHeader(payload, at, path);
        v.onHeader(header, at);
      } else if (kind === FrameKind.End) {
        v.onEnd(decodeEnd(payload, at, path), at);
      } else {
        throw new ErrLogSuffix(`${path}: unknown frame kind ${kind} at byte ${at}`, {
          path,
          offset: at,
          check: 'frame-kind',
          actual: kind,
        });
      }
    };
    for (;;) {
      // Every frame already buffered, synchronously; the file is read (and the buffer may move) only after the
      // entries that view it are handed over.
      for (;;) {
        const cursor = bulk && v.entryCursor();
        if (cursor) {
          const run = bulk(r.buffered(), cursor);
          r.skip(run.consumed);
          v.onEntryRun(run.entries, run.lastTerm);
          if (run.stop === 'flush') {
            yield { entries: [] };
            continue;
          }
          if (run.stop === 'more') break;
        }
        if (!r.hasFrame()) break;
        const at = r.offset;
        take(r.takeFrame(), at);
        if (header !== undefined) {
          yield { header };
          header = undefined;
        }
        // A piece of about a megabyte of entries at most: a caller's per-entry work on a whole read chunk would be
        // garbage of four times that held at once.
        if (bulk ? entries.length > 0 : r.offset - piecedAt >= PIECE) {
          throwIfAborted(opts.signal, 'reading the log suffix');
          yield { entries };
          entries = [];
          piecedAt = r.offset;
        }
      }
      if (entries.length > 0 || bulk) {
        throwIfAborted(opts.signal, 'reading the log suffix');
        yield { entries };
        entries = [];
        piecedAt = r.offset;
      }
      const at = r.offset;
      if (bulk) {
        // The next frame is buffered and left for the hook (or, if it is not the hook's, the loop above).
        const has = await r.bufferFrame(path);
        if (has === undefined) break;
        if (has === 'short') throw truncated(path, at);
        continue;
      }
      const frame = await r.readFrame(path);
      if (frame === undefined) break;
      if (frame === 'short') throw truncated(path, at);
      take(frame, at);
      if (header !== undefined) {
        yield { header };
        header = undefined;
      }
    }
    if (entries.length > 0) yield { entries };
    const end = { ...v.finish(r.offset), size: r.offset };
    await r.settled();
    return end;
  } finally {
    await fh.close();
  }
}

/**
 * {@link readLogSuffixChunks} one entry at a time, each value copied (it
 * stays valid): the header first, then every entry; the same checks.
 */
export async function* readLogSuffix(
  path: string,
  opts: { signal?: AbortSignal; hash?: Hash } = {},
): AsyncGenerator<{ header: LogSuffixHeader } | { entry: LogSuffixEntry }, LogSuffixEnd> {
  const it = readLogSuffixChunks(path, opts);
  try {
    for (;;) {
      const step = await it.next();
      if (step.done) return step.value;
      if ('header' in step.value) {
        yield step.value;
        continue;
      }
      for (const e of step.value.entries) yield { entry: { index: e.index, term: e.term, value: e.value.slice() } };
    }
  } finally {
    // A caller that stops early (a refusal, the header alone) returns this generator; the chunk reader must close the file too.
    await it.return(undefined as never);
  }
}

/** The header alone (the first frame), checked; the rest of the file is not read. */
export async function readLogSuffixHeader(path: string): Promise<LogSuffixHeader> {
  const it = readLogSuffix(path);
  try {
    const first = await it.next();
    if (first.done || !('header' in first.value)) {
      throw new ErrLogSuffix(`${path}: the first frame is not the header`, { path, offset: LOG_SUFFIX_MAGIC.length, check: 'frame-order' });
    }
    return first.value.header;
  } finally {
    await it.return(undefined as never);
  }
}

/** One full checked pass: header, last term, size and SHA-256. */
export async function checkLogSuffixFile(path: string, opts: { signal?: AbortSignal } = {}): Promise<LogSuffixSummary> {
  const hash = createHash('sha256');
  const it = readLogSuffix(path, { ...opts, hash });
  for (;;) {
    const step = await it.next();
    if (step.done)
      return { header: step.value.header, lastTerm: step.value.lastTerm, size: BigInt(step.value.size), sha256: hash.digest('hex') };
  }
}

/** What {@link writeLogSuffixFile} wrote. */
export interface WrittenLogSuffix {
  size: bigint;
  sha256: string;
  lastTerm: bigint;
  entryCount: bigint;
}

/**
 * Writes a new suffix file at `path` (which must not exist) from `entries`,
 * which must be exactly `header.firstIndex..header.lastIndex` with terms
 * that never go back: the same validator the reader uses checks them as they
 * are written, so a bad log is refused instead of exported. The file is
 * fsynced; the caller makes its directory durable.
 */
export async function writeLogSuffixFile(
  path: string,
  header: LogSuffixHeader,
  entries: AsyncIterable<LogSuffixEntry> | Iterable<LogSuffixEntry>,
  opts: { signal?: AbortSignal } = {},
): Promise<WrittenLogSuffix> {
  let fh: FileHandle;
  try {
    fh = await open(path, 'wx');
  } catch (err) {
    throw ioError(err, 'cannot open log suffix file', path);
  }
  const hash = createHash('sha256');
  const v = new LogSuffixValidator(path);
  let size = 0;
  let pending: Uint8Array[] = [];
  let pendingBytes = 0;
  const flush = async (): Promise<void> => {
    if (pendingBytes === 0) return;
    const chunk = Buffer.concat(pending, pendingBytes);
    pending = [];
    pendingBytes = 0;
    hash.update(chunk);
    try {
      await fh.write(chunk, 0, chunk.length, null);
    } catch (err) {
      throw ioError(err, 'cannot write log suffix file', path);
    }
  };
  const put = async (bytes: Uint8Array): Promise<void> => {
    pending.push(bytes);
    pendingBytes += bytes.length;
    size += bytes.length;
    if (pendingBytes >= CHUNK) await flush();
  };
  try {
    await put(LOG_SUFFIX_MAGIC);
    v.onHeader(header, size);
    await put(encodeHeaderFrame(header));
    let lastTerm = header.snapshotTerm;
    let n = 0;
    for await (const e of entries) {
      v.onEntry(e, size);
      lastTerm = e.term;
      await put(encodeEntryFrame(e));
      if (++n % 4096 === 0) throwIfAborted(opts.signal, 'writing the log suffix');
    }
    const end = { entryCount: header.entryCount, lastIndex: header.lastIndex, lastTerm };
    v.onEnd(end, size);
    await put(encodeEndFrame(end));
    v.finish(size);
    await flush();
    try {
      await fh.sync();
    } catch (err) {
      throw ioError(err, 'cannot fsync log suffix file', path);
    }
    return { size: BigInt(size), sha256: hash.digest('hex'), lastTerm, entryCount: header.entryCount };
  } finally {
    await fh.close();
  }
}
