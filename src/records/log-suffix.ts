/**
 * The log suffix file (`log-suffix.nhlog`, docs/log-suffix.md): a survivor's
 * Raft log entries past an exported snapshot, carried beside the snapshot so
 * an import can give every new member the same log and lose nothing the
 * survivor held. Pure: encoders, frame decoding, and a validator that checks
 * frames in file order without holding more than one of them.
 *
 * Layout: the 8-byte magic, then frames `u32 length | u32 crc32c | u8 kind |
 * payload`, little-endian, the CRC over kind and payload. One header frame,
 * one entry frame per index, one end frame. The end frame repeats the count
 * and the last index and term, so a file cut anywhere, even between frames,
 * is told apart from a complete one.
 */
import { ErrLogSuffix } from '../errors.js';
import { crc32c } from '../pebble/crc32c.js';

/** File name of the log suffix inside an export directory. */
export const LOG_SUFFIX_FILENAME = 'log-suffix.nhlog';
/** The file's first 8 bytes. */
export const LOG_SUFFIX_MAGIC = new TextEncoder().encode('NHLOGSFX');
/** Format version written and read. */
export const LOG_SUFFIX_VERSION = 1;
/** Bytes before every frame's payload: length, CRC, kind. */
export const FRAME_HEADER_SIZE = 9;
/** Largest payload accepted: far above any Raft entry Dragonboat accepts, small enough to refuse a garbage length early. */
export const MAX_FRAME_PAYLOAD = 256 * 1024 * 1024;

/** Frame kinds. */
export const FrameKind = { Header: 1, Entry: 2, End: 3 } as const;
export type FrameKind = (typeof FrameKind)[keyof typeof FrameKind];

/** Where the entries came from and what they continue. */
export interface LogSuffixHeader {
  shardId: bigint;
  /** The survivor's replica ID (the entries are re-keyed for each importing replica). */
  replicaId: bigint;
  /** The snapshot the suffix continues: its index and term (the anchor of Raft's log matching rule). */
  snapshotIndex: bigint;
  snapshotTerm: bigint;
  /** `snapshotIndex + 1`. */
  firstIndex: bigint;
  /** The survivor's max index. */
  lastIndex: bigint;
  /** `lastIndex - firstIndex + 1`. */
  entryCount: bigint;
  /** The survivor as it was when exported: its address and directory, its raft state's term and commit. */
  survivor: { raftAddress: string; nodeHostDir: string; term: bigint; commit: bigint };
}

/** One entry: its index and term, and its bytes as Dragonboat stores an Entry in a plain log (Colfer, docs/formats.md §1). */
export interface LogSuffixEntry {
  index: bigint;
  term: bigint;
  value: Uint8Array;
}

/** The end frame: what a complete file holds. */
export interface LogSuffixEnd {
  entryCount: bigint;
  lastIndex: bigint;
  lastTerm: bigint;
}

const te = new TextEncoder();
const td = new TextDecoder('utf-8', { fatal: true });

function frame(kind: FrameKind, payload: Uint8Array): Uint8Array {
  const out = new Uint8Array(FRAME_HEADER_SIZE + payload.length);
  const dv = new DataView(out.buffer);
  dv.setUint32(0, payload.length, true);
  out[8] = kind;
  out.set(payload, FRAME_HEADER_SIZE);
  dv.setUint32(4, crc32c(out, 8), true);
  return out;
}

/** The header frame. */
export function encodeHeaderFrame(h: LogSuffixHeader): Uint8Array {
  const addr = te.encode(h.survivor.raftAddress);
  const dir = te.encode(h.survivor.nodeHostDir);
  if (addr.length > 0xffff || dir.length > 0xffff) throw new RangeError('survivor address or directory longer than 65535 bytes');
  const out = new Uint8Array(4 + 9 * 8 + 2 + addr.length + 2 + dir.length);
  const dv = new DataView(out.buffer);
  dv.setUint32(0, LOG_SUFFIX_VERSION, true);
  const u64s = [
    h.shardId,
    h.replicaId,
    h.snapshotIndex,
    h.snapshotTerm,
    h.firstIndex,
    h.lastIndex,
    h.entryCount,
    h.survivor.term,
    h.survivor.commit,
  ];
  u64s.forEach((v, i) => {
    dv.setBigUint64(4 + i * 8, v, true);
  });
  let at = 4 + u64s.length * 8;
  dv.setUint16(at, addr.length, true);
  out.set(addr, at + 2);
  at += 2 + addr.length;
  dv.setUint16(at, dir.length, true);
  out.set(dir, at + 2);
  return frame(FrameKind.Header, out);
}

/** One entry frame. */
export function encodeEntryFrame(e: LogSuffixEntry): Uint8Array {
  const payload = new Uint8Array(16 + e.value.length);
  const dv = new DataView(payload.buffer);
  dv.setBigUint64(0, e.index, true);
  dv.setBigUint64(8, e.term, true);
  payload.set(e.value, 16);
  return frame(FrameKind.Entry, payload);
}

