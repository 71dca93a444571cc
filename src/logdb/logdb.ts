/**
 * The NodeHost log store: one LevelDB database per partition under
 * `NodeHostDir/H/D/logdb-<p>`, with Dragonboat v4's keys and semantics
 * (internal/logdb db.go, plain and batched entry managers).
 *
 * Partitions are opened lazily, only when a shard in them is touched; reads
 * of a partition that does not exist yet see an empty store and create
 * nothing. With a WALDir, the partitions still live under NodeHostDir
 * (LevelDB cannot place its write-ahead log elsewhere); WALDir only gets its
 * own `dragonboat.ds`, LOCK and `H/D` tree.
 */
import {
  ErrIncompatibleData,
  ErrIncompleteSnapshot,
  ErrLogDB,
  ErrMalformedRecord,
  ErrUnknownStateMachineType,
  NodeHostToolsError,
} from '../errors.js';
import type { ResolvedNodeHostConfig } from '../nodehost/config.js';
import { BIN_VER_BATCHED, BIN_VER_PLAIN, ENTRY_BATCH_SIZE, type BinVer } from '../nodehost/settings.js';
import { logdbPartition, logdbPartitionDirByIndex, toU64 } from '../nodehost/paths.js';
import {
  decodeRaftDataStatus,
  decodeBootstrap,
  decodeEntry,
  decodeEntryBatch,
  decodeRaftState,
  decodeSnapshot,
  encodeBootstrap,
  encodeEntry,
  encodeEntryBatch,
  encodeRaftState,
  encodeSnapshot,
} from '../records/codec.js';
import { StateMachineType, type Bootstrap, type Entry, type EntryBatch, type RaftState, type Snapshot } from '../records/types.js';
import { uvarintSize } from '../pebble/varint.js';
import { batchIdRange, compactBatchFields, groupByBatch, mergeIntoBatch, restoreBatchFields } from './batches.js';
import {
  allEntriesRange,
  allEntryBatchesRange,
  batchIdOf,
  bootstrapKey,
  decodeKey,
  decodeMaxIndex,
  encodeMaxIndex,
  entryBatchKey,
  entryBatchRange,
  entryKey,
  entryRange,
  exclusiveEnd,
  keyHex,
  keySuffix,
  KeyKind,
  kindRange,
  maxIndexKey,
  MAX_U64,
  raftStateKey,
  snapshotKey,
  snapshotsRange,
  type KeyRange,
} from './keys.js';
import type { PartitionOptions } from './leveldb-partition.js';
import { resolveLogStore, type LogStoreChoice } from './store-kind.js';
import type { EncodedPuts, KvOp, LogStoreKind, PartitionStore, PutMany } from './store.js';
import { dataStatusPath, walPartitionDirByIndex } from '../nodehost/paths.js';
import { readFlagFileIfExists } from '../files/flagfile.js';

type Id = number | bigint;

/** Options of {@link LogDB.open}. */
export interface LogDBOptions extends PartitionOptions {
  /** The store's engine, when already known (e.g. from {@link resolveLogStore}); otherwise resolved on open. */
  store?: LogStoreChoice;
  /**
   * Entry format for writes into a store that holds no entries yet (default
   * plain, 100). A store that already holds entries keeps its format; asking
   * for the other one fails with ErrIncompatibleData on the first write.
   */
  entryFormat?: BinVer;
}

/** One node's changes for {@link LogDB.saveRaftState} (Dragonboat's pb.Update, storage part). */
export interface RaftUpdate {
  shardId: Id;
  replicaId: Id;
  /** Hard state; skipped when all zero. */
  state?: RaftState;
  /** Entries to append, strictly increasing indexes; they overwrite stored entries from their first index on. */
  entries?: readonly Entry[];
  /** A snapshot to record (skipped when its index is 0); older snapshot records of the node are deleted. */
  snapshot?: Snapshot;
}

/** What a restarting node reads (Dragonboat's raftio.RaftState). */
export interface RaftStateRecord {
  state: RaftState;
  /** First index to replay; the snapshot index when there is nothing to replay. */
  firstIndex: bigint;
  /** Number of entries to replay, `maxIndex - firstIndex + 1`, or 0. */
  entryCount: bigint;
}

/** A node with records in the log store. */
export interface NodeInfo {
  shardId: bigint;
  replicaId: bigint;
}

/** One stored entry as read back. */
export interface StoredEntry {
  index: bigint;
  /** The entry's bytes: the stored value (plain) or its re-encoding (batched). */
  value: Uint8Array;
  /** The decoded Entry (Colfer), or undefined when the value does not decode as one. */
  entry: Entry | undefined;
}

/** Result of {@link LogDB.iterateEntries}. */
export interface EntryRead {
  entries: StoredEntry[];
  /** Sum of the entries' byte sizes. */
  size: bigint;
}

/** A record that is present but cannot be decoded. */
export interface MalformedRecord {
  key: string;
  kind: string;
  error: NodeHostToolsError;
}

/** Every per-node record of one replica, read leniently (undecodable records are listed, not thrown). */
export interface NodeRecords {
  shardId: bigint;
  replicaId: bigint;
  partition: number;
  partitionDir: string;
  bootstrap: Bootstrap | undefined;
  raftState: RaftState | undefined;
  maxIndex: bigint | undefined;
  /** Snapshot records in key order; `snapshot` is undefined when the value did not decode. */
  snapshots: { index: bigint; snapshot: Snapshot | undefined }[];
  /** Index span of the plain entry keys, if any. */
  plainEntries: { first: bigint; last: bigint } | undefined;
  /** Batch-ID span of the entry batch keys, if any. */
  entryBatches: { first: bigint; last: bigint } | undefined;
  malformed: MalformedRecord[];
}

/** The latest snapshot record of `rec` that decodes (what a restarting node would use), if any. */
export function latestSnapshot(rec: NodeRecords): Snapshot | undefined {
  for (let i = rec.snapshots.length - 1; i >= 0; i--) {
    const s = rec.snapshots[i]!.snapshot;
    if (s !== undefined) return s;
  }
  return undefined;
}

