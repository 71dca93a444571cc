import { describe, expect, it } from 'vitest';
import { crc32c, crc32cUpdate, maskCrc, unmaskCrc } from '../../src/pebble/crc32c.js';
import { Cursor, encodeUvarint } from '../../src/pebble/varint.js';
import { Kind, compareInternalKeys, decodeTrailer, isRangeDelSentinel, makeInternalKey } from '../../src/pebble/internal-key.js';
import { decodeBatch, encodeBatch } from '../../src/pebble/batch.js';
import { decodeVersionEdit, encodeVersionEdit } from '../../src/pebble/version-edit.js';
import { parseOptionsFile } from '../../src/pebble/options-file.js';
import { decodeFooter } from '../../src/pebble/sstable-footer.js';
import { decodeBlock } from '../../src/pebble/sstable-block.js';
import { ErrCorruptLogStore, ErrUnsupportedLogStore } from '../../src/errors.js';
import { clipToTable, CoverageCursor, fragment } from '../../src/logdb/pebble/tombstones.js';
import { patternBytes } from '../helpers/payload.js';

const W = { path: 'test-file' };
const b = (s: string): Uint8Array => new Uint8Array(Buffer.from(s, 'latin1'));

function bitwiseCrc(data: Uint8Array): number {
  let c = 0xffffffff;
  for (const x of data) {
    c ^= x;
    for (let k = 0; k < 8; k++) c = c & 1 ? (c >>> 1) ^ 0x82f63b78 : c >>> 1;
  }
  return ~c >>> 0;
}

describe('CRC-32C', () => {
  it('standard check value and agreement with a bitwise reference at every length and alignment', () => {
    expect(crc32c(b('123456789'))).toBe(0xe3069283);
    expect(crc32c(new Uint8Array(32))).toBe(0x8a9136aa);
    const data = patternBytes(300, 131, 7);
    for (let start = 0; start < 9; start++) {
      for (let end = start; end <= data.length; end += 7) expect(crc32c(data, start, end)).toBe(bitwiseCrc(data.subarray(start, end)));
    }
    expect(crc32cUpdate(crc32c(data, 0, 100), data, 100, 300)).toBe(crc32c(data));
  });
  it('mask and unmask are inverse', () => {
    for (const c of [0, 1, 0xffffffff, 0xe3069283, 0x80000000]) expect(unmaskCrc(maskCrc(c))).toBe(c);
    expect(maskCrc(0)).toBe(0xa282ead8);
  });
});

describe('varints', () => {
  it('round-trip and refusals', () => {
    for (const v of [0, 1, 127, 128, 300, 2 ** 32, Number.MAX_SAFE_INTEGER]) {
      const c = new Cursor(encodeUvarint(v));
      expect(c.uvarint()).toBe(v);
      expect(c.remaining).toBe(0);
    }
    expect(new Cursor(Uint8Array.of(0x80)).uvarint()).toBe(-1); // truncated
    expect(new Cursor(Uint8Array.of(0x80, 0x80, 0x80, 0x80, 0x80, 0x01)).uvarint32()).toBe(-1); // too long for 32 bits
    expect(new Cursor(Uint8Array.of(0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0x7f)).uvarint()).toBe(-1); // 2^63-1 > 2^53
  });
});

describe('internal keys', () => {
  it('trailer layout and order (user key ascending, newer first)', () => {
    const k = makeInternalKey(b('a'), 584, Kind.RangeDelete);
    expect(Buffer.from(k).toString('hex')).toBe('610f48020000000000');
    expect(decodeTrailer(k)).toEqual({ kind: 15, seq: 584, maxSeq: false });
    const sentinel = Uint8Array.of(0x61, 0x0f, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff);
    expect(isRangeDelSentinel(sentinel)).toBe(true);
    expect(isRangeDelSentinel(k)).toBe(false);
    expect(compareInternalKeys(makeInternalKey(b('a'), 9, 1), makeInternalKey(b('a'), 3, 1))).toBeLessThan(0);
    expect(compareInternalKeys(makeInternalKey(b('a'), 3, 1), makeInternalKey(b('b'), 9, 1))).toBeLessThan(0);
    expect(compareInternalKeys(makeInternalKey(b('a'), 3, 1), makeInternalKey(b('a'), 3, 0))).toBeLessThan(0);
  });
});

