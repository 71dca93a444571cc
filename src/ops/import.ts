/**
 * `importSnapshot`: the quorum-loss repair (IMPORT.md), crash-safe.
 *
 * Phase A validates everything without writing a byte: configuration, member
 * map, the export's layout and record, the snapshot file's header, size and
 * tail, the member map against the snapshot's membership, the state machine
 * type, `dragonboat.ds`, the locks, the snapshot root, and the node's current
 * records (read from a private clone of the log store).
 *
 * From the lock check on, the import holds NodeHostDir/LOCK and WALDir/LOCK
 * itself (fcntl write locks, as a NodeHost does; `dir-locks.ts`), so that a
 * NodeHost started meanwhile refuses to start: in phase A the LOCK files that
 * exist (locking writes nothing), at the start of phase B the others, created
 * as a NodeHost's first start would. They are released when the import ends,
 * however it ends; a LOCK file created for a failed import is removed again.
 * Without the native addon nothing can be locked (warning `lock-not-held`).
 *
 * Phase B writes, ordered so that the node's previous state stays complete and
 * restartable until the log store commit, and the new one is complete after:
 *
 *   1. copy the snapshot into `snapshot-<INDEX>-<R>.generating`, verifying
 *      every block while copying (each byte read once); external files beside
 *      it; the flag file `dragonboat.snapshot.message` last. A restart deletes
 *      a generating directory, so a crash here is harmless. A payload that
 *      fails its checks is detected here and rolled back: every directory this
 *      run created is removed, leaving the data directory as it was.
 *   2. create `dragonboat.ds` where missing.
 *   3. rename the temporary directory to `snapshot-<INDEX>`. Until the commit
 *      it is a flagged, unrecorded directory: an orphan a restart deletes.
 *   4. commit the log store batch (IMPORT.md step 11). From here the node owns
 *      the snapshot; a restart removes the flag file.
 *   5. remove the old snapshot directories (a restart would delete them too),
 *      then the stale entries, and compact their key range.
 *
 * When the node already records a snapshot at INDEX whose directory holds the
 * same snapshot (typically the survivor whose own snapshot was exported), that
 * directory is reused in place: it is verified against the new record instead
 * of being replaced, which keeps the old state valid throughout.
 *
 * A rerun after a crash at any point converges on the uninterrupted result.
 */
import { readdir } from 'node:fs/promises';
import { basename, join } from 'node:path';
import { ErrAlreadyExists, ErrSnapshotOutOfDate, ErrDirMarkedAsDeleted, throwIfAborted } from '../errors.js';
import { selectEngine, type EngineChoice } from '../engines/select.js';
import type { ChecksumEngine } from '../engines/types.js';
import {
  fsyncDir, isTempSiblingName, mkdirDurable, removeCreatedDirs, removeStaleTempSiblings, removeTreeDurable, renameDurable,
} from '../files/durable.js';
import { writeFlagFile } from '../files/flagfile.js';
import { sha256File } from '../files/hash.js';
import { statOrUndefined } from '../files/fsutil.js';
import { LogDB, hasNodeState, latestSnapshot, type NodeRecords } from '../logdb/logdb.js';
import type { LogStoreChoice } from '../logdb/store-kind.js';
import { resolveNodeHostConfig, type NodeHostConfig, type ResolvedNodeHostConfig } from '../nodehost/config.js';
import { checkOrCreateDataStatusFiles, type BinVer, type DataStatusResult } from '../nodehost/datastatus.js';
import { checkNodeHostNotLocked } from '../nodehost/lock.js';
import { holdNodeHostLocks, type NodeHostLocks } from './dir-locks.js';
import { ensureNodeHostDirs } from '../nodehost/layout.js';
import { SNAPSHOT_FLAG_FILENAME, dataDirs, dataStatusPath, snapshotPaths, type SnapshotPaths } from '../nodehost/paths.js';
import { isMarkedDeleted, listSnapshotDirs } from '../nodehost/snapshotdirs.js';
import { encodeSnapshot } from '../records/codec.js';
import { StateMachineType, type Bootstrap, type RaftState, type Snapshot } from '../records/types.js';
import { precheckSnapshotFile, verifySnapshotFile } from '../snapshot/verify.js';
import { readExportDir, type ExportDir } from './export-dir.js';
import { importedSnapshotRecord } from './imported-record.js';
import { checkManifest, readManifest } from './manifest.js';
import { copySnapshotInto } from './snapshot-copy.js';
import { recoveryFingerprint } from './fingerprint.js';
import { createBackup, type BackupInfo } from './backup.js';
import {
  checkLocalMember,
  checkMembersAgainstSnapshot,
  chooseConfigChangeId,
  newMembership,
  normalizeMembers,
  removedByImport,
  toReplicaId,
  type ConfigChangeIdPolicy,
  type MemberNodes,
} from './members.js';
import { nativeLockHolder } from './native-hooks.js';

