import { readFileSync } from 'node:fs';
import { crc32 } from 'node:zlib';
import { describe, expect, test } from 'vitest';
import { ErrIncompleteSnapshot, ErrInvalidConfig } from '../../src/errors.js';
import { emptySnapshotHeader, encodeSnapshotHeader } from '../../src/records/codec.js';
import { ChecksumType, CompressionType } from '../../src/records/types.js';
import { scanFields } from '../../src/records/wire.js';
import { buildHeaderArea, headerChecksumOf, parseHeaderArea } from '../../src/snapshot/header.js';
import { GOLDEN_V1_PATH, expectCoded } from '../helpers/snapshots.js';

const hex = (b: Uint8Array): string => Buffer.from(b).toString('hex');
const golden = (): Uint8Array => new Uint8Array(readFileSync(GOLDEN_V1_PATH)).subarray(0, 1024).slice();
const be = (n: number): Uint8Array => Uint8Array.of(n >>> 24, (n >>> 16) & 0xff, (n >>> 8) & 0xff, n & 0xff);

/** A header area around raw header bytes, optionally with the header CRC slot set. */
function areaOf(raw: Uint8Array, crcSlot?: Uint8Array): Uint8Array {
  const a = new Uint8Array(1024);
  new DataView(a.buffer).setBigUint64(0, BigInt(raw.length), true);
  a.set(raw, 8);
  if (crcSlot) a.set(crcSlot, 8 + raw.length);
  return a;
}

describe('parseHeaderArea on the golden file', () => {
  test('gives the documented facts', () => {
    const p = parseHeaderArea(golden(), 'g');
    expect(p.headerLength).toBe(33);
    expect(p.version).toBe(1);
    expect(p.headerChecksumPresent).toBe(true);
    expect(p.headerAreaCrcSet).toBe(false);
    expect(hex(p.rawHeader)).toBe(hex(golden().subarray(8, 41)));
    expect(p.header).toMatchObject({
      sessionSize: 173n,
      dataStoreSize: 11n,
      gitVersion: '',
      checksumType: ChecksumType.CRC32IEEE,
      version: 1n,
    });
    expect(hex(p.header.headerChecksum)).toBe('99f2c3e2');
    expect(hex(p.header.payloadChecksum)).toBe('eb500eb3');
    expect(p.checks).toEqual([
      'header-length',
      'header-area-crc',
      'header-decode',
      'header-checksum',
      'checksum-type',
      'version',
      'header-padding',
    ]);
  });

  test('header_checksum is the CRC of the raw header without field 5 (no re-encoding)', () => {
    const raw = golden().subarray(8, 41);
    expect(headerChecksumOf(raw)).toBe(0x99f2c3e2);
    // Re-encoding would add compression_type and give another CRC: splicing matters.
    const reencoded = encodeSnapshotHeader({ ...parseHeaderArea(golden()).header, headerChecksum: new Uint8Array(0) });
    expect(crc32(reencoded)).not.toBe(0x99f2c3e2);
  });

  test('a set header-area CRC (big-endian, as Go hash.Sum) is verified', () => {
    const raw = golden().subarray(8, 41);
    const ok = areaOf(raw, be(crc32(raw)));
    expect(parseHeaderArea(ok).headerAreaCrcSet).toBe(true);
    const le = be(crc32(raw)).reverse();
    expectCoded(() => parseHeaderArea(areaOf(raw, le)), ErrIncompleteSnapshot, 'header-area-crc');
  });
});