/** True when the replica has any record or entry in the log store. */
export function hasNodeState(rec: NodeRecords): boolean {
  return (
    rec.bootstrap !== undefined ||
    rec.raftState !== undefined ||
    rec.snapshots.length > 0 ||
    rec.maxIndex !== undefined ||
    rec.plainEntries !== undefined ||
    rec.entryBatches !== undefined
  );
}

/**
 * Log entries an import writes after its snapshot (a carried log suffix,
 * docs/log-suffix.md), already validated: exactly `firstIndex ..
 * firstIndex + count - 1`, terms never going back. They are produced while
 * the store writes them, never held together.
 */
export interface ImportEntries {
  /** The snapshot index + 1. */
  firstIndex: bigint;
  count: number;
  /** The last entry's term. */
  lastTerm: bigint;
  /** Sum over the entries of their length as a varint plus their length: their values' share of a batch's size. */
  valueBytes: number;
  /**
   * The entries' bytes (an Entry as a plain, bin_ver 100, log stores it), in
   * index order, in pieces. May be called more than once, and yields the same
   * entries each time or throws (then the write fails and nothing is
   * written); a piece's values need only stay valid until the next piece is
   * asked for.
   */
  values(): AsyncIterable<readonly Uint8Array[]>;
  /**
   * The same entries as batch puts under keys `keyPrefix` + index (8 bytes,
   * big-endian), encoded (see {@link PutMany.encoded}), when the producer
   * can make them without JavaScript per entry; same contract as `values`.
   */
  encodedPuts?(keyPrefix: Uint8Array): AsyncIterable<EncodedPuts>;
}

/** The records an import replaces and writes. */
export interface ImportWrite {
  shardId: bigint;
  replicaId: bigint;
  partition: number;
  partitionDir: string;
  after: { bootstrap: Bootstrap; raftState: RaftState; maxIndex: bigint; snapshot: Snapshot };
  /** The exact write batch, deletes first. */
  ops: KvOp[];
  /**
   * The batch also removes the replica's entries (a range tombstone where the
   * store has cheap range deletions): nothing is left for
   * {@link LogDB.removeStaleEntries} after it commits.
   */
  entriesRemoved: boolean;
  /** The entries written after the snapshot, when the import carried some, and the format they were written in. */
  entries?: { firstIndex: bigint; lastIndex: bigint; format: BinVer };
}

/** One replica's import for {@link LogDB.importSnapshots}. */
export interface ImportRequest {
  snapshot: Snapshot;
  replicaId: Id;
  /** Entries past the snapshot written in the same batch (the carried log suffix). */
  entries?: ImportEntries;
}

/** An import's write batch and the records it replaces. */
export interface ImportBatch extends ImportWrite {
  before: NodeRecords;
}

/** Result of {@link LogDB.removeStaleEntries}. */
export interface StaleEntryRemoval {
  shardId: bigint;
  replicaId: bigint;
  partitionDir: string;
  /** Entry indexes kept (`[first, last]`), or undefined when every entry was stale. */
  kept: { first: bigint; last: bigint } | undefined;
  ranges: KeyRange[];
  /** Keys removed, where they were counted (LevelDB walks them anyway; Pebble removes ranges without reading them). */
  plainEntriesRemoved: number | undefined;
  entryBatchesRemoved: number | undefined;
}

/** The first (or with `reverse`, last) pair of `range`. */
async function firstPair(part: PartitionStore, range: KeyRange, reverse = false): Promise<[Uint8Array, Uint8Array] | undefined> {
  for await (const kv of part.iterate(range, { reverse, limit: 1 })) return kv;
  return undefined;
}

/** True when `range` holds at least one key. */
async function anyKey(part: PartitionStore, range: KeyRange): Promise<boolean> {
  return (await firstPair(part, range)) !== undefined;
}

/** The keys of `range`, in order. */
async function* keysOf(part: PartitionStore, range: KeyRange): AsyncGenerator<Uint8Array> {
  for await (const [k] of part.iterate(range)) yield k;
}

/** An inclusive or half-open key range as one range deletion. */
export function delRangeOf(range: KeyRange): KvOp {
  return { type: 'delRange', start: range.gte, end: exclusiveEnd(range) };
}

function isEmptyState(s: RaftState): boolean {
  return s.term === 0n && s.vote === 0n && s.commit === 0n;
}

function decodeValue<T>(decode: (b: Uint8Array) => T, value: Uint8Array, what: string, key: Uint8Array, dir: string): T {
  try {
    return decode(value);
  } catch (err) {
    if (err instanceof NodeHostToolsError) {
      throw new ErrMalformedRecord(
        `${what} record ${keyHex(key)} in ${dir} cannot be decoded: ${err.message}`,
        {
          ...err.details,
          path: dir,
          key: keyHex(key),
          record: what,
        },
        { cause: err },
      );
    }
    throw err;
  }
}

/**
 * Puts the carried entries in the host's format: plain, one key per entry
 * holding its bytes as they are; batched (210), Dragonboat's batches of 48
 * (the first one partial: the entries before it are at or below the snapshot
 * index, which the import drops), each compacted as Dragonboat writes it.
 */
function pushImportEntries(ops: KvOp[], s: bigint, r: bigint, entries: ImportEntries, format: BinVer): void {
  ops.push(format === BIN_VER_PLAIN ? plainEntriesPut(s, r, entries) : batchedEntriesPut(s, r, entries));
}

/**
 * Plain entries: one key per entry (the keys of a piece in one buffer), the
 * value as it comes. The batch size is known, which spares Pebble a sizing
 * pass.
 */
function plainEntriesPut(s: bigint, r: bigint, entries: ImportEntries): PutMany {
  const keySize = entryKey(s, r, entries.firstIndex).length;
  const prefix = entryKey(s, r, 0n).subarray(0, keySize - 8);
  const encodedPuts = entries.encodedPuts?.bind(entries);
  return {
    type: 'putMany',
    count: entries.count,
    bytes: entries.valueBytes + entries.count * (uvarintSize(keySize) + keySize),
    ...(encodedPuts ? { encoded: () => encodedPuts(prefix) } : {}),
    async *pairs() {
      let index = entries.firstIndex;
      for await (const values of entries.values()) {
        const keys = new Uint8Array(keySize * values.length);
        const dv = new DataView(keys.buffer);
        const piece: (readonly [Uint8Array, Uint8Array])[] = [];
        for (let i = 0; i < values.length; i++) {
          keys.set(prefix, i * keySize);
          dv.setBigUint64(i * keySize + keySize - 8, index++);
          piece.push([keys.subarray(i * keySize, (i + 1) * keySize), values[i]!]);
        }
        yield piece;
      }
    },
  };
}