/** Step boundaries of an import, in order; reported through {@link ImportOptions.onStep}. */
export const IMPORT_STEPS = [
  'validated',
  'temp-created',
  'snapshot-copied',
  'flag-written',
  'data-status-written',
  'finalized',
  'committed',
  'old-snapshots-removed',
  'stale-entries-removed',
] as const;

/** A step boundary of an import. */
export type ImportStep = (typeof IMPORT_STEPS)[number];

/** Phases reported through {@link ImportOptions.onProgress}. */
export type ImportPhase = 'validate' | 'verify' | 'copy' | 'commit' | 'cleanup';

/** Options of {@link importSnapshot}. */
export interface ImportOptions {
  /** Checksum engine: `auto` (default: native, else WebAssembly, else zlib), a name, or an engine object. */
  engine?: EngineChoice | ChecksumEngine;
  /**
   * The new membership's config_change_id: `preserve` (default) keeps the
   * exported membership's value; `snapshot-index` reproduces the reference,
   * which sets it to the snapshot index (Dragonboat issue 414).
   */
  configChangeId?: ConfigChangeIdPolicy;
  /** Validate everything and return the before/after records without writing anything. */
  dryRun?: boolean;
  /** Byte progress of long phases (copying the snapshot). */
  onProgress?: (phase: ImportPhase, bytesDone: number, bytesTotal: number) => void;
  /** Called at every step boundary, after the step is durable. */
  onStep?: (step: ImportStep) => void;
  /** Cancels the import; it stops at the next boundary, exactly as a crash there would (harmless by design). */
  signal?: AbortSignal;
  /**
   * Before writing anything, save everything the import replaces for this
   * replica (log store records and entries, snapshot directories) into this
   * new directory; `restoreBackup` undoes the import from it.
   */
  backupDir?: string;
}

/** A warning for the operator; `code` is stable. */
export interface ImportWarning {
  /**
   * `lock-not-held`: without the native addon the import could not lock
   * NodeHostDir/LOCK (it only checked that no NodeHost held it).
   */
  code: 'on-disk-state-machine' | 'newer-state-discarded' | 'degraded-engine' | 'entries-discarded' | 'lock-not-held';
  message: string;
}

/** Records of the node as the log store holds them. */
export interface NodeRecordsView {
  /** The replica has any record or entry in the log store. */
  hasState: boolean;
  bootstrap: Bootstrap | undefined;
  raftState: RaftState | undefined;
  maxIndex: bigint | undefined;
  /** Latest snapshot record, if any. */
  snapshot: Snapshot | undefined;
  /** Every snapshot record index present. */
  snapshotIndexes: bigint[];
  /** Entry keys present (plain: indexes; batches: batch IDs). */
  plainEntries: { first: bigint; last: bigint } | undefined;
  entryBatches: { first: bigint; last: bigint } | undefined;
}

/** A file placed in the node's snapshot directory. */
export interface ImportedFile {
  name: string;
  path: string;
  bytes: bigint;
  /** `copied` from the export, or `reused` (already there, verified identical). */
  how: 'copied' | 'reused';
}

