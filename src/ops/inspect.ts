/**
 * `inspect`: what a restarting node would see — its bootstrap, raft state,
 * latest snapshot record, the entry range it would replay, and the fate of
 * each directory in its snapshot root. Strictly read-only: the log store is
 * read from a private clone, nothing is created, no byte changes.
 */

import { basename, join } from 'node:path';
import { ErrLogDB, NodeHostToolsError } from '../errors.js';
import { readFlagFileIfExists } from '../files/flagfile.js';
import { statOrUndefined } from '../files/fsutil.js';
import { resolveNodeHostConfig, type NodeHostConfig, type ResolvedNodeHostConfig } from '../nodehost/config.js';
import { lockStatus, type LockStatus } from '../nodehost/lock.js';
import { dataDirs, dataStatusPath, lockFilePath, snapshotPaths, snapshotRootDir } from '../nodehost/paths.js';
import { isMarkedDeleted, listSnapshotDirs, restartFate, type RestartFate } from '../nodehost/snapshotdirs.js';
import { decodeRaftDataStatus } from '../records/codec.js';
import type { Bootstrap, RaftDataStatus, RaftState, Snapshot } from '../records/types.js';
import { LogDB, hasNodeState, latestSnapshot, type NodeRecords } from '../logdb/logdb.js';
import { toReplicaId } from './members.js';
import { recoveryFingerprint } from './fingerprint.js';
import { summarizeLog, termIn, type LogSummary } from './survivor.js';

/** One directory in the node's snapshot root, and what a restart does with it. */
export interface SnapshotDirView {
  name: string;
  path: string;
  kind: 'final' | 'generating' | 'receiving' | 'other';
  index?: bigint;
  hasFlagFile: boolean;
  /**
   * `current`: the recorded snapshot's directory; `pending-flag`: the recorded
   * one, still flagged (the restart removes the flag); `orphan`: flagged but not
   * recorded (deleted on restart); `leftover-temp`: generating/receiving
   * (deleted on restart); `stale`: an unrecorded final directory (deleted on
   * restart); `other`: not a snapshot directory (ignored).
   */
  status: 'current' | 'pending-flag' | 'orphan' | 'leftover-temp' | 'stale' | 'other';
  restartFate: RestartFate;
  flagError?: string;
}

/**
 * Something a restart needs that the node lacks. `code` is stable:
 * `snapshot-file-missing`, `snapshot-file-size`, `external-file-missing`,
 * `external-file-size` (the recorded snapshot's files), `entry-gap` (an entry
 * between the snapshot index and max index is missing; `index` is the first),
 * `max-index-below-snapshot`, `malformed-record` (a record that does not decode).
 */
export interface NodeProblem {
  code: string;
  message: string;
  path?: string;
  index?: bigint;
  expected?: unknown;
  actual?: unknown;
}

/** The restart view of one replica. */
export interface NodeView {
  shardId: bigint;
  replicaId: bigint;
  nodeHostDir: string;
  /** False when the nodeHostDir does not exist: a fresh host (or a wrong path); nothing below is then on disk. */
  nodeHostDirExists: boolean;
  partition: number;
  partitionDir: string;
  /** `dragonboat.ds` of NodeHostDir (and WALDir), undefined when absent. */
  dataStatus: { path: string; status: RaftDataStatus | undefined; error?: string }[];
  /** Locks on NodeHostDir/LOCK (and WALDir/LOCK): a running NodeHost holds them. */
  locks: LockStatus[];
  /** Log store entry format found (100 plain, 210 batched), undefined when the partition holds no entries. */
  entryFormat: number | undefined;
  bootstrap: Bootstrap | undefined;
  raftState: RaftState | undefined;
  maxIndex: bigint | undefined;
  /** Latest snapshot record, undefined when none. */
  snapshot: Snapshot | undefined;
  /** All snapshot record indexes in the store (normally one). */
  snapshotIndexes: bigint[];
  /** What the node would replay on restart. */
  entries: { firstIndex: bigint; count: bigint; lastIndex: bigint | undefined };
  /** Entry keys physically present (plain indexes / batch IDs), including stale ones. */
  storedEntries: { plain?: { first: bigint; last: bigint }; batches?: { first: bigint; last: bigint } };
  snapshotRoot: string;
  markedDeleted: boolean;
  snapshotDirs: SnapshotDirView[];
  /** Records present but undecodable (a restart would fail on them). */
  malformed: { key: string; kind: string; message: string }[];
  /** True when the node has any state in the log store. */
  hasState: boolean;
  /** For a node whose snapshot was imported: the recovery fingerprint of that import (see `plan`). */
  fingerprint?: string;
  /** What a restart needs and the node lacks; empty for a sound node. */
  problems: NodeProblem[];
  /** Its whole stored log (entries up to max index, below the snapshot too) in compact form: what `plan` needs to choose a survivor. */
  log: LogSummary;
}

