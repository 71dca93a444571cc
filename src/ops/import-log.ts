/**
 * The log suffix an import carries (docs/log-suffix.md): the export's
 * `log-suffix.nhlog` read in one streamed pass and validated completely —
 * every frame rule, the anchor against the export's record, each entry's own
 * encoded index and term, the manifest's SHA-256 on the bytes read — before
 * the import writes anything. Membership changes are neutralised here: each
 * is replaced by Dragonboat's empty entry of the same index and term.
 *
 * The entries are held for the commit batch in a few large buffers (one
 * small allocation per entry would cost more than the entries themselves):
 * their bytes packed into chunks, their places and terms in typed arrays.
 */
import { createHash } from 'node:crypto';
import { ErrLogSuffix } from '../errors.js';
import { statOrUndefined } from '../files/fsutil.js';
import { readLogSuffix } from '../files/log-suffix-file.js';
import type { ImportEntries } from '../logdb/logdb.js';
import { encodeEntry } from '../records/codec.js';
import { scanEntryColfer, type EntryHead } from '../records/entry-colfer.js';
import { FRAME_HEADER_SIZE, LOG_SUFFIX_FILENAME, type LogSuffixHeader } from '../records/log-suffix.js';
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

const CHUNK = 4 << 20;

/** Entry bytes packed into large chunks; entry i is `chunks[chunk[i]]` at `offset[i]`, `length[i]` bytes. */
class PackedEntries {
  private chunks: Uint8Array[] = [];
  private cur = new Uint8Array(0);
  private used = 0;
  private chunk = new Uint32Array(1024);
  private offset = new Uint32Array(1024);
  private length = new Uint32Array(1024);
  private terms = new BigUint64Array(1024);
  count = 0;

  add(term: bigint, value: Uint8Array): void {
    if (this.count === this.chunk.length) this.grow();
    if (this.used + value.length > this.cur.length) {
      this.cur = new Uint8Array(Math.max(CHUNK, value.length));
      this.chunks.push(this.cur);
      this.used = 0;
    }
    this.cur.set(value, this.used);
    const i = this.count++;
    this.chunk[i] = this.chunks.length - 1;
    this.offset[i] = this.used;
    this.length[i] = value.length;
    this.terms[i] = term;
    this.used += value.length;
  }

  value(i: number): Uint8Array {
    const off = this.offset[i]!;
    return this.chunks[this.chunk[i]!]!.subarray(off, off + this.length[i]!);
  }

  term(i: number): bigint {
    return this.terms[i]!;
  }

  private grow(): void {
    const n = this.chunk.length * 2;
    const more = <T extends Uint32Array | BigUint64Array>(a: T, b: T): T => {
      b.set(a as never);
      return b;
    };
    this.chunk = more(this.chunk, new Uint32Array(n));
    this.offset = more(this.offset, new Uint32Array(n));
    this.length = more(this.length, new Uint32Array(n));
    this.terms = more(this.terms, new BigUint64Array(n));
  }
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
  const packed = new PackedEntries();
  const neutralized: { index: bigint; term: bigint }[] = [];
  let header: LogSuffixHeader | undefined;
  const entry: EntryHead = { index: 0n, term: 0n, type: 0 };
  const it = readLogSuffix(path, { hash, ...(opts.signal ? { signal: opts.signal } : {}) });
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
    const { index, term, value } = item.entry;
    // The file's bytes as read (frame head, index, term, value), reported every 4096 entries.
    done += FRAME_HEADER_SIZE + 16 + value.length;
    if (opts.onProgress && packed.count % 4096 === 0) opts.onProgress(done, total);
    // The entry checked as the decoder would, reading only its index, term and type.
    if (!scanEntryColfer(value, 0, value.length, entry)) throw mismatch(path, index, 'does not decode as a Raft entry');
    if (entry.index !== index || entry.term !== term) {
      throw mismatch(
        path,
        index,
        `is stored with index ${index}, term ${term} but holds index ${entry.index}, term ${entry.term}`,
        {
          index,
          term,
        },
        { index: entry.index, term: entry.term },
      );
    }
    if (entry.type === EntryType.ConfigChange) {
      neutralized.push({ index, term });
      packed.add(term, encodeEntry(emptyEntry(index, term)));
    } else {
      packed.add(term, value);
    }
  }
  const h = header!;
  const sha256 = hash.digest('hex');
  const size = BigInt(end.size);
  opts.onProgress?.(end.size, end.size);
  if (manifest) checkDigest(manifest, LOG_SUFFIX_FILENAME, path, { size, sha256 });
  return {
    file: path,
    header: h,
    firstIndex: h.firstIndex,
    lastIndex: h.lastIndex,
    entryCount: h.entryCount,
    count: packed.count,
    lastTerm: end.lastTerm,
    size,
    sha256,
    neutralized,
    value: (i) => packed.value(i),
    termAt: (i) => packed.term(i),
  };
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
