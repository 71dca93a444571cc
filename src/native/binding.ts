/**
 * The Node-API addon (`build/Release/nodehost_native.node` built from
 * `native/`, or the package's prebuild in `prebuilds/<platform>-<arch>/`), as
 * one small binding: where it is loaded from, the binding version check, the
 * mapping of its failures to this package's coded errors, and cancellation.
 * Each capability it carries sits next to the layer that uses it: checksums
 * in `engines/native.ts`, bulk LevelDB key work in `logdb/native-bulk.ts`,
 * LevelDB write batches in `logdb/native-batch.ts`, fcntl locks in
 * `nodehost/native-lock.ts`, the log suffix's entry frames in
 * `logdb/native-suffix.ts`.
 *
 * The addon is optional. It is loaded lazily, once; when it is missing or
 * fails to load (or `NODEHOST_TOOLS_DISABLE_NATIVE=1`), {@link loadNative}
 * returns `undefined`, {@link nativeLoadError} says why, and
 * {@link requireNative} throws {@link ErrEngineUnavailable}.
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
} from '../errors.js';
import type { PayloadLayout, PayloadScan, ProgressFn } from '../engines/types.js';

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
      else if (/^abi\d+$/.test(tag)) {
        ok &&= tag.slice(3) === process.versions.modules;
        specificity++;
      } else if (tag === 'glibc' || tag === 'musl') {
        ok &&= tag === libc;
        specificity++;
      } else if (tag === 'electron' || tag === 'node-webkit') ok = false;
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
const BINDING_VERSION = 7;

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
  scanPayload(request: NativeScanRequest, token?: NativeCancelToken | null, onProgress?: ProgressFn | null): Promise<PayloadScan>;
  /** Deletes the keys of each `[start, end)` pair, then compacts each pair's range. */
  removeRanges(
    dbPath: string,
    ranges: readonly (readonly [Uint8Array, Uint8Array])[],
    options?: { deletesPerWrite?: number },
    token?: NativeCancelToken | null,
  ): Promise<RemoveRangesResult>;
  /** A LevelDB write batch the addon builds and writes with its own LevelDB (see `logdb/native-batch.ts`). */
  readonly NativeWriteBatch: new () => RawNativeWriteBatch;
  /**
   * Checks (and in the write pass re-keys) the whole entry frames at the front of `piece`; advances `state`
   * (next index, last term, last index, count) in place. See native/src/suffix_frames.h.
   */
  suffixFrames(
    piece: Uint8Array,
    state: BigUint64Array,
    crcs: Uint32Array,
    changes: Uint8Array,
    terms: BigUint64Array | null,
    out: Uint8Array | null,
    keyPrefix: Uint8Array | null,
  ): RawSuffixFrames;
  /** A streaming SHA-256 whose updates run on the thread pool (one at a time; the bytes stay unchanged until it settles). */
  readonly Sha256Stream: new () => NativeSha256Stream;
  lockHolder(path: string): number;
  acquireLock(path: string, mode?: number): RawFileLock;
}

/** What one `suffixFrames` call did: bytes taken, why it stopped (0 more, 1 frame, 2 full), bytes emitted. */
export interface RawSuffixFrames {
  consumed: number;
  stop: 0 | 1 | 2;
  outBytes: number;
  valueBytes: number;
  /** Membership changes replaced: index, term pairs. */
  neutralized?: BigUint64Array;
}

/**
 * The raw `NativeWriteBatch`: operations are copied in during each call; the
 * batch is written once or discarded (then no operation is accepted). A malformed encoded
 * piece throws an `invalid` error with `offset` and `check`, and adds nothing.
 */
export interface RawNativeWriteBatch {
  put(key: Uint8Array, value: Uint8Array): void;
  del(key: Uint8Array): void;
  /** `count` put operations encoded as `0x01 | uvarint key length | key | uvarint value length | value`. */
  appendEncoded(bytes: Uint8Array, count: number): void;
  /** Operations in the batch. */
  readonly count: number;
  /** Opens the database (creating it unless `createIfMissing` is false), applies the batch as one write, closes. */
  write(dbPath: string, options?: { sync?: boolean; createIfMissing?: boolean }, token?: NativeCancelToken | null): Promise<void>;
  /** Releases a batch that will not be written (no-op once handed to a write). */
  discard(): void;
}

/** The addon's streaming SHA-256 (see {@link NativeBinding.Sha256Stream}). */
export interface NativeSha256Stream {
  update(data: Uint8Array): Promise<void>;
  /** Lowercase hex; once, after the last update settled. */
  digest(): string;
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
export interface RawNativeError extends Error {
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

/** What the `removeRanges` binding removed. */
export interface RemoveRangesResult {
  /** Keys deleted, summed over the ranges (a key in two overlapping ranges counts twice). */
  removed: number;
}

function tryLoad(): { binding?: NativeBinding; error?: string } {
  try {
    const binding = createRequire(import.meta.url)(NATIVE_ADDON_PATH) as NativeBinding;
    if (binding.bindingVersion !== BINDING_VERSION) {
      return {
        error:
          `the addon at ${NATIVE_ADDON_PATH} is binding version ${String(binding.bindingVersion)}, ` +
          `this code needs ${BINDING_VERSION}; rebuild it with \`npm run build:native\``,
      };
    }
    return { binding };
  } catch (err) {
    const e = err as NodeJS.ErrnoException;
    if (e?.code === 'MODULE_NOT_FOUND') {
      return {
        error: `the addon is not built (${NATIVE_ADDON_PATH} is missing) and no prebuild in prebuilds/${process.platform}-${process.arch}/ matches`,
      };
    }
    return { error: `the addon at ${NATIVE_ADDON_PATH} failed to load: ${e?.message ?? String(err)}` };
  }
}

/** The loaded addon, or {@link ErrEngineUnavailable} naming `what` needed it and why it is not there. */
export function requireNative(what: string): NativeBinding {
  const binding = loadNative();
  if (!binding) {
    throw new ErrEngineUnavailable(`${what} needs the native addon: ${nativeLoadError() ?? 'not loaded'}`, {
      engine: 'native',
    });
  }
  return binding;
}

// ---- Shared by the capabilities ----------------------------------------------------

/** Runs `run` with `signal` wired to the native worker's cancel token. */
export async function withCancel<T>(token: NativeCancelToken, signal: AbortSignal | undefined, run: () => Promise<T>): Promise<T> {
  const onAbort = () => token.cancel();
  signal?.addEventListener('abort', onAbort, { once: true });
  try {
    return await run();
  } finally {
    signal?.removeEventListener('abort', onAbort);
  }
}

/** Maps an error from the addon to this package's coded errors, with context. */
export function mapNativeError(err: unknown, operation: string, subject: string, signal?: AbortSignal): NodeHostToolsError {
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

const U64_MAX = (1n << 64n) - 1n;

/** A bigint ID checked to be a uint64. */
export function checkU64(value: unknown, name: string): bigint {
  if (typeof value !== 'bigint' || value < 0n || value > U64_MAX) {
    throw new ErrInvalidConfig(`${name} must be a bigint in 0..2^64-1, got ${String(value)}`, { [name]: String(value) });
  }
  return value;
}

/** An optional positive count. */
export function checkCount(value: number | undefined, name: string): number | undefined {
  if (value === undefined) return undefined;
  if (!Number.isSafeInteger(value) || value <= 0) {
    throw new ErrInvalidConfig(`${name} must be a positive integer, got ${String(value)}`, { [name]: value });
  }
  return value;
}
