/**
 * Backup and undo of an import. `importSnapshot(..., { backupDir })` first
 * saves everything the import replaces for that replica — every log store
 * key of (shardID, replicaID), entries included, byte for byte, and its
 * snapshot directories — and `restoreBackup` puts the node back exactly.
 *
 * A backup directory holds `nodehost-backup.json` (what, whose, when; written
 * last, so its presence means complete), `logdb/` (a LevelDB database with the
 * replica's keys) and `snapshots/` (copies of the snapshot root's entries).
 * Both directions are crash-safe: the backup is built in a temporary sibling
 * and renamed into place; the restore keeps the node's current state valid
 * until one atomic log store batch switches the records back, and converges
 * when rerun.
 */
import { cp, open, readdir, readFile, rm } from 'node:fs/promises';
import { basename, dirname, join, resolve } from 'node:path';
import { ErrAlreadyExists, ErrBackupMismatch, throwIfAborted } from '../errors.js';
import { copyEntries, loadNative } from '../engines/native.js';
import { fsyncDir, mkdirDurable, removeCreatedDirs, removeTreeDurable, renameDurable, writeFileDurable } from '../files/durable.js';
import { isNotFound, statOrUndefined } from '../files/fsutil.js';
import { allEntriesRange, allEntryBatchesRange, bootstrapKey, decodeKey, decodeMaxIndex, encodeMaxIndex, keyHex, keySuffix, maxIndexKey, nodeInfoKey, raftStateKey, snapshotKey, snapshotsRange, type KeyRange } from '../logdb/keys.js';
import { LogDB, latestSnapshot } from '../logdb/logdb.js';
import { LogDBPartition, type BatchOp } from '../logdb/partition.js';
import { resolveNodeHostConfig, type NodeHostConfig, type ResolvedNodeHostConfig } from '../nodehost/config.js';
import { checkNodeHostNotLocked } from '../nodehost/lock.js';
import { logdbPartitionDir, snapshotRootDir } from '../nodehost/paths.js';
import { decodeRaftState, decodeSnapshot, encodeBootstrap, encodeRaftState, encodeSnapshot } from '../records/codec.js';
import type { Snapshot } from '../records/types.js';
import { holdNodeHostLocks } from './dir-locks.js';
import { nativeLockHolder } from './native-hooks.js';

/** File name of a backup's description. */
export const BACKUP_META_FILENAME = 'nodehost-backup.json';
const FORMAT = 'nodehost-tools/import-backup';

/** What a backup holds and whose it is. */
export interface BackupInfo {
  dir: string;
  shardId: bigint;
  replicaId: bigint;
  nodeHostDir: string;
  raftAddress: string;
  hostname: string;
  deploymentId: bigint;
  createdAt: string;
  /** Log store keys saved: records (state, bootstrap, max index, node info, snapshots) and entries. */
  records: number;
  plainEntries: number;
  entryBatches: number;
  /** Names of the snapshot root's entries saved. */
  snapshotDirs: string[];
  /** Latest snapshot index recorded at backup time (0: none). */
  snapshotIndex: bigint;
  /** The records the import wrote (hex key → value), when the import gave them to the backup. */
  after?: Map<string, Uint8Array>;
}

function recordKeys(s: bigint, r: bigint): Uint8Array[] {
  return [raftStateKey(s, r), maxIndexKey(s, r), nodeInfoKey(s, r), bootstrapKey(s, r)];
}

function entryRanges(s: bigint, r: bigint): KeyRange[] {
  return [allEntriesRange(s, r), allEntryBatchesRange(s, r)];
}

/** Copies `ranges` of `from` into `to` in batches; returns the number of keys per range. */
async function copyRanges(from: LogDBPartition, to: LogDBPartition, ranges: KeyRange[], signal?: AbortSignal): Promise<number[]> {
  const counts: number[] = [];
  for (const range of ranges) {
    let ops: BatchOp[] = [];
    let n = 0;
    for await (const [key, value] of from.iterate(range)) {
      ops.push({ type: 'put', key, value });
      n++;
      if (ops.length >= 10_000) {
        throwIfAborted(signal, 'copying log store keys');
        await to.write(ops);
        ops = [];
      }
    }
    await to.write(ops);
    counts.push(n);
  }
  return counts;
}

