import { copyFileSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, test } from 'vitest';
import { createJsEngine } from '../../src/engines/js.js';
import { ErrIncompleteSnapshot } from '../../src/errors.js';
import { emptySnapshotHeader } from '../../src/records/codec.js';
import { buildHeaderArea, parseHeaderArea } from '../../src/snapshot/header.js';
import { encodeV2Tail, v2FileSize } from '../../src/snapshot/layout.js';
import { verifySnapshotFile } from '../../src/snapshot/verify.js';
import { createV2SnapshotWriter, writeV2SnapshotFile } from '../../src/snapshot/writer.js';
import {
  V2_BLOCK_SIZE,
  blockCrcOffset,
  blockDataOffset,
  expectIncomplete,
  extendBy,
  flipByte,
  patchBytes,
  readAll,
  sameBytes,
  sizeOf,
  tempDirs,
  truncateBy,
  writeV2,
} from '../helpers/snapshots.js';
import { payload } from '../helpers/payload.js';

const engine = createJsEngine();
const dirs = tempDirs();
const B = V2_BLOCK_SIZE;
const hex = (b: Uint8Array): string => Buffer.from(b).toString('hex');

/** The data bytes of a v2 file, read back block by block (CRCs and tail dropped). */
function dataOf(file: Uint8Array, payloadBytes: number): Uint8Array {
  const out = new Uint8Array(payloadBytes);
  for (let i = 0, at = 0; at < payloadBytes; i++) {
    const n = Math.min(B, payloadBytes - at);
    out.set(file.subarray(blockDataOffset(i), blockDataOffset(i) + n), at);
    at += n;
  }
  return out;
}

describe('v2 files written by the writer', () => {
  test.each([1, 2, B - 1, B, B + 1, 3 * B - 1, 3 * B, 3 * B + 1])('payload of %i bytes', async (size) => {
    const dir = dirs.make();
    const data = payload(size, size);
    const w = await writeV2(dir, data);
    const blocks = Math.ceil(size / B);
    expect(w.payloadBytes).toBe(size);
    expect(w.blocks).toBe(blocks);
    expect(w.fileSize).toBe(BigInt(1024 + size + 4 * blocks + 16));
    expect(v2FileSize(size)).toBe(1024 + size + 4 * blocks + 16);
    expect(sizeOf(w.path)).toBe(1024 + size + 4 * blocks + 16);

    const file = readAll(w.path);
    expect(sameBytes(dataOf(file, size), data)).toBe(true);
    const tail = file.subarray(file.length - 16);
    expect(new DataView(tail.buffer, tail.byteOffset).getBigUint64(0, true)).toBe(BigInt(size + 4 * blocks));
    expect(hex(tail.subarray(8))).toBe('3f5bcbf1faba819f');

    const r = await verifySnapshotFile(w.path, { engine, expectedFileSize: w.fileSize, expectedChecksum: w.payloadChecksum });
    expect(r).toMatchObject({ version: 2, payloadBytes: size, blocks, fileSize: w.fileSize });
    expect(r.payloadChecksum).toEqual(w.payloadChecksum);
    expect(r.header.payloadChecksum).toEqual(w.payloadChecksum);
    expect(r.checks).toEqual([
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
      'block-crc',
      'file-changed',
      'payload-checksum',
    ]);
  });

  test('an empty payload is refused by the writer, and nothing is left behind', async () => {
    const dir = dirs.make();
    const path = join(dir, 'empty.gbsnap');
    await expectIncomplete(writeV2SnapshotFile(path, new Uint8Array(0)), 'empty-payload');
    expect(() => sizeOf(path)).toThrow();
  });

  test("an empty v2 file (no block, tail total 0), as Dragonboat's block writer could make, is refused by the verifier", async () => {
    const dir = dirs.make();
    const path = join(dir, 'empty.gbsnap');
    // CRC32 of no block CRCs at all is 0.
    const area = buildHeaderArea({ ...emptySnapshotHeader(), version: 2n, payloadChecksum: new Uint8Array(4) });
    writeFileSync(path, Buffer.concat([area, encodeV2Tail(0)]));
    await expectIncomplete(verifySnapshotFile(path, { engine }), 'empty-payload');
  });

  test('streaming writes in odd chunks give the same file as one buffer', async () => {
    const dir = dirs.make();
    const data = payload(2 * B + 12345, 9);
    const opts = { unreliableTime: 42n, sessionSize: 16n, dataStoreSize: 7n, gitVersion: 'v4.0.0' };
    const a = await writeV2SnapshotFile(join(dir, 'a.gbsnap'), data, opts);
    async function* chunks(): AsyncGenerator<Uint8Array> {
      for (let at = 0, n = 1; at < data.length; at += n, n = n * 3 + 7) yield data.subarray(at, Math.min(data.length, at + n));
    }
    const b = await writeV2SnapshotFile(join(dir, 'b.gbsnap'), chunks(), opts);
    expect(sameBytes(readAll(b.path), readAll(a.path))).toBe(true);
    expect(a.header).toMatchObject({ unreliableTime: 42n, sessionSize: 16n, dataStoreSize: 7n, gitVersion: 'v4.0.0', version: 2n });
  });

  test('the writer never overwrites an existing file and cleans up after abort', async () => {
    const dir = dirs.make();
    const path = join(dir, 'x.gbsnap');
    writeFileSync(path, 'keep');
    await expect(writeV2SnapshotFile(path, payload(10))).rejects.toMatchObject({ code: 'ErrIO' });
    expect(readAll(path)).toEqual(new Uint8Array(Buffer.from('keep')));
    const other = join(dir, 'y.gbsnap');
    const w = await createV2SnapshotWriter(other);
    await w.write(payload(100));
    await w.abort();
    expect(() => sizeOf(other)).toThrow();
    await expect(w.write(payload(1))).rejects.toMatchObject({ code: 'ErrInvalidConfig' });
  });

  test('the header area is written like Dragonboat: CRC slot zero, header checksum set', async () => {
    const dir = dirs.make();
    const w = await writeV2(dir, payload(100));
    const p = parseHeaderArea(readAll(w.path).subarray(0, 1024));
    expect(p.headerAreaCrcSet).toBe(false);
    expect(p.headerChecksumPresent).toBe(true);
    expect(p.header.version).toBe(2n);
  });
});

