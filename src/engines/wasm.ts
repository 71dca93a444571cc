/**
 * The `wasm` engine: the shared streaming scanner (`src/snapshot/scan.ts`)
 * over a CRC kernel compiled from AssemblyScript (`assembly/`).
 *
 * Each scan borrows a kernel with its own WebAssembly instance and memory.
 * The scanner's read buffers are views into that memory, so file reads land
 * where the CRC runs (no copy). Growing a WebAssembly memory detaches every
 * view of it; giving each concurrent scan its own memory means one scan can
 * never detach another's buffers, and a kernel only grows inside
 * {@link CrcKernel.buffer}, which the scanner calls before it reads.
 */
import { ErrEngineUnavailable } from '../errors.js';
import { copyAndScanWith, scanPayloadWith } from '../snapshot/scan.js';
import type { ChecksumEngine, CrcKernel } from './types.js';
import {
  compileWasmSync,
  instantiateWasmSync,
  nodehostWasmPath,
  wasmApi,
  type CompiledWasm,
  type WasmInstance,
  type WasmMemory,
} from './wasm-loader.js';

/** The exports of `assembly/build/nodehost.wasm` (see assembly/index.ts). */
export interface NodehostWasmExports {
  readonly memory: WasmMemory;
  /** Ensures a scratch region of `size` bytes; returns its start, 0 when memory cannot grow. */
  scratch(size: number): number;
  /** CRC-32/IEEE of memory[ptr, ptr+len) continuing from `crc` (signed i32 result). */
  crc32(ptr: number, len: number, crc: number): number;
}

/** Options of {@link createWasmEngine} and {@link createWasmKernel}. */
export interface WasmEngineOptions {
  /** Binary to load; defaults to `assembly/build/nodehost.wasm` in this package. */
  wasmPath?: string;
  /** An already compiled module (e.g. posted to a worker thread); skips reading the file. */
  compiled?: CompiledWasm;
}

/** A {@link CrcKernel} over its own WebAssembly instance. */
export interface WasmCrcKernel extends CrcKernel {
  /** SHA-256 of the binary the kernel's instance came from. */
  readonly sha256: string;
  /** The instance's memory (buffers from {@link CrcKernel.buffer} are views of it). */
  readonly memory: WasmMemory;
}

/** Staging area at the start of scratch for bytes that live outside wasm memory. */
const STAGE_SIZE = 256 * 1024;
/** Slot capacities grow in whole 64 KiB pages. */
const PAGE = 64 * 1024;
/** Idle kernels kept per binary for later scans (each holds its buffers' memory). */
const MAX_IDLE_KERNELS = 2;
/**
 * Self-test input: 8269 bytes, so the SIMD path (one 8192-byte chunk), the
 * 16-byte slicing loop and the byte loop all run. CHECK_VALUE is its
 * CRC-32/IEEE as computed by zlib.
 */
const CHECK_INPUT = Uint8Array.from({ length: 8192 + 77 }, (_, i) => (i * 131 + (i >>> 8)) & 0xff);
const CHECK_VALUE = 0xafcd8274;

function unavailable(message: string, details: Record<string, unknown>, cause?: unknown): ErrEngineUnavailable {
  return new ErrEngineUnavailable(message, { engine: 'wasm', ...details }, cause === undefined ? undefined : { cause });
}

function checkExports(inst: WasmInstance<NodehostWasmExports>): void {
  const ex = inst.exports as Partial<NodehostWasmExports>;
  const missing = [
    ex.memory instanceof wasmApi.Memory ? undefined : 'memory',
    typeof ex.scratch === 'function' ? undefined : 'scratch',
    typeof ex.crc32 === 'function' ? undefined : 'crc32',
  ].filter((n) => n !== undefined);
  if (missing.length > 0) {
    throw unavailable(`the WebAssembly binary lacks export(s) ${missing.join(', ')}; rebuild it with \`npm run build:wasm\``, {
      check: 'wasm-exports',
      sha256: inst.sha256,
      missing,
    });
  }
}

/**
 * Memory layout of one kernel's scratch region:
 * `[stage: STAGE_SIZE][slot 0: cap][slot 1: cap]`.
 */
class Kernel implements WasmCrcKernel {
  readonly sha256: string;
  readonly memory: WasmMemory;
  private readonly ex: NodehostWasmExports;
  private readonly base: number;
  private slotCap = 0;
  private stage: Uint8Array;

  constructor(inst: WasmInstance<NodehostWasmExports>) {
    checkExports(inst);
    this.sha256 = inst.sha256;
    this.ex = inst.exports;
    this.memory = inst.exports.memory;
    this.base = this.reserve(STAGE_SIZE);
    this.stage = new Uint8Array(this.memory.buffer, this.base, STAGE_SIZE);
  }

  private reserve(size: number): number {
    const ptr = size <= 0xffff_ffff ? this.ex.scratch(size) >>> 0 : 0;
    if (ptr === 0) {
      throw unavailable(`WebAssembly memory cannot grow to ${size} bytes of scratch space`, { check: 'wasm-memory', size });
    }
    return ptr;
  }

