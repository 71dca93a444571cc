/**
 * Every path of a NodeHost data directory (docs/formats.md §4). Pure: nothing here
 * touches the disk.
 */
import * as path from 'node:path';
import { ErrInvalidConfig } from '../errors.js';
import type { ResolvedNodeHostConfig } from './config.js';

/** `dragonboat.ds`, in NodeHostDir and in WALDir. */
export const DATA_STATUS_FILENAME = 'dragonboat.ds';
/** The lock file a running NodeHost holds in NodeHostDir and WALDir. */
export const LOCK_FILENAME = 'LOCK';
/** Flag file of an exported snapshot directory. */
export const SNAPSHOT_METADATA_FILENAME = 'snapshot.metadata';
/** Flag file of a node's snapshot directory not yet recorded in the log store. */
export const SNAPSHOT_FLAG_FILENAME = 'dragonboat.snapshot.message';
/** Marker of a removed node's snapshot root. */
export const DELETED_FLAG_FILENAME = 'DELETED.dragonboat';
/** Suffix of snapshot files. */
export const SNAPSHOT_FILE_SUFFIX = 'gbsnap';
/** Suffix of a snapshot directory being generated. */
export const GENERATING_SUFFIX = 'generating';
/** Suffix of a snapshot directory being received. */
export const RECEIVING_SUFFIX = 'receiving';
/** Dragonboat's fixed number of snapshot-part directories. */
export const SNAPSHOT_PARTITIONS = 512n;

const MAX_U64 = (1n << 64n) - 1n;

/** Converts a number|bigint ID to a uint64 bigint, throwing ErrInvalidConfig naming `what` when out of range. */
export function toU64(value: number | bigint, what: string): bigint {
  let v: bigint;
  if (typeof value === 'bigint') v = value;
  else if (typeof value === 'number' && Number.isSafeInteger(value)) v = BigInt(value);
  else throw new ErrInvalidConfig(`${what} must be an integer (got ${String(value)})`, { field: what, actual: String(value) });
  if (v < 0n || v > MAX_U64) {
    throw new ErrInvalidConfig(`${what} must be between 0 and 2^64-1 (got ${v})`, { field: what, actual: v });
  }
  return v;
}

/** DeploymentID as its directory name: 20 zero-padded decimal digits. */
export function deploymentDirName(deploymentId: number | bigint): string {
  return toU64(deploymentId, 'deploymentId').toString().padStart(20, '0');
}

/** `root/H/D`: the per-host, per-deployment directory under NodeHostDir or WALDir. */
export function hostDeploymentDir(root: string, hostname: string, deploymentId: number | bigint): string {
  return path.join(root, hostname, deploymentDirName(deploymentId));
}

/** `NodeHostDir/H/D`. */
export function deploymentDir(cfg: ResolvedNodeHostConfig): string {
  return hostDeploymentDir(cfg.nodeHostDir, cfg.hostname, cfg.deploymentId);
}

/** `WALDir/H/D`, or undefined without a WALDir. */
export function walDeploymentDir(cfg: ResolvedNodeHostConfig): string | undefined {
  return cfg.walDir === undefined ? undefined : hostDeploymentDir(cfg.walDir, cfg.hostname, cfg.deploymentId);
}

/** The top-level data directories: NodeHostDir, then WALDir when set (Dragonboat's check order). */
export function dataDirs(cfg: ResolvedNodeHostConfig): string[] {
  return cfg.walDir === undefined || cfg.walDir === cfg.nodeHostDir ? [cfg.nodeHostDir] : [cfg.nodeHostDir, cfg.walDir];
}

/** `dir/dragonboat.ds`. */
export function dataStatusPath(dir: string): string {
  return path.join(dir, DATA_STATUS_FILENAME);
}

/** `dir/LOCK`. */
export function lockFilePath(dir: string): string {
  return path.join(dir, LOCK_FILENAME);
}

/**
 * Log store partition of a shard: `(shardID % logDBShards) % execShards`,
 * Dragonboat v4's `NewDoubleFixedPartitioner(ExecShards, LogDB.Shards)`,
 * whose `GetPartitionID` is `(shardID % workerCount) % capacity`. The two
 * orders agree only when one count divides the other (16/16 by default), so
 * a store written with them swapped is one the restarting node never reads.
 * (Arguments keep their historical order: execShards before logDBShards.)
 */
export function logdbPartition(shardId: number | bigint, execShards: number, logDBShards: number): number {
  const sid = toU64(shardId, 'shardId');
  return Number((sid % BigInt(logDBShards)) % BigInt(execShards));
}

