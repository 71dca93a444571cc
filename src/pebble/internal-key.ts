/**
 * Internal keys: `userKey || u64le(seqnum << 8 | kind)`, the form of every key
 * in an sstable. The trailer's low byte is the kind, the other seven bytes the
 * sequence number. Sequence numbers are JavaScript numbers here (see
 * varint.ts); the all-ones sequence number only occurs in bounds and index
 * separators and is recognised from its bytes. Pure.
 */

/** Kinds Pebble defines; a Dragonboat store holds only DEL, SET and RANGEDEL in data. */
export const Kind = {
  Delete: 0,
  Set: 1,
  Merge: 2,
  LogData: 3,
  SingleDelete: 7,
  RangeDelete: 15,
  Separator: 17,
  SetWithDelete: 18,
  RangeKeyDelete: 19,
  RangeKeyUnset: 20,
  RangeKeySet: 21,
  Invalid: 255,
} as const;

/** Largest kind Pebble defines (a batch decoder stops above it). */
export const MAX_KIND = 21;

/** Names for messages. */
export function kindName(kind: number): string {
  switch (kind) {
    case 0:
      return 'DEL';
    case 1:
      return 'SET';
    case 2:
      return 'MERGE';
    case 3:
      return 'LOGDATA';
    case 7:
      return 'SINGLEDEL';
    case 15:
      return 'RANGEDEL';
    case 17:
      return 'SEPARATOR';
    case 18:
      return 'SETWITHDEL';
    case 19:
      return 'RANGEKEYDEL';
    case 20:
      return 'RANGEKEYUNSET';
    case 21:
      return 'RANGEKEYSET';
    default:
      return `kind ${kind}`;
  }
}

/** True for the kinds Pebble defines that a Dragonboat store never contains (refused as unsupported, not as damage). */
export function isKnownForeignKind(kind: number): boolean {
  return kind === 2 || kind === 3 || kind === 7 || kind === 18 || kind === 19 || kind === 20 || kind === 21;
}

/** Largest sequence number (2^56 − 1), as bytes 1..7 of a trailer all 0xff. */
export const TRAILER_SIZE = 8;

/** A decoded trailer. `seq` is exact below 2^53; `maxSeq` marks the all-ones sequence number. */
export interface Trailer {
  kind: number;
  seq: number;
  maxSeq: boolean;
}

/** Sequence number of the trailer at `buf[off, off+8)` (exact below 2^53). */
export function trailerSeq(buf: Uint8Array, off: number): number {
  const lo = (buf[off + 1]! | (buf[off + 2]! << 8) | (buf[off + 3]! << 16)) >>> 0;
  const hi = (buf[off + 4]! | (buf[off + 5]! << 8) | (buf[off + 6]! << 16) | (buf[off + 7]! << 24)) >>> 0;
  return hi * 0x1000000 + lo;
}

/** True when the trailer at `off` carries the largest sequence number. */
export function trailerHasMaxSeq(buf: Uint8Array, off: number): boolean {
  for (let i = 1; i < 8; i++) if (buf[off + i] !== 0xff) return false;
  return true;
}

/** Decodes the trailer of an internal key (which must be at least 8 bytes). */
export function decodeTrailer(key: Uint8Array): Trailer {
  const off = key.length - TRAILER_SIZE;
  return { kind: key[off]!, seq: trailerSeq(key, off), maxSeq: trailerHasMaxSeq(key, off) };
}

/** Writes `seq << 8 | kind` little-endian at `out[off, off+8)`. */
export function writeTrailer(out: Uint8Array, off: number, seq: number, kind: number): void {
  out[off] = kind;
  let lo = seq % 0x1000000;
  let hi = Math.floor(seq / 0x1000000);
  for (let i = 1; i < 4; i++) {
    out[off + i] = lo & 0xff;
    lo >>>= 8;
  }
  for (let i = 4; i < 8; i++) {
    out[off + i] = hi & 0xff;
    hi >>>= 8;
  }
}

/** `userKey || trailer(seq, kind)`. */
export function makeInternalKey(userKey: Uint8Array, seq: number, kind: number): Uint8Array {
  const out = new Uint8Array(userKey.length + TRAILER_SIZE);
  out.set(userKey, 0);
  writeTrailer(out, userKey.length, seq, kind);
  return out;
}

/** The user-key part of an internal key (a view). */
export function userKeyOf(ikey: Uint8Array): Uint8Array {
  return ikey.subarray(0, ikey.length - TRAILER_SIZE);
}

/** The range-deletion sentinel trailer: sequence number all ones, kind RANGEDEL. */
export function isRangeDelSentinel(ikey: Uint8Array): boolean {
  const off = ikey.length - TRAILER_SIZE;
  return off >= 0 && ikey[off] === Kind.RangeDelete && trailerHasMaxSeq(ikey, off);
}

/** Bytewise order of user keys (Pebble's `leveldb.BytewiseComparator`). */
export function compareBytes(a: Uint8Array, b: Uint8Array): number {
  return Buffer.compare(a, b);
}

/** The 8-byte trailers as one comparable pair: sequence number then kind (both descending in key order). */
function compareTrailers(a: Uint8Array, aOff: number, b: Uint8Array, bOff: number): number {
  // Highest byte first: bytes 7..0 of the little-endian trailer.
  for (let i = 7; i >= 0; i--) {
    const d = a[aOff + i]! - b[bOff + i]!;
    if (d !== 0) return d;
  }
  return 0;
}

/**
 * Internal-key order: user key ascending, then trailer descending (newer
 * first). Both keys must be at least 8 bytes.
 */
export function compareInternalKeys(a: Uint8Array, b: Uint8Array): number {
  const c = Buffer.compare(userKeyOf(a), userKeyOf(b));
  if (c !== 0) return c;
  return -compareTrailers(a, a.length - TRAILER_SIZE, b, b.length - TRAILER_SIZE);
}