/** What an import changed (or, with `dryRun`, would change). */
export interface ImportResult {
  dryRun: boolean;
  shardId: bigint;
  replicaId: bigint;
  /** Snapshot index and term. */
  index: bigint;
  term: bigint;
  type: StateMachineType;
  members: Map<bigint, string>;
  /** Replicas the new membership removes. */
  removedReplicas: bigint[];
  configChangeId: { policy: ConfigChangeIdPolicy; value: bigint; source: bigint; reference: bigint };
  engine: string;
  nodeHostDir: string;
  partitionDir: string;
  snapshotDir: string;
  /** The node's records before and after. */
  before: NodeRecordsView;
  after: { bootstrap: Bootstrap; raftState: RaftState; maxIndex: bigint; snapshot: Snapshot };
  files: ImportedFile[];
  /** Snapshot directories removed (or to be removed). */
  removedSnapshotDirs: string[];
  /**
   * The replica's entries removed (undefined in a dry run): the key spans it
   * had, and the counts where the store counted them (LevelDB deletes key by
   * key; Pebble removes the whole span with one range tombstone, uncounted).
   */
  staleEntries: {
    plainEntriesRemoved: number | undefined;
    entryBatchesRemoved: number | undefined;
    plainEntries: { first: bigint; last: bigint } | undefined;
    entryBatches: { first: bigint; last: bigint } | undefined;
  } | undefined;
  dataStatus: DataStatusResult[];
  warnings: ImportWarning[];
  /** Digest of shard, snapshot and member map; equal on every host repaired from the same export and map. */
  fingerprint: string;
  /** The backup taken first, with `backupDir`. */
  backup?: BackupInfo;
}

interface Plan {
  cfg: ResolvedNodeHostConfig;
  shardId: bigint;
  replicaId: bigint;
  members: Map<bigint, string>;
  exp: ExportDir;
  record: Snapshot;
  paths: SnapshotPaths;
  before: NodeRecords;
  /** The engine of the node's log store (decided once, from dragonboat.ds or the configuration). */
  store: LogStoreChoice;
  /** Entry format found in the store; undefined when it holds no entry (then either format is consistent). */
  binVer: BinVer | undefined;
  dataStatus: DataStatusResult[];
  reuseFinal: boolean;
  policy: ConfigChangeIdPolicy;
  warnings: ImportWarning[];
  engine: ChecksumEngine;
}

function view(rec: NodeRecords): NodeRecordsView {
  const latest = latestSnapshot(rec);
  return {
    hasState: hasNodeState(rec),
    bootstrap: rec.bootstrap,
    raftState: rec.raftState,
    maxIndex: rec.maxIndex,
    snapshot: latest,
    snapshotIndexes: rec.snapshots.map((s) => s.index),
    plainEntries: rec.plainEntries,
    entryBatches: rec.entryBatches,
  };
}

/** Removes what an interrupted `dragonboat.ds` write left, so that a rerun ends exactly as an uninterrupted run. */
async function removeDataStatusTemps(cfg: ResolvedNodeHostConfig): Promise<void> {
  for (const dir of dataDirs(cfg)) await removeStaleTempSiblings(dataStatusPath(dir));
}

/** Equal contents, compared by streamed digests (external files can be large). */
async function sameBytes(a: string, b: string): Promise<boolean> {
  const [x, y] = await Promise.all([sha256File(a), sha256File(b)]);
  return x.size === y.size && x.sha256 === y.sha256;
}

/**
 * Can the node's existing `snapshot-<INDEX>` directory serve as the imported
 * one? Only when the log store records that very index there (otherwise a
 * restart would delete it anyway and we replace it) and it holds the same
 * snapshot: the file verifies against the new record, and the external files
 * are byte-identical to the export's. Extra files make it different.
 */