/**
 * Batched entries (210): Dragonboat's batches of 48 by `index / 48`, each
 * compacted as Dragonboat writes it; the first one partial (the entries
 * before it are at or below the snapshot index, which the import drops).
 * One batch is decoded and encoded at a time.
 */
function batchedEntriesPut(s: bigint, r: bigint, entries: ImportEntries): PutMany {
  const first = entries.firstIndex;
  const last = first + BigInt(entries.count - 1);
  return {
    type: 'putMany',
    count: Number(batchIdOf(last) - batchIdOf(first)) + 1,
    async *pairs() {
      let run: Entry[] = [];
      let index = first;
      const flush = (): readonly [Uint8Array, Uint8Array] => {
        const pair = [entryBatchKey(s, r, batchIdOf(run[0]!.index)), encodeEntryBatch(compactBatchFields({ entries: run }))] as const;
        run = [];
        return pair;
      };
      for await (const values of entries.values()) {
        const piece: (readonly [Uint8Array, Uint8Array])[] = [];
        for (const value of values) {
          run.push(decodeEntry(value));
          if (++index % ENTRY_BATCH_SIZE === 0n) piece.push(flush());
        }
        if (piece.length > 0) yield piece;
      }
      if (run.length > 0) yield [flush()];
    },
  };
}

/**
 * The imports of one partition as one batch: every deletion first, then the
 * puts, each group in its order. The imports touch disjoint keys (one
 * replica each), and within one import a deletion covering a key it puts
 * already comes before that put, so the result is the same; but a LevelDB
 * batch cannot apply a range deletion after a putMany (its pairs are not
 * kept to be matched against the range).
 */
function deletionsFirst(ops: KvOp[]): KvOp[] {
  const isPut = (op: KvOp): boolean => op.type === 'put' || op.type === 'putMany';
  return [...ops.filter((op) => !isPut(op)), ...ops.filter(isPut)];
}

/** Makes the partition object of index `p` (not opened). */
type PartitionFactory = (p: number) => PartitionStore;

/**
 * The backend of `kind`, loaded only when a host has that store: a Pebble
 * host never loads classic-level.
 */
async function partitionFactory(cfg: ResolvedNodeHostConfig, kind: LogStoreKind, opts: LogDBOptions): Promise<PartitionFactory> {
  if (kind === 'pebble') {
    const { PebblePartition } = await import('./pebble/partition.js');
    return (p) => {
      const dataDir = logdbPartitionDirByIndex(cfg, p);
      return new PebblePartition({ dataDir, walDir: walPartitionDirByIndex(cfg, p) ?? dataDir }, opts);
    };
  }
  const { LogDBPartition } = await import('./leveldb-partition.js');
  return (p) => new LogDBPartition(logdbPartitionDirByIndex(cfg, p), { nodeHostDir: cfg.nodeHostDir, ...opts });
}

/** The log store of one NodeHost. Create with {@link LogDB.open}; close when done. */
export class LogDB {
  readonly config: ResolvedNodeHostConfig;
  readonly readOnly: boolean;
  /** The engine holding this store and where that came from. */
  readonly store: LogStoreChoice;
  private readonly opts: LogDBOptions;
  private readonly partitions = new Map<number, PartitionStore>();
  private detected: BinVer | undefined | null = null; // null: not detected yet
  private closed = false;

  private readonly openPartition: PartitionFactory;

  private constructor(cfg: ResolvedNodeHostConfig, store: LogStoreChoice, openPartition: PartitionFactory, opts: LogDBOptions) {
    this.config = cfg;
    this.store = store;
    this.openPartition = openPartition;
    this.opts = opts;
    this.readOnly = opts.readOnly ?? false;
  }

  /**
   * Opens the log store of `cfg`: its engine (Pebble or LevelDB) comes from
   * `dragonboat.ds`, else the configured `logdbType`, else Dragonboat v4's
   * default, Pebble. Nothing is opened or created until a partition is needed,
   * and each partition's files are checked against the engine before it reads
   * them. With `readOnly` the originals stay byte-for-byte unchanged.
   */
  static async open(cfg: ResolvedNodeHostConfig, opts: LogDBOptions = {}): Promise<LogDB> {
    const store = opts.store ?? (await resolveLogStore(cfg));
    return new LogDB(cfg, store, await partitionFactory(cfg, store.kind, opts), opts);
  }

  /** The engine holding this store. */
  get kind(): LogStoreKind {
    return this.store.kind;
  }

  /** Partition index of a shard. */
  partitionOf(shardId: Id): number {
    return logdbPartition(shardId, this.config.execShards, this.config.logDBShards);
  }

  /** Partition directory of a shard. */
  partitionDirOf(shardId: Id): string {
    return logdbPartitionDirByIndex(this.config, this.partitionOf(shardId));
  }

  /** The partition object of index `p` (created on first use, not opened). */
  partition(p: number): PartitionStore {
    if (this.closed) throw new ErrLogDB('the log store is closed', { check: 'closed' });
    const open = this.partitions.get(p);
    if (open) return open;
    const part = this.openPartition(p);
    this.partitions.set(p, part);
    return part;
  }

  private partFor(shardId: Id): PartitionStore {
    return this.partition(this.partitionOf(shardId));
  }

  /** Closes every opened partition. */
  async close(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    const errors: unknown[] = [];
    for (const part of this.partitions.values()) {
      await part.close().catch((err: unknown) => errors.push(err));
    }
    this.partitions.clear();
    if (errors.length > 0) throw errors[0];
  }

  // --- format ---------------------------------------------------------------

