/**
 * All range tombstones of a view, flattened into sorted, non-overlapping
 * fragments each carrying the highest sequence number covering it. A point
 * version with sequence number `s` at key `k` is deleted exactly when the
 * fragment holding `k` has a higher sequence number (docs/pebble-store.md "Merge"), so a scan
 * in either direction needs one moving pointer: O(1) amortised per key.
 */
import { compareBytes, isRangeDelSentinel, userKeyOf } from '../../pebble/internal-key.js';
import type { Tombstone } from '../../pebble/sstable-rangedel.js';

/** One fragment `[start, end)` and the highest sequence number of the tombstones covering it. */
export interface Fragment {
  start: Uint8Array;
  end: Uint8Array;
  seq: number;
}

/** The immediate successor of `k` in bytewise order. */
function successor(k: Uint8Array): Uint8Array {
  const out = new Uint8Array(k.length + 1);
  out.set(k, 0);
  return out;
}

/**
 * Clips a table's tombstones to the table's bounds from the MANIFEST
 * (docs/pebble-store.md "Merge"): from the smallest user key (inclusive) to the largest
 * user key, inclusive unless the largest bound is the range-deletion sentinel.
 */
export function clipToTable(ts: readonly Tombstone[], smallest: Uint8Array, largest: Uint8Array): Tombstone[] {
  const lo = userKeyOf(smallest);
  const hiUser = userKeyOf(largest);
  const hi = isRangeDelSentinel(largest) ? hiUser : successor(hiUser);
  const out: Tombstone[] = [];
  for (const t of ts) {
    const start = compareBytes(t.start, lo) < 0 ? lo : t.start;
    const end = compareBytes(t.end, hi) > 0 ? hi : t.end;
    if (compareBytes(start, end) < 0) out.push({ start, end, seq: t.seq });
  }
  return out;
}

/** Fragments any set of tombstones (overlapping, unsorted). */
export function fragment(ts: readonly Tombstone[]): Fragment[] {
  const live = ts.filter((t) => compareBytes(t.start, t.end) < 0);
  if (live.length === 0) return [];
  const bounds: Uint8Array[] = [];
  for (const t of live) bounds.push(t.start, t.end);
  bounds.sort(compareBytes);
  const uniq: Uint8Array[] = [];
  for (const b of bounds) if (uniq.length === 0 || compareBytes(uniq[uniq.length - 1]!, b) !== 0) uniq.push(b);
  const seqs = new Array<number>(uniq.length - 1).fill(-1);
  const find = (k: Uint8Array): number => {
    let lo = 0;
    let hi = uniq.length - 1;
    while (lo < hi) {
      const mid = (lo + hi) >>> 1;
      if (compareBytes(uniq[mid]!, k) < 0) lo = mid + 1;
      else hi = mid;
    }
    return lo;
  };
  for (const t of live) {
    const a = find(t.start);
    const b = find(t.end);
    for (let i = a; i < b; i++) if (seqs[i]! < t.seq) seqs[i] = t.seq;
  }
  const out: Fragment[] = [];
  for (let i = 0; i < seqs.length; i++) {
    const seq = seqs[i]!;
    if (seq < 0) continue;
    const prev = out[out.length - 1];
    // Adjacent fragments with the same sequence number are one.
    if (prev && prev.seq === seq && compareBytes(prev.end, uniq[i]!) === 0) prev.end = uniq[i + 1]!;
    else out.push({ start: uniq[i]!, end: uniq[i + 1]!, seq });
  }
  return out;
}

/** A moving pointer over fragments for a scan in one direction; keys must come in scan order. */
export class CoverageCursor {
  private i: number;

  constructor(
    private readonly frags: readonly Fragment[],
    private readonly reverse: boolean,
    from?: Uint8Array,
  ) {
    // Start at the first fragment that can hold `from` (binary search), or at the scan's beginning.
    if (from === undefined || frags.length === 0) {
      this.i = reverse ? frags.length - 1 : 0;
      return;
    }
    let lo = 0;
    let hi = frags.length;
    if (!reverse) {
      // First fragment whose end is above `from`.
      while (lo < hi) {
        const mid = (lo + hi) >>> 1;
        if (compareBytes(frags[mid]!.end, from) <= 0) lo = mid + 1;
        else hi = mid;
      }
      this.i = lo;
    } else {
      // Last fragment whose start is at or below `from`.
      while (lo < hi) {
        const mid = (lo + hi) >>> 1;
        if (compareBytes(frags[mid]!.start, from) <= 0) lo = mid + 1;
        else hi = mid;
      }
      this.i = lo - 1;
    }
  }

  /** Highest sequence number of the tombstones covering `k`, or -1. */
  covering(k: Uint8Array): number {
    const f = this.frags;
    if (!this.reverse) {
      while (this.i < f.length && compareBytes(f[this.i]!.end, k) <= 0) this.i++;
      const frag = f[this.i];
      return frag !== undefined && compareBytes(frag.start, k) <= 0 ? frag.seq : -1;
    }
    while (this.i >= 0 && compareBytes(f[this.i]!.start, k) > 0) this.i--;
    const frag = f[this.i];
    return frag !== undefined && compareBytes(k, frag.end) < 0 ? frag.seq : -1;
  }
}
