/**
 * `exportSnapshot`: Dragonboat's ExportSnapshot, offline. From a stopped
 * node's data directory, takes the latest snapshot its log store records,
 * verifies it while copying, and writes `<dest>/snapshot-<INDEX>/` in
 * Dragonboat's exported layout (the `.gbsnap`, external files, and
 * `snapshot.metadata` with paths pointing into that directory), plus a
 * manifest of SHA-256 digests. Crash-safe: everything is written into a
 * temporary sibling, fsynced, and renamed into place last.
 */
import { basename, join, resolve } from 'node:path';
import { ErrAlreadyExists, ErrIncompleteSnapshot, ErrNoSnapshot, throwIfAborted } from '../errors.js';
import { selectEngine, type EngineChoice } from '../engines/select.js';
import type { ChecksumEngine } from '../engines/types.js';
import { fsyncDir, mkdirDurable, removeCreatedDirs, removeTreeDurable, renameDurable, writeFileDurable } from '../files/durable.js';
import { statOrUndefined } from '../files/fsutil.js';
import { LogDB } from '../logdb/logdb.js';
import { resolveNodeHostConfig, type NodeHostConfig, type ResolvedNodeHostConfig } from '../nodehost/config.js';
import { holdNodeHostLocks } from './dir-locks.js';
import { checkNodeHostNotLocked } from '../nodehost/lock.js';
import { SNAPSHOT_METADATA_FILENAME, snapshotDirName, snapshotPaths } from '../nodehost/paths.js';
import { encodeSnapshot } from '../records/codec.js';
import { encodeFlagFile } from '../records/flagfile.js';
import { createHash } from 'node:crypto';
import type { Snapshot } from '../records/types.js';
import { externalFilesOf } from './export-dir.js';
import { copySnapshotInto } from './snapshot-copy.js';
import { encodeManifest, MANIFEST_FILENAME, type ManifestFile } from './manifest.js';
import { toReplicaId } from './members.js';
import { nativeLockHolder } from '../nodehost/native-lock.js';

/** Options of {@link exportSnapshot}. */
export interface ExportOptions {
  engine?: EngineChoice | ChecksumEngine;
  signal?: AbortSignal;
  /** Byte progress of the copy. */
  onProgress?: (phase: 'copy' | 'hash', bytesDone: number, bytesTotal: number) => void;
}

/** What {@link exportSnapshot} wrote. */
export interface ExportResult {
  shardId: bigint;
  replicaId: bigint;
  index: bigint;
  term: bigint;
  /** `<dest>/snapshot-<INDEX>`. */
  exportDir: string;
  /** The record written to `snapshot.metadata`. */
  record: Snapshot;
  /** Every file of the export with its digest (the manifest's content). */
  files: ManifestFile[];
  engine: string;
  degraded?: string;
}

/**
 * Exports the latest snapshot of (shardId, replicaId) from a stopped
 * NodeHost's data directory into `destDir/snapshot-<INDEX>/`.
 *
 * Throws `ErrDirLocked` (the NodeHost runs), `ErrNoSnapshot`,
 * `ErrIncompleteSnapshot` (the node's snapshot file or an external file is
 * missing or corrupt), `ErrAlreadyExists` (the export directory exists).
 */
export async function exportSnapshot(
  nhConfig: NodeHostConfig,
  shardIdIn: bigint | number | string,
  replicaIdIn: bigint | number | string,
  destDir: string,
  options: ExportOptions = {},
): Promise<ExportResult> {
  const cfg = resolveNodeHostConfig(nhConfig);
  const shardId = toReplicaId(shardIdIn, 'shard ID');
  const replicaId = toReplicaId(replicaIdIn, 'replica ID');
  await checkNodeHostNotLocked(cfg, { lockHolder: nativeLockHolder() });
  // Held (fcntl, as a NodeHost holds them) while the node is read: a NodeHost started meanwhile refuses to start.
  const locks = await holdNodeHostLocks(cfg, { create: false });
  try {
    return await exportHeld(cfg, shardId, replicaId, destDir, options);
  } finally {
    await locks.release();
  }
}

