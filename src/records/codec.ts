/**
 * Wire codec for Dragonboat's records (docs/formats.md §1): plain TS records from
 * `types.ts` in, protobuf bytes out, and back.
 *
 * Encoding goes through the code `buf generate` made from `dragonboat.proto`
 * and is deterministic: fields in field-number order, every scalar, enum,
 * string and nested Membership emitted even when zero, byte fields only when
 * non-empty (exactly what Dragonboat's gogoproto code does, so our bytes are
 * its bytes), map entries sorted by key.
 *
 * Decoding accepts that, a minimal encoding, any map order and unknown
 * fields; anything malformed fails with {@link ErrMalformedRecord} (see
 * `wire.ts` for what "malformed" covers) before the library decodes it.
 * Decoded byte fields are copies, never views of the input.
 */
import { decodeEntryBatchColfer, decodeEntryColfer, encodeEntryBatchColfer, encodeEntryColfer } from './entry-colfer.js';
import { create, fromBinary, toBinary, type DescMessage, type MessageShape } from '@bufbuild/protobuf';
import { ErrMalformedRecord, NodeHostToolsError } from '../errors.js';
import * as pb from './gen/dragonboat_pb.js';
import {
  ChecksumType,
  CompressionType,
  EntryType,
  StateMachineType,
  type Bootstrap,
  type Entry,
  type EntryBatch,
  type Membership,
  type RaftDataStatus,
  type RaftState,
  type Snapshot,
  type SnapshotFile,
  type SnapshotHeader,
} from './types.js';
import { validateMessage } from './wire.js';

// --- zero values --------------------------------------------------------------

/** A Membership with every field zero and empty maps. */
export function emptyMembership(): Membership {
  return { configChangeId: 0n, addresses: new Map(), removed: new Map(), nonVotings: new Map(), witnesses: new Map() };
}

/** A SnapshotFile with every field zero. */
export function emptySnapshotFile(): SnapshotFile {
  return { filepath: '', fileSize: 0n, fileId: 0n, metadata: new Uint8Array(0) };
}

/** A Snapshot with every field zero (type Unknown, empty membership). */
export function emptySnapshot(): Snapshot {
  return {
    filepath: '',
    fileSize: 0n,
    index: 0n,
    term: 0n,
    membership: emptyMembership(),
    files: [],
    checksum: new Uint8Array(0),
    dummy: false,
    shardId: 0n,
    type: StateMachineType.Unknown,
    imported: false,
    onDiskIndex: 0n,
    witness: false,
  };
}

/** A Bootstrap with no addresses, join false, type Unknown. */
export function emptyBootstrap(): Bootstrap {
  return { addresses: new Map(), join: false, type: StateMachineType.Unknown };
}

/** A raft State of all zeros. */
export function emptyRaftState(): RaftState {
  return { term: 0n, vote: 0n, commit: 0n };
}

/** An Entry of all zeros with an empty cmd. */
export function emptyEntry(): Entry {
  return { term: 0n, index: 0n, type: EntryType.Application, key: 0n, clientId: 0n, seriesId: 0n, respondedTo: 0n, cmd: new Uint8Array(0) };
}

/** An EntryBatch with no entries. */
export function emptyEntryBatch(): EntryBatch {
  return { entries: [] };
}

/** A RaftDataStatus of all zeros (also the payload of `DELETED.dragonboat`). */
export function emptyRaftDataStatus(): RaftDataStatus {
  return {
    address: '',
    binVer: 0,
    hardHash: 0n,
    logdbType: '',
    hostname: '',
    deploymentId: 0n,
    stepWorkerCount: 0n,
    logdbShardCount: 0n,
    maxSessionCount: 0n,
    entryBatchSize: 0n,
    addressByNodeHostId: false,
  };
}

/** A SnapshotHeader of all zeros (CRC32IEEE, no compression, version 0). */
export function emptySnapshotHeader(): SnapshotHeader {
  return {
    sessionSize: 0n,
    dataStoreSize: 0n,
    unreliableTime: 0n,
    gitVersion: '',
    headerChecksum: new Uint8Array(0),
    payloadChecksum: new Uint8Array(0),
    checksumType: ChecksumType.CRC32IEEE,
    version: 0n,
    compressionType: CompressionType.None,
  };
}

