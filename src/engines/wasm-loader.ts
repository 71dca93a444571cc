/**
 * The one loader for this package's WebAssembly binaries (raw `.wasm`, no
 * JavaScript bindings).
 *
 * Compiled modules are cached per thread, keyed by the SHA-256 of the binary
 * bytes rather than by path: the same bytes under two paths compile once, and
 * a rebuilt binary at the same path is a new module. Every instance records
 * the hash of the binary it came from, so callers that pool instances (and
 * their memory state) can key the pool by it and never hand an instance of
 * one binary to code expecting another.
 *
 * Worker threads: a `WebAssembly.Module` can be posted to a worker (it is
 * shared, not copied); the worker passes the received {@link CompiledWasm} to
 * {@link adoptCompiledWasm} and then instantiates its own instance, with its
 * own memory. V8 also shares compiled code for identical bytes process-wide,
 * so even a worker that compiles the file itself pays little.
 */
import { createHash } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { readFile } from 'node:fs/promises';
import { fileURLToPath } from 'node:url';
import { ErrEngineUnavailable, ioError, type NodeHostToolsError } from '../errors.js';

// The WebAssembly JavaScript API is a Node.js global, but neither lib ES2022
// nor @types/node 20 declare it: these are the parts this package uses.

/** A compiled module (`WebAssembly.Module`); opaque, can be posted to worker threads. */
export interface WasmModule {
  readonly [Symbol.toStringTag]: string;
}

/** A linear memory (`WebAssembly.Memory`). */
export interface WasmMemory {
  /** The current buffer; replaced (and the old one detached) whenever memory grows. */
  readonly buffer: ArrayBuffer;
  grow(deltaPages: number): number;
}

/** What an instance exports, by name. */
export type WasmExports = Record<string, unknown>;
/** What an instance imports: module name → field name → value. */
export type WasmImports = Record<string, Record<string, unknown>>;

/** An instantiated module (`WebAssembly.Instance`). */
export interface WasmInstanceObject {
  readonly exports: WasmExports;
}

/** The global `WebAssembly` namespace, as far as used here. */
export interface WasmApi {
  Module: new (bytes: Uint8Array) => WasmModule;
  Instance: new (module: WasmModule, imports?: WasmImports) => WasmInstanceObject;
  Memory: abstract new (...args: never[]) => WasmMemory;
  compile(bytes: Uint8Array): Promise<WasmModule>;
  instantiate(module: WasmModule, imports?: WasmImports): Promise<WasmInstanceObject>;
}

/** Node's global `WebAssembly`. */
export const wasmApi: WasmApi = (globalThis as unknown as { WebAssembly: WasmApi }).WebAssembly;

/** A compiled module and the SHA-256 (hex) of the bytes it was compiled from. */
export interface CompiledWasm {
  readonly module: WasmModule;
  readonly sha256: string;
}

/** An instance, tagged with the SHA-256 of its binary. */
export interface WasmInstance<E = WasmExports> {
  readonly instance: WasmInstanceObject;
  readonly exports: E;
  /** SHA-256 (hex) of the binary this instance was created from. */
  readonly sha256: string;
}

/** Counters for diagnostics and tests; per thread. */
export interface WasmLoaderStats {
  /** Binaries compiled by this thread. */
  compiles: number;
  /** Loads answered from the cache (including adopted modules). */
  cacheHits: number;
  /** Modules adopted from another thread. */
  adopted: number;
}

const modules = new Map<string, WasmModule>();
const compiling = new Map<string, Promise<WasmModule>>();
const stats: WasmLoaderStats = { compiles: 0, cacheHits: 0, adopted: 0 };

/**
 * Absolute path of `relPath` under the package root. This file runs as
 * `src/engines/*.ts` (tests) and as `dist/engines/*.js` (built); both sit two
 * levels below the root.
 */
export function packagePath(relPath: string): string {
  return fileURLToPath(new URL(`../../${relPath}`, import.meta.url));
}

/** Where `npm run build:wasm` writes the package's WebAssembly module. */
export function nodehostWasmPath(): string {
  return packagePath('assembly/build/nodehost.wasm');
}

function sha256Hex(bytes: Uint8Array): string {
  return createHash('sha256').update(bytes).digest('hex');
}

