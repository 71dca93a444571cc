/**
 * Holding a NodeHost's directory locks while an operation rewrites its data
 * directory. A Dragonboat NodeHost takes a whole-file POSIX (fcntl) write
 * lock on NodeHostDir/LOCK and WALDir/LOCK when it starts and refuses to
 * start when it cannot; holding the same locks here makes a NodeHost started
 * mid-import fail to start instead of running on a tree being rewritten.
 *
 * fcntl locks belong to the process, and closing any descriptor of a locked
 * file drops the process's lock. So each LOCK file is locked at most once per
 * process and shared by reference count between the operations that need it
 * (several imports of one host run concurrently in `importMany`). The count
 * and the hold's bookkeeping live in the process-wide registry of held locks
 * (nodehost/lock.ts), which every probe consults: a held file is never
 * opened by a lock check.
 *
 * LOCK files are created where missing, as a NodeHost's first start would,
 * with or without the addon, so that the resulting tree does not depend on
 * whether the addon is built. A LOCK file (and any directory) created for a
 * hold is removed again when every hold of it ended in failure: a refused
 * import leaves the data directory exactly as it was.
 *
 * Without the native addon Node.js cannot take fcntl locks: the hold is then
 * `held: false`, with the reason, and only the checks made beforehand guard
 * the directory.
 */
import * as fsp from 'node:fs/promises';
import * as path from 'node:path';
import type { FileLock } from '../nodehost/native-lock.js';
import { ioError } from '../errors.js';
import { fsyncDir, mkdirDurable, removeCreatedDirs } from '../files/durable.js';
import { statOrUndefined } from '../files/fsutil.js';
import type { ResolvedNodeHostConfig } from '../nodehost/config.js';
import { lockAttachment, lockRefs, registerOwnLock, setLockAttachment, unregisterOwnLock, type LockOwner } from '../nodehost/lock.js';
import { dataDirs, lockFilePath } from '../nodehost/paths.js';
import { nativeAcquireLock, nativeUnavailableReason } from '../nodehost/native-lock.js';

/** How a hold ends: a success keeps the LOCK files it created, a failure removes them. */
export interface ReleaseOptions {
  /** The operation failed: remove what was created for the hold (once no other hold needs it). */
  failed?: boolean;
}

/** This process's hold on a NodeHost's LOCK files; see {@link holdNodeHostLocks}. */
export interface NodeHostLocks {
  /** Every LOCK file of the host (NodeHostDir, WALDir) is locked by this process now. */
  readonly held: boolean;
  /** Why {@link held} is false: no addon, or LOCK files not taken yet (`create: false`); undefined when held. */
  readonly notHeldReason: string | undefined;
  /** The LOCK files this hold covers (locked, or, without the addon, only present). */
  readonly files: readonly string[];
  /**
   * Takes the LOCK files not covered yet, creating them (and their
   * directories) where missing. Throws `ErrDirLocked` when another process
   * holds one; what this call created for it is removed again then.
   */
  acquireMissing(): Promise<void>;
  /** Ends the hold (idempotent, never throws); the last hold of a file unlocks it. */
  release(options?: ReleaseOptions): Promise<void>;
}

/** Options of {@link holdNodeHostLocks}. */
export interface HoldOptions {
  /**
   * Create missing LOCK files and their directories (default true). With
   * false only existing LOCK files are locked and nothing is written;
   * {@link NodeHostLocks.acquireMissing} takes the rest later.
   */
  create?: boolean;
}

/** One LOCK file as this process holds it, shared by every hold of it. */
interface Entry {
  file: string;
  /** The fcntl lock; null without the addon. */
  lock: FileLock | null;
  /** The file did not exist before this entry. */
  created: boolean;
  /** Directories created for the file, outermost first. */
  createdDirs: string[];
  /** Some hold of it succeeded: what was created stays. */
  keep: boolean;
}

/** Key of this module's bookkeeping in the registry. */
const ATTACHMENT = 'dir-locks';

function ownerOf(e: Entry): LockOwner {
  return e.lock ? 'nodehost' : 'nodehost-unlocked';
}

function entryOf(file: string): Entry | undefined {
  return lockAttachment<Entry>(file, ATTACHMENT);
}

// Acquisitions and releases run one at a time: two holds must never both
// find a file unlocked and lock it twice (the second fcntl would succeed).
let queue: Promise<unknown> = Promise.resolve();
function serialized<T>(run: () => Promise<T>): Promise<T> {
  const next = queue.then(run, run);
  queue = next.catch(() => undefined);
  return next;
}

async function removeFile(file: string): Promise<void> {
  try {
    await fsp.unlink(file);
    await fsyncDir(path.dirname(file));
  } catch {
    // already gone, or the directory too
  }
}

