/**
 * Pebble's log framing, shared by WALs and MANIFESTs: 32 KiB blocks of
 * chunks, legacy (7-byte header) or recyclable (11-byte header with the low 32
 * bits of the file number). The reader follows Pebble's own reader decision by
 * decision, because where a log "ends" is exactly what decides which batches
 * Pebble replays: a chunk of another file number at a record start ends a
 * reused file cleanly, a bad chunk ends the newest WAL (tolerant replay) or
 * fails the open (strict replay). Pure.
 */
import { crc32cUpdate, maskCrc, unmaskCrc } from './crc32c.js';

/** Size of a log block. */
export const LOG_BLOCK_SIZE = 32768;
/** Legacy (LevelDB) chunk header: masked CRC u32le, length u16le, type u8. */
export const LEGACY_HEADER_SIZE = 7;
/** Recyclable chunk header: the legacy header plus the file number's low 32 bits, u32le. */
export const RECYCLABLE_HEADER_SIZE = 11;

/** Chunk types: legacy 1..4, recyclable 5..8 (full, first, middle, last). */
export const ChunkType = {
  Full: 1,
  First: 2,
  Middle: 3,
  Last: 4,
  RecyclableFull: 5,
  RecyclableFirst: 6,
  RecyclableMiddle: 7,
  RecyclableLast: 8,
} as const;

/** One complete record. */
export interface LogRecord {
  /** File offset of its first chunk header. */
  offset: number;
  /** File offset just past its last chunk. */
  end: number;
  /** The record's bytes (a view into the file buffer when it is one chunk). */
  payload: Uint8Array;
}

/**
 * How a log ends, in Pebble's terms.
 * - `clean`: end of data at a record start, an EOF trailer, or a chunk of
 *   another file number at a record start (a reused file's stale data).
 *   Strict replay accepts it.
 * - `torn`: an invalid record (bad CRC or length, zeroed header, stray bytes,
 *   data ending inside a record). Tolerant replay stops there; strict replay
 *   fails.
 * - `damaged`: a valid-CRC chunk Pebble would skip or mis-join (a middle or
 *   last chunk where a record starts, an unknown chunk type). Only damage
 *   produces it; a tool refuses it rather than guess.
 */
export interface LogEnding {
  kind: 'clean' | 'torn' | 'damaged';
  /** Short stable name, e.g. `end-of-file`, `eof-trailer`, `other-lognum`, `chunk-crc`, `zeroed-chunk`, `unexpected-eof`. */
  reason: string;
  /** File offset where the ending was recognised. */
  offset: number;
  /** For `other-lognum`/`eof-trailer`: the file number found. */
  foundLogNum?: number;
}

/** Everything a log holds up to where Pebble stops reading it. */
export interface LogReadResult {
  records: LogRecord[];
  ending: LogEnding;
  /** File offset just past the last complete record (0 when none): where a torn log must be cut. */
  goodEnd: number;
  fileSize: number;
}

function u32le(b: Uint8Array, o: number): number {
  return (b[o]! | (b[o + 1]! << 8) | (b[o + 2]! << 16) | (b[o + 3]! << 24)) >>> 0;
}

/**
 * Reads every record of a log file held whole in `file`, with `logNum` the
 * file's number (0 for a MANIFEST), and says how the file ends.
 */