// Entries are checked in windows so that a long log is never held in memory at once.
const ENTRY_WINDOW = 8192n;

/** The problems a restart of this replica would run into (read-only). */
async function restartProblems(
  db: LogDB,
  cfg: ResolvedNodeHostConfig,
  s: bigint,
  r: bigint,
  rec: NodeRecords,
  latest: Snapshot | undefined,
  range: { firstIndex: bigint } | undefined,
): Promise<NodeProblem[]> {
  const problems: NodeProblem[] = rec.malformed.map((m) => ({
    code: 'malformed-record',
    message: `the ${m.kind} record ${m.key} does not decode: ${m.error.message}`,
    path: rec.partitionDir,
  }));
  if (latest && !latest.dummy && !latest.witness) {
    // Where the snapshotter looks for it: its own directory name, not the record's (possibly foreign) path.
    const paths = snapshotPaths(cfg, s, r, latest.index);
    const check = async (file: string, size: bigint, what: string, code: string): Promise<void> => {
      const st = await statOrUndefined(file);
      if (!st?.isFile()) {
        problems.push({
          code: `${code}-missing`,
          message: `${what} ${file} does not exist: the node cannot recover its snapshot on restart`,
          path: file,
        });
      } else if (BigInt(st.size) !== size) {
        problems.push({
          code: `${code}-size`,
          message: `${what} ${file} is ${st.size} bytes; the snapshot record says ${size}`,
          path: file,
          expected: size,
          actual: BigInt(st.size),
        });
      }
    };
    await check(paths.file, latest.fileSize, `the recorded snapshot's file (index ${latest.index})`, 'snapshot-file');
    for (const f of latest.files) {
      await check(
        join(paths.finalDir, basename(f.filepath)),
        f.fileSize,
        `external file ${f.fileId} of the recorded snapshot`,
        'external-file',
      );
    }
  }
  const snapIndex = latest?.index ?? 0n;
  if (rec.maxIndex !== undefined && rec.maxIndex < snapIndex) {
    problems.push({
      code: 'max-index-below-snapshot',
      message: `max index ${rec.maxIndex} is below the snapshot index ${snapIndex}`,
      path: rec.partitionDir,
      expected: snapIndex,
      actual: rec.maxIndex,
    });
  } else if (range !== undefined && rec.maxIndex !== undefined && rec.maxIndex > snapIndex) {
    // A restart replays every entry after the snapshot up to max index: they must all be there.
    let lo = range.firstIndex > snapIndex ? range.firstIndex : snapIndex + 1n;
    const last = rec.maxIndex;
    while (lo <= last) {
      const hi = lo + ENTRY_WINDOW - 1n < last ? lo + ENTRY_WINDOW - 1n : last;
      const got = await db.iterateEntries(s, r, lo, hi + 1n);
      const n = BigInt(got.entries.length);
      if (n < hi - lo + 1n) {
        const missing = lo + n;
        problems.push({
          code: 'entry-gap',
          message: `entry ${missing} is missing: a restart replays entries ${snapIndex + 1n}..${last} and cannot skip it`,
          path: rec.partitionDir,
          index: missing,
        });
        break;
      }
      lo = hi + 1n;
    }
  }
  return problems;
}

function viewStatus(kind: SnapshotDirView['kind'], fate: RestartFate): SnapshotDirView['status'] {
  if (kind === 'generating' || kind === 'receiving') return 'leftover-temp';
  if (kind === 'other') return 'other';
  switch (fate) {
    case 'keep':
      return 'current';
    case 'remove-flag':
      return 'pending-flag';
    default:
      return 'stale';
  }
}

