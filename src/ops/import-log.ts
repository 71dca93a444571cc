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
 * must find exactly the frames the first one validated — every frame's
 * CRC-32C the one recorded at its position, the same count — or it throws,
 * which fails the batch before anything is written. Each entry's term and
 * frame CRC (twelve bytes) are kept between the passes.
 *
 * With the addon both passes run its entry-frame kernel
 * (`logdb/native-suffix.ts`): the frames are checked, and in the second
 * pass emitted as the batch's puts, without JavaScript per entry; a frame
 * the kernel does not take is handled by the portable code, which reports
 * what is wrong with it exactly as without the addon.
 */
import { createHash } from 'node:crypto';
import { ErrLogSuffix } from '../errors.js';
import { statOrUndefined } from '../files/fsutil.js';
import { readLogSuffixChunks, type BulkEntryFrames, type ReadLogSuffixEntry } from '../files/log-suffix-file.js';
import type { ImportEntries } from '../logdb/logdb.js';
import { encodePut, putSize, suffixFrameKernel, SuffixStop, type SuffixCursor, type SuffixFrameKernel } from '../logdb/native-suffix.js';
import { encodeEntry } from '../records/codec.js';
import { scanEntryColfer, type EntryHead } from '../records/entry-colfer.js';
import { FRAME_HEADER_SIZE, LOG_SUFFIX_FILENAME, type LogSuffixEntry, type LogSuffixHeader } from '../records/log-suffix.js';
import { uvarintSize } from '../pebble/varint.js';
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

/** The smallest entry frame: its head, index and term, and a one-byte entry. */
const MIN_ENTRY_FRAME = FRAME_HEADER_SIZE + 16 + 1;

/** Each entry's term, frame CRC and whether it changes membership, by position (the kernel writes into them too). */
class Ledger {
  terms = new BigUint64Array(1024);
  crcs = new Uint32Array(1024);
  changes = new Uint8Array(1024);
  count = 0;

  push(term: bigint, crc: number, change: boolean): void {
    if (this.count === this.terms.length) this.grow();
    this.terms[this.count] = term;
    this.changes[this.count] = change ? 1 : 0;
    this.crcs[this.count++] = crc;
  }

  /** Makes room for `n` entries in all. */
  reserve(n: number): void {
    while (this.terms.length < n) this.grow(n);
  }

  grow(atLeast = 0): void {
    const size = Math.max(this.terms.length * 2, atLeast);
    const terms = new BigUint64Array(size);
    terms.set(this.terms);
    this.terms = terms;
    const crcs = new Uint32Array(size);
    crcs.set(this.crcs);
    this.crcs = crcs;
    const changes = new Uint8Array(size);
    changes.set(this.changes);
    this.changes = changes;
  }

  at(i: number): bigint {
    return this.terms[i]!;
  }
}

/** The cursor the kernel starts from: the reader's validator, at the ledger's position. */
function cursorAt(c: { next: bigint; lastTerm: bigint; lastIndex: bigint }, count: number): SuffixCursor {
  return { next: c.next, lastTerm: c.lastTerm, lastIndex: c.lastIndex, count };
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
  const total = (await statOrUndefined(path))?.size ?? 0;
  let done = 0;
  const ledger = new Ledger();
  const neutralized: { index: bigint; term: bigint }[] = [];
  const head: EntryHead = { index: 0n, term: 0n, type: 0 };
  let valueBytes = 0;
  let header: LogSuffixHeader | undefined;
  // Decided once: the second pass takes the same path.
  const kernel = suffixFrameKernel();
  const hash = kernel ? kernel.sha256() : createHash('sha256');
  const bulk: BulkEntryFrames | undefined = kernel
    ? (bytes, c) => {
        const start = ledger.count;
        const cursor = cursorAt(c, start);
        let consumed = 0;
        for (;;) {
          const r = kernel.validate(bytes.subarray(consumed), cursor, ledger.crcs, ledger.changes, ledger.terms);
          consumed += r.consumed;
          valueBytes += r.valueBytes;
          const nz = r.neutralized;
          if (nz) for (let i = 0; i < nz.length; i += 2) neutralized.push({ index: nz[i]!, term: nz[i + 1]! });
          if (r.stop !== SuffixStop.Full) {
            const entries = cursor.count - start;
            ledger.count = cursor.count;
            done += consumed;
            return { consumed, entries, lastTerm: cursor.lastTerm, stop: r.stop === SuffixStop.More ? 'more' : 'frame' };
          }
          ledger.count = cursor.count;
          ledger.grow();
        }
      }
    : undefined;
  const it = readLogSuffixChunks(path, { hash, ...(opts.signal ? { signal: opts.signal } : {}), ...(bulk ? { bulk } : {}) });
  let end: { lastTerm: bigint; size: number };
  try {
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
        // Room for every entry at once, as far as the file can hold them (a garbage count must not allocate).
        ledger.reserve(Math.min(Number(header.entryCount), Math.floor(total / MIN_ENTRY_FRAME)));
        continue;
      }
      for (const e of item.entries) {
        // The file's bytes as read (frame head, index, term, value).
        done += FRAME_HEADER_SIZE + 16 + e.value.length;
        const carried = carriedValue(path, e, head);
        if (carried.neutralized) neutralized.push({ index: e.index, term: e.term });
        valueBytes += uvarintSize(carried.value.length) + carried.value.length;
        ledger.push(e.term, e.crc, carried.neutralized);
      }
      opts.onProgress?.(done, total);
    }
  } finally {
    // A check of the consumer's failed with the file still open: close it now, not at garbage collection.
    await it.return(undefined as never);
  }
  const h = header!;
  const sha256 = hash.digest('hex');
  const size = BigInt(end.size);
  opts.onProgress?.(end.size, end.size);
  if (manifest) checkDigest(manifest, LOG_SUFFIX_FILENAME, path, { size, sha256 });
  const count = ledger.count;
  const first = { count, ledger, header: h };
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
    termAt: (i) => ledger.at(i),
    values: () => rereadValues(path, first, opts.signal),
    ...(kernel ? { encodedPuts: (keyPrefix: Uint8Array) => rereadEncoded(path, first, kernel, keyPrefix, opts.signal) } : {}),
  };
}

