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
import { ErrAlreadyExists, ErrIncompleteSnapshot, ErrInvalidConfig, ErrLogSuffix, ErrNoSnapshot, throwIfAborted } from '../errors.js';
import { chooseEngine } from '../engines/choose.js';
import type { EngineChoice } from '../engines/select.js';
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
import { externalFilesOf, readExportDir, type ExportDir } from './export-dir.js';
import {
  checkAnchor,
  LOG_SUFFIX_FILENAME,
  NOTHING_PAST_SNAPSHOT,
  refuseOnDiskSuffix,
  writeExportLogSuffix,
  type LogSuffixInfo,
} from './export-log.js';
import { copySnapshotInto, type SnapshotSource } from './snapshot-copy.js';
import {
  checkDigest,
  checkManifestListing,
  encodeManifest,
  MANIFEST_FILENAME,
  readManifest,
  type Manifest,
  type ManifestFile,
} from './manifest.js';
import { toReplicaId } from './members.js';
import { nativeLockHolder } from '../nodehost/native-lock.js';

/** Options of {@link exportSnapshot}. */
export interface ExportOptions {
  engine?: EngineChoice | ChecksumEngine;
  signal?: AbortSignal;
  /** Byte progress of the copy. */
  onProgress?: (phase: 'copy' | 'hash', bytesDone: number, bytesTotal: number) => void;
  /**
   * Also write the replica's entries past the snapshot into `log-suffix.nhlog`
   * (docs/log-suffix.md), after checking that its log continues the snapshot.
   */
  withLog?: boolean;
  /**
   * With `withLog`: take the snapshot from this export directory (verified
   * while copied) instead of the node's own; the suffix starts right after
   * that export's index and the node's log must hold that index with its term.
   */
  snapshotFrom?: string;
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
  /** The log suffix written (`withLog`); undefined when the node holds nothing past the snapshot (see `logSuffixNote`). */
  logSuffix?: LogSuffixInfo;
  /** Set when `withLog` wrote no suffix: why. */
  logSuffixNote?: string;
  /** The export the snapshot was taken from (`snapshotFrom`), resolved. */
  snapshotFrom?: string;
}

/**
 * Exports the latest snapshot of (shardId, replicaId) from a stopped
 * NodeHost's data directory into `destDir/snapshot-<INDEX>/`.
 *
 * Throws `ErrDirLocked` (the NodeHost runs), `ErrNoSnapshot`,
 * `ErrIncompleteSnapshot` (the node's snapshot file or an external file is
 * missing or corrupt), `ErrAlreadyExists` (the export directory exists);
 * with `withLog` also `ErrLogDiverged` (the log does not hold the snapshot's
 * index with its term) and `ErrLogSuffix` (an on-disk state machine, a gap,
 * an entry that is not what its key says). A failed export writes nothing.
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
  if (options.snapshotFrom !== undefined && !options.withLog) {
    throw new ErrInvalidConfig("snapshotFrom takes the snapshot from another export to carry this node's log after it: it needs withLog", {
      check: 'snapshot-from',
    });
  }
  const db = await LogDB.open(cfg, { readOnly: true, lock: { lockHolder: nativeLockHolder() } });
  try {
    const from = options.snapshotFrom === undefined ? undefined : await readSourceExport(options.snapshotFrom, shardId);
    const record = from ? from.exp.record : await db.getSnapshot(shardId, replicaId);
    if (!record) {
      throw new ErrNoSnapshot(`the log store of ${cfg.nodeHostDir} records no snapshot for shard ${shardId} replica ${replicaId}`, {
        path: cfg.nodeHostDir,
        shardId,
        replicaId,
      });
    }
    if (options.withLog) {
      // Both are refusals of the whole export: checked before a byte is copied.
      refuseOnDiskSuffix(record, from ? from.exp.dir : db.partitionDirOf(shardId));
      await checkAnchor(db, record, replicaId, db.partitionDirOf(shardId));
    }
    return await writeExport(cfg, db, shardId, replicaId, destDir, record, from, options);
  } finally {
    await db.close();
  }
}

/** An export the snapshot is taken from, its layout and manifest listing checked. */
interface SourceExport {
  exp: ExportDir;
  manifest: Manifest | undefined;
}

async function readSourceExport(dir: string, shardId: bigint): Promise<SourceExport> {
  const exp = await readExportDir(dir);
  if (exp.record.shardId !== shardId) {
    throw new ErrLogSuffix(`${exp.dir} holds a snapshot of shard ${exp.record.shardId}, not of shard ${shardId}`, {
      path: exp.dir,
      check: 'shard-id',
      expected: shardId,
      actual: exp.record.shardId,
    });
  }
  const manifest = await readManifest(exp.dir);
  if (manifest) {
    await checkManifestListing(exp.dir, manifest);
    checkDigest(manifest, SNAPSHOT_METADATA_FILENAME, join(exp.dir, SNAPSHOT_METADATA_FILENAME), exp.metadata);
  }
  return { exp, manifest };
}

