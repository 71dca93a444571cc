/**
 * The protobuf-free decoders of the verify path (src/records/lite.ts) give
 * exactly what codec.ts (the protobuf runtime behind the strict wire checks)
 * gives: the same record for every valid encoding, the same ErrMalformedRecord
 * (message and offset) for every invalid one. Compared on generated records,
 * on hand-made encodings codec.ts never writes (repeated fields, merged
 * messages, map entries without key or value, unknown fields and groups), and
 * on random mutations of all of those.
 */
import fc from 'fast-check';
import { describe, expect, test } from 'vitest';
import * as codec from '../../src/records/codec.js';
import { decodeSnapshotHeaderLite, decodeSnapshotLite, encodeSnapshotHeaderLite } from '../../src/records/lite.js';
import type { ChecksumType, CompressionType } from '../../src/records/types.js';
import { recordArbitraries, replicaKey as key, u64 } from '../helpers/record-arbitraries.js';

const str = fc.oneof(fc.string({ unit: 'binary', maxLength: 24 }), fc.constant('\uFEFFbom'));
const { snapshot, header } = recordArbitraries({ str, maxMapSize: 4 });

/** Raw protobuf building blocks for encodings codec.ts never writes. */
function varint(v: bigint): number[] {
  const out: number[] = [];
  do {
    let b = Number(v & 0x7fn);
    v >>= 7n;
    if (v > 0n) b |= 0x80;
    out.push(b);
  } while (v > 0n);
  return out;
}
const tag = (field: number, wire: number): number[] => varint(BigInt((field << 3) | wire));
const vField = (field: number, v: bigint): number[] => [...tag(field, 0), ...varint(v)];
const lField = (field: number, body: number[] | Uint8Array): number[] => [...tag(field, 2), ...varint(BigInt(body.length)), ...body];
const unknownGroup = (field: number): number[] => [...tag(field, 3), ...vField(1, 7n), ...tag(field, 4)];

const rawField = fc.oneof(
  fc.tuple(fc.integer({ min: 1, max: 16 }), u64).map(([f, v]) => vField(f, v)),
  fc.tuple(fc.integer({ min: 1, max: 16 }), fc.uint8Array({ maxLength: 12 })).map(([f, b]) => lField(f, b)),
  fc.integer({ min: 15, max: 40 }).map(unknownGroup),
  // Map entries: key only, value only, both, reversed, with an unknown field inside.
  fc.tuple(fc.integer({ min: 2, max: 5 }), key, fc.boolean(), fc.boolean(), fc.boolean()).map(([f, k, withKey, withValue, reversed]) => {
    const kf = withKey ? vField(1, k) : [];
    const vf = withValue ? (f === 3 ? vField(2, 1n) : lField(2, Buffer.from(`m${k % 7n}:1`))) : [];
    return lField(f, [...(reversed ? [...vf, ...kf] : [...kf, ...vf]), ...vField(9, 3n)]);
  }),
);

function outcome<T>(decode: (b: Uint8Array) => T, b: Uint8Array): { ok: T } | { err: string; offset: unknown; record: unknown } {
  try {
    return { ok: decode(b) };
  } catch (err) {
    const e = err as { code?: string; message: string; details?: Record<string, unknown> };
    return { err: `${e.code}: ${e.message}`, offset: e.details?.offset, record: e.details?.record };
  }
}

function mutate(b: Uint8Array, at: number, value: number, cut: number): Uint8Array {
  if (b.length === 0) return new Uint8Array([value]);
  const out = new Uint8Array(b.subarray(0, b.length - (cut % (b.length + 1))));
  if (out.length > 0) out[at % out.length] = value;
  return out;
}

type Decode = (b: Uint8Array) => unknown;
const pairs: { name: string; lite: Decode; ref: Decode; arb: fc.Arbitrary<Uint8Array> }[] = [
  { name: 'Snapshot', lite: decodeSnapshotLite, ref: codec.decodeSnapshot, arb: snapshot.map(codec.encodeSnapshot) },
  { name: 'SnapshotHeader', lite: decodeSnapshotHeaderLite, ref: codec.decodeSnapshotHeader, arb: header.map(codec.encodeSnapshotHeader) },
];

