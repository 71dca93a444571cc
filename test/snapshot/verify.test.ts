import { mkdtempSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, test } from 'vitest';
import { createJsEngine } from '../../src/engines/js.js';
import { ErrAborted } from '../../src/errors.js';
import { encodeV2Tail } from '../../src/snapshot/layout.js';
import { SCAN_PIECE_SIZE } from '../../src/snapshot/scan.js';
import { copySnapshotFile, precheckSnapshotFile, readHeaderArea, verifySnapshotFile } from '../../src/snapshot/verify.js';
import {
  GOLDEN_V1_PATH,
  V2_BLOCK_SIZE,
  V2_FULL_BLOCK_SIZE,
  blockDataOffset,
  copyGolden,
  expectIncomplete,
  flipByte,
  readAll,
  sameBytes,
  tempDirs,
  writeV1,
  writeV2,
} from '../helpers/snapshots.js';
import { payload } from '../helpers/payload.js';

const engine = createJsEngine();
const dirs = tempDirs();
const B = V2_BLOCK_SIZE;

describe('v1 files', () => {
  test('our v1 writer produces files that verify, like the golden one', async () => {
    const dir = dirs.make();
    const data = payload(B + 99);
    const w = await writeV1(dir, data, 'v1.gbsnap', { sessionSize: 16n, dataStoreSize: BigInt(B + 83) });
    expect(w.fileSize).toBe(BigInt(1024 + B + 99));
    const r = await verifySnapshotFile(w.path, { engine, expectedFileSize: w.fileSize, expectedChecksum: w.payloadChecksum });
    expect(r).toMatchObject({ version: 1, payloadBytes: B + 99, blocks: 0 });
    expect(r.payloadChecksum).toEqual(new Uint8Array(Buffer.from(engine.crc32(data).toString(16).padStart(8, '0'), 'hex')));
    expect(sameBytes(readAll(w.path).subarray(1024), data)).toBe(true);
  });

  test('the v1 writer refuses an empty payload', async () => {
    await expectIncomplete(writeV1(dirs.make(), new Uint8Array(0)), 'empty-payload');
  });
});

describe('pieces and blocks across piece boundaries', () => {
  // Nine blocks: the scanner reads them in three pieces of up to four blocks.
  const size = 8 * B + 100;
  let dir: string;
  let master: Awaited<ReturnType<typeof writeV2>>;
  beforeAll(async () => {
    expect(SCAN_PIECE_SIZE).toBe(4 * V2_FULL_BLOCK_SIZE);
    dir = mkdtempSync(join(tmpdir(), 'nht-pieces-'));
    master = await writeV2(dir, payload(size, 5));
  });
  afterAll(() => rmSync(dir, { recursive: true, force: true }));

  test('verifies with progress from 0 (before the first byte, so a display times the whole scan) up to the file size', async () => {
    const seen: [number, number][] = [];
    const r = await verifySnapshotFile(master.path, { engine, onProgress: (d, t) => seen.push([d, t]) });
    expect(r.blocks).toBe(9);
    expect(seen[0]).toEqual([0, Number(master.fileSize)]);
    expect(seen.length).toBeGreaterThanOrEqual(3);
    for (let i = 1; i < seen.length; i++) expect(seen[i]![0]).toBeGreaterThanOrEqual(seen[i - 1]![0]);
    expect(seen.every(([, t]) => t === Number(master.fileSize))).toBe(true);
    expect(seen.at(-1)![0]).toBe(Number(master.fileSize));
  });

  test.each([3, 4, 7, 8])('a bad byte in block %i is reported in that block', async (block) => {
    const copy = join(dirs.make(), 'c.gbsnap');
    writeFileSync(copy, readAll(master.path));
    flipByte(copy, blockDataOffset(block) + (block === 8 ? 99 : B - 1));
    const e = await expectIncomplete(verifySnapshotFile(copy, { engine }), 'block-crc');
    expect(e.details.block).toBe(block);
  });

  test('an abort between pieces stops the scan with ErrAborted', async () => {
    const ac = new AbortController();
    const p = verifySnapshotFile(master.path, { engine, signal: ac.signal, onProgress: (d) => d > 0 && ac.abort(new Error('stop')) });
    await expect(p).rejects.toBeInstanceOf(ErrAborted);
  });

  test('an aborted signal stops before anything is read', async () => {
    const ac = new AbortController();
    ac.abort();
    await expect(verifySnapshotFile(master.path, { engine, signal: ac.signal })).rejects.toBeInstanceOf(ErrAborted);
  });

  test('copySnapshotFile: an abort mid-copy removes the copy', async () => {
    const dest = join(dirs.make(), 'copy.gbsnap');
    const ac = new AbortController();
    const p = copySnapshotFile(master.path, dest, { engine, mode: 0o644, signal: ac.signal, onProgress: (d) => d > 0 && ac.abort() });
    await expect(p).rejects.toBeInstanceOf(ErrAborted);
    expect(() => statSync(dest)).toThrow();
  });
});

