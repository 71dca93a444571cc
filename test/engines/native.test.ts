import { spawnSync } from 'node:child_process';
import zlib from 'node:zlib';

import { afterEach, describe, expect, it } from 'vitest';

import { ErrEngineUnavailable } from '../../src/errors.js';
import { createNativeEngine, nativeCrcKernel } from '../../src/engines/native.js';
import { DISABLE_NATIVE_ENV, loadNative, NATIVE_ADDON_PATH, nativeLoadError, type NativeBinding } from '../../src/native/binding.js';
import { pseudoRandom } from '../native/v2file.js';

function binding(): NativeBinding {
  const b = loadNative();
  if (!b) throw new Error(`native addon not loaded: ${nativeLoadError()}`);
  return b;
}

describe('native addon loading', () => {
  afterEach(() => {
    delete process.env[DISABLE_NATIVE_ENV];
  });

  it('loads the built addon and reports the selected CRC kernel', () => {
    const b = binding();
    expect(nativeLoadError()).toBeUndefined();
    expect(b.crcKernels.length).toBeGreaterThan(0);
    expect(b.crcKernels).toContain(b.crcKernel);
    expect(b.crcKernels.at(-1)).toBe('slice8');
    expect(nativeCrcKernel()).toBe(b.crcKernel);
    // The first supported kernel is the fastest, and it is chosen unless overridden.
    if (!process.env.NODEHOST_TOOLS_CRC_KERNEL) expect(b.crcKernel).toBe(b.crcKernels[0]);
  });

  it(`${DISABLE_NATIVE_ENV}=1 makes the addon unavailable`, () => {
    process.env[DISABLE_NATIVE_ENV] = '1';
    expect(loadNative()).toBeUndefined();
    expect(nativeLoadError()).toMatch(DISABLE_NATIVE_ENV);
    expect(() => createNativeEngine()).toThrow(ErrEngineUnavailable);
    delete process.env[DISABLE_NATIVE_ENV];
    expect(loadNative()).toBeDefined();
    expect(createNativeEngine().name).toBe('native');
  });

  it('NODEHOST_TOOLS_CRC_KERNEL picks a slower kernel at load time', () => {
    const res = spawnSync(process.execPath, ['-e', `process.stdout.write(require(${JSON.stringify(NATIVE_ADDON_PATH)}).crcKernel)`], {
      env: { ...process.env, NODEHOST_TOOLS_CRC_KERNEL: 'slice8' },
      encoding: 'utf8',
    });
    expect(res.status).toBe(0);
    expect(res.stdout).toBe('slice8');
  });
});

describe('native crc32 matches zlib.crc32', () => {
  const data = pseudoRandom(4096 + 64, 7);

  it.each(loadNative()?.crcKernels ?? ['(addon missing)'])('kernel %s: every length 0..300 at offsets 0..15, with seeds', (kernel) => {
    const b = binding();
    const mismatches: string[] = [];
    for (let off = 0; off < 16; off++) {
      for (let len = 0; len <= 300; len++) {
        const view = data.subarray(off, off + len);
        const seed = (len * 2654435761 + off) >>> 0;
        for (const s of [0, seed]) {
          const want = zlib.crc32(view, s);
          const got = b.crc32WithKernel(kernel, view, s);
          if (got !== want) mismatches.push(`off=${off} len=${len} seed=${s}: ${got} != ${want}`);
        }
      }
    }
    expect(mismatches.slice(0, 5)).toEqual([]);
  });

  it.each(loadNative()?.crcKernels ?? ['(addon missing)'])('kernel %s: a few MiB, unaligned, seeded and chained', (kernel) => {
    const b = binding();
    const big = pseudoRandom(3 * 1024 * 1024 + 4099, 3);
    for (const [off, len] of [
      [0, big.length],
      [1, big.length - 1],
      [13, 2 * 1024 * 1024 + 77],
      [255, 4096 * 7 + 5],
    ] as const) {
      const view = big.subarray(off, off + len);
      expect(b.crc32WithKernel(kernel, view, 0)).toBe(zlib.crc32(view));
      expect(b.crc32WithKernel(kernel, view, 0xdeadbeef)).toBe(zlib.crc32(view, 0xdeadbeef));
    }
    // Continuing from a previous CRC equals one pass over the concatenation.
    const a = big.subarray(0, 1_000_003);
    const rest = big.subarray(1_000_003);
    expect(b.crc32WithKernel(kernel, rest, b.crc32WithKernel(kernel, a, 0))).toBe(zlib.crc32(big));
  });

  it('the engine crc32 defaults to seed 0 and accepts any byte view', () => {
    const engine = createNativeEngine();
    const bytes = pseudoRandom(1000, 9);
    expect(engine.crc32(bytes)).toBe(zlib.crc32(bytes));
    expect(engine.crc32(bytes, 12345)).toBe(zlib.crc32(bytes, 12345));
    expect(engine.crc32(new Uint8Array(0))).toBe(0);
    expect(engine.crc32(new TextEncoder().encode('123456789'))).toBe(0xcbf43926);
    const u8 = new Uint8Array(bytes.buffer, bytes.byteOffset + 3, 500);
    expect(engine.crc32(u8)).toBe(zlib.crc32(u8));
    const b = binding();
    expect(b.crc32(new DataView(u8.buffer, u8.byteOffset, u8.byteLength))).toBe(zlib.crc32(u8));
  });

  it('rejects an unknown kernel and bad arguments', () => {
    const b = binding();
    expect(() => b.crc32WithKernel('no-such-kernel', new Uint8Array(1))).toThrow(/not supported/);
    expect(() => b.crc32('abc' as unknown as Uint8Array)).toThrow(TypeError);
  });
});
