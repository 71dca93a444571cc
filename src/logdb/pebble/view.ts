/**
 * The merged read view of one partition (docs/pebble-store.md "Merge"): the live tables of
 * every level and the replayed WALs' batches, merged by user key; for each
 * key the version with the highest sequence number wins (SET: its value,
 * DEL: absent) unless a range tombstone with a higher sequence number covers
 * it. Tables are scanned block by block through positional reads; the WALs'
 * contents are held in memory, sorted, as Pebble's memtable would hold them.
 */
import { ErrCorruptLogStore } from '../../errors.js';
import { Kind } from '../../pebble/internal-key.js';
import type { Tombstone } from '../../pebble/sstable-rangedel.js';
import type { KeyRange } from '../keys.js';
import type { IterateOptions } from '../store.js';
import { closeStore, type StoreState } from './state.js';
import type { DataBlock, TableFile } from './table.js';
import { CoverageCursor, clipToTable, fragment, type Fragment } from './tombstones.js';

/**
 * Bytewise order of two keys. A plain loop: keys here are a few dozen bytes,
 * where a call into Buffer.compare costs more than the comparison.
 */
function compareBytes(a: Uint8Array, b: Uint8Array): number {
  const n = Math.min(a.length, b.length);
  for (let i = 0; i < n; i++) {
    const d = a[i]! - b[i]!;
    if (d !== 0) return d;
  }
  return a.length - b.length;
}

/** Equality, compared from the end: consecutive keys differ in their last bytes (an index suffix). */
function sameBytes(a: Uint8Array, b: Uint8Array): boolean {
  if (a.length !== b.length) return false;
  for (let i = a.length - 1; i >= 0; i--) if (a[i] !== b[i]) return false;
  return true;
}

/** Bytes a forward scan reads at once from a table (several 32 KiB blocks per positional read). */
const READ_AHEAD_BYTES = 256 * 1024;

/** Scan bounds: `lower` inclusive; `upper` inclusive or exclusive; no `upper`: to the end. */
interface Bounds {
  lower: Uint8Array;
  upper: Uint8Array | undefined;
  upperInclusive: boolean;
}

function boundsOf(range: KeyRange): Bounds {
  if (range.lt !== undefined) return { lower: range.gte, upper: range.lt, upperInclusive: false };
  if (range.lte !== undefined) return { lower: range.gte, upper: range.lte, upperInclusive: true };
  return { lower: range.gte, upper: undefined, upperInclusive: false };
}

function aboveUpper(b: Bounds, k: Uint8Array): boolean {
  if (b.upper === undefined) return false;
  const c = compareBytes(k, b.upper);
  return b.upperInclusive ? c > 0 : c >= 0;
}

/** A positioned stream of point versions from one source, in scan order. */
interface PointCursor {
  readonly source: string;
  valid: boolean;
  key: Uint8Array;
  seq: number;
  kind: number;
  value: Uint8Array;
  /** Moves to the next version in scan order; a promise only when a block must be read. */
  advance(): Promise<void> | void;
}

const EMPTY: Uint8Array = new Uint8Array(0);

// ---- memtable: the replayed WALs' point operations ----------------------------

interface MemTable {
  keys: Uint8Array[];
  seqs: number[];
  kinds: Uint8Array;
  values: Uint8Array[];
  source: string;
}

function buildMemTable(state: StoreState): { mem: MemTable; tombstones: Tombstone[] } {
  const items: { key: Uint8Array; seq: number; kind: number; value: Uint8Array }[] = [];
  const tombstones: Tombstone[] = [];
  for (const wal of state.wals) {
    for (const b of wal.batches) {
      for (let i = 0; i < b.ops.length; i++) {
        const op = b.ops[i]!;
        const seq = b.seq + i;
        if (op.kind === Kind.RangeDelete) tombstones.push({ start: op.key, end: op.value!, seq });
        else items.push({ key: op.key, seq, kind: op.kind, value: op.value ?? EMPTY });
      }
    }
  }
  items.sort((a, b) => compareBytes(a.key, b.key) || b.seq - a.seq);
  const n = items.length;
  const mem: MemTable = { keys: new Array(n), seqs: new Array(n), kinds: new Uint8Array(n), values: new Array(n), source: 'WALs' };
  for (let i = 0; i < n; i++) {
    const it = items[i]!;
    mem.keys[i] = it.key;
    mem.seqs[i] = it.seq;
    mem.kinds[i] = it.kind;
    mem.values[i] = it.value;
  }
  if (state.wals.length > 0) mem.source = state.wals.map((w) => w.path).join(', ');
  return { mem, tombstones };
}

