/**
 * One log store partition: a LevelDB database at `H/D/logdb-<p>`, opened
 * through classic-level with raw byte keys and values.
 *
 * Two LevelDB behaviours shape this module:
 * - Opening a database, even with createIfMissing false, creates its directory,
 *   LOCK and LOG files, and opening an existing one rewrites LOG, MANIFEST and
 *   the write-ahead log. So a missing database is detected before LevelDB sees
 *   it (no CURRENT file → empty, nothing opened), and read-only inspection opens
 *   a private clone (hard links to the immutable table files, copies of the
 *   rest) so that the original stays byte-for-byte unchanged.
 * - LevelDB 1.20 answers a second open of the same database in one process by
 *   opening and closing its LOCK file, which drops the first opener's POSIX
 *   lock. The process-wide registry of held locks (nodehost/lock.ts) refuses
 *   that second open before LevelDB runs; a partition open for writing is
 *   registered there before LevelDB takes its lock, so no probe (which would
 *   open and close the LOCK file) ever runs on it.
 */
import { mkdirSync } from 'node:fs';
import * as fsp from 'node:fs/promises';
import * as os from 'node:os';
import * as path from 'node:path';
import { ClassicLevel } from 'classic-level';
import { ErrDirLocked, ErrLogDB, NodeHostToolsError, ioError, throwIfAborted } from '../errors.js';
import { mkdirDurable, processAlive } from '../files/durable.js';
import { addLiveClone, deleteLiveClone, removeLiveClonesSync } from '../files/live-clones.js';
import { isNotFound, statOrUndefined } from '../files/fsutil.js';
import { checkNotLocked, isOwnLock, registerOwnLock, unregisterOwnLock, type LockCheckOptions } from '../nodehost/lock.js';
import { LOCK_FILENAME } from '../nodehost/paths.js';
import { exclusiveEnd, type KeyRange } from './keys.js';
import { NativeLevelBatch, nativeBatchAvailable } from './native-batch.js';
import { nativeRemovalAvailable, removeKeyRanges } from './native-bulk.js';
import { checkLevelDBPartitionFiles } from './store-kind.js';
import type { IterateOptions, KvOp, PartitionStore, PutMany } from './store.js';

type Level = ClassicLevel<Uint8Array, Uint8Array>;

/** A write of a batch: put or delete. */
export type BatchOp = { type: 'put'; key: Uint8Array; value: Uint8Array } | { type: 'del'; key: Uint8Array };

/** Where {@link LogDBPartition.write} puts a batch's operations: classic-level's batch or the addon's. */
interface BatchSink {
  put(key: Uint8Array, value: Uint8Array): void;
  del(key: Uint8Array): void;
  putMany(op: PutMany): Promise<void>;
}

/** Options of a partition. */
export interface PartitionOptions {
  /**
   * Inspect without changing a byte of the original: the database is opened
   * from a private clone under `scratchDir`, and writes are refused.
   */
  readOnly?: boolean;
  /**
   * Where read-only clones go. Default: `$NODEHOST_TOOLS_SCRATCH_DIR`, else
   * on the data directory's own file system (beside `nodeHostDir`, else in
   * it), so table files are hard-linked rather than copied; os.tmpdir() only
   * when neither is writable on that file system.
   */
  scratchDir?: string;
  /** The NodeHost directory the partition belongs to (where default scratch space is looked for). */
  nodeHostDir?: string;
  /** Options of the LOCK check run before LevelDB opens the database. */
  lock?: LockCheckOptions;
}

// classic-level's 'view' encoding hands out Buffers; the API promises plain Uint8Arrays (zero-copy views).
function plain(b: Uint8Array): Uint8Array {
  return Object.getPrototypeOf(b) === Uint8Array.prototype ? b : new Uint8Array(b.buffer, b.byteOffset, b.byteLength);
}

/** True when `dir` holds a LevelDB database (its CURRENT file exists). */
export async function databaseExists(dir: string): Promise<boolean> {
  return (await statOrUndefined(path.join(dir, 'CURRENT')))?.isFile() ?? false;
}

