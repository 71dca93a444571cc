import fc from 'fast-check';
import { describe, expect, test } from 'vitest';
import {
  V2_BLOCK_SIZE,
  encodeV2Tail,
  parseV2Tail,
  splitV2Region,
  v2BlockCount,
  v2BlockOffset,
  v2FileSize,
  v2RegionSize,
} from '../../src/snapshot/layout.js';

const B = V2_BLOCK_SIZE;

describe('v2 layout', () => {
  test('file size formula: 1024 + P + 4·ceil(P / 2 MiB) + 16', () => {
    expect(B).toBe(2_097_152);
    expect(v2FileSize(1)).toBe(1024 + 1 + 4 + 16);
    expect(v2FileSize(B)).toBe(1024 + B + 4 + 16);
    expect(v2FileSize(B + 1)).toBe(1024 + B + 1 + 8 + 16);
    expect(v2FileSize(3 * B)).toBe(1024 + 3 * B + 12 + 16);
    expect(v2BlockCount(0)).toBe(0);
    expect(v2BlockOffset(2)).toBe(1024 + 2 * (B + 4));
  });

  test('splitting a region inverts the size formula, for any payload size', () => {
    fc.assert(
      fc.property(fc.integer({ min: 1, max: 2 ** 45 }), (p) => {
        const s = splitV2Region(v2RegionSize(p));
        expect(s).toEqual({ ok: true, blocks: v2BlockCount(p), payloadBytes: p, lastBlockData: p - (v2BlockCount(p) - 1) * B });
      }),
      { seed: 11, numRuns: 500 },
    );
  });

  test('regions whose last block has no data byte, or no block at all, do not split', () => {
    expect(splitV2Region(0)).toEqual({ ok: false, block: 0, offset: 1024 });
    for (let rest = 1; rest <= 4; rest++) {
      expect(splitV2Region(rest)).toEqual({ ok: false, block: 0, offset: 1024 });
      expect(splitV2Region(2 * (B + 4) + rest)).toEqual({ ok: false, block: 2, offset: v2BlockOffset(2) });
    }
    expect(splitV2Region(5)).toMatchObject({ ok: true, blocks: 1, payloadBytes: 1 });
  });

  test('tail encoding', () => {
    const t = encodeV2Tail(0x0102030405);
    expect(Buffer.from(t).toString('hex')).toBe('0504030201000000' + '3f5bcbf1faba819f');
    expect(parseV2Tail(t)).toEqual({ total: 0x0102030405n, magicOk: true });
    t[15] = 0;
    expect(parseV2Tail(t).magicOk).toBe(false);
  });
});