  /**
   * Both slots get the capacity of the largest size asked so far, so asking
   * for slot 0 and then slot 1 of the same size grows memory at most once,
   * before either view is used. Growing moves slot 1 and detaches older views.
   */
  buffer(size: number, slot: 0 | 1): Uint8Array {
    if (!Number.isSafeInteger(size) || size < 0 || (slot !== 0 && slot !== 1)) {
      throw new RangeError(`wasm kernel buffer(${size}, ${slot}): bad size or slot`);
    }
    if (size > this.slotCap) {
      const cap = Math.ceil(size / PAGE) * PAGE;
      this.reserve(STAGE_SIZE + 2 * cap);
      this.slotCap = cap;
    }
    return new Uint8Array(this.memory.buffer, this.base + STAGE_SIZE + slot * this.slotCap, size);
  }

  crc32(data: Uint8Array, crc: number): number {
    const mem = this.memory.buffer;
    if (data.buffer === mem) return this.ex.crc32(data.byteOffset, data.byteLength, crc) >>> 0;
    if (data.byteLength === 0 && isDetached(data.buffer)) {
      // A view from before a memory growth reads as empty: refuse it rather than return a CRC of nothing.
      throw new RangeError('wasm kernel crc32: the view was detached by a memory growth; ask buffer() again');
    }
    // Bytes outside wasm memory go through the stage in pieces: no growth, no detached views.
    if (this.stage.buffer !== mem) this.stage = new Uint8Array(mem, this.base, STAGE_SIZE);
    let c = crc >>> 0;
    for (let off = 0; off < data.byteLength; off += STAGE_SIZE) {
      const piece = data.subarray(off, Math.min(off + STAGE_SIZE, data.byteLength));
      this.stage.set(piece);
      c = this.ex.crc32(this.base, piece.byteLength, c) >>> 0;
    }
    return c;
  }
}

/** Whether `buf` was detached (Node 20 has no ArrayBuffer.prototype.detached). */
function isDetached(buf: ArrayBufferLike): boolean {
  if (buf.byteLength !== 0) return false;
  try {
    new Uint8Array(buf);
    return false;
  } catch {
    return true;
  }
}

function loadCompiled(options: WasmEngineOptions): CompiledWasm {
  if (options.compiled) return options.compiled;
  const path = options.wasmPath ?? nodehostWasmPath();
  try {
    return compileWasmSync(path);
  } catch (err) {
    if (err instanceof ErrEngineUnavailable) {
      throw unavailable(`wasm engine unavailable: ${err.message}`, { ...err.details, path }, err);
    }
    throw err;
  }
}

function newKernel(compiled: CompiledWasm): Kernel {
  let inst: WasmInstance<NodehostWasmExports>;
  try {
    inst = instantiateWasmSync<NodehostWasmExports>(compiled);
  } catch (err) {
    throw unavailable(
      `cannot instantiate the WebAssembly module: ${(err as Error)?.message ?? String(err)}`,
      { check: 'wasm-instantiate', sha256: compiled.sha256 },
      err,
    );
  }
  return new Kernel(inst);
}

/**
 * Creates a {@link CrcKernel} with its own WebAssembly instance (and memory).
 * Throws {@link ErrEngineUnavailable} when the binary is missing or unusable.
 */
export function createWasmKernel(options: WasmEngineOptions = {}): WasmCrcKernel {
  return newKernel(loadCompiled(options));
}

/** Idle kernels per binary hash, shared by the engines of this thread. */
const idle = new Map<string, Kernel[]>();

function acquire(compiled: CompiledWasm): Kernel {
  return idle.get(compiled.sha256)?.pop() ?? newKernel(compiled);
}

function release(kernel: Kernel): void {
  let list = idle.get(kernel.sha256);
  if (!list) {
    list = [];
    idle.set(kernel.sha256, list);
  }
  if (list.length < MAX_IDLE_KERNELS) list.push(kernel);
}

/**
 * Creates the `wasm` engine. Throws {@link ErrEngineUnavailable} when
 * `assembly/build/nodehost.wasm` is missing (run `npm run build:wasm`) or is
 * not a working build of `assembly/`.
 */
export function createWasmEngine(options: WasmEngineOptions = {}): ChecksumEngine {
  const compiled = loadCompiled(options);
  // For crc32() on caller bytes; scans use kernels of their own.
  const utility = newKernel(compiled);
  const check = utility.crc32(CHECK_INPUT, 0);
  if (check !== CHECK_VALUE) {
    throw unavailable('the WebAssembly CRC-32 self-test failed; rebuild with `npm run build:wasm`', {
      check: 'wasm-self-test',
      expected: CHECK_VALUE,
      actual: check,
      sha256: compiled.sha256,
    });
  }
  const withKernel = async <T>(run: (kernel: Kernel) => Promise<T>): Promise<T> => {
    const kernel = acquire(compiled);
    try {
      return await run(kernel);
    } finally {
      // The scanner never leaves a read in flight, so the kernel's buffers are free again.
      release(kernel);
    }
  };
  return {
    name: 'wasm',
    crc32: (data, crc = 0) => utility.crc32(data, crc),
    scanPayload: (layout, opts) => withKernel((k) => scanPayloadWith(k, layout, opts)),
    copyAndScan: (layout, destPath, mode, opts) => withKernel((k) => copyAndScanWith(k, layout, destPath, mode, opts)),
  };
}