describe('copySnapshotFile', () => {
  test('copies and verifies in one pass; the copy is identical, with the mode asked for', async () => {
    const dir = dirs.make();
    const w = await writeV2(dir, payload(B + 17));
    const target = join(dir, 'copy.gbsnap');
    const r = await copySnapshotFile(w.path, target, {
      engine,
      mode: 0o640,
      expectedFileSize: w.fileSize,
      expectedChecksum: w.payloadChecksum,
    });
    expect(r.copiedTo).toBe(target);
    expect(r.blocks).toBe(2);
    expect(sameBytes(readAll(target), readAll(w.path))).toBe(true);
    expect(statSync(target).mode & 0o777).toBe(0o640);
  });

  test('the golden file copies and verifies', async () => {
    const dest = join(dirs.make(), 'g.gbsnap');
    const r = await copySnapshotFile(GOLDEN_V1_PATH, dest, { engine, mode: 0o600 });
    expect(r.payloadBytes).toBe(184);
    expect(sameBytes(readAll(dest), readAll(GOLDEN_V1_PATH))).toBe(true);
  });

  test('a header failure creates no copy', async () => {
    const dir = dirs.make();
    const src = copyGolden(dir);
    flipByte(src, 20);
    const dest = join(dir, 'copy.gbsnap');
    await expectIncomplete(copySnapshotFile(src, dest, { engine, mode: 0o644 }), ['header-checksum', 'header-decode']);
    expect(() => statSync(dest)).toThrow();
  });

  test('a payload checksum failure after the copy removes it', async () => {
    const dir = dirs.make();
    const src = copyGolden(dir);
    flipByte(src, 1100);
    const dest = join(dir, 'copy.gbsnap');
    await expectIncomplete(copySnapshotFile(src, dest, { engine, mode: 0o644 }), 'v1-payload-checksum');
    expect(() => statSync(dest)).toThrow();
  });

  test('a block failure removes the copy', async () => {
    const dir = dirs.make();
    const w = await writeV2(dir, payload(B + 17));
    flipByte(w.path, blockDataOffset(1) + 3);
    const dest = join(dir, 'copy.gbsnap');
    await expectIncomplete(copySnapshotFile(w.path, dest, { engine, mode: 0o644 }), 'block-crc');
    expect(() => statSync(dest)).toThrow();
  });

  test('record checks fail before anything is copied', async () => {
    const dir = dirs.make();
    const w = await writeV2(dir, payload(100));
    const dest = join(dir, 'copy.gbsnap');
    await expectIncomplete(copySnapshotFile(w.path, dest, { engine, mode: 0o644, expectedFileSize: 1n }), 'file-size');
    expect(() => statSync(dest)).toThrow();
  });
});