function readError(err: unknown, path: string): NodeHostToolsError {
  if ((err as NodeJS.ErrnoException)?.code === 'ENOENT') {
    return new ErrEngineUnavailable(
      `WebAssembly binary ${path} is missing; run \`npm run build:wasm\` to build it`,
      { path, check: 'wasm-missing' },
      { cause: err },
    );
  }
  return ioError(err, 'reading', path);
}

function compileError(err: unknown, path: string): NodeHostToolsError {
  return new ErrEngineUnavailable(
    `${path} is not a usable WebAssembly binary (${(err as Error)?.message ?? String(err)}); ` + 'rebuild it with `npm run build:wasm`',
    { path, check: 'wasm-compile' },
    { cause: err },
  );
}

/** Reads and compiles `path` synchronously, or returns the cached module for the same bytes. */
export function compileWasmSync(path: string): CompiledWasm {
  let bytes: Uint8Array;
  try {
    bytes = readFileSync(path);
  } catch (err) {
    throw readError(err, path);
  }
  const sha256 = sha256Hex(bytes);
  let module = modules.get(sha256);
  if (module) {
    stats.cacheHits++;
    return { module, sha256 };
  }
  try {
    module = new wasmApi.Module(bytes);
  } catch (err) {
    throw compileError(err, path);
  }
  stats.compiles++;
  modules.set(sha256, module);
  return { module, sha256 };
}

/** Reads and compiles `path` off the main thread's critical path, or returns the cached module. */
export async function compileWasm(path: string): Promise<CompiledWasm> {
  let bytes: Uint8Array;
  try {
    bytes = await readFile(path);
  } catch (err) {
    throw readError(err, path);
  }
  const sha256 = sha256Hex(bytes);
  const cached = modules.get(sha256);
  if (cached) {
    stats.cacheHits++;
    return { module: cached, sha256 };
  }
  let pending = compiling.get(sha256);
  if (pending) {
    stats.cacheHits++;
  } else {
    stats.compiles++;
    const started = wasmApi
      .compile(bytes)
      .catch((err: unknown) => {
        throw compileError(err, path);
      })
      .finally(() => compiling.delete(sha256));
    compiling.set(sha256, started);
    pending = started;
  }
  const module = await pending;
  if (!modules.has(sha256)) modules.set(sha256, module);
  return { module: modules.get(sha256)!, sha256 };
}

function isModule(m: unknown): m is WasmModule {
  return m instanceof (wasmApi.Module as unknown as abstract new () => object);
}

/**
 * Registers a module compiled by another thread (received through
 * `workerData` or `postMessage`) so later loads of the same bytes in this
 * thread reuse it. Returns the module this thread will use for that hash.
 */
export function adoptCompiledWasm(compiled: CompiledWasm): CompiledWasm {
  if (!isModule(compiled?.module) || !/^[0-9a-f]{64}$/.test(compiled.sha256)) {
    throw new ErrEngineUnavailable('adoptCompiledWasm needs a { module, sha256 } pair from compileWasm', {
      check: 'wasm-adopt',
    });
  }
  const existing = modules.get(compiled.sha256);
  if (existing) return { module: existing, sha256: compiled.sha256 };
  modules.set(compiled.sha256, compiled.module);
  stats.adopted++;
  return compiled;
}

/** Instantiates synchronously; the instance gets its own memory. */
export function instantiateWasmSync<E = WasmExports>(compiled: CompiledWasm, imports: WasmImports = {}): WasmInstance<E> {
  const instance = new wasmApi.Instance(compiled.module, imports);
  return { instance, exports: instance.exports as E, sha256: compiled.sha256 };
}

/** Instantiates asynchronously; the instance gets its own memory. */
export async function instantiateWasm<E = WasmExports>(compiled: CompiledWasm, imports: WasmImports = {}): Promise<WasmInstance<E>> {
  const instance = await wasmApi.instantiate(compiled.module, imports);
  return { instance, exports: instance.exports as E, sha256: compiled.sha256 };
}

/** A snapshot of this thread's loader counters. */
export function wasmLoaderStats(): WasmLoaderStats {
  return { ...stats };
}