/** What the first pass recorded, which the second must find again. */
interface FirstPass {
  count: number;
  ledger: Ledger;
  header: LogSuffixHeader;
}

function changedError(path: string, what: string): ErrLogSuffix {
  return new ErrLogSuffix(
    `${path} changed while the import ran (${what}): nothing was written; rerun the import on an export nobody modifies meanwhile`,
    { path, check: 'changed' },
  );
}

/** The header of the second pass must be the first's (the entries it announces, which the batch writes). */
function checkSameHeader(path: string, h: LogSuffixHeader, first: FirstPass): void {
  if (h.firstIndex !== first.header.firstIndex) throw changedError(path, 'another first index');
  if (h.lastIndex !== first.header.lastIndex || h.entryCount !== first.header.entryCount) throw changedError(path, 'another last index');
}

/** An entry the second pass reads: the frame the first pass recorded at its position, or `changed`. */
function checkSameFrame(path: string, e: ReadLogSuffixEntry, i: number, first: FirstPass): void {
  if (i >= first.count || e.crc !== first.ledger.crcs[i]) throw changedError(path, `entry ${e.index}`);
}

/** Bytes of the output piece the write pass fills (grown for an entry larger than it). */
const OUT_PIECE = 5 << 20;

/**
 * The second pass with the addon, as the batch's puts of the plain entries
 * under keys `keyPrefix` + index: the kernel checks each frame (every rule,
 * and its CRC against the first pass's) and emits its put; a frame it does
 * not take is read by the portable reader, which reports it (or, should it
 * pass, is checked and emitted here).
 */
async function* rereadEncoded(
  path: string,
  first: FirstPass,
  kernel: SuffixFrameKernel,
  keyPrefix: Uint8Array,
  signal: AbortSignal | undefined,
): AsyncGenerator<{ bytes: Uint8Array; count: number }> {
  let out = new Uint8Array(OUT_PIECE);
  let used = 0;
  let ops = 0;
  let i = 0;
  const head: EntryHead = { index: 0n, term: 0n, type: 0 };
  const room = (need: number): void => {
    if (out.length - used >= need) return;
    const bigger = new Uint8Array(Math.max(out.length * 2, used + need));
    bigger.set(out.subarray(0, used));
    out = bigger;
  };
  const bulk: BulkEntryFrames = (bytes, c) => {
    const start = i;
    const cursor = cursorAt(c, i);
    let consumed = 0;
    for (;;) {
      const before = cursor.count;
      const r = kernel.write(bytes.subarray(consumed), cursor, first.ledger.crcs, first.ledger.changes, out.subarray(used), keyPrefix);
      consumed += r.consumed;
      used += r.outBytes;
      ops += cursor.count - before;
      if (r.stop === SuffixStop.Full && used === 0) {
        // One entry larger than the whole piece: room for it (its frame's payload length bounds its put).
        const b = bytes.subarray(consumed);
        room(((b[0]! | (b[1]! << 8) | (b[2]! << 16) | (b[3]! << 24)) >>> 0) + keyPrefix.length + 64);
        continue;
      }
      i = cursor.count;
      const stop = r.stop === SuffixStop.Full ? 'flush' : r.stop === SuffixStop.More ? 'more' : 'frame';
      return { consumed, entries: i - start, lastTerm: cursor.lastTerm, stop };
    }
  };
  for await (const item of readLogSuffixChunks(path, { bulk, ...(signal ? { signal } : {}) })) {
    if ('header' in item) {
      checkSameHeader(path, item.header, first);
      continue;
    }
    for (const e of item.entries) {
      checkSameFrame(path, e, i, first);
      const value = carriedValue(path, e, head).value;
      room(putSize(keyPrefix.length + 8, value.length));
      used = encodePut(out, used, keyPrefix, e.index, value);
      ops++;
      i++;
    }
    if (used > 0) {
      yield { bytes: out.subarray(0, used), count: ops };
      used = 0;
      ops = 0;
    }
  }
  if (i !== first.count) throw changedError(path, 'its entry count');
}

/**
 * The second pass, while the commit batch is written (portable): the same
 * file, every frame checked again by the reader, each entry frame's CRC-32C
 * the one the first pass recorded at its position, the same count; anything
 * else throws (`changed`), failing the batch before it is applied.
 */
async function* rereadValues(path: string, first: FirstPass, signal: AbortSignal | undefined): AsyncGenerator<readonly Uint8Array[]> {
  const head: EntryHead = { index: 0n, term: 0n, type: 0 };
  let i = 0;
  for await (const item of readLogSuffixChunks(path, signal ? { signal } : {})) {
    if ('header' in item) {
      checkSameHeader(path, item.header, first);
      continue;
    }
    const values: Uint8Array[] = [];
    for (const e of item.entries) {
      checkSameFrame(path, e, i, first);
      values.push(carriedValue(path, e, head).value);
      i++;
    }
    yield values;
  }
  if (i !== first.count) throw changedError(path, 'its entry count');
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
