export * from './keys.js';
export { batchIdRange, restoreBatchFields, compactBatchFields, mergeIntoBatch, groupByBatch } from './batches.js';
export { LogDBPartition, databaseExists } from './partition.js';
export type { BatchOp, PartitionOptions } from './partition.js';
export { LogDB, delRangeOf } from './logdb.js';
export type { KvOp, PartitionStore, LogStoreKind, IterateOptions } from './store.js';
export { resolveLogStore, checkPartitionFiles } from './store-kind.js';
export type { LogStoreChoice } from './store-kind.js';
export type {
  LogDBOptions,
  RaftUpdate,
  RaftStateRecord,
  NodeInfo,
  StoredEntry,
  EntryRead,
  MalformedRecord,
  NodeRecords,
  ImportBatch,
  StaleEntryRemoval,
} from './logdb.js';
