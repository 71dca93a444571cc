export * from './keys.js';
export { batchIdRange, restoreBatchFields, compactBatchFields, mergeIntoBatch, groupByBatch } from './batches.js';
export { LogDBPartition, databaseExists } from './partition.js';
export type { BatchOp, PartitionOptions } from './partition.js';
export { LogDB, classicLevelRangeRemover } from './logdb.js';
export type {
  LogDBOptions,
  RaftUpdate,
  RaftStateRecord,
  NodeInfo,
  StoredEntry,
  EntryRead,
  MalformedRecord,
  NodeRecords,
  ImportPlan,
  RangeRemover,
  StaleEntryRemoval,
} from './logdb.js';