export function readLog(file: Uint8Array, logNum: number): LogReadResult {
  const want = logNum >>> 0;
  const size = file.length;
  const records: LogRecord[] = [];
  // Block state, as in Pebble's reader: the block at blockStart holds n bytes; `end` is the position in it.
  let blockNum = -1;
  let blockStart = 0;
  let n = 0;
  let end = 0;
  let goodEnd = 0;

  const finish = (ending: LogEnding): LogReadResult => ({ records, ending, goodEnd, fileSize: size });

  // The record being assembled.
  let pieces: Uint8Array[] = [];
  let recordOffset = 0;
  let wantFirst = true;

  for (;;) {
    // --- next chunk (Pebble: nextChunk) ---
    let chunkType = 0;
    let begin = 0;
    for (;;) {
      if (end + LEGACY_HEADER_SIZE <= n) {
        const h = blockStart + end;
        const checksum = u32le(file, h);
        const length = file[h + 4]! | (file[h + 5]! << 8);
        let type = file[h + 6]!;
        if (checksum === 0 && length === 0 && type === 0) {
          if (end + RECYCLABLE_HEADER_SIZE > n) {
            // Padding at the end of a block.
            end = n;
            continue;
          }
          return finish({ kind: 'torn', reason: 'zeroed-chunk', offset: h });
        }
        let headerSize = LEGACY_HEADER_SIZE;
        if (type >= ChunkType.RecyclableFull && type <= ChunkType.RecyclableLast) {
          headerSize = RECYCLABLE_HEADER_SIZE;
          if (end + headerSize > n) return finish({ kind: 'torn', reason: 'short-chunk-header', offset: h });
          const found = u32le(file, h + 7);
          if (found !== want) {
            if (wantFirst) {
              const trailer = checksum === 0 && length === 0 && type === ChunkType.RecyclableFull && found === (want + 1) >>> 0;
              return finish({ kind: 'clean', reason: trailer ? 'eof-trailer' : 'other-lognum', offset: h, foundLogNum: found });
            }
            return finish({ kind: 'torn', reason: 'lognum-mid-record', offset: h, foundLogNum: found });
          }
          type -= ChunkType.RecyclableFull - 1;
        }
        begin = end + headerSize;
        end = begin + length;
        if (end > n) return finish({ kind: 'torn', reason: 'chunk-past-block', offset: h });
        // The CRC covers the type byte, the lognum (recyclable) and the payload.
        if (unmaskCrc(checksum) !== crc32cUpdate(0, file, h + 6, blockStart + end)) {
          return finish({ kind: 'torn', reason: 'chunk-crc', offset: h });
        }
        if (type < ChunkType.Full || type > ChunkType.Last) {
          return finish({ kind: 'damaged', reason: 'chunk-type', offset: h });
        }
        if (wantFirst && type !== ChunkType.Full && type !== ChunkType.First) {
          return finish({ kind: 'damaged', reason: 'orphan-chunk', offset: h });
        }
        if (!wantFirst && (type === ChunkType.Full || type === ChunkType.First)) {
          return finish({ kind: 'damaged', reason: 'chunk-inside-record', offset: h });
        }
        if (wantFirst) recordOffset = h;
        chunkType = type;
        break;
      }
      if (n < LOG_BLOCK_SIZE && blockNum >= 0) {
        if (!wantFirst) return finish({ kind: 'torn', reason: 'unexpected-eof', offset: blockStart + end });
        if (end !== n) return finish({ kind: 'torn', reason: 'stray-bytes', offset: blockStart + end });
        return finish({ kind: 'clean', reason: 'end-of-file', offset: blockStart + end });
      }
      // Next block.
      const nextStart = (blockNum + 1) * LOG_BLOCK_SIZE;
      if (nextStart >= size) {
        if (wantFirst) return finish({ kind: 'clean', reason: 'end-of-file', offset: size });
        return finish({ kind: 'torn', reason: 'unexpected-eof', offset: size });
      }
      blockNum++;
      blockStart = nextStart;
      n = Math.min(LOG_BLOCK_SIZE, size - blockStart);
      end = 0;
    }
    // --- a chunk file[blockStart+begin, blockStart+end) of `chunkType` ---
    pieces.push(file.subarray(blockStart + begin, blockStart + end));
    const last = chunkType === ChunkType.Full || chunkType === ChunkType.Last;
    if (!last) {
      wantFirst = false;
      continue;
    }
    let payload: Uint8Array;
    if (pieces.length === 1) {
      payload = pieces[0]!;
    } else {
      let total = 0;
      for (const p of pieces) total += p.length;
      payload = new Uint8Array(total);
      let o = 0;
      for (const p of pieces) {
        payload.set(p, o);
        o += p.length;
      }
    }
    goodEnd = blockStart + end;
    records.push({ offset: recordOffset, end: goodEnd, payload });
    pieces = [];
    wantFirst = true;
  }
}

