/**
 * "Is a NodeHost running on this directory?" A running NodeHost holds a POSIX
 * record lock on NodeHostDir/LOCK (and WALDir/LOCK), and LevelDB holds one on
 * each open partition's LOCK. Node.js has no fcntl, so on Linux the kernel's
 * lock table (/proc/locks) is read instead; an injected probe (the native
 * addon's F_GETLK) is used as well when given.
 *
 * Reading /proc/locks never opens the LOCK file. That matters: opening and
 * closing any descriptor of a file drops every POSIX lock this process holds
 * on it, which would silently unlock a LevelDB database open in this process.
 */
import * as fs from 'node:fs';
import * as fsp from 'node:fs/promises';
import * as path from 'node:path';
import { ErrDirLocked, ioError } from '../errors.js';
import { isNotFound } from '../files/fsutil.js';
import type { ResolvedNodeHostConfig } from './config.js';
import { dataDirs, lockFilePath } from './paths.js';

/** One lock on the file, as far as it can be known. */
export interface LockHolder {
  /** Process holding the lock; undefined when unknown (OFD locks report no pid). */
  pid: number | undefined;
  /** Lock family: `POSIX` (fcntl), `FLOCK`, `OFDLCK`, or what the probe reported. */
  kind: string;
  /** `READ` or `WRITE` when known. */
  access?: string;
  /** The lock is held by this very process (e.g. a LogDB opened here). */
  ownProcess: boolean;
  /** Where the holder was found: the kernel's table, the injected probe, or this process's own registry. */
  source: 'proc-locks' | 'probe' | 'registry';
  /**
   * `dev+inode`: /proc/locks named this file's device and inode. `inode`: only
   * the inode matched (file systems such as btrfs report another device
   * number to stat than in /proc/locks) and it could not be confirmed through
   * /proc/<pid>/fd; counted as a holder to stay on the safe side.
   */
  matchedBy?: 'dev+inode' | 'inode' | 'fd';
}

/** Result of an injected lock probe: the holder, or null/undefined when the file is not locked. */
export interface ProbedLock {
  pid?: number;
  kind?: string;
  access?: string;
}

/** An injected probe, e.g. the native addon's fcntl(F_GETLK). */
export type LockHolderProbe = (file: string) => ProbedLock | null | undefined | Promise<ProbedLock | null | undefined>;

/** Options of the lock checks. */
export interface LockCheckOptions {
  /** Extra probe used in addition to /proc/locks. */
  lockHolder?: LockHolderProbe;
  /** Refuse also when only this process holds the lock (default false: own locks are reported, not refused). */
  refuseOwnProcess?: boolean;
  /** Path of the kernel lock table (tests only). */
  procLocksPath?: string;
  /** Root of procfs for /proc/<pid>/fd confirmation (tests only). */
  procRoot?: string;
}

/** What is known about the locks on a file. */
export interface LockStatus {
  path: string;
  /** The file exists (a missing LOCK file means not locked). */
  exists: boolean;
  /** Every lock found, own-process ones included. */
  holders: LockHolder[];
  /** Some other process (or an unknown one) holds a lock on the file. */
  lockedByOther: boolean;
  /** This process holds a lock on the file. */
  lockedBySelf: boolean;
  /** How the status was determined; empty when no method was available (not Linux, no probe). */
  methods: ('proc-locks' | 'probe')[];
}

/** Splits a Linux user-space dev_t (glibc encoding, as in stat.st_dev) into major and minor. */
export function splitDev(dev: bigint): { major: bigint; minor: bigint } {
  const major = ((dev >> 8n) & 0xfffn) | ((dev >> 32n) & 0xfffff000n);
  const minor = (dev & 0xffn) | ((dev >> 12n) & 0xffffff00n);
  return { major, minor };
}

/** A parsed line of /proc/locks. */
export interface ProcLockEntry {
  kind: string;
  access: string;
  pid: number | undefined;
  major: bigint;
  minor: bigint;
  inode: bigint;
}

/**
 * Parses /proc/locks. Lines of blocked waiters (`->`) and leases/delegations
 * are skipped: they hold nothing.
 * Format: `1: POSIX  ADVISORY  WRITE 12345 fd:01:1234567 0 EOF` (device in hex, inode decimal).
 */
export function parseProcLocks(text: string): ProcLockEntry[] {
  const out: ProcLockEntry[] = [];
  for (const line of text.split('\n')) {
    const tok = line.trim().split(/\s+/);
    if (tok.length < 6 || !/^\d+:$/.test(tok[0]!) || tok[1] === '->') continue;
    const kind = tok[1]!;
    if (kind === 'LEASE' || kind === 'DELEG') continue;
    const access = tok[3]!;
    const pidNum = Number(tok[4]);
    const m = /^([0-9a-fA-F]+):([0-9a-fA-F]+):(\d+)$/.exec(tok[5]!);
    if (!m) continue;
    out.push({
      kind,
      access,
      pid: Number.isInteger(pidNum) && pidNum > 0 ? pidNum : undefined,
      major: BigInt(`0x${m[1]}`),
      minor: BigInt(`0x${m[2]}`),
      inode: BigInt(m[3]!),
    });
  }
  return out;
}