/** First index in sorted `keys[lo, hi)` whose key is >= k (or > k when `strict`). */
function lowerBound(keys: Uint8Array[], k: Uint8Array, strict: boolean, lo = 0, hi = keys.length): number {
  while (lo < hi) {
    const mid = (lo + hi) >>> 1;
    const c = compareBytes(keys[mid]!, k);
    if (c < 0 || (strict && c === 0)) lo = mid + 1;
    else hi = mid;
  }
  return lo;
}

class MemCursor implements PointCursor {
  valid = false;
  key: Uint8Array = EMPTY;
  seq = 0;
  kind = 0;
  value: Uint8Array = EMPTY;
  private i: number;
  readonly source: string;

  constructor(
    private readonly m: MemTable,
    private readonly b: Bounds,
    private readonly reverse: boolean,
  ) {
    this.source = m.source;
    if (!reverse) this.i = lowerBound(m.keys, b.lower, false);
    else this.i = (b.upper === undefined ? m.keys.length : lowerBound(m.keys, b.upper, b.upperInclusive)) - 1;
    this.settle();
  }

  private settle(): void {
    const i = this.i;
    if (i < 0 || i >= this.m.keys.length) {
      this.valid = false;
      return;
    }
    const k = this.m.keys[i]!;
    if (this.reverse ? compareBytes(k, this.b.lower) < 0 : aboveUpper(this.b, k)) {
      this.valid = false;
      return;
    }
    this.valid = true;
    this.key = k;
    this.seq = this.m.seqs[i]!;
    this.kind = this.m.kinds[i]!;
    this.value = this.m.values[i]!;
  }

  advance(): void {
    this.i += this.reverse ? -1 : 1;
    this.settle();
  }
}

// ---- tables ----------------------------------------------------------------------

/** A few decoded blocks per table, so repeated point reads do not re-read them; forward scans read ahead. */
class BlockCache {
  private readonly map = new Map<number, Promise<DataBlock>>();
  constructor(
    private readonly table: TableFile,
    private readonly capacity = 32,
  ) {}

  private put(i: number, p: Promise<DataBlock>): void {
    this.map.delete(i);
    this.map.set(i, p);
    if (this.map.size > this.capacity) this.map.delete(this.map.keys().next().value!);
  }

  private hit(i: number): Promise<DataBlock> | undefined {
    const p = this.map.get(i);
    if (p !== undefined) {
      this.map.delete(i);
      this.map.set(i, p);
    }
    return p;
  }

  /** Block `i` alone (point reads, the first block of a scan, reverse scans). */
  get(i: number): Promise<DataBlock> {
    const cached = this.hit(i);
    if (cached) return cached;
    const p = this.table.dataBlock(i);
    p.catch(() => this.map.delete(i));
    this.put(i, p);
    return p;
  }

  /** Block `i` and, in the same read, the blocks after it (a forward scan moving on). */
  getAhead(i: number): Promise<DataBlock> {
    const cached = this.hit(i);
    if (cached) return cached;
    const run = this.table.dataBlocks(i, READ_AHEAD_BYTES);
    const p = run.then((blocks) => {
      for (let k = 1; k < blocks.length; k++) this.put(i + k, Promise.resolve(blocks[k]!));
      return blocks[0]!;
    });
    p.catch(() => this.map.delete(i));
    this.put(i, p);
    return p;
  }
}

class TableCursor implements PointCursor {
  valid = false;
  key: Uint8Array = EMPTY;
  seq = 0;
  kind = 0;
  value: Uint8Array = EMPTY;
  readonly source: string;
  private bi = 0;
  private block: DataBlock | undefined;
  private j = 0;
  /** Forward scans: an entry at or above the lower bound was placed. */
  private pastLower = false;
  /** Forward scans: the block whose bound check is cached, and whether all its keys are within the upper bound. */
  private checkedBlock: DataBlock | undefined;
  private blockWithinUpper = false;

  constructor(
    private readonly t: TableFile,
    private readonly cache: BlockCache,
    private readonly b: Bounds,
    private readonly reverse: boolean,
  ) {
    this.source = t.path;
  }