  /**
   * The store's entry format: what its `dragonboat.ds` records (bin_ver),
   * else found in the store: 210 when any partition holds an entry batch key,
   * 100 when entries exist and none is batched, undefined when the store holds
   * no entries at all (either format is then consistent).
   */
  async detectEntryFormat(): Promise<BinVer | undefined> {
    if (this.detected !== null) return this.detected;
    // A directory Dragonboat ran records its format; reading it costs one small
    // file instead of opening every partition (on LevelDB, cloning each one).
    const status = await readFlagFileIfExists(dataStatusPath(this.config.nodeHostDir), decodeRaftDataStatus);
    if (status?.binVer === BIN_VER_PLAIN || status?.binVer === BIN_VER_BATCHED) {
      this.detected = status.binVer;
      return this.detected;
    }
    let plain = false;
    for (let p = 0; p < this.config.logDBShards; p++) {
      const part = this.partition(p);
      if (!(await part.exists())) continue;
      if (await anyKey(part, kindRange(KeyKind.EntryBatch))) {
        this.detected = BIN_VER_BATCHED;
        return this.detected;
      }
      if (!plain && (await anyKey(part, kindRange(KeyKind.Entry)))) plain = true;
    }
    this.detected = plain ? BIN_VER_PLAIN : undefined;
    return this.detected;
  }

  /** The store's format (bin_ver): detected, else the configured `entryFormat`, else 100. */
  async binaryFormat(): Promise<BinVer> {
    return (await this.detectEntryFormat()) ?? this.opts.entryFormat ?? BIN_VER_PLAIN;
  }

  private async writeFormat(): Promise<BinVer> {
    const found = await this.detectEntryFormat();
    if (found !== undefined && this.opts.entryFormat !== undefined && found !== this.opts.entryFormat) {
      throw new ErrIncompatibleData(
        `the log store holds entries in format ${found}, writing format ${this.opts.entryFormat} was requested`,
        { path: this.config.nodeHostDir, check: 'bin-ver', expected: this.opts.entryFormat, actual: found },
      );
    }
    return found ?? this.opts.entryFormat ?? BIN_VER_PLAIN;
  }

  // --- simple records -----------------------------------------------------------

  private async getDecoded<T>(shardId: Id, key: Uint8Array, what: string, decode: (b: Uint8Array) => T): Promise<T | undefined> {
    const part = this.partFor(shardId);
    const v = await part.get(key);
    return v === undefined ? undefined : decodeValue(decode, v, what, key, part.dir);
  }

  /** The node's bootstrap record, or undefined. */
  async getBootstrap(shardId: Id, replicaId: Id): Promise<Bootstrap | undefined> {
    return this.getDecoded(shardId, bootstrapKey(shardId, replicaId), 'bootstrap', decodeBootstrap);
  }

  /** Writes the node's bootstrap record (one synced batch). */
  async saveBootstrap(shardId: Id, replicaId: Id, bootstrap: Bootstrap): Promise<void> {
    await this.partFor(shardId).write([{ type: 'put', key: bootstrapKey(shardId, replicaId), value: encodeBootstrap(bootstrap) }]);
  }

  /** The node's raft hard state, or undefined. */
  async getRaftState(shardId: Id, replicaId: Id): Promise<RaftState | undefined> {
    return this.getDecoded(shardId, raftStateKey(shardId, replicaId), 'raft state', decodeRaftState);
  }

  /** The node's max index record, or undefined (no saved log). */
  async getMaxIndex(shardId: Id, replicaId: Id): Promise<bigint | undefined> {
    return this.getDecoded(shardId, maxIndexKey(shardId, replicaId), 'max index', (v) => decodeMaxIndex(v));
  }

  /** Every snapshot record of the node, ascending by index. */
  async listSnapshots(shardId: Id, replicaId: Id): Promise<Snapshot[]> {
    const part = this.partFor(shardId);
    const out: Snapshot[] = [];
    for await (const [k, v] of part.iterate(snapshotsRange(shardId, replicaId))) {
      out.push(decodeValue(decodeSnapshot, v, 'snapshot', k, part.dir));
    }
    return out;
  }

  /** The node's latest snapshot record (highest index), or undefined. */
  async getSnapshot(shardId: Id, replicaId: Id): Promise<Snapshot | undefined> {
    const part = this.partFor(shardId);
    const kv = await firstPair(part, snapshotsRange(shardId, replicaId), true);
    return kv === undefined ? undefined : decodeValue(decodeSnapshot, kv[1], 'snapshot', kv[0], part.dir);
  }

  /** Every node that has a bootstrap record, partition by partition in key order. */
  async listNodeInfo(): Promise<NodeInfo[]> {
    const out: NodeInfo[] = [];
    for (let p = 0; p < this.config.logDBShards; p++) {
      const part = this.partition(p);
      if (!(await part.exists())) continue;
      for await (const k of keysOf(part, kindRange(KeyKind.Bootstrap))) {
        const d = decodeKey(k);
        if (d) out.push({ shardId: d.shardId, replicaId: d.replicaId });
      }
    }
    return out;
  }

  // --- raft state and entries -------------------------------------------------------

