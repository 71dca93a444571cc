/**
 * The Node-API addon (`build/Release/nodehost_native.node` built from
 * `native/`, or the package's prebuild in `prebuilds/<platform>-<arch>/`):
 * the `native` checksum engine and bulk log-store operations.
 *
 * The addon is optional. It is loaded lazily, once; when it is missing or
 * fails to load (or `NODEHOST_TOOLS_DISABLE_NATIVE=1`), {@link loadNative}
 * returns `undefined`, {@link nativeLoadError} says why, and everything here
 * that needs it throws {@link ErrEngineUnavailable}.
 *
 * Log-store operations ({@link removeEntries}, {@link copyEntries},
 * {@link moveEntries}) open the LevelDB partition directory with the addon's
 * own copy of LevelDB 1.20 (the same sources classic-level ships). **Never
 * call them on a database that classic-level holds open in this process**:
 * LevelDB's LOCK is an fcntl record lock, and fcntl locks do not exclude a
 * second open from the same process, so two library copies would both write
 * the database and corrupt it. Close the classic-level handle first. Another
 * process holding the database is detected and refused ({@link ErrDirLocked}).
 */
import fs from 'node:fs';
import { createRequire } from 'node:module';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { getSystemErrorName } from 'node:util';

import {
  ErrAborted,
  ErrDirLocked,
  ErrEngineUnavailable,
  ErrInvalidConfig,
  ErrIO,
  ErrLogDB,
  ErrPathNotExist,
  NodeHostToolsError,
  throwIfAborted,
} from '../errors.js';
import type { ChecksumEngine, PayloadLayout, PayloadScan, ProgressFn, ScanOptions } from './types.js';

/**
 * Environment variable naming another build of the addon to load instead,
 * e.g. the sanitizer build `build-asan/Release/nodehost_native.node` that
 * `npm run test:asan` runs the native suites against (CMakeLists.txt).
 */
export const NATIVE_PATH_ENV = 'NODEHOST_TOOLS_NATIVE_PATH';

/** The package root (where `package.json`, `build/` and `prebuilds/` are). */
const PACKAGE_ROOT = fileURLToPath(new URL('../..', import.meta.url));

/** Where `npm run build:native` (and an install without a matching prebuild) builds the addon. */
export const LOCAL_BUILD_PATH = path.join(PACKAGE_ROOT, 'build', 'Release', 'nodehost_native.node');

/**
 * The prebuilt addon for this platform in `<root>/prebuilds/<platform>-<arch>/`
 * (prebuildify's layout, as the packed tarball carries it), or `undefined`.
 * Matched by file name tags as node-gyp-build does: a `.node` file whose tags
 * allow this runtime (`napi`, or `abi<N>` equal to this Node's ABI), this
 * libc (`glibc`/`musl`; `musl` on Alpine or when LIBC says so) and no other
 * runtime; the most specific match wins. scripts/build-native.mjs applies the
 * same rules to skip the source build.
 */
export function findPrebuild(root: string = PACKAGE_ROOT): string | undefined {
  const dir = path.join(root, 'prebuilds', `${process.platform}-${process.arch}`);
  let names: string[];
  try {
    names = fs.readdirSync(dir);
  } catch {
    return undefined;
  }
  const libc = process.env.LIBC || (process.platform === 'linux' && fs.existsSync('/etc/alpine-release') ? 'musl' : 'glibc');
  let best: { name: string; specificity: number } | undefined;
  for (const name of names.sort()) {
    const parts = name.split('.');
    if (parts.pop() !== 'node') continue;
    let ok = true;
    let specificity = 0;
    for (const tag of parts) {
      if (tag === 'napi') specificity++;
      else if (/^abi\d+$/.test(tag)) { ok &&= tag.slice(3) === process.versions.modules; specificity++; }
      else if (tag === 'glibc' || tag === 'musl') { ok &&= tag === libc; specificity++; }
      else if (tag === 'electron' || tag === 'node-webkit') ok = false;
    }
    if (ok && (!best || specificity > best.specificity)) best = { name, specificity };
  }
  return best ? path.join(dir, best.name) : undefined;
}

