/**
 * Backup and undo of an import. `importSnapshot(..., { backupDir })` first
 * saves everything the import replaces for that replica — every log store
 * key of (shardID, replicaID), entries included, byte for byte, and its
 * snapshot directories — and `restoreBackup` puts the node back exactly.
 *
 * A backup directory holds:
 * - `logstore.kv`: the replica's log store pairs, store-neutral (the same
 *   backup restores onto LevelDB or Pebble): per pair a big-endian u32 key
 *   length, the key, a big-endian u32 value length, the value;
 * - `snapshots/<name>/...`: copies of the snapshot root's snapshot directories;
 * - `nodehost-backup.json`, written last (its presence means complete): whose
 *   backup it is, the pair count, size and SHA-256 of `logstore.kv`, the size,
 *   mode and SHA-256 of every other file, and the records the import wrote
 *   when the import handed them over.
 *
 * The restore trusts nothing in it: every name is one path component of its
 * pattern, every file's digest and every count is checked, every key must be
 * the replica's own, symlinks are refused — all before its first write. It
 * then proceeds only while the node still holds exactly what the import
 * wrote (or what it held before: the import never committed), so it never
 * undoes history the repaired shard made since.
 *
 * Both directions are crash-safe: the backup is built in a temporary sibling
 * and renamed into place; the restore stages the saved snapshot directories
 * under temporary names, swaps each into place by renaming the current one
 * aside first (never removing it before its replacement is there), switches
 * the records and entries in ONE atomic log store batch, and only then
 * removes what is no longer recorded. A rerun converges.
 */
import { createHash } from 'node:crypto';
import { chmod, lstat, mkdir, open, readdir, readFile } from 'node:fs/promises';
import { basename, dirname, join, resolve } from 'node:path';
import { ErrAlreadyExists, ErrBackupMismatch, ioError, throwIfAborted } from '../errors.js';
import {
  copyFileDurable,
  fsyncDir,
  mkdirDurable,
  removeCreatedDirs,
  removeTreeDurable,
  renameDurable,
  writeFileDurable,
} from '../files/durable.js';
import { isNotFound, lstatOrUndefined, statOrUndefined } from '../files/fsutil.js';
import { sha256File } from '../files/hash.js';
import {
  allEntriesRange,
  allEntryBatchesRange,
  bootstrapKey,
  decodeKey,
  decodeMaxIndex,
  encodeMaxIndex,
  keyHex,
  keySuffix,
  maxIndexKey,
  nodeInfoKey,
  raftStateKey,
  snapshotKey,
  snapshotsRange,
} from '../logdb/keys.js';
import { LogDB } from '../logdb/logdb.js';
import type { KvOp, PartitionStore } from '../logdb/store.js';
import { resolveNodeHostConfig, type NodeHostConfig, type ResolvedNodeHostConfig } from '../nodehost/config.js';
import { checkNodeHostNotLocked } from '../nodehost/lock.js';
import { snapshotRootDir } from '../nodehost/paths.js';
import { listSnapshotDirs, parseSnapshotDirName } from '../nodehost/snapshotdirs.js';
import { decodeRaftState, decodeSnapshot, encodeBootstrap, encodeRaftState, encodeSnapshot } from '../records/codec.js';
import type { Bootstrap, RaftState, Snapshot } from '../records/types.js';
import { holdNodeHostLocks } from './dir-locks.js';
import { nativeLockHolder } from '../nodehost/native-lock.js';

/** File name of a backup's description. */
export const BACKUP_META_FILENAME = 'nodehost-backup.json';
/** File name of a backup's log store pairs. */
export const LOGSTORE_FILENAME = 'logstore.kv';
const SNAPSHOTS = 'snapshots';
const FORMAT = 'nodehost-tools/import-backup';
const VERSION = 2;

/** One file of a backup (under `snapshots/`), as its description lists it. */
export interface BackupFile {
  /** Relative to the backup directory, `/`-separated: `snapshots/<dir>/<file>`. */
  path: string;
  size: number;
  sha256: string;
  mode: number;
}

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
  /** Log store pairs saved besides entries: raft state, max index, node info, bootstrap, snapshot records. */
  records: number;
  plainEntries: number;
  entryBatches: number;
  /** Names of the snapshot root's snapshot directories saved (each one path component of Dragonboat's patterns). */
  snapshotDirs: string[];
  /** Latest snapshot index recorded at backup time (0: none). */
  snapshotIndex: bigint;
  /** `logstore.kv`: pair count, size and SHA-256. */
  logStore: { file: string; pairs: number; bytes: number; sha256: string };
  /** Every file under `snapshots/` with its size, SHA-256 and mode. */
  files: BackupFile[];
  /** Every directory under `snapshots/` (the saved directories and their subdirectories) with its mode. */
  dirs: { path: string; mode: number }[];
  /** The records the import wrote (hex key → value), when the import handed them to the backup. */
  after?: Map<string, Uint8Array>;
}

/** The records an import writes (LogDB.planImport's `after`). */
export interface ImportedRecords {
  bootstrap: Bootstrap;
  raftState: RaftState;
  maxIndex: bigint;
  snapshot: Snapshot;
}

function recordKeys(s: bigint, r: bigint): Uint8Array[] {
  return [raftStateKey(s, r), maxIndexKey(s, r), nodeInfoKey(s, r), bootstrapKey(s, r)];
}