async function canReuseFinalDir(p: Omit<Plan, 'reuseFinal'>, signal: AbortSignal | undefined): Promise<boolean> {
  const recorded = latestSnapshot(p.before);
  if (recorded?.index !== p.record.index) return false;
  const st = await statOrUndefined(p.paths.finalDir);
  if (!st?.isDirectory()) return false;
  const expected = new Set([basename(p.exp.snapshotFile), ...p.exp.externalFiles.map((f) => f.name), SNAPSHOT_FLAG_FILENAME]);
  // A temporary flag file of an interrupted run is no difference: it is removed before the flag is written.
  const present = (await readdir(p.paths.finalDir)).filter((n) => !isTempSiblingName(n, SNAPSHOT_FLAG_FILENAME));
  if (present.some((n) => !expected.has(n))) return false;
  const existing = join(p.paths.finalDir, basename(p.exp.snapshotFile));
  try {
    await verifySnapshotFile(existing, {
      engine: p.engine,
      expectedFileSize: p.record.fileSize,
      expectedChecksum: p.record.checksum,
      signal,
    });
  } catch {
    return false;
  }
  for (const f of p.exp.externalFiles) {
    const there = join(p.paths.finalDir, f.name);
    if (!(await statOrUndefined(there))?.isFile() || !(await sameBytes(f.path, there))) return false;
  }
  return true;
}

async function validate(
  config: NodeHostConfig,
  srcDir: string,
  memberNodes: MemberNodes,
  replicaIdIn: bigint | number | string,
  options: ImportOptions,
  afterLockCheck: (cfg: ResolvedNodeHostConfig) => Promise<void>,
): Promise<Plan> {
  const cfg = resolveNodeHostConfig(config);
  const replicaId = toReplicaId(replicaIdIn);
  const members = normalizeMembers(memberNodes);
  checkLocalMember(members, replicaId, cfg.raftAddress);
  const exp = await readExportDir(srcDir);
  // Our exports carry a manifest; the .gbsnap is checked block by block during the copy, the rest by digest here.
  const manifest = await readManifest(exp.dir);
  if (manifest) await checkManifest(exp.dir, manifest, new Set([basename(exp.snapshotFile)]), options.signal);
  const source = exp.record;
  const { engine, degraded } = selectEngine(options.engine);
  const warnings: ImportWarning[] = [];
  if (degraded) warnings.push({ code: 'degraded-engine', message: degraded });
  // Header, size and tail now; every block while copying (phase B).
  await precheckSnapshotFile(exp.snapshotFile, {
    engine,
    expectedFileSize: source.fileSize,
    expectedChecksum: source.checksum,
    signal: options.signal,
  });
  checkMembersAgainstSnapshot(members, source.membership);
  const policy = options.configChangeId ?? 'preserve';
  const membership = newMembership(source.membership, members, chooseConfigChangeId(source, policy));
  const shardId = source.shardId;
  const paths = snapshotPaths(cfg, shardId, replicaId, source.index);
  const record = importedSnapshotRecord(source, paths.finalDir, membership);

  await checkNodeHostNotLocked(cfg, { lockHolder: nativeLockHolder() });
  await afterLockCheck(cfg);
  if (options.backupDir !== undefined && (await statOrUndefined(options.backupDir))) {
    throw new ErrAlreadyExists(`backup directory ${options.backupDir} already exists; give a new one`, { path: options.backupDir });
  }
  if (await isMarkedDeleted(paths.root)) {
    throw new ErrDirMarkedAsDeleted(
      `${paths.root} holds DELETED.dragonboat: replica ${replicaId} of shard ${shardId} was removed from this host ` +
        'and must never be reused; import under a new replica ID',
      { path: join(paths.root, 'DELETED.dragonboat') },
    );
  }
  const db = await LogDB.open(cfg, { readOnly: true, lock: { lockHolder: nativeLockHolder() } });
  let before: NodeRecords;
  let binVer: BinVer | undefined;
  const store = db.store;
  try {
    // Refuses an Unknown state machine type and index 0 before anything is written.
    const plan = await db.planImport(record, replicaId);
    before = plan.before;
    // Undefined when no entry is left (e.g. a rerun after an import removed them all): a batched
    // directory's dragonboat.ds (210) is then still consistent and must not be refused.
    binVer = await db.detectEntryFormat();
  } finally {
    await db.close();
  }
  const dataStatus = await checkOrCreateDataStatusFiles(cfg, binVer, { dryRun: true });

  const old = latestSnapshot(before);
  if (old && old.index > source.index) {
    warnings.push({
      code: 'newer-state-discarded',
      message: `replica ${replicaId} had a newer snapshot (index ${old.index}) than the imported one (index ${source.index}); ` +
        'its state after index ' + source.index + ' is discarded',
    });
  }
  if (before.maxIndex !== undefined && before.maxIndex > source.index) {
    warnings.push({
      code: 'entries-discarded',
      message: `log entries ${source.index + 1n}..${before.maxIndex} of replica ${replicaId} are discarded`,
    });
  }
  if (source.type === StateMachineType.OnDisk) {
    warnings.push({
      code: 'on-disk-state-machine',
      message: 'this is an on-disk state machine: its own data lives outside the NodeHost directory and is newer than ' +
        'the snapshot; the import cannot roll it back (Dragonboat issue 79). Make the application discard or restore ' +
        `its on-disk data to index ${source.index} before restarting the node`,
    });
  }
  const partial = { cfg, shardId, replicaId, members, exp, record, paths, before, store, binVer, dataStatus, policy, warnings, engine };
  const reuseFinal = await canReuseFinalDir(partial, options.signal);
  if (reuseFinal) {
    // Nothing is copied on this path, so the export's blocks are read here: a corrupt
    // export must fail on the survivor exactly as it does on the new hosts (IMPORT.md step 5).
    await verifySnapshotFile(exp.snapshotFile, {
      engine, expectedFileSize: source.fileSize, expectedChecksum: source.checksum, signal: options.signal,
      onProgress: (d, t) => options.onProgress?.('verify', d, t),
    });
  }
  if (!reuseFinal && old?.index === source.index && (await statOrUndefined(paths.finalDir))?.isDirectory()) {
    throw new ErrSnapshotOutOfDate(
      `replica ${replicaId} already records a different snapshot at index ${source.index} (${paths.finalDir}); ` +
        'replacing it in place could leave the node without a valid snapshot if the import were interrupted. ' +
        'Move that directory away (or restore it) and rerun the import',
      { path: paths.finalDir, check: 'final-dir-conflict', index: source.index },
    );
  }
  return { ...partial, reuseFinal };
}