/**
 * The addon to load, node-gyp-build's order: `$NODEHOST_TOOLS_NATIVE_PATH`
 * when set; else a local build (`build/Release/nodehost_native.node`, made
 * from source here); else the prebuild matching this platform; else the local
 * build's path, missing (the load error then says so).
 */
export function resolveAddonPath(env: NodeJS.ProcessEnv = process.env, root: string = PACKAGE_ROOT): string {
  if (env[NATIVE_PATH_ENV]) return path.resolve(env[NATIVE_PATH_ENV]);
  const local = path.join(root, 'build', 'Release', 'nodehost_native.node');
  if (fs.existsSync(local)) return local;
  return findPrebuild(root) ?? local;
}

/** The addon loaded (see {@link resolveAddonPath}): the env override, a local build, or the matching prebuild. */
export const NATIVE_ADDON_PATH = resolveAddonPath();

/** Environment variable that makes {@link loadNative} act as if the addon were absent. */
export const DISABLE_NATIVE_ENV = 'NODEHOST_TOOLS_DISABLE_NATIVE';

/** The binding shape this wrapper speaks; the addon exports the same number. */
const BINDING_VERSION = 2;

/** A cancel flag shared with a native worker, which polls it between pieces of work. */
export interface NativeCancelToken {
  cancel(): void;
  readonly cancelled: boolean;
}

/** Request of the raw `scanPayload` binding: a {@link PayloadLayout} plus an optional copy target. */
export interface NativeScanRequest extends PayloadLayout {
  /** Copy the whole file here (created with O_EXCL, `mode`, fsynced; unlinked on failure). */
  destPath?: string;
  mode?: number;
  /** Read size in bytes (default 8 MiB; at least 4096). Tests use small pieces to cross every boundary. */
  pieceSize?: number;
  /** Also return the whole file's SHA-256 (`sha256`, hex), computed in the same pass (then read on one thread). */
  sha256?: boolean;
}

/** Raw options of the `removeEntries` binding. */
export interface NativeRemoveOptions {
  fromIndex?: bigint;
  toIndex?: bigint;
  entriesPerBatch?: bigint;
  deletesPerWrite?: number;
  compact?: boolean;
}

/** The addon's exports, as loaded. Prefer the typed wrappers in this module. */
export interface NativeBinding {
  readonly bindingVersion: number;
  /** The CRC kernel chosen for this CPU, e.g. `vpclmulqdq-avx512`, `pclmulqdq`, `slice8`. */
  readonly crcKernel: string;
  /** Every kernel this CPU can run, fastest first. */
  readonly crcKernels: readonly string[];
  readonly CancelToken: new () => NativeCancelToken;
  crc32(data: ArrayBufferView | ArrayBuffer, crc?: number): number;
  crc32WithKernel(kernel: string, data: ArrayBufferView | ArrayBuffer, crc?: number): number;
  /** CRC-32C (Castagnoli), zlib-style seed; `portable` forces the table kernel. Absent from addons built before it. */
  crc32c?(data: ArrayBufferView | ArrayBuffer, crc?: number, portable?: boolean): number;
  /** The CRC-32C kernel: `sse4.2` or `slice8`. */
  readonly crc32cKernel?: string;
  scanPayload(
    request: NativeScanRequest,
    token?: NativeCancelToken | null,
    onProgress?: ProgressFn | null,
  ): Promise<PayloadScan>;
  removeEntries(
    dbPath: string,
    shardId: bigint,
    replicaId: bigint,
    options?: NativeRemoveOptions,
    token?: NativeCancelToken | null,
  ): Promise<RemoveEntriesResult>;
  copyEntries(
    srcDbPath: string,
    dstDbPath: string,
    shardId: bigint,
    replicaId: bigint,
    options?: { move?: boolean; putsPerWrite?: number },
    token?: NativeCancelToken | null,
  ): Promise<CopyEntriesResult>;
  lockHolder(path: string): number;
  acquireLock(path: string, mode?: number): RawFileLock;
}

/** What the raw `acquireLock` binding returns: the held descriptor's file and its release. */
export interface RawFileLock {
  readonly path: string;
  readonly created: boolean;
  readonly dev: bigint;
  readonly ino: bigint;
  /** Closes the descriptor (dropping the lock); true the first time, false after. */
  release(): boolean;
}