function hex(b: Uint8Array): string {
  return Buffer.from(b.buffer, b.byteOffset, b.byteLength).toString('hex');
}

function mismatch(message: string, check: string, details: Record<string, unknown> = {}): ErrBackupMismatch {
  return new ErrBackupMismatch(message, { check, ...details });
}

// --- logstore.kv ---------------------------------------------------------------------

function frame(key: Uint8Array, value: Uint8Array): Buffer {
  const out = Buffer.allocUnsafe(8 + key.length + value.length);
  out.writeUInt32BE(key.length, 0);
  out.set(key, 4);
  out.writeUInt32BE(value.length, 4 + key.length);
  out.set(value, 8 + key.length);
  return out;
}

/** Streams framed pairs into a file, hashing and counting as it goes. */
class KvWriter {
  private chunks: Buffer[] = [];
  private pending = 0;
  private readonly hash = createHash('sha256');
  pairs = 0;
  bytes = 0;

  private constructor(
    private readonly fh: Awaited<ReturnType<typeof open>>,
    readonly path: string,
  ) {}

  static async create(path: string): Promise<KvWriter> {
    try {
      return new KvWriter(await open(path, 'wx', 0o644), path);
    } catch (err) {
      throw ioError(err, 'cannot create', path);
    }
  }

  async add(key: Uint8Array, value: Uint8Array): Promise<void> {
    const f = frame(key, value);
    this.chunks.push(f);
    this.pending += f.length;
    this.pairs++;
    if (this.pending >= 1 << 20) await this.flush();
  }

  private async flush(): Promise<void> {
    if (this.pending === 0) return;
    const buf = Buffer.concat(this.chunks, this.pending);
    this.chunks = [];
    this.pending = 0;
    this.hash.update(buf);
    try {
      await this.fh.write(buf);
    } catch (err) {
      throw ioError(err, 'cannot write', this.path);
    }
    this.bytes += buf.length;
  }

  async finish(): Promise<{ pairs: number; bytes: number; sha256: string }> {
    try {
      await this.flush();
      await this.fh.sync();
    } finally {
      await this.fh.close().catch(() => undefined);
    }
    return { pairs: this.pairs, bytes: this.bytes, sha256: this.hash.digest('hex') };
  }

  async abort(): Promise<void> {
    await this.fh.close().catch(() => undefined);
  }
}

/** Splits `logstore.kv` into its pairs; a frame running past the end is `logstore-frame`. */
function parseFrames(bytes: Buffer, path: string): [Uint8Array, Uint8Array][] {
  const out: [Uint8Array, Uint8Array][] = [];
  let o = 0;
  const take = (): Uint8Array => {
    if (o + 4 > bytes.length) throw mismatch(`${path} is cut inside a frame at byte ${o}`, 'logstore-frame', { path, offset: o });
    const n = bytes.readUInt32BE(o);
    if (o + 4 + n > bytes.length) throw mismatch(`${path} is cut inside a frame at byte ${o}`, 'logstore-frame', { path, offset: o });
    const v = new Uint8Array(bytes.buffer, bytes.byteOffset + o + 4, n);
    o += 4 + n;
    return v;
  };
  while (o < bytes.length) {
    const k = take();
    out.push([k, take()]);
  }
  return out;
}

// --- snapshot directories --------------------------------------------------------------

/** True for a name Dragonboat's snapshotter treats as a snapshot directory (final or temporary). */
function isSnapshotDirName(name: string): boolean {
  return parseSnapshotDirName(name).kind !== 'other';
}

/**
 * Copies the directory `src` to `dst` (which must not exist), listing every
 * directory and file with the copy's size, mode and SHA-256 under `rel`.
 * Symlinks and special files are refused: a backup holds only what it can
 * verify byte for byte.
 */
async function copyListed(
  src: string,
  dst: string,
  rel: string,
  files: BackupFile[],
  dirs: { path: string; mode: number }[],
  signal?: AbortSignal,
): Promise<void> {
  const st = await lstat(src).catch((err: unknown) => {
    throw ioError(err, 'cannot stat', src);
  });
  const mode = st.mode & 0o7777;
  await mkdir(dst, { mode }).catch((err: unknown) => {
    throw ioError(err, 'cannot create directory', dst);
  });
  await chmod(dst, mode);
  dirs.push({ path: rel, mode });
  const entries = (
    await readdir(src, { withFileTypes: true }).catch((err: unknown) => {
      throw ioError(err, 'cannot list', src);
    })
  ).sort((a, b) => (a.name < b.name ? -1 : a.name > b.name ? 1 : 0));
  for (const e of entries) {
    throwIfAborted(signal, 'backup of the snapshot directories');
    const s = join(src, e.name);
    const d = join(dst, e.name);
    if (e.isDirectory()) {
      await copyListed(s, d, `${rel}/${e.name}`, files, dirs, signal);
    } else if (e.isFile()) {
      // The digest of the bytes copied, in the copy's own pass (streamed: any size).
      const { sha256, size } = await copyFileDurable(s, d, {
        exclusive: true,
        syncDir: false,
        sha256: true,
        ...(signal ? { signal } : {}),
      });
      files.push({ path: `${rel}/${e.name}`, size: Number(size), sha256: sha256!, mode: (await lstat(d)).mode & 0o7777 });
    } else {
      throw mismatch(
        `cannot back up ${s}: only regular files and directories are saved (a symlink or special file cannot be verified)`,
        e.isSymbolicLink() ? 'symlink' : 'file-type',
        { path: s },
      );
    }
  }
  await fsyncDir(dst);
}