  async init(): Promise<void> {
    const seps = this.t.blocks;
    const sepUser = (i: number): Uint8Array => seps[i]!.key.subarray(0, seps[i]!.key.length - 8);
    const firstAtOrAbove = (k: Uint8Array, strict: boolean): number => {
      let lo = 0;
      let hi = seps.length;
      while (lo < hi) {
        const mid = (lo + hi) >>> 1;
        const c = compareBytes(sepUser(mid), k);
        if (c < 0 || (strict && c === 0)) lo = mid + 1;
        else hi = mid;
      }
      return lo;
    };
    if (seps.length === 0) return;
    if (!this.reverse) {
      this.bi = firstAtOrAbove(this.b.lower, false);
      if (this.bi >= seps.length) return;
      this.block = await this.cache.get(this.bi);
      this.j = lowerBound(this.block.userKeys, this.b.lower, false);
    } else {
      // Older versions of the bound's key may continue past a separator equal to it: start one block later.
      this.bi = this.b.upper === undefined ? seps.length - 1 : Math.min(firstAtOrAbove(this.b.upper, true), seps.length - 1);
      this.block = await this.cache.get(this.bi);
      this.j =
        (this.b.upper === undefined ? this.block.userKeys.length : lowerBound(this.block.userKeys, this.b.upper, this.b.upperInclusive)) -
        1;
    }
    await this.settle();
  }

  private async settle(): Promise<void> {
    const n = this.t.blocks.length;
    for (;;) {
      if (!this.reverse) {
        while (this.j >= this.block!.userKeys.length) {
          if (++this.bi >= n) return this.invalidate();
          this.block = await this.cache.getAhead(this.bi);
          this.j = 0;
        }
      } else {
        while (this.j < 0) {
          if (--this.bi < 0) return this.invalidate();
          this.block = await this.cache.get(this.bi);
          this.j = this.block.userKeys.length - 1;
        }
      }
      if (this.place()) return;
    }
  }

  private invalidate(): void {
    this.valid = false;
  }

  /** Loads entry j; false when it must be skipped (before the scan's start), with j moved. */
  private place(): boolean {
    const blk = this.block!;
    const k = blk.userKeys[this.j]!;
    if (!this.reverse) {
      // Keys ascend: once one is at or above the lower bound all later ones are, and a block
      // whose last key is within the upper bound needs no check per entry.
      if (!this.pastLower) {
        if (compareBytes(k, this.b.lower) < 0) {
          this.j++;
          return false;
        }
        this.pastLower = true;
      }
      if (blk !== this.checkedBlock) {
        this.checkedBlock = blk;
        const last = blk.userKeys[blk.userKeys.length - 1]!;
        this.blockWithinUpper = !aboveUpper(this.b, last);
      }
      if (!this.blockWithinUpper && aboveUpper(this.b, k)) {
        this.valid = false;
        return true;
      }
    } else {
      if (aboveUpper(this.b, k)) {
        this.j--;
        return false;
      }
      if (compareBytes(k, this.b.lower) < 0) {
        this.valid = false;
        return true;
      }
    }
    this.valid = true;
    this.key = k;
    this.seq = blk.seqs[this.j]!;
    this.kind = blk.kinds[this.j]!;
    this.value = blk.values[this.j]!;
    return true;
  }

  advance(): Promise<void> | void {
    this.j += this.reverse ? -1 : 1;
    const len = this.block!.userKeys.length;
    if (this.j >= 0 && this.j < len && this.place()) return;
    return this.settle();
  }
}

// ---- the merge -------------------------------------------------------------------

/** A binary heap of cursors ordered by current key (ascending, or descending for reverse scans). */
class CursorHeap {
  readonly items: PointCursor[] = [];
  constructor(private readonly sign: number) {}

  private less(a: PointCursor, b: PointCursor): boolean {
    return this.sign * compareBytes(a.key, b.key) < 0;
  }

  push(c: PointCursor): void {
    const h = this.items;
    h.push(c);
    let i = h.length - 1;
    while (i > 0) {
      const p = (i - 1) >> 1;
      if (!this.less(h[i]!, h[p]!)) break;
      [h[i], h[p]] = [h[p]!, h[i]!];
      i = p;
    }
  }

  /** Restores order after the top's key changed (or removes it when exhausted). */
  fixTop(): void {
    const h = this.items;
    if (!h[0]!.valid) {
      const last = h.pop()!;
      if (h.length === 0) return;
      h[0] = last;
    }
    let i = 0;
    for (;;) {
      const l = 2 * i + 1;
      const r = l + 1;
      let m = i;
      if (l < h.length && this.less(h[l]!, h[m]!)) m = l;
      if (r < h.length && this.less(h[r]!, h[m]!)) m = r;
      if (m === i) return;
      [h[i], h[m]] = [h[m]!, h[i]!];
      i = m;
    }
  }
}

