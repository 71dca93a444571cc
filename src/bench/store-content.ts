/**
 * What the benchmark log stores hold, shared by the LevelDB and the Pebble
 * builders so that both stores hold exactly the same pairs: `entries`
 * entries (1..n) of the removal replica, `neighbourEntries` of a replica
 * sorting just before it and of one just after it, and the replica's
 * bootstrap, raft state and max index records. Values are deterministic
 * (see {@link benchNoise}).
 */
import { bootstrapKey, encodeMaxIndex, maxIndexKey, raftStateKey } from '../logdb/keys.js';
import { encodeBootstrap, encodeRaftState } from '../records/codec.js';
import { StateMachineType } from '../records/types.js';
import { entrySize } from './entries.js';
import { REMOVAL_REPLICA, REMOVAL_SHARD } from './protocol.js';

/** Term of every generated entry. */
export const STORE_TERM = 7;

/** One run of consecutive entries of one replica. */
export interface EntryRun {
  shard: number;
  replica: number;
  first: number;
  count: number;
}

/** The entry runs, in key order. */
export function entryRuns(entries: number, neighbourEntries: number): EntryRun[] {
  return [
    { shard: REMOVAL_SHARD - 1, replica: 3, first: 1, count: neighbourEntries },
    { shard: REMOVAL_SHARD, replica: REMOVAL_REPLICA, first: 1, count: entries },
    { shard: REMOVAL_SHARD, replica: REMOVAL_REPLICA + 1, first: 1, count: neighbourEntries },
  ].filter((r) => r.count > 0);
}

/** Length of the command bytes that make an entry value about `valueSize` bytes. */
export function commandLength(valueSize: number): number {
  return Math.max(0, valueSize - entrySize(0x0fff_ffff, STORE_TERM, 0) - 1);
}

/** The replica's records (bootstrap, raft state, max index), in no particular order. */
export function replicaRecords(entries: number): { key: Uint8Array; value: Uint8Array }[] {
  return [
    {
      key: bootstrapKey(REMOVAL_SHARD, REMOVAL_REPLICA),
      value: encodeBootstrap({ addresses: new Map([[1n, 'bench-1:63001']]), join: false, type: StateMachineType.Regular }),
    },
    {
      key: raftStateKey(REMOVAL_SHARD, REMOVAL_REPLICA),
      value: encodeRaftState({ term: BigInt(STORE_TERM), vote: 1n, commit: BigInt(entries) }),
    },
    { key: maxIndexKey(REMOVAL_SHARD, REMOVAL_REPLICA), value: encodeMaxIndex(BigInt(entries)) },
  ];
}