/** Directory name of log store partition `p`: `logdb-<p>`. */
export function logdbPartitionDirName(p: number): string {
  return `logdb-${p}`;
}

/** `NodeHostDir/H/D/logdb-<p>` for partition `p`. */
export function logdbPartitionDirByIndex(cfg: ResolvedNodeHostConfig, p: number): string {
  return path.join(deploymentDir(cfg), logdbPartitionDirName(p));
}

/**
 * `WALDir/H/D/logdb-<p>`: where a Pebble partition keeps its WAL files when a
 * WALDir is set (Dragonboat hands Pebble this directory); undefined without one.
 */
export function walPartitionDirByIndex(cfg: ResolvedNodeHostConfig, p: number): string | undefined {
  const wal = walDeploymentDir(cfg);
  return wal === undefined ? undefined : path.join(wal, logdbPartitionDirName(p));
}

/** `NodeHostDir/H/D/logdb-<p>` holding `shardId`'s records. */
export function logdbPartitionDir(cfg: ResolvedNodeHostConfig, shardId: number | bigint): string {
  return logdbPartitionDirByIndex(cfg, logdbPartition(shardId, cfg.execShards, cfg.logDBShards));
}

/** `snapshot-part-<shardID % 512>`. */
export function snapshotPartDirName(shardId: number | bigint): string {
  return `snapshot-part-${toU64(shardId, 'shardId') % SNAPSHOT_PARTITIONS}`;
}

/** `snapshot-<shardID>-<replicaID>`. */
export function snapshotRootDirName(shardId: number | bigint, replicaId: number | bigint): string {
  return `snapshot-${toU64(shardId, 'shardId')}-${toU64(replicaId, 'replicaId')}`;
}

/** A node's snapshot root: `NodeHostDir/H/D/snapshot-part-<s % 512>/snapshot-<s>-<r>`. */
export function snapshotRootDir(cfg: ResolvedNodeHostConfig, shardId: number | bigint, replicaId: number | bigint): string {
  return path.join(deploymentDir(cfg), snapshotPartDirName(shardId), snapshotRootDirName(shardId, replicaId));
}

/** A snapshot index as 16 upper-case hex digits (`%016X`). */
export function indexHex(index: number | bigint): string {
  return toU64(index, 'index').toString(16).toUpperCase().padStart(16, '0');
}

/** Final snapshot directory name: `snapshot-<%016X index>`. */
export function snapshotDirName(index: number | bigint): string {
  return `snapshot-${indexHex(index)}`;
}

/** Snapshot file name: `snapshot-<%016X index>.gbsnap`. */
export function snapshotFileName(index: number | bigint): string {
  return `snapshot-${indexHex(index)}.${SNAPSHOT_FILE_SUFFIX}`;
}

/** Temporary directory name of a snapshot being generated: `snapshot-<INDEX>-<from>.generating`. */
export function generatingDirName(index: number | bigint, from: number | bigint): string {
  return `${snapshotDirName(index)}-${toU64(from, 'from')}.${GENERATING_SUFFIX}`;
}

/** Temporary directory name of a snapshot being received: `snapshot-<INDEX>-<from>.receiving`. */
export function receivingDirName(index: number | bigint, from: number | bigint): string {
  return `${snapshotDirName(index)}-${toU64(from, 'from')}.${RECEIVING_SUFFIX}`;
}

/** All paths of one node's snapshot at `index`. */
export interface SnapshotPaths {
  /** The node's snapshot root. */
  root: string;
  /** `root/snapshot-<INDEX>`. */
  finalDir: string;
  /** `finalDir/snapshot-<INDEX>.gbsnap`. */
  file: string;
  /** `finalDir/dragonboat.snapshot.message`. */
  flagFile: string;
  /** `root/snapshot-<INDEX>-<replicaID>.generating`. */
  generatingDir: string;
}

/** Paths of (shardId, replicaId)'s snapshot at `index` (temporary dir as the node itself would name it). */
export function snapshotPaths(
  cfg: ResolvedNodeHostConfig,
  shardId: number | bigint,
  replicaId: number | bigint,
  index: number | bigint,
): SnapshotPaths {
  const root = snapshotRootDir(cfg, shardId, replicaId);
  const finalDir = path.join(root, snapshotDirName(index));
  return {
    root,
    finalDir,
    file: path.join(finalDir, snapshotFileName(index)),
    flagFile: path.join(finalDir, SNAPSHOT_FLAG_FILENAME),
    generatingDir: path.join(root, generatingDirName(index, replicaId)),
  };
}
