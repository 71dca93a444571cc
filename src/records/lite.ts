/**
 * Protobuf-runtime-free decoders of the two records `verify` needs: the
 * `.gbsnap` SnapshotHeader and the export's `snapshot.metadata` Snapshot
 * (with its Membership and SnapshotFiles). Loading `@bufbuild/protobuf` and
 * the generated descriptors costs more than verifying a gigabyte with the
 * native engine, so the verify path (snapshot/header.ts, ops/export-dir.ts)
 * decodes through here; everything else keeps using `codec.ts`.
 *
 * Same contract as `decodeSnapshot`/`decodeSnapshotHeader` in codec.ts, and
 * the same result for every input (test/records/lite.test.ts compares the
 * two on generated records and on mutated bytes): the strict checks of
 * `wire.ts` (framing, wire types of known fields, closed enums, UTF-8), then
 * protobuf's decoding rules — the last value of a repeated scalar wins, a
 * repeated singular message merges, list items append, a map entry without
 * key or value takes the zero value and a repeated key the last value,
 * unknown fields are skipped — and byte fields copied.
 */
import { ErrMalformedRecord } from '../errors.js';
import {
  ChecksumType,
  CompressionType,
  StateMachineType,
  type Membership,
  type Snapshot,
  type SnapshotFile,
  type SnapshotHeader,
} from './types.js';
import { malformed, readVarint, skipField, WireType } from './wire.js';

const utf8Strict = new TextDecoder('utf-8', { fatal: true, ignoreBOM: true });

type Kind =
  | { t: 'u64' }
  | { t: 'bool' }
  | { t: 'string' }
  | { t: 'bytes' }
  | { t: 'enum'; name: string; values: ReadonlySet<number> }
  | { t: 'message'; name: string; fields: Fields; repeated?: boolean }
  | { t: 'map'; value: 'string' | 'bool' };

type Fields = ReadonlyMap<number, { name: string; kind: Kind }>;

const enumOf = (name: string, e: object): Kind => ({
  t: 'enum',
  name,
  values: new Set(Object.values(e).filter((v): v is number => typeof v === 'number')),
});

const MEMBERSHIP: Fields = new Map([
  [1, { name: 'config_change_id', kind: { t: 'u64' } }],
  [2, { name: 'addresses', kind: { t: 'map', value: 'string' } }],
  [3, { name: 'removed', kind: { t: 'map', value: 'bool' } }],
  [4, { name: 'non_votings', kind: { t: 'map', value: 'string' } }],
  [5, { name: 'witnesses', kind: { t: 'map', value: 'string' } }],
] as const);

const SNAPSHOT_FILE: Fields = new Map([
  [2, { name: 'filepath', kind: { t: 'string' } }],
  [3, { name: 'file_size', kind: { t: 'u64' } }],
  [4, { name: 'file_id', kind: { t: 'u64' } }],
  [5, { name: 'metadata', kind: { t: 'bytes' } }],
] as const);

const SNAPSHOT: Fields = new Map<number, { name: string; kind: Kind }>([
  [2, { name: 'filepath', kind: { t: 'string' } }],
  [3, { name: 'file_size', kind: { t: 'u64' } }],
  [4, { name: 'index', kind: { t: 'u64' } }],
  [5, { name: 'term', kind: { t: 'u64' } }],
  [6, { name: 'membership', kind: { t: 'message', name: 'Membership', fields: MEMBERSHIP } }],
  [7, { name: 'files', kind: { t: 'message', name: 'SnapshotFile', fields: SNAPSHOT_FILE, repeated: true } }],
  [8, { name: 'checksum', kind: { t: 'bytes' } }],
  [9, { name: 'dummy', kind: { t: 'bool' } }],
  [10, { name: 'shard_id', kind: { t: 'u64' } }],
  [11, { name: 'type', kind: enumOf('StateMachineType', StateMachineType) }],
  [12, { name: 'imported', kind: { t: 'bool' } }],
  [13, { name: 'on_disk_index', kind: { t: 'u64' } }],
  [14, { name: 'witness', kind: { t: 'bool' } }],
]);