/** The shape of errors the addon throws or rejects with, before mapping. */
interface RawNativeError extends Error {
  kind?: 'io' | 'aborted' | 'invalid' | 'locked' | 'path-not-exist' | 'not-a-db' | 'logdb';
  errno?: number;
  syscall?: string;
  path?: string;
  pid?: number;
}

let loaded: { binding?: NativeBinding; error?: string } | undefined;

/**
 * Loads the addon on first use and returns it, or `undefined` when it is not
 * available (not built, fails to load, or disabled through
 * `NODEHOST_TOOLS_DISABLE_NATIVE=1`, which is read on every call).
 */
export function loadNative(): NativeBinding | undefined {
  if (process.env[DISABLE_NATIVE_ENV] === '1') return undefined;
  if (!loaded) loaded = tryLoad();
  return loaded.binding;
}

/** Why {@link loadNative} returns `undefined`; `undefined` when the addon is loaded. */
export function nativeLoadError(): string | undefined {
  if (process.env[DISABLE_NATIVE_ENV] === '1') return `disabled by ${DISABLE_NATIVE_ENV}=1`;
  loadNative();
  return loaded?.error;
}

/** The CRC kernel the addon selected for this CPU, or `undefined` without the addon. */
export function nativeCrcKernel(): string | undefined {
  return loadNative()?.crcKernel;
}

/**
 * The addon's CRC-32C (Pebble's checksum) as a plain function of a byte
 * view, or `undefined` without the addon (or with one built before it had
 * CRC-32C): callers then use the pure one in `src/pebble/crc32c.ts`.
 */
export function crc32cFunction(): ((data: Uint8Array) => number) | undefined {
  const b = loadNative();
  const fn = b?.crc32c;
  if (!b || typeof fn !== 'function') return undefined;
  return (data) => fn.call(b, data);
}

/** The addon's CRC-32C kernel (`sse4.2`, `slice8`), or `undefined` without it. */
export function nativeCrc32cKernel(): string | undefined {
  return typeof loadNative()?.crc32c === 'function' ? loadNative()!.crc32cKernel : undefined;
}

function tryLoad(): { binding?: NativeBinding; error?: string } {
  try {
    const binding = createRequire(import.meta.url)(NATIVE_ADDON_PATH) as NativeBinding;
    if (binding.bindingVersion !== BINDING_VERSION) {
      return {
        error: `the addon at ${NATIVE_ADDON_PATH} is binding version ${String(binding.bindingVersion)}, ` +
          `this code needs ${BINDING_VERSION}; rebuild it with \`npm run build:native\``,
      };
    }
    return { binding };
  } catch (err) {
    const e = err as NodeJS.ErrnoException;
    if (e?.code === 'MODULE_NOT_FOUND') {
      return { error: `the addon is not built (${NATIVE_ADDON_PATH} is missing) and no prebuild in prebuilds/${process.platform}-${process.arch}/ matches` };
    }
    return { error: `the addon at ${NATIVE_ADDON_PATH} failed to load: ${e?.message ?? String(err)}` };
  }
}

function requireNative(what: string): NativeBinding {
  const binding = loadNative();
  if (!binding) {
    throw new ErrEngineUnavailable(`${what} needs the native addon: ${nativeLoadError() ?? 'not loaded'}`, {
      engine: 'native',
    });
  }
  return binding;
}

// ---- Checksum engine ---------------------------------------------------------

/**
 * The `native` checksum engine: CRC32 with carry-less multiplication where
 * the CPU has it, scans and copies on the libuv thread pool with a reader
 * thread overlapping file reads and checksumming. Throws
 * {@link ErrEngineUnavailable} when the addon is not loaded.
 */
export function createNativeEngine(): ChecksumEngine {
  const binding = requireNative('the native checksum engine');
  return {
    name: 'native',
    crc32: (data, crc = 0) => binding.crc32(data, crc),
    scanPayload: (layout, options) => runScan(binding, layout, undefined, 0, options),
    copyAndScan: (layout, destPath, mode, options) => runScan(binding, layout, destPath, mode, options),
  };
}