/** Deep copy of a Snapshot record (maps, files and byte fields included). */
export function cloneSnapshot(s: Snapshot): Snapshot {
  return structuredClone(s);
}

// --- plain <-> generated message ------------------------------------------------

type Init<T> = Partial<Omit<T, '$typeName' | '$unknown'>>;

/** Map → protobuf-es map object, keys inserted in ascending bigint order. */
function mapToObject<V>(m: Map<bigint, V>): { [key: string]: V } {
  const keys = [...m.keys()].sort((a, b) => (a < b ? -1 : a > b ? 1 : 0));
  const out: { [key: string]: V } = {};
  // Object keys that look like array indices (< 2^32-1) iterate first in
  // numeric order, the rest in insertion order: inserting sorted keeps the
  // whole iteration - and so the encoded entry order - sorted.
  for (const k of keys) out[k.toString()] = m.get(k)!;
  return out;
}

/** protobuf-es map object → Map sorted by key. */
function objectToMap<V>(o: { [key: string]: V }): Map<bigint, V> {
  const keys = Object.keys(o)
    .map((k) => BigInt(k))
    .sort((a, b) => (a < b ? -1 : a > b ? 1 : 0));
  const m = new Map<bigint, V>();
  for (const k of keys) m.set(k, o[k.toString()]!);
  return m;
}

/**
 * Byte fields are emitted only when non-empty: Dragonboat's gogoproto code
 * writes a `[]byte` field only when it is non-nil (every other field always),
 * and a record it decoded without the field has nil there. So an empty
 * Uint8Array stands for Go's nil, and decode → encode of a Dragonboat record
 * gives back its bytes.
 */
const bytesField = (b: Uint8Array): Uint8Array | undefined => (b.length > 0 ? b : undefined);

// `new Uint8Array(view)` copies into a plain Uint8Array; `slice()` would not
// copy when the input is a Node Buffer (Buffer#slice is a view).
const copy = (b: Uint8Array): Uint8Array => new Uint8Array(b);

function membershipInit(m: Membership): Init<pb.Membership> {
  return {
    configChangeId: m.configChangeId,
    addresses: mapToObject(m.addresses),
    removed: mapToObject(m.removed),
    nonVotings: mapToObject(m.nonVotings),
    witnesses: mapToObject(m.witnesses),
  };
}

function membershipFrom(m: pb.Membership | undefined): Membership {
  if (m === undefined) return emptyMembership();
  return {
    configChangeId: m.configChangeId,
    addresses: objectToMap(m.addresses),
    removed: objectToMap(m.removed),
    nonVotings: objectToMap(m.nonVotings),
    witnesses: objectToMap(m.witnesses),
  };
}

function snapshotFileInit(f: SnapshotFile): Init<pb.SnapshotFile> {
  return { filepath: f.filepath, fileSize: f.fileSize, fileId: f.fileId, metadata: bytesField(f.metadata) };
}

function snapshotFileFrom(f: pb.SnapshotFile): SnapshotFile {
  return { filepath: f.filepath, fileSize: f.fileSize, fileId: f.fileId, metadata: copy(f.metadata) };
}

// --- generic encode / decode ------------------------------------------------------

/** Enum fields to range-check before encoding: record field → allowed values. */
type EnumCheck = [field: string, value: number, allowed: object];

function checkEnums(record: string, checks: EnumCheck[]): void {
  for (const [field, value, allowed] of checks) {
    if (!Object.values(allowed).includes(value)) {
      throw new ErrMalformedRecord(`cannot encode ${record}: ${field} = ${value} is not a known value`, { record, field, actual: value });
    }
  }
}

function encode<D extends DescMessage>(schema: D, record: string, init: Init<MessageShape<D>>): Uint8Array {
  try {
    return toBinary(schema, create(schema, init as never));
  } catch (err) {
    if (err instanceof NodeHostToolsError) throw err;
    // The library rejects out-of-range integers (negative or ≥ 2^64 bigints,
    // non-uint32 bin_ver) here.
    throw new ErrMalformedRecord(`cannot encode ${record}: ${(err as Error).message}`, { record }, { cause: err });
  }
}

