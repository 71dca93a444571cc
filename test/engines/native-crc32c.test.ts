/**
 * The addon's CRC-32C (native/src/crc32c.cc: SSE4.2, three interleaved lanes
 * on long inputs) held to the portable one (src/pebble/crc32c.ts) at every
 * length around the lanes' edges, every alignment, and with a seed carried
 * over from an earlier piece, as the WAL writer and read-back chain it.
 */
import { randomBytes } from 'node:crypto';
import { describe, expect, it } from 'vitest';
import { loadNative } from '../../src/native/binding.js';
import { crc32c, crc32cUpdate } from '../../src/pebble/crc32c.js';

const binding = loadNative();
const LANES = 3 * 4096;

describe.skipIf(!binding?.crc32c)('native CRC-32C', () => {
  const data = randomBytes(5 * LANES + 100);

  it('equals the portable CRC-32C around every lane edge, at every alignment', () => {
    const lengths = new Set<number>();
    for (let k = 0; k <= 4; k++) for (let d = -9; d <= 9; d++) lengths.add(Math.max(0, k * LANES + d));
    for (const n of [0, 1, 7, 8, 31, 32, 33, 4096, 8192, 65536]) lengths.add(n);
    for (const off of [0, 1, 2, 3, 5, 7, 8]) {
      for (const n of lengths) {
        if (off + n > data.length) continue;
        const v = data.subarray(off, off + n);
        expect(binding!.crc32c!(v) >>> 0, `offset ${off} length ${n}`).toBe(crc32c(v));
      }
    }
  });

  it('continues from a seed as the portable update does (pieces chained)', () => {
    for (const cut of [1, LANES - 1, LANES, LANES + 5, 2 * LANES + 3]) {
      const a = data.subarray(0, cut);
      const b = data.subarray(cut);
      const seed = binding!.crc32c!(a) >>> 0;
      expect(binding!.crc32c!(b, seed) >>> 0).toBe(crc32cUpdate(seed, b));
      expect(binding!.crc32c!(b, seed) >>> 0).toBe(crc32c(data));
    }
  });

  it('a long run of zeros and of ones (the lane joins are exact, not just for random bytes)', () => {
    for (const fill of [0x00, 0xff]) {
      const v = new Uint8Array(4 * LANES + 3).fill(fill);
      expect(binding!.crc32c!(v) >>> 0).toBe(crc32c(v));
    }
  });
});