function checkLayout(layout: PayloadLayout): void {
  const bad = (why: string): never => {
    throw new ErrInvalidConfig(`invalid payload layout for ${String(layout?.path)}: ${why}`, { path: layout?.path });
  };
  if (typeof layout?.path !== 'string' || layout.path === '') bad('path must be a non-empty string');
  if (layout.version !== 1 && layout.version !== 2) bad(`version must be 1 or 2, not ${String(layout.version)}`);
  if (!Number.isSafeInteger(layout.payloadOffset) || layout.payloadOffset < 0) bad('payloadOffset must be a non-negative integer');
  if (!Number.isSafeInteger(layout.fileSize) || layout.fileSize < 0) bad('fileSize must be a non-negative integer');
  if (layout.version === 1 && layout.fileSize < layout.payloadOffset) bad('fileSize is smaller than payloadOffset');
}

async function runScan(
  binding: NativeBinding,
  layout: PayloadLayout,
  destPath: string | undefined,
  mode: number,
  options: ScanOptions | undefined,
): Promise<PayloadScan> {
  const phase = destPath === undefined ? 'payload scan' : 'snapshot copy';
  throwIfAborted(options?.signal, phase);
  checkLayout(layout);
  const request: NativeScanRequest = {
    path: path.resolve(layout.path),
    version: layout.version,
    payloadOffset: layout.payloadOffset,
    fileSize: layout.fileSize,
    ...(options?.sha256 ? { sha256: true } : {}),
  };
  if (destPath !== undefined) {
    if (!Number.isInteger(mode) || mode < 0 || mode > 0o7777) {
      throw new ErrInvalidConfig(`invalid file mode ${String(mode)} for ${destPath}`, { path: destPath });
    }
    request.destPath = path.resolve(destPath);
    request.mode = mode;
  }
  const onProgress = options?.onProgress;
  let progressError: unknown;
  let lastDone = -1;
  const token = new binding.CancelToken();
  const report = onProgress
    ? (done: number, total: number) => {
        if (progressError !== undefined) return;
        try {
          lastDone = done;
          onProgress(done, total);
        } catch (err) {
          // A throwing progress callback ends the scan with its error.
          progressError = err;
          token.cancel();
        }
      }
    : null;
  return withCancel(token, options?.signal, async () => {
    let result: PayloadScan;
    try {
      result = await binding.scanPayload(request, token, report);
    } catch (err) {
      if (progressError !== undefined) throw progressError;
      throw mapNativeError(err, phase, request.destPath ?? request.path, options?.signal);
    }
    if (progressError !== undefined) throw progressError;
    if (report && result.ok && lastDone !== layout.fileSize) report(layout.fileSize, layout.fileSize);
    if (progressError !== undefined) throw progressError;
    return result;
  });
}

async function withCancel<T>(token: NativeCancelToken, signal: AbortSignal | undefined, run: () => Promise<T>): Promise<T> {
  const onAbort = () => token.cancel();
  signal?.addEventListener('abort', onAbort, { once: true });
  try {
    return await run();
  } finally {
    signal?.removeEventListener('abort', onAbort);
  }
}

/** Maps an error from the addon to this package's coded errors, with context. */
function mapNativeError(err: unknown, operation: string, subject: string, signal?: AbortSignal): NodeHostToolsError {
  if (err instanceof NodeHostToolsError) return err;
  const e = err as RawNativeError;
  const message = e?.message ?? String(err);
  const where = e?.path ?? subject;
  switch (e?.kind) {
    case 'aborted':
      return new ErrAborted(`aborted during ${operation}`, { phase: operation, path: subject }, { cause: signal?.reason });
    case 'locked':
      return new ErrDirLocked(
        `${where} is locked by ${e.pid && e.pid > 0 ? `process ${e.pid}` : 'another process'}: ` +
          'stop the NodeHost (or whatever holds the log store) and try again',
        { path: where, pid: e.pid && e.pid > 0 ? e.pid : undefined, operation },
        { cause: err },
      );
    case 'path-not-exist':
      return new ErrPathNotExist(`${operation}: ${message}`, { path: where, operation }, { cause: err });
    case 'not-a-db':
    case 'logdb':
      return new ErrLogDB(`${operation}: ${message}`, { path: where, operation }, { cause: err });
    case 'invalid':
      return new ErrInvalidConfig(`${operation}: ${message}`, { path: where, operation }, { cause: err });
    default: {
      const errno = typeof e?.errno === 'number' && e.errno > 0 ? safeErrnoName(e.errno) : undefined;
      return new ErrIO(`${operation}: ${message}`, { path: where, syscall: e?.syscall, errno, operation }, { cause: err });
    }
  }
}