/** Creates `file` if missing, without locking it (no addon); true when this call created it. */
async function touch(file: string): Promise<boolean> {
  try {
    const fh = await fsp.open(file, 'wx', 0o644);
    await fh.close();
    return true;
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'EEXIST') return false;
    throw ioError(err, 'cannot create lock file', file);
  }
}

/** A new entry for `file`; undefined when it is missing and `create` is false. */
async function openEntry(file: string, create: boolean): Promise<Entry | undefined> {
  const acquire = nativeAcquireLock();
  if (!create && !(await statOrUndefined(file))) return undefined;
  const createdDirs = create ? await mkdirDurable(path.dirname(file)) : [];
  try {
    if (!acquire) return { file, lock: null, created: create && (await touch(file)), createdDirs, keep: false };
    const lock = acquire(file);
    if (lock.created && !create) {
      // Removed between the check and the lock: this mode writes nothing.
      await removeFile(file);
      lock.release();
      return undefined;
    }
    return { file, lock, created: lock.created, createdDirs, keep: false };
  } catch (err) {
    await removeCreatedDirs(createdDirs);
    throw err;
  }
}

async function closeEntry(e: Entry): Promise<void> {
  const remove = e.created && !e.keep;
  // Unlinked while still locked, so nobody locks the old file meanwhile.
  if (remove) await removeFile(e.file);
  if (e.lock) e.lock.release();
  if (!e.keep) await removeCreatedDirs(e.createdDirs);
}

class Hold implements NodeHostLocks {
  private readonly mine: Entry[] = [];
  private released = false;

  constructor(private readonly cfg: ResolvedNodeHostConfig) {}

  get files(): string[] {
    return this.mine.map((e) => e.file);
  }

  get held(): boolean {
    return this.notHeldReason === undefined;
  }

  get notHeldReason(): string | undefined {
    const reason = nativeUnavailableReason();
    if (reason !== undefined) return `Node.js cannot take fcntl locks without the native addon (${reason})`;
    const missing = this.wanted().filter((f) => !this.mine.some((e) => e.file === f && e.lock));
    return missing.length === 0 ? undefined : `not locked yet: ${missing.join(', ')}`;
  }

  private wanted(): string[] {
    return dataDirs(this.cfg).map((d) => path.resolve(lockFilePath(d)));
  }

  take(create: boolean): Promise<void> {
    return serialized(async () => {
      if (this.released) return;
      const taken: Entry[] = [];
      try {
        for (const file of this.wanted()) {
          if (this.mine.some((e) => e.file === file)) continue;
          let e = entryOf(file);
          if (!e) {
            e = await openEntry(file, create);
            if (!e) continue;
            registerOwnLock(file, ownerOf(e));
            setLockAttachment(file, ATTACHMENT, e);
          } else {
            registerOwnLock(file, ownerOf(e));
          }
          taken.push(e);
        }
      } catch (err) {
        // All or nothing: a half-taken set would leave a LOCK file created for nothing.
        for (const e of taken.reverse()) await this.drop(e, true);
        throw err;
      }
      this.mine.push(...taken);
    });
  }

  acquireMissing(): Promise<void> {
    return this.take(true);
  }

  private async drop(e: Entry, failed: boolean): Promise<void> {
    if (!failed) e.keep = true;
    if (lockRefs(e.file, ownerOf(e)) > 1) {
      unregisterOwnLock(e.file, ownerOf(e));
      return;
    }
    // The last hold: unlocked (and what was created for nothing removed) while still registered,
    // so no probe in this process opens the file before the lock is gone.
    setLockAttachment(e.file, ATTACHMENT, undefined);
    try {
      await closeEntry(e);
    } finally {
      unregisterOwnLock(e.file, ownerOf(e));
    }
  }

  release(options: ReleaseOptions = {}): Promise<void> {
    return serialized(async () => {
      if (this.released) return;
      this.released = true;
      // Last taken first: a directory created for a later file may sit inside an earlier one's.
      for (const e of this.mine.splice(0).reverse()) {
        try {
          await this.drop(e, options.failed === true);
        } catch {
          // Never mask the operation's own outcome; unlocking itself cannot fail.
        }
      }
    });
  }
}

/**
 * Locks NodeHostDir/LOCK and WALDir/LOCK for this process, the way a
 * NodeHost does (whole-file fcntl write locks), creating missing LOCK files
 * and their directories unless `create: false`. Throws `ErrDirLocked` when
 * another process (a running NodeHost) holds one, having undone what it
 * created. Without the addon nothing is locked: the result says so
 * (`held: false`). Release it in a `finally`, with `{ failed: true }` on
 * failure paths.
 */
export async function holdNodeHostLocks(cfg: ResolvedNodeHostConfig, options: HoldOptions = {}): Promise<NodeHostLocks> {
  const hold = new Hold(cfg);
  await hold.take(options.create ?? true);
  return hold;
}
