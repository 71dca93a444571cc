/**
 * Fixtures of the log suffix import suites (docs/log-suffix.md): a survivor
 * m1 whose log runs past the exported snapshot (entries 1..40 in term 3,
 * 41..70 in term 5 with a membership change at 50), an export of shard 100
 * at index 20 (or another, in the survivor's term there), and the suffix file written from the
 * survivor's own log with `writeLogSuffixFile` (what `export --with-log`
 * writes), listed in the export's manifest.
 */
import * as fsp from 'node:fs/promises';
import * as path from 'node:path';
import { expect } from 'vitest';
import { writeLogSuffixFile } from '../../src/files/log-suffix-file.js';
import { LogDB } from '../../src/logdb/logdb.js';
import { batchIdOf, MAX_U64 } from '../../src/logdb/keys.js';
import { resolveNodeHostConfig, type NodeHostConfig } from '../../src/nodehost/config.js';
import { exportSnapshot } from '../../src/ops/export.js';
import { buildManifest, encodeManifest, MANIFEST_FILENAME } from '../../src/ops/manifest.js';
import { emptyEntry } from '../../src/ops/import-log.js';
import { LOG_SUFFIX_FILENAME, type LogSuffixEntry, type LogSuffixHeader } from '../../src/records/log-suffix.js';
import { encodeEntry } from '../../src/records/codec.js';
import { EntryType, type Entry } from '../../src/records/types.js';
import { makeEntries, makeRunningNode, type RunningNode, type RunningNodeOptions } from '../helpers/nodehost.js';
import { makeExport, type ExportMade, type ExportSpec } from './fixtures.js';
import { M1, SHARD } from '../helpers/worked-example.js';

/** The survivor's last index, the term of its last entries and the index of its membership change. */
export const LAST = 70n;
export const LAST_TERM = 5n;
export const CONFIG_CHANGE_AT = 50n;
/** The export's term (the survivor's entries up to 40 are in term 3). */
export const EXPORT_TERM = 3n;

/** The term of the survivor's entry at `index` (an export at that index must have it: Raft's log matching rule). */
export function survivorTermAt(index: bigint): bigint {
  return index <= 40n ? EXPORT_TERM : LAST_TERM;
}

/** The survivor's log as stored: 1..40 term 3, 41..70 term 5, a ConfigChange at 50. */
export function survivorEntries(): Entry[] {
  return [
    ...makeEntries(1n, 40n, 3n),
    ...makeEntries(41n, LAST, LAST_TERM).map((e) =>
      e.index === CONFIG_CHANGE_AT ? { ...e, type: EntryType.ConfigChange, cmd: new TextEncoder().encode('add replica 6') } : e,
    ),
  ];
}

/** m1 with {@link survivorEntries}, its own snapshot at 10, raft state term 5, commit 65. */
export async function makeSurvivor(opts: RunningNodeOptions = {}): Promise<RunningNode> {
  const node = await makeRunningNode({ entries: 40, snapshotIndex: 10n, ...opts });
  const db = await LogDB.open(node.cfg);
  try {
    const later = survivorEntries().filter((e) => e.index > 40n);
    await db.saveRaftState([{ shardId: SHARD, replicaId: 1n, state: { term: LAST_TERM, vote: 1n, commit: 65n }, entries: later }]);
  } finally {
    await db.close();
  }
  return node;
}

/** What a node holds after importing the suffix `index+1..last`: the survivor's entries, the membership change neutralised. */
export function expectedCarried(index: bigint, last = LAST): Entry[] {
  return survivorEntries()
    .filter((e) => e.index > index && e.index <= last)
    .map((e) => (e.type === EntryType.ConfigChange ? emptyEntry(e.index, e.term) : e));
}

/** Options of {@link exportWithSuffix}. */
export interface SuffixSpec extends ExportSpec {
  /** Last index carried (default the survivor's last). */
  last?: bigint;
  /** Change the header or the entries before writing (bad files). */
  header?: (h: LogSuffixHeader) => LogSuffixHeader;
  entries?: (e: LogSuffixEntry[]) => LogSuffixEntry[];
  /** Write no manifest. */
  noManifest?: boolean;
}

/**
 * An export of shard 100 at `spec.index` (default 20, term 3) under
 * `exportRoot`, with the suffix file written from `survivor`'s log and a
 * manifest listing every file.
 */