describe('batches', () => {
  it('round-trip; kinds other than DEL/SET/RANGEDEL and bad counts are refused', () => {
    const ops = [
      { kind: Kind.RangeDelete, key: b('a'), value: b('c') },
      { kind: Kind.Delete, key: b('d') },
      { kind: Kind.Set, key: b('e'), value: new Uint8Array(200) },
    ] as const;
    const enc = encodeBatch(1846, ops);
    const dec = decodeBatch(enc, W);
    expect(dec.seq).toBe(1846);
    expect(dec.count).toBe(3);
    expect(encodeBatch(dec.seq, dec.ops)).toEqual(enc);
    const merge = encodeBatch(1, [{ kind: Kind.Set, key: b('k'), value: b('v') }]);
    merge[12] = Kind.Merge;
    expect(() => decodeBatch(merge, W)).toThrow(ErrUnsupportedLogStore);
    const bad = encodeBatch(1, [{ kind: Kind.Set, key: b('k'), value: b('v') }]);
    bad[12] = 9;
    expect(() => decodeBatch(bad, W)).toThrow(ErrCorruptLogStore);
    const count = encodeBatch(1, [{ kind: Kind.Delete, key: b('k') }]);
    count[8] = 2;
    expect(() => decodeBatch(count, W)).toThrow(/inconsistent batch count/);
    expect(() => decodeBatch(new Uint8Array(11), W)).toThrow(ErrCorruptLogStore);
    expect(() => decodeBatch(encodeBatch(1, [{ kind: Kind.Set, key: b('k'), value: b('v') }]).subarray(0, 15), W)).toThrow(
      ErrCorruptLogStore,
    );
  });
});

describe('version edits', () => {
  it('the minimal edit of a new store, and refusals', () => {
    const e = encodeVersionEdit({ comparator: 'leveldb.BytewiseComparator', minUnflushedLogNum: 2, nextFileNum: 3, lastSeqNum: 0 });
    expect(Buffer.from(e).toString('hex')).toBe(`011a${Buffer.from('leveldb.BytewiseComparator').toString('hex')}020203030400`);
    expect(decodeVersionEdit(e, W)).toMatchObject({
      comparator: 'leveldb.BytewiseComparator',
      minUnflushedLogNum: 2,
      nextFileNum: 3,
      lastSeqNum: 0,
    });
    expect(() => decodeVersionEdit(Uint8Array.of(104), W)).toThrow(ErrUnsupportedLogStore);
    expect(() => decodeVersionEdit(Uint8Array.of(200, 1), W)).toThrow(ErrUnsupportedLogStore);
    expect(() => decodeVersionEdit(Uint8Array.of(8), W)).toThrow(ErrCorruptLogStore);
    expect(() => decodeVersionEdit(Uint8Array.of(6, 7, 1), W)).toThrow(/level 7/);
    expect(() => decodeVersionEdit(Uint8Array.of(2), W)).toThrow(ErrCorruptLogStore);
  });
});

describe('sstable pieces', () => {
  it('footer magics and versions', () => {
    const tail = new Uint8Array(53);
    tail.set([0xf0, 0x9f, 0xaa, 0xb3, 0xf0, 0x9f, 0xaa, 0xb3], 45);
    expect(() => decodeFooter(tail, 100, W)).toThrow(
      expect.objectContaining({ details: expect.objectContaining({ check: 'table-magic-pebble' }) }),
    );
    tail.set([0xf7, 0xcf, 0xf4, 0x85, 0xb7, 0x41, 0xe2, 0x88], 45);
    tail.set([3, 0, 0, 0], 41);
    expect(() => decodeFooter(tail, 100, W)).toThrow(
      expect.objectContaining({ details: expect.objectContaining({ check: 'table-format-version' }) }),
    );
    tail.set([2, 0, 0, 0], 41);
    tail[0] = 3;
    expect(() => decodeFooter(tail, 100, W)).toThrow(
      expect.objectContaining({ details: expect.objectContaining({ check: 'checksum-type' }) }),
    );
    tail[0] = 1;
    tail.set([10, 5, 20, 5], 1);
    expect(decodeFooter(tail, 100, W)).toMatchObject({
      format: 'rocksdb-v2',
      metaindex: { offset: 10, length: 5 },
      index: { offset: 20, length: 5 },
    });
    tail[45] = 0;
    expect(() => decodeFooter(tail, 100, W)).toThrow(ErrCorruptLogStore);
  });
  it('an empty block and malformed restart arrays', () => {
    expect(decodeBlock(Uint8Array.of(0, 0, 0, 0, 1, 0, 0, 0), W, { internalKeys: true }).keys).toEqual([]);
    expect(() => decodeBlock(Uint8Array.of(0, 0, 0, 0), W, { internalKeys: true })).toThrow(ErrCorruptLogStore);
    expect(() => decodeBlock(Uint8Array.of(0, 0, 0, 0, 9, 0, 0, 0), W, { internalKeys: true })).toThrow(ErrCorruptLogStore);
  });
});