function safeErrnoName(errno: number): string | undefined {
  try {
    return getSystemErrorName(-errno);
  } catch {
    return undefined;
  }
}

// ---- Log store ----------------------------------------------------------------

const U64_MAX = (1n << 64n) - 1n;

function checkU64(value: unknown, name: string): bigint {
  if (typeof value !== 'bigint' || value < 0n || value > U64_MAX) {
    throw new ErrInvalidConfig(`${name} must be a bigint in 0..2^64-1, got ${String(value)}`, { [name]: String(value) });
  }
  return value;
}

function checkCount(value: number | undefined, name: string): number | undefined {
  if (value === undefined) return undefined;
  if (!Number.isSafeInteger(value) || value <= 0) {
    throw new ErrInvalidConfig(`${name} must be a positive integer, got ${String(value)}`, { [name]: value });
  }
  return value;
}

/** Options of {@link removeEntries}. */
export interface RemoveEntriesOptions {
  /** First entry index to remove (default 0). */
  fromIndex?: bigint;
  /** Entry index to stop before (default: no limit). */
  toIndex?: bigint;
  /**
   * Entries per batch key (Dragonboat's 48): batch `id` holds indexes
   * `[id*n, (id+1)*n)` and is removed only when all of them are in range.
   */
  entriesPerBatch?: number;
  /** Deletes per LevelDB write batch (default 65536). */
  deletesPerWrite?: number;
  /** Compact the removed key ranges afterwards (default true), so the data leaves the disk. */
  compact?: boolean;
  /** Cancels between write batches; removal is idempotent, so rerun to finish. */
  signal?: AbortSignal;
}

/** What {@link removeEntries} removed. */
export interface RemoveEntriesResult {
  /** Plain entry keys (`01 01`) deleted. */
  plainRemoved: number;
  /** Entry batch keys (`07 07`) deleted. */
  batchesRemoved: number;
}

/**
 * Deletes every plain-entry key (`01 01`) and entry-batch key (`07 07`) of
 * (shardId, replicaId) from the LevelDB database at `dbPath` (optionally only
 * an index range), in large write batches, the last one synced, then compacts
 * exactly those key ranges. Other records of the replica (state, snapshot,
 * bootstrap, max index) and every other replica are left alone.
 *
 * Throws {@link ErrPathNotExist} (no such directory), {@link ErrLogDB} (not a
 * database, LevelDB failure), {@link ErrDirLocked} (held by another process),
 * {@link ErrAborted}, {@link ErrEngineUnavailable} (no addon). Must not be
 * used on a database classic-level holds open in this process.
 */
export async function removeEntries(
  dbPath: string,
  shardId: bigint,
  replicaId: bigint,
  options: RemoveEntriesOptions = {},
): Promise<RemoveEntriesResult> {
  const binding = requireNative('removing log entries in bulk');
  throwIfAborted(options.signal, 'log entry removal');
  const raw: NativeRemoveOptions = {};
  if (options.fromIndex !== undefined) raw.fromIndex = checkU64(options.fromIndex, 'fromIndex');
  if (options.toIndex !== undefined) raw.toIndex = checkU64(options.toIndex, 'toIndex');
  if (raw.fromIndex !== undefined && raw.toIndex !== undefined && raw.toIndex < raw.fromIndex) {
    throw new ErrInvalidConfig(`toIndex ${raw.toIndex} is below fromIndex ${raw.fromIndex}`, {});
  }
  const perBatch = checkCount(options.entriesPerBatch, 'entriesPerBatch');
  if (perBatch !== undefined) raw.entriesPerBatch = BigInt(perBatch);
  raw.deletesPerWrite = checkCount(options.deletesPerWrite, 'deletesPerWrite');
  if (options.compact !== undefined) raw.compact = options.compact;
  const db = path.resolve(dbPath);
  const token = new binding.CancelToken();
  return withCancel(token, options.signal, async () => {
    try {
      return await binding.removeEntries(db, checkU64(shardId, 'shardId'), checkU64(replicaId, 'replicaId'), raw, token);
    } catch (err) {
      throw mapNativeError(err, 'log entry removal', db, options.signal);
    }
  });
}

