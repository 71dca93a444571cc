/**
 * The seam between the log store's semantics (`logdb.ts`: Dragonboat's keys,
 * records and entry formats) and the engine that holds one partition's bytes.
 * Two engines implement it: LevelDB (`leveldb-partition.ts`, through
 * classic-level) and Pebble (`pebble/`, read and written directly). The
 * operations above `LogDB` never learn which one they hold.
 */
import type { KeyRange } from './keys.js';

/** One operation of an atomic write batch. */
export type KvOp =
  | { type: 'put'; key: Uint8Array; value: Uint8Array }
  | { type: 'del'; key: Uint8Array }
  /** Deletes every key `start <= key < end` (Pebble: one range tombstone; LevelDB: expanded into point deletes). */
  | { type: 'delRange'; start: Uint8Array; end: Uint8Array }
  | PutMany;

/**
 * Many puts produced on demand, so that a batch of a million entries (a
 * carried log suffix) is never held in memory: `pairs()` yields them in
 * pieces (a piece per turn of the event loop, not a pair), may be called
 * more than once (Pebble sizes its batch first) and must yield the same
 * `count` pairs each time; a piece's bytes need only stay valid until the
 * next piece is asked for. `bytes`, when the producer knows it, is the pairs' size as a
 * batch spends it besides a kind byte: for each pair the key and the value,
 * each preceded by its length as an unsigned varint (LevelDB's and Pebble's
 * batch encoding alike); it spares Pebble the sizing pass.
 */
export interface PutMany {
  type: 'putMany';
  count: number;
  bytes?: number;
  pairs(): AsyncIterable<readonly (readonly [Uint8Array, Uint8Array])[]>;
  /**
   * The same puts already encoded as a batch body spends them, when the
   * producer can make them without JavaScript per pair (the addon): pieces
   * of `0x01 | uvarint key length | key | uvarint value length | value`
   * operations, `count` of them in each piece, `bytes + count` bytes in all
   * (so `bytes` is given with it). A store whose batch takes these bytes as
   * they are (Pebble) copies them straight in; another uses `pairs()`. Both
   * must describe the same puts. A piece's bytes need only stay valid until
   * the next piece is asked for.
   */
  encoded?(): AsyncIterable<EncodedPuts>;
}

/** A piece of {@link PutMany.encoded}: `count` put operations, encoded. */
export interface EncodedPuts {
  bytes: Uint8Array;
  count: number;
}

/** Iteration options. */
export interface IterateOptions {
  reverse?: boolean;
  /** At most this many pairs (default: all). */
  limit?: number;
}

/** The log store kinds Dragonboat v4 names in `dragonboat.ds` (`logdb_type`) that this tool reads and writes. */
export type LogStoreKind = 'pebble' | 'leveldb';

/** One partition (`H/D/logdb-<p>`) of a log store. A partition that does not exist reads as empty. */
export interface PartitionStore {
  readonly kind: LogStoreKind;
  /** The partition directory. */
  readonly dir: string;
  readonly readOnly: boolean;
  /** True when the partition holds a store on disk (false: reads are empty, the first write creates it). */
  exists(): Promise<boolean>;
  get(key: Uint8Array): Promise<Uint8Array | undefined>;
  /** `[key, value]` pairs of `range` in key order (or reverse). */
  iterate(range: KeyRange, opts?: IterateOptions): AsyncGenerator<[Uint8Array, Uint8Array]>;
  /** Applies `ops` as ONE atomic, durable batch (creating the store if needed). Later ops win over earlier ones. */
  write(ops: readonly KvOp[]): Promise<void>;
  /**
   * Makes every key of `ranges` physically go away (not just invisible):
   * LevelDB deletes and compacts; Pebble writes range tombstones, which its
   * next compaction applies to whole files.
   */
  removeRanges(ranges: readonly KeyRange[], signal?: AbortSignal): Promise<void>;
  close(): Promise<void>;
}
