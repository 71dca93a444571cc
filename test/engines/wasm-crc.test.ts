/**
 * The AssemblyScript CRC-32 (assembly/) through its kernel: every length and
 * alignment around the slicing-by-16 and SIMD code paths, against Node's
 * zlib.crc32, plus the kernel's buffer handling in WebAssembly memory.
 */
import { randomFillSync } from 'node:crypto';
import { crc32 as zlibCrc32 } from 'node:zlib';
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { createWasmEngine, createWasmKernel } from '../../src/engines/wasm.js';
import { xorshiftBytes } from '../helpers/payload.js';

const MiB = 1024 * 1024;

function random(size: number): Uint8Array {
  const out = new Uint8Array(size);
  for (let off = 0; off < size; off += 65536) randomFillSync(out.subarray(off, Math.min(size, off + 65536)));
  return out;
}

describe('wasm crc32', () => {
  const kernel = createWasmKernel();
  const engine = createWasmEngine();

  it('has the CRC-32/IEEE check value', () => {
    const check = new TextEncoder().encode('123456789');
    expect(engine.crc32(check)).toBe(0xcbf43926);
    expect(kernel.crc32(check, 0)).toBe(0xcbf43926);
  });

  it('matches zlib.crc32 for every length 0..300 at unaligned offsets, in and out of wasm memory', () => {
    const src = random(300 + 16);
    const buf = kernel.buffer(src.length, 0);
    buf.set(src);
    for (const seed of [0, 1, 0xffffffff, 0x12345678]) {
      for (let len = 0; len <= 300; len++) {
        for (const off of [0, 1, 2, 3, 7, 13]) {
          const want = zlibCrc32(src.subarray(off, off + len), seed);
          expect(kernel.crc32(buf.subarray(off, off + len), seed), `len ${len} off ${off} seed ${seed}`).toBe(want);
          expect(engine.crc32(src.subarray(off, off + len), seed)).toBe(want);
        }
      }
    }
  });

  it('matches zlib.crc32 on MiB-sized inputs around the SIMD chunk sizes', () => {
    const src = random(5 * MiB + 64);
    const buf = kernel.buffer(src.length, 1);
    buf.set(src);
    const lengths = [4095, 4096, 4097, 4351, 66_559, 66_560, 66_561, 133_120 + 255, 2 * MiB, 2 * MiB + 4, 5 * MiB + 17];
    for (const len of lengths) {
      for (const off of [0, 1, 3, 13]) {
        const want = zlibCrc32(src.subarray(off, off + len), 0x9e3779b9);
        expect(kernel.crc32(buf.subarray(off, off + len), 0x9e3779b9), `len ${len} off ${off}`).toBe(want);
      }
    }
    // Bytes outside wasm memory are copied through the staging area in pieces.
    expect(engine.crc32(src)).toBe(zlibCrc32(src));
  });

  it('continues from a previous CRC like zlib does', () => {
    const src = random(300_000);
    for (const cut of [0, 1, 4096, 66_560, 123_457, 300_000]) {
      const first = engine.crc32(src.subarray(0, cut));
      expect(engine.crc32(src.subarray(cut), first)).toBe(zlibCrc32(src));
    }
  });

  it('matches zlib.crc32 on random data, lengths, offsets, seeds and splits', () => {
    const buf = kernel.buffer(70_000, 0);
    // Lengths are drawn explicitly: fast-check's arrays stay short by default,
    // and the interesting paths start at 16 (slicing) and 4096 (SIMD) bytes.
    fc.assert(
      fc.property(
        fc.nat({ max: 69_000 }),
        fc.nat({ max: 999 }),
        fc.nat({ max: 0xffffffff }),
        fc.nat(),
        fc.nat(),
        (len, off, seed, cutSeed, dataSeed) => {
          const data = xorshiftBytes(len, dataSeed);
          buf.set(data, off);
          const view = buf.subarray(off, off + len);
          const want = zlibCrc32(data, seed);
          expect(kernel.crc32(view, seed)).toBe(want);
          const cut = len === 0 ? 0 : cutSeed % len;
          expect(kernel.crc32(view.subarray(cut), kernel.crc32(view.subarray(0, cut), seed))).toBe(want);
        },
      ),
      { numRuns: 200 },
    );
  });
});

describe('wasm kernel buffers', () => {
  it('hands out non-overlapping views of its own memory and grows once for a pair', () => {
    const kernel = createWasmKernel();
    const a = kernel.buffer(3 * MiB + 5, 0);
    const b = kernel.buffer(3 * MiB + 5, 1);
    expect(a.buffer).toBe(kernel.memory.buffer);
    expect(b.buffer).toBe(kernel.memory.buffer);
    expect(a.length).toBe(3 * MiB + 5);
    expect(b.byteOffset).toBeGreaterThanOrEqual(a.byteOffset + a.length);
    // Same size again (and smaller sizes) reuse the capacity: no growth, a is still attached.
    kernel.buffer(3 * MiB + 5, 0);
    kernel.buffer(1000, 1);
    expect(a.byteLength).toBe(3 * MiB + 5);
    a.fill(0xaa);
    b.fill(0x55);
    expect(kernel.crc32(a, 0)).toBe(zlibCrc32(new Uint8Array(3 * MiB + 5).fill(0xaa)));
    expect(kernel.crc32(b, 0)).toBe(zlibCrc32(new Uint8Array(3 * MiB + 5).fill(0x55)));
  });

  it('returns fresh views after growing, and kernels never share memory', () => {
    const k1 = createWasmKernel();
    const k2 = createWasmKernel();
    expect(k1.memory).not.toBe(k2.memory);
    const small = k1.buffer(1024, 0);
    const big = k1.buffer(9 * MiB, 0);
    expect(small.byteLength).toBe(0); // detached by the growth
    expect(() => k1.crc32(small, 0)).toThrow(/detached/);
    expect(k1.crc32(new Uint8Array(0), 5)).toBe(5);
    expect(big.buffer).toBe(k1.memory.buffer);
    big.fill(7);
    expect(k1.crc32(big.subarray(100, 200_100), 0)).toBe(zlibCrc32(new Uint8Array(200_000).fill(7)));
    // Bytes from another kernel's memory are foreign here: copied, same result.
    const other = k2.buffer(200_000, 0).fill(7);
    expect(k1.crc32(other, 0)).toBe(zlibCrc32(other));
  });

  it('rejects nonsense sizes', () => {
    const kernel = createWasmKernel();
    expect(() => kernel.buffer(-1, 0)).toThrow(RangeError);
    expect(() => kernel.buffer(1.5, 0)).toThrow(RangeError);
    expect(() => kernel.buffer(10, 2 as 0)).toThrow(RangeError);
  });
});