const SNAPSHOT_HEADER: Fields = new Map<number, { name: string; kind: Kind }>([
  [1, { name: 'session_size', kind: { t: 'u64' } }],
  [2, { name: 'data_store_size', kind: { t: 'u64' } }],
  [3, { name: 'unreliable_time', kind: { t: 'u64' } }],
  [4, { name: 'git_version', kind: { t: 'string' } }],
  [5, { name: 'header_checksum', kind: { t: 'bytes' } }],
  [6, { name: 'payload_checksum', kind: { t: 'bytes' } }],
  [7, { name: 'checksum_type', kind: enumOf('ChecksumType', ChecksumType) }],
  [8, { name: 'version', kind: { t: 'u64' } }],
  [9, { name: 'compression_type', kind: enumOf('CompressionType', CompressionType) }],
]);

const wireTypeName = ['varint', 'fixed64', 'length-delimited', 'start-group', 'end-group', 'fixed32'];

/** A decoded message: field name → value (maps as Map<bigint, V>, repeated messages as arrays). */
type Decoded = Map<string, unknown>;

function expectedWire(k: Kind): number {
  return k.t === 'u64' || k.t === 'bool' || k.t === 'enum' ? WireType.Varint : WireType.LengthDelimited;
}

function readString(bytes: Uint8Array, start: number, end: number, what: string, record: string): string {
  try {
    return utf8Strict.decode(bytes.subarray(start, end));
  } catch {
    throw malformed(record, start, `${what} is not valid UTF-8`);
  }
}

function decodeMapEntry(
  bytes: Uint8Array,
  start: number,
  end: number,
  value: 'string' | 'bool',
  what: string,
  record: string,
): [bigint, string | boolean] {
  let key = 0n;
  let val: string | boolean = value === 'string' ? '' : false;
  let pos = start;
  while (pos < end) {
    const f = skipField(bytes, pos, end, record);
    if (f.fieldNumber === 1 || f.fieldNumber === 2) {
      const kind: Kind = f.fieldNumber === 1 ? { t: 'u64' } : value === 'string' ? { t: 'string' } : { t: 'bool' };
      const label = `${what} ${f.fieldNumber === 1 ? 'key' : 'value'}`;
      if (f.wireType !== expectedWire(kind)) {
        throw malformed(record, pos, `${label} has wire type ${wireTypeName[f.wireType]}, expected ${wireTypeName[expectedWire(kind)]}`);
      }
      if (f.fieldNumber === 1) key = readVarint(bytes, f.valueStart, f.end, record).value;
      else if (value === 'string') val = readString(bytes, f.valueStart, f.end, label, record);
      else val = readVarint(bytes, f.valueStart, f.end, record).value !== 0n;
    }
    pos = f.end;
  }
  return [key, val];
}