describe('OPTIONS', () => {
  const good =
    '[Version]\n  pebble_version=0.1\n\n[Options]\n  comparer=leveldb.BytewiseComparator\n  format_major_version=1\n  merger=pebble.concatenate\n  strict_wal_tail=true\n  table_property_collectors=[]\n\n[Level "0"]\n  compression=NoCompression\n  filter_policy=none\n';
  it("accepts Dragonboat's configuration and reads strict_wal_tail", () => {
    expect(parseOptionsFile(good, W).strictWalTail).toBe(true);
  });
  for (const [what, text, check] of [
    ['another format', good.replace('format_major_version=1', 'format_major_version=2'), 'format-major-version'],
    ['compression', good.replace('=NoCompression', '=Snappy'), 'compression'],
    ['a filter', good.replace('filter_policy=none', 'filter_policy=rocksdb.BuiltinBloomFilter'), 'filter'],
    ['RocksDB', '[Version]\n  rocksdb_version=6.2.1\n[DBOptions]\n  x=1\n', 'options-section'],
    ['another comparer', good.replace('leveldb.BytewiseComparator', 'cockroach_comparator'), 'comparator'],
    ['an unknown key', good.replace('[Options]\n', '[Options]\n  surprise=1\n'), 'options-key'],
  ] as const) {
    it(`refuses ${what}`, () => {
      expect(() => parseOptionsFile(text, W)).toThrow(
        expect.objectContaining({ code: 'ErrUnsupportedLogStore', details: expect.objectContaining({ check }) }),
      );
    });
  }
});

describe('range tombstones', () => {
  it('fragments overlapping tombstones with their highest sequence number and clips to table bounds', () => {
    const frags = fragment([
      { start: b('b'), end: b('f'), seq: 5 },
      { start: b('d'), end: b('h'), seq: 9 },
      { start: b('x'), end: b('x'), seq: 7 },
    ]);
    expect(frags.map((f) => [Buffer.from(f.start).toString(), Buffer.from(f.end).toString(), f.seq])).toEqual([
      ['b', 'd', 5],
      ['d', 'h', 9],
    ]);
    const fwd = new CoverageCursor(frags, false);
    expect(['a', 'b', 'c', 'd', 'g', 'h'].map((k) => fwd.covering(b(k)))).toEqual([-1, 5, 5, 9, 9, -1]);
    const rev = new CoverageCursor(frags, true);
    expect(['h', 'g', 'd', 'c', 'b', 'a'].map((k) => rev.covering(b(k)))).toEqual([-1, 9, 9, 5, 5, -1]);
    // Inclusive largest bound: up to and including 'e'; the sentinel makes it exclusive.
    const t = [{ start: b('a'), end: b('z'), seq: 3 }];
    const clipped = clipToTable(t, makeInternalKey(b('c'), 3, 15), makeInternalKey(b('e'), 3, 1));
    expect(clipped.map((x) => [Buffer.from(x.start).toString('hex'), Buffer.from(x.end).toString('hex')])).toEqual([['63', '6500']]);
    const sentinel = Uint8Array.of(0x65, 0x0f, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff);
    expect(clipToTable(t, makeInternalKey(b('c'), 3, 15), sentinel).map((x) => Buffer.from(x.end).toString())).toEqual(['e']);
  });
});
