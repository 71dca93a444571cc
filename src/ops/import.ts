/**
 * `importSnapshot`: the quorum-loss repair, crash-safe. It reads as
 * Dragonboat's `tools.ImportSnapshot` does, one step after the other:
 *
 *   1. read the inputs: configuration, member map, the export's layout,
 *      manifest and record, the snapshot file's header, size and tail, the
 *      member map against the snapshot's membership, the log suffix the
 *      export carries, read whole and validated (only `srcDir` is read);
 *   2. check that no NodeHost runs and hold its LOCK files (fcntl write
 *      locks, as a NodeHost does, `dir-locks.ts`): a NodeHost started
 *      meanwhile refuses to start;
 *   3. read the node: the log store's engine (from `dragonboat.ds`), the
 *      node's records, `dragonboat.ds`, the snapshot root, and whether the
 *      node's own `snapshot-<INDEX>` already holds this snapshot (the
 *      survivor whose snapshot was exported: then it is verified and kept in
 *      place, so the old state never loses its directory). A dry run stops
 *      here, after reading every block of the export;
 *   4. create and lock the LOCK files that did not exist;
 *   5. stage: the backup; the snapshot copied into
 *      `snapshot-<INDEX>-<R>.generating` with every block verified on the way
 *      (each byte read once; a failure rolls back every directory this run
 *      created) and its flag file `dragonboat.snapshot.message`; the missing
 *      `dragonboat.ds`; the rename to `snapshot-<INDEX>`, an unrecorded
 *      directory a restart deletes;
 *   6. commit one atomic log store batch (docs/import-contract.md), the
 *      carried log suffix's entries included: from here the node owns the
 *      snapshot and a restart removes the flag file;
 *   7. clean up what the commit made stale: old snapshot directories, old
 *      entries (LevelDB deletes and compacts them; on Pebble the commit's
 *      range tombstone already covers them).
 *
 * Until step 6 a restart sees the old, complete state; after it, the new
 * one; a rerun after a crash at any point converges on the uninterrupted
 * result. Nothing is written before step 4, and bad input fails before it.
 */
import { constants as fsConstants } from 'node:fs';
import { access, readFile, readdir, statfs } from 'node:fs/promises';
import { basename, dirname, join, resolve } from 'node:path';
import { ErrAborted, ErrAlreadyExists, ErrIO, ErrSnapshotOutOfDate, ErrDirMarkedAsDeleted, throwIfAborted } from '../errors.js';
import { chooseEngine } from '../engines/choose.js';
import type { EngineChoice } from '../engines/select.js';
import type { ChecksumEngine } from '../engines/types.js';
import {
  fsyncDir,
  isTempSiblingName,
  mkdirDurable,
  removeCreatedDirs,
  removeStaleTempSiblings,
  removeTreeDurable,
  renameDurable,
  writeFileDurable,
} from '../files/durable.js';
import { readFlagFileIfExists, writeFlagFile } from '../files/flagfile.js';
import { sha256File } from '../files/hash.js';
import { statOrUndefined } from '../files/fsutil.js';
import { LogDB, hasNodeState, latestSnapshot, type ImportWrite, type NodeRecords } from '../logdb/logdb.js';
import type { LogStoreChoice } from '../logdb/store-kind.js';
import { resolveNodeHostConfig, type NodeHostConfig, type ResolvedNodeHostConfig } from '../nodehost/config.js';
import { checkOrCreateDataStatusFiles, type BinVer, type DataStatusResult } from '../nodehost/datastatus.js';
import { checkNodeHostNotLocked } from '../nodehost/lock.js';
import { holdNodeHostLocks, type NodeHostLocks } from './dir-locks.js';
import { ensureNodeHostDirs } from '../nodehost/layout.js';
import {
  SNAPSHOT_FLAG_FILENAME,
  SNAPSHOT_METADATA_FILENAME,
  dataDirs,
  dataStatusPath,
  logdbPartition,
  logdbPartitionDirByIndex,
  snapshotPaths,
  walPartitionDirByIndex,
  type SnapshotPaths,
} from '../nodehost/paths.js';
import { isMarkedDeleted, listSnapshotDirs } from '../nodehost/snapshotdirs.js';
import { encodeSnapshot } from '../records/codec.js';
import { StateMachineType, type Bootstrap, type RaftState, type Snapshot } from '../records/types.js';
import { precheckSnapshotFile, verifySnapshotFile } from '../snapshot/verify.js';
import { readExportDir, type ExportDir } from './export-dir.js';
import { importedSnapshotRecord } from './imported-record.js';
import { checkDigest, checkManifestListing, readManifest, type Manifest } from './manifest.js';
import { copySnapshotInto, type SnapshotCopy } from './snapshot-copy.js';
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
import { nativeLockHolder } from '../nodehost/native-lock.js';
import { readCarriedLogSuffix, type CarriedLogSuffix } from './import-log.js';

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
  /**
   * Import the snapshot alone even when the export carries a log suffix
   * (`log-suffix.nhlog`): the reference's result, every entry after the
   * snapshot discarded.
   */
  ignoreLog?: boolean;
}

