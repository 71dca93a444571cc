import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, test } from 'vitest';
import { createJsEngine } from '../../src/engines/js.js';
import { verifySnapshotFile } from '../../src/snapshot/verify.js';
import { GOLDEN_V1_PATH, expectIncomplete, readAll, tempDirs } from '../helpers/snapshots.js';

const engine = createJsEngine();
const dirs = tempDirs();
const hex = (b: Uint8Array): string => Buffer.from(b).toString('hex');

describe('the golden Dragonboat v1 file', () => {
  test('verifies and reports the documented facts', async () => {
    const r = await verifySnapshotFile(GOLDEN_V1_PATH, {
      engine,
      expectedFileSize: 1208n,
      expectedChecksum: Uint8Array.of(0xeb, 0x50, 0x0e, 0xb3),
    });
    expect(r.path).toBe(GOLDEN_V1_PATH);
    expect(r.fileSize).toBe(1208n);
    expect(r.version).toBe(1);
    expect(r.headerLength).toBe(33);
    expect(r.payloadBytes).toBe(184);
    expect(r.blocks).toBe(0);
    expect(hex(r.payloadChecksum)).toBe('eb500eb3');
    expect(r.header).toMatchObject({ sessionSize: 173n, dataStoreSize: 11n, gitVersion: '', version: 1n, checksumType: 0 });
    expect(hex(r.header.headerChecksum)).toBe('99f2c3e2');
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
      'file-changed',
      'v1-payload-checksum',
    ]);
  });

  test('its payload has the documented session table and data', () => {
    const p = readAll(GOLDEN_V1_PATH).subarray(1024);
    const view = new DataView(p.buffer, p.byteOffset, p.byteLength);
    expect(view.getBigUint64(0, true)).toBe(4096n);
    expect(view.getBigUint64(8, true)).toBe(2n);
    let at = 16;
    const ids: string[] = [];
    for (let i = 0; i < 2; i++) {
      const len = Number(view.getBigUint64(at, true));
      const json = Buffer.from(p.subarray(at + 8, at + 8 + len)).toString('utf8');
      ids.push(/"ClientID":(\d+)/.exec(json)![1]!);
      at += 8 + len;
    }
    expect(ids).toEqual(['15771809973567514624', '6760681031265190231']);
    expect(Buffer.from(p.subarray(at)).toString('latin1')).toBe('random-data');
    expect(at + 11).toBe(184);
  });

  test('record mismatches are named', async () => {
    await expectIncomplete(verifySnapshotFile(GOLDEN_V1_PATH, { engine, expectedFileSize: 1209n }), 'file-size');
    await expectIncomplete(
      verifySnapshotFile(GOLDEN_V1_PATH, { engine, expectedChecksum: Uint8Array.of(0xeb, 0x50, 0x0e, 0xb4) }),
      'record-checksum',
    );
  });

  /** The checks a flipped byte at `offset` may fail, by region of the file. */
  function expectedChecks(offset: number): string[] {
    if (offset < 8) return ['header-length', 'header-decode', 'header-area-crc'];
    if (offset < 8 + 33) return ['header-decode', 'header-checksum'];
    if (offset < 8 + 33 + 4) return ['header-area-crc'];
    return ['v1-payload-checksum'];
  }

  test.each([0xff, 0x01, 0x80])('flipping any byte of the header or payload (xor %i) fails with the right check', async (mask) => {
    const dir = dirs.make();
    const original = readAll(GOLDEN_V1_PATH);
    const offsets = [...Array.from({ length: 8 + 33 + 4 }, (_, i) => i), ...Array.from({ length: 184 }, (_, i) => 1024 + i)];
    const seen = new Set<string>();
    for (const offset of offsets) {
      const bad = original.slice();
      bad[offset]! ^= mask;
      const path = join(dir, `flip-${offset}.gbsnap`);
      writeFileSync(path, bad);
      const e = await expectIncomplete(verifySnapshotFile(path, { engine }), expectedChecks(offset));
      expect(e.details.path).toBe(path);
      seen.add(e.details.check as string);
    }
    expect(seen).toContain('header-checksum');
    expect(seen).toContain('header-area-crc');
    expect(seen).toContain('v1-payload-checksum');
  });

  test('a flipped padding byte of the header area is caught too', async () => {
    const dir = dirs.make();
    const bad = readAll(GOLDEN_V1_PATH);
    bad[500]! ^= 1;
    const path = join(dir, 'pad.gbsnap');
    writeFileSync(path, bad);
    const e = await expectIncomplete(verifySnapshotFile(path, { engine }), 'header-padding');
    expect(e.details.offset).toBe(500);
  });

  test('truncated into the header area', async () => {
    const dir = dirs.make();
    const path = join(dir, 'short.gbsnap');
    writeFileSync(path, readAll(GOLDEN_V1_PATH).subarray(0, 1000));
    await expectIncomplete(verifySnapshotFile(path, { engine }), 'header-length');
    writeFileSync(path, readAll(GOLDEN_V1_PATH).subarray(0, 1024));
    await expectIncomplete(verifySnapshotFile(path, { engine }), 'empty-payload');
    writeFileSync(path, readAll(GOLDEN_V1_PATH).subarray(0, 1207));
    await expectIncomplete(verifySnapshotFile(path, { engine }), 'v1-payload-checksum');
  });
});
