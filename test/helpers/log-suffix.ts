/**
 * The header of a test log suffix: shard 100 replica 1 (the worked
 * example's survivor), continuing a snapshot at `first - 1`, term 3, with
 * every entry from `first` to `last`; `over` changes any field.
 */
import type { LogSuffixHeader } from '../../src/records/log-suffix.js';

export function suffixHeader(first: bigint, last: bigint, over: Partial<LogSuffixHeader> = {}): LogSuffixHeader {
  return {
    shardId: 100n,
    replicaId: 1n,
    snapshotIndex: first - 1n,
    snapshotTerm: 3n,
    firstIndex: first,
    lastIndex: last,
    entryCount: last - first + 1n,
    survivor: { raftAddress: 'm1:63001', nodeHostDir: '/data/m1', term: 5n, commit: last },
    ...over,
  };
}