  /**
   * Saves raft updates like Dragonboat's saveRaftState: per update the hard
   * state (unless empty), the snapshot record (unless index 0; older ones are
   * deleted) with max index = its index, then the entries with max index =
   * their last index. All updates of one partition go in ONE synced batch;
   * updates in different partitions are separate batches.
   */
  async saveRaftState(updates: readonly RaftUpdate[]): Promise<void> {
    const byPartition = new Map<number, KvOp[]>();
    const pendingBatches = new Map<string, EntryBatch>();
    let format: BinVer | undefined;
    for (const ud of updates) {
      const s = toU64(ud.shardId, 'shardId');
      const r = toU64(ud.replicaId, 'replicaId');
      const p = this.partitionOf(s);
      const part = this.partition(p);
      let ops = byPartition.get(p);
      if (!ops) {
        ops = [];
        byPartition.set(p, ops);
      }
      const put = (key: Uint8Array, value: Uint8Array): void => {
        ops!.push({ type: 'put', key, value });
      };
      const entries = ud.entries ?? [];
      for (let i = 1; i < entries.length; i++) {
        if (entries[i]!.index <= entries[i - 1]!.index) {
          throw new ErrLogDB(`entries of shard ${s} replica ${r} must have strictly increasing indexes`, {
            check: 'entry-order',
            actual: [entries[i - 1]!.index, entries[i]!.index],
          });
        }
      }
      if (ud.state && !isEmptyState(ud.state)) put(raftStateKey(s, r), encodeRaftState(ud.state));
      if (ud.snapshot && ud.snapshot.index !== 0n) {
        const ss = ud.snapshot;
        const lastIndex = entries.length > 0 ? entries[entries.length - 1]!.index : undefined;
        if (lastIndex !== undefined && ss.index > lastIndex) {
          throw new ErrLogDB(`snapshot index ${ss.index} of shard ${s} replica ${r} is beyond its last new entry ${lastIndex}`, {
            check: 'snapshot-index',
            expected: `<= ${lastIndex}`,
            actual: ss.index,
          });
        }
        for await (const k of keysOf(part, snapshotsRange(s, r))) {
          if (keySuffix(k) < ss.index) ops.push({ type: 'del', key: k });
        }
        put(snapshotKey(s, r, ss.index), encodeSnapshot(ss));
        put(maxIndexKey(s, r), encodeMaxIndex(ss.index));
      }
      if (entries.length > 0) {
        format ??= await this.writeFormat();
        if (format === BIN_VER_PLAIN) {
          for (const e of entries) put(entryKey(s, r, e.index), encodeEntry(e));
        } else {
          const groups = groupByBatch(entries);
          for (let g = 0; g < groups.length; g++) {
            const { batchId, entries: run } = groups[g]!;
            const key = entryBatchKey(s, r, batchId);
            let merged = run;
            if (g === 0 && run[0]!.index % ENTRY_BATCH_SIZE !== 0n) {
              const cacheKey = `${p}:${keyHex(key)}`;
              let prev = pendingBatches.get(cacheKey);
              if (prev === undefined) {
                const v = await part.get(key);
                prev = v === undefined ? undefined : restoreBatchFields(decodeValue(decodeEntryBatch, v, 'entry batch', key, part.dir));
              }
              merged = mergeIntoBatch(prev, run);
            }
            pendingBatches.set(`${p}:${keyHex(key)}`, { entries: merged });
            put(key, encodeEntryBatch(compactBatchFields({ entries: merged })));
          }
        }
        const maxIndex = entries[entries.length - 1]!.index;
        if (maxIndex > 0n) put(maxIndexKey(s, r), encodeMaxIndex(maxIndex));
      }
    }
    for (const [p, ops] of byPartition) await this.partition(p).write(ops);
    if (format !== undefined && this.detected === undefined) this.detected = format;
  }

  /** Whether this replica's entries are batched (any entry batch key of the replica). */
  private async replicaIsBatched(part: PartitionStore, s: bigint, r: bigint): Promise<boolean> {
    return anyKey(part, allEntryBatchesRange(s, r));
  }

  /**
   * The range of entries a restarting node replays (Dragonboat's getRange):
   * none when there is no max index or it equals the snapshot index, else from
   * the first entry at or after `snapshotIndex` to the max index.
   */
  async getEntryRange(shardId: Id, replicaId: Id, snapshotIndex: Id): Promise<{ firstIndex: bigint; entryCount: bigint }> {
    const s = toU64(shardId, 'shardId');
    const r = toU64(replicaId, 'replicaId');
    const snap = toU64(snapshotIndex, 'snapshotIndex');
    const maxIndex = await this.getMaxIndex(s, r);
    if (maxIndex === undefined || maxIndex === snap) return { firstIndex: snap, entryCount: 0n };
    const part = this.partFor(s);
    let first: bigint | undefined;
    if (await this.replicaIsBatched(part, s, r)) {
      const [low, high] = batchIdRange(snap, maxIndex + 1n);
      outer: for await (const [k, v] of part.iterate(entryBatchRange(s, r, low, high))) {
        const batch = restoreBatchFields(decodeValue(decodeEntryBatch, v, 'entry batch', k, part.dir));
        if (batch.entries.length === 0) {
          throw new ErrLogDB(`empty entry batch ${keyHex(k)} in ${part.dir}`, { path: part.dir, check: 'empty-batch', key: keyHex(k) });
        }
        for (const e of batch.entries) {
          if (e.index >= snap && e.index <= maxIndex) {
            first = e.index;
            break outer;
          }
        }
      }
    } else if (snap <= maxIndex) {
      const kv = await firstPair(part, { gte: entryKey(s, r, snap), lte: entryKey(s, r, maxIndex) });
      if (kv) first = keySuffix(kv[0]);
    }
    if (first === undefined || first === 0n) {
      if (maxIndex !== 0n) {
        throw new ErrLogDB(
          `shard ${s} replica ${r} records max index ${maxIndex} but has no entry between the snapshot index ${snap} and it ` +
            `in ${part.dir}: the log store is inconsistent (a restarting Dragonboat node would panic here)`,
          { path: part.dir, check: 'entry-range', expected: `entries in [${snap}, ${maxIndex}]`, actual: 'none' },
        );
      }
      return { firstIndex: 0n, entryCount: 0n };
    }
    return { firstIndex: first, entryCount: maxIndex - first + 1n };
  }

  /**
   * What a restarting node reads: the hard state plus the entry range to
   * replay after `snapshotIndex`. Undefined when the node has no raft state
   * (Dragonboat's ErrNoSavedLog).
   */
  async readRaftState(shardId: Id, replicaId: Id, snapshotIndex: Id): Promise<RaftStateRecord | undefined> {
    const range = await this.getEntryRange(shardId, replicaId, snapshotIndex);
    const state = await this.getRaftState(shardId, replicaId);
    return state === undefined ? undefined : { state, ...range };
  }

