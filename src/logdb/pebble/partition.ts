/**
 * One partition of Dragonboat's default log store (`logdb-<p>`, a Pebble
 * database), read and written directly on its files: no Pebble code runs.
 * Reads never change a byte, a name or a time stamp in the partition and take
 * no lock; they only refuse while another process holds Pebble's LOCK. A
 * write adds one WAL holding one batch, which Pebble replays on its next open
 * (docs/pebble-store.md "Writer rules"; the rules are in writer.ts).
 */
import * as path from 'node:path';
import { ErrLogDB } from '../../errors.js';
import { checkNotLocked, type LockCheckOptions } from '../../nodehost/lock.js';
import { LOCK_FILENAME } from '../../nodehost/paths.js';
import { Kind } from '../../pebble/internal-key.js';
import { batchOpSize, type BatchOp } from '../../pebble/batch.js';
import { exclusiveEnd, type KeyRange } from '../keys.js';
import type { IterateOptions, KvOp, LogStoreKind, PartitionStore } from '../store.js';
import { loadStore, type PebbleDirs } from './state.js';
import { MergedView } from './view.js';
import { writeBatch, type BatchStream, type PebbleWriteReport } from './writer.js';

/** Options of a {@link PebblePartition}. */
export interface PebblePartitionOptions {
  /** Refuse writes (ErrLogDB, check `read-only`). */
  readOnly?: boolean;
  /** Options of the check that no other process holds the partition's LOCK. */
  lock?: LockCheckOptions;
}

/** A Pebble partition behind the {@link PartitionStore} seam. */
export class PebblePartition implements PartitionStore {
  readonly kind: LogStoreKind = 'pebble';
  readonly dir: string;
  readonly walDir: string;
  readonly readOnly: boolean;
  private view: MergedView | undefined;
  private opening: Promise<MergedView> | undefined;
  private closed = false;
  /** The report of the last write (undefined before any). */
  lastWrite: PebbleWriteReport | undefined;

  constructor(
    dirs: PebbleDirs,
    private readonly opts: PebblePartitionOptions = {},
  ) {
    this.dir = dirs.dataDir;
    this.walDir = dirs.walDir;
    this.readOnly = opts.readOnly === true;
  }

  private get dirs(): PebbleDirs {
    return { dataDir: this.dir, walDir: this.walDir };
  }

  private async checkLock(): Promise<void> {
    await checkNotLocked(path.join(this.dir, LOCK_FILENAME), this.opts.lock);
  }

  private async openView(): Promise<MergedView> {
    if (this.closed) throw new ErrLogDB(`partition ${this.dir} is closed`, { path: this.dir, check: 'closed' });
    if (this.view) return this.view;
    this.opening ??= (async () => {
      try {
        await this.checkLock();
        const state = await loadStore(this.dirs);
        this.view = MergedView.open(state);
        return this.view;
      } finally {
        this.opening = undefined;
      }
    })();
    return this.opening;
  }

  private async dropView(): Promise<void> {
    const v = this.view;
    this.view = undefined;
    await v?.close();
  }

  async exists(): Promise<boolean> {
    // The view loads the store once; the reads that usually follow reuse it.
    return (await this.openView()).state.exists;
  }

  async get(key: Uint8Array): Promise<Uint8Array | undefined> {
    return (await this.openView()).get(key);
  }

  iterate(range: KeyRange, opts: IterateOptions = {}): AsyncGenerator<[Uint8Array, Uint8Array]> {
    return MergedView.scan(() => this.openView(), range, opts);
  }

  /**
   * Writes `ops` as one batch in one new WAL (later ops win: each takes the
   * next sequence number). The report is in {@link lastWrite}; use
   * {@link writeWithReport} to get it directly.
   */
  async write(ops: readonly KvOp[]): Promise<void> {
    await this.writeWithReport(ops);
  }

  /** {@link write}, returning what was written (the PartitionStore seam's `write` returns nothing). */
  async writeWithReport(ops: readonly KvOp[]): Promise<PebbleWriteReport> {
    return this.writeOps(batchStreamOf(ops));
  }

  /** Writes one batch of range tombstones covering each range exactly (`lte` becomes the exclusive end `lte || 00`). */
  async removeRanges(ranges: readonly KeyRange[], signal?: AbortSignal): Promise<void> {
    signal?.throwIfAborted();
    if (ranges.length === 0) return;
    await this.writeOps(ranges.map((r) => ({ kind: Kind.RangeDelete, key: r.gte, value: exclusiveEnd(r) })));
  }

  private async writeOps(batch: BatchOp[] | BatchStream): Promise<PebbleWriteReport> {
    if (this.readOnly) {
      throw new ErrLogDB(`partition ${this.dir} is open read-only`, { path: this.dir, check: 'read-only' });
    }
    if (this.closed) throw new ErrLogDB(`partition ${this.dir} is closed`, { path: this.dir, check: 'closed' });
    await this.dropView();
    await this.checkLock();
    const report = await writeBatch(this.dirs, batch);
    this.lastWrite = report;
    return report;
  }

  async close(): Promise<void> {
    this.closed = true;
    await this.opening?.catch(() => undefined);
    await this.dropView();
  }
}

/**
 * The seam's operations as one Pebble batch, streamed: a `putMany` yields
 * its pairs as Set operations when the writer asks, so they are never held
 * together — or, when it offers them encoded, those bytes as they are (a
 * Set is encoded exactly so in a Pebble batch). The batch's size is known up
 * front when every `putMany` says its bytes (then the writer skips its
 * sizing pass).
 */
export function batchStreamOf(ops: readonly KvOp[]): BatchStream {
  let count = 0;
  let size: number | undefined = 0;
  for (const op of ops) {
    if (op.type === 'putMany') {
      count += op.count;
      size = op.bytes === undefined || size === undefined ? undefined : size + op.bytes + op.count;
      continue;
    }
    count++;
    if (size !== undefined) size += batchOpSize(toBatchOp(op));
  }
  return {
    count,
    ...(size !== undefined ? { size } : {}),
    ops: async function* () {
      let fixed: BatchOp[] = [];
      for (const op of ops) {
        if (op.type !== 'putMany') {
          fixed.push(toBatchOp(op));
          continue;
        }
        if (fixed.length > 0) yield fixed;
        fixed = [];
        if (op.encoded && op.bytes !== undefined) {
          yield* op.encoded();
          continue;
        }
        for await (const piece of op.pairs()) yield piece.map(([key, value]): BatchOp => ({ kind: Kind.Set, key, value }));
      }
      if (fixed.length > 0) yield fixed;
    },
  };
}

function toBatchOp(op: Exclude<KvOp, { type: 'putMany' }>): BatchOp {
  switch (op.type) {
    case 'put':
      return { kind: Kind.Set, key: op.key, value: op.value };
    case 'del':
      return { kind: Kind.Delete, key: op.key };
    default:
      return { kind: Kind.RangeDelete, key: op.start, value: op.end };
  }
}