async function exportHeld(
  cfg: ResolvedNodeHostConfig,
  shardId: bigint,
  replicaId: bigint,
  destDir: string,
  options: ExportOptions,
): Promise<ExportResult> {
  const db = await LogDB.open(cfg, { readOnly: true, lock: { lockHolder: nativeLockHolder() } });
  let record: Snapshot | undefined;
  try {
    record = await db.getSnapshot(shardId, replicaId);
  } finally {
    await db.close();
  }
  if (!record) {
    throw new ErrNoSnapshot(`the log store of ${cfg.nodeHostDir} records no snapshot for shard ${shardId} replica ${replicaId}`, {
      path: cfg.nodeHostDir,
      shardId,
      replicaId,
    });
  }
  const { engine, degraded } = selectEngine(options.engine);
  // The node's own directory, wherever the record's absolute paths say (the disk may be mounted elsewhere now).
  const source = snapshotPaths(cfg, shardId, replicaId, record.index).finalDir;
  const snapName = basename(record.filepath);
  const dest = resolve(destDir);
  const finalDir = join(dest, snapshotDirName(record.index));
  const tmpDir = join(dest, `.${snapshotDirName(record.index)}.exporting`);
  if (await statOrUndefined(finalDir)) {
    throw new ErrAlreadyExists(`${finalDir} already exists; export to another directory or remove it first`, { path: finalDir });
  }
  // The node's own directory must hold every external file the record lists, at its recorded size.
  const externals = await externalFilesOf(source, record, `the log store's snapshot record`);

  await removeTreeDurable(tmpDir); // leftover of an interrupted export
  const created = await mkdirDurable(tmpDir);
  try {
    const srcFile = join(source, snapName);
    const srcSt = await statOrUndefined(srcFile);
    if (!srcSt) {
      throw new ErrIncompleteSnapshot(`the node's snapshot file ${srcFile} is missing`, { path: srcFile, check: 'snapshot-file-missing' });
    }
    const copied = await copySnapshotInto(
      {
        file: srcFile,
        mode: srcSt.mode & 0o7777,
        size: srcSt.size,
        recordFileSize: record.fileSize,
        recordChecksum: record.checksum,
        externals: externals.map((f) => ({ path: f.path, size: Number(f.size), recordSize: f.recordSize })),
      },
      tmpDir,
      { engine, signal: options.signal, onProgress: (d, t) => options.onProgress?.('copy', d, t) },
    );
    const exported: Snapshot = {
      ...record,
      filepath: join(finalDir, snapName),
      files: record.files.map((f) => ({ ...f, filepath: join(finalDir, basename(f.filepath)) })),
    };
    const metadata = encodeFlagFile(encodeSnapshot(exported));
    await writeFileDurable(join(tmpDir, SNAPSHOT_METADATA_FILENAME), metadata);
    throwIfAborted(options.signal, 'export (before the manifest)');
    // The digests are of the bytes written, computed in the copy's own pass (no second read).
    const files: ManifestFile[] = [
      ...[copied.snapshot, ...copied.externals].map((f) => ({ name: f.name, size: f.size, sha256: f.sha256 })),
      { name: SNAPSHOT_METADATA_FILENAME, size: BigInt(metadata.length), sha256: createHash('sha256').update(metadata).digest('hex') },
    ].sort((a, b) => (a.name < b.name ? -1 : a.name > b.name ? 1 : 0));
    const manifest = { shardId, replicaId, index: record.index, files };
    await writeFileDurable(join(tmpDir, MANIFEST_FILENAME), encodeManifest(manifest));
    await fsyncDir(tmpDir);
    throwIfAborted(options.signal, 'export (before finalizing)');
    await renameDurable(tmpDir, finalDir);
    return {
      shardId,
      replicaId,
      index: record.index,
      term: record.term,
      exportDir: finalDir,
      record: exported,
      files: manifest.files,
      engine: engine.name,
      ...(degraded ? { degraded } : {}),
    };
  } catch (err) {
    await removeTreeDurable(tmpDir).catch(() => undefined);
    await removeCreatedDirs(created.filter((d) => d !== tmpDir));
    throw err;
  }
}