function result(p: Plan, dryRun: boolean, extra: Partial<ImportResult>): ImportResult {
  const source = p.exp.record;
  return {
    dryRun,
    shardId: p.shardId,
    replicaId: p.replicaId,
    index: source.index,
    term: source.term,
    type: source.type,
    members: p.members,
    removedReplicas: removedByImport(source.membership, p.members),
    configChangeId: {
      policy: p.policy,
      value: p.record.membership.configChangeId,
      source: source.membership.configChangeId,
      reference: source.index,
    },
    engine: p.engine.name,
    nodeHostDir: p.cfg.nodeHostDir,
    partitionDir: p.before.partitionDir,
    snapshotDir: p.paths.finalDir,
    before: view(p.before),
    after: {
      bootstrap: { addresses: new Map(), join: true, type: source.type },
      raftState: { term: source.term, vote: 0n, commit: source.index },
      maxIndex: source.index,
      snapshot: p.record,
    },
    files: [],
    removedSnapshotDirs: [],
    staleEntries: undefined,
    dataStatus: p.dataStatus,
    warnings: p.warnings,
    fingerprint: recoveryFingerprint({ shardId: p.shardId, index: source.index, checksum: source.checksum, members: p.members }),
    ...extra,
  };
}

/** The files the node's snapshot directory holds after the import: the `.gbsnap`, then the external files. */
function plannedFiles(p: Plan, how: ImportedFile['how']): ImportedFile[] {
  return [
    { name: basename(p.exp.snapshotFile), path: p.record.filepath, bytes: p.exp.snapshotFileSize, how },
    ...p.exp.externalFiles.map((f): ImportedFile => ({ name: f.name, path: join(p.paths.finalDir, f.name), bytes: f.size, how })),
  ];
}