async function pidHasFileOpen(procRoot: string, pid: number, dev: bigint, ino: bigint): Promise<boolean | undefined> {
  const fdDir = path.join(procRoot, String(pid), 'fd');
  let fds: string[];
  try {
    fds = await fsp.readdir(fdDir);
  } catch {
    return undefined;
  }
  for (const fd of fds) {
    try {
      const st = await fsp.stat(path.join(fdDir, fd), { bigint: true });
      if (st.dev === dev && st.ino === ino) return true;
    } catch {
      // Descriptors come and go while we look.
    }
  }
  return false;
}

// ---- The process-wide registry of held lock files --------------------------------------
//
// Every lock file this process holds (or is about to hold) is registered here,
// whoever holds it: NodeHostDir/LOCK and WALDir/LOCK held for an operation
// (src/ops/dir-locks.ts, reference-counted: several jobs of one run share one
// fcntl lock), and a LevelDB partition's LOCK while classic-level has it open
// for writing (src/logdb/leveldb-partition.ts, registered BEFORE LevelDB opens it, so
// no probe can run in between). Every probe consults it first (lockStatus,
// the native F_GETLK probe in src/nodehost/native-lock.ts): fcntl locks belong
// to the process and closing any descriptor of the file drops them, so a
// file held here is never opened by a probe.

/**
 * Who in this process holds a lock file: `nodehost` (an operation's fcntl
 * hold of NodeHostDir/LOCK or WALDir/LOCK), `leveldb` (a partition open for
 * writing), `nodehost-unlocked` (such a hold without the addon: tracked and
 * reference-counted, but no lock is held, so probes still look).
 */
export type LockOwner = 'nodehost' | 'leveldb' | 'nodehost-unlocked';
const LOCKING: readonly LockOwner[] = ['nodehost', 'leveldb'];

interface HeldLock {
  file: string;
  /** `dev:ino` once the file exists (paths can alias through links). */
  identity: string | undefined;
  refs: Map<LockOwner, number>;
  /** Per-holder bookkeeping (dir-locks keeps its fcntl handle here). */
  attachments: Map<string, unknown>;
}

const held = new Map<string, HeldLock>();

function identityOf(file: string): string | undefined {
  try {
    const st = fs.statSync(file, { bigint: true, throwIfNoEntry: false });
    return st ? `${st.dev}:${st.ino}` : undefined;
  } catch {
    return undefined;
  }
}

function findHeld(file: string): HeldLock | undefined {
  const abs = path.resolve(file);
  const direct = held.get(abs);
  if (direct) return direct;
  if (held.size === 0) return undefined;
  const id = identityOf(abs);
  if (id === undefined) return undefined;
  for (const h of held.values()) {
    h.identity ??= identityOf(h.file);
    if (h.identity === id) return h;
  }
  return undefined;
}

/** Records that this process holds (or is about to take) a lock on `file`; reference-counted per owner. */
export function registerOwnLock(file: string, owner: LockOwner = 'nodehost'): void {
  const abs = path.resolve(file);
  let h = held.get(abs);
  if (!h) {
    h = { file: abs, identity: identityOf(abs), refs: new Map(), attachments: new Map() };
    held.set(abs, h);
  }
  h.refs.set(owner, (h.refs.get(owner) ?? 0) + 1);
}

/** Undoes one {@link registerOwnLock}; the file leaves the registry with its last reference. */
export function unregisterOwnLock(file: string, owner: LockOwner = 'nodehost'): void {
  const abs = path.resolve(file);
  const h = held.get(abs);
  if (!h) return;
  const n = (h.refs.get(owner) ?? 0) - 1;
  if (n > 0) h.refs.set(owner, n);
  else h.refs.delete(owner);
  if (h.refs.size === 0) held.delete(abs);
}

/** True when this process holds a lock on `file` (by path, or the same file through another path). */
export function isOwnLock(file: string, owner?: LockOwner): boolean {
  const h = findHeld(file);
  if (h === undefined) return false;
  return owner === undefined ? LOCKING.some((o) => h.refs.has(o)) : h.refs.has(owner);
}

/** References `owner` has registered on `file` (0 when none). */
export function lockRefs(file: string, owner: LockOwner): number {
  return held.get(path.resolve(file))?.refs.get(owner) ?? 0;
}

/** Every lock file this process holds, as registered. */
export function heldLockFiles(): string[] {
  return [...held.values()].filter((h) => LOCKING.some((o) => h.refs.has(o))).map((h) => h.file);
}

/** Bookkeeping a holder keeps with a registered file (undefined when the file is not held). */
export function lockAttachment<T>(file: string, key: string): T | undefined {
  return held.get(path.resolve(file))?.attachments.get(key) as T | undefined;
}

/** Sets (or, with undefined, removes) a holder's bookkeeping on a registered file. */
export function setLockAttachment(file: string, key: string, value: unknown): void {
  const h = held.get(path.resolve(file));
  if (!h) return;
  if (value === undefined) h.attachments.delete(key);
  else h.attachments.set(key, value);
}