describe.each(pairs)('$name: lite decoder = codec decoder', ({ lite, ref, arb }) => {
  test('on generated records', () => {
    fc.assert(
      fc.property(arb, (b) => {
        expect(lite(b)).toEqual(ref(b));
      }),
      { numRuns: 300 },
    );
  });

  test('on encodings codec.ts never writes (repeats, merges, map entry shapes, unknown fields and groups)', () => {
    const message = fc.tuple(arb, fc.array(rawField, { maxLength: 8 }), fc.array(fc.nat(), { maxLength: 8 })).map(([b, extra, at]) => {
      // Interleave the extra fields at places between the record's own fields (or appended).
      const parts: number[][] = [[...b]];
      extra.forEach((f, i) => {
        if ((at[i] ?? 0) % 2) parts.unshift(f);
        else parts.push(f);
      });
      return new Uint8Array(parts.flat());
    });
    fc.assert(
      fc.property(message, (b) => {
        expect(outcome(lite, b)).toEqual(outcome(ref, b));
      }),
      { numRuns: 600 },
    );
  });

  test('on mutated bytes: the same record or the same error', () => {
    fc.assert(
      fc.property(arb, fc.nat(), fc.integer({ min: 0, max: 255 }), fc.nat({ max: 3 }), (b, at, value, cut) => {
        const m = mutate(b, at, value, cut);
        expect(outcome(lite, m)).toEqual(outcome(ref, m));
      }),
      { numRuns: 1500 },
    );
  });

  test('not bytes', () => {
    expect(outcome(lite, 'x' as unknown as Uint8Array)).toEqual(outcome(ref, 'x' as unknown as Uint8Array));
  });
});

test("SnapshotHeader: the lite encoder writes codec.ts's bytes", () => {
  fc.assert(
    fc.property(header, (h) => {
      expect(Buffer.from(encodeSnapshotHeaderLite(h)).toString('hex')).toBe(Buffer.from(codec.encodeSnapshotHeader(h)).toString('hex'));
    }),
    { numRuns: 500 },
  );
  for (const bad of [
    { version: -1n },
    { sessionSize: 1n << 64n },
    { checksumType: 7 as ChecksumType },
    { compressionType: 9 as CompressionType },
  ]) {
    const h = { ...codec.emptySnapshotHeader(), ...bad };
    expect(() => codec.encodeSnapshotHeader(h)).toThrow(/cannot encode SnapshotHeader/);
    expect(() => encodeSnapshotHeaderLite(h)).toThrow(/cannot encode SnapshotHeader/);
  }
});

test('a membership seen twice merges, as protobuf does', () => {
  const m1 = lField(6, [...vField(1, 3n), ...lField(2, [...vField(1, 1n), ...lField(2, Buffer.from('a:1'))])]);
  const m2 = lField(6, [
    ...lField(2, [...vField(1, 2n), ...lField(2, Buffer.from('b:1'))]),
    ...lField(3, [...vField(1, 9n), ...vField(2, 1n)]),
  ]);
  const b = new Uint8Array([...m1, ...m2]);
  const s = decodeSnapshotLite(b);
  expect(s).toEqual(codec.decodeSnapshot(b));
  expect([...s.membership.addresses]).toEqual([
    [1n, 'a:1'],
    [2n, 'b:1'],
  ]);
  expect(s.membership.configChangeId).toBe(3n);
  expect([...s.membership.removed]).toEqual([[9n, true]]);
});

test('the verify path does not load the protobuf runtime', async () => {
  const { spawnSync } = await import('node:child_process');
  const { PROJECT_ROOT } = await import('../helpers/snapshots.js');
  // A loader hook lists every module the verify command's code loads.
  const hook =
    'data:text/javascript,' +
    encodeURIComponent(
      'export async function load(u, c, n) { if (u.includes("@bufbuild")) process.stderr.write("PROTOBUF " + u + "\\n"); return n(u, c); }',
    );
  const reg = 'data:text/javascript,' + encodeURIComponent(`import { register } from 'node:module'; register(${JSON.stringify(hook)});`);
  const r = spawnSync(
    process.execPath,
    [
      '--import',
      reg,
      '--input-type=module',
      '-e',
      "await import('./dist/cli/commands/verify.js'); await import('./dist/ops/verify.js'); process.stderr.write('done\\n');",
    ],
    { cwd: PROJECT_ROOT, encoding: 'utf8' },
  );
  expect(r.stderr).toBe('done\n');
}, 30_000);
