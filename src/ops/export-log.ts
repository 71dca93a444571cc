/**
 * The log suffix of an export (docs/log-suffix.md): the survivor's entries
 * past the exported snapshot, streamed from its log store into
 * `log-suffix.nhlog` (writing), and the full check of such a file against
 * the export it sits in (verify). Entries are carried as the survivor holds
 * them; nothing is rewritten here.
 */
import { createHash } from 'node:crypto';
import { join } from 'node:path';
import { ErrLogDiverged, ErrLogSuffix } from '../errors.js';
import { readLogSuffix, writeLogSuffixFile } from '../files/log-suffix-file.js';
import type { LogDB } from '../logdb/logdb.js';
import type { ResolvedNodeHostConfig } from '../nodehost/config.js';
import { LOG_SUFFIX_FILENAME, type LogSuffixEntry, type LogSuffixHeader } from '../records/log-suffix.js';
import { EntryType, StateMachineType, type Entry, type Snapshot } from '../records/types.js';

export { LOG_SUFFIX_FILENAME };

/** A log suffix written into, or found in, an export. */
export interface LogSuffixInfo {
  /** Absolute path of `log-suffix.nhlog`. */
  file: string;
  firstIndex: bigint;
  lastIndex: bigint;
  entryCount: bigint;
  /** Terms of the first and last entries. */
  firstTerm: bigint;
  lastTerm: bigint;
  sha256: string;
  size: bigint;
  /** Indexes of the membership-change entries it carries (the import replaces each by an empty entry). */
  configChanges: bigint[];
}

/** What {@link verifyExportLogSuffix} found: the file's facts plus the header's provenance. */
export interface VerifiedLogSuffix extends LogSuffixInfo {
  /** The snapshot the suffix continues (equal to the export's record). */
  snapshotIndex: bigint;
  snapshotTerm: bigint;
  /** The replica the entries were read from, and that host as it was. */
  survivorReplicaId: bigint;
  survivor: LogSuffixHeader['survivor'];
}

/** The snapshot a suffix continues. */
export type SuffixAnchor = Pick<Snapshot, 'shardId' | 'index' | 'term' | 'type'>;

/**
 * Refuses a suffix for an on-disk state machine: its data outside the
 * NodeHost directory already reflects the survivor's applied index, which a
 * replayed suffix would apply again. Checked before anything is copied.
 */
export function refuseOnDiskSuffix(snapshot: SuffixAnchor, path: string): void {
  if (snapshot.type === StateMachineType.OnDisk) {
    throw new ErrLogSuffix(
      `shard ${snapshot.shardId} runs an on-disk state machine: its log suffix cannot be carried (its data already reflects ` +
        'the survivor, not the snapshot); export without --with-log',
      { path, check: 'state-machine-type', actual: 'OnDisk' },
    );
  }
}

/**
 * Raft's log matching rule at the snapshot's index: the replica must hold an
 * entry or a snapshot record there with the snapshot's term, else its later
 * entries may belong to another history ({@link ErrLogDiverged}).
 */
export async function checkAnchor(db: LogDB, snapshot: SuffixAnchor, replicaId: bigint, path: string): Promise<void> {
  const at = await db.termAt(snapshot.shardId, replicaId, snapshot.index);
  if (at === undefined) {
    throw new ErrLogDiverged(
      `replica ${replicaId} of shard ${snapshot.shardId} holds neither an entry nor a snapshot record at the snapshot's index ` +
        `${snapshot.index} (its log is compacted past it or has not reached it): its entries cannot be shown to continue that ` +
        'snapshot; take the log from a host that holds that index, or repair without the log',
      { path, check: 'anchor-missing', expected: { index: snapshot.index, term: snapshot.term }, actual: 'none' },
    );
  }
  if (at.term !== snapshot.term) {
    throw new ErrLogDiverged(
      `replica ${replicaId} of shard ${snapshot.shardId} holds term ${at.term} at index ${snapshot.index} (its ${at.from}), ` +
        `but the snapshot there has term ${snapshot.term}: its log diverged from the snapshot's history; take the log from ` +
        'another host, or repair without the log',
      { path, check: 'anchor-term', expected: snapshot.term, actual: at.term },
    );
  }
}