/**
 * `probe` guarded by the registry: a file this process holds is answered
 * with this process's pid without calling it (a probe that opens the file
 * would drop the lock when it closes its descriptor).
 */
export function guardProbe(probe: LockHolderProbe): LockHolderProbe {
  return (file) => (isOwnLock(file) ? { pid: process.pid, kind: 'POSIX', access: 'WRITE' } : probe(file));
}

/** Finds every lock held on `file`. A missing file has no locks. */
export async function lockStatus(file: string, opts: LockCheckOptions = {}): Promise<LockStatus> {
  const abs = path.resolve(file);
  let st: fs.BigIntStats;
  try {
    st = await fsp.stat(abs, { bigint: true });
  } catch (err) {
    if (isNotFound(err)) {
      return { path: abs, exists: false, holders: [], lockedByOther: false, lockedBySelf: false, methods: [] };
    }
    throw ioError(err, 'cannot stat lock file', abs);
  }
  const holders: LockHolder[] = [];
  const methods: LockStatus['methods'] = [];

  let table: string | undefined;
  try {
    table = await fsp.readFile(opts.procLocksPath ?? '/proc/locks', 'utf8');
  } catch {
    table = undefined;
  }
  if (table !== undefined) {
    methods.push('proc-locks');
    const { major, minor } = splitDev(st.dev);
    const procRoot = opts.procRoot ?? '/proc';
    for (const e of parseProcLocks(table)) {
      if (e.inode !== st.ino) continue;
      let matchedBy: LockHolder['matchedBy'];
      if (e.major === major && e.minor === minor) {
        matchedBy = 'dev+inode';
      } else {
        const open = e.pid === undefined ? undefined : await pidHasFileOpen(procRoot, e.pid, st.dev, st.ino);
        if (open === false) continue;
        matchedBy = open === true ? 'fd' : 'inode';
      }
      holders.push({
        pid: e.pid,
        kind: e.kind,
        access: e.access,
        ownProcess: e.pid === process.pid,
        source: 'proc-locks',
        matchedBy,
      });
    }
  }
  const own = isOwnLock(abs);
  if (own && !holders.some((h) => h.ownProcess)) {
    holders.push({ pid: process.pid, kind: 'POSIX', access: 'WRITE', ownProcess: true, source: 'registry' });
  }
  if (opts.lockHolder && !own) {
    methods.push('probe');
    let probed: ProbedLock | null | undefined;
    try {
      probed = await opts.lockHolder(abs);
    } catch (err) {
      throw ioError(err, 'cannot probe the lock on', abs);
    }
    if (probed) {
      const dup = holders.some((h) => h.pid !== undefined && h.pid === probed!.pid);
      if (!dup) {
        holders.push({
          pid: probed.pid !== undefined && probed.pid > 0 ? probed.pid : undefined,
          kind: probed.kind ?? 'POSIX',
          ...(probed.access === undefined ? {} : { access: probed.access }),
          ownProcess: probed.pid === process.pid,
          source: 'probe',
        });
      }
    }
  }
  return {
    path: abs,
    exists: true,
    holders,
    lockedByOther: holders.some((h) => !h.ownProcess),
    lockedBySelf: holders.some((h) => h.ownProcess),
    methods,
  };
}

/**
 * Refuses with {@link ErrDirLocked} when another process holds a lock on
 * `file` (a running NodeHost, a LevelDB opened elsewhere). Locks held by this
 * process are reported in the returned status but not refused unless
 * `refuseOwnProcess`. A missing file is not locked.
 */
export async function checkNotLocked(file: string, opts: LockCheckOptions = {}): Promise<LockStatus> {
  const status = await lockStatus(file, opts);
  const blocking = status.holders.filter((h) => !h.ownProcess || opts.refuseOwnProcess);
  if (blocking.length > 0) {
    const h = blocking[0]!;
    const who = h.ownProcess
      ? `this process (pid ${process.pid}; close the LogDB opened on it first)`
      : h.pid === undefined
        ? 'another process (pid unknown)'
        : `process ${h.pid}`;
    throw new ErrDirLocked(
      `${status.path} is locked by ${who} (${h.kind}${h.access ? ` ${h.access}` : ''} lock): ` +
        'stop the NodeHost (or whatever holds the lock) first, then retry',
      {
        path: status.path,
        check: 'lock',
        pid: h.pid,
        lockKind: h.kind,
        holders: blocking.map((b) => ({ pid: b.pid, kind: b.kind, access: b.access, source: b.source })),
      },
    );
  }
  return status;
}

/**
 * Refuses with {@link ErrDirLocked} when NodeHostDir/LOCK or WALDir/LOCK is
 * held by another process, i.e. while the NodeHost runs. Partition locks are
 * checked by the LogDB when it opens a partition.
 */
export async function checkNodeHostNotLocked(cfg: ResolvedNodeHostConfig, opts: LockCheckOptions = {}): Promise<LockStatus[]> {
  const out: LockStatus[] = [];
  for (const dir of dataDirs(cfg)) out.push(await checkNotLocked(lockFilePath(dir), opts));
  return out;
}