/** The end frame. */
export function encodeEndFrame(end: LogSuffixEnd): Uint8Array {
  const payload = new Uint8Array(24);
  const dv = new DataView(payload.buffer);
  dv.setBigUint64(0, end.entryCount, true);
  dv.setBigUint64(8, end.lastIndex, true);
  dv.setBigUint64(16, end.lastTerm, true);
  return frame(FrameKind.End, payload);
}

/** A frame's fixed part, read before its payload. */
export interface FrameHead {
  length: number;
  crc: number;
  kind: number;
}

/** Decodes the 9 bytes before a payload; refuses a length no valid file has. */
export function decodeFrameHead(buf: Uint8Array, offset: number, path: string): FrameHead {
  const dv = new DataView(buf.buffer, buf.byteOffset, buf.byteLength);
  const length = dv.getUint32(0, true);
  if (length > MAX_FRAME_PAYLOAD) {
    throw new ErrLogSuffix(`${path}: the frame at byte ${offset} claims ${length} bytes: the file is corrupt`, {
      path,
      offset,
      check: 'frame-length',
      expected: `<= ${MAX_FRAME_PAYLOAD}`,
      actual: length,
    });
  }
  return { length, crc: dv.getUint32(4, true), kind: buf[8]! };
}

/**
 * Checks a frame's CRC over its kind byte and payload, `kindAndPayload`
 * (contiguous in the file). `crc` is the CRC-32C to use (the addon's, where
 * loaded, is several times faster than the portable one).
 */
export function checkFrameCrc(
  expected: number,
  kindAndPayload: Uint8Array,
  offset: number,
  path: string,
  crc: (data: Uint8Array) => number = crc32c,
): void {
  const actual = crc(kindAndPayload) >>> 0;
  if (actual !== expected) {
    throw new ErrLogSuffix(`${path}: the frame at byte ${offset} fails its CRC: the file is corrupt; export it again`, {
      path,
      offset,
      check: 'frame-crc',
      expected,
      actual,
    });
  }
}

function malformed(path: string, offset: number, what: string): ErrLogSuffix {
  return new ErrLogSuffix(`${path}: the frame at byte ${offset} is malformed (${what})`, { path, offset, check: 'frame-shape' });
}

/** Decodes a header frame's payload. */
export function decodeHeader(p: Uint8Array, offset: number, path: string): LogSuffixHeader {
  const fixed = 4 + 9 * 8 + 2;
  if (p.length < fixed) throw malformed(path, offset, `header of ${p.length} bytes`);
  const dv = new DataView(p.buffer, p.byteOffset, p.byteLength);
  const version = dv.getUint32(0, true);
  if (version !== LOG_SUFFIX_VERSION) {
    throw new ErrLogSuffix(`${path}: format version ${version}; this tool reads version ${LOG_SUFFIX_VERSION}`, {
      path,
      offset,
      check: 'version',
      expected: LOG_SUFFIX_VERSION,
      actual: version,
    });
  }
  const u = (i: number): bigint => dv.getBigUint64(4 + i * 8, true);
  let at = 4 + 9 * 8;
  const str = (): string => {
    if (at + 2 > p.length) throw malformed(path, offset, 'string length past the end');
    const n = dv.getUint16(at, true);
    if (at + 2 + n > p.length) throw malformed(path, offset, 'string past the end');
    let s: string;
    try {
      s = td.decode(p.subarray(at + 2, at + 2 + n));
    } catch {
      throw malformed(path, offset, 'string not UTF-8');
    }
    at += 2 + n;
    return s;
  };
  const raftAddress = str();
  const nodeHostDir = str();
  if (at !== p.length) throw malformed(path, offset, 'trailing bytes in the header');
  return {
    shardId: u(0),
    replicaId: u(1),
    snapshotIndex: u(2),
    snapshotTerm: u(3),
    firstIndex: u(4),
    lastIndex: u(5),
    entryCount: u(6),
    survivor: { raftAddress, nodeHostDir, term: u(7), commit: u(8) },
  };
}

/** A little-endian u64 at `o` (one BigInt; indexes and terms are far below 2^53 in practice). */
function u64le(p: Uint8Array, o: number): bigint {
  const lo = (p[o]! | (p[o + 1]! << 8) | (p[o + 2]! << 16) | (p[o + 3]! << 24)) >>> 0;
  const hi = (p[o + 4]! | (p[o + 5]! << 8) | (p[o + 6]! << 16) | (p[o + 7]! << 24)) >>> 0;
  return hi < 0x200000 ? BigInt(hi * 4294967296 + lo) : (BigInt(hi) << 32n) | BigInt(lo);
}

/** Decodes an entry frame's payload (the value is a view into `p`). */
export function decodeEntryPayload(p: Uint8Array, offset: number, path: string): LogSuffixEntry {
  if (p.length < 16) throw malformed(path, offset, `entry of ${p.length} bytes`);
  return { index: u64le(p, 0), term: u64le(p, 8), value: p.subarray(16) };
}