/** Why the export holds no suffix although one was asked for. */
export const NOTHING_PAST_SNAPSHOT = 'the survivor holds nothing past the snapshot: no log suffix was written';

function mismatch(path: string, index: bigint, what: string, expected?: unknown, actual?: unknown): ErrLogSuffix {
  return new ErrLogSuffix(`${path}: the entry at index ${index} ${what}; the log cannot be carried, repair without it`, {
    path,
    check: 'entry-mismatch',
    index,
    expected,
    actual,
  });
}

/**
 * Writes `dir/log-suffix.nhlog` from replica `replicaId`'s entries
 * `snapshot.index + 1 ..` its max index, after the anchor check. Returns
 * undefined (and writes nothing) when the replica holds nothing past the
 * snapshot. Throws {@link ErrLogDiverged} (anchor), {@link ErrLogSuffix}
 * (`state-machine-type`, `gap`, `order`, `term-order`, `entry-mismatch`).
 * Streams: memory holds one batch of entries, never the log.
 */
export async function writeExportLogSuffix(
  db: LogDB,
  cfg: ResolvedNodeHostConfig,
  snapshot: SuffixAnchor,
  replicaId: bigint,
  dir: string,
  opts: { signal?: AbortSignal } = {},
): Promise<LogSuffixInfo | undefined> {
  const shardId = snapshot.shardId;
  const storeDir = db.partitionDirOf(shardId);
  refuseOnDiskSuffix(snapshot, storeDir);
  await checkAnchor(db, snapshot, replicaId, storeDir);
  const recordedMax = await db.getMaxIndex(shardId, replicaId);
  if (recordedMax === undefined || recordedMax <= snapshot.index) return undefined;
  const maxIndex = recordedMax;
  const state = await db.getRaftState(shardId, replicaId);
  const firstIndex = snapshot.index + 1n;
  const header: LogSuffixHeader = {
    shardId,
    replicaId,
    snapshotIndex: snapshot.index,
    snapshotTerm: snapshot.term,
    firstIndex,
    lastIndex: maxIndex,
    entryCount: maxIndex - firstIndex + 1n,
    survivor: { raftAddress: cfg.raftAddress, nodeHostDir: cfg.nodeHostDir, term: state?.term ?? 0n, commit: state?.commit ?? 0n },
  };
  const configChanges: bigint[] = [];
  let firstTerm: bigint | undefined;
  const what = `shard ${shardId} replica ${replicaId} in ${storeDir}`;
  async function* entries(): AsyncGenerator<LogSuffixEntry> {
    let next = firstIndex;
    let lastTerm = snapshot.term;
    for await (const e of db.streamEntries(shardId, replicaId, firstIndex, maxIndex)) {
      // Refused here with the log store named, before the file's own validator (the backstop) would name the file.
      if (e.index !== next) {
        const check = e.index > next ? 'gap' : 'order';
        throw new ErrLogSuffix(
          `${what}: the log has entry ${e.index} where ${next} was expected (${check === 'gap' ? `no entry ${next}` : 'out of order'}); ` +
            `the suffix ${firstIndex}..${maxIndex} is not contiguous: repair without the log, or take it from another host`,
          { path: storeDir, check, expected: next, actual: e.index },
        );
      }
      const entry = e.entry;
      if (entry === undefined) throw mismatch(storeDir, e.index, 'does not decode as an Entry');
      if (entry.index !== e.index) throw mismatch(storeDir, e.index, `decodes to index ${entry.index}`, e.index, entry.index);
      if (entry.term < lastTerm) {
        throw new ErrLogSuffix(
          `${what}: entry ${e.index} has term ${entry.term}, below the term ${lastTerm} before it: the log is not a Raft log ` +
            'continuing the snapshot; repair without it',
          { path: storeDir, check: 'term-order', index: e.index, expected: `>= ${lastTerm}`, actual: entry.term },
        );
      }
      lastTerm = entry.term;
      firstTerm ??= entry.term;
      if (entry.type === EntryType.ConfigChange) configChanges.push(e.index);
      next++;
      yield { index: e.index, term: entry.term, value: e.value };
    }
    if (next <= maxIndex) {
      throw new ErrLogSuffix(
        `${what}: the log records max index ${maxIndex} but its entries end at ${next - 1n}; the suffix is not complete: ` +
          'repair without the log, or take it from another host',
        { path: storeDir, check: 'gap', expected: maxIndex, actual: next - 1n },
      );
    }
  }
  const file = join(dir, LOG_SUFFIX_FILENAME);
  const written = await writeLogSuffixFile(file, header, entries(), opts);
  return {
    file,
    firstIndex,
    lastIndex: maxIndex,
    entryCount: written.entryCount,
    firstTerm: firstTerm ?? written.lastTerm,
    lastTerm: written.lastTerm,
    sha256: written.sha256,
    size: written.size,
    configChanges,
  };
}

