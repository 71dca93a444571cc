import { readFileSync } from 'node:fs';
import fc from 'fast-check';
import { describe, expect, test } from 'vitest';
import { ErrMalformedRecord } from '../../src/errors.js';
import * as codec from '../../src/records/codec.js';
import { ChecksumType, CompressionType, type StateMachineType, type Bootstrap, type RaftDataStatus } from '../../src/records/types.js';
import { scanFields } from '../../src/records/wire.js';
import { recordArbitraries, smType, u64 } from '../helpers/record-arbitraries.js';
import { GOLDEN_V1_PATH, expectCoded } from '../helpers/snapshots.js';

const hex = (b: Uint8Array): string => Buffer.from(b).toString('hex');
const unhex = (s: string): Uint8Array => new Uint8Array(Buffer.from(s.replace(/\s+/g, ''), 'hex'));

// --- arbitraries ----------------------------------------------------------------

const str = fc.string({ unit: 'binary', maxLength: 24 });
const { strMap, membership, snapshot, header: snapshotHeader } = recordArbitraries({ str, maxMapSize: 6 });
const bootstrap: fc.Arbitrary<Bootstrap> = fc.record({ addresses: strMap, join: fc.boolean(), type: smType });
const raftState = fc.record({ term: u64, vote: u64, commit: u64 });
const raftDataStatus: fc.Arbitrary<RaftDataStatus> = fc.record({
  address: str,
  binVer: fc.nat({ max: 0xffffffff }),
  hardHash: u64,
  logdbType: str,
  hostname: str,
  deploymentId: u64,
  stepWorkerCount: u64,
  logdbShardCount: u64,
  maxSessionCount: u64,
  entryBatchSize: u64,
  addressByNodeHostId: fc.boolean(),
});

interface Case<T> {
  name: string;
  arb: fc.Arbitrary<T>;
  encode(v: T): Uint8Array;
  decode(b: Uint8Array): T;
  /** Top-level field numbers whose repeated occurrences keep their order (repeated messages). */
  ordered: number[];
}
const cases: Case<never>[] = [
  { name: 'Membership', arb: membership, encode: codec.encodeMembership, decode: codec.decodeMembership, ordered: [] },
  { name: 'Snapshot', arb: snapshot, encode: codec.encodeSnapshot, decode: codec.decodeSnapshot, ordered: [7] },
  { name: 'Bootstrap', arb: bootstrap, encode: codec.encodeBootstrap, decode: codec.decodeBootstrap, ordered: [] },
  { name: 'RaftState', arb: raftState, encode: codec.encodeRaftState, decode: codec.decodeRaftState, ordered: [] },
  { name: 'RaftDataStatus', arb: raftDataStatus, encode: codec.encodeRaftDataStatus, decode: codec.decodeRaftDataStatus, ordered: [] },
  { name: 'SnapshotHeader', arb: snapshotHeader, encode: codec.encodeSnapshotHeader, decode: codec.decodeSnapshotHeader, ordered: [] },
] as never;

// --- wire rewriting used by the properties ------------------------------------------

const concat = (parts: Uint8Array[]): Uint8Array => {
  const out = new Uint8Array(parts.reduce((n, p) => n + p.length, 0));
  let at = 0;
  for (const p of parts) {
    out.set(p, at);
    at += p.length;
  }
  return out;
};

/** Drops top-level fields whose value is zero / empty: a minimal encoding. */
function minimal(b: Uint8Array): Uint8Array {
  return concat(
    scanFields(b, 't')
      .filter((f) => {
        const v = b.subarray(f.valueStart, f.end);
        if (f.wireType === 0) return !(v.length === 1 && v[0] === 0);
        if (f.wireType === 2) return f.end > f.valueStart;
        return true;
      })
      .map((f) => b.subarray(f.start, f.end)),
  );
}