  /**
   * Reads consecutive entries with `low <= index < high` (high capped at max
   * index + 1), stopping at the first gap, or after the entry that takes the
   * total size over `maxSize` (Dragonboat's iterateEntries).
   */
  async iterateEntries(shardId: Id, replicaId: Id, low: Id, high: Id, maxSize: Id = MAX_U64): Promise<EntryRead> {
    const s = toU64(shardId, 'shardId');
    const r = toU64(replicaId, 'replicaId');
    const lo = toU64(low, 'low');
    let hi = toU64(high, 'high');
    const limit = toU64(maxSize, 'maxSize');
    const entries: StoredEntry[] = [];
    let size = 0n;
    const maxIndex = await this.getMaxIndex(s, r);
    if (maxIndex === undefined) return { entries, size };
    if (hi > maxIndex + 1n) hi = maxIndex + 1n;
    if (lo >= hi) return { entries, size };
    const part = this.partFor(s);
    let expected = lo;
    if (await this.replicaIsBatched(part, s, r)) {
      const [lowId, highId] = batchIdRange(lo, hi);
      let expectedId = lowId;
      for await (const [k, v] of part.iterate(entryBatchRange(s, r, lowId, highId))) {
        if (keySuffix(k) !== expectedId) break;
        expectedId++;
        const batch = restoreBatchFields(decodeValue(decodeEntryBatch, v, 'entry batch', k, part.dir));
        for (const e of batch.entries) {
          if (e.index < lo || e.index >= hi) continue;
          if (e.index !== expected) return { entries, size };
          const value = encodeEntry(e);
          entries.push({ index: e.index, value, entry: e });
          size += BigInt(value.length);
          expected++;
          if (size > limit) return { entries, size };
        }
      }
      return { entries, size };
    }
    for await (const [k, v] of part.iterate(entryRange(s, r, lo, hi))) {
      const index = keySuffix(k);
      if (index !== expected) break;
      let entry: Entry | undefined;
      try {
        entry = decodeEntry(v);
      } catch {
        entry = undefined;
      }
      entries.push({ index, value: v, entry });
      size += BigInt(v.length);
      expected++;
      if (size > limit) break;
    }
    return { entries, size };
  }

  /**
   * Streams the stored entries of a replica with `low <= index <= high`, in
   * index order, as they are on disk: gaps are not filled and not reported
   * (the caller decides what a gap means), entries past the max index are
   * yielded too (the caller bounds `high`). Plain values are yielded as
   * stored; batched entries are re-encoded one by one (Dragonboat's own
   * encoding of a single Entry). Memory stays at one batch.
   */
  async *streamEntries(shardId: Id, replicaId: Id, low: Id, high: Id): AsyncGenerator<StoredEntry> {
    const s = toU64(shardId, 'shardId');
    const r = toU64(replicaId, 'replicaId');
    const lo = toU64(low, 'low');
    const hi = toU64(high, 'high');
    if (lo > hi) return;
    const part = this.partFor(s);
    if (!(await part.exists())) return;
    if (await this.replicaIsBatched(part, s, r)) {
      const [lowId, highId] = batchIdRange(lo, hi + 1n);
      for await (const [k, v] of part.iterate(entryBatchRange(s, r, lowId, highId))) {
        const batch = restoreBatchFields(decodeValue(decodeEntryBatch, v, 'entry batch', k, part.dir));
        for (const e of batch.entries) {
          if (e.index < lo || e.index > hi) continue;
          yield { index: e.index, value: encodeEntry(e), entry: e };
        }
      }
      return;
    }
    for await (const [k, v] of part.iterate(entryRange(s, r, lo, hi + 1n))) {
      let entry: Entry | undefined;
      try {
        entry = decodeEntry(v);
      } catch {
        entry = undefined;
      }
      yield { index: keySuffix(k), value: v, entry };
    }
  }

  /**
   * The term the replica's log holds at `index`: its stored entry's term, or
   * the term of its snapshot record at exactly that index; undefined when it
   * holds neither (Raft's log matching rule needs one of the two).
   */
  async termAt(shardId: Id, replicaId: Id, index: Id): Promise<{ term: bigint; from: 'entry' | 'snapshot' } | undefined> {
    const i = toU64(index, 'index');
    for await (const e of this.streamEntries(shardId, replicaId, i, i)) {
      if (e.index === i && e.entry !== undefined) return { term: e.entry.term, from: 'entry' };
    }
    const part = this.partFor(shardId);
    const v = await part.get(snapshotKey(shardId, replicaId, i));
    if (v === undefined) return undefined;
    const snap = decodeValue(decodeSnapshot, v, 'snapshot', snapshotKey(shardId, replicaId, i), part.dir);
    return { term: snap.term, from: 'snapshot' };
  }

  private entryRangesTo(s: bigint, r: bigint, index: bigint): KeyRange[] {
    const ranges: KeyRange[] = [];
    if (index > 0n) ranges.push(entryRange(s, r, 0n, index));
    // Dragonboat keeps the batch before the one holding `index` (rangedOp).
    const batchId = batchIdOf(index);
    if (batchId > 1n) ranges.push(entryBatchRange(s, r, 0n, batchId - 1n));
    return ranges;
  }

  /**
   * Deletes entries below `index` (Dragonboat's removeEntriesTo): plain entries
   * `[0, index)` and entry batches `[0, batchId(index) - 1)`.
   */
  async removeEntriesTo(shardId: Id, replicaId: Id, index: Id): Promise<void> {
    const s = toU64(shardId, 'shardId');
    const part = this.partFor(s);
    await part.write(this.entryRangesTo(s, toU64(replicaId, 'replicaId'), toU64(index, 'index')).map(delRangeOf));
  }

  /** Compacts the key ranges {@link removeEntriesTo} removes (Dragonboat's compact). */
  async compactEntriesTo(shardId: Id, replicaId: Id, index: Id): Promise<void> {
    const s = toU64(shardId, 'shardId');
    const part = this.partFor(s);
    await part.removeRanges(this.entryRangesTo(s, toU64(replicaId, 'replicaId'), toU64(index, 'index')));
  }

  /**
   * Removes everything of a node (Dragonboat's removeNodeData): raft state,
   * bootstrap, max index and snapshot records in one batch, then every entry,
   * plain and batched.
   */
  async removeNodeData(shardId: Id, replicaId: Id): Promise<void> {
    const s = toU64(shardId, 'shardId');
    const r = toU64(replicaId, 'replicaId');
    const part = this.partFor(s);
    if (!(await part.exists())) return;
    await part.write([
      { type: 'del', key: raftStateKey(s, r) },
      { type: 'del', key: bootstrapKey(s, r) },
      { type: 'del', key: maxIndexKey(s, r) },
      delRangeOf(snapshotsRange(s, r)),
    ]);
    await part.removeRanges([allEntriesRange(s, r), allEntryBatchesRange(s, r)]);
  }

  // --- import -------------------------------------------------------------------------