export async function exportWithSuffix(exportRoot: string, survivor: NodeHostConfig, spec: SuffixSpec = {}): Promise<ExportMade> {
  const made = await makeExport(exportRoot, { term: survivorTermAt(spec.index ?? 20n), ...spec });
  const index = made.record.index;
  const last = spec.last ?? LAST;
  const cfg = resolveNodeHostConfig(survivor);
  const entries: LogSuffixEntry[] = [];
  const db = await LogDB.open(cfg, { readOnly: true });
  try {
    for await (const e of db.streamEntries(SHARD, 1n, index + 1n, last))
      entries.push({ index: e.index, term: e.entry!.term, value: e.value });
  } finally {
    await db.close();
  }
  const header: LogSuffixHeader = {
    shardId: SHARD,
    replicaId: 1n,
    snapshotIndex: index,
    snapshotTerm: made.record.term,
    firstIndex: index + 1n,
    lastIndex: last,
    entryCount: last - index,
    survivor: { raftAddress: M1, nodeHostDir: cfg.nodeHostDir, term: LAST_TERM, commit: 65n },
  };
  await writeLogSuffixFile(
    path.join(made.dir, LOG_SUFFIX_FILENAME),
    spec.header ? spec.header(header) : header,
    spec.entries ? spec.entries(entries) : entries,
  );
  if (!spec.noManifest) await writeManifest(made.dir, index);
  return made;
}

/**
 * The real thing: `export --with-log --snapshot-from`, the survivor's log
 * carried after a snapshot of shard 100 at `spec.index` (default 20, in the survivor's term there)
 * exported elsewhere. Returns the export directory.
 */
export async function exportWithLog(exportRoot: string, survivor: NodeHostConfig, spec: ExportSpec = {}): Promise<ExportMade> {
  const source = await makeExport(path.join(exportRoot, 'elsewhere'), { term: survivorTermAt(spec.index ?? 20n), ...spec });
  const res = await exportSnapshot(survivor, SHARD, 1n, path.join(exportRoot, 'with-log'), { withLog: true, snapshotFrom: source.dir });
  expect(res.logSuffix).toBeDefined();
  return { ...source, dir: res.exportDir, record: res.record };
}

/** Writes the export's manifest over every file now in `dir`. */
export async function writeManifest(dir: string, index: bigint): Promise<void> {
  const names = (await fsp.readdir(dir)).filter((n) => n !== MANIFEST_FILENAME);
  const m = await buildManifest(dir, names, { shardId: SHARD, replicaId: 1n, index });
  await fsp.writeFile(path.join(dir, MANIFEST_FILENAME), encodeManifest(m));
}

/** A suffix entry whose protobuf is `e`. */
export function suffixEntry(e: Entry): LogSuffixEntry {
  return { index: e.index, term: e.term, value: encodeEntry(e) };
}

/**
 * Reads back what a restarting Dragonboat reads for (100, r) after an import
 * of the suffix `index+1..last`: the raft state and entry range, every entry
 * (neutralised where a membership change was), the max index, and which keys
 * hold the entries (the host's format; nothing else of the replica).
 */
export async function expectCarriedOn(
  config: NodeHostConfig,
  replicaId: bigint,
  index: bigint,
  format: 'plain' | 'batched',
  last = LAST,
  /** Also check the stored keys: only the carried entries (false right after a commit whose clean-up has not run). */
  exact = true,
): Promise<void> {
  const db = await LogDB.open(resolveNodeHostConfig(config), { readOnly: true });
  try {
    expect(await db.readRaftState(SHARD, replicaId, index)).toEqual({
      state: { term: LAST_TERM, vote: 0n, commit: index },
      firstIndex: index + 1n,
      entryCount: last - index,
    });
    expect(await db.getMaxIndex(SHARD, replicaId)).toBe(last);
    const read = await db.iterateEntries(SHARD, replicaId, index + 1n, last + 1n);
    expect(read.entries.map((e) => e.entry)).toEqual(expectedCarried(index, last));
    // Nothing at the snapshot index itself: a restart reads from the first carried entry.
    expect((await db.iterateEntries(SHARD, replicaId, index, last + 1n)).entries).toEqual([]);
    if (!exact) return;
    const rec = await db.nodeRecords(SHARD, replicaId);
    if (format === 'plain') {
      expect(rec.plainEntries).toEqual({ first: index + 1n, last });
      expect(rec.entryBatches).toBeUndefined();
    } else {
      expect(rec.plainEntries).toBeUndefined();
      expect(rec.entryBatches).toEqual({ first: batchIdOf(index + 1n), last: batchIdOf(last) });
    }
    // Every stored entry of the replica is a carried one (no old entry left in a batch or beside the suffix).
    const stored: bigint[] = [];
    for await (const e of db.streamEntries(SHARD, replicaId, 0n, MAX_U64)) stored.push(e.index);
    expect(stored).toEqual(expectedCarried(index, last).map((e) => e.index));
  } finally {
    await db.close();
  }
}