/** An open merged view. Holds the tables' file handles until {@link MergedView.close}. */
export class MergedView {
  private readonly caches: BlockCache[];

  private constructor(
    readonly state: StoreState,
    private readonly mem: MemTable,
    /** All tombstones, clipped and fragmented. */
    readonly fragments: Fragment[],
  ) {
    this.caches = state.tables.map((t) => new BlockCache(t.file));
  }

  /** Builds the view over a loaded store (which it then owns). */
  static open(state: StoreState): MergedView {
    const { mem, tombstones } = buildMemTable(state);
    const all = [...tombstones];
    for (const t of state.tables) all.push(...clipToTable(t.file.tombstones, t.meta.smallest, t.meta.largest));
    return new MergedView(state, mem, fragment(all));
  }

  /** Visible `[key, value]` pairs of `range` in key order (or reverse), copied. */
  iterate(range: KeyRange, opts: IterateOptions = {}): AsyncGenerator<[Uint8Array, Uint8Array]> {
    return MergedView.scan(() => Promise.resolve(this), range, opts);
  }

  /**
   * {@link iterate} of the view `open` gives: one generator from the caller to
   * the merge loop (a partition opens its view lazily without wrapping this
   * generator in another, which would double the cost of every pair).
   */
  static async *scan(
    open: () => Promise<MergedView>,
    range: KeyRange,
    opts: IterateOptions = {},
  ): AsyncGenerator<[Uint8Array, Uint8Array]> {
    const self = await open();
    const limit = opts.limit ?? Infinity;
    if (limit <= 0) return;
    const reverse = opts.reverse === true;
    const b = boundsOf(range);
    if (b.upper !== undefined && (b.upperInclusive ? compareBytes(b.lower, b.upper) > 0 : compareBytes(b.lower, b.upper) >= 0)) return;
    const heap = new CursorHeap(reverse ? -1 : 1);
    const mc = new MemCursor(self.mem, b, reverse);
    if (mc.valid) heap.push(mc);
    for (let i = 0; i < self.state.tables.length; i++) {
      // A table whose MANIFEST bounds lie outside the scan holds no point key of it (its
      // tombstones are already in the fragments): no block of it is read.
      const meta = self.state.tables[i]!.meta;
      const smallestUser = meta.smallest.subarray(0, meta.smallest.length - 8);
      const largestUser = meta.largest.subarray(0, meta.largest.length - 8);
      if (compareBytes(largestUser, b.lower) < 0 || aboveUpper(b, smallestUser)) continue;
      const tc = new TableCursor(self.state.tables[i]!.file, self.caches[i]!, b, reverse);
      await tc.init();
      if (tc.valid) heap.push(tc);
    }
    const cover = new CoverageCursor(self.fragments, reverse, reverse ? b.upper : b.lower);
    let yielded = 0;
    while (heap.items.length > 0) {
      const k = heap.items[0]!.key;
      let bestSeq = -1;
      let bestKind = 0;
      let bestValue: Uint8Array = EMPTY;
      let bestSource = '';
      // Every version of k, from every source.
      while (heap.items.length > 0 && sameBytes(heap.items[0]!.key, k)) {
        const c = heap.items[0]!;
        if (c.seq === bestSeq) {
          throw new ErrCorruptLogStore(`two versions of one key with sequence number ${c.seq} (${bestSource}; ${c.source})`, {
            path: c.source,
            check: 'duplicate-seqnum',
            key: Buffer.from(k).toString('hex'),
          });
        }
        if (c.seq > bestSeq) {
          bestSeq = c.seq;
          bestKind = c.kind;
          bestValue = c.value;
          bestSource = c.source;
        }
        const p = c.advance();
        if (p) await p;
        heap.fixTop();
      }
      if (bestKind !== Kind.Set || cover.covering(k) > bestSeq) continue;
      yield [k.slice(), bestValue.slice()];
      if (++yielded >= limit) return;
    }
  }

  /** The visible value of `key`, or undefined. */
  async get(key: Uint8Array): Promise<Uint8Array | undefined> {
    for await (const [, v] of this.iterate({ gte: key, lte: key }, { limit: 1 })) return v;
    return undefined;
  }

  async close(): Promise<void> {
    await closeStore(this.state);
  }
}
