import { statSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, test } from 'vitest';
import { createJsEngine } from '../../src/engines/js.js';
import type { PayloadLayout } from '../../src/engines/types.js';
import { encodeV2Tail } from '../../src/snapshot/layout.js';
import {
  GOLDEN_V1_PATH,
  V2_BLOCK_SIZE,
  blockCrcOffset,
  blockDataOffset,
  flipByte,
  patchBytes,
  readAll,
  sameBytes,
  tempDirs,
  writeV1,
  writeV2,
} from '../helpers/snapshots.js';
import { payload } from '../helpers/payload.js';

const engine = createJsEngine();
const dirs = tempDirs('nht-js-');
const B = V2_BLOCK_SIZE;
const layoutOf = (path: string, version: 1 | 2): PayloadLayout => ({ path, version, payloadOffset: 1024, fileSize: statSync(path).size });

describe('js engine', () => {
  test('is named js and computes CRC32-IEEE, continuing from a previous value', () => {
    expect(engine.name).toBe('js');
    const data = new TextEncoder().encode('123456789');
    expect(engine.crc32(data)).toBe(0xcbf43926);
    expect(engine.crc32(data.subarray(4), engine.crc32(data.subarray(0, 4)))).toBe(0xcbf43926);
    expect(engine.crc32(new Uint8Array(0))).toBe(0);
  });

  test('scans the golden v1 payload', async () => {
    const r = await engine.scanPayload(layoutOf(GOLDEN_V1_PATH, 1));
    expect(r).toEqual({ ok: true, payloadBytes: 184, blocks: 0, payloadChecksum: 0xeb500eb3 });
  });

  test('scans v2 files: data bytes, blocks and the CRC of the block CRCs', async () => {
    const dir = dirs.make();
    for (const size of [1, B, 2 * B + 5]) {
      const w = await writeV2(dir, payload(size), `s${size}.gbsnap`);
      const r = await engine.scanPayload(layoutOf(w.path, 2));
      expect(r).toEqual({
        ok: true,
        payloadBytes: size,
        blocks: Math.ceil(size / B),
        payloadChecksum: Buffer.from(w.payloadChecksum).readUInt32BE(0),
      });
    }
  });

  // The failure table every engine must reproduce exactly (see src/snapshot/scan.ts).
  describe('failures: check, offset, block, expected, actual', () => {
    const size = 2 * B + 10; // three blocks
    const fileSize = 1024 + size + 12 + 16;

    async function file(): Promise<string> {
      return (await writeV2(dirs.make(), payload(size, 3))).path;
    }

    test('tail-size', async () => {
      const path = join(dirs.make(), 'short.gbsnap');
      writeFileSync(path, readAll(await file()).subarray(0, 1024 + 15));
      expect(await engine.scanPayload(layoutOf(path, 2))).toEqual({ ok: false, check: 'tail-size', offset: 1024 });
    });

    test('tail-magic', async () => {
      const path = await file();
      flipByte(path, fileSize - 3);
      expect(await engine.scanPayload(layoutOf(path, 2))).toEqual({ ok: false, check: 'tail-magic', offset: fileSize - 8 });
    });

    test('tail-total', async () => {
      const path = await file();
      patchBytes(path, fileSize - 16, encodeV2Tail(size + 11).subarray(0, 8));
      expect(await engine.scanPayload(layoutOf(path, 2))).toEqual({
        ok: false,
        check: 'tail-total',
        offset: fileSize - 16,
        expected: size + 12,
        actual: size + 11,
      });
    });

    test('block-layout: a last block with no data byte', async () => {
      const path = join(dirs.make(), 'layout.gbsnap');
      const src = readAll(await file());
      const region = 2 * (B + 4) + 4;
      writeFileSync(path, Buffer.concat([src.subarray(0, 1024 + region), encodeV2Tail(region)]));
      expect(await engine.scanPayload(layoutOf(path, 2))).toEqual({
        ok: false,
        check: 'block-layout',
        offset: blockDataOffset(2),
        block: 2,
      });
    });

    test('block-layout: no block at all', async () => {
      const path = join(dirs.make(), 'empty.gbsnap');
      writeFileSync(path, Buffer.concat([readAll(await file()).subarray(0, 1024), encodeV2Tail(0)]));
      expect(await engine.scanPayload(layoutOf(path, 2))).toEqual({ ok: false, check: 'block-layout', offset: 1024, block: 0 });
    });

    test('block-crc: the first bad block, stored CRC as expected, computed as actual', async () => {
      const path = await file();
      const src = readAll(path);
      const crcAt = blockCrcOffset(1, size);
      const stored = Buffer.from(src).readUInt32BE(crcAt);
      flipByte(path, blockDataOffset(1) + 7, 0x20);
      flipByte(path, blockDataOffset(2) + 1, 0x20); // a later bad block is not the one reported
      const actual = engine.crc32(readAll(path).subarray(blockDataOffset(1), crcAt));
      expect(await engine.scanPayload(layoutOf(path, 2))).toEqual({
        ok: false,
        check: 'block-crc',
        offset: crcAt,
        block: 1,
        expected: stored,
        actual,
      });
    });

    test('file-changed: a read comes up short', async () => {
      const path = await file();
      const layout = { ...layoutOf(path, 1), fileSize: fileSize + 10 };
      expect(await engine.scanPayload(layout)).toEqual({
        ok: false,
        check: 'file-changed',
        offset: fileSize,
        expected: fileSize + 10,
        actual: fileSize,
      });
    });

    test('file-changed: the size differs after the scan', async () => {
      const path = await file();
      const layout = { ...layoutOf(path, 2) };
      writeFileSync(path, new Uint8Array(1), { flag: 'a' }); // appended after the stat the caller made
      // The tail is read at the stat'ed position, so tail checks pass; the final size check does not.
      const r = await engine.scanPayload(layout);
      expect(r).toEqual({ ok: false, check: 'file-changed', offset: fileSize, expected: fileSize, actual: fileSize + 1 });
    });
  });

  test('copyAndScan copies every byte, with the mode, and scans like scanPayload', async () => {
    const dir = dirs.make();
    const w = await writeV1(dir, payload(B + 3));
    const dest = join(dir, 'copy.gbsnap');
    const r = await engine.copyAndScan(layoutOf(w.path, 1), dest, 0o600);
    expect(r).toEqual(await engine.scanPayload(layoutOf(w.path, 1)));
    expect(sameBytes(readAll(dest), readAll(w.path))).toBe(true);
    expect(statSync(dest).mode & 0o777).toBe(0o600);
  });

  test('copyAndScan removes the copy on a failed check', async () => {
    const dir = dirs.make();
    const w = await writeV2(dir, payload(B + 3));
    flipByte(w.path, blockDataOffset(1));
    const dest = join(dir, 'copy.gbsnap');
    const r = await engine.copyAndScan(layoutOf(w.path, 2), dest, 0o644);
    expect(r).toMatchObject({ ok: false, check: 'block-crc', block: 1 });
    expect(() => statSync(dest)).toThrow();
  });

  test('copyAndScan refuses an existing destination and leaves it alone', async () => {
    const dir = dirs.make();
    const w = await writeV2(dir, payload(10));
    const dest = join(dir, 'copy.gbsnap');
    writeFileSync(dest, 'mine');
    await expect(engine.copyAndScan(layoutOf(w.path, 2), dest, 0o644)).rejects.toMatchObject({
      code: 'ErrIO',
      details: { errno: 'EEXIST' },
    });
    expect(readAll(dest)).toEqual(new Uint8Array(Buffer.from('mine')));
  });

  test('a missing file is ErrIO', async () => {
    await expect(
      engine.scanPayload({ path: '/nonexistent/x.gbsnap', version: 2, payloadOffset: 1024, fileSize: 2000 }),
    ).rejects.toMatchObject({ code: 'ErrIO', details: { path: '/nonexistent/x.gbsnap' } });
  });
});