/** Options of a {@link LogWriter}. */
export interface LogWriterOptions {
  /** Recyclable chunks carrying `logNum` (WALs) or legacy chunks (MANIFESTs). */
  recyclable: boolean;
  /** The file's number; its low 32 bits go into every recyclable chunk. */
  logNum?: number;
}

/**
 * Frames records into a new log file the way Pebble's writers do: a chunk
 * never crosses a block boundary, and a block tail too short for a header is
 * zero-filled.
 */
export class LogWriter {
  private readonly parts: Uint8Array[] = [];
  private offset = 0;
  private readonly headerSize: number;

  constructor(private readonly opts: LogWriterOptions) {
    this.headerSize = opts.recyclable ? RECYCLABLE_HEADER_SIZE : LEGACY_HEADER_SIZE;
  }

  /** Size of what has been framed so far. */
  get size(): number {
    return this.offset;
  }

  /** Frames one record; returns its file offsets. */
  append(payload: Uint8Array): { offset: number; end: number } {
    // The record's first chunk starts after the padding of a block tail too short for a header.
    const left = LOG_BLOCK_SIZE - (this.offset % LOG_BLOCK_SIZE);
    const start = left < this.headerSize ? this.offset + left : this.offset;
    const framer = new RecordStreamFramer(this.opts, payload.length, undefined, this.offset);
    for (const c of framer.push(payload)) this.push(c);
    for (const c of framer.finish()) this.push(c);
    return { offset: start, end: this.offset };
  }

  /** The framed file. */
  bytes(): Uint8Array {
    const out = new Uint8Array(this.offset);
    let o = 0;
    for (const p of this.parts) {
      out.set(p, o);
      o += p.length;
    }
    return out;
  }

  private push(b: Uint8Array): void {
    this.parts.push(b);
    this.offset += b.length;
  }
}

/** One record framed as a whole log file. */
export function frameLogRecord(payload: Uint8Array, opts: LogWriterOptions): Uint8Array {
  const w = new LogWriter(opts);
  w.append(payload);
  return w.bytes();
}

/** Bytes the streaming framer allocates at a time for its chunks. */
const ARENA_SIZE = 1 << 20;

/**
 * Frames ONE record whose length is known up front, from its bytes given in
 * pieces, as Pebble's writers do (the one framing of this module: a
 * {@link LogWriter} frames each of its records with it), whatever the
 * pieces. A chunk's type (full, first, middle, last) depends only on
 * whether the payload ends inside it, which the known length decides, so
 * nothing but the chunks not yet handed out is held: a WAL of any size is
 * written with a megabyte of memory (chunks are carved from megabyte
 * blocks, one allocation per block, not per 32 KiB chunk).
 */
export class RecordStreamFramer {
  private readonly headerSize: number;
  private readonly logNum: number;
  private fileOffset = 0;
  private consumed = 0;
  private chunk: Uint8Array | undefined;
  private fill = 0;
  private first = true;
  /** Where chunks are carved from, a block at a time. */
  private arena: Uint8Array = new Uint8Array(0);
  private arenaUsed = 0;
  /** Full blocks whose chunks were handed out and may still be in use, oldest first; free blocks, reused after {@link release}. */
  private handedOut: Uint8Array[] = [];
  private free: Uint8Array[] = [];
  /** Blocks ever filled (the position just past the last of {@link handedOut}). */
  private filled = 0;

  /**
   * `crc` computes CRC-32C (the addon's where loaded: a WAL of a hundred
   * megabytes is checksummed a 32 KiB chunk at a time); the portable one by
   * default. `startOffset` is where the record starts in its file (a
   * {@link LogWriter} frames several records into one file).
   */
  constructor(
    private readonly opts: LogWriterOptions,
    private readonly total: number,
    private readonly crc: (data: Uint8Array) => number = (d) => crc32cUpdate(0, d),
    startOffset = 0,
  ) {
    this.headerSize = opts.recyclable ? RECYCLABLE_HEADER_SIZE : LEGACY_HEADER_SIZE;
    this.logNum = (opts.logNum ?? 0) >>> 0;
    this.fileOffset = startOffset;
  }