function decode<D extends DescMessage>(schema: D, record: string, bytes: Uint8Array): MessageShape<D> {
  if (!(bytes instanceof Uint8Array)) {
    throw new ErrMalformedRecord(`cannot decode ${record}: input is not bytes`, { record });
  }
  validateMessage(schema, bytes, 0, bytes.length, record);
  try {
    return fromBinary(schema, bytes, { readUnknownFields: false });
  } catch (err) {
    // Unreachable after validation; kept so a library surprise still
    // surfaces as a coded error rather than a crash.
    throw new ErrMalformedRecord(`malformed ${record} record: ${(err as Error).message}`, { record }, { cause: err });
  }
}

// --- public codec ----------------------------------------------------------------

/** Encodes a Membership record. */
export function encodeMembership(m: Membership): Uint8Array {
  return encode(pb.MembershipSchema, 'Membership', membershipInit(m));
}

/** Decodes a Membership record; throws {@link ErrMalformedRecord} on bad input. */
export function decodeMembership(bytes: Uint8Array): Membership {
  return membershipFrom(decode(pb.MembershipSchema, 'Membership', bytes));
}

/** Encodes a Snapshot record (log store value, `snapshot.metadata` payload). */
export function encodeSnapshot(s: Snapshot): Uint8Array {
  checkEnums('Snapshot', [['type', s.type, StateMachineType]]);
  return encode(pb.SnapshotSchema, 'Snapshot', {
    filepath: s.filepath,
    fileSize: s.fileSize,
    index: s.index,
    term: s.term,
    membership: create(pb.MembershipSchema, membershipInit(s.membership)),
    files: s.files.map((f) => create(pb.SnapshotFileSchema, snapshotFileInit(f))),
    checksum: bytesField(s.checksum),
    dummy: s.dummy,
    shardId: s.shardId,
    type: s.type as number as pb.StateMachineType,
    imported: s.imported,
    onDiskIndex: s.onDiskIndex,
    witness: s.witness,
  });
}

/** Decodes a Snapshot record; throws {@link ErrMalformedRecord} on bad input. */
export function decodeSnapshot(bytes: Uint8Array): Snapshot {
  const s = decode(pb.SnapshotSchema, 'Snapshot', bytes);
  return {
    filepath: s.filepath,
    fileSize: s.fileSize,
    index: s.index,
    term: s.term,
    membership: membershipFrom(s.membership),
    files: s.files.map(snapshotFileFrom),
    checksum: copy(s.checksum),
    dummy: s.dummy,
    shardId: s.shardId,
    type: s.type as number as StateMachineType,
    imported: s.imported,
    onDiskIndex: s.onDiskIndex,
    witness: s.witness,
  };
}

/** Encodes a Bootstrap record. */
export function encodeBootstrap(b: Bootstrap): Uint8Array {
  checkEnums('Bootstrap', [['type', b.type, StateMachineType]]);
  return encode(pb.BootstrapSchema, 'Bootstrap', {
    addresses: mapToObject(b.addresses),
    join: b.join,
    type: b.type as number as pb.StateMachineType,
  });
}

/** Decodes a Bootstrap record; throws {@link ErrMalformedRecord} on bad input. */
export function decodeBootstrap(bytes: Uint8Array): Bootstrap {
  const b = decode(pb.BootstrapSchema, 'Bootstrap', bytes);
  return { addresses: objectToMap(b.addresses), join: b.join, type: b.type as number as StateMachineType };
}

/** Encodes a raft State record. */
export function encodeRaftState(s: RaftState): Uint8Array {
  return encode(pb.StateSchema, 'RaftState', { term: s.term, vote: s.vote, commit: s.commit });
}

/** Decodes a raft State record; throws {@link ErrMalformedRecord} on bad input. */
export function decodeRaftState(bytes: Uint8Array): RaftState {
  const s = decode(pb.StateSchema, 'RaftState', bytes);
  return { term: s.term, vote: s.vote, commit: s.commit };
}

/** Encodes an Entry as Dragonboat stores it: Colfer, not protobuf (records/entry-colfer.ts). */
export function encodeEntry(e: Entry): Uint8Array {
  checkEnums('Entry', [['type', e.type, EntryType]]);
  return encodeEntryColfer(e);
}