/** A warning for the operator; `code` is stable. */
export interface ImportWarning {
  /**
   * `lock-not-held`: without the native addon the import could not lock
   * NodeHostDir/LOCK (it only checked that no NodeHost held it).
   * `log-suffix-ignored`: the export carries a log suffix that `ignoreLog` left out.
   */
  code:
    | 'on-disk-state-machine'
    | 'newer-state-discarded'
    | 'degraded-engine'
    | 'entries-discarded'
    | 'lock-not-held'
    | 'log-suffix-ignored';
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

/** The log suffix an import carried (docs/log-suffix.md). */
export interface ImportedLogSuffix {
  firstIndex: bigint;
  lastIndex: bigint;
  entryCount: bigint;
  lastTerm: bigint;
  /** SHA-256 of the suffix file (part of the recovery fingerprint). */
  sha256: string;
  /** The replica whose log it was, as its header records it. */
  survivor: { replicaId: bigint; raftAddress: string; nodeHostDir: string };
  /** Membership changes replaced by empty entries of the same index and term. */
  neutralized: { index: bigint; term: bigint }[];
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
  staleEntries:
    | {
        plainEntriesRemoved: number | undefined;
        entryBatchesRemoved: number | undefined;
        plainEntries: { first: bigint; last: bigint } | undefined;
        entryBatches: { first: bigint; last: bigint } | undefined;
      }
    | undefined;
  dataStatus: DataStatusResult[];
  warnings: ImportWarning[];
  /** Digest of shard, snapshot and member map; equal on every host repaired from the same export and map. */
  fingerprint: string;
  /** The backup taken first, with `backupDir`. */
  backup?: BackupInfo;
  /** The log suffix written after the snapshot, when the export carried one (and `ignoreLog` was not given). */
  logSuffix?: ImportedLogSuffix;
}

/** The validated arguments and the export: everything an import knows before it looks at the host. */
export interface ImportInputs {
  cfg: ResolvedNodeHostConfig;
  shardId: bigint;
  replicaId: bigint;
  members: Map<bigint, string>;
  exp: ExportDir;
  /**
   * The export's manifest, when it has one (our exports do): its listing and
   * sizes are checked on reading; every digest is compared with the bytes
   * read where they are used (the metadata as decoded, the `.gbsnap` and
   * external files while copied, or while verified on the survivor and in a
   * dry run), before the commit.
   */
  manifest: Manifest | undefined;
  /** The snapshot record the node will hold (paths into its own snapshot directory, the new membership). */
  record: Snapshot;
  paths: SnapshotPaths;
  policy: ConfigChangeIdPolicy;
  engine: ChecksumEngine;
  warnings: ImportWarning[];
  /** The export's log suffix, validated, when the import carries it (undefined until read, or with `ignoreLog`). */
  logSuffix?: CarriedLogSuffix;
}

/** One node's import: the inputs, what the node holds now, and what the import will do about it. */
export interface NodeImport extends ImportInputs {
  /** The engine of the node's log store (decided once, from dragonboat.ds or the configuration). */
  store: LogStoreChoice;
  before: NodeRecords;
  /** Entry format found in the store; undefined when it holds no entry (then either format is consistent). */
  binVer: BinVer | undefined;
  dataStatus: DataStatusResult[];
  /** The node's own `snapshot-<INDEX>` directory already holds this snapshot: verified and kept in place. */
  reuseFinal: boolean;
  /** An orphan `snapshot-<INDEX>` of an earlier run of this import: reused (identical) or removed before copying. */
  orphan: 'reuse' | 'remove' | undefined;
  /** Snapshot directories the import removes after its commit. */
  toRemove: string[];
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

/**
 * Equal contents, compared by streamed digests (external files can be
 * large). `exported` is the export's file: its digest is checked against the
 * manifest (a corrupt export fails here exactly as it would while copied).
 */
async function sameBytes(p: ImportInputs, exported: { name: string; path: string }, there: string): Promise<boolean> {
  const [x, y] = await Promise.all([sha256File(exported.path), sha256File(there)]);
  if (p.manifest) checkDigest(p.manifest, exported.name, exported.path, x);
  return x.size === y.size && x.sha256 === y.sha256;
}

/** The export's `.gbsnap`, every block read and its SHA-256 compared with the manifest (nothing is copied on these paths). */
async function verifyExportSnapshot(p: ImportInputs, options: ImportOptions): Promise<void> {
  const report = await verifySnapshotFile(p.exp.snapshotFile, {
    engine: p.engine,
    expectedFileSize: p.exp.record.fileSize,
    expectedChecksum: p.exp.record.checksum,
    signal: options.signal,
    onProgress: (d, t) => options.onProgress?.('verify', d, t),
    sha256: p.manifest !== undefined,
  });
  if (p.manifest)
    checkDigest(p.manifest, basename(p.exp.snapshotFile), p.exp.snapshotFile, { size: report.fileSize, sha256: report.sha256! });
}

/** Compares what the copy hashed with the manifest: the `.gbsnap`, then every external file. */
function checkCopiedDigests(p: ImportInputs, copied: SnapshotCopy): void {
  if (!p.manifest) return;
  for (const f of [copied.snapshot, ...copied.externals]) checkDigest(p.manifest, f.name, f.path, f);
}

/**
 * Does the node's `snapshot-<INDEX>` directory hold exactly this snapshot?
 * Only the expected files (a temporary flag file of an interrupted run is no
 * difference: it is removed before the flag is written; nor is the
 * `snapshot.metadata` Dragonboat writes into every snapshot directory it
 * makes and never reads back: it is removed after the commit), the `.gbsnap`
 * verifies against the new record (with `digest`, its SHA-256 also equals
 * the manifest's), the external files are byte-identical to the export's.
 */
async function holdsSameSnapshot(p: ImportInputs, signal: AbortSignal | undefined, digest: boolean): Promise<boolean> {
  const st = await statOrUndefined(p.paths.finalDir);
  if (!st?.isDirectory()) return false;
  const expected = new Set([
    basename(p.exp.snapshotFile),
    ...p.exp.externalFiles.map((f) => f.name),
    SNAPSHOT_FLAG_FILENAME,
    SNAPSHOT_METADATA_FILENAME,
  ]);
  const present = (await readdir(p.paths.finalDir)).filter((n) => !isTempSiblingName(n, SNAPSHOT_FLAG_FILENAME));
  if (present.some((n) => !expected.has(n))) return false;
  const existing = join(p.paths.finalDir, basename(p.exp.snapshotFile));
  const withDigest = digest && p.manifest !== undefined;
  try {
    const report = await verifySnapshotFile(existing, {
      engine: p.engine,
      expectedFileSize: p.record.fileSize,
      expectedChecksum: p.record.checksum,
      signal,
      sha256: withDigest,
    });
    if (withDigest) checkDigest(p.manifest!, basename(p.exp.snapshotFile), existing, { size: report.fileSize, sha256: report.sha256! });
  } catch (err) {
    if (err instanceof ErrAborted) throw err;
    return false;
  }
  for (const f of p.exp.externalFiles) {
    const there = join(p.paths.finalDir, f.name);
    if (!(await statOrUndefined(there))?.isFile() || !(await sameBytes(p, f, there))) return false;
  }
  return true;
}

/**
 * Can the node's existing `snapshot-<INDEX>` directory serve as the imported
 * one? Only when the log store records that very index there (otherwise a
 * restart would delete it anyway and we replace it) and it holds the same
 * snapshot (see {@link holdsSameSnapshot}).
 */
async function canReuseFinalDir(p: ImportInputs, before: NodeRecords, signal: AbortSignal | undefined): Promise<boolean> {
  const recorded = latestSnapshot(before);
  if (recorded?.index !== p.record.index) return false;
  return holdsSameSnapshot(p, signal, false);
}

/**
 * An orphan of our own: `snapshot-<INDEX>` unrecorded, carrying our flag
 * file with exactly this import's record (a run killed between its rename
 * and its commit left it). `reuse` when it holds exactly this snapshot (no
 * second copy: a retry on a disk with room for one copy must fit), `remove`
 * (before copying) otherwise; undefined when the directory is not ours.
 */
async function ownOrphan(p: ImportInputs, before: NodeRecords, signal: AbortSignal | undefined): Promise<'reuse' | 'remove' | undefined> {
  if (before.snapshots.some((r) => r.index === p.record.index)) return undefined;
  if (!(await statOrUndefined(p.paths.finalDir))?.isDirectory()) return undefined;
  let flag: Uint8Array | undefined;
  try {
    flag = await readFlagFileIfExists(join(p.paths.finalDir, SNAPSHOT_FLAG_FILENAME), (b) => b);
  } catch {
    return undefined;
  }
  if (!flag || !bytesEqual(flag, encodeSnapshot(p.record))) return undefined;
  return (await holdsSameSnapshot(p, signal, true)) ? 'reuse' : 'remove';
}

function bytesEqual(a: Uint8Array, b: Uint8Array): boolean {
  return a.length === b.length && a.every((x, i) => x === b[i]);
}

/** The nearest existing directory at or above `p` (what a mkdir -p of `p` would write into). */
async function existingAncestor(p: string): Promise<string> {
  for (let cur = resolve(p); ; cur = dirname(cur)) {
    if ((await statOrUndefined(cur))?.isDirectory()) return cur;
    if (dirname(cur) === cur) return cur;
  }
}

/** Room the log store's commit and the small files need beyond the snapshot's own bytes. */
const SPACE_MARGIN = 1024 * 1024;

/**
 * The blockers a run would meet only halfway, checked before anything is
 * written: every directory the import writes into (the snapshot root, the
 * log store partition and its WAL directory, NodeHostDir for dragonboat.ds
 * and LOCK; their nearest existing ancestor when missing) must be writable
 * (`read-only`: a read-only file system, `not-writable`: permissions), and
 * the snapshot root's file system must have room for the copy (`free-space`:
 * free bytes against the snapshot's size, plus a margin). ErrIO naming the
 * directory; nothing is written.
 */
async function checkWritable(p: ImportInputs, kind: 'leveldb' | 'pebble', noCopy: boolean): Promise<void> {
  const part = logdbPartitionDirByIndex(p.cfg, logdbPartition(p.shardId, p.cfg.execShards, p.cfg.logDBShards));
  const wal = kind === 'pebble' ? walPartitionDirByIndex(p.cfg, logdbPartition(p.shardId, p.cfg.execShards, p.cfg.logDBShards)) : undefined;
  const targets = [p.paths.root, part, ...(wal ? [wal] : []), ...dataDirs(p.cfg)];
  const seen = new Set<string>();
  for (const t of targets) {
    const dir = await existingAncestor(t);
    if (seen.has(dir)) continue;
    seen.add(dir);
    try {
      await access(dir, fsConstants.W_OK);
    } catch (err) {
      const code = (err as NodeJS.ErrnoException).code;
      const ro = code === 'EROFS';
      throw new ErrIO(
        `${dir} is ${ro ? 'on a read-only file system' : 'not writable'} (${code}): the import writes ${t}; ` +
          (ro ? 'remount it read-write' : "run as the NodeHost's user") +
          ' and rerun',
        { path: dir, check: ro ? 'read-only' : 'not-writable', errno: code, target: t },
      );
    }
  }
  if (noCopy) return;
  // The carried entries go to the log store, usually on the same file system: counted too.
  const needed =
    p.exp.snapshotFileSize + p.exp.externalFiles.reduce((n, f) => n + f.size, 0n) + (p.logSuffix?.size ?? 0n) + BigInt(SPACE_MARGIN);
  const dir = await existingAncestor(p.paths.root);
  let available: bigint;
  try {
    const st = await statfs(dir, { bigint: true });
    available = st.bavail * st.bsize;
  } catch {
    return; // no statfs here: the copy itself reports a full disk (and rolls back)
  }
  if (available < needed) {
    throw new ErrIO(
      `${dir} has ${available} bytes free; the import copies ${needed - BigInt(SPACE_MARGIN)} bytes of snapshot there ` +
        `(and needs about ${SPACE_MARGIN} more): free space or move the NodeHost directory to a bigger disk, then rerun`,
      { path: dir, check: 'free-space', errno: 'ENOSPC', needed, available },
    );
  }
}

/**
 * Step 1, the export side: the arguments, the member map, the export's
 * layout, manifest and record, the snapshot file's header, size and tail, the
 * member map against the snapshot's membership, and the log suffix the
 * export carries, read whole and validated (unless `ignoreLog`). Reads only
 * `srcDir`.
 */
export async function readInputs(
  config: NodeHostConfig,
  srcDir: string,
  memberNodes: MemberNodes,
  replicaIdIn: bigint | number | string,
  options: ImportOptions,
): Promise<ImportInputs> {
  return withLogSuffix(await readExportInputs(config, srcDir, memberNodes, replicaIdIn, options), options);
}

/**
 * The export's log suffix, validated completely before anything is written
 * (docs/log-suffix.md); with `ignoreLog` a warning says it is left out.
 * `import --manifest` reads it per partition, just before that partition's
 * nodes. Only each entry's term is held; the commit streams the file again.
 */
export async function withLogSuffix(inputs: ImportInputs, options: ImportOptions): Promise<ImportInputs> {
  if (options.ignoreLog) {
    const path = inputs.exp.logSuffixFile;
    if (path !== undefined) {
      inputs.warnings.push({
        code: 'log-suffix-ignored',
        message: `the export carries a log suffix (${path}) that is not imported (ignore-log): every entry after index ${inputs.exp.record.index} is discarded`,
      });
    }
    return inputs;
  }
  const logSuffix = await readCarriedLogSuffix(inputs.exp, inputs.manifest, {
    ...(options.signal ? { signal: options.signal } : {}),
    onProgress: (d, t) => options.onProgress?.('verify', d, t),
  });
  return logSuffix ? { ...inputs, logSuffix } : inputs;
}

/** {@link readInputs} without the log suffix. */
export async function readExportInputs(
  config: NodeHostConfig,
  srcDir: string,
  memberNodes: MemberNodes,
  replicaIdIn: bigint | number | string,
  options: ImportOptions,
): Promise<ImportInputs> {
  const cfg = resolveNodeHostConfig(config);
  const replicaId = toReplicaId(replicaIdIn);
  const members = normalizeMembers(memberNodes);
  checkLocalMember(members, replicaId, cfg.raftAddress);
  const exp = await readExportDir(srcDir);
  // Our exports carry a manifest: its listing and sizes now, the metadata's digest on the bytes decoded;
  // every other file's digest on the bytes copied (or verified), before the commit.
  const manifest = await readManifest(exp.dir);
  if (manifest) {
    await checkManifestListing(exp.dir, manifest);
    checkDigest(manifest, SNAPSHOT_METADATA_FILENAME, join(exp.dir, SNAPSHOT_METADATA_FILENAME), exp.metadata);
  }
  const source = exp.record;
  const { engine, degraded } = await chooseEngine(options.engine);
  const warnings: ImportWarning[] = [];
  if (degraded) warnings.push({ code: 'degraded-engine', message: degraded });
  // Header, size and tail now; every block while copying.
  await precheckSnapshotFile(exp.snapshotFile, {
    engine,
    expectedFileSize: source.fileSize,
    expectedChecksum: source.checksum,
    signal: options.signal,
  });
  checkMembersAgainstSnapshot(members, source.membership);
  const policy = options.configChangeId ?? 'preserve';
  const membership = newMembership(source.membership, members, chooseConfigChangeId(source, policy));
  const paths = snapshotPaths(cfg, source.shardId, replicaId, source.index);
  const record = importedSnapshotRecord(source, paths.finalDir, membership);
  return { cfg, shardId: source.shardId, replicaId, members, exp, manifest, record, paths, policy, engine, warnings };
}

/**
 * Step 3, the host side, read-only: the backup target, the snapshot root, the
 * node's records (the log store's engine decided first, from dragonboat.ds),
 * `dragonboat.ds`, and whether the node's own snapshot directory can stay.
 * Refuses an Unknown state machine type and index 0 (the log store's import
 * batch is planned here, not written).
 */
export async function readNode(inputs: ImportInputs, options: ImportOptions): Promise<NodeImport> {
  const { cfg, shardId, replicaId, exp, record, paths, warnings } = inputs;
  const source = exp.record;
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
  let notCarried: string | undefined;
  try {
    // The batch itself is built at the commit (with a suffix it holds every entry): only what it replaces is read here.
    before = (await db.planImport(record, replicaId)).before;
    // Undefined when no entry is left (e.g. a rerun after an import removed them all): a batched
    // directory's dragonboat.ds (210) is then still consistent and must not be refused.
    binVer = await db.detectEntryFormat();
    if (inputs.logSuffix && before.maxIndex !== undefined && before.maxIndex > source.index) {
      notCarried = await entriesNotCarried(db, inputs, inputs.logSuffix, before.maxIndex);
    }
  } finally {
    await db.close();
  }
  const dataStatus = await checkOrCreateDataStatusFiles(cfg, binVer, { dryRun: true });

  const old = latestSnapshot(before);
  if (old && old.index > source.index) {
    warnings.push({
      code: 'newer-state-discarded',
      message:
        `replica ${replicaId} had a newer snapshot (index ${old.index}) than the imported one (index ${source.index}); ` +
        'its state after index ' +
        source.index +
        ' is discarded',
    });
  }
  if (before.maxIndex !== undefined && before.maxIndex > source.index) {
    const message = inputs.logSuffix
      ? notCarried
      : `log entries ${source.index + 1n}..${before.maxIndex} of replica ${replicaId} are discarded`;
    if (message) warnings.push({ code: 'entries-discarded', message });
  }
  if (source.type === StateMachineType.OnDisk) {
    warnings.push({
      code: 'on-disk-state-machine',
      message:
        'this is an on-disk state machine: its own data lives outside the NodeHost directory and is newer than ' +
        'the snapshot; the import cannot roll it back (Dragonboat issue 79). Make the application discard or restore ' +
        `its on-disk data to index ${source.index} before restarting the node`,
    });
  }
  const reuseFinal = await canReuseFinalDir(inputs, before, options.signal);
  const orphan = reuseFinal ? undefined : await ownOrphan(inputs, before, options.signal);
  if (reuseFinal || orphan === 'reuse') {
    // Nothing is copied on this path, so the export's blocks (and its manifest digest) are read
    // here: a corrupt export must fail on the survivor exactly as it does on the new hosts.
    await verifyExportSnapshot(inputs, options);
  }
  if (!reuseFinal && old?.index === source.index && (await statOrUndefined(paths.finalDir))?.isDirectory()) {
    throw new ErrSnapshotOutOfDate(
      `replica ${replicaId} already records a different snapshot at index ${source.index} (${paths.finalDir}); ` +
        'replacing it in place could leave the node without a valid snapshot if the import were interrupted. ' +
        'Move that directory away (or restore it) and rerun the import',
      { path: paths.finalDir, check: 'final-dir-conflict', index: source.index },
    );
  }
  const toRemove = (await listSnapshotDirs(paths.root)).filter((d) => d.kind !== 'other' && d.path !== paths.finalDir).map((d) => d.path);
  // What would fail halfway is refused here, before the first write (and reported by a dry run and plan).
  await checkWritable(inputs, db.kind, reuseFinal || orphan === 'reuse');
  return { ...inputs, store: db.store, before, binVer, dataStatus, reuseFinal, orphan, toRemove };
}

/**
 * What the replica's own log loses although the import carries a suffix: its
 * entries past the suffix's last index, and those whose term differs from
 * the suffix's at the same index (another history, replaced). Undefined when
 * nothing is lost.
 */
async function entriesNotCarried(db: LogDB, p: ImportInputs, suffix: CarriedLogSuffix, maxIndex: bigint): Promise<string | undefined> {
  const parts: string[] = [];
  const top = maxIndex < suffix.lastIndex ? maxIndex : suffix.lastIndex;
  let differ: { first: bigint; last: bigint; count: bigint } | undefined;
  for await (const e of db.streamEntries(p.shardId, p.replicaId, suffix.firstIndex, top)) {
    const term = e.entry?.term;
    if (term !== undefined && term === suffix.termAt(Number(e.index - suffix.firstIndex))) continue;
    if (differ) {
      differ.last = e.index;
      differ.count++;
    } else differ = { first: e.index, last: e.index, count: 1n };
  }
  if (differ) {
    parts.push(
      `${differ.count} log entr${differ.count === 1n ? 'y' : 'ies'} of replica ${p.replicaId} between ${differ.first} and ${differ.last} ` +
        "differ from the carried log's (another history) and are replaced by it",
    );
  }
  if (maxIndex > suffix.lastIndex) {
    parts.push(
      `log entries ${suffix.lastIndex + 1n}..${maxIndex} of replica ${p.replicaId}, past the carried log's last index, are discarded`,
    );
  }
  return parts.length ? parts.join('; ') : undefined;
}

function result(p: NodeImport, dryRun: boolean, extra: Partial<ImportResult>): ImportResult {
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
    after: afterRecords(p),
    files: [],
    removedSnapshotDirs: [],
    staleEntries: undefined,
    dataStatus: p.dataStatus,
    warnings: p.warnings,
    fingerprint: recoveryFingerprint({
      shardId: p.shardId,
      index: source.index,
      checksum: source.checksum,
      members: p.members,
      ...(p.logSuffix ? { log: { lastIndex: p.logSuffix.lastIndex, lastTerm: p.logSuffix.lastTerm } } : {}),
    }),
    ...(p.logSuffix ? { logSuffix: importedLogSuffix(p.logSuffix) } : {}),
    ...extra,
  };
}

function importedLogSuffix(l: CarriedLogSuffix): ImportedLogSuffix {
  return {
    firstIndex: l.firstIndex,
    lastIndex: l.lastIndex,
    entryCount: l.entryCount,
    lastTerm: l.lastTerm,
    sha256: l.sha256,
    survivor: { replicaId: l.header.replicaId, raftAddress: l.header.survivor.raftAddress, nodeHostDir: l.header.survivor.nodeHostDir },
    neutralized: l.neutralized,
  };
}

/** The files the node's snapshot directory holds after the import: the `.gbsnap`, then the external files. */
function plannedFiles(p: NodeImport, how: ImportedFile['how']): ImportedFile[] {
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
async function prepareNodeHostDirs(p: NodeImport, undo: Undo): Promise<void> {
  undo.dirs(await ensureNodeHostDirs(p.cfg));
  await removeDataStatusTemps(p.cfg);
  const written = await checkOrCreateDataStatusFiles(p.cfg, p.binVer);
  for (const d of written) if (d.outcome === 'created') undo.push(() => removeTreeDurable(d.path));
}

/**
 * What a run created before its commit, undone when it fails there (an
 * error, a full disk, an abort): files and trees last made first, then the
 * directories it created, innermost first (each only while empty). The
 * NodeHost directory is then as the run found it, and a rerun starts from
 * the same state (no orphan to block or double it).
 */
class Undo {
  private readonly steps: (() => Promise<unknown>)[] = [];
  private readonly created: string[] = [];

  push(step: () => Promise<unknown>): void {
    this.steps.push(step);
  }

  dirs(created: readonly string[]): void {
    this.created.push(...created);
  }

  /** Never throws: the operation's own error is what the caller reports. */
  async run(): Promise<void> {
    for (const step of this.steps.splice(0).reverse()) await step().catch(() => undefined);
    const dirs = this.created.splice(0).sort((a, b) => a.length - b.length);
    await removeCreatedDirs(dirs);
  }
}

/** Copies the export into the generating directory; returns the files placed. */
async function copyIntoTemp(p: NodeImport, options: ImportOptions, step: (s: ImportStep) => void): Promise<ImportedFile[]> {
  const tmp = p.paths.generatingDir;
  const copied = await copySnapshotInto(
    {
      file: p.exp.snapshotFile,
      mode: p.exp.snapshotFileMode,
      size: Number(p.exp.snapshotFileSize),
      recordFileSize: p.exp.record.fileSize,
      recordChecksum: p.exp.record.checksum,
      externals: p.exp.externalFiles.map((f) => ({ path: f.path, size: Number(f.size), recordSize: f.recordSize })),
    },
    tmp,
    { engine: p.engine, signal: options.signal, onProgress: (d, t) => options.onProgress?.('copy', d, t) },
  );
  // What was installed is what the manifest digests (computed in the copy's own pass).
  checkCopiedDigests(p, copied);
  await fsyncDir(tmp);
  step('snapshot-copied');
  throwIfAborted(options.signal, 'import (after copying)');
  await writeFlagFile(join(tmp, SNAPSHOT_FLAG_FILENAME), encodeSnapshot(p.record));
  step('flag-written');
  return plannedFiles(p, 'copied');
}

/**
 * Imports the exported snapshot in `srcDir` onto replica `replicaId` of this
 * NodeHost, with the membership `memberNodes` (docs/import-contract.md). The NodeHost must
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
  const progress = { committed: false };
  try {
    return await runImport(nhConfig, srcDir, memberNodes, replicaId, options, progress);
  } catch (err) {
    throw err instanceof ErrAborted ? abortedAt(err, progress.committed) : err;
  }
}

/** An abort's error, saying what state the node is in. */
function abortedAt(err: ErrAborted, committed: boolean): ErrAborted {
  const state = committed
    ? 'the node holds the imported snapshot (the commit happened); rerun the same import to finish its clean-up'
    : 'nothing was committed and what this run created was removed: the node is as it was; rerun the import';
  return new ErrAborted(`${err.message}; ${state}`, { ...err.details, nodeState: committed ? 'imported' : 'unchanged' }, { cause: err });
}

async function runImport(
  nhConfig: NodeHostConfig,
  srcDir: string,
  memberNodes: MemberNodes,
  replicaId: bigint | number | string,
  options: ImportOptions,
  progress: { committed: boolean },
): Promise<ImportResult> {
  options.onProgress?.('validate', 0, 0);
  // 1. The export and the arguments.
  const inputs = await readInputs(nhConfig, srcDir, memberNodes, replicaId, options);
  // 2. No NodeHost may run; from here this process holds the LOCK files that exist (locking writes nothing).
  await checkNodeHostNotLocked(inputs.cfg, { lockHolder: nativeLockHolder() });
  const locks = options.dryRun ? undefined : await holdNodeHostLocks(inputs.cfg, { create: false });
  let failed = true;
  try {
    // 3. The node, read-only.
    const node = await readNode(inputs, options);
    if (options.dryRun) {
      const res = await dryRunReport(node, options);
      failed = false;
      return res;
    }
    // 4. Before the first write, the LOCK files that did not exist are created and locked.
    await locks!.acquireMissing();
    noteLocks(node, locks!);
    // 5. The backup, the snapshot directory (copied, or the node's own kept), dragonboat.ds;
    //    a failure here removes what the run created.
    const staged = await stageSnapshot(node, options);
    // 6. One atomic log store batch: from here the node owns the snapshot. A commit that
    //    failed (and certainly did not happen) removes what the run created too.
    let written: ImportWrite;
    try {
      [written] = (await commitImports([node], options)) as [ImportWrite];
    } catch (err) {
      await rollbackUncommitted([{ node, staged }]);
      throw err;
    }
    progress.committed = true;
    failed = false;
    // 7. What the commit made stale: old snapshot directories, old entries.
    return await cleanUp(node, staged, written, options);
  } finally {
    await locks?.release({ failed });
  }
}

/** A dry run's report: every check made, every block read, nothing written. */
export async function dryRunReport(node: NodeImport, options: ImportOptions): Promise<ImportResult> {
  // A dry run still reads every block (and every digest the manifest holds), so it reports a corrupt export too.
  if (!node.reuseFinal && node.orphan !== 'reuse') {
    await verifyExportSnapshot(node, options);
    if (node.manifest) {
      for (const f of node.exp.externalFiles) checkDigest(node.manifest, f.name, f.path, await sha256File(f.path, options.signal));
    }
  }
  return result(node, true, {
    files: plannedFiles(node, node.reuseFinal || node.orphan === 'reuse' ? 'reused' : 'copied'),
    removedSnapshotDirs: node.toRemove,
  });
}

export function noteLocks(node: NodeImport, locks: NodeHostLocks): void {
  if (locks.held) return;
  node.warnings.push({
    code: 'lock-not-held',
    message:
      `NodeHostDir/LOCK was checked but not held during the import: ${locks.notHeldReason ?? 'unknown reason'}. ` +
      'Make sure no NodeHost starts on this directory until the import has finished',
  });
}

/** What {@link stageSnapshot} placed. */
export interface StagedSnapshot {
  files: ImportedFile[];
  backup: BackupInfo | undefined;
  /**
   * Undoes the staging (the commit failed and did not happen): removes what
   * this run created, so the directory is as it was. Never throws.
   */
  rollback(): Promise<void>;
}

/**
 * Everything before the commit, ordered so that the node's previous state
 * stays complete and restartable: the backup; the snapshot copied into
 * `snapshot-<INDEX>-<R>.generating` (every block verified while copying)
 * with its flag file, or the node's own directory kept with a new flag file,
 * or the orphan of an earlier run of this import kept (identical) or removed
 * first (not); `dragonboat.ds` where missing; the rename to
 * `snapshot-<INDEX>`, an unrecorded directory a restart deletes until the
 * commit records it. On any failure here everything this run created is
 * removed again before the error is thrown.
 */
export async function stageSnapshot(node: NodeImport, options: ImportOptions): Promise<StagedSnapshot> {
  const step = (s: ImportStep): void => options.onStep?.(s);
  const undo = new Undo();
  const staged = (files: ImportedFile[], backup: BackupInfo | undefined): StagedSnapshot => ({ files, backup, rollback: () => undo.run() });
  try {
    let backup: BackupInfo | undefined;
    if (options.backupDir !== undefined) {
      const backupDir = options.backupDir;
      undo.push(() => removeTreeDurable(backupDir));
      backup = await createBackup(node.cfg, node.shardId, node.replicaId, backupDir, options.signal, afterRecords(node));
    }
    step('validated');
    throwIfAborted(options.signal, 'import (after validation)');
    if (node.reuseFinal) {
      // The directory is the recorded one: a flag file whose record has the
      // recorded index is simply removed by a restart, before and after commit.
      const flag = join(node.paths.finalDir, SNAPSHOT_FLAG_FILENAME);
      const had = await readFileOrUndefined(flag);
      await removeStaleTempSiblings(flag);
      undo.push(() => (had ? writeFileDurable(flag, had) : removeTreeDurable(flag)));
      await writeFlagFile(flag, encodeSnapshot(node.record));
      step('flag-written');
      await prepareNodeHostDirs(node, undo);
      step('data-status-written');
      throwIfAborted(options.signal, 'import (before commit)');
      return staged(plannedFiles(node, 'reused'), backup);
    }
    if (node.orphan === 'reuse') {
      // Our own earlier run's directory, verified identical (flag file included): nothing to copy.
      await prepareNodeHostDirs(node, undo);
      step('data-status-written');
      step('finalized');
      throwIfAborted(options.signal, 'import (before commit)');
      return staged(plannedFiles(node, 'reused'), backup);
    }
    // Our own earlier run's directory that is not identical: removed before copying (never two copies on disk).
    if (node.orphan === 'remove') await removeTreeDurable(node.paths.finalDir);
    // A leftover of an interrupted run with our own temporary name: restart would delete it anyway.
    await removeTreeDurable(node.paths.generatingDir);
    const generating = node.paths.generatingDir;
    undo.dirs(await mkdirDurable(generating));
    undo.push(() => removeTreeDurable(generating));
    step('temp-created');
    const files = await copyIntoTemp(node, options, step);
    await prepareNodeHostDirs(node, undo);
    step('data-status-written');
    throwIfAborted(options.signal, 'import (before finalizing)');
    // Not recorded (checked in validation): an unrecorded final directory at INDEX is deleted by a restart anyway.
    await removeTreeDurable(node.paths.finalDir);
    const finalDir = node.paths.finalDir;
    await renameDurable(generating, finalDir);
    undo.push(() => removeTreeDurable(finalDir));
    step('finalized');
    throwIfAborted(options.signal, 'import (before commit)');
    return staged(files, backup);
  } catch (err) {
    await undo.run();
    throw err;
  }
}

async function readFileOrUndefined(file: string): Promise<Uint8Array | undefined> {
  try {
    return await readFile(file);
  } catch {
    return undefined;
  }
}

/**
 * Whether the log store records `node`'s new snapshot: after a commit that
 * threw, a rollback is only safe when it certainly did not happen.
 * Undefined when that cannot be read.
 */
async function isCommitted(node: NodeImport): Promise<boolean | undefined> {
  try {
    const db = await LogDB.open(node.cfg, { store: node.store, readOnly: true, lock: { lockHolder: nativeLockHolder() } });
    try {
      const rec = await db.getSnapshot(node.shardId, node.replicaId);
      return rec !== undefined && bytesEqual(encodeSnapshot(rec), encodeSnapshot(node.record));
    } finally {
      await db.close();
    }
  } catch {
    return undefined;
  }
}

/**
 * After a failed commit: each staged node whose commit certainly did not
 * happen is rolled back (what its run created removed); one that did, or
 * that cannot be read, is left as it is (a rerun converges either way).
 */
export async function rollbackUncommitted(nodes: readonly { node: NodeImport; staged: StagedSnapshot }[]): Promise<void> {
  for (const { node, staged } of nodes) {
    if ((await isCommitted(node)) === false) await staged.rollback();
  }
}

/**
 * The records the import writes (as LogDB's import batch does), as the backup
 * records them (so that an undo can tell whether the node moved on). With a
 * suffix: max index is its last index and the term the larger of the
 * snapshot's and the last entry's.
 */
function afterRecords(node: NodeImport): ImportResult['after'] {
  const src = node.exp.record;
  const l = node.logSuffix;
  return {
    bootstrap: { addresses: new Map(), join: true, type: src.type },
    raftState: { term: l && l.lastTerm > src.term ? l.lastTerm : src.term, vote: 0n, commit: src.index },
    maxIndex: l ? l.lastIndex : src.index,
    snapshot: node.record,
  };
}

/**
 * The commit of one or more staged imports of one host: ONE atomic, durable
 * log store batch per partition holding every replica's new records (on
 * Pebble one drop-in WAL, so many shards repaired at once leave one L0 table
 * per partition after the restart, not one per shard).
 */
export async function commitImports(
  nodes: readonly NodeImport[],
  options: Pick<ImportOptions, 'onProgress' | 'onStep'>,
): Promise<ImportWrite[]> {
  if (nodes.length === 0) return [];
  options.onProgress?.('commit', 0, 1);
  const db = await LogDB.open(nodes[0]!.cfg, { store: nodes[0]!.store, lock: { lockHolder: nativeLockHolder() } });
  let written: ImportWrite[];
  try {
    written = await db.importSnapshots(
      nodes.map((n) => ({ snapshot: n.record, replicaId: n.replicaId, ...(n.logSuffix ? { entries: n.logSuffix } : {}) })),
    );
  } finally {
    await db.close();
  }
  options.onStep?.('committed');
  options.onProgress?.('commit', 1, 1);
  return written;
}

/** After the commit: the old snapshot directories (a restart would delete them too) and the stale entries. */
export async function cleanUp(
  node: NodeImport,
  staged: StagedSnapshot,
  written: ImportWrite,
  options: ImportOptions,
): Promise<ImportResult> {
  const step = (s: ImportStep): void => options.onStep?.(s);
  throwIfAborted(options.signal, 'import (after commit)');
  options.onProgress?.('cleanup', 0, node.toRemove.length);
  for (const [i, dir] of node.toRemove.entries()) {
    await removeTreeDurable(dir);
    options.onProgress?.('cleanup', i + 1, node.toRemove.length);
  }
  // A directory kept in place may hold the snapshot.metadata Dragonboat wrote when it made it
  // (it never reads it back); without it the directory is as the reference's import leaves it.
  if (node.reuseFinal) {
    await removeTreeDurable(join(node.paths.finalDir, SNAPSHOT_METADATA_FILENAME));
  }
  step('old-snapshots-removed');
  throwIfAborted(options.signal, 'import (before removing stale entries)');
  // Right after the commit max index equals the snapshot index: every entry
  // of the replica is stale, unless the commit's own batch removed them.
  const spans = { plainEntries: node.before.plainEntries, entryBatches: node.before.entryBatches };
  let stale: ImportResult['staleEntries'] = { plainEntriesRemoved: undefined, entryBatchesRemoved: undefined, ...spans };
  if (!written.entriesRemoved) {
    const db = await LogDB.open(node.cfg, { store: node.store, lock: { lockHolder: nativeLockHolder() } });
    try {
      const removal = await db.removeStaleEntries(node.shardId, node.replicaId);
      stale = { plainEntriesRemoved: removal.plainEntriesRemoved, entryBatchesRemoved: removal.entryBatchesRemoved, ...spans };
    } finally {
      await db.close();
    }
  }
  step('stale-entries-removed');
  const dataStatus = node.dataStatus.map((d) => (d.outcome === 'would-create' ? { ...d, outcome: 'created' as const } : d));
  return result(node, false, {
    files: staged.files,
    removedSnapshotDirs: node.toRemove,
    staleEntries: stale,
    dataStatus,
    ...(staged.backup ? { backup: staged.backup } : {}),
  });
}
