/**
 * CRC32-IEEE helpers for the pure parts of the snapshot layer (header, writer).
 * Bulk payload CRCs go through a ChecksumEngine instead.
 */
import * as zlib from 'node:zlib';

/** CRC32-IEEE of `data`, continuing from `crc` (0 to start). */
export function crc32(data: Uint8Array, crc = 0): number {
  return zlib.crc32(data, crc) >>> 0;
}

/** `n` as 4 bytes big-endian: how Go's `hash.Sum` stores a CRC32. */
export function u32be(n: number): Uint8Array {
  const b = new Uint8Array(4);
  new DataView(b.buffer).setUint32(0, n >>> 0, false);
  return b;
}

/** Reads a big-endian uint32 at `offset`. */
export function readU32be(b: Uint8Array, offset: number): number {
  return new DataView(b.buffer, b.byteOffset, b.byteLength).getUint32(offset, false);
}

/** Lower-case hex of `b`, for error details. */
export function hex(b: Uint8Array): string {
  return Buffer.from(b.buffer, b.byteOffset, b.byteLength).toString('hex');
}

/** A CRC value as 8 lower-case hex digits (its big-endian bytes). */
export function crcHex(n: number): string {
  return (n >>> 0).toString(16).padStart(8, '0');
}

/** Whether two byte arrays are equal. */
export function bytesEqual(a: Uint8Array, b: Uint8Array): boolean {
  if (a.length !== b.length) return false;
  for (let i = 0; i < a.length; i++) if (a[i] !== b[i]) return false;
  return true;
}