describe('parseHeaderArea checks', () => {
  const raw = (over: Partial<Parameters<typeof encodeSnapshotHeader>[0]> = {}): Uint8Array =>
    encodeSnapshotHeader({ ...emptySnapshotHeader(), version: 2n, payloadChecksum: Uint8Array.of(1, 2, 3, 4), ...over });

  test('header-length: short file, zero, beyond the CRC slot', () => {
    expectCoded(() => parseHeaderArea(golden().subarray(0, 1023)), ErrIncompleteSnapshot, 'header-length');
    expectCoded(() => parseHeaderArea(new Uint8Array(1024)), ErrIncompleteSnapshot, 'header-length');
    const a = golden();
    new DataView(a.buffer).setBigUint64(0, 1013n, true);
    expectCoded(() => parseHeaderArea(a), ErrIncompleteSnapshot, 'header-length');
    new DataView(a.buffer).setBigUint64(0, 2n ** 63n, true);
    expectCoded(() => parseHeaderArea(a), ErrIncompleteSnapshot, 'header-length');
  });

  test('a header of exactly 1012 bytes fits; 1013 does not', () => {
    const h = { ...emptySnapshotHeader(), version: 2n };
    const n0 = parseHeaderArea(buildHeaderArea(h)).headerLength;
    // git_version's length prefix grows to two bytes past 127 characters, hence -1.
    const fits = buildHeaderArea({ ...h, gitVersion: 'x'.repeat(1012 - n0 - 1) });
    expect(parseHeaderArea(fits).headerLength).toBe(1012);
    expectCoded(() => buildHeaderArea({ ...h, gitVersion: 'x'.repeat(1013 - n0 - 1) }), ErrInvalidConfig);
  });

  test('header-decode carries the offset in the file', () => {
    const e = expectCoded(
      () => parseHeaderArea(areaOf(Uint8Array.of(0x08, 0x01, 0x0a, 0x01, 0x00))),
      ErrIncompleteSnapshot,
      'header-decode',
    );
    expect(e.details.offset).toBe(10);
  });

  test('checksum-type and version', () => {
    const area = (over: Parameters<typeof raw>[0]): Uint8Array =>
      buildHeaderArea({ ...emptySnapshotHeader(), version: 2n, payloadChecksum: Uint8Array.of(1, 2, 3, 4), ...over });
    expectCoded(() => parseHeaderArea(area({ checksumType: ChecksumType.HIGHWAY })), ErrIncompleteSnapshot, 'checksum-type');
    expectCoded(() => parseHeaderArea(area({ version: 3n })), ErrIncompleteSnapshot, 'version');
    expectCoded(() => parseHeaderArea(area({ version: 0n })), ErrIncompleteSnapshot, 'version');
    expect(parseHeaderArea(area({ version: 1n })).version).toBe(1);
  });

  test('a header without header_checksum is refused', () => {
    expectCoded(() => parseHeaderArea(areaOf(raw())), ErrIncompleteSnapshot, 'header-checksum');
  });

  test('a header_checksum that does not match', () => {
    const good = buildHeaderArea({ ...emptySnapshotHeader(), version: 2n, payloadChecksum: Uint8Array.of(1, 2, 3, 4) });
    expect(parseHeaderArea(good).version).toBe(2);
    const bad = good.slice();
    bad[8 + 1]! ^= 1; // session_size 0 -> 1
    expectCoded(() => parseHeaderArea(bad), ErrIncompleteSnapshot, 'header-checksum');
  });

  test('header-padding: bytes after the CRC slot must be zero', () => {
    const a = buildHeaderArea({ ...emptySnapshotHeader(), version: 2n });
    a[1023] = 1;
    const e = expectCoded(() => parseHeaderArea(a), ErrIncompleteSnapshot, 'header-padding');
    expect(e.details.offset).toBe(1023);
  });
});

describe('buildHeaderArea', () => {
  test('writes a header that parses back, with the checksum over the header without field 5', () => {
    const h = {
      ...emptySnapshotHeader(),
      unreliableTime: 1_700_000_000_000_000_000n,
      gitVersion: 'abc',
      version: 2n,
      payloadChecksum: Uint8Array.of(9, 8, 7, 6),
      compressionType: CompressionType.Snappy,
    };
    const area = buildHeaderArea(h);
    expect(area.length).toBe(1024);
    const p = parseHeaderArea(area);
    expect(p.headerAreaCrcSet).toBe(false);
    expect(p.headerChecksumPresent).toBe(true);
    expect(p.header).toEqual({ ...h, headerChecksum: p.header.headerChecksum });
    // Like Dragonboat: marshal without header_checksum (an empty bytes field is not emitted), CRC that.
    const without = encodeSnapshotHeader({ ...h, headerChecksum: new Uint8Array(0) });
    expect(scanFields(without, 'SnapshotHeader').some((f) => f.fieldNumber === 5)).toBe(false);
    expect(hex(p.header.headerChecksum)).toBe(hex(be(crc32(without))));
    expect(hex(p.rawHeader)).toBe(hex(encodeSnapshotHeader(p.header)));
  });

  test('refuses a header that does not fit', () => {
    expectCoded(() => buildHeaderArea({ ...emptySnapshotHeader(), version: 2n, gitVersion: 'x'.repeat(1000) }), ErrInvalidConfig);
  });
});