function levelError(err: unknown, dir: string, what: string): NodeHostToolsError {
  if (err instanceof NodeHostToolsError) return err;
  const e = err as { code?: string; message?: string; cause?: { code?: string; message?: string } };
  const code = e.cause?.code ?? e.code;
  const msg = e.cause?.message ?? e.message ?? String(err);
  if (code === 'LEVEL_LOCKED') {
    return new ErrDirLocked(
      `log store partition ${dir} is locked (${msg}): stop the NodeHost (or whatever has it open) first, then retry`,
      { path: path.join(dir, LOCK_FILENAME), check: 'lock' },
      { cause: err },
    );
  }
  return new ErrLogDB(
    `log store partition ${dir}: ${what} failed: ${msg}`,
    {
      path: dir,
      check: code === 'LEVEL_CORRUPTION' ? 'corruption' : what,
      levelCode: code,
    },
    { cause: err },
  );
}

const TABLE_FILE = /\.(ldb|sst)$/;

/** Environment variable naming where read-only clones go (overrides the default location). */
export const SCRATCH_DIR_ENV = 'NODEHOST_TOOLS_SCRATCH_DIR';
/**
 * Clones are named `nodehost-tools-ro-<pid>-<random>`: recognisable, and
 * removable by a later run once process <pid> is gone (a run killed before
 * it could remove its clone).
 */
export const CLONE_PREFIX = 'nodehost-tools-ro-';
const CLONE_NAME = /^nodehost-tools-ro-(\d+)-/;

/** Scratch directories already swept of dead processes' clones in this process. */
const swept = new Set<string>();

export { removeLiveClonesSync };

/** Removes the clones in `scratchDir` of processes that are gone (interrupted runs); once per directory and process. */
export async function removeDeadClones(scratchDir: string): Promise<string[]> {
  if (swept.has(scratchDir)) return [];
  swept.add(scratchDir);
  let names: string[];
  try {
    names = await fsp.readdir(scratchDir);
  } catch {
    return [];
  }
  const removed: string[] = [];
  for (const name of names) {
    const pid = Number(CLONE_NAME.exec(name)?.[1]);
    if (!Number.isInteger(pid) || pid <= 0 || pid === process.pid || processAlive(pid)) continue;
    await fsp.rm(path.join(scratchDir, name), { recursive: true, force: true }).catch(() => undefined);
    removed.push(name);
  }
  return removed;
}

/**
 * Where a clone of the partition at `src` goes, in order: the configured
 * directory; `$NODEHOST_TOOLS_SCRATCH_DIR`; beside nodeHostDir, then in it,
 * each only when on the partition's own file system (hard links, no copy of
 * the tables, no other disk filled); os.tmpdir() last.
 */
function scratchCandidates(src: string, opts: PartitionOptions): { dir: string; sameDevice: boolean }[] {
  if (opts.scratchDir !== undefined) return [{ dir: opts.scratchDir, sameDevice: false }];
  const env = process.env[SCRATCH_DIR_ENV];
  if (env) return [{ dir: env, sameDevice: false }];
  // H/D/logdb-<p> sits at <nodeHostDir>/<hostname>/<deployment>/logdb-<p>.
  const nodeHostDir = opts.nodeHostDir ?? path.dirname(path.dirname(path.dirname(src)));
  return [
    { dir: path.dirname(path.resolve(nodeHostDir)), sameDevice: true },
    { dir: path.resolve(nodeHostDir), sameDevice: true },
    { dir: os.tmpdir(), sameDevice: false },
  ];
}

const NAME_CHARS = 'ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789';

/**
 * Creates `<parent>/nodehost-tools-ro-<pid>-<random>`, registered for the
 * signal handler's removal before it exists. The handler may run between any
 * two callbacks; with an asynchronous mkdtemp there is a moment when the
 * directory exists and nobody knows its name, and an interrupted inspect left
 * it behind. A synchronous mkdir of a name chosen here has no such moment.
 */
function createRegistered(parent: string): string {
  for (;;) {
    let suffix = '';
    for (let i = 0; i < 6; i++) suffix += NAME_CHARS[Math.floor(Math.random() * NAME_CHARS.length)];
    const dir = path.join(parent, `${CLONE_PREFIX}${process.pid}-${suffix}`);
    addLiveClone(dir);
    try {
      mkdirSync(dir, { mode: 0o700 });
      return dir;
    } catch (err) {
      deleteLiveClone(dir);
      if ((err as NodeJS.ErrnoException).code !== 'EEXIST') throw err;
    }
  }
}