/**
 * Dragonboat's CreateNodeHostDir: NodeHostDir/H/D and WALDir/H/D, then
 * `dragonboat.ds` where missing (after removing what an interrupted write of
 * it left, so a rerun ends exactly as an uninterrupted run).
 */
async function prepareNodeHostDirs(p: Plan): Promise<void> {
  await ensureNodeHostDirs(p.cfg);
  await removeDataStatusTemps(p.cfg);
  await checkOrCreateDataStatusFiles(p.cfg, p.binVer);
}

/** Copies the export into the generating directory; returns the files placed. */
async function copyIntoTemp(p: Plan, options: ImportOptions, step: (s: ImportStep) => void): Promise<ImportedFile[]> {
  const tmp = p.paths.generatingDir;
  await copySnapshotInto({
    file: p.exp.snapshotFile,
    mode: p.exp.snapshotFileMode,
    size: Number(p.exp.snapshotFileSize),
    recordFileSize: p.exp.record.fileSize,
    recordChecksum: p.exp.record.checksum,
    externals: p.exp.externalFiles.map((f) => ({ path: f.path, size: Number(f.size) })),
  }, tmp, { engine: p.engine, signal: options.signal, onProgress: (d, t) => options.onProgress?.('copy', d, t) });
  await fsyncDir(tmp);
  step('snapshot-copied');
  throwIfAborted(options.signal, 'import (after copying)');
  await writeFlagFile(join(tmp, SNAPSHOT_FLAG_FILENAME), encodeSnapshot(p.record));
  step('flag-written');
  return plannedFiles(p, 'copied');
}

/**
 * Imports the exported snapshot in `srcDir` onto replica `replicaId` of this
 * NodeHost, with the membership `memberNodes` (IMPORT.md). The NodeHost must
 * be stopped. See the module comment for the crash-safety design.
 *
 * Throws (each leaving the data directory byte-for-byte unchanged):
 * `ErrInvalidMembers`, `ErrPathNotExist`, `ErrIncompleteSnapshot` (details
 * name the failed check), `ErrCorruptFlagFile`, `ErrUnknownStateMachineType`,
 * `ErrDirLocked`, `ErrDirMarkedAsDeleted`, `ErrSnapshotOutOfDate`, the
 * `dragonboat.ds` errors (`ErrNotOwner`, ...), `ErrInvalidConfig`; `ErrAborted`
 * when cancelled.
 */
export async function importSnapshot(
  nhConfig: NodeHostConfig,
  srcDir: string,
  memberNodes: MemberNodes,
  replicaId: bigint | number | string,
  options: ImportOptions = {},
): Promise<ImportResult> {
  options.onProgress?.('validate', 0, 0);
  const held: { locks?: NodeHostLocks } = {};
  let failed = true;
  try {
    const p = await validate(nhConfig, srcDir, memberNodes, replicaId, options, async (cfg) => {
      // Only the LOCK files that exist: phase A writes nothing. A dry run only checks.
      if (!options.dryRun) held.locks = await holdNodeHostLocks(cfg, { create: false });
    });
    const res = await run(p, options, held.locks);
    failed = false;
    return res;
  } finally {
    await held.locks?.release({ failed });
  }
}

