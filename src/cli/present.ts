/**
 * Turns library values into JSON following protobuf's JSON conventions:
 * camelCase keys, 64-bit integers as decimal strings, maps as objects keyed
 * by decimal IDs, enums by name, and (our one departure, for checksums)
 * byte strings as lowercase hex.
 */
import type { StateMachineType, Bootstrap, Membership, RaftState, Snapshot, SnapshotHeader } from '../records/types.js';

// Enum value names as the .proto declares them (protobuf's JSON form of enums).
const STATE_MACHINE_TYPE_NAMES = ['UnknownStateMachine', 'RegularStateMachine', 'ConcurrentStateMachine', 'OnDiskStateMachine'];
const CHECKSUM_TYPE_NAMES = ['CRC32IEEE', 'HIGHWAY'];
const COMPRESSION_TYPE_NAMES = ['NoCompression', 'Snappy'];

function enumName(names: string[], v: number): Json {
  return names[v] ?? v;
}

/** Protobuf JSON name of a state machine type, e.g. `RegularStateMachine`. */
export function stateMachineTypeJson(t: StateMachineType): Json {
  return enumName(STATE_MACHINE_TYPE_NAMES, t);
}

/** JSON-safe value. */
export type Json = null | boolean | number | string | Json[] | { [key: string]: Json };

/** Lowercase hex of a byte string. */
export function hex(bytes: Uint8Array): string {
  return Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength).toString('hex');
}

function idMap<V>(m: Map<bigint, V>, value: (v: V) => Json): { [key: string]: Json } {
  const out: { [key: string]: Json } = {};
  for (const [k, v] of [...m].sort((a, b) => (a[0] < b[0] ? -1 : a[0] > b[0] ? 1 : 0))) out[k.toString()] = value(v);
  return out;
}

export function membershipJson(m: Membership): Json {
  return {
    configChangeId: m.configChangeId.toString(),
    addresses: idMap(m.addresses, (v) => v),
    removed: idMap(m.removed, (v) => v),
    nonVotings: idMap(m.nonVotings, (v) => v),
    witnesses: idMap(m.witnesses, (v) => v),
  };
}

export function snapshotJson(s: Snapshot): Json {
  return {
    filepath: s.filepath,
    fileSize: s.fileSize.toString(),
    index: s.index.toString(),
    term: s.term.toString(),
    membership: membershipJson(s.membership),
    files: s.files.map((f) => ({
      filepath: f.filepath,
      fileSize: f.fileSize.toString(),
      fileId: f.fileId.toString(),
      metadata: hex(f.metadata),
    })),
    checksum: hex(s.checksum),
    dummy: s.dummy,
    shardId: s.shardId.toString(),
    type: stateMachineTypeJson(s.type),
    imported: s.imported,
    onDiskIndex: s.onDiskIndex.toString(),
    witness: s.witness,
  };
}

export function bootstrapJson(b: Bootstrap): Json {
  return { addresses: idMap(b.addresses, (v) => v), join: b.join, type: stateMachineTypeJson(b.type) };
}

export function raftStateJson(s: RaftState): Json {
  return { term: s.term.toString(), vote: s.vote.toString(), commit: s.commit.toString() };
}

export function snapshotHeaderJson(h: SnapshotHeader): Json {
  return {
    sessionSize: h.sessionSize.toString(),
    dataStoreSize: h.dataStoreSize.toString(),
    unreliableTime: h.unreliableTime.toString(),
    gitVersion: h.gitVersion,
    headerChecksum: hex(h.headerChecksum),
    payloadChecksum: hex(h.payloadChecksum),
    checksumType: enumName(CHECKSUM_TYPE_NAMES, h.checksumType),
    version: h.version.toString(),
    compressionType: enumName(COMPRESSION_TYPE_NAMES, h.compressionType),
  };
}

/**
 * Generic fallback for plain data (results, error details): bigints become
 * decimal strings, byte arrays hex, Maps objects, undefined is dropped.
 */
export function plainJson(v: unknown): Json {
  if (v === null || v === undefined) return null;
  if (typeof v === 'bigint') return v.toString();
  if (typeof v === 'number' || typeof v === 'string' || typeof v === 'boolean') return v;
  if (v instanceof Uint8Array) return hex(v);
  if (v instanceof Map) {
    const out: { [key: string]: Json } = {};
    for (const [k, val] of v) out[String(k)] = plainJson(val);
    return out;
  }
  if (Array.isArray(v)) return v.map(plainJson);
  if (v instanceof Error) return { message: v.message };
  if (typeof v === 'object') {
    const out: { [key: string]: Json } = {};
    for (const [k, val] of Object.entries(v)) if (val !== undefined) out[k] = plainJson(val);
    return out;
  }
  return String(v);
}