async function makeCloneDir(src: string, opts: PartitionOptions): Promise<string> {
  const dev = (await statOrUndefined(src))?.dev;
  const candidates = scratchCandidates(src, opts);
  let lastErr: unknown;
  for (const [i, c] of candidates.entries()) {
    if (c.sameDevice && (dev === undefined || (await statOrUndefined(c.dir).catch(() => undefined))?.dev !== dev)) continue;
    await removeDeadClones(c.dir);
    try {
      return createRegistered(c.dir);
    } catch (err) {
      lastErr = err;
      if (i === candidates.length - 1 || !c.sameDevice) throw ioError(err, 'cannot create a scratch directory in', c.dir);
    }
  }
  throw ioError(lastErr ?? new Error('no scratch location'), 'cannot create a scratch directory for', src);
}

async function cloneDatabase(src: string, opts: PartitionOptions): Promise<string> {
  const clone = await makeCloneDir(src, opts);
  try {
    for (const name of await fsp.readdir(src)) {
      // LevelDB recreates LOCK and LOG; copying them would only waste time.
      if (name === LOCK_FILENAME || name === 'LOG' || name === 'LOG.old') continue;
      const from = path.join(src, name);
      const to = path.join(clone, name);
      const st = await fsp.lstat(from);
      if (!st.isFile()) continue;
      if (TABLE_FILE.test(name)) {
        // Table files are immutable once written: a hard link is a faithful, free copy.
        try {
          await fsp.link(from, to);
          continue;
        } catch {
          // Another file system or no permission: fall back to a copy.
        }
      }
      await fsp.copyFile(from, to);
    }
  } catch (err) {
    await fsp.rm(clone, { recursive: true, force: true }).catch(() => undefined);
    deleteLiveClone(clone);
    throw ioError(err, 'cannot clone log store partition for read-only inspection', src);
  }
  return clone;
}

function hex(b: Uint8Array): string {
  return Buffer.from(b.buffer, b.byteOffset, b.byteLength).toString('hex');
}

function inRange(key: Uint8Array, start: Uint8Array, end: Uint8Array): boolean {
  return Buffer.compare(key, start) >= 0 && Buffer.compare(key, end) < 0;
}

/** One LevelDB partition, opened lazily; a missing database reads as empty. */
export class LogDBPartition implements PartitionStore {
  readonly kind = 'leveldb' as const;
  /** The partition directory (`H/D/logdb-<p>`). */
  readonly dir: string;
  readonly readOnly: boolean;
  private readonly opts: PartitionOptions;
  private db: Level | undefined;
  private cloneDir: string | undefined;
  private registered = false;
  private closed = false;
  /** The addon's LevelDB working on the directory: nothing reopens the classic-level handle until it ends. */
  private nativeWork: Promise<void> | undefined;

  constructor(dir: string, opts: PartitionOptions = {}) {
    this.dir = path.resolve(dir);
    this.opts = opts;
    this.readOnly = opts.readOnly ?? false;
  }

  /** The open classic-level handle, if the database has been opened (for bulk implementations). */
  get level(): Level | undefined {
    return this.db;
  }

  /** True when the partition holds a LevelDB database (its CURRENT file exists). */
  async exists(): Promise<boolean> {
    if (this.db) return true;
    this.assertUsable();
    await checkLevelDBPartitionFiles(this.dir);
    return databaseExists(this.dir);
  }

  /** Opens the database if it exists on disk. Returns false (and opens nothing) when it does not. */
  async openExisting(): Promise<boolean> {
    if (this.db) return true;
    this.assertUsable();
    // A directory another engine wrote is refused even where LevelDB would see "no database" and read nothing.
    await checkLevelDBPartitionFiles(this.dir);
    if (!(await databaseExists(this.dir))) return false;
    await this.openLevel(false);
    return true;
  }

  /** Opens the database, creating it when missing. Refused in read-only mode. */
  async openForWrite(): Promise<Level> {
    this.assertWritable();
    if (!this.db) await this.openLevel(true);
    return this.db!;
  }

  private assertUsable(): void {
    if (this.closed) throw new ErrLogDB(`log store partition ${this.dir} is closed`, { path: this.dir, check: 'closed' });
  }

  private assertWritable(): void {
    this.assertUsable();
    if (this.readOnly) {
      throw new ErrLogDB(`log store partition ${this.dir} was opened read-only`, { path: this.dir, check: 'read-only' });
    }
  }

  private async openLevel(create: boolean): Promise<void> {
    await this.nativeWorkDone();
    if (this.db) return;
    // Never let LevelDB open what another engine wrote: it would "recover" a Pebble WAL by deleting it.
    await checkLevelDBPartitionFiles(this.dir);
    const claimedHere = await this.claim();
    try {
      await this.openRegistered(create);
    } catch (err) {
      if (claimedHere) this.unclaim();
      throw err;
    }
  }