/** Everything after validation: the dry run's report, or phase B. */
async function run(p: Plan, options: ImportOptions, locks: NodeHostLocks | undefined): Promise<ImportResult> {
  const step = (s: ImportStep): void => options.onStep?.(s);
  const toRemove = (await listSnapshotDirs(p.paths.root))
    .filter((d) => d.kind !== 'other' && d.path !== p.paths.finalDir)
    .map((d) => d.path);
  if (options.dryRun) {
    const files = plannedFiles(p, p.reuseFinal ? 'reused' : 'copied');
    // A dry run still reads every block, so it reports a corrupt payload too.
    await verifySnapshotFile(p.exp.snapshotFile, {
      engine: p.engine,
      expectedFileSize: p.exp.record.fileSize,
      expectedChecksum: p.exp.record.checksum,
      signal: options.signal,
      onProgress: (d, t) => options.onProgress?.('verify', d, t),
    });
    return result(p, true, { files, removedSnapshotDirs: toRemove });
  }
  // Phase B: before the first write, the LOCK files that did not exist are created and locked.
  await locks?.acquireMissing();
  if (locks && !locks.held) {
    p.warnings.push({
      code: 'lock-not-held',
      message: `NodeHostDir/LOCK was checked but not held during the import: ${locks.notHeldReason ?? 'unknown reason'}. ` +
        'Make sure no NodeHost starts on this directory until the import has finished',
    });
  }
  let backup: BackupInfo | undefined;
  if (options.backupDir !== undefined) {
    backup = await createBackup(p.cfg, p.shardId, p.replicaId, options.backupDir, options.signal);
  }
  step('validated');
  throwIfAborted(options.signal, 'import (after validation)');

  let files: ImportedFile[];
  if (p.reuseFinal) {
    files = plannedFiles(p, 'reused');
    // The directory is the recorded one: a flag file whose record has the
    // recorded index is simply removed by a restart, before and after commit.
    await removeStaleTempSiblings(join(p.paths.finalDir, SNAPSHOT_FLAG_FILENAME));
    await writeFlagFile(join(p.paths.finalDir, SNAPSHOT_FLAG_FILENAME), encodeSnapshot(p.record));
    step('flag-written');
    await prepareNodeHostDirs(p);
    step('data-status-written');
  } else {
    // A leftover of an interrupted run with our own temporary name: restart would delete it anyway.
    await removeTreeDurable(p.paths.generatingDir);
    const created = await mkdirDurable(p.paths.generatingDir);
    step('temp-created');
    try {
      files = await copyIntoTemp(p, options, step);
    } catch (err) {
      // Roll back to the exact previous tree: the temporary directory and every directory this run created.
      await removeTreeDurable(p.paths.generatingDir).catch(() => undefined);
      await removeCreatedDirs(created);
      throw err;
    }
    await prepareNodeHostDirs(p);
    step('data-status-written');
    throwIfAborted(options.signal, 'import (before finalizing)');
    // Not recorded (checked in validation): an unrecorded final directory at INDEX is deleted by a restart anyway.
    await removeTreeDurable(p.paths.finalDir);
    await renameDurable(p.paths.generatingDir, p.paths.finalDir);
    step('finalized');
  }
  throwIfAborted(options.signal, 'import (before commit)');

  options.onProgress?.('commit', 0, 1);
  const db = await LogDB.open(p.cfg, { store: p.store, lock: { lockHolder: nativeLockHolder() } });
  try {
    await db.importSnapshot(p.record, p.replicaId);
  } finally {
    await db.close();
  }
  step('committed');
  options.onProgress?.('commit', 1, 1);
  throwIfAborted(options.signal, 'import (after commit)');

  options.onProgress?.('cleanup', 0, toRemove.length);
  for (const [i, dir] of toRemove.entries()) {
    await removeTreeDurable(dir);
    options.onProgress?.('cleanup', i + 1, toRemove.length);
  }
  step('old-snapshots-removed');
  throwIfAborted(options.signal, 'import (before removing stale entries)');
  // Right after the commit max index equals the snapshot index: every entry
  // of the replica is stale (on Pebble the commit batch already removed them).
  const again = await LogDB.open(p.cfg, { store: p.store, lock: { lockHolder: nativeLockHolder() } });
  let stale: ImportResult['staleEntries'];
  try {
    const removal = await again.removeStaleEntries(p.shardId, p.replicaId);
    stale = {
      plainEntriesRemoved: removal.plainEntriesRemoved,
      entryBatchesRemoved: removal.entryBatchesRemoved,
      plainEntries: p.before.plainEntries,
      entryBatches: p.before.entryBatches,
    };
  } finally {
    await again.close();
  }
  step('stale-entries-removed');
  const dataStatus = p.dataStatus.map((d) => (d.outcome === 'would-create' ? { ...d, outcome: 'created' as const } : d));
  return result(p, false, { files, removedSnapshotDirs: toRemove, staleEntries: stale, dataStatus, ...(backup ? { backup } : {}) });
}
