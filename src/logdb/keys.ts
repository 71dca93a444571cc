/**
 * Log store keys (docs/formats.md §5), byte for byte: a two-byte header, two zero
 * bytes, shardID and replicaID as big-endian uint64, then for 28-byte keys a
 * big-endian uint64 suffix. Pure.
 */
import { ErrLogDB } from '../errors.js';
import { ENTRY_BATCH_SIZE } from '../nodehost/settings.js';
import { toU64 } from '../nodehost/paths.js';

/** Key families and their header byte (the header is that byte twice). */
export const KeyKind = {
  Entry: 0x01,
  RaftState: 0x02,
  MaxIndex: 0x03,
  NodeInfo: 0x04,
  Snapshot: 0x05,
  Bootstrap: 0x06,
  EntryBatch: 0x07,
} as const;
export type KeyKind = (typeof KeyKind)[keyof typeof KeyKind];

/** Size of keys with an index suffix (entry, snapshot, entry batch). */
export const LONG_KEY_SIZE = 28;
/** Size of per-node keys without a suffix (raft state, max index, node info, bootstrap). */
export const SHORT_KEY_SIZE = 20;
/** Largest uint64. */
export const MAX_U64 = (1n << 64n) - 1n;

const KIND_NAMES: Record<number, DecodedKey['kind']> = {
  0x01: 'entry',
  0x02: 'raft-state',
  0x03: 'max-index',
  0x04: 'node-info',
  0x05: 'snapshot',
  0x06: 'bootstrap',
  0x07: 'entry-batch',
};

function hasSuffix(kind: KeyKind): boolean {
  return kind === KeyKind.Entry || kind === KeyKind.Snapshot || kind === KeyKind.EntryBatch;
}

function writeU64(buf: Uint8Array, offset: number, v: bigint): void {
  new DataView(buf.buffer, buf.byteOffset, buf.byteLength).setBigUint64(offset, v, false);
}

function readU64(buf: Uint8Array, offset: number): bigint {
  return new DataView(buf.buffer, buf.byteOffset, buf.byteLength).getBigUint64(offset, false);
}

/** Builds a key of `kind` (a 28-byte key needs `suffix`; IDs are validated as uint64). */
export function makeKey(kind: KeyKind, shardId: number | bigint, replicaId: number | bigint, suffix?: number | bigint): Uint8Array {
  const long = hasSuffix(kind);
  const key = new Uint8Array(long ? LONG_KEY_SIZE : SHORT_KEY_SIZE);
  key[0] = kind;
  key[1] = kind;
  writeU64(key, 4, toU64(shardId, 'shardId'));
  writeU64(key, 12, toU64(replicaId, 'replicaId'));
  if (long) writeU64(key, 20, toU64(suffix ?? 0n, 'index'));
  return key;
}

/** `01 01` plain entry key. */
export const entryKey = (s: number | bigint, r: number | bigint, index: number | bigint): Uint8Array => makeKey(KeyKind.Entry, s, r, index);
/** `02 02` raft state key. */
export const raftStateKey = (s: number | bigint, r: number | bigint): Uint8Array => makeKey(KeyKind.RaftState, s, r);
/** `03 03` max index key. */
export const maxIndexKey = (s: number | bigint, r: number | bigint): Uint8Array => makeKey(KeyKind.MaxIndex, s, r);
/** `04 04` node info key. */
export const nodeInfoKey = (s: number | bigint, r: number | bigint): Uint8Array => makeKey(KeyKind.NodeInfo, s, r);
/** `05 05` snapshot key. */
export const snapshotKey = (s: number | bigint, r: number | bigint, index: number | bigint): Uint8Array =>
  makeKey(KeyKind.Snapshot, s, r, index);
/** `06 06` bootstrap key. */
export const bootstrapKey = (s: number | bigint, r: number | bigint): Uint8Array => makeKey(KeyKind.Bootstrap, s, r);
/** `07 07` entry batch key. */
export const entryBatchKey = (s: number | bigint, r: number | bigint, batchId: number | bigint): Uint8Array =>
  makeKey(KeyKind.EntryBatch, s, r, batchId);

/** Batch ID of an entry index: `index / 48`. */
export function batchIdOf(index: bigint): bigint {
  return index / ENTRY_BATCH_SIZE;
}

/** A decoded key. */
export interface DecodedKey {
  kind: 'entry' | 'raft-state' | 'max-index' | 'node-info' | 'snapshot' | 'bootstrap' | 'entry-batch';
  shardId: bigint;
  replicaId: bigint;
  /** Index (entry, snapshot) or batch ID (entry batch). */
  suffix?: bigint;
}

