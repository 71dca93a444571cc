// Slicing-by-16: 16 table lookups per 16 input bytes, one dependency chain.
// Used for short inputs and for the tail the SIMD path leaves.
import { SLICE } from './tables';

@inline function t(k: u32, b: u32): u32 {
  return load<u32>(SLICE + (k << 10) + (b << 2));
}

/** Advances raw register `c` over [p, end). */
export function crc32Scalar(p: usize, end: usize, c: u32): u32 {
  while (end - p >= 16) {
    const w0 = load<u32>(p) ^ c;
    const w1 = load<u32>(p, 4);
    const w2 = load<u32>(p, 8);
    const w3 = load<u32>(p, 12);
    c = t(15, w0 & 0xff) ^ t(14, (w0 >>> 8) & 0xff) ^ t(13, (w0 >>> 16) & 0xff) ^ t(12, w0 >>> 24)
      ^ t(11, w1 & 0xff) ^ t(10, (w1 >>> 8) & 0xff) ^ t(9, (w1 >>> 16) & 0xff) ^ t(8, w1 >>> 24)
      ^ t(7, w2 & 0xff) ^ t(6, (w2 >>> 8) & 0xff) ^ t(5, (w2 >>> 16) & 0xff) ^ t(4, w2 >>> 24)
      ^ t(3, w3 & 0xff) ^ t(2, (w3 >>> 8) & 0xff) ^ t(1, (w3 >>> 16) & 0xff) ^ t(0, w3 >>> 24);
    p += 16;
  }
  while (p < end) {
    c = (c >>> 8) ^ t(0, (c ^ <u32>load<u8>(p)) & 0xff);
    p++;
  }
  return c;
}
