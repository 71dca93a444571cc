/**
 * Dragonboat's batched-entry rules (format 210): entries are grouped by
 * `index / 48` into EntryBatch records, and a batch whose entries share one
 * term and have consecutive indexes stores term and index only in its first
 * entry. Pure.
 */
import type { Entry, EntryBatch } from '../records/types.js';
import { ENTRY_BATCH_SIZE } from '../nodehost/settings.js';
import { batchIdOf } from './keys.js';

/** The batch IDs `[low, high)` covering entry indexes `[low, high)`. */
export function batchIdRange(low: bigint, high: bigint): [bigint, bigint] {
  const lowId = batchIdOf(low);
  const highId = batchIdOf(high);
  return high % ENTRY_BATCH_SIZE === 0n ? [lowId, highId] : [lowId, highId + 1n];
}

/** Fills in the term and index a compacted batch left out (no-op when not compacted). */
export function restoreBatchFields(batch: EntryBatch): EntryBatch {
  const ents = batch.entries;
  if (ents.length <= 1 || ents[ents.length - 1]!.term !== 0n) return batch;
  const { term, index } = ents[0]!;
  return { entries: ents.map((e, i) => (i === 0 ? e : { ...e, term, index: index + BigInt(i) })) };
}

/** Leaves out the term and index of all but the first entry when they are implied. */
export function compactBatchFields(batch: EntryBatch): EntryBatch {
  const ents = batch.entries;
  if (ents.length <= 1) return batch;
  const first = ents[0]!;
  const last = ents[ents.length - 1]!;
  if (first.term !== last.term || first.index + BigInt(ents.length - 1) !== last.index) return batch;
  return { entries: ents.map((e, i) => (i === 0 ? e : { ...e, term: 0n, index: 0n })) };
}

/**
 * Merges new entries `next` (all of one batch) into the batch `prev` already
 * stored under the same ID: entries of `prev` from `next`'s first index on are
 * replaced (a Raft log overwrite), earlier ones kept. Dragonboat's
 * getMergedFirstBatch.
 */
export function mergeIntoBatch(prev: EntryBatch | undefined, next: Entry[]): Entry[] {
  if (prev === undefined || prev.entries.length === 0 || next.length === 0) return next;
  const firstNew = next[0]!.index;
  if (batchIdOf(prev.entries[0]!.index) !== batchIdOf(firstNew)) return next;
  if (firstNew <= prev.entries[0]!.index) return next;
  const kept = prev.entries.filter((e) => e.index < firstNew);
  return [...kept, ...next];
}

/** Splits entries (ascending indexes) into runs of one batch ID each. */
export function groupByBatch(entries: readonly Entry[]): { batchId: bigint; entries: Entry[] }[] {
  const out: { batchId: bigint; entries: Entry[] }[] = [];
  for (const e of entries) {
    const id = batchIdOf(e.index);
    const last = out[out.length - 1];
    if (last && last.batchId === id) last.entries.push(e);
    else out.push({ batchId: id, entries: [e] });
  }
  return out;
}