/** Copies every entry key of (s, r) between two closed partition directories, natively when possible. */
async function copyEntryKeys(srcDir: string, dstDir: string, s: bigint, r: bigint, signal?: AbortSignal): Promise<{ plain: number; batches: number }> {
  if (loadNative()) {
    const res = await copyEntries(srcDir, dstDir, s, r, signal ? { signal } : {});
    return { plain: res.plainCopied, batches: res.batchesCopied };
  }
  const from = new LogDBPartition(srcDir, { readOnly: true });
  const to = new LogDBPartition(dstDir);
  try {
    const [plain, batches] = await copyRanges(from, to, entryRanges(s, r), signal);
    return { plain: plain!, batches: batches! };
  } finally {
    await from.close();
    await to.close();
  }
}

function metaJson(info: BackupInfo): Uint8Array {
  const j = {
    format: FORMAT, version: 1,
    shardId: info.shardId.toString(), replicaId: info.replicaId.toString(),
    nodeHostDir: info.nodeHostDir, raftAddress: info.raftAddress, hostname: info.hostname,
    deploymentId: info.deploymentId.toString(), createdAt: info.createdAt,
    records: info.records, plainEntries: info.plainEntries, entryBatches: info.entryBatches,
    snapshotDirs: info.snapshotDirs, snapshotIndex: info.snapshotIndex.toString(),
  };
  return new TextEncoder().encode(JSON.stringify(j, null, 2) + '\n');
}

/**
 * Saves everything of (shardId, replicaId) that an import replaces into the
 * new directory `backupDir` (which must not exist). The node must be stopped.
 */
export async function createBackup(
  cfg: ResolvedNodeHostConfig, shardId: bigint, replicaId: bigint, backupDir: string, signal?: AbortSignal,
): Promise<BackupInfo> {
  const dir = resolve(backupDir);
  if (await statOrUndefined(dir)) {
    throw new ErrAlreadyExists(`backup directory ${dir} already exists; give a new one (a backup is never overwritten)`, { path: dir });
  }
  const tmp = join(dirname(dir), `.${basename(dir)}.partial`);
  await removeTreeDurable(tmp);
  const created = await mkdirDurable(tmp);
  try {
    const partDir = logdbPartitionDir(cfg, shardId);
    const src = new LogDBPartition(partDir, { readOnly: true, lock: { lockHolder: nativeLockHolder() } });
    const dst = new LogDBPartition(join(tmp, 'logdb'));
    let records = 0;
    let snapshotIndex = 0n;
    try {
      const ops: BatchOp[] = [];
      for (const key of recordKeys(shardId, replicaId)) {
        const v = await src.get(key);
        if (v !== undefined) ops.push({ type: 'put', key, value: v });
      }
      for await (const [key, value] of src.iterate(snapshotsRange(shardId, replicaId))) {
        ops.push({ type: 'put', key, value });
        snapshotIndex = keySuffix(key);
      }
      records = ops.length;
      await dst.openForWrite();
      await dst.write(ops);
    } finally {
      await src.close();
      await dst.close();
    }
    const entries = (await statOrUndefined(join(partDir, 'CURRENT')))
      ? await copyEntryKeys(partDir, join(tmp, 'logdb'), shardId, replicaId, signal)
      : { plain: 0, batches: 0 };
    throwIfAborted(signal, 'backup (before snapshot directories)');

    const root = snapshotRootDir(cfg, shardId, replicaId);
    let names: string[] = [];
    try {
      names = (await readdir(root)).sort();
    } catch (err) {
      if (!isNotFound(err)) throw err;
    }
    await mkdirDurable(join(tmp, 'snapshots'));
    for (const name of names) {
      await cp(join(root, name), join(tmp, 'snapshots', name), { recursive: true, preserveTimestamps: true, errorOnExist: true, force: false });
    }
    const info: BackupInfo = {
      dir, shardId, replicaId, nodeHostDir: cfg.nodeHostDir, raftAddress: cfg.raftAddress, hostname: cfg.hostname,
      deploymentId: cfg.deploymentId, createdAt: new Date().toISOString(), records,
      plainEntries: entries.plain, entryBatches: entries.batches, snapshotDirs: names, snapshotIndex,
    };
    await syncTree(join(tmp, 'snapshots'));
    await writeFileDurable(join(tmp, BACKUP_META_FILENAME), metaJson(info));
    await renameDurable(tmp, dir);
    return info;
  } catch (err) {
    await removeTreeDurable(tmp).catch(() => undefined);
    await removeCreatedDirs(created.filter((d) => d !== tmp));
    throw err;
  }
}