  /** Reads every per-node record of a replica, leniently. */
  async nodeRecords(shardId: Id, replicaId: Id): Promise<NodeRecords> {
    const s = toU64(shardId, 'shardId');
    const r = toU64(replicaId, 'replicaId');
    const p = this.partitionOf(s);
    const part = this.partition(p);
    const malformed: MalformedRecord[] = [];
    const lenient = async <T>(key: Uint8Array, kind: string, decode: (b: Uint8Array) => T): Promise<T | undefined> => {
      const v = await part.get(key);
      if (v === undefined) return undefined;
      try {
        return decodeValue(decode, v, kind, key, part.dir);
      } catch (err) {
        if (!(err instanceof NodeHostToolsError)) throw err;
        malformed.push({ key: keyHex(key), kind, error: err });
        return undefined;
      }
    };
    const bootstrap = await lenient(bootstrapKey(s, r), 'bootstrap', decodeBootstrap);
    const raftState = await lenient(raftStateKey(s, r), 'raft state', decodeRaftState);
    const maxIndex = await lenient(maxIndexKey(s, r), 'max index', (v) => decodeMaxIndex(v));
    const snapshots: NodeRecords['snapshots'] = [];
    for await (const [k, v] of part.iterate(snapshotsRange(s, r))) {
      let snapshot: Snapshot | undefined;
      try {
        snapshot = decodeValue(decodeSnapshot, v, 'snapshot', k, part.dir);
      } catch (err) {
        if (!(err instanceof NodeHostToolsError)) throw err;
        malformed.push({ key: keyHex(k), kind: 'snapshot', error: err });
      }
      snapshots.push({ index: keySuffix(k), snapshot });
    }
    const span = async (range: KeyRange): Promise<{ first: bigint; last: bigint } | undefined> => {
      const a = await firstPair(part, range);
      if (!a) return undefined;
      const b = (await firstPair(part, range, true))!;
      return { first: keySuffix(a[0]), last: keySuffix(b[0]) };
    };
    return {
      shardId: s,
      replicaId: r,
      partition: p,
      partitionDir: part.dir,
      bootstrap,
      raftState,
      maxIndex,
      snapshots,
      plainEntries: await span(allEntriesRange(s, r)),
      entryBatches: await span(allEntryBatchesRange(s, r)),
      malformed,
    };
  }

  /**
   * The write batch of an import (docs/import-contract.md step 11) and the records it
   * replaces, without writing anything. Refuses a snapshot of type Unknown
   * ({@link ErrUnknownStateMachineType}) or index 0.
   */
  async planImport(snapshot: Snapshot, replicaId: Id, entries?: ImportEntries): Promise<ImportBatch> {
    const format = entries && entries.count > 0 ? await this.writeFormat() : undefined;
    const write = this.importWrite(snapshot, replicaId, entries, format);
    return { ...write, before: await this.nodeRecords(write.shardId, write.replicaId) };
  }

  /**
   * The batch of an import, built without reading the store (the range deletions cover what is there).
   * With `entries` (and the host's `format`), they follow the snapshot records in the same batch.
   */
  private importWrite(snapshot: Snapshot, replicaId: Id, entries?: ImportEntries, format?: BinVer): ImportWrite {
    if (snapshot.type === StateMachineType.Unknown) {
      throw new ErrUnknownStateMachineType(
        `the snapshot of shard ${snapshot.shardId} at index ${snapshot.index} has state machine type Unknown (0); ` +
          'a node cannot be bootstrapped from it: export the snapshot again from a running replica',
        { check: 'state-machine-type', expected: 'Regular, Concurrent or OnDisk', actual: snapshot.type },
      );
    }
    if (snapshot.index === 0n) {
      throw new ErrIncompleteSnapshot(`the snapshot record of shard ${snapshot.shardId} has index 0`, {
        check: 'index',
        expected: '> 0',
        actual: 0n,
      });
    }
    const s = toU64(snapshot.shardId, 'shardId');
    const r = toU64(replicaId, 'replicaId');
    const partition = this.partitionOf(s);
    const carried = entries !== undefined && entries.count > 0 ? entries : undefined;
    if (carried && carried.firstIndex !== snapshot.index + 1n) {
      throw new ErrLogDB(`the entries imported after snapshot ${snapshot.index} start at ${carried.firstIndex}`, {
        check: 'import-entries',
        expected: snapshot.index + 1n,
        actual: carried.firstIndex,
      });
    }
    const lastIndex = carried ? carried.firstIndex + BigInt(carried.count - 1) : snapshot.index;
    // Dragonboat panics on a raft state whose term is below its last entry's; the commit stays at the
    // snapshot: the new leader commits the carried entries in its own term.
    const term = carried && carried.lastTerm > snapshot.term ? carried.lastTerm : snapshot.term;
    const after = {
      bootstrap: { addresses: new Map<bigint, string>(), join: true, type: snapshot.type } satisfies Bootstrap,
      raftState: { term, vote: 0n, commit: snapshot.index } satisfies RaftState,
      maxIndex: lastIndex,
      snapshot,
    };
    const ops: KvOp[] = [
      { type: 'del', key: raftStateKey(s, r) },
      { type: 'del', key: bootstrapKey(s, r) },
      { type: 'del', key: maxIndexKey(s, r) },
      delRangeOf(snapshotsRange(s, r)),
    ];
    // Where a range deletion is one tombstone (Pebble), the replica's entries go
    // in the same atomic batch; LevelDB would need a delete per entry in it, so
    // there {@link removeStaleEntries} removes them after the commit.
    const entriesRemoved = this.kind === 'pebble';
    if (entriesRemoved) ops.push(delRangeOf(allEntriesRange(s, r)), delRangeOf(allEntryBatchesRange(s, r)));
    ops.push(
      { type: 'put', key: bootstrapKey(s, r), value: encodeBootstrap(after.bootstrap) },
      { type: 'put', key: raftStateKey(s, r), value: encodeRaftState(after.raftState) },
      { type: 'put', key: snapshotKey(s, r, snapshot.index), value: encodeSnapshot(snapshot) },
      { type: 'put', key: maxIndexKey(s, r), value: encodeMaxIndex(lastIndex) },
    );
    const write: ImportWrite = {
      shardId: s,
      replicaId: r,
      partition,
      partitionDir: this.partition(partition).dir,
      after,
      ops,
      entriesRemoved,
    };
    if (carried) {
      const fmt = format ?? BIN_VER_PLAIN;
      if (!entriesRemoved) this.dropOldAtSnapshot(ops, s, r, snapshot.index, fmt);
      pushImportEntries(ops, s, r, carried, fmt);
      write.entries = { firstIndex: carried.firstIndex, lastIndex, format: fmt };
    }
    return write;
  }

