import { describe, expect, it } from 'vitest';
import { ErrInvalidConfig, ErrLogDB } from '../../src/errors.js';
import {
  allEntriesRange,
  batchIdOf,
  bootstrapKey,
  decodeKey,
  decodeMaxIndex,
  encodeMaxIndex,
  entryBatchKey,
  entryKey,
  entryRange,
  kindRange,
  KeyKind,
  maxIndexKey,
  nodeInfoKey,
  raftStateKey,
  snapshotKey,
} from '../../src/logdb/keys.js';

const hex = (b: Uint8Array): string => Buffer.from(b).toString('hex');
const S = 0x0102030405060708n;
const R = 0x1112131415161718n;
const SR = '0102030405060708' + '1112131415161718';

describe('log store keys (docs/formats.md §5)', () => {
  it('encodes every key byte for byte, big-endian', () => {
    expect(hex(entryKey(S, R, 0x2122232425262728n))).toBe('01010000' + SR + '2122232425262728');
    expect(hex(raftStateKey(S, R))).toBe('02020000' + SR);
    expect(hex(maxIndexKey(S, R))).toBe('03030000' + SR);
    expect(hex(nodeInfoKey(S, R))).toBe('04040000' + SR);
    expect(hex(snapshotKey(S, R, 16n))).toBe('05050000' + SR + '0000000000000010');
    expect(hex(bootstrapKey(S, R))).toBe('06060000' + SR);
    expect(hex(entryBatchKey(S, R, 2n))).toBe('07070000' + SR + '0000000000000002');
    expect(entryKey(1, 2, 3).length).toBe(28);
    expect(raftStateKey(1, 2).length).toBe(20);
    expect(hex(entryKey(100, 1, 5))).toBe('01010000' + '0000000000000064' + '0000000000000001' + '0000000000000005');
  });

  it('decodes what it encodes and rejects foreign keys', () => {
    expect(decodeKey(entryKey(S, R, 9n))).toEqual({ kind: 'entry', shardId: S, replicaId: R, suffix: 9n });
    expect(decodeKey(bootstrapKey(S, R))).toEqual({ kind: 'bootstrap', shardId: S, replicaId: R });
    expect(decodeKey(entryBatchKey(1n, 2n, 3n))).toEqual({ kind: 'entry-batch', shardId: 1n, replicaId: 2n, suffix: 3n });
    const bad = entryKey(1, 2, 3);
    bad[1] = 2;
    expect(decodeKey(bad)).toBeUndefined();
    expect(decodeKey(new Uint8Array(20).fill(0))).toBeUndefined();
    const long = new Uint8Array(28);
    long.set(raftStateKey(1, 2));
    expect(decodeKey(long)).toBeUndefined(); // a raft state key is 20 bytes
    const pad = new Uint8Array(20);
    pad.set(entryKey(1, 2, 3).subarray(0, 20));
    expect(decodeKey(pad)).toBeUndefined(); // an entry key is 28 bytes
    const nz = raftStateKey(1, 2);
    nz[3] = 1;
    expect(decodeKey(nz)).toBeUndefined();
  });

  it('bounds ranges so that key order is index order', () => {
    const r = entryRange(S, R, 5n, 10n);
    expect(hex(r.gte)).toBe(hex(entryKey(S, R, 5n)));
    expect(hex(r.lt!)).toBe(hex(entryKey(S, R, 10n)));
    const all = allEntriesRange(S, R);
    expect(hex(all.lte!)).toBe('01010000' + SR + 'ffffffffffffffff');
    const open = entryRange(S, R, 0n, 2n ** 64n);
    expect(open.lt).toBeUndefined();
    expect(hex(open.lte!)).toBe(hex(all.lte!));
    const kinds = kindRange(KeyKind.Bootstrap);
    expect(hex(kinds.gte)).toBe('06060000' + '00'.repeat(16));
    expect(hex(kinds.lte!)).toBe('06060000' + 'ff'.repeat(16));
    expect(Buffer.compare(entryKey(1, 1, 255), entryKey(1, 1, 256))).toBe(-1);
  });

  it('encodes the max index value as 8 big-endian bytes', () => {
    expect(hex(encodeMaxIndex(0x0102n))).toBe('0000000000000102');
    expect(decodeMaxIndex(encodeMaxIndex(2n ** 64n - 1n))).toBe(2n ** 64n - 1n);
    expect(() => decodeMaxIndex(new Uint8Array(7))).toThrow(ErrLogDB);
  });

  it('batches 48 entries per batch ID and refuses non-uint64 IDs', () => {
    expect([batchIdOf(0n), batchIdOf(47n), batchIdOf(48n), batchIdOf(96n)]).toEqual([0n, 0n, 1n, 2n]);
    expect(() => entryKey(-1n, 0, 0)).toThrow(ErrInvalidConfig);
    expect(() => entryKey(0, 2n ** 64n, 0)).toThrow(ErrInvalidConfig);
  });
});
