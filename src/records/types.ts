/**
 * Plain TypeScript shapes of Dragonboat's protobuf records (docs/formats.md §1).
 *
 * These are the public, library-facing types: 64-bit integers are `bigint`,
 * protobuf maps are `Map`s keyed by bigint replica IDs, byte fields are
 * `Uint8Array`. The wire codec lives beside this file; nothing here does I/O.
 */

/** Dragonboat's StateMachineType enum. */
export enum StateMachineType {
  Unknown = 0,
  Regular = 1,
  Concurrent = 2,
  OnDisk = 3,
}

/** Dragonboat's ChecksumType enum; only CRC32IEEE is ever written. */
export enum ChecksumType {
  CRC32IEEE = 0,
  HIGHWAY = 1,
}

/** Dragonboat's CompressionType enum (describes the snapshot payload's content). */
export enum CompressionType {
  None = 0,
  Snappy = 1,
}

/** Dragonboat's EntryType enum. */
export enum EntryType {
  Application = 0,
  ConfigChange = 1,
  Encoded = 2,
  Metadata = 3,
}

/** A shard's membership. Keys are replica IDs. */
export interface Membership {
  configChangeId: bigint;
  addresses: Map<bigint, string>;
  removed: Map<bigint, boolean>;
  nonVotings: Map<bigint, string>;
  witnesses: Map<bigint, string>;
}

/** An external file of an on-disk state machine snapshot. */
export interface SnapshotFile {
  filepath: string;
  fileSize: bigint;
  fileId: bigint;
  metadata: Uint8Array;
}

/** Dragonboat's Snapshot record (log store value and `snapshot.metadata` payload). */
export interface Snapshot {
  filepath: string;
  fileSize: bigint;
  index: bigint;
  term: bigint;
  membership: Membership;
  files: SnapshotFile[];
  checksum: Uint8Array;
  dummy: boolean;
  shardId: bigint;
  type: StateMachineType;
  imported: boolean;
  onDiskIndex: bigint;
  witness: boolean;
}

/** Dragonboat's Bootstrap record. */
export interface Bootstrap {
  addresses: Map<bigint, string>;
  join: boolean;
  type: StateMachineType;
}

/** Dragonboat's raft State record (hard state). */
export interface RaftState {
  term: bigint;
  vote: bigint;
  commit: bigint;
}

/** A Raft log entry (stored as Colfer: docs/formats.md §1). */
export interface Entry {
  term: bigint;
  index: bigint;
  type: EntryType;
  key: bigint;
  clientId: bigint;
  seriesId: bigint;
  respondedTo: bigint;
  cmd: Uint8Array;
}

/** Dragonboat's EntryBatch record. */
export interface EntryBatch {
  entries: Entry[];
}

/** Payload of `dragonboat.ds`. */
export interface RaftDataStatus {
  address: string;
  binVer: number;
  hardHash: bigint;
  logdbType: string;
  hostname: string;
  deploymentId: bigint;
  stepWorkerCount: bigint;
  logdbShardCount: bigint;
  maxSessionCount: bigint;
  entryBatchSize: bigint;
  addressByNodeHostId: boolean;
}

/** Header of a `.gbsnap` snapshot file. */
export interface SnapshotHeader {
  sessionSize: bigint;
  dataStoreSize: bigint;
  unreliableTime: bigint;
  gitVersion: string;
  headerChecksum: Uint8Array;
  payloadChecksum: Uint8Array;
  checksumType: ChecksumType;
  version: bigint;
  compressionType: CompressionType;
}