  /**
   * Refuses a partition another process (or another LogDB of this one) holds,
   * before LevelDB touches anything (its own lock failure comes after it
   * rotated LOG), then registers this process's lock on it, unless this
   * partition already did. A read-only partition only checks. True when it
   * registered the lock now.
   */
  private async claim(): Promise<boolean> {
    if (this.registered) return false;
    const lockFile = path.join(this.dir, LOCK_FILENAME);
    const heldHere = (): ErrDirLocked =>
      new ErrDirLocked(`log store partition ${this.dir} is already open in this process: close the other LogDB first`, {
        path: lockFile,
        check: 'lock',
        pid: process.pid,
      });
    if (!this.readOnly && isOwnLock(lockFile, 'leveldb')) throw heldHere();
    await checkNotLocked(lockFile, { ...this.opts.lock, refuseOwnProcess: !this.readOnly });
    if (this.readOnly) return false;
    // Registered before LevelDB takes the lock (no await in between with the check above
    // having passed): from here every probe in this process answers "held by us" without opening it.
    if (isOwnLock(lockFile, 'leveldb')) throw heldHere();
    registerOwnLock(lockFile, 'leveldb');
    this.registered = true;
    return true;
  }

  private unclaim(): void {
    if (!this.registered) return;
    unregisterOwnLock(path.join(this.dir, LOCK_FILENAME), 'leveldb');
    this.registered = false;
  }

  private async openRegistered(create: boolean): Promise<void> {
    let location = this.dir;
    if (this.readOnly) {
      this.cloneDir = await cloneDatabase(this.dir, this.opts);
      location = this.cloneDir;
    } else if (create) {
      // A new logdb-<p> must survive a power cut with the batch committed into it: its parent is fsynced.
      await mkdirDurable(this.dir).catch((err: unknown) => {
        throw ioError(err, 'cannot create log store partition directory', this.dir);
      });
    }
    const db: Level = new ClassicLevel<Uint8Array, Uint8Array>(location, { keyEncoding: 'view', valueEncoding: 'view' });
    try {
      await db.open({ createIfMissing: create && !this.readOnly, errorIfExists: false });
    } catch (err) {
      await this.dropClone();
      throw levelError(err, this.dir, 'open');
    }
    this.db = db;
  }

  /** Reads one key; undefined when missing or when the database does not exist. */
  async get(key: Uint8Array): Promise<Uint8Array | undefined> {
    if (!(await this.openExisting())) return undefined;
    try {
      const v = await this.db!.get(key);
      return v === undefined ? undefined : plain(v);
    } catch (err) {
      throw levelError(err, this.dir, 'get');
    }
  }

  /** Iterates `[key, value]` pairs of `range` in key order (or reverse); nothing when the database does not exist. */
  async *iterate(range: KeyRange, opts: IterateOptions = {}): AsyncGenerator<[Uint8Array, Uint8Array]> {
    if (!(await this.openExisting())) return;
    const it = this.db!.iterator({ ...range, reverse: opts.reverse ?? false, limit: opts.limit ?? -1 });
    try {
      for (;;) {
        let item: [Uint8Array, Uint8Array] | undefined;
        try {
          item = await it.next();
        } catch (err) {
          throw levelError(err, this.dir, 'iterate');
        }
        if (item === undefined) break;
        yield [plain(item[0]), plain(item[1])];
      }
    } finally {
      await it.close().catch(() => undefined);
    }
  }

  /** Iterates the keys of `range` in key order; nothing when the database does not exist. */
  async *keys(range: KeyRange, opts: { reverse?: boolean; limit?: number } = {}): AsyncGenerator<Uint8Array> {
    if (!(await this.openExisting())) return;
    const it = this.db!.keys({ ...range, reverse: opts.reverse ?? false, limit: opts.limit ?? -1 });
    try {
      for (;;) {
        let key: Uint8Array | undefined;
        try {
          key = await it.next();
        } catch (err) {
          throw levelError(err, this.dir, 'iterate');
        }
        if (key === undefined) break;
        yield plain(key);
      }
    } finally {
      await it.close().catch(() => undefined);
    }
  }