function decodeInto(out: Decoded, fields: Fields, msgName: string, bytes: Uint8Array, start: number, end: number, record: string): void {
  let pos = start;
  while (pos < end) {
    const f = skipField(bytes, pos, end, record);
    const field = fields.get(f.fieldNumber);
    if (field !== undefined) {
      const k = field.kind;
      const what = `field ${f.fieldNumber} (${msgName}.${field.name})`;
      if (f.wireType !== expectedWire(k)) {
        throw malformed(record, pos, `${what} has wire type ${wireTypeName[f.wireType]}, expected ${wireTypeName[expectedWire(k)]}`);
      }
      switch (k.t) {
        case 'u64':
          out.set(field.name, readVarint(bytes, f.valueStart, f.end, record).value);
          break;
        case 'bool':
          out.set(field.name, readVarint(bytes, f.valueStart, f.end, record).value !== 0n);
          break;
        case 'enum': {
          const v = readVarint(bytes, f.valueStart, f.end, record).value;
          if (v > 0x7fffffffn || !k.values.has(Number(v)))
            throw malformed(record, f.valueStart, `${what} value ${v} is not a known ${k.name}`);
          out.set(field.name, Number(v));
          break;
        }
        case 'string':
          out.set(field.name, readString(bytes, f.valueStart, f.end, what, record));
          break;
        case 'bytes':
          out.set(field.name, new Uint8Array(bytes.subarray(f.valueStart, f.end)));
          break;
        case 'message': {
          if (k.repeated) {
            const child: Decoded = new Map();
            decodeInto(child, k.fields, k.name, bytes, f.valueStart, f.end, record);
            const list = (out.get(field.name) as Decoded[] | undefined) ?? [];
            list.push(child);
            out.set(field.name, list);
          } else {
            // A singular message seen again merges into the first.
            const child = (out.get(field.name) as Decoded | undefined) ?? new Map();
            decodeInto(child, k.fields, k.name, bytes, f.valueStart, f.end, record);
            out.set(field.name, child);
          }
          break;
        }
        case 'map': {
          const [key, val] = decodeMapEntry(bytes, f.valueStart, f.end, k.value, field.name, record);
          const m = (out.get(field.name) as Map<bigint, unknown> | undefined) ?? new Map();
          m.set(key, val);
          out.set(field.name, m);
          break;
        }
      }
    }
    pos = f.end;
  }
}

function decodeTop(fields: Fields, msgName: string, record: string, bytes: Uint8Array): Decoded {
  if (!(bytes instanceof Uint8Array)) throw new ErrMalformedRecord(`cannot decode ${record}: input is not bytes`, { record });
  const out: Decoded = new Map();
  decodeInto(out, fields, msgName, bytes, 0, bytes.length, record);
  return out;
}

function sortedMap<V>(m: unknown): Map<bigint, V> {
  const src = (m as Map<bigint, V> | undefined) ?? new Map<bigint, V>();
  return new Map([...src].sort((a, b) => (a[0] < b[0] ? -1 : a[0] > b[0] ? 1 : 0)));
}

const u64 = (d: Decoded, name: string): bigint => (d.get(name) as bigint | undefined) ?? 0n;
const bool = (d: Decoded, name: string): boolean => (d.get(name) as boolean | undefined) ?? false;
const str = (d: Decoded, name: string): string => (d.get(name) as string | undefined) ?? '';
const bytesOf = (d: Decoded, name: string): Uint8Array => (d.get(name) as Uint8Array | undefined) ?? new Uint8Array(0);
const num = (d: Decoded, name: string): number => (d.get(name) as number | undefined) ?? 0;

function membershipOf(d: Decoded | undefined): Membership {
  const m = d ?? new Map();
  return {
    configChangeId: u64(m, 'config_change_id'),
    addresses: sortedMap<string>(m.get('addresses')),
    removed: sortedMap<boolean>(m.get('removed')),
    nonVotings: sortedMap<string>(m.get('non_votings')),
    witnesses: sortedMap<string>(m.get('witnesses')),
  };
}

function snapshotFileOf(d: Decoded): SnapshotFile {
  return { filepath: str(d, 'filepath'), fileSize: u64(d, 'file_size'), fileId: u64(d, 'file_id'), metadata: bytesOf(d, 'metadata') };
}

/** Decodes a Snapshot record, as `decodeSnapshot` in codec.ts does, without the protobuf runtime. */
export function decodeSnapshotLite(bytes: Uint8Array): Snapshot {
  const d = decodeTop(SNAPSHOT, 'Snapshot', 'Snapshot', bytes);
  return {
    filepath: str(d, 'filepath'),
    fileSize: u64(d, 'file_size'),
    index: u64(d, 'index'),
    term: u64(d, 'term'),
    membership: membershipOf(d.get('membership') as Decoded | undefined),
    files: ((d.get('files') as Decoded[] | undefined) ?? []).map(snapshotFileOf),
    checksum: bytesOf(d, 'checksum'),
    dummy: bool(d, 'dummy'),
    shardId: u64(d, 'shard_id'),
    type: num(d, 'type') as StateMachineType,
    imported: bool(d, 'imported'),
    onDiskIndex: u64(d, 'on_disk_index'),
    witness: bool(d, 'witness'),
  };
}