/**
 * Puts the backup's copy of snapshot-root entry `name` at `target`: copied
 * under a temporary name, fsynced, then renamed over whatever is there.
 */
async function placeSavedDir(backup: BackupInfo, name: string, target: string): Promise<void> {
  const tmp = join(dirname(target), `.${name}.restoring`);
  await removeTreeDurable(tmp);
  await cp(join(backup.dir, 'snapshots', name), tmp, { recursive: true, preserveTimestamps: true });
  await syncTree(tmp);
  await rm(target, { recursive: true, force: true });
  await renameDurable(tmp, target);
}

/** fsyncs every file and directory under `root` (cp does not). */
async function syncTree(root: string): Promise<void> {
  for (const e of await readdir(root, { withFileTypes: true })) {
    const p = join(root, e.name);
    if (e.isDirectory()) await syncTree(p);
    else if (e.isFile()) {
      const fh = await open(p, 'r');
      try {
        await fh.sync();
      } finally {
        await fh.close();
      }
    }
  }
  await fsyncDir(root);
}

/** Reads and checks a backup's description. */
export async function readBackup(backupDir: string): Promise<BackupInfo> {
  const dir = resolve(backupDir);
  const path = join(dir, BACKUP_META_FILENAME);
  let j: Record<string, unknown>;
  try {
    j = JSON.parse(await readFile(path, 'utf8')) as Record<string, unknown>;
  } catch (err) {
    if (isNotFound(err)) {
      throw new ErrBackupMismatch(`${dir} is not a complete backup (no ${BACKUP_META_FILENAME})`, { path, check: 'backup-meta' });
    }
    throw new ErrBackupMismatch(`${path} is not a valid backup description: ${(err as Error).message}`, { path, check: 'backup-meta' });
  }
  if (j.format !== FORMAT || j.version !== 1) {
    throw new ErrBackupMismatch(`${path} is not a nodehost-tools import backup`, { path, check: 'backup-meta' });
  }
  const str = (k: string): string => {
    if (typeof j[k] !== 'string') throw new ErrBackupMismatch(`${path}: ${k} is missing`, { path, check: 'backup-meta' });
    return j[k] as string;
  };
  return {
    dir, shardId: BigInt(str('shardId')), replicaId: BigInt(str('replicaId')), nodeHostDir: str('nodeHostDir'),
    raftAddress: str('raftAddress'), hostname: str('hostname'), deploymentId: BigInt(str('deploymentId')),
    createdAt: str('createdAt'), records: Number(j.records), plainEntries: Number(j.plainEntries),
    entryBatches: Number(j.entryBatches), snapshotDirs: (j.snapshotDirs as string[]) ?? [],
    snapshotIndex: BigInt(str('snapshotIndex')),
  };
}

/** What {@link restoreBackup} did. */
export interface RestoreResult {
  backup: BackupInfo;
  /** Snapshot index recorded before the restore (the imported one) and after. */
  fromSnapshotIndex: bigint;
  toSnapshotIndex: bigint;
  removedSnapshotDirs: string[];
  restoredSnapshotDirs: string[];
}