describe('precheckSnapshotFile: header, sizes and tail, no block read', () => {
  test('a v2 file: its shape from the tail', async () => {
    const w = await writeV2(dirs.make(), payload(2 * B + 3));
    const p = await precheckSnapshotFile(w.path, { expectedFileSize: w.fileSize, expectedChecksum: w.payloadChecksum });
    expect(p).toMatchObject({
      path: w.path,
      fileSize: w.fileSize,
      version: 2,
      headerLength: expect.any(Number),
      payloadBytes: 2 * B + 3,
      blocks: 3,
    });
    expect(p.checks).toEqual([
      'header-length',
      'header-area-crc',
      'header-decode',
      'header-checksum',
      'checksum-type',
      'version',
      'header-padding',
      'file-size',
      'record-checksum',
      'empty-payload',
      'tail-size',
      'tail-magic',
      'tail-total',
      'block-layout',
    ]);
  });

  test('the golden v1 file', async () => {
    const p = await precheckSnapshotFile(GOLDEN_V1_PATH, { expectedFileSize: 1208n });
    expect(p).toMatchObject({ version: 1, payloadBytes: 184, blocks: 0, fileSize: 1208n });
  });

  test('a corrupt block passes the precheck (the copy catches it)', async () => {
    const w = await writeV2(dirs.make(), payload(B + 3));
    flipByte(w.path, blockDataOffset(0) + 5);
    await expect(precheckSnapshotFile(w.path)).resolves.toMatchObject({ blocks: 2 });
  });

  test('tail failures are named as the engines name them', async () => {
    const w = await writeV2(dirs.make(), payload(B + 3));
    const size = Number(w.fileSize);
    flipByte(w.path, size - 1);
    const e = await expectIncomplete(precheckSnapshotFile(w.path), 'tail-magic');
    expect(e.details.offset).toBe(size - 8);
    flipByte(w.path, size - 1);
    flipByte(w.path, size - 16, 0x01);
    await expectIncomplete(precheckSnapshotFile(w.path), 'tail-total');
    const cut = join(dirs.make(), 'cut.gbsnap');
    const region = B + 4 + 2;
    writeFileSync(cut, Buffer.concat([readAll(w.path).subarray(0, 1024 + region), encodeV2Tail(region)]));
    await expectIncomplete(precheckSnapshotFile(cut), 'block-layout');
    writeFileSync(cut, readAll(w.path).subarray(0, 1030));
    await expectIncomplete(precheckSnapshotFile(cut), 'tail-size');
  });

  test('record and header failures', async () => {
    const w = await writeV2(dirs.make(), payload(10));
    await expectIncomplete(precheckSnapshotFile(w.path, { expectedFileSize: w.fileSize - 1n }), 'file-size');
    await expectIncomplete(precheckSnapshotFile(w.path, { expectedChecksum: new Uint8Array(4) }), 'record-checksum');
    flipByte(w.path, 12);
    await expectIncomplete(precheckSnapshotFile(w.path), ['header-checksum', 'header-decode']);
  });
});

describe('other inputs', () => {
  test('a directory is not a snapshot file', async () => {
    await expectIncomplete(verifySnapshotFile(dirs.make(), { engine }), 'file-type');
  });

  test('a missing file is ErrIO naming the path', async () => {
    await expect(verifySnapshotFile('/nonexistent/snap.gbsnap', { engine })).rejects.toMatchObject({
      code: 'ErrIO',
      details: { path: '/nonexistent/snap.gbsnap' },
    });
  });

  test('relative paths are resolved in the report', async () => {
    const r = await verifySnapshotFile(GOLDEN_V1_PATH, { engine });
    expect(r.path.startsWith('/')).toBe(true);
  });

  test('readHeaderArea reads only the header', async () => {
    const p = await readHeaderArea(GOLDEN_V1_PATH);
    expect(p.headerLength).toBe(33);
    const empty = join(dirs.make(), 'empty');
    writeFileSync(empty, '');
    await expectIncomplete(readHeaderArea(empty), 'header-length');
  });
});