/** Options of {@link copyEntries} and {@link moveEntries}. */
export interface CopyEntriesOptions {
  /** Puts per LevelDB write batch (default 65536; batches also stop at 32 MiB). */
  putsPerWrite?: number;
  /** Cancels between write batches. */
  signal?: AbortSignal;
}

/** What {@link copyEntries} / {@link moveEntries} copied. */
export interface CopyEntriesResult {
  plainCopied: number;
  batchesCopied: number;
}

async function copyOrMove(
  srcDbPath: string,
  dstDbPath: string,
  shardId: bigint,
  replicaId: bigint,
  options: CopyEntriesOptions,
  move: boolean,
): Promise<CopyEntriesResult> {
  const what = move ? 'log entry move' : 'log entry copy';
  const binding = requireNative(`${what} in bulk`);
  throwIfAborted(options.signal, what);
  const putsPerWrite = checkCount(options.putsPerWrite, 'putsPerWrite');
  const src = path.resolve(srcDbPath);
  const dst = path.resolve(dstDbPath);
  const s = checkU64(shardId, 'shardId');
  const r = checkU64(replicaId, 'replicaId');
  const token = new binding.CancelToken();
  return withCancel(token, options.signal, async () => {
    try {
      return await binding.copyEntries(src, dst, s, r, { move, putsPerWrite }, token);
    } catch (err) {
      throw mapNativeError(err, what, src, options.signal);
    }
  });
}

/**
 * Copies every plain-entry and entry-batch key of (shardId, replicaId) from
 * the database at `srcDbPath` to the one at `dstDbPath` (created when
 * missing; existing keys with the same name are overwritten, others kept).
 * The destination is synced before this resolves. Same errors as
 * {@link removeEntries}; same-database source and destination is
 * {@link ErrInvalidConfig}.
 */
export function copyEntries(
  srcDbPath: string,
  dstDbPath: string,
  shardId: bigint,
  replicaId: bigint,
  options: CopyEntriesOptions = {},
): Promise<CopyEntriesResult> {
  return copyOrMove(srcDbPath, dstDbPath, shardId, replicaId, options, false);
}

/**
 * {@link copyEntries}, then (once the destination is durable) removes those
 * keys from the source and compacts them there.
 */
export function moveEntries(
  srcDbPath: string,
  dstDbPath: string,
  shardId: bigint,
  replicaId: bigint,
  options: CopyEntriesOptions = {},
): Promise<CopyEntriesResult> {
  return copyOrMove(srcDbPath, dstDbPath, shardId, replicaId, options, true);
}

// ---- File locks ----------------------------------------------------------------

/** A whole-file POSIX write lock this process holds, from {@link acquireLock}. */
export interface FileLock {
  /** The locked file (absolute). */
  readonly path: string;
  /** {@link acquireLock} created the file (it did not exist). */
  readonly created: boolean;
  /** Not released yet. */
  readonly held: boolean;
  /** Drops the lock by closing its descriptor. Idempotent; the file itself is left as it is. */
  release(): void;
}

// Every lock acquireLock holds, by device and inode (paths can alias through links).
// fcntl locks belong to the process: a second lock on the same file would
// succeed, and releasing either would silently drop both.
const heldLocks = new Map<string, FileLock>();
const strayLocks: RawFileLock[] = [];

function fileIdentity(p: string): string | undefined {
  let st: fs.BigIntStats | undefined;
  try {
    st = fs.statSync(p, { bigint: true, throwIfNoEntry: false });
  } catch {
    return undefined;
  }
  return st ? `${st.dev}:${st.ino}` : undefined;
}

