/**
 * fast-check arbitraries for the records (src/records/types.ts), shared by
 * the codec's round-trip properties and the lite decoders' differential.
 */
import fc from 'fast-check';
import {
  ChecksumType,
  CompressionType,
  StateMachineType,
  type Membership,
  type Snapshot,
  type SnapshotHeader,
} from '../../src/records/types.js';

/** Any unsigned 64-bit value. */
export const u64 = fc.bigInt({ min: 0n, max: 2n ** 64n - 1n });
/** Replica IDs: small ones and ones near 2^64, where key order bugs show. */
export const replicaKey = fc.oneof(fc.bigInt({ min: 0n, max: 2n ** 32n }), u64);
/** Short byte strings. */
export const shortBytes = fc.uint8Array({ maxLength: 24 });
/** Every state machine type. */
export const smType = fc.constantFrom(
  StateMachineType.Unknown,
  StateMachineType.Regular,
  StateMachineType.Concurrent,
  StateMachineType.OnDisk,
);

/** How the record arbitraries vary between suites. */
export interface RecordArbitraryOptions {
  /** The strings of every string field and map value. */
  str: fc.Arbitrary<string>;
  /** At most this many entries in each membership map. */
  maxMapSize: number;
}

/** Membership, Snapshot and SnapshotHeader arbitraries over `opts`' strings and map sizes. */
export function recordArbitraries(opts: RecordArbitraryOptions): {
  strMap: fc.Arbitrary<Map<bigint, string>>;
  boolMap: fc.Arbitrary<Map<bigint, boolean>>;
  membership: fc.Arbitrary<Membership>;
  snapshot: fc.Arbitrary<Snapshot>;
  header: fc.Arbitrary<SnapshotHeader>;
} {
  const { str, maxMapSize } = opts;
  const strMap = fc.uniqueArray(fc.tuple(replicaKey, str), { selector: (t) => t[0], maxLength: maxMapSize }).map((a) => new Map(a));
  const boolMap = fc
    .uniqueArray(fc.tuple(replicaKey, fc.boolean()), { selector: (t) => t[0], maxLength: maxMapSize })
    .map((a) => new Map(a));
  const membership: fc.Arbitrary<Membership> = fc.record({
    configChangeId: u64,
    addresses: strMap,
    removed: boolMap,
    nonVotings: strMap,
    witnesses: strMap,
  });
  const snapshot: fc.Arbitrary<Snapshot> = fc.record({
    filepath: str,
    fileSize: u64,
    index: u64,
    term: u64,
    membership,
    files: fc.array(fc.record({ filepath: str, fileSize: u64, fileId: u64, metadata: shortBytes }), { maxLength: 3 }),
    checksum: shortBytes,
    dummy: fc.boolean(),
    shardId: u64,
    type: smType,
    imported: fc.boolean(),
    onDiskIndex: u64,
    witness: fc.boolean(),
  });
  const header: fc.Arbitrary<SnapshotHeader> = fc.record({
    sessionSize: u64,
    dataStoreSize: u64,
    unreliableTime: u64,
    gitVersion: str,
    headerChecksum: shortBytes,
    payloadChecksum: shortBytes,
    checksumType: fc.constantFrom(ChecksumType.CRC32IEEE, ChecksumType.HIGHWAY),
    version: u64,
    compressionType: fc.constantFrom(CompressionType.None, CompressionType.Snappy),
  });
  return { strMap, boolMap, membership, snapshot, header };
}