/** fsyncs every file and directory under `root` (copies and renames do not). */
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

// --- backup -----------------------------------------------------------------------------

/** The records an import of `after` writes for (s, r), keyed by hex key; node info is not the import's and is carried over. */
function importedRecords(s: bigint, r: bigint, after: ImportedRecords, nodeInfo: Uint8Array | undefined): Map<string, Uint8Array> {
  const out = new Map<string, Uint8Array>([
    [keyHex(bootstrapKey(s, r)), encodeBootstrap(after.bootstrap)],
    [keyHex(raftStateKey(s, r)), encodeRaftState(after.raftState)],
    [keyHex(maxIndexKey(s, r)), encodeMaxIndex(after.maxIndex)],
    [keyHex(snapshotKey(s, r, after.snapshot.index)), encodeSnapshot(after.snapshot)],
  ]);
  if (nodeInfo !== undefined) out.set(keyHex(nodeInfoKey(s, r)), nodeInfo);
  return out;
}

function metaJson(info: BackupInfo): Uint8Array {
  const j = {
    format: FORMAT,
    version: VERSION,
    shardId: info.shardId.toString(),
    replicaId: info.replicaId.toString(),
    nodeHostDir: info.nodeHostDir,
    raftAddress: info.raftAddress,
    hostname: info.hostname,
    deploymentId: info.deploymentId.toString(),
    createdAt: info.createdAt,
    records: info.records,
    plainEntries: info.plainEntries,
    entryBatches: info.entryBatches,
    snapshotDirs: info.snapshotDirs,
    snapshotIndex: info.snapshotIndex.toString(),
    logStore: info.logStore,
    dirs: info.dirs,
    files: info.files,
    after: info.after ? Object.fromEntries(info.after) : null,
  };
  return new TextEncoder().encode(JSON.stringify(j, (_k, v: unknown) => (v instanceof Uint8Array ? hex(v) : v), 2) + '\n');
}

/**
 * Saves everything of (shardId, replicaId) that an import replaces into the
 * new directory `backupDir` (which must not exist). The node must be stopped.
 * `after`, the records the import is about to write, lets the restore tell
 * "just imported" from "ran since" byte for byte.
 */
export async function createBackup(
  cfg: ResolvedNodeHostConfig,
  shardId: bigint,
  replicaId: bigint,
  backupDir: string,
  signal?: AbortSignal,
  after?: ImportedRecords,
): Promise<BackupInfo> {
  const dir = resolve(backupDir);
  if (await lstatOrUndefined(dir)) {
    throw new ErrAlreadyExists(`backup directory ${dir} already exists; give a new one (a backup is never overwritten)`, { path: dir });
  }
  const tmp = join(dirname(dir), `.${basename(dir)}.partial`);
  await removeTreeDurable(tmp);
  const created = await mkdirDurable(tmp);
  try {
    const s = shardId;
    const r = replicaId;
    const kv = await KvWriter.create(join(tmp, LOGSTORE_FILENAME));
    let records = 0;
    let plainEntries = 0;
    let entryBatches = 0;
    let snapshotIndex = 0n;
    let nodeInfo: Uint8Array | undefined;
    let logStore;
    const db = await LogDB.open(cfg, { readOnly: true, lock: { lockHolder: nativeLockHolder() } });
    try {
      const part = db.partition(db.partitionOf(s));
      for (const key of recordKeys(s, r)) {
        const v = await part.get(key);
        if (v === undefined) continue;
        await kv.add(key, v);
        records++;
        if (keyHex(key) === keyHex(nodeInfoKey(s, r))) nodeInfo = v;
      }
      for await (const [key, value] of part.iterate(snapshotsRange(s, r))) {
        await kv.add(key, value);
        records++;
        snapshotIndex = keySuffix(key);
      }
      for await (const [key, value] of part.iterate(allEntriesRange(s, r))) {
        throwIfAborted(signal, 'backup of the log store');
        await kv.add(key, value);
        plainEntries++;
      }
      for await (const [key, value] of part.iterate(allEntryBatchesRange(s, r))) {
        throwIfAborted(signal, 'backup of the log store');
        await kv.add(key, value);
        entryBatches++;
      }
      logStore = { file: LOGSTORE_FILENAME, ...(await kv.finish()) };
    } catch (err) {
      await kv.abort();
      throw err;
    } finally {
      await db.close();
    }
    throwIfAborted(signal, 'backup (before snapshot directories)');

    const root = snapshotRootDir(cfg, s, r);
    const names = (await listSnapshotDirs(root))
      .filter((d) => d.kind !== 'other')
      .map((d) => d.name)
      .sort();
    await mkdirDurable(join(tmp, SNAPSHOTS));
    const files: BackupFile[] = [];
    const dirs: { path: string; mode: number }[] = [];
    for (const name of names) await copyListed(join(root, name), join(tmp, SNAPSHOTS, name), `${SNAPSHOTS}/${name}`, files, dirs, signal);
    await syncTree(join(tmp, SNAPSHOTS));
    const info: BackupInfo = {
      dir,
      shardId: s,
      replicaId: r,
      nodeHostDir: cfg.nodeHostDir,
      raftAddress: cfg.raftAddress,
      hostname: cfg.hostname,
      deploymentId: cfg.deploymentId,
      createdAt: new Date().toISOString(),
      records,
      plainEntries,
      entryBatches,
      snapshotDirs: names,
      snapshotIndex,
      logStore,
      files,
      dirs,
      ...(after ? { after: importedRecords(s, r, after, nodeInfo) } : {}),
    };
    await writeFileDurable(join(tmp, BACKUP_META_FILENAME), metaJson(info));
    await renameDurable(tmp, dir);
    return info;
  } catch (err) {
    await removeTreeDurable(tmp).catch(() => undefined);
    await removeCreatedDirs(created.filter((d) => d !== tmp));
    throw err;
  }
}

