/**
 * Log suffix files for tests: a header, the bytes of a file built frame by
 * frame, a whole file read back.
 */

/**
 * The header of a test log suffix: shard 100 replica 1 (the worked
 * example's survivor), continuing a snapshot at `first - 1`, term 3, with
 * every entry from `first` to `last`; `over` changes any field.
 */
import { readLogSuffix } from '../../src/files/log-suffix-file.js';
import {
  encodeEndFrame,
  encodeEntryFrame,
  encodeHeaderFrame,
  LOG_SUFFIX_MAGIC,
  type LogSuffixEnd,
  type LogSuffixEntry,
  type LogSuffixHeader,
} from '../../src/records/log-suffix.js';

export function suffixHeader(first: bigint, last: bigint, over: Partial<LogSuffixHeader> = {}): LogSuffixHeader {
  return {
    shardId: 100n,
    replicaId: 1n,
    snapshotIndex: first - 1n,
    snapshotTerm: 3n,
    firstIndex: first,
    lastIndex: last,
    entryCount: last - first + 1n,
    survivor: { raftAddress: 'm1:63001', nodeHostDir: '/data/m1', term: 5n, commit: last },
    ...over,
  };
}

/** The end frame's fields for `entries` as given: their count, the last one's index and term. */
export function endOf(entries: readonly LogSuffixEntry[]): LogSuffixEnd {
  const last = entries[entries.length - 1]!;
  return { entryCount: BigInt(entries.length), lastIndex: last.index, lastTerm: last.term };
}

/** A suffix file built frame by frame with valid CRCs, whatever the rules say: tests write what the writer refuses to. */
export function suffixBytes(header: LogSuffixHeader, entries: readonly LogSuffixEntry[], end: LogSuffixEnd): Buffer {
  return Buffer.concat([LOG_SUFFIX_MAGIC, encodeHeaderFrame(header), ...entries.map(encodeEntryFrame), encodeEndFrame(end)]);
}

/** The header and every entry of a suffix file (each check of the reader applied). */
export async function readSuffix(file: string): Promise<{ header: LogSuffixHeader; entries: LogSuffixEntry[] }> {
  let header: LogSuffixHeader | undefined;
  const entries: LogSuffixEntry[] = [];
  for await (const step of readLogSuffix(file)) {
    if ('header' in step) header = step.header;
    else entries.push(step.entry);
  }
  return { header: header!, entries };
}