/** Permutes top-level fields (map entries included), keeping repeated messages in order. */
function permute(b: Uint8Array, order: number[], ordered: number[]): Uint8Array {
  const fields = scanFields(b, 't');
  const idx = fields.map((_, i) => i).sort((x, y) => order[x % order.length]! - order[y % order.length]! || x - y);
  const keep = fields.map((f, i) => (ordered.includes(f.fieldNumber) ? i : -1)).filter((i) => i >= 0);
  let k = 0;
  const final = idx.map((i) => (ordered.includes(fields[i]!.fieldNumber) ? keep[k++]! : i));
  return concat(final.map((i) => b.subarray(fields[i]!.start, fields[i]!.end)));
}

/** Some unknown fields of every wire type, groups included. */
const unknownField = fc.oneof(
  fc.tuple(fc.integer({ min: 100, max: 2000 }), u64).map(([n, v]) => concat([varint(BigInt(n) << 3n), varint(v)])),
  fc
    .tuple(fc.integer({ min: 100, max: 2000 }), fc.uint8Array({ minLength: 8, maxLength: 8 }))
    .map(([n, v]) => concat([varint((BigInt(n) << 3n) | 1n), v])),
  fc
    .tuple(fc.integer({ min: 100, max: 2000 }), fc.uint8Array({ maxLength: 10 }))
    .map(([n, v]) => concat([varint((BigInt(n) << 3n) | 2n), varint(BigInt(v.length)), v])),
  fc
    .tuple(fc.integer({ min: 100, max: 2000 }), fc.uint8Array({ minLength: 4, maxLength: 4 }))
    .map(([n, v]) => concat([varint((BigInt(n) << 3n) | 5n), v])),
  fc
    .tuple(fc.integer({ min: 100, max: 2000 }), u64)
    .map(([n, v]) => concat([varint((BigInt(n) << 3n) | 3n), varint(7n << 3n), varint(v), varint((BigInt(n) << 3n) | 4n)])),
);

function varint(v: bigint): Uint8Array {
  const out: number[] = [];
  do {
    let b = Number(v & 0x7fn);
    v >>= 7n;
    if (v > 0n) b |= 0x80;
    out.push(b);
  } while (v > 0n);
  return Uint8Array.from(out);
}

// --- properties --------------------------------------------------------------------

describe.each(cases)('$name', (c: Case<unknown>) => {
  test('round-trips and encodes deterministically', () => {
    fc.assert(
      fc.property(c.arb, (v) => {
        const b = c.encode(v);
        expect(c.decode(b)).toEqual(v);
        expect(c.encode(c.decode(b))).toEqual(b);
      }),
      { seed: 1, numRuns: 150 },
    );
  });

  test('decodes minimal encodings, any field order and unknown fields alike', () => {
    fc.assert(
      fc.property(
        c.arb,
        fc.array(fc.nat(), { minLength: 1, maxLength: 40 }),
        fc.array(unknownField, { maxLength: 4 }),
        fc.nat(),
        (v, order, unknown, at) => {
          const full = c.encode(v);
          const min = minimal(full);
          expect(c.decode(min)).toEqual(v);
          const shuffled = permute(min, order, c.ordered);
          const fields = scanFields(shuffled, 't');
          const cut = fields.length === 0 ? 0 : fields[at % fields.length]!.start;
          const withUnknown = concat([shuffled.subarray(0, cut), ...unknown, shuffled.subarray(cut)]);
          expect(c.decode(withUnknown)).toEqual(v);
        },
      ),
      { seed: 2, numRuns: 150 },
    );
  });

  test('decoded byte fields do not alias the input', () => {
    const v = fc.sample(c.arb, { seed: 3, numRuns: 1 })[0];
    const b = c.encode(v);
    const decoded = c.decode(b);
    b.fill(0xee);
    expect(decoded).toEqual(v);
  });
});

// --- fixed facts -------------------------------------------------------------------

