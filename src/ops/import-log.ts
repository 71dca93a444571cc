/**
 * The log suffix an import carries (docs/log-suffix.md): the export's
 * `log-suffix.nhlog` read in one streamed pass and validated completely —
 * every frame rule, the anchor against the export's record, each entry's own
 * encoded index and term, the manifest's SHA-256 on the bytes read — before
 * the import writes anything. Membership changes are neutralised: each is
 * replaced by Dragonboat's empty entry of the same index and term.
 *
 * The entries are not held: the commit batch streams the file a second
 * time (a million entries are about a hundred megabytes), and that pass
 * must find exactly the bytes the first one validated — the same terms, the
 * same SHA-256 at its end — or it throws, which fails the batch before
 * anything is written. Only each entry's term (eight bytes) is kept between
 * the passes.
 */
import { createHash } from 'node:crypto';
import { ErrLogSuffix } from '../errors.js';
import { statOrUndefined } from '../files/fsutil.js';
import { readLogSuffixChunks } from '../files/log-suffix-file.js';
import type { ImportEntries } from '../logdb/logdb.js';
import { encodeEntry } from '../records/codec.js';
import { scanEntryColfer, type EntryHead } from '../records/entry-colfer.js';
import { FRAME_HEADER_SIZE, LOG_SUFFIX_FILENAME, type LogSuffixEntry, type LogSuffixHeader } from '../records/log-suffix.js';
import { EntryType, StateMachineType, type Entry } from '../records/types.js';
import type { ExportDir } from './export-dir.js';
import { checkDigest, type Manifest } from './manifest.js';

export { LOG_SUFFIX_FILENAME };

/** A validated log suffix, ready for the commit batch. */
export interface CarriedLogSuffix extends ImportEntries {
  file: string;
  header: LogSuffixHeader;
  lastIndex: bigint;
  entryCount: bigint;
  /** File size and SHA-256 of its bytes. */
  size: bigint;
  sha256: string;
  /** Entries that changed membership, replaced by empty entries (index and term kept). */
  neutralized: { index: bigint; term: bigint }[];
  /** The term of entry `firstIndex + i`. */
  termAt(i: number): bigint;
}

/** Dragonboat's empty entry at `index`, `term`: what its state machine skips. */
export function emptyEntry(index: bigint, term: bigint): Entry {
  return { term, index, type: EntryType.Application, key: 0n, clientId: 0n, seriesId: 0n, respondedTo: 0n, cmd: new Uint8Array(0) };
}

function mismatch(path: string, index: bigint, message: string, expected?: unknown, actual?: unknown): ErrLogSuffix {
  return new ErrLogSuffix(`${path}: entry ${index} ${message}; export it again`, {
    path,
    check: 'entry-mismatch',
    index,
    expected,
    actual,
  });
}

function varintSize(x: number): number {
  let n = 1;
  for (; x >= 0x80; n++) x = Math.floor(x / 128);
  return n;
}

/** Terms by position, grown by doubling. */
class Terms {
  private a = new BigUint64Array(1024);
  count = 0;

  push(term: bigint): void {
    if (this.count === this.a.length) {
      const b = new BigUint64Array(this.a.length * 2);
      b.set(this.a);
      this.a = b;
    }
    this.a[this.count++] = term;
  }

  at(i: number): bigint {
    return this.a[i]!;
  }
}

/**
 * The bytes to write for one suffix entry: its own, or the empty entry of
 * its index and term when it changes membership. Throws `entry-mismatch`
 * when it does not decode or holds another index or term than its frame.
 */
function carriedValue(path: string, e: LogSuffixEntry, head: EntryHead): { value: Uint8Array; neutralized: boolean } {
  // Checked as the decoder would, reading only the index, term and type.
  if (!scanEntryColfer(e.value, 0, e.value.length, head)) throw mismatch(path, e.index, 'does not decode as a Raft entry');
  if (head.index !== e.index || head.term !== e.term) {
    throw mismatch(
      path,
      e.index,
      `is stored with index ${e.index}, term ${e.term} but holds index ${head.index}, term ${head.term}`,
      { index: e.index, term: e.term },
      { index: head.index, term: head.term },
    );
  }
  if (head.type !== EntryType.ConfigChange) return { value: e.value, neutralized: false };
  return { value: encodeEntry(emptyEntry(e.index, e.term)), neutralized: true };
}

/**
 * Reads and validates the export's log suffix, when it has one. Throws
 * {@link ErrLogSuffix} for any broken rule (`state-machine-type` for an
 * on-disk state machine, `shard-id` and `anchor` when the suffix does not
 * continue this export's snapshot, `entry-mismatch` for an entry whose
 * encoding does not decode or names another index or term, the reader's
 * checks), ErrManifestMismatch when its bytes are not the manifest's.
 */