/** Decodes a SnapshotHeader record, as `decodeSnapshotHeader` in codec.ts does, without the protobuf runtime. */
export function decodeSnapshotHeaderLite(bytes: Uint8Array): SnapshotHeader {
  const d = decodeTop(SNAPSHOT_HEADER, 'SnapshotHeader', 'SnapshotHeader', bytes);
  return {
    sessionSize: u64(d, 'session_size'),
    dataStoreSize: u64(d, 'data_store_size'),
    unreliableTime: u64(d, 'unreliable_time'),
    gitVersion: str(d, 'git_version'),
    headerChecksum: bytesOf(d, 'header_checksum'),
    payloadChecksum: bytesOf(d, 'payload_checksum'),
    checksumType: num(d, 'checksum_type') as ChecksumType,
    version: u64(d, 'version'),
    compressionType: num(d, 'compression_type') as CompressionType,
  };
}

const U64_LIMIT = 1n << 64n;

function pushVarint(out: number[], v: bigint): void {
  while (v >= 0x80n) {
    out.push(Number(v & 0x7fn) | 0x80);
    v >>= 7n;
  }
  out.push(Number(v));
}

/**
 * Encodes a SnapshotHeader record byte for byte as `encodeSnapshotHeader` in
 * codec.ts does (fields in number order, every scalar, string and enum even
 * when zero, byte fields only when non-empty), without the protobuf runtime.
 * Throws {@link ErrMalformedRecord} for an unknown enum value or an integer
 * outside uint64.
 */
export function encodeSnapshotHeaderLite(h: SnapshotHeader): Uint8Array {
  for (const [field, value, allowed] of [
    ['checksumType', h.checksumType, ChecksumType],
    ['compressionType', h.compressionType, CompressionType],
  ] as const) {
    if (!Object.values(allowed).includes(value)) {
      throw new ErrMalformedRecord(`cannot encode SnapshotHeader: ${field} = ${value} is not a known value`, {
        record: 'SnapshotHeader',
        field,
        actual: value,
      });
    }
  }
  const out: number[] = [];
  const u64Field = (n: number, name: string, v: bigint): void => {
    if (typeof v !== 'bigint' || v < 0n || v >= U64_LIMIT) {
      throw new ErrMalformedRecord(`cannot encode SnapshotHeader: ${name} = ${String(v)} is not a uint64`, {
        record: 'SnapshotHeader',
        field: name,
      });
    }
    out.push(n << 3);
    pushVarint(out, v);
  };
  const lenField = (n: number, b: Uint8Array): void => {
    out.push((n << 3) | WireType.LengthDelimited);
    pushVarint(out, BigInt(b.length));
    for (const x of b) out.push(x);
  };
  u64Field(1, 'sessionSize', h.sessionSize);
  u64Field(2, 'dataStoreSize', h.dataStoreSize);
  u64Field(3, 'unreliableTime', h.unreliableTime);
  lenField(4, new TextEncoder().encode(h.gitVersion));
  if (h.headerChecksum.length > 0) lenField(5, h.headerChecksum);
  if (h.payloadChecksum.length > 0) lenField(6, h.payloadChecksum);
  out.push(7 << 3);
  pushVarint(out, BigInt(h.checksumType));
  u64Field(8, 'version', h.version);
  out.push(9 << 3);
  pushVarint(out, BigInt(h.compressionType));
  return new Uint8Array(out);
}