describe('v2 corruption is detected and named', () => {
  const size = 3 * B + 1; // four blocks, the last holding one byte
  /** One valid four-block file, written once; each test corrupts its own copy. */
  let master: { path: string; fileSize: bigint; payloadChecksum: Uint8Array };
  let masterDir: string;
  beforeAll(async () => {
    masterDir = mkdtempSync(join(tmpdir(), 'nht-v2-master-'));
    master = await writeV2(masterDir, payload(size, 77));
  });
  afterAll(() => rmSync(masterDir, { recursive: true, force: true }));
  async function fresh(): Promise<{ path: string; fileSize: bigint; payloadChecksum: Uint8Array }> {
    const path = join(dirs.make(), 'c.gbsnap');
    copyFileSync(master.path, path);
    return { path, fileSize: master.fileSize, payloadChecksum: master.payloadChecksum };
  }
  const verify = (f: { path: string; fileSize: bigint; payloadChecksum: Uint8Array }): Promise<unknown> =>
    verifySnapshotFile(f.path, { engine, expectedFileSize: f.fileSize, expectedChecksum: f.payloadChecksum });

  test.each([0, 1, 2, 3])('block %i: its stored CRC', async (block) => {
    const f = await fresh();
    flipByte(f.path, blockCrcOffset(block, size) + 2, 0x10);
    const e = await expectIncomplete(verify(f), 'block-crc');
    expect(e.details).toMatchObject({ block, offset: blockCrcOffset(block, size), path: f.path });
    expect(e.details.expected).toMatch(/^[0-9a-f]{8}$/);
    expect(e.details.actual).toMatch(/^[0-9a-f]{8}$/);
    expect(e.details.expected).not.toBe(e.details.actual);
  });

  test.each([
    ['first', 0, 0],
    ['middle', 1, B / 2],
    ['last', 3, 0],
  ])('a data byte in the %s block', async (_name, block, within) => {
    const f = await fresh();
    flipByte(f.path, blockDataOffset(block) + within, 0x01);
    const e = await expectIncomplete(verify(f), 'block-crc');
    expect(e.details.block).toBe(block);
  });

  test('the tail magic', async () => {
    const f = await fresh();
    flipByte(f.path, Number(f.fileSize) - 1);
    const e = await expectIncomplete(verify(f), 'tail-magic');
    expect(e.details.offset).toBe(Number(f.fileSize) - 8);
  });

  test('the tail total', async () => {
    const f = await fresh();
    flipByte(f.path, Number(f.fileSize) - 16, 0x04);
    const e = await expectIncomplete(verify(f), 'tail-total');
    expect(e.details).toMatchObject({ offset: Number(f.fileSize) - 16, expected: size + 16, actual: (size + 16) ^ 0x04 });
  });

  test('truncated by one byte', async () => {
    const f = await fresh();
    truncateBy(f.path, 1);
    await expectIncomplete(verify(f), 'file-size');
    await expectIncomplete(verifySnapshotFile(f.path, { engine }), 'tail-magic');
  });

  test('extended by one byte', async () => {
    const f = await fresh();
    extendBy(f.path, 1);
    await expectIncomplete(verify(f), 'file-size');
    await expectIncomplete(verifySnapshotFile(f.path, { engine }), 'tail-magic');
  });

  test('file size vs the record', async () => {
    const f = await fresh();
    const e = await expectIncomplete(verifySnapshotFile(f.path, { engine, expectedFileSize: f.fileSize + 4n }), 'file-size');
    expect(e.details).toMatchObject({ expected: f.fileSize + 4n, actual: f.fileSize });
  });

  test('payload checksum vs the header (a well-formed header with another checksum)', async () => {
    const f = await fresh();
    const header = parseHeaderArea(readAll(f.path).subarray(0, 1024)).header;
    patchBytes(f.path, 0, buildHeaderArea({ ...header, payloadChecksum: Uint8Array.of(1, 2, 3, 4) }));
    const e = await expectIncomplete(verifySnapshotFile(f.path, { engine, expectedFileSize: f.fileSize }), 'payload-checksum');
    expect(e.details).toMatchObject({ expected: '01020304', actual: hex(f.payloadChecksum) });
  });

  test('record checksum vs the file', async () => {
    const f = await fresh();
    const e = await expectIncomplete(
      verifySnapshotFile(f.path, { engine, expectedChecksum: Uint8Array.of(0, 0, 0, 0) }),
      'record-checksum',
    );
    expect(e.details.expected).toBe('00000000');
  });

  test('two whole blocks swapped: every block CRC holds, the CRC of CRCs does not', async () => {
    const f = await fresh();
    const file = readAll(f.path);
    const b0 = file.slice(blockDataOffset(0), blockDataOffset(1));
    const b1 = file.slice(blockDataOffset(1), blockDataOffset(2));
    patchBytes(f.path, blockDataOffset(0), b1);
    patchBytes(f.path, blockDataOffset(1), b0);
    await expectIncomplete(verifySnapshotFile(f.path, { engine }), 'payload-checksum');
  });

  test('a last block cut to fewer than five bytes, with a consistent tail: block-layout', async () => {
    const f = await fresh();
    const file = readAll(f.path);
    // Keep three full blocks and 3 bytes of the fourth (its data is 1 byte + 4 CRC bytes).
    const region = 3 * (B + 4) + 3;
    writeFileSync(f.path, Buffer.concat([file.subarray(0, 1024 + region), encodeV2Tail(region)]));
    const e = await expectIncomplete(verifySnapshotFile(f.path, { engine }), 'block-layout');
    expect(e.details).toMatchObject({ block: 3, offset: blockDataOffset(3) });
  });

  test('the last block dropped whole, with a consistent tail: payload-checksum', async () => {
    const f = await fresh();
    const file = readAll(f.path);
    const region = 3 * (B + 4);
    writeFileSync(f.path, Buffer.concat([file.subarray(0, 1024 + region), encodeV2Tail(region)]));
    await expectIncomplete(verifySnapshotFile(f.path, { engine }), 'payload-checksum');
  });

  test('too short for a tail', async () => {
    const f = await fresh();
    writeFileSync(f.path, readAll(f.path).subarray(0, 1024 + 15));
    const e = await expectIncomplete(verifySnapshotFile(f.path, { engine }), 'tail-size');
    expect(e.details.offset).toBe(1024);
  });

  test('errors are ErrIncompleteSnapshot with the path', async () => {
    const f = await fresh();
    flipByte(f.path, blockDataOffset(2));
    const err = await verify(f).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(ErrIncompleteSnapshot);
    expect((err as ErrIncompleteSnapshot).code).toBe('ErrIncompleteSnapshot');
    expect((err as ErrIncompleteSnapshot).message).toContain(f.path);
  });
});