async function sameTree(a: string, b: string): Promise<boolean> {
  const [ea, eb] = [await readdir(a, { withFileTypes: true }), await readdir(b, { withFileTypes: true })];
  if (ea.map((e) => e.name).sort().join('\0') !== eb.map((e) => e.name).sort().join('\0')) return false;
  for (const e of ea) {
    const pa = join(a, e.name);
    const pb = join(b, e.name);
    if (e.isDirectory()) {
      if (!(await statOrUndefined(pb))?.isDirectory() || !(await sameTree(pa, pb))) return false;
    } else if (!(await readFile(pa)).equals(await readFile(pb))) {
      return false;
    }
  }
  return true;
}

/**
 * Puts the node of `backupDir` back exactly as it was before the import: the
 * same log store keys (records and entries) and the same snapshot
 * directories. Refuses a backup of another node (ErrBackupMismatch) and a
 * node that has moved on since the import (its history would be lost).
 * Holds NodeHostDir/LOCK and WALDir/LOCK throughout (`dir-locks.ts`), so a
 * NodeHost cannot start on the node while it is rewritten.
 */
export async function restoreBackup(backupDir: string, nhConfig: NodeHostConfig, signal?: AbortSignal): Promise<RestoreResult> {
  const backup = await readBackup(backupDir);
  const cfg = resolveNodeHostConfig(nhConfig);
  const mismatch: [string, unknown, unknown][] = [
    ['nodeHostDir', backup.nodeHostDir, cfg.nodeHostDir],
    ['raftAddress', backup.raftAddress, cfg.raftAddress],
    ['hostname', backup.hostname, cfg.hostname],
    ['deploymentId', backup.deploymentId, cfg.deploymentId],
  ].filter(([, a, b]) => a !== b) as [string, unknown, unknown][];
  if (mismatch.length > 0) {
    const [field, a, b] = mismatch[0]!;
    throw new ErrBackupMismatch(
      `the backup in ${backup.dir} was taken for another node: its ${field} is ${String(a)}, this configuration's is ${String(b)}`,
      { path: backup.dir, check: field, expected: a, actual: b },
    );
  }
  await checkNodeHostNotLocked(cfg, { lockHolder: nativeLockHolder() });
  const locks = await holdNodeHostLocks(cfg);
  let failed = true;
  try {
    const res = await restoreHeld(backup, cfg, signal);
    failed = false;
    return res;
  } finally {
    await locks.release({ failed });
  }
}