export async function readCarriedLogSuffix(
  exp: ExportDir,
  manifest: Manifest | undefined,
  opts: { signal?: AbortSignal; onProgress?: (bytesDone: number, bytesTotal: number) => void } = {},
): Promise<CarriedLogSuffix | undefined> {
  // readExportDir tells a suffix from an external file of the same name (then the export carries none).
  const path = exp.logSuffixFile;
  if (path === undefined) return undefined;
  const rec = exp.record;
  if (rec.type === StateMachineType.OnDisk) {
    throw new ErrLogSuffix(
      `${path}: the export carries a log suffix, but shard ${rec.shardId} runs an on-disk state machine, whose own data ` +
        'already reflects the survivor, not the snapshot: a carried suffix is refused for it. Import the snapshot alone with --ignore-log',
      { path, check: 'state-machine-type', expected: 'Regular or Concurrent', actual: StateMachineType[rec.type] },
    );
  }
  const total = opts.onProgress ? ((await statOrUndefined(path))?.size ?? 0) : 0;
  let done = 0;
  const hash = createHash('sha256');
  const terms = new Terms();
  const neutralized: { index: bigint; term: bigint }[] = [];
  const head: EntryHead = { index: 0n, term: 0n, type: 0 };
  let valueBytes = 0;
  let header: LogSuffixHeader | undefined;
  const it = readLogSuffixChunks(path, { hash, ...(opts.signal ? { signal: opts.signal } : {}) });
  let end: { lastTerm: bigint; size: number };
  for (;;) {
    const step = await it.next();
    if (step.done) {
      end = step.value;
      break;
    }
    const item = step.value;
    if ('header' in item) {
      header = item.header;
      checkAnchor(path, header, rec.shardId, rec.index, rec.term);
      continue;
    }
    for (const e of item.entries) {
      // The file's bytes as read (frame head, index, term, value).
      done += FRAME_HEADER_SIZE + 16 + e.value.length;
      const carried = carriedValue(path, e, head);
      if (carried.neutralized) neutralized.push({ index: e.index, term: e.term });
      valueBytes += varintSize(carried.value.length) + carried.value.length;
      terms.push(e.term);
    }
    opts.onProgress?.(done, total);
  }
  const h = header!;
  const sha256 = hash.digest('hex');
  const size = BigInt(end.size);
  opts.onProgress?.(end.size, end.size);
  if (manifest) checkDigest(manifest, LOG_SUFFIX_FILENAME, path, { size, sha256 });
  const count = terms.count;
  return {
    file: path,
    header: h,
    firstIndex: h.firstIndex,
    lastIndex: h.lastIndex,
    entryCount: h.entryCount,
    count,
    lastTerm: end.lastTerm,
    size,
    sha256,
    neutralized,
    valueBytes,
    termAt: (i) => terms.at(i),
    values: () => rereadValues(path, { count, sha256, terms, firstIndex: h.firstIndex }, opts.signal),
  };
}

/**
 * The second pass, while the commit batch is written: the same file, every
 * frame checked again by the reader, each entry's term the first pass's, the
 * same SHA-256 at the end; anything else throws (`changed`), failing the
 * batch before it is applied.
 */
async function* rereadValues(
  path: string,
  first: { count: number; sha256: string; terms: Terms; firstIndex: bigint },
  signal: AbortSignal | undefined,
): AsyncGenerator<readonly Uint8Array[]> {
  const changed = (what: string): ErrLogSuffix =>
    new ErrLogSuffix(
      `${path} changed while the import ran (${what}): nothing was written; rerun the import on an export nobody modifies meanwhile`,
      { path, check: 'changed' },
    );
  const hash = createHash('sha256');
  const head: EntryHead = { index: 0n, term: 0n, type: 0 };
  let i = 0;
  for await (const item of readLogSuffixChunks(path, { hash, ...(signal ? { signal } : {}) })) {
    if ('header' in item) {
      if (item.header.firstIndex !== first.firstIndex) throw changed('another first index');
      continue;
    }
    const values: Uint8Array[] = [];
    for (const e of item.entries) {
      if (i >= first.count || e.term !== first.terms.at(i)) throw changed(`entry ${e.index}`);
      values.push(carriedValue(path, e, head).value);
      i++;
    }
    yield values;
  }
  if (i !== first.count || hash.digest('hex') !== first.sha256) throw changed('its SHA-256');
}

function checkAnchor(path: string, h: LogSuffixHeader, shardId: bigint, index: bigint, term: bigint): void {
  if (h.shardId !== shardId) {
    throw new ErrLogSuffix(`${path} holds entries of shard ${h.shardId}, the export's snapshot is of shard ${shardId}`, {
      path,
      check: 'shard-id',
      expected: shardId,
      actual: h.shardId,
    });
  }
  if (h.snapshotIndex !== index || h.snapshotTerm !== term) {
    throw new ErrLogSuffix(
      `${path} continues a snapshot at index ${h.snapshotIndex}, term ${h.snapshotTerm}; the export's snapshot is at index ${index}, ` +
        `term ${term}: the suffix belongs to another export. Export again with --with-log, or import with --ignore-log`,
      { path, check: 'anchor', expected: { index, term }, actual: { index: h.snapshotIndex, term: h.snapshotTerm } },
    );
  }
}