  /**
   * Where the batch does not range-delete the replica's entries (LevelDB), a
   * restart reading from the snapshot index on must not find an old entry:
   * the replica's own entry at the snapshot index (plain), or the batch
   * holding it when the carried entries do not overwrite that batch (the
   * snapshot index is the last of its batch). Older keys are outside what a
   * restart reads and go with {@link removeStaleEntries} after the commit;
   * the batches the carried entries land in are overwritten whole.
   */
  private dropOldAtSnapshot(ops: KvOp[], s: bigint, r: bigint, index: bigint, format: BinVer): void {
    ops.push({ type: 'del', key: entryKey(s, r, index) });
    if (format === BIN_VER_PLAIN || batchIdOf(index) !== batchIdOf(index + 1n)) {
      ops.push({ type: 'del', key: entryBatchKey(s, r, batchIdOf(index)) });
    }
  }

  /**
   * Imports a snapshot record for `replicaId` in ONE atomic, synced write
   * batch: deletes the raft state, bootstrap, max index and every snapshot
   * record of the node, then writes bootstrap `{join: true, type}`, raft state
   * `{term, vote 0, commit INDEX}`, the snapshot record under INDEX and max
   * index INDEX. On Pebble the same batch range-deletes the replica's entries;
   * on LevelDB they are left to {@link removeStaleEntries}. With `entries`
   * (a carried log suffix) they follow in the same batch in the host's entry
   * format; max index is then the last one and the raft state's term the
   * larger of the snapshot's and the last entry's. Returns what was replaced
   * and written.
   */
  async importSnapshot(snapshot: Snapshot, replicaId: Id, entries?: ImportEntries): Promise<ImportBatch> {
    const batch = await this.planImport(snapshot, replicaId, entries);
    await this.partition(batch.partition).write(batch.ops);
    return batch;
  }

  /**
   * {@link importSnapshot} for several replicas at once: every import of one
   * partition goes in ONE atomic batch (on Pebble, one drop-in WAL: Pebble
   * turns every replayed WAL into its own L0 table, and Dragonboat's options
   * stop writes at 24 of them). Partitions are written one after the other.
   * Nothing is read first: the batches' deletions cover whatever is there.
   */
  async importSnapshots(imports: readonly ImportRequest[]): Promise<ImportWrite[]> {
    const format = imports.some((i) => i.entries && i.entries.count > 0) ? await this.writeFormat() : undefined;
    const batches = imports.map(({ snapshot, replicaId, entries }) => this.importWrite(snapshot, replicaId, entries, format));
    const seen = new Set<string>();
    for (const b of batches) {
      const id = `${b.shardId}/${b.replicaId}`;
      if (seen.has(id)) {
        throw new ErrLogDB(`shard ${b.shardId} replica ${b.replicaId} is imported twice in one batch`, { check: 'duplicate-import' });
      }
      seen.add(id);
    }
    const byPartition = new Map<number, KvOp[]>();
    for (const b of batches) byPartition.set(b.partition, [...(byPartition.get(b.partition) ?? []), ...b.ops]);
    for (const [p, ops] of byPartition) await this.partition(p).write(deletionsFirst(ops));
    return batches;
  }

  /**
   * Physically removes a node's stale entries, plain and batched: everything
   * outside `[snapshot index, max index]` (everything, right after an import,
   * where the two are equal). LevelDB deletes and compacts them (and counts
   * them on the way); Pebble writes range tombstones only where a key is
   * still visible, so it costs the same for ten entries and ten million.
   */
  async removeStaleEntries(shardId: Id, replicaId: Id): Promise<StaleEntryRemoval> {
    const s = toU64(shardId, 'shardId');
    const r = toU64(replicaId, 'replicaId');
    const part = this.partFor(s);
    const counted = this.kind === 'leveldb';
    const result: StaleEntryRemoval = {
      shardId: s,
      replicaId: r,
      partitionDir: part.dir,
      kept: undefined,
      ranges: [],
      plainEntriesRemoved: counted ? 0 : undefined,
      entryBatchesRemoved: counted ? 0 : undefined,
    };
    if (!(await part.exists())) return result;
    const maxIndex = await this.getMaxIndex(s, r);
    const lastSnap = await firstPair(part, snapshotsRange(s, r), true);
    const snapIndex = lastSnap ? keySuffix(lastSnap[0]) : 0n;
    const plain: KeyRange[] = [];
    const batched: KeyRange[] = [];
    if (maxIndex === undefined || maxIndex <= snapIndex) {
      plain.push(allEntriesRange(s, r));
      batched.push(allEntryBatchesRange(s, r));
    } else {
      result.kept = { first: snapIndex, last: maxIndex };
      if (snapIndex > 0n) plain.push(entryRange(s, r, 0n, snapIndex));
      if (maxIndex < MAX_U64) plain.push(entryRange(s, r, maxIndex + 1n, MAX_U64 + 1n));
      const lowId = batchIdOf(snapIndex);
      const highId = batchIdOf(maxIndex);
      if (lowId > 0n) batched.push(entryBatchRange(s, r, 0n, lowId));
      if (highId < batchIdOf(MAX_U64)) batched.push(entryBatchRange(s, r, highId + 1n, MAX_U64 + 1n));
    }
    const count = async (range: KeyRange): Promise<number> => {
      let n = 0;
      for await (const _ of keysOf(part, range)) n++;
      return n;
    };
    const ranges: KeyRange[] = [];
    for (const range of [...plain, ...batched]) {
      if (!counted) {
        if (await anyKey(part, range)) ranges.push(range);
        continue;
      }
      const n = await count(range);
      if (plain.includes(range)) result.plainEntriesRemoved! += n;
      else result.entryBatchesRemoved! += n;
      ranges.push(range);
    }
    result.ranges = ranges;
    if (ranges.length > 0) await part.removeRanges(ranges);
    return result;
  }
}