/**
 * Takes a non-blocking whole-file POSIX write lock (`fcntl(F_SETLK,
 * F_WRLCK)`, as Dragonboat's NodeHost takes NodeHostDir/LOCK) on `filePath`,
 * creating the file with `mode` (default 0o644, less the umask) when it is
 * missing; an existing file is neither truncated nor written. The descriptor
 * stays open until {@link FileLock.release}.
 *
 * Throws {@link ErrDirLocked} (details: `path`, `pid` when known) when
 * another process holds a lock on the file, and also when this process
 * already holds it through `acquireLock` (`details.ownProcess`): fcntl locks
 * belong to the process, so a second lock would succeed and releasing either
 * would drop both. {@link ErrIO} for other failures (a missing directory is
 * not created), {@link ErrEngineUnavailable} without the addon.
 *
 * While held, never open and close the file elsewhere in this process (read
 * it, hash it, probe it with the raw binding): closing any descriptor of it
 * drops the lock. {@link lockHolder} knows the files held here and answers
 * this process's pid without opening them.
 */
export function acquireLock(filePath: string, options: { mode?: number } = {}): FileLock {
  const binding = requireNative('locking a file');
  const p = path.resolve(filePath);
  const mode = options.mode ?? 0o644;
  if (!Number.isInteger(mode) || mode < 0 || mode > 0o7777) {
    throw new ErrInvalidConfig(`invalid file mode ${String(mode)} for ${p}`, { path: p });
  }
  const refuseOwn = (): never => {
    throw new ErrDirLocked(`${p} is already locked by this process (pid ${process.pid}); release that lock first`, {
      path: p, pid: process.pid, ownProcess: true, check: 'lock', operation: 'lock acquisition',
    });
  };
  const before = fileIdentity(p);
  if (before !== undefined && heldLocks.has(before)) refuseOwn();
  let raw: RawFileLock;
  try {
    raw = binding.acquireLock(p, mode);
  } catch (err) {
    const mapped = mapNativeError(err, 'lock acquisition', p);
    if (mapped instanceof ErrDirLocked) {
      const pid = mapped.details.pid as number | undefined;
      throw new ErrDirLocked(
        `${p} is locked by ${pid === undefined ? 'another process (pid unknown)' : `process ${pid}`}: ` +
          'a NodeHost (or something else) is using this directory; stop it first, then retry',
        { path: p, pid, check: 'lock', operation: 'lock acquisition' },
        { cause: err },
      );
    }
    throw mapped;
  }
  const key = `${raw.dev}:${raw.ino}`;
  if (heldLocks.has(key)) {
    // Only possible if the path was swapped for a file we hold between the stat and the open.
    // This second descriptor cannot be closed (nor collected) without dropping the first lock.
    strayLocks.push(raw);
    refuseOwn();
  }
  let held = true;
  const lock: FileLock = {
    path: p,
    created: raw.created,
    get held() {
      return held;
    },
    release() {
      if (!held) return;
      held = false;
      heldLocks.delete(key);
      raw.release();
    },
  };
  heldLocks.set(key, lock);
  return lock;
}

/**
 * The pid of the process holding a POSIX (fcntl) lock on `filePath` that
 * conflicts with a whole-file write lock; 0 when nobody does or the file does
 * not exist; -1 when it is held by an unknown pid (open-file-description
 * lock, other pid namespace). Used for `NodeHostDir/LOCK`.
 *
 * fcntl never reports this process's own locks, and opening and closing the
 * file here releases any fcntl lock this process holds on it: do not ask
 * about a file this process locks. Files held through {@link acquireLock}
 * are known and answered with this process's pid without opening them.
 * Throws {@link ErrIO} for other failures.
 */
export function lockHolder(filePath: string): number {
  const binding = requireNative('checking a file lock');
  const p = path.resolve(filePath);
  // F_GETLK would not see our own lock, and closing its descriptor would drop it.
  if (heldLocks.has(fileIdentity(p) ?? '')) return process.pid;
  try {
    return binding.lockHolder(p);
  } catch (err) {
    throw mapNativeError(err, 'lock check', p);
  }
}