// --- reading and verifying a backup ------------------------------------------------------------

const HEX64 = /^[0-9a-f]{64}$/;

/**
 * Reads a backup's description and checks its shape: every field typed,
 * every name one path component of its pattern, every listed path inside
 * `snapshots/<a saved directory>`, the counts consistent. Nothing is
 * trusted that is not checked here or in {@link verifyBackup}.
 */
export async function readBackup(backupDir: string): Promise<BackupInfo> {
  const dir = resolve(backupDir);
  const dst = await lstatOrUndefined(dir);
  if (dst?.isSymbolicLink()) {
    throw mismatch(`${dir} is a symlink; a backup is a real directory (give its own path)`, 'symlink', { path: dir });
  }
  const path = join(dir, BACKUP_META_FILENAME);
  let j: Record<string, unknown>;
  try {
    const text = await readFile(path, 'utf8');
    const parsed: unknown = JSON.parse(text);
    if (parsed === null || typeof parsed !== 'object' || Array.isArray(parsed)) throw new Error('not a JSON object');
    j = parsed as Record<string, unknown>;
  } catch (err) {
    if (isNotFound(err)) {
      throw mismatch(`${dir} is not a complete backup (no ${BACKUP_META_FILENAME})`, 'backup-meta', { path });
    }
    throw mismatch(`${path} is not a valid backup description: ${(err as Error).message}`, 'backup-meta', { path });
  }
  if (j.format !== FORMAT) throw mismatch(`${path} is not a nodehost-tools import backup`, 'backup-meta', { path });
  if (j.version !== VERSION) {
    throw mismatch(
      j.version === 1
        ? `${dir} was taken by an earlier nodehost-tools (its log store keys are a LevelDB database); restore it with that version`
        : `${path} has backup format version ${String(j.version)}; this nodehost-tools reads version ${VERSION}`,
      'backup-format',
      { path, expected: VERSION, actual: j.version },
    );
  }
  const bad = (k: string, what: string): ErrBackupMismatch => mismatch(`${path}: ${k} ${what}`, 'backup-meta', { path, field: k });
  const str = (k: string): string => {
    if (typeof j[k] !== 'string') throw bad(k, 'is missing or not a string');
    return j[k] as string;
  };
  const dec = (k: string): bigint => {
    const v = str(k);
    if (!/^\d{1,20}$/.test(v) || BigInt(v) >= 1n << 64n) throw bad(k, 'is not a decimal uint64');
    return BigInt(v);
  };
  const count = (v: unknown, k: string): number => {
    if (typeof v !== 'number' || !Number.isSafeInteger(v) || v < 0) throw bad(k, 'is not a count');
    return v;
  };
  const snapshotDirs = j.snapshotDirs;
  if (!Array.isArray(snapshotDirs)) throw bad('snapshotDirs', 'is not a list');
  const names = new Set<string>();
  for (const n of snapshotDirs) {
    if (typeof n !== 'string' || !isSnapshotDirName(n) || names.has(n)) {
      throw mismatch(
        `${path}: snapshotDirs holds ${JSON.stringify(n)}, which is not the name of a snapshot directory ` +
          '(one path component: snapshot-<INDEX> or a temporary snapshot-<INDEX>-<ID>.generating/.receiving), or is listed twice',
        'snapshot-dir-name',
        { path, actual: n },
      );
    }
    names.add(n);
  }
  // Every listed path is snapshots/<a saved directory>[/<component>...], each component a plain name.
  const listedPath = (p: unknown, what: string): string => {
    const parts = typeof p === 'string' ? p.split('/') : [];
    if (
      parts.length < 2 ||
      parts[0] !== SNAPSHOTS ||
      parts.some((c) => c === '' || c === '.' || c === '..' || c.includes('\0') || c.includes('\\'))
    ) {
      throw mismatch(`${path}: ${what} path ${JSON.stringify(p)} is not a plain path under ${SNAPSHOTS}/`, 'file-path', {
        path,
        actual: p,
      });
    }
    if (!names.has(parts[1]!)) {
      throw mismatch(`${path}: ${what} ${p as string} is in a directory snapshotDirs does not list`, 'snapshot-dirs', { path, actual: p });
    }
    return p as string;
  };
  if (!Array.isArray(j.files) || !Array.isArray(j.dirs)) throw bad('files', 'or dirs is not a list');
  const files: BackupFile[] = (j.files as unknown[]).map((f) => {
    const o = (f ?? {}) as Record<string, unknown>;
    const p = listedPath(o.path, 'file');
    if (typeof o.sha256 !== 'string' || !HEX64.test(o.sha256)) throw bad('files', `entry ${p} has no SHA-256`);
    return { path: p, size: count(o.size, 'files.size'), sha256: o.sha256, mode: count(o.mode, 'files.mode') & 0o7777 };
  });
  const dirs = (j.dirs as unknown[]).map((d) => {
    const o = (d ?? {}) as Record<string, unknown>;
    return { path: listedPath(o.path, 'directory'), mode: count(o.mode, 'dirs.mode') & 0o7777 };
  });
  const dirPaths = new Set(dirs.map((d) => d.path));
  for (const n of names) {
    if (!dirPaths.has(`${SNAPSHOTS}/${n}`)) {
      throw mismatch(`${path}: snapshot directory ${n} is listed but none of its contents are`, 'snapshot-dirs', { path, actual: n });
    }
  }
  const all = [...dirs.map((d) => d.path), ...files.map((f) => f.path)];
  if (new Set(all).size !== all.length) throw mismatch(`${path}: a path is listed twice`, 'file-path', { path });
  for (const p of all) {
    const parent = p.slice(0, p.lastIndexOf('/'));
    if (parent !== SNAPSHOTS && !dirPaths.has(parent))
      throw mismatch(`${path}: ${p} is listed without its directory`, 'file-path', { path, actual: p });
  }
  const ls = (j.logStore ?? {}) as Record<string, unknown>;
  if (ls.file !== LOGSTORE_FILENAME || typeof ls.sha256 !== 'string' || !HEX64.test(ls.sha256))
    throw bad('logStore', 'is not a description of logstore.kv');
  const logStore = {
    file: LOGSTORE_FILENAME,
    pairs: count(ls.pairs, 'logStore.pairs'),
    bytes: count(ls.bytes, 'logStore.bytes'),
    sha256: ls.sha256,
  };
  const records = count(j.records, 'records');
  const plainEntries = count(j.plainEntries, 'plainEntries');
  const entryBatches = count(j.entryBatches, 'entryBatches');
  if (records + plainEntries + entryBatches !== logStore.pairs) {
    throw mismatch(
      `${path}: ${records} records, ${plainEntries} entries and ${entryBatches} entry batches do not add up to the ${logStore.pairs} pairs of ${LOGSTORE_FILENAME}`,
      'logstore-count',
      { path, expected: logStore.pairs, actual: records + plainEntries + entryBatches },
    );
  }
  let after: Map<string, Uint8Array> | undefined;
  if (j.after !== null && j.after !== undefined) {
    if (typeof j.after !== 'object' || Array.isArray(j.after)) throw bad('after', 'is not an object');
    after = new Map();
    for (const [k, v] of Object.entries(j.after as Record<string, unknown>)) {
      if (!/^([0-9a-f]{2})+$/.test(k) || typeof v !== 'string' || !/^([0-9a-f]{2})*$/.test(v))
        throw bad('after', 'holds a pair that is not hex');
      after.set(k, new Uint8Array(Buffer.from(v, 'hex')));
    }
  }
  return {
    dir,
    shardId: dec('shardId'),
    replicaId: dec('replicaId'),
    nodeHostDir: str('nodeHostDir'),
    raftAddress: str('raftAddress'),
    hostname: str('hostname'),
    deploymentId: dec('deploymentId'),
    createdAt: str('createdAt'),
    records,
    plainEntries,
    entryBatches,
    snapshotDirs: [...names],
    snapshotIndex: dec('snapshotIndex'),
    logStore,
    files,
    dirs,
    ...(after ? { after } : {}),
  };
}

