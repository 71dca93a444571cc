/** Dragonboat's fixed ("hard") settings and format numbers that this project must match. Pure constants. */

/** Dragonboat v4's default log store (Pebble), as `logdb_type` in `dragonboat.ds`. */
export const LOGDB_TYPE_PEBBLE = 'sharded-pebble';
/** The RocksDB-era name of the same store; Dragonboat v4 opens such a directory with Pebble. */
export const LOGDB_TYPE_ROCKSDB = 'sharded-rocksdb';
/** A LevelDB log store with Dragonboat's key layout (this project's interop harness plugs one in). */
export const LOGDB_TYPE_LEVELDB = 'sharded-leveldb';
/** What a NodeHost runs unless its owner plugged in another store: Dragonboat v4's default. */
export const DEFAULT_LOGDB_TYPE = LOGDB_TYPE_PEBBLE;
/** The `logdb_type` names this tool reads and writes. */
export const LOGDB_TYPES = [LOGDB_TYPE_PEBBLE, LOGDB_TYPE_ROCKSDB, LOGDB_TYPE_LEVELDB] as const;
/** A `logdb_type` name this tool reads and writes. */
export type LogDBType = (typeof LOGDB_TYPES)[number];
/** The engine behind a `logdb_type` name, or undefined for a store this tool does not know. */
export function logStoreEngineOf(logdbType: string): 'pebble' | 'leveldb' | undefined {
  if (logdbType === LOGDB_TYPE_PEBBLE || logdbType === LOGDB_TYPE_ROCKSDB) return 'pebble';
  if (logdbType === LOGDB_TYPE_LEVELDB) return 'leveldb';
  return undefined;
}
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