  /** The first (or with `reverse`, last) pair of `range`. */
  async first(range: KeyRange, reverse = false): Promise<[Uint8Array, Uint8Array] | undefined> {
    for await (const kv of this.iterate(range, { reverse, limit: 1 })) return kv;
    return undefined;
  }

  /** True when `range` holds at least one key. */
  async any(range: KeyRange): Promise<boolean> {
    for await (const _ of this.keys(range, { limit: 1 })) return true;
    return false;
  }

  /** Counts the keys of `range`. */
  async count(range: KeyRange): Promise<number> {
    let n = 0;
    for await (const _ of this.keys(range)) n++;
    return n;
  }

  /**
   * Applies `ops` as ONE atomic, synced LevelDB write batch (creating the
   * database if needed). LevelDB has no range deletion: a `delRange` becomes
   * point deletes of the keys it covers, those stored and those put earlier in
   * the same batch, so later operations win exactly as in Pebble.
   *
   * A `putMany` that offers its puts encoded, with the addon there, makes the
   * addon build the batch (the encoded puts appended as they are, no
   * JavaScript per pair) and write it with its own LevelDB while the
   * classic-level handle is closed (see {@link runNative}); otherwise
   * classic-level's batch takes every pair.
   */
  async write(ops: readonly KvOp[]): Promise<void> {
    if (ops.length === 0) return;
    const db = await this.openForWrite();
    if (nativeBatchAvailable() && ops.some((op) => op.type === 'putMany' && op.encoded)) {
      await this.writeNative(ops);
      return;
    }
    // Pairs produced on demand (putMany) go straight into LevelDB's own batch, which copies them as they come.
    const chain = db.batch();
    try {
      await this.fill(ops, {
        put: (key, value) => chain.put(key, value),
        del: (key) => chain.del(key),
        putMany: async (op) => {
          for await (const piece of op.pairs()) for (const [key, value] of piece) chain.put(key, value);
        },
      });
      await chain.write({ sync: true });
    } catch (err) {
      await chain.close().catch(() => undefined);
      throw levelError(err, this.dir, 'write');
    }
  }

  /**
   * The addon's batch: filled while the classic-level handle is still open
   * (a `delRange` reads the keys it covers through it), then written with
   * the handle closed. Holds the batch's bytes once, in the addon; nothing
   * per entry in JavaScript.
   */
  private async writeNative(ops: readonly KvOp[]): Promise<void> {
    const batch = new NativeLevelBatch(this.dir);
    try {
      await this.fill(ops, {
        put: (key, value) => batch.put(key, value),
        del: (key) => batch.del(key),
        putMany: async (op) => {
          if (!op.encoded) {
            for await (const piece of op.pairs()) for (const [key, value] of piece) batch.put(key, value);
            return;
          }
          let count = 0;
          for await (const piece of op.encoded()) {
            batch.appendEncoded(piece.bytes, piece.count);
            count += piece.count;
          }
          if (count !== op.count) {
            throw new ErrLogDB(`log store partition ${this.dir}: a putMany announced ${op.count} puts and encoded ${count}`, {
              path: this.dir,
              check: 'batch-count',
              expected: op.count,
              actual: count,
            });
          }
        },
      }).catch((err: unknown) => {
        throw levelError(err, this.dir, 'write');
      });
      await this.runNative(() => batch.write());
    } finally {
      // A no-op once the write has it; otherwise its bytes (maybe the whole suffix) go now, not at some GC.
      batch.discard();
    }
  }

  /** Feeds `ops` to a batch in order, `delRange` expanded into point deletes. */
  private async fill(ops: readonly KvOp[], sink: BatchSink): Promise<void> {
    const putSoFar = new Map<string, Uint8Array>();
    let many = false;
    for (const op of ops) {
      switch (op.type) {
        case 'delRange':
          if (many) {
            // A putMany's pairs are not kept to be matched against a later range: no caller writes this order.
            throw new ErrLogDB('a range deletion after a putMany in one LevelDB batch is not supported', {
              path: this.dir,
              check: 'batch-order',
            });
          }
          for await (const key of this.keys({ gte: op.start, lt: op.end })) sink.del(key);
          for (const key of putSoFar.values()) if (inRange(key, op.start, op.end)) sink.del(key);
          break;
        case 'putMany':
          many = true;
          await sink.putMany(op);
          break;
        case 'put':
          putSoFar.set(hex(op.key), op.key);
          sink.put(op.key, op.value);
          break;
        default:
          sink.del(op.key);
      }
    }
  }

