/**
 * Unsigned LEB128 varints as Pebble (Go's encoding/binary) writes them, read
 * through a cursor so a decoder walks a buffer without allocating. Values are
 * JavaScript numbers: every quantity in a Dragonboat store (file numbers,
 * sizes, sequence numbers) is far below 2^53, and a larger one is reported as
 * unsupported instead of being rounded. Pure.
 */

/** Outcome codes of a varint read that did not produce a value. */
export const VARINT_TRUNCATED = -1;
export const VARINT_OVERFLOW = -2;
export const VARINT_TOO_LARGE = -3;

/** A read position in a buffer; `pos` advances as values are read. */
export class Cursor {
  pos: number;
  /** Why the last failed read failed (one of the VARINT_* codes). */
  failure = 0;

  constructor(
    readonly buf: Uint8Array,
    pos = 0,
    readonly end = buf.length,
  ) {
    this.pos = pos;
  }

  get remaining(): number {
    return this.end - this.pos;
  }

  /**
   * Reads a varint of at most `maxBytes` bytes (10 for 64 bits, 5 for 32).
   * Returns -1 and sets `failure` on truncation, overflow of the width, or a
   * value above 2^53 − 1; `pos` is then left where the varint began.
   */
  uvarint(maxBytes = 10): number {
    const start = this.pos;
    let result = 0;
    let mul = 1;
    for (let i = 0; i < maxBytes; i++) {
      if (this.pos >= this.end) {
        this.pos = start;
        this.failure = VARINT_TRUNCATED;
        return -1;
      }
      const b = this.buf[this.pos++]!;
      // The last allowed byte may only carry the bits left in the width.
      if (i === maxBytes - 1 && b > (maxBytes === 10 ? 1 : 0x0f)) {
        this.pos = start;
        this.failure = VARINT_OVERFLOW;
        return -1;
      }
      result += (b & 0x7f) * mul;
      if (b < 0x80) {
        if (result > Number.MAX_SAFE_INTEGER) {
          this.pos = start;
          this.failure = VARINT_TOO_LARGE;
          return -1;
        }
        return result;
      }
      mul *= 128;
    }
    this.pos = start;
    this.failure = VARINT_OVERFLOW;
    return -1;
  }

  /** A 32-bit varint (at most 5 bytes), as Pebble's batch and block lengths. */
  uvarint32(): number {
    return this.uvarint(5);
  }

  /** `n` bytes as a view (no copy), or undefined when fewer remain. */
  bytes(n: number): Uint8Array | undefined {
    if (n < 0 || this.pos + n > this.end) return undefined;
    const out = this.buf.subarray(this.pos, this.pos + n);
    this.pos += n;
    return out;
  }
}

/** Appends the varint encoding of `v` (a non-negative safe integer) to `out`. */
export function putUvarint(out: number[], v: number): void {
  while (v >= 0x80) {
    out.push((v % 128) | 0x80);
    v = Math.floor(v / 128);
  }
  out.push(v);
}

/** Bytes of `v` (a non-negative safe integer) as an unsigned varint. */
export function uvarintSize(v: number): number {
  let n = 1;
  while (v >= 0x80) {
    v = Math.floor(v / 128);
    n++;
  }
  return n;
}

/** Writes `v` as an unsigned varint into `buf` at `o` (room: {@link uvarintSize}); returns the offset after it, allocating nothing. */
export function putUvarintAt(buf: Uint8Array, o: number, v: number): number {
  while (v >= 0x80) {
    buf[o++] = (v % 128) | 0x80;
    v = Math.floor(v / 128);
  }
  buf[o++] = v;
  return o;
}

/** The varint encoding of `v`. */
export function encodeUvarint(v: number): Uint8Array {
  const out: number[] = [];
  putUvarint(out, v);
  return Uint8Array.from(out);
}