/** Decodes an end frame's payload. */
export function decodeEnd(p: Uint8Array, offset: number, path: string): LogSuffixEnd {
  if (p.length !== 24) throw malformed(path, offset, `end frame of ${p.length} bytes`);
  const dv = new DataView(p.buffer, p.byteOffset, p.byteLength);
  return { entryCount: dv.getBigUint64(0, true), lastIndex: dv.getBigUint64(8, true), lastTerm: dv.getBigUint64(16, true) };
}

/**
 * Checks frames in file order: the header first and self-consistent, entries
 * contiguous from `snapshotIndex + 1` with terms never going back (nor below
 * the snapshot's), the end frame matching what came before, nothing after
 * it. Each method throws {@link ErrLogSuffix} naming the offset.
 */
export class LogSuffixValidator {
  private header: LogSuffixHeader | undefined;
  private next = 0n;
  private lastTerm = 0n;
  private count = 0n;
  private ended = false;

  constructor(private readonly path: string) {}

  private fail(offset: number, check: string, message: string, expected?: unknown, actual?: unknown): ErrLogSuffix {
    return new ErrLogSuffix(`${this.path}: ${message}`, { path: this.path, offset, check, expected, actual });
  }

  /** The header frame (must come first). */
  onHeader(h: LogSuffixHeader, offset: number): void {
    if (this.header !== undefined || this.ended) throw this.fail(offset, 'frame-order', 'a second header frame');
    if (h.firstIndex !== h.snapshotIndex + 1n) {
      throw this.fail(
        offset,
        'first-index',
        `the suffix starts at ${h.firstIndex}, not right after the snapshot (${h.snapshotIndex})`,
        h.snapshotIndex + 1n,
        h.firstIndex,
      );
    }
    if (h.lastIndex < h.firstIndex || h.entryCount !== h.lastIndex - h.firstIndex + 1n) {
      throw this.fail(offset, 'count', `the header's count ${h.entryCount} does not span ${h.firstIndex}..${h.lastIndex}`);
    }
    this.header = h;
    this.next = h.firstIndex;
    this.lastTerm = h.snapshotTerm;
  }

  /** One entry frame. */
  onEntry(e: LogSuffixEntry, offset: number): void {
    if (this.header === undefined) throw this.fail(offset, 'frame-order', 'an entry before the header');
    if (this.ended) throw this.fail(offset, 'frame-order', 'an entry after the end frame');
    if (e.index !== this.next) {
      const check = e.index > this.next ? 'gap' : 'order';
      throw this.fail(
        offset,
        check,
        `entry ${e.index} where ${this.next} was expected (${check === 'gap' ? 'a gap' : 'out of order'})`,
        this.next,
        e.index,
      );
    }
    if (e.index > this.header.lastIndex)
      throw this.fail(offset, 'count', `entry ${e.index} past the header's last index ${this.header.lastIndex}`);
    if (e.term < this.lastTerm) {
      throw this.fail(
        offset,
        'term-order',
        `entry ${e.index} has term ${e.term}, below the term ${this.lastTerm} before it`,
        `>= ${this.lastTerm}`,
        e.term,
      );
    }
    this.lastTerm = e.term;
    this.next++;
    this.count++;
  }

  /**
   * Where the entries stand, for a checker that takes entry frames in bulk
   * by these same rules; undefined before the header and after the end frame.
   */
  entryCursor(): { next: bigint; lastTerm: bigint; lastIndex: bigint } | undefined {
    if (this.header === undefined || this.ended) return undefined;
    return { next: this.next, lastTerm: this.lastTerm, lastIndex: this.header.lastIndex };
  }

  /** `n` entry frames taken in bulk from {@link entryCursor} by the same rules, the last of term `lastTerm`. */
  onEntryRun(n: number, lastTerm: bigint): void {
    if (n === 0) return;
    this.next += BigInt(n);
    this.count += BigInt(n);
    this.lastTerm = lastTerm;
  }

  /** The end frame. */
  onEnd(end: LogSuffixEnd, offset: number): void {
    if (this.header === undefined) throw this.fail(offset, 'frame-order', 'an end frame before the header');
    if (this.ended) throw this.fail(offset, 'frame-order', 'a second end frame');
    const h = this.header;
    if (this.count !== h.entryCount || end.entryCount !== h.entryCount || end.lastIndex !== h.lastIndex || end.lastTerm !== this.lastTerm) {
      throw this.fail(
        offset,
        'count',
        `the file ends after ${this.count} entries (last term ${this.lastTerm}); header and end frame say ${h.entryCount} ` +
          `to ${h.lastIndex} (last term ${end.lastTerm})`,
      );
    }
    this.ended = true;
  }

  /** At the end of the file: the end frame must have been read. */
  finish(fileSize: number): { header: LogSuffixHeader; lastTerm: bigint } {
    if (this.header === undefined || !this.ended) {
      throw this.fail(fileSize, 'truncated', `the file ends at byte ${fileSize} before its end frame: it is truncated; export it again`);
    }
    return { header: this.header, lastTerm: this.lastTerm };
  }
}