/** {@link restoreBackup} once the node's LOCK files are held. */
async function restoreHeld(backup: BackupInfo, cfg: ResolvedNodeHostConfig, signal: AbortSignal | undefined): Promise<RestoreResult> {
  const s = backup.shardId;
  const r = backup.replicaId;

  // The node must still hold exactly what the import wrote (or, the import
  // never having committed, what it held before): anything else is history
  // made since, and putting the backup back would destroy it.
  const saved = new Map<string, Uint8Array>();
  const savedDb = new LogDBPartition(join(backup.dir, 'logdb'), { readOnly: true });
  try {
    for (const key of recordKeys(s, r)) {
      const v = await savedDb.get(key);
      if (v !== undefined) saved.set(keyHex(key), v);
    }
    for await (const [key, value] of savedDb.iterate(snapshotsRange(s, r))) saved.set(keyHex(key), value);
  } finally {
    await savedDb.close();
  }
  const probe = await LogDB.open(cfg, { readOnly: true });
  let current: Map<string, Uint8Array>;
  let latest;
  try {
    current = await currentRecords(probe, s, r);
    latest = latestSnapshot(await probe.nodeRecords(s, r));
  } finally {
    await probe.close();
  }
  checkNotMovedOn(backup, saved, current);
  const restored = backup.snapshotIndex;
  const root = snapshotRootDir(cfg, s, r);
  const partDir = logdbPartitionDir(cfg, s);

  // 1. Entries of the backup into the store: invisible to the current state (max index == snapshot index).
  if (backup.plainEntries + backup.entryBatches > 0) {
    await copyEntryKeys(join(backup.dir, 'logdb'), partDir, s, r, signal);
  }
  // 2. Snapshot directories of the backup, under temporary names first; unrecorded until the commit.
  const restoredDirs: string[] = [];
  await mkdirDurable(root);
  for (const name of backup.snapshotDirs) {
    const target = join(root, name);
    if (await statOrUndefined(target)) continue; // same name as a current one: reconciled after the commit
    await placeSavedDir(backup, name, target);
    restoredDirs.push(target);
  }
  throwIfAborted(signal, 'restore (before commit)');

  // 3. One atomic batch: the current records out, the backup's records in.
  const backupDb = new LogDBPartition(join(backup.dir, 'logdb'), { readOnly: true });
  const ops: BatchOp[] = [];
  try {
    const live = new LogDBPartition(partDir, { readOnly: true });
    try {
      for (const key of recordKeys(s, r)) if ((await live.get(key)) !== undefined) ops.push({ type: 'del', key });
      for await (const key of live.keys(snapshotsRange(s, r))) ops.push({ type: 'del', key });
    } finally {
      await live.close();
    }
    for (const key of recordKeys(s, r)) {
      const v = await backupDb.get(key);
      if (v !== undefined) ops.push({ type: 'put', key, value: v });
    }
    for await (const [key, value] of backupDb.iterate(snapshotsRange(s, r))) {
      decodeSnapshot(value); // a corrupt backup must not be committed
      ops.push({ type: 'put', key, value });
    }
  } finally {
    await backupDb.close();
  }
  const db = await LogDB.open(cfg, { lock: { lockHolder: nativeLockHolder() } });
  try {
    await db.partition(db.partitionOf(s)).write(ops);
  } finally {
    await db.close();
  }

  // 4. After the commit: the directories and entries that are not the backup's go.
  const removed: string[] = [];
  const keep = new Set(backup.snapshotDirs);
  let present: string[] = [];
  try {
    present = await readdir(root);
  } catch (err) {
    if (!isNotFound(err)) throw err;
  }
  for (const name of present) {
    const p = join(root, name);
    if (!keep.has(name)) {
      await removeTreeDurable(p);
      removed.push(p);
    } else if (!restoredDirs.includes(p) && !(await sameTree(p, join(backup.dir, 'snapshots', name)))) {
      // A directory the import reused in place (it added its flag file): make it the backup's again.
      await placeSavedDir(backup, name, p);
      restoredDirs.push(p);
    }
  }
  await removeExtraEntries(backup, partDir);
  return { backup, fromSnapshotIndex: latest?.index ?? 0n, toSnapshotIndex: restored, removedSnapshotDirs: removed, restoredSnapshotDirs: restoredDirs };
}

/** The replica's record keys and their values (entries excluded), keyed by hex key. */
async function currentRecords(db: LogDB, s: bigint, r: bigint): Promise<Map<string, Uint8Array>> {
  const part = db.partition(db.partitionOf(s));
  const out = new Map<string, Uint8Array>();
  for (const key of recordKeys(s, r)) {
    const v = await part.get(key);
    if (v !== undefined) out.set(keyHex(key), v);
  }
  for await (const [key, value] of part.iterate(snapshotsRange(s, r))) out.set(keyHex(key), value);
  return out;
}

function sameRecords(a: Map<string, Uint8Array>, b: Map<string, Uint8Array>): boolean {
  if (a.size !== b.size) return false;
  for (const [k, v] of a) {
    const w = b.get(k);
    if (w === undefined || !Buffer.from(v).equals(Buffer.from(w))) return false;
  }
  return true;
}

/**
 * The records an import of `snapshot` writes for replica `r` (IMPORT.md step
 * 11; LogDB.planImport), keyed by hex key. Node info is not the import's: it
 * is carried over from `current`.
 */
