/**
 * Range-deletion blocks: entries `start || trailer(seq, RANGEDEL) → end`,
 * each deleting user keys in `[start, end)` older than `seq`. Pure.
 */
import { unsupported, type Where } from './fail.js';
import { decodeBlock } from './sstable-block.js';
import { Kind, TRAILER_SIZE, kindName, trailerHasMaxSeq, trailerSeq } from './internal-key.js';

/** One range tombstone: user keys `start <= k < end` with sequence number below `seq` are deleted. */
export interface Tombstone {
  start: Uint8Array;
  end: Uint8Array;
  seq: number;
}

/** Decodes a range-deletion block (v1 or v2: fragmentation does not matter to the reader). */
export function decodeRangeDelBlock(data: Uint8Array, where: Where): Tombstone[] {
  const block = decodeBlock(data, where, { internalKeys: true });
  const out: Tombstone[] = [];
  for (let i = 0; i < block.keys.length; i++) {
    const key = block.keys[i]!;
    const t = key.length - TRAILER_SIZE;
    const kind = key[t]!;
    if (kind !== Kind.RangeDelete) {
      throw unsupported(where, 0, 'rangedel-kind', `range-deletion block entry ${i} is ${kindName(kind)}`);
    }
    if (trailerHasMaxSeq(key, t) || trailerSeq(key, t) > Number.MAX_SAFE_INTEGER) {
      throw unsupported(where, 0, 'seqnum-range', `range tombstone ${i} has a sequence number of 2^53 or more`);
    }
    out.push({ start: key.subarray(0, t), end: Uint8Array.from(block.values[i]!), seq: trailerSeq(key, t) });
  }
  return out;
}