/**
 * Checks a backup's contents against its description: exactly the listed
 * files and directories (no symlink, nothing extra, nothing missing), each
 * file's size and SHA-256, and `logstore.kv`'s size, SHA-256, frames, pair
 * counts by kind, and that every key is the replica's own. Returns the pairs.
 */
export async function verifyBackup(b: BackupInfo, signal?: AbortSignal): Promise<[Uint8Array, Uint8Array][]> {
  const expected = new Map<string, 'file' | 'dir'>([
    [BACKUP_META_FILENAME, 'file'],
    [LOGSTORE_FILENAME, 'file'],
    [SNAPSHOTS, 'dir'],
  ]);
  for (const d of b.dirs) expected.set(d.path, 'dir');
  for (const f of b.files) expected.set(f.path, 'file');
  const found = new Set<string>();
  const walk = async (rel: string): Promise<void> => {
    const abs = rel === '' ? b.dir : join(b.dir, rel);
    let entries;
    try {
      entries = await readdir(abs, { withFileTypes: true });
    } catch (err) {
      throw ioError(err, 'cannot list', abs);
    }
    for (const e of entries) {
      const r = rel === '' ? e.name : `${rel}/${e.name}`;
      const p = join(b.dir, r);
      if (e.isSymbolicLink())
        throw mismatch(`${p} is a symlink; a backup holds only regular files and directories`, 'symlink', { path: p });
      const want = expected.get(r);
      if (want === undefined) throw mismatch(`${p} is in the backup but not in its description`, 'extra-file', { path: p });
      if ((want === 'dir') !== e.isDirectory() || (want === 'file' && !e.isFile())) {
        throw mismatch(`${p} is not a ${want === 'dir' ? 'directory' : 'regular file'} as the description says`, 'file-type', { path: p });
      }
      found.add(r);
      if (want === 'dir') await walk(r);
    }
  };
  await walk('');
  for (const [r] of expected) {
    if (!found.has(r))
      throw mismatch(`${join(b.dir, r)} is listed in the backup's description but missing`, 'missing-file', { path: join(b.dir, r) });
  }
  for (const f of b.files) {
    const p = join(b.dir, f.path);
    const { sha256, size } = await sha256File(p, signal);
    if (size !== BigInt(f.size))
      throw mismatch(`${p} is ${size} bytes; the backup recorded ${f.size}`, 'file-size', { path: p, expected: f.size, actual: size });
    if (sha256 !== f.sha256)
      throw mismatch(`${p} does not have the SHA-256 the backup recorded`, 'file-sha256', { path: p, expected: f.sha256, actual: sha256 });
  }
  const kvPath = join(b.dir, LOGSTORE_FILENAME);
  let bytes: Buffer;
  try {
    bytes = await readFile(kvPath);
  } catch (err) {
    throw ioError(err, 'cannot read', kvPath);
  }
  if (bytes.length !== b.logStore.bytes) {
    throw mismatch(`${kvPath} is ${bytes.length} bytes; the backup recorded ${b.logStore.bytes}`, 'logstore-size', {
      path: kvPath,
      expected: b.logStore.bytes,
      actual: bytes.length,
    });
  }
  const digest = createHash('sha256').update(bytes).digest('hex');
  if (digest !== b.logStore.sha256) {
    throw mismatch(`${kvPath} does not have the SHA-256 the backup recorded`, 'logstore-sha256', {
      path: kvPath,
      expected: b.logStore.sha256,
      actual: digest,
    });
  }
  const pairs = parseFrames(bytes, kvPath);
  const counts = { records: 0, plainEntries: 0, entryBatches: 0 };
  const seen = new Set<string>();
  for (const [k, v] of pairs) {
    const d = decodeKey(k);
    const kh = hex(k);
    if (d === undefined || d.shardId !== b.shardId || d.replicaId !== b.replicaId || seen.has(kh)) {
      throw mismatch(
        `${kvPath} holds key ${kh}, which is ${d === undefined ? 'not a log store key' : seen.has(kh) ? 'listed twice' : `of shard ${d.shardId} replica ${d.replicaId}`}; ` +
          `the backup says it is of shard ${b.shardId} replica ${b.replicaId}`,
        'logstore-key',
        { path: kvPath, key: kh },
      );
    }
    seen.add(kh);
    if (d.kind === 'entry') counts.plainEntries++;
    else if (d.kind === 'entry-batch') counts.entryBatches++;
    else {
      counts.records++;
      if (d.kind === 'snapshot') {
        try {
          decodeSnapshot(v);
        } catch (err) {
          throw mismatch(`${kvPath}: the snapshot record ${kh} does not decode: ${(err as Error).message}`, 'logstore-record', {
            path: kvPath,
            key: kh,
          });
        }
      }
    }
  }
  if (
    pairs.length !== b.logStore.pairs ||
    counts.records !== b.records ||
    counts.plainEntries !== b.plainEntries ||
    counts.entryBatches !== b.entryBatches
  ) {
    throw mismatch(
      `${kvPath} holds ${counts.records} records, ${counts.plainEntries} entries and ${counts.entryBatches} entry batches; ` +
        `the backup recorded ${b.records}, ${b.plainEntries} and ${b.entryBatches}`,
      'logstore-count',
      {
        path: kvPath,
        expected: { ...b.logStore, records: b.records, plainEntries: b.plainEntries, entryBatches: b.entryBatches },
        actual: counts,
      },
    );
  }
  return pairs;
}