function importedRecords(s: bigint, r: bigint, snapshot: Snapshot, current: Map<string, Uint8Array>): Map<string, Uint8Array> {
  const out = new Map<string, Uint8Array>([
    [keyHex(bootstrapKey(s, r)), encodeBootstrap({ addresses: new Map(), join: true, type: snapshot.type })],
    [keyHex(raftStateKey(s, r)), encodeRaftState({ term: snapshot.term, vote: 0n, commit: snapshot.index })],
    [keyHex(maxIndexKey(s, r)), encodeMaxIndex(snapshot.index)],
    [keyHex(snapshotKey(s, r, snapshot.index)), encodeSnapshot(snapshot)],
  ]);
  const info = current.get(keyHex(nodeInfoKey(s, r)));
  if (info !== undefined) out.set(keyHex(nodeInfoKey(s, r)), info);
  return out;
}

function describeRecord(kind: string, v: Uint8Array | undefined): string {
  if (v === undefined) return 'absent';
  try {
    if (kind === 'raft state') {
      const st = decodeRaftState(v);
      return `term ${st.term}, vote ${st.vote}, commit ${st.commit}`;
    }
    if (kind === 'max index') return String(decodeMaxIndex(v));
  } catch {
    // undecodable: shown by size only
  }
  return `${v.length} bytes`;
}

/**
 * Refuses (ErrBackupMismatch `node-moved-on`) unless the node's records are
 * exactly the pre-import ones (`saved`: the import never committed, or a
 * restore already did) or exactly what the import wrote: the backup's record
 * of it when it has one, else the records an import of the node's current
 * snapshot writes (only an imported snapshot qualifies). A term, a vote, a
 * commit index or a max index that differs is history made since the import.
 */
function checkNotMovedOn(backup: BackupInfo, saved: Map<string, Uint8Array>, current: Map<string, Uint8Array>): void {
  if (sameRecords(current, saved)) return;
  const s = backup.shardId;
  const r = backup.replicaId;
  let expected: Map<string, Uint8Array> | undefined = backup.after;
  if (expected === undefined) {
    const snaps = [...current].filter(([k]) => decodeKey(Buffer.from(k, 'hex'))?.kind === 'snapshot');
    let snap: Snapshot | undefined;
    try {
      snap = snaps.length === 1 ? decodeSnapshot(snaps[0]![1]) : undefined;
    } catch {
      snap = undefined;
    }
    if (snap?.imported) expected = importedRecords(s, r, snap, current);
  }
  if (expected !== undefined && sameRecords(current, expected)) return;
  const diffs: string[] = [];
  for (const [kind, key] of [['raft state', raftStateKey(s, r)], ['max index', maxIndexKey(s, r)], ['bootstrap', bootstrapKey(s, r)]] as const) {
    const want = expected?.get(keyHex(key));
    const have = current.get(keyHex(key));
    if (want === undefined || have === undefined || !Buffer.from(want).equals(Buffer.from(have))) {
      diffs.push(`its ${kind} is ${describeRecord(kind, have)}${expected ? ` (the import wrote ${describeRecord(kind, want)})` : ''}`);
    }
  }
  if (diffs.length === 0) diffs.push('its snapshot records differ from what the import wrote');
  throw new ErrBackupMismatch(
    `shard ${s} replica ${r} has moved on since the import: ${diffs.join('; ')}; ` +
      'putting the backup back would discard that history (terms, votes and committed entries of the repaired shard)',
    { check: 'node-moved-on', path: backup.dir, differences: diffs },
  );
}

/** Removes entry keys of the replica that the backup does not hold (normally none: the import removed them all). */
async function removeExtraEntries(backup: BackupInfo, partDir: string): Promise<void> {
  const s = backup.shardId;
  const r = backup.replicaId;
  const saved = new LogDBPartition(join(backup.dir, 'logdb'), { readOnly: true });
  const live = new LogDBPartition(partDir);
  try {
    const ops: BatchOp[] = [];
    for (const range of entryRanges(s, r)) {
      const want = new Set<string>();
      for await (const k of saved.keys(range)) want.add(Buffer.from(k).toString('hex'));
      for await (const k of live.keys(range)) if (!want.has(Buffer.from(k).toString('hex'))) ops.push({ type: 'del', key: k });
    }
    await live.write(ops);
  } finally {
    await saved.close();
    await live.close();
  }
}