  /** Frames the next `piece` of the payload; returns the framed bytes now complete, in file order. */
  push(piece: Uint8Array): Uint8Array[] {
    const out: Uint8Array[] = [];
    if (this.consumed + piece.length > this.total) throw new RangeError(`record framer: more than the ${this.total} bytes announced`);
    let p = 0;
    while (p < piece.length) {
      while (this.chunk === undefined) this.startChunk(out);
      const chunk = this.chunk;
      const n = Math.min(piece.length - p, chunk.length - this.headerSize - this.fill);
      chunk.set(piece.subarray(p, p + n), this.headerSize + this.fill);
      this.fill += n;
      this.consumed += n;
      p += n;
      if (this.headerSize + this.fill === chunk.length) this.emit(out);
    }
    return out;
  }

  /** The framed bytes still pending; throws unless exactly the announced length was pushed. */
  finish(): Uint8Array[] {
    if (this.consumed !== this.total) throw new RangeError(`record framer: ${this.consumed} of ${this.total} bytes pushed`);
    const out: Uint8Array[] = [];
    // A zero-length record, or chunks left empty by a block tail exactly one header long.
    while (this.first || this.chunk !== undefined) {
      if (this.chunk === undefined) this.startChunk(out);
      this.emit(out);
    }
    return out;
  }

  private startChunk(out: Uint8Array[]): void {
    let left = LOG_BLOCK_SIZE - (this.fileOffset % LOG_BLOCK_SIZE);
    if (left < this.headerSize) {
      out.push(new Uint8Array(left));
      this.fileOffset += left;
      left = LOG_BLOCK_SIZE;
    }
    const len = Math.min(this.total - this.consumed, left - this.headerSize);
    const last = this.consumed + len === this.total;
    let type: number = this.first ? (last ? ChunkType.Full : ChunkType.First) : last ? ChunkType.Last : ChunkType.Middle;
    if (this.opts.recyclable) type += ChunkType.RecyclableFull - 1;
    const chunk = this.carve(this.headerSize + len);
    chunk[4] = len & 0xff;
    chunk[5] = len >>> 8;
    chunk[6] = type;
    if (this.opts.recyclable) new DataView(chunk.buffer, chunk.byteOffset, chunk.length).setUint32(7, this.logNum, true);
    this.chunk = chunk;
    this.fill = 0;
    // A chunk with no room for payload (the block tail is exactly one header) is complete at once.
    if (len === 0 && !last) this.emit(out);
  }

  /**
   * A mark of the chunks handed out so far, for {@link release}: take it
   * when they are all handed over (to a write), release it when that is done.
   */
  mark(): number {
    return this.filled;
  }

  /**
   * Says the chunks handed out before `mark` (default: all so far) are no
   * longer needed (written): their blocks are reused. Chunks are otherwise
   * never overwritten.
   */
  release(mark = this.filled): void {
    const n = this.handedOut.length - (this.filled - mark);
    if (n > 0) this.free.push(...this.handedOut.splice(0, n));
  }

  /**
   * `n` bytes for a chunk, carved from a block of a megabyte: one
   * allocation per megabyte, and none once blocks are released and reused
   * (every byte of a chunk is set, so a reused block needs no clearing).
   */
  private carve(n: number): Uint8Array {
    if (this.arena.length - this.arenaUsed < n) {
      if (this.arena.length > 0) {
        this.handedOut.push(this.arena);
        this.filled++;
      }
      const reuse = this.free.pop();
      this.arena =
        reuse && reuse.length >= n
          ? reuse
          : new Uint8Array(Math.max(n, Math.min(ARENA_SIZE, this.total - this.consumed + 64 * RECYCLABLE_HEADER_SIZE)));
      this.arenaUsed = 0;
    }
    const chunk = this.arena.subarray(this.arenaUsed, this.arenaUsed + n);
    this.arenaUsed += n;
    return chunk;
  }

  private emit(out: Uint8Array[]): void {
    const chunk = this.chunk!;
    new DataView(chunk.buffer, chunk.byteOffset, chunk.length).setUint32(0, maskCrc(this.crc(chunk.subarray(6)) >>> 0), true);
    out.push(chunk);
    this.fileOffset += chunk.length;
    this.chunk = undefined;
    this.first = false;
  }
}