/** Decodes a key; undefined when it is not a well-formed log store key. */
export function decodeKey(key: Uint8Array): DecodedKey | undefined {
  if (key.length !== LONG_KEY_SIZE && key.length !== SHORT_KEY_SIZE) return undefined;
  const h = key[0]!;
  const name = KIND_NAMES[h];
  if (name === undefined || key[1] !== h || key[2] !== 0 || key[3] !== 0) return undefined;
  const long = hasSuffix(h as KeyKind);
  if (long !== (key.length === LONG_KEY_SIZE)) return undefined;
  const out: DecodedKey = { kind: name, shardId: readU64(key, 4), replicaId: readU64(key, 12) };
  if (long) out.suffix = readU64(key, 20);
  return out;
}

/** The index/batch-ID suffix of a 28-byte key (no validation beyond length). */
export function keySuffix(key: Uint8Array): bigint {
  if (key.length !== LONG_KEY_SIZE) {
    throw new ErrLogDB(`log store key of ${key.length} bytes has no index suffix`, { check: 'key-size', actual: key.length });
  }
  return readU64(key, 20);
}

/** A half-open or closed key range for iteration, in classic-level's option names. */
export interface KeyRange {
  gte: Uint8Array;
  lt?: Uint8Array;
  lte?: Uint8Array;
}

/**
 * The exclusive upper end of `range` (an `lte` bound becomes `lte || 0x00`, its
 * immediate successor in bytewise order): what a range deletion needs.
 */
export function exclusiveEnd(range: KeyRange): Uint8Array {
  if (range.lt !== undefined) return range.lt;
  if (range.lte === undefined) throw new ErrLogDB('a key range needs an upper bound (lt or lte)', { check: 'range-bound' });
  const end = new Uint8Array(range.lte.length + 1);
  end.set(range.lte);
  return end;
}

/** Plain entries of (s, r) with `low <= index < high` (high may be 2^64: then up to and including MAX). */
export function entryRange(s: number | bigint, r: number | bigint, low: bigint, high: bigint): KeyRange {
  if (high > MAX_U64) return { gte: entryKey(s, r, low), lte: entryKey(s, r, MAX_U64) };
  return { gte: entryKey(s, r, low), lt: entryKey(s, r, high) };
}

/** Entry batches of (s, r) with `low <= batchId < high` (high may be 2^64). */
export function entryBatchRange(s: number | bigint, r: number | bigint, low: bigint, high: bigint): KeyRange {
  if (high > MAX_U64) return { gte: entryBatchKey(s, r, low), lte: entryBatchKey(s, r, MAX_U64) };
  return { gte: entryBatchKey(s, r, low), lt: entryBatchKey(s, r, high) };
}

/** Every plain entry of (s, r). */
export function allEntriesRange(s: number | bigint, r: number | bigint): KeyRange {
  return { gte: entryKey(s, r, 0n), lte: entryKey(s, r, MAX_U64) };
}

/** Every entry batch of (s, r). */
export function allEntryBatchesRange(s: number | bigint, r: number | bigint): KeyRange {
  return { gte: entryBatchKey(s, r, 0n), lte: entryBatchKey(s, r, MAX_U64) };
}

/** Every snapshot record of (s, r). */
export function snapshotsRange(s: number | bigint, r: number | bigint): KeyRange {
  return { gte: snapshotKey(s, r, 0n), lte: snapshotKey(s, r, MAX_U64) };
}

/** Every key of one kind, all shards and replicas. */
export function kindRange(kind: KeyKind): KeyRange {
  const long = hasSuffix(kind);
  return {
    gte: makeKey(kind, 0n, 0n, long ? 0n : undefined),
    lte: makeKey(kind, MAX_U64, MAX_U64, long ? MAX_U64 : undefined),
  };
}

/** Encodes a max index value: 8 bytes, big-endian. */
export function encodeMaxIndex(index: bigint): Uint8Array {
  const out = new Uint8Array(8);
  writeU64(out, 0, toU64(index, 'index'));
  return out;
}

/** Decodes a max index value; refuses anything but 8 bytes. */
export function decodeMaxIndex(value: Uint8Array, where = 'max index record'): bigint {
  if (value.length !== 8) {
    throw new ErrLogDB(`${where} is ${value.length} bytes, expected 8`, { check: 'max-index-size', expected: 8, actual: value.length });
  }
  return readU64(value, 0);
}

/** Lower-case hex of a key, for error messages. */
export function keyHex(key: Uint8Array): string {
  return Buffer.from(key.buffer, key.byteOffset, key.byteLength).toString('hex');
}
