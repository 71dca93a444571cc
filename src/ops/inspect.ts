/**
 * `inspect`: what a restarting node would see — its bootstrap, raft state,
 * latest snapshot record, the entry range it would replay, and the fate of
 * each directory in its snapshot root. Strictly read-only: the log store is
 * read from a private clone, nothing is created, no byte changes.
 */

import { NodeHostToolsError } from '../errors.js';
import { readFlagFileIfExists } from '../files/flagfile.js';
import { statOrUndefined } from '../files/fsutil.js';
import { resolveNodeHostConfig, type NodeHostConfig } from '../nodehost/config.js';
import { lockStatus, type LockStatus } from '../nodehost/lock.js';
import { dataDirs, dataStatusPath, lockFilePath, snapshotRootDir } from '../nodehost/paths.js';
import { isMarkedDeleted, listSnapshotDirs, restartFate, type RestartFate } from '../nodehost/snapshotdirs.js';
import { decodeRaftDataStatus } from '../records/codec.js';
import type { Bootstrap, RaftDataStatus, RaftState, Snapshot } from '../records/types.js';
import { LogDB, hasNodeState, latestSnapshot } from '../logdb/logdb.js';
import { toReplicaId } from './members.js';
import { recoveryFingerprint } from './fingerprint.js';

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
}

function viewStatus(kind: SnapshotDirView['kind'], fate: RestartFate): SnapshotDirView['status'] {
  if (kind === 'generating' || kind === 'receiving') return 'leftover-temp';
  if (kind === 'other') return 'other';
  switch (fate) {
    case 'keep': return 'current';
    case 'remove-flag': return 'pending-flag';
    default: return 'stale';
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
    const range = await db.getEntryRange(s, r, snapIndex);
    const entryFormat = await db.detectEntryFormat();

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
        ? { fingerprint: recoveryFingerprint({ shardId: s, index: latest.index, checksum: latest.checksum, members: latest.membership.addresses }) }
        : {}),
      hasState: hasNodeState(rec),
    };
  } finally {
    await db.close();
  }
}