describe('SnapshotHeader vs the golden file', () => {
  const file = new Uint8Array(readFileSync(GOLDEN_V1_PATH));
  const raw = file.subarray(8, 8 + 33);

  test('decodes to the documented fields', () => {
    const h = codec.decodeSnapshotHeader(raw);
    expect(h.sessionSize).toBe(173n);
    expect(h.dataStoreSize).toBe(11n);
    expect(h.unreliableTime > 2n ** 59n).toBe(true);
    expect(h.gitVersion).toBe('');
    expect(hex(h.headerChecksum)).toBe('99f2c3e2');
    expect(hex(h.payloadChecksum)).toBe('eb500eb3');
    expect(h.checksumType).toBe(ChecksumType.CRC32IEEE);
    expect(h.version).toBe(1n);
    expect(h.compressionType).toBe(CompressionType.None);
    expect(h.headerChecksum).toBeInstanceOf(Uint8Array);
    expect(Buffer.isBuffer(h.headerChecksum)).toBe(false);
  });

  test('re-encodes to the same bytes plus compression_type, Dragonboat-style (zeros emitted)', () => {
    const b = codec.encodeSnapshotHeader(codec.decodeSnapshotHeader(raw));
    expect(hex(b)).toBe(`${hex(raw)}4800`);
  });
});

describe('encoding style', () => {
  test('every field but empty bytes is emitted even when zero, in field-number order (as gogoproto does)', () => {
    expect(hex(codec.encodeRaftState(codec.emptyRaftState()))).toBe('080010001800');
    expect(hex(codec.encodeBootstrap(codec.emptyBootstrap()))).toBe('10001800');
    expect(hex(codec.encodeSnapshot(codec.emptySnapshot()))).toBe(
      '1200' + '1800' + '2000' + '2800' + '32020800' + '4800' + '5000' + '5800' + '6000' + '6800' + '7000',
    );
    expect(hex(codec.encodeSnapshotHeader(codec.emptySnapshotHeader()))).toBe('0800' + '1000' + '1800' + '2200' + '3800' + '4000' + '4800');
    expect(hex(codec.encodeRaftDataStatus(codec.emptyRaftDataStatus()))).toBe(
      '0a00' + '1000' + '1800' + '2200' + '2a00' + '3000' + '3800' + '4000' + '4800' + '5000' + '5800',
    );
  });

  test('map entries are sorted by key as unsigned 64-bit numbers and carry key and value', () => {
    const m = codec.emptyMembership();
    for (const k of [2n ** 64n - 1n, 5n, 2n ** 32n, 4294967294n, 4294967295n, 0n]) m.addresses.set(k, 'x');
    m.removed.set(3n, false);
    const b = codec.encodeMembership(m);
    const keys = scanFields(b, 't')
      .filter((f) => f.fieldNumber === 2)
      .map((f) =>
        codec.decodeMembership(concat([Uint8Array.of(0x12), varint(BigInt(f.end - f.valueStart)), b.subarray(f.valueStart, f.end)])),
      )
      .map((x) => [...x.addresses.keys()][0]);
    expect(keys).toEqual([0n, 5n, 4294967294n, 4294967295n, 2n ** 32n, 2n ** 64n - 1n]);
    // removed {3: false}: entry 08 03 10 00.
    expect(hex(b)).toContain('1a0408031000');
  });

  test('a later occurrence of a scalar wins; duplicate map keys keep the last value', () => {
    expect(codec.decodeRaftState(unhex('0801 0802 1003')).term).toBe(2n);
    const b = unhex('0a0508011201610a050801120162');
    expect(codec.decodeBootstrap(b).addresses).toEqual(new Map([[1n, 'b']]));
  });

  test('a map entry without key or value means key 0 / empty value', () => {
    expect(codec.decodeBootstrap(unhex('0a00')).addresses).toEqual(new Map([[0n, '']]));
  });

  test('refuses to encode values out of range', () => {
    expectCoded(() => codec.encodeRaftState({ term: -1n, vote: 0n, commit: 0n }), ErrMalformedRecord);
    expectCoded(() => codec.encodeRaftState({ term: 2n ** 64n, vote: 0n, commit: 0n }), ErrMalformedRecord);
    expectCoded(() => codec.encodeRaftDataStatus({ ...codec.emptyRaftDataStatus(), binVer: 2 ** 32 }), ErrMalformedRecord);
    expectCoded(() => codec.encodeSnapshot({ ...codec.emptySnapshot(), type: 9 as StateMachineType }), ErrMalformedRecord);
    const m = codec.emptyMembership();
    m.addresses.set(-2n, 'x');
    expectCoded(() => codec.encodeMembership(m), ErrMalformedRecord);
  });

  test('cloneSnapshot is deep', () => {
    const s = codec.emptySnapshot();
    s.membership.addresses.set(1n, 'a');
    s.checksum = Uint8Array.of(1, 2);
    const c = codec.cloneSnapshot(s);
    c.membership.addresses.set(2n, 'b');
    c.checksum[0] = 9;
    expect(s.membership.addresses.size).toBe(1);
    expect(s.checksum[0]).toBe(1);
  });
});