/**
 * Checks an export's suffix file whole: every rule of the format (the
 * file's reader), each entry's own (decoded) index and term against its
 * frame (`entry-mismatch`), and the anchor: the header's shard, snapshot
 * index and term must be the export's record's (`anchor`). One read, which
 * also yields the SHA-256 the caller compares with the manifest. Throws
 * {@link ErrLogSuffix} naming the file.
 */
export async function verifyExportLogSuffix(
  file: string,
  record: Pick<Snapshot, 'shardId' | 'index' | 'term'>,
  opts: { signal?: AbortSignal } = {},
): Promise<VerifiedLogSuffix> {
  // The record codec (and its protobuf runtime) is loaded only when an export carries a suffix: a plain verify never needs it.
  const { decodeEntry } = await import('../records/codec.js');
  const hash = createHash('sha256');
  const it = readLogSuffix(file, { ...opts, hash });
  const configChanges: bigint[] = [];
  let firstTerm: bigint | undefined;
  try {
    for (;;) {
      const step = await it.next();
      if (step.done) {
        const { header, lastTerm, size } = step.value;
        return {
          file,
          firstIndex: header.firstIndex,
          lastIndex: header.lastIndex,
          entryCount: header.entryCount,
          lastTerm,
          firstTerm: firstTerm ?? lastTerm,
          sha256: hash.digest('hex'),
          size: BigInt(size),
          configChanges,
          snapshotIndex: header.snapshotIndex,
          snapshotTerm: header.snapshotTerm,
          survivorReplicaId: header.replicaId,
          survivor: header.survivor,
        };
      }
      if ('header' in step.value) {
        checkHeaderAnchor(file, step.value.header, record);
        continue;
      }
      const e = step.value.entry;
      let entry: Entry;
      try {
        entry = decodeEntry(e.value);
      } catch {
        throw mismatch(file, e.index, 'does not decode as an Entry');
      }
      if (entry.index !== e.index || entry.term !== e.term) {
        throw mismatch(
          file,
          e.index,
          `decodes to index ${entry.index} term ${entry.term} but its frame says index ${e.index} term ${e.term}`,
          { index: e.index, term: e.term },
          { index: entry.index, term: entry.term },
        );
      }
      firstTerm ??= e.term;
      if (entry.type === EntryType.ConfigChange) configChanges.push(e.index);
    }
  } finally {
    // A refusal leaves the reader suspended: closing it closes the file.
    await it.return(undefined as never);
  }
}

function checkHeaderAnchor(file: string, h: LogSuffixHeader, record: Pick<Snapshot, 'shardId' | 'index' | 'term'>): void {
  if (h.shardId !== record.shardId) {
    throw new ErrLogSuffix(`${file} holds the log of shard ${h.shardId} but the export's snapshot is of shard ${record.shardId}`, {
      path: file,
      check: 'shard-id',
      expected: record.shardId,
      actual: h.shardId,
    });
  }
  if (h.snapshotIndex !== record.index || h.snapshotTerm !== record.term) {
    throw new ErrLogSuffix(
      `${file} continues a snapshot at index ${h.snapshotIndex} term ${h.snapshotTerm}, but the export's snapshot is at index ` +
        `${record.index} term ${record.term}: the file belongs to another export`,
      {
        path: file,
        check: 'anchor',
        expected: { index: record.index, term: record.term },
        actual: { index: h.snapshotIndex, term: h.snapshotTerm },
      },
    );
  }
}
