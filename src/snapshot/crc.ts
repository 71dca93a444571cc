/**
 * CRC32-IEEE helpers for the pure parts of the snapshot layer (header, writer).
 * Bulk payload CRCs go through a ChecksumEngine instead.
 */
import { createRequire } from 'node:module';

/** Inputs up to this size (a header area is 1 KiB) are summed by the table below, larger ones by zlib. */
const SMALL = 4096;

/** The reflected CRC-32/IEEE table (polynomial 0xEDB88320), one byte at a time. */
const TABLE: Uint32Array = (() => {
  const t = new Uint32Array(256);
  for (let n = 0; n < 256; n++) {
    let c = n;
    for (let k = 0; k < 8; k++) c = c & 1 ? 0xedb88320 ^ (c >>> 1) : c >>> 1;
    t[n] = c >>> 0;
  }
  return t;
})();

// node:zlib costs a verify's start-up about 2 ms, and verify sums only its header area here: zlib is loaded
// the first time a larger input (the writer's blocks) comes.
let zlibCrc32: ((data: Uint8Array, crc: number) => number) | undefined;

/** CRC32-IEEE of `data`, continuing from `crc` (0 to start). */
export function crc32(data: Uint8Array, crc = 0): number {
  if (data.length > SMALL) {
    zlibCrc32 ??= (createRequire(import.meta.url)('node:zlib') as typeof import('node:zlib')).crc32;
    return zlibCrc32(data, crc) >>> 0;
  }
  let c = ~crc >>> 0;
  for (let i = 0; i < data.length; i++) c = TABLE[(c ^ data[i]!) & 0xff]! ^ (c >>> 8);
  return ~c >>> 0;
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
