// Chooses between the SIMD stream kernel and slicing-by-16 for a range.
import { crc32Scalar } from './scalar';
import { crc32Streams } from './simd';
import { xpow8n } from './tables';

/**
 * Bytes per stream in a full SIMD chunk (16 streams). Not a power of two:
 * with a 4096-byte stride all 16 streams would map to the same L1 cache
 * sets and evict each other (measured ~20% slower).
 */
const STREAM: usize = 4160;
/** Below this many bytes the SIMD setup and join cost more than they save. */
const SIMD_MIN: usize = 4096;

let xsFull: u32 = 0;

/** Computes constants that depend on tables being filled. */
export function initUpdate(): void {
  xsFull = xpow8n(STREAM);
}

/** Advances raw register `c` over the `len` bytes at `p`. */
export function crc32Update(p: usize, len: usize, c: u32): u32 {
  const end = p + len;
  while (end - p >= 16 * STREAM) {
    c = crc32Streams(p, STREAM, c, xsFull);
    p += 16 * STREAM;
  }
  const rest = end - p;
  if (rest >= SIMD_MIN) {
    // One shorter chunk so that only < 256 bytes are left for the scalar loop.
    const s = (rest >>> 8) << 4;
    c = crc32Streams(p, s, c, xpow8n(s));
    p += s << 4;
  }
  return crc32Scalar(p, end, c);
}