async function writeExport(
  cfg: ResolvedNodeHostConfig,
  db: LogDB,
  shardId: bigint,
  replicaId: bigint,
  destDir: string,
  record: Snapshot,
  from: SourceExport | undefined,
  options: ExportOptions,
): Promise<ExportResult> {
  const { engine, degraded } = await chooseEngine(options.engine);
  // The node's own directory, wherever the record's absolute paths say (the disk may be mounted elsewhere now).
  const source = from ? from.exp.dir : snapshotPaths(cfg, shardId, replicaId, record.index).finalDir;
  const snapName = basename(record.filepath);
  const dest = resolve(destDir);
  const finalDir = join(dest, snapshotDirName(record.index));
  const tmpDir = join(dest, `.${snapshotDirName(record.index)}.exporting`);
  if (await statOrUndefined(finalDir)) {
    throw new ErrAlreadyExists(`${finalDir} already exists; export to another directory or remove it first`, { path: finalDir });
  }
  // The source directory must hold every external file the record lists, at its recorded size.
  const externals = from ? from.exp.externalFiles : await externalFilesOf(source, record, `the log store's snapshot record`);
  if (options.withLog && externals.some((f) => f.name === LOG_SUFFIX_FILENAME)) {
    throw new ErrLogSuffix(`the snapshot has an external file named ${LOG_SUFFIX_FILENAME}: the log suffix cannot sit beside it`, {
      path: source,
      check: 'file-name',
    });
  }

  await removeTreeDurable(tmpDir); // leftover of an interrupted export
  const created = await mkdirDurable(tmpDir);
  try {
    const srcFile = join(source, snapName);
    const srcSt = await statOrUndefined(srcFile);
    if (!srcSt) {
      throw new ErrIncompleteSnapshot(`the node's snapshot file ${srcFile} is missing`, { path: srcFile, check: 'snapshot-file-missing' });
    }
    const src: SnapshotSource = {
      file: srcFile,
      mode: srcSt.mode & 0o7777,
      size: srcSt.size,
      recordFileSize: record.fileSize,
      recordChecksum: record.checksum,
      externals: externals.map((f) => ({ path: f.path, size: Number(f.size), recordSize: f.recordSize })),
    };
    const copied = await copySnapshotInto(src, tmpDir, {
      engine,
      signal: options.signal,
      onProgress: (d, t) => options.onProgress?.('copy', d, t),
    });
    // Another export's files are compared with its manifest as they were read, as import does.
    if (from?.manifest) for (const f of [copied.snapshot, ...copied.externals]) checkDigest(from.manifest, f.name, f.path, f);
    const exported: Snapshot = {
      ...record,
      filepath: join(finalDir, snapName),
      files: record.files.map((f) => ({ ...f, filepath: join(finalDir, basename(f.filepath)) })),
    };
    const metadata = encodeFlagFile(encodeSnapshot(exported));
    await writeFileDurable(join(tmpDir, SNAPSHOT_METADATA_FILENAME), metadata);
    throwIfAborted(options.signal, 'export (before the log suffix)');
    const logSuffix = options.withLog
      ? await writeExportLogSuffix(db, cfg, record, replicaId, tmpDir, options.signal ? { signal: options.signal } : {})
      : undefined;
    throwIfAborted(options.signal, 'export (before the manifest)');
    // The digests are of the bytes written, computed in the copy's own pass (no second read).
    const files: ManifestFile[] = [
      ...[copied.snapshot, ...copied.externals].map((f) => ({ name: f.name, size: f.size, sha256: f.sha256 })),
      { name: SNAPSHOT_METADATA_FILENAME, size: BigInt(metadata.length), sha256: createHash('sha256').update(metadata).digest('hex') },
      ...(logSuffix ? [{ name: LOG_SUFFIX_FILENAME, size: logSuffix.size, sha256: logSuffix.sha256 }] : []),
    ].sort((a, b) => (a.name < b.name ? -1 : a.name > b.name ? 1 : 0));
    // With snapshotFrom the snapshot is another replica's: the manifest names that one when its export said so.
    const manifest = { shardId, replicaId: from?.manifest?.replicaId ?? replicaId, index: record.index, files };
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
      ...(logSuffix ? { logSuffix: { ...logSuffix, file: join(finalDir, LOG_SUFFIX_FILENAME) } } : {}),
      ...(options.withLog && !logSuffix ? { logSuffixNote: NOTHING_PAST_SNAPSHOT } : {}),
      ...(from ? { snapshotFrom: from.exp.dir } : {}),
    };
  } catch (err) {
    await removeTreeDurable(tmpDir).catch(() => undefined);
    await removeCreatedDirs(created.filter((d) => d !== tmpDir));
    throw err;
  }
}