/** Decodes a stored Entry (Colfer); throws {@link ErrMalformedRecord} on bad input. */
export function decodeEntry(bytes: Uint8Array): Entry {
  return decodeEntryColfer(bytes);
}

/** Encodes an EntryBatch as Dragonboat stores it: protobuf field 1 per entry, each entry Colfer. */
export function encodeEntryBatch(b: EntryBatch): Uint8Array {
  checkEnums(
    'EntryBatch',
    b.entries.map((e, i): EnumCheck => [`entries[${i}].type`, e.type, EntryType]),
  );
  return encodeEntryBatchColfer(b);
}

/** Decodes a stored EntryBatch; throws {@link ErrMalformedRecord} on bad input. */
export function decodeEntryBatch(bytes: Uint8Array): EntryBatch {
  return decodeEntryBatchColfer(bytes);
}

/** Encodes a RaftDataStatus record (payload of `dragonboat.ds`). */
export function encodeRaftDataStatus(s: RaftDataStatus): Uint8Array {
  return encode(pb.RaftDataStatusSchema, 'RaftDataStatus', {
    address: s.address,
    binVer: s.binVer,
    hardHash: s.hardHash,
    logdbType: s.logdbType,
    hostname: s.hostname,
    deploymentId: s.deploymentId,
    stepWorkerCount: s.stepWorkerCount,
    logdbShardCount: s.logdbShardCount,
    maxSessionCount: s.maxSessionCount,
    entryBatchSize: s.entryBatchSize,
    addressByNodeHostId: s.addressByNodeHostId,
  });
}

/** Decodes a RaftDataStatus record; throws {@link ErrMalformedRecord} on bad input. */
export function decodeRaftDataStatus(bytes: Uint8Array): RaftDataStatus {
  const s = decode(pb.RaftDataStatusSchema, 'RaftDataStatus', bytes);
  return {
    address: s.address,
    binVer: s.binVer,
    hardHash: s.hardHash,
    logdbType: s.logdbType,
    hostname: s.hostname,
    deploymentId: s.deploymentId,
    stepWorkerCount: s.stepWorkerCount,
    logdbShardCount: s.logdbShardCount,
    maxSessionCount: s.maxSessionCount,
    entryBatchSize: s.entryBatchSize,
    addressByNodeHostId: s.addressByNodeHostId,
  };
}

/**
 * Encodes a SnapshotHeader record. Note a `.gbsnap` header's
 * `header_checksum` covers the header *without* field 5: use
 * `buildHeaderArea` from `src/snapshot` to write a header, not this alone.
 */
export function encodeSnapshotHeader(h: SnapshotHeader): Uint8Array {
  checkEnums('SnapshotHeader', [
    ['checksumType', h.checksumType, ChecksumType],
    ['compressionType', h.compressionType, CompressionType],
  ]);
  return encode(pb.SnapshotHeaderSchema, 'SnapshotHeader', {
    sessionSize: h.sessionSize,
    dataStoreSize: h.dataStoreSize,
    unreliableTime: h.unreliableTime,
    gitVersion: h.gitVersion,
    headerChecksum: bytesField(h.headerChecksum),
    payloadChecksum: bytesField(h.payloadChecksum),
    checksumType: h.checksumType as number as pb.ChecksumType,
    version: h.version,
    compressionType: h.compressionType as number as pb.CompressionType,
  });
}

/** Decodes a SnapshotHeader record; throws {@link ErrMalformedRecord} on bad input. */
export function decodeSnapshotHeader(bytes: Uint8Array): SnapshotHeader {
  const h = decode(pb.SnapshotHeaderSchema, 'SnapshotHeader', bytes);
  return {
    sessionSize: h.sessionSize,
    dataStoreSize: h.dataStoreSize,
    unreliableTime: h.unreliableTime,
    gitVersion: h.gitVersion,
    headerChecksum: copy(h.headerChecksum),
    payloadChecksum: copy(h.payloadChecksum),
    checksumType: h.checksumType as number as ChecksumType,
    version: h.version,
    compressionType: h.compressionType as number as CompressionType,
  };
}