// --- restore ---------------------------------------------------------------------------------

/** Step boundaries of a restore, in order; reported through {@link RestoreOptions.onStep}. */
export const RESTORE_STEPS = ['verified', 'staged', 'placed', 'committed', 'cleaned'] as const;
export type RestoreStep = (typeof RESTORE_STEPS)[number];

/** Options of {@link restoreBackup}. */
export interface RestoreOptions {
  signal?: AbortSignal;
  /** Called at each step boundary (crash-injection tests). */
  onStep?: (step: RestoreStep) => void;
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

/**
 * Puts the node of `backupDir` back exactly as it was before the import: the
 * same log store keys (records and entries) and the same snapshot
 * directories. Verifies the whole backup first and refuses (ErrBackupMismatch,
 * nothing changed) a tampered or incomplete backup, a backup of another node,
 * and a node that has moved on since the import. Holds NodeHostDir/LOCK and
 * WALDir/LOCK throughout (`dir-locks.ts`), so a NodeHost cannot start on the
 * node while it is rewritten.
 */
export async function restoreBackup(
  backupDir: string,
  nhConfig: NodeHostConfig,
  options: RestoreOptions | AbortSignal = {},
): Promise<RestoreResult> {
  const given: RestoreOptions = options instanceof AbortSignal ? { signal: options } : options;
  return restoreRun(backupDir, nhConfig, given);
}

async function restoreRun(backupDir: string, nhConfig: NodeHostConfig, opts: RestoreOptions): Promise<RestoreResult> {
  const backup = await readBackup(backupDir);
  const cfg = resolveNodeHostConfig(nhConfig);
  const differs = (
    [
      ['nodeHostDir', backup.nodeHostDir, cfg.nodeHostDir],
      ['raftAddress', backup.raftAddress, cfg.raftAddress],
      ['hostname', backup.hostname, cfg.hostname],
      ['deploymentId', backup.deploymentId, cfg.deploymentId],
    ] as [string, unknown, unknown][]
  ).filter(([, a, b]) => a !== b);
  if (differs.length > 0) {
    const [field, a, b] = differs[0]!;
    throw new ErrBackupMismatch(
      `the backup in ${backup.dir} was taken for another node: its ${field} is ${String(a)}, this configuration's is ${String(b)}`,
      { path: backup.dir, check: field, expected: a, actual: b },
    );
  }
  await checkNodeHostNotLocked(cfg, { lockHolder: nativeLockHolder() });
  // Verified under the locks: nothing can start on the node between the check and the writes.
  const locks = await holdNodeHostLocks(cfg);
  let failed = true;
  try {
    const pairs = await verifyBackup(backup, opts.signal);
    const res = await restoreHeld(backup, pairs, cfg, opts);
    failed = false;
    return res;
  } finally {
    await locks.release({ failed });
  }
}

/** The replica's record keys and their values (entries excluded), keyed by hex key. */
async function currentRecords(part: PartitionStore, s: bigint, r: bigint): Promise<Map<string, Uint8Array>> {
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
  let expected = backup.after;
  if (expected === undefined) {
    const snaps = [...current].filter(([k]) => decodeKey(Buffer.from(k, 'hex'))?.kind === 'snapshot');
    let snap: Snapshot | undefined;
    try {
      snap = snaps.length === 1 ? decodeSnapshot(snaps[0]![1]) : undefined;
    } catch {
      snap = undefined;
    }
    if (snap?.imported) {
      expected = importedRecords(
        s,
        r,
        {
          bootstrap: { addresses: new Map(), join: true, type: snap.type },
          raftState: { term: snap.term, vote: 0n, commit: snap.index },
          maxIndex: snap.index,
          snapshot: snap,
        },
        current.get(keyHex(nodeInfoKey(s, r))),
      );
    }
  }
  if (expected !== undefined && sameRecords(current, expected)) return;
  const diffs: string[] = [];
  for (const [kind, key] of [
    ['raft state', raftStateKey(s, r)],
    ['max index', maxIndexKey(s, r)],
    ['bootstrap', bootstrapKey(s, r)],
  ] as const) {
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

// The restore's own temporary names in the snapshot root: ".<name>.restoring" (a
// saved directory being copied in) and ".<name>.aside" (the directory it replaces).
// Dragonboat ignores both (they match none of its patterns).
const OWN_TEMP = /^\.(.+)\.(restoring|aside)$/;

/** True when `dir` holds exactly the saved directory `name`: the same paths, types, sizes, modes and SHA-256s. */
async function matchesSaved(backup: BackupInfo, name: string, dir: string): Promise<boolean> {
  const prefix = `${SNAPSHOTS}/${name}`;
  const want = new Map<string, { size: number; sha256: string; mode: number } | 'dir'>();
  for (const d of backup.dirs) if (d.path.startsWith(`${prefix}/`)) want.set(d.path.slice(prefix.length + 1), 'dir');
  for (const f of backup.files) if (f.path.startsWith(`${prefix}/`)) want.set(f.path.slice(prefix.length + 1), f);
  let seen = 0;
  const walk = async (rel: string): Promise<boolean> => {
    for (const e of await readdir(rel === '' ? dir : join(dir, rel), { withFileTypes: true })) {
      const r = rel === '' ? e.name : `${rel}/${e.name}`;
      const w = want.get(r);
      if (w === undefined) return false;
      seen++;
      if (w === 'dir') {
        if (!e.isDirectory() || !(await walk(r))) return false;
      } else {
        if (!e.isFile()) return false;
        const p = join(dir, r);
        const st = await lstat(p);
        if (st.size !== w.size || (st.mode & 0o7777) !== w.mode || (await sha256File(p)).sha256 !== w.sha256) return false;
      }
    }
    return true;
  };
  return (await walk('')) && seen === want.size;
}

/** Copies the saved directory `name` to `target` (which must not exist), with the recorded modes, and fsyncs it. */
async function copySaved(backup: BackupInfo, name: string, target: string): Promise<void> {
  const prefix = `${SNAPSHOTS}/${name}`;
  const at = (p: string): string => join(target, ...p.slice(prefix.length).split('/').filter(Boolean));
  const depth = (p: string): number => p.split('/').length;
  const dirs = backup.dirs
    .filter((x) => x.path === prefix || x.path.startsWith(`${prefix}/`))
    .sort((a, b) => depth(a.path) - depth(b.path));
  for (const d of dirs) {
    await mkdir(at(d.path), { mode: d.mode }).catch((err: unknown) => {
      throw ioError(err, 'cannot create directory', at(d.path));
    });
    await chmod(at(d.path), d.mode);
  }
  for (const f of backup.files.filter((x) => x.path.startsWith(`${prefix}/`))) {
    await copyFileDurable(join(backup.dir, f.path), at(f.path), { exclusive: true, syncDir: false });
    await chmod(at(f.path), f.mode);
  }
  await syncTree(target);
}

/** {@link restoreBackup} once the backup is verified and the node's LOCK files are held. */
async function restoreHeld(
  backup: BackupInfo,
  pairs: [Uint8Array, Uint8Array][],
  cfg: ResolvedNodeHostConfig,
  opts: RestoreOptions,
): Promise<RestoreResult> {
  const s = backup.shardId;
  const r = backup.replicaId;
  const step = (x: RestoreStep): void => opts.onStep?.(x);
  const lock = { lockHolder: nativeLockHolder() };

  // The node must still hold exactly what the import wrote (or, the import
  // never having committed, what it held before): anything else is history
  // made since, and putting the backup back would destroy it.
  const saved = new Map<string, Uint8Array>();
  for (const [k, v] of pairs) {
    const kind = decodeKey(k)!.kind;
    if (kind !== 'entry' && kind !== 'entry-batch') saved.set(hex(k), v);
  }
  const probe = await LogDB.open(cfg, { readOnly: true, lock });
  let current: Map<string, Uint8Array>;
  try {
    current = await currentRecords(probe.partition(probe.partitionOf(s)), s, r);
  } finally {
    await probe.close();
  }
  checkNotMovedOn(backup, saved, current);
  const fromSnapshotIndex = [...current.keys()]
    .map((k) => decodeKey(Buffer.from(k, 'hex'))!)
    .filter((d) => d.kind === 'snapshot')
    // biome-ignore lint/complexity/useMathMinMax: bigints; Math.max takes numbers only
    .reduce((m, d) => (d.suffix! > m ? d.suffix! : m), 0n);
  step('verified');

  // 1. The saved directories that differ from what is there, copied in under temporary names.
  const root = snapshotRootDir(cfg, s, r);
  await removeOwnTemps(root);
  const staged: string[] = [];
  const createdDirs: string[] = [];
  // Swaps made so far (target renamed aside, or nothing there): undone if the run fails before its commit.
  const placed: { name: string; aside: string | undefined }[] = [];
  const rollback = async (): Promise<void> => {
    for (const { name, aside } of placed.reverse()) {
      await removeTreeDurable(join(root, name)).catch(() => undefined);
      if (aside) await renameDurable(aside, join(root, name)).catch(() => undefined);
    }
    await removeOwnTemps(root).catch(() => undefined);
    await removeCreatedDirs(createdDirs);
  };
  try {
    for (const name of backup.snapshotDirs) {
      throwIfAborted(opts.signal, 'restore (staging snapshot directories)');
      const target = join(root, name);
      const st = await lstatOrUndefined(target);
      if (st?.isDirectory() && (await matchesSaved(backup, name, target))) continue;
      if (staged.length === 0) createdDirs.push(...(await mkdirDurable(root)));
      await copySaved(backup, name, join(root, `.${name}.restoring`));
      staged.push(name);
    }
    await fsyncDirIfExists(root);
    step('staged');

    // 2. Each into place: what is there now is renamed aside first, never removed before its replacement is in.
    for (const name of staged) {
      const target = join(root, name);
      let aside: string | undefined;
      if (await lstatOrUndefined(target)) {
        aside = join(root, `.${name}.aside`);
        await renameDurable(target, aside);
      }
      placed.push({ name, aside });
      await renameDurable(join(root, `.${name}.restoring`), target);
    }
    step('placed');
    throwIfAborted(opts.signal, 'restore (before commit)');
  } catch (err) {
    // A failure before the commit (a full disk, an abort) puts every directory back as it was.
    await rollback();
    throw err;
  }

  // 3. ONE atomic batch: every current key of the replica out, the saved pairs (entries included) in.
  const db = await LogDB.open(cfg, { lock });
  try {
    const part = db.partition(db.partitionOf(s));
    const ops: KvOp[] = [];
    for (const key of recordKeys(s, r)) if ((await part.get(key)) !== undefined) ops.push({ type: 'del', key });
    for (const range of [snapshotsRange(s, r), allEntriesRange(s, r), allEntryBatchesRange(s, r)]) {
      for await (const [key] of part.iterate(range)) ops.push({ type: 'del', key });
    }
    for (const [key, value] of pairs) ops.push({ type: 'put', key, value });
    await part.write(ops);
  } finally {
    await db.close();
  }
  step('committed');

  // 4. After the commit: what the records no longer name goes.
  const keep = new Set(backup.snapshotDirs);
  const removed: string[] = [];
  for (const d of await listSnapshotDirs(root)) {
    if (d.kind !== 'other' && !keep.has(d.name)) {
      await removeTreeDurable(d.path);
      removed.push(d.path);
    }
  }
  await removeOwnTemps(root);
  step('cleaned');
  return {
    backup,
    fromSnapshotIndex,
    toSnapshotIndex: backup.snapshotIndex,
    removedSnapshotDirs: removed,
    restoredSnapshotDirs: staged.map((n) => join(root, n)),
  };
}

/** Removes what an interrupted restore left under its own temporary names. */
async function removeOwnTemps(root: string): Promise<void> {
  let names: string[] = [];
  try {
    names = await readdir(root);
  } catch (err) {
    if (!isNotFound(err)) throw ioError(err, 'cannot list', root);
  }
  for (const n of names) if (OWN_TEMP.test(n)) await removeTreeDurable(join(root, n));
}

async function fsyncDirIfExists(dir: string): Promise<void> {
  if (await statOrUndefined(dir)) await fsyncDir(dir);
}