  /**
   * Removes every key of `ranges` for good: deletes, then compaction of each
   * range. With the addon, its own LevelDB does both directly on the
   * directory; without it, classic-level does (the same keys go, see
   * {@link removeRangesPortable}). No-op when the database does not exist.
   */
  async removeRanges(ranges: readonly KeyRange[], signal?: AbortSignal): Promise<void> {
    this.assertWritable();
    throwIfAborted(signal, 'log store key range removal');
    if (ranges.length === 0 || !(await this.exists())) return;
    if (!nativeRemovalAvailable()) {
      await this.removeRangesPortable(ranges, signal);
      return;
    }
    await this.runNative(async () => {
      await removeKeyRanges(this.dir, ranges, { signal });
    });
  }

  /**
   * Runs the addon's LevelDB on the directory. Two copies of LevelDB must
   * never hold one database at once (nothing between them would stop both
   * writing it): the classic-level handle is closed first, while this
   * partition's claim on the lock stays registered, so no other LogDB of
   * this process opens it and no probe opens (and, closing, drops) its LOCK
   * while the addon holds it. The next read or write reopens the handle.
   * Native work runs one at a time (no await between the loop's last check
   * and the assignment).
   */
  private async runNative(work: () => Promise<void>): Promise<void> {
    while (this.nativeWork) await this.nativeWork.catch(() => undefined);
    const run = (async () => {
      await this.claim();
      await this.closeLevel();
      await work();
    })();
    this.nativeWork = run;
    try {
      await run;
    } finally {
      if (this.nativeWork === run) this.nativeWork = undefined;
    }
  }

  private async nativeWorkDone(): Promise<void> {
    while (this.nativeWork) await this.nativeWork.catch(() => undefined);
  }

  /**
   * The portable removal, through classic-level. LevelDB flushes its memtable
   * at the start of a compactRange and may place that table below every level
   * the same call compacts; deletes flushed together with the records they
   * delete would then stay on disk with them. So each range is compacted once
   * before the clear (the records reach the table files) and once after (the
   * deletes meet them and both are dropped).
   */
  private async removeRangesPortable(ranges: readonly KeyRange[], signal?: AbortSignal): Promise<void> {
    for (const r of ranges) await this.compactRange(r.gte, exclusiveEnd(r));
    for (const r of ranges) {
      throwIfAborted(signal, 'log store key range removal');
      await this.clear(r);
    }
    for (const r of ranges) await this.compactRange(r.gte, exclusiveEnd(r));
  }

  /** Deletes every key of `range` (no-op when the database does not exist or the range is empty). */
  async clear(range: KeyRange): Promise<void> {
    this.assertWritable();
    // The synced delete below must not take the start key of a range that does not hold it.
    if (Buffer.compare(range.gte, exclusiveEnd(range)) >= 0) return;
    if (!(await this.openExisting())) return;
    try {
      await this.db!.clear({ ...range });
      // clear() is not synced by LevelDB; a synced empty batch would be dropped, so sync a delete of a key the range held.
      await this.db!.batch([{ type: 'del', key: range.gte }], { sync: true });
    } catch (err) {
      throw levelError(err, this.dir, 'clear');
    }
  }

  /** Compacts the key range [start, end] so deleted records leave the table files. */
  async compactRange(start: Uint8Array, end: Uint8Array): Promise<void> {
    this.assertWritable();
    if (!(await this.openExisting())) return;
    try {
      await this.db!.compactRange(start, end);
    } catch (err) {
      throw levelError(err, this.dir, 'compact');
    }
  }

  /** Closes the database (and removes a read-only clone). Safe to call twice. */
  async close(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    await this.nativeWorkDone();
    try {
      await this.closeLevel();
    } finally {
      this.unclaim();
      await this.dropClone();
    }
  }

  /** Closes the classic-level handle only; the partition stays usable and keeps its claim on the lock. */
  private async closeLevel(): Promise<void> {
    const db = this.db;
    this.db = undefined;
    try {
      if (db) await db.close();
    } catch (err) {
      throw levelError(err, this.dir, 'close');
    }
  }

  private async dropClone(): Promise<void> {
    if (this.cloneDir === undefined) return;
    const dir = this.cloneDir;
    this.cloneDir = undefined;
    await fsp.rm(dir, { recursive: true, force: true }).catch((err: unknown) => {
      if (!isNotFound(err)) throw ioError(err, 'cannot remove read-only clone', dir);
    });
    deleteLiveClone(dir);
  }
}
