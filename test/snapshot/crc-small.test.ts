/** The snapshot layer's CRC32: its own table for small inputs, zlib for large ones, one function. */
import * as zlib from 'node:zlib';
import { describe, expect, it } from 'vitest';
import { crc32 } from '../../src/snapshot/crc.js';

function bytes(n: number, seed: number): Uint8Array {
  const b = new Uint8Array(n);
  let x = seed;
  for (let i = 0; i < n; i++) {
    x = (Math.imul(x, 1103515245) + 12345) >>> 0;
    b[i] = x >>> 24;
  }
  return b;
}

describe('snapshot crc32', () => {
  it('is zlib.crc32 for every length 0..1100 and around the switch to zlib, from 0 and continued', () => {
    const lengths = [...Array.from({ length: 1101 }, (_, i) => i), 4095, 4096, 4097, 70_000];
    for (const n of lengths) {
      const b = bytes(n, n + 1);
      expect(crc32(b), `length ${n}`).toBe(zlib.crc32(b) >>> 0);
      expect(crc32(b, 0xdeadbeef), `length ${n}, continued`).toBe(zlib.crc32(b, 0xdeadbeef) >>> 0);
    }
  });

  it('known values: "123456789" is cbf43926, the empty input keeps the running value', () => {
    expect(crc32(new TextEncoder().encode('123456789'))).toBe(0xcbf43926);
    expect(crc32(new Uint8Array(0), 0x12345678)).toBe(0x12345678);
  });

  it('continues across pieces of any split as one call does', () => {
    const b = bytes(9000, 7);
    for (const cut of [0, 1, 1024, 4096, 4097, 8999]) {
      expect(crc32(b.subarray(cut), crc32(b.subarray(0, cut)))).toBe(crc32(b));
    }
  });
});
