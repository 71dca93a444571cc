/** Dragonboat's fixed ("hard") settings and format numbers that this project must match. Pure constants. */

/** This project's log store type name, recorded as `logdb_type` in `dragonboat.ds`. */
export const LOGDB_TYPE = 'sharded-leveldb';
/** bin_ver of a store with plain entries. */
export const BIN_VER_PLAIN = 100;
/** bin_ver of a store with batched entries. */
export const BIN_VER_BATCHED = 210;
/** A log store format: plain (100) or batched (210) entries. */
export type BinVer = typeof BIN_VER_PLAIN | typeof BIN_VER_BATCHED;
/** Dragonboat's hard setting LRUMaxSessionCount. */
export const MAX_SESSION_COUNT = 4096n;
/** Dragonboat's hard setting LogDBEntryBatchSize: entries per EntryBatch record. */
export const ENTRY_BATCH_SIZE = 48n;