describe('malformed input', () => {
  const bad: [string, string, (b: Uint8Array) => unknown][] = [
    ['truncated varint', '08', codec.decodeRaftState],
    ['truncated tag', '80', codec.decodeRaftState],
    ['varint longer than 10 bytes', '08 ffffffffffffffffff8001', codec.decodeRaftState],
    ['varint overflowing 64 bits', '08 ffffffffffffffffff02', codec.decodeRaftState],
    ['length past the end', '12 05 6162', codec.decodeSnapshot],
    ['huge length', '12 ffffffff0f', codec.decodeSnapshot],
    ['wire type 6', '0e', codec.decodeRaftState],
    ['wire type 7', '0f', codec.decodeRaftState],
    ['field number 0', '00 00', codec.decodeRaftState],
    ['end group without start', '0c', codec.decodeRaftState],
    ['unterminated group', 'a306 0801', codec.decodeRaftState],
    ['mismatched end group', 'a306 a406'.replace('a406', 'ac06'), codec.decodeRaftState],
    ['varint field sent length-delimited', '0a 01 00', codec.decodeRaftState],
    ['string field sent as varint', '10 01', codec.decodeSnapshot],
    ['message field sent as fixed32', '35 00000000', codec.decodeSnapshot],
    ['repeated message sent as varint', '08 01', codec.decodeEntryBatch],
    ['map field sent as varint', '10 01', codec.decodeMembership],
    ['map key with wrong wire type', '12 03 0a0100', codec.decodeMembership],
    ['map value with wrong wire type', '1a 04 0801 1201', codec.decodeMembership],
    ['bin_ver beyond uint32', '10 8080808010', codec.decodeRaftDataStatus],
    ['unknown enum value', '58 07', codec.decodeSnapshot],
    ['enum value beyond int32', '38 ffffffff0f', codec.decodeSnapshotHeader],
    ['invalid UTF-8 in a string', '12 02 c328', codec.decodeSnapshot],
    ['invalid UTF-8 in a map value', '12 05 0801 1201 ff', codec.decodeMembership],
    ['malformed nested message', '32 02 08', codec.decodeSnapshot],
    ['malformed entry inside a batch', '0a 03 0a 01 00', codec.decodeEntryBatch],
    ['fixed64 past the end', 'f906 0102', codec.decodeRaftState],
    ['fixed32 past the end', 'fd06 01', codec.decodeRaftState],
  ];
  test.each(bad)('%s', (_name, h, decode) => {
    const e = expectCoded(() => decode(unhex(h)), ErrMalformedRecord);
    expect(typeof e.details.record).toBe('string');
    expect(typeof e.details.offset).toBe('number');
  });

  test('non-bytes input', () => {
    expectCoded(() => codec.decodeSnapshot('abc' as unknown as Uint8Array), ErrMalformedRecord);
  });

  test('deep unknown groups are bounded, not a stack overflow', () => {
    const open = varint((100n << 3n) | 3n);
    const deep = concat(Array.from({ length: 10_000 }, () => open));
    expectCoded(() => codec.decodeRaftState(deep), ErrMalformedRecord);
  });

  test('the error names the record and the offset', () => {
    const e = expectCoded(() => codec.decodeSnapshot(unhex('1800 2000 3202 0801 58 07')), ErrMalformedRecord);
    expect(e.details).toMatchObject({ record: 'Snapshot', offset: 9 });
    expect(e.message).toMatch(/Snapshot/);
  });
});