/** Reads the restart view of (shardId, replicaId) without changing anything on disk. */
export async function inspectNode(
  config: NodeHostConfig,
  shardId: bigint | number | string,
  replicaId: bigint | number | string,
): Promise<NodeView> {
  const cfg = resolveNodeHostConfig(config);
  const s = toReplicaId(shardId, 'shard ID');
  const r = toReplicaId(replicaId, 'replica ID');
  const dataStatus: NodeView['dataStatus'] = [];
  for (const dir of dataDirs(cfg)) {
    const path = dataStatusPath(dir);
    try {
      dataStatus.push({ path, status: await readFlagFileIfExists(path, decodeRaftDataStatus) });
    } catch (err) {
      if (!(err instanceof NodeHostToolsError)) throw err;
      dataStatus.push({ path, status: undefined, error: err.message });
    }
  }
  const locks: LockStatus[] = [];
  for (const dir of dataDirs(cfg)) locks.push(await lockStatus(lockFilePath(dir)));

  const db = await LogDB.open(cfg, { readOnly: true });
  try {
    const rec = await db.nodeRecords(s, r);
    const latest = latestSnapshot(rec);
    const snapIndex = latest?.index ?? 0n;
    // A store Dragonboat would refuse (max index with no entry after the snapshot) is a problem to report, not a failure of inspect.
    let range: { firstIndex: bigint; entryCount: bigint };
    let rangeProblem: NodeProblem | undefined;
    try {
      range = await db.getEntryRange(s, r, snapIndex);
    } catch (err) {
      if (!(err instanceof ErrLogDB)) throw err;
      range = { firstIndex: snapIndex, entryCount: 0n };
      rangeProblem = {
        code: 'entry-gap',
        path: rec.partitionDir,
        index: snapIndex + 1n,
        message: `entries ${snapIndex + 1n}..${rec.maxIndex ?? '?'} are missing (${err.message})`,
      };
    }
    const entryFormat = await db.detectEntryFormat();
    const problems = await restartProblems(db, cfg, s, r, rec, latest, rangeProblem ? undefined : range);
    if (rangeProblem) problems.push(rangeProblem);
    const log = await summarizeLog(db, s, r, rec.maxIndex, latest);

    const root = snapshotRootDir(cfg, s, r);
    const dirs = await listSnapshotDirs(root, { readFlags: true });
    const recorded = latest?.index;
    const snapshotDirs = dirs.map((d): SnapshotDirView => {
      const fate = restartFate(d, recorded);
      let status = viewStatus(d.kind, fate);
      if (d.kind === 'final' && d.hasFlagFile && fate === 'delete') status = 'orphan';
      return {
        name: d.name,
        path: d.path,
        kind: d.kind,
        ...(d.index !== undefined ? { index: d.index } : {}),
        hasFlagFile: d.hasFlagFile,
        status,
        restartFate: fate,
        ...(d.flagError ? { flagError: d.flagError.message } : {}),
      };
    });
    return {
      shardId: s,
      replicaId: r,
      nodeHostDir: cfg.nodeHostDir,
      nodeHostDirExists: (await statOrUndefined(cfg.nodeHostDir)) !== undefined,
      partition: rec.partition,
      partitionDir: rec.partitionDir,
      dataStatus,
      locks,
      entryFormat,
      bootstrap: rec.bootstrap,
      raftState: rec.raftState,
      maxIndex: rec.maxIndex,
      snapshot: latest,
      snapshotIndexes: rec.snapshots.map((x) => x.index),
      entries: {
        firstIndex: range.firstIndex,
        count: range.entryCount,
        lastIndex: range.entryCount > 0n ? range.firstIndex + range.entryCount - 1n : undefined,
      },
      storedEntries: {
        ...(rec.plainEntries ? { plain: rec.plainEntries } : {}),
        ...(rec.entryBatches ? { batches: rec.entryBatches } : {}),
      },
      snapshotRoot: root,
      markedDeleted: await isMarkedDeleted(root),
      snapshotDirs,
      malformed: rec.malformed.map((m) => ({ key: m.key, kind: m.kind, message: m.error.message })),
      ...(latest?.imported
        ? {
            fingerprint: recoveryFingerprint({
              shardId: s,
              index: latest.index,
              checksum: latest.checksum,
              members: latest.membership.addresses,
              ...carriedLog(rec.raftState, rec.maxIndex, latest.index, log),
            }),
          }
        : {}),
      hasState: hasNodeState(rec),
      problems,
      log,
    };
  } finally {
    await db.close();
  }
}

/**
 * The log an import carried, as the fingerprint names it: entries past the
 * imported snapshot while the node has not restarted (its commit is still
 * the snapshot index, as the import wrote it). Once it has run, its log is
 * its own and the fingerprint names the snapshot alone.
 */
function carriedLog(
  state: RaftState | undefined,
  maxIndex: bigint | undefined,
  snapshotIndex: bigint,
  log: LogSummary | undefined,
): { log: { lastIndex: bigint; lastTerm: bigint } } | Record<string, never> {
  if (state?.commit !== snapshotIndex || maxIndex === undefined || maxIndex <= snapshotIndex || !log) return {};
  const lastTerm = termIn(log, maxIndex);
  return lastTerm === undefined ? {} : { log: { lastIndex: maxIndex, lastTerm } };
}
