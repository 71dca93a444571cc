/**
 * The generic WebAssembly loader: path resolution, the per-thread module
 * cache keyed by the binary's SHA-256, error codes, and use from a worker
 * thread that receives the compiled module from this thread.
 */
import { createHash } from 'node:crypto';
import { existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join, relative, resolve } from 'node:path';
import { pathToFileURL } from 'node:url';
import { Worker } from 'node:worker_threads';
import { crc32 as zlibCrc32 } from 'node:zlib';
import ts from 'typescript';
import { afterEach, describe, expect, it } from 'vitest';
import { ErrEngineUnavailable, ErrIO } from '../../src/errors.js';
import {
  adoptCompiledWasm,
  compileWasm,
  compileWasmSync,
  instantiateWasm,
  instantiateWasmSync,
  nodehostWasmPath,
  packagePath,
  wasmLoaderStats,
} from '../../src/engines/wasm-loader.js';
import { createWasmEngine, createWasmKernel, type NodehostWasmExports } from '../../src/engines/wasm.js';
import { PROJECT_ROOT } from '../helpers/snapshots.js';

const made: string[] = [];
afterEach(() => {
  for (const d of made.splice(0)) rmSync(d, { recursive: true, force: true });
});
function tempDir(): string {
  const d = mkdtempSync(join(tmpdir(), 'nht-wasm-'));
  made.push(d);
  return d;
}

/** The package's binary with a custom section appended: same code, other bytes, other hash. */
function variantBytes(tag: string): Uint8Array {
  const base = readFileSync(nodehostWasmPath());
  const name = Buffer.from(tag);
  const body = Buffer.concat([Buffer.of(name.length), name, Buffer.from('x')]);
  return Buffer.concat([base, Buffer.of(0, body.length), body]);
}

const sha256 = (b: Uint8Array): string => createHash('sha256').update(b).digest('hex');

describe('wasm loader paths', () => {
  it('resolves the binary under the package root, where npm run build:wasm writes it', () => {
    expect(packagePath('package.json')).toBe(join(PROJECT_ROOT, 'package.json'));
    expect(nodehostWasmPath()).toBe(join(PROJECT_ROOT, 'assembly/build/nodehost.wasm'));
    expect(existsSync(nodehostWasmPath())).toBe(true);
  });
});

describe('wasm loader cache', () => {
  it('compiles a binary once and answers later loads, by any path, from the cache', async () => {
    const path = nodehostWasmPath();
    const first = compileWasmSync(path);
    const before = wasmLoaderStats();
    const again = compileWasmSync(path);
    expect(again.module).toBe(first.module);
    expect(again.sha256).toBe(sha256(readFileSync(path)));

    const copy = join(tempDir(), 'copy.wasm');
    writeFileSync(copy, readFileSync(path));
    expect(compileWasmSync(copy).module).toBe(first.module);
    expect((await compileWasm(copy)).module).toBe(first.module);
    const after = wasmLoaderStats();
    expect(after.compiles).toBe(before.compiles);
    expect(after.cacheHits).toBe(before.cacheHits + 3);
  });

  it('keeps different binaries apart and tags every instance with its binary hash', async () => {
    const dir = tempDir();
    const pathA = join(dir, 'a.wasm');
    const pathB = join(dir, 'b.wasm');
    writeFileSync(pathA, variantBytes('variant-a'));
    writeFileSync(pathB, variantBytes('variant-b'));
    const before = wasmLoaderStats();
    // Two concurrent async loads of B share one compilation.
    const [b1, b2] = await Promise.all([compileWasm(pathB), compileWasm(pathB)]);
    const a = compileWasmSync(pathA);
    expect(wasmLoaderStats().compiles).toBe(before.compiles + 2);
    expect(b1.module).toBe(b2.module);
    expect(a.module).not.toBe(b1.module);
    expect(a.sha256).toBe(sha256(readFileSync(pathA)));
    expect(b1.sha256).toBe(sha256(readFileSync(pathB)));
    expect(a.sha256).not.toBe(b1.sha256);

    const ia = instantiateWasmSync<NodehostWasmExports>(a);
    const ib = await instantiateWasm<NodehostWasmExports>(b1);
    expect(ia.sha256).toBe(a.sha256);
    expect(ib.sha256).toBe(b1.sha256);
    expect(ia.exports.memory).not.toBe(ib.exports.memory);
    expect(createWasmKernel({ wasmPath: pathA }).sha256).toBe(a.sha256);
    expect(createWasmKernel({ compiled: b1 }).sha256).toBe(b1.sha256);

    // Both variants compute the same CRCs through engines of their own.
    const data = new TextEncoder().encode('nodehost-tools');
    expect(createWasmEngine({ wasmPath: pathA }).crc32(data)).toBe(zlibCrc32(data));
    expect(createWasmEngine({ compiled: b1 }).crc32(data)).toBe(zlibCrc32(data));
  });

  it('adopts a module compiled elsewhere only as a real { module, sha256 } pair', () => {
    const own = compileWasmSync(nodehostWasmPath());
    expect(adoptCompiledWasm(own).module).toBe(own.module);
    expect(() => adoptCompiledWasm({ module: {} as never, sha256: own.sha256 })).toThrow(ErrEngineUnavailable);
    expect(() => adoptCompiledWasm({ module: own.module, sha256: 'nope' })).toThrow(ErrEngineUnavailable);
  });
});

/**
 * A hand-assembled module with the engine's exports whose crc32 always
 * returns 0 and whose scratch always answers 1024 (memory: 8 pages).
 */
const WRONG_CRC_MODULE = Uint8Array.of(
  0x00,
  0x61,
  0x73,
  0x6d,
  0x01,
  0x00,
  0x00,
  0x00,
  // types: (i32 i32 i32) -> i32, (i32) -> i32
  0x01,
  0x0d,
  0x02,
  0x60,
  0x03,
  0x7f,
  0x7f,
  0x7f,
  0x01,
  0x7f,
  0x60,
  0x01,
  0x7f,
  0x01,
  0x7f,
  0x03,
  0x03,
  0x02,
  0x00,
  0x01, // functions
  0x05,
  0x03,
  0x01,
  0x00,
  0x08, // memory, 8 pages
  0x07,
  0x1c,
  0x03, // exports: crc32, scratch, memory
  0x05,
  0x63,
  0x72,
  0x63,
  0x33,
  0x32,
  0x00,
  0x00,
  0x07,
  0x73,
  0x63,
  0x72,
  0x61,
  0x74,
  0x63,
  0x68,
  0x00,
  0x01,
  0x06,
  0x6d,
  0x65,
  0x6d,
  0x6f,
  0x72,
  0x79,
  0x02,
  0x00,
  // code: i32.const 0 / i32.const 1024
  0x0a,
  0x0c,
  0x02,
  0x04,
  0x00,
  0x41,
  0x00,
  0x0b,
  0x05,
  0x00,
  0x41,
  0x80,
  0x08,
  0x0b,
);

describe('wasm loader errors', () => {
  it('reports a missing binary as ErrEngineUnavailable that says how to build it', async () => {
    const missing = join(tempDir(), 'nope.wasm');
    for (const load of [() => compileWasmSync(missing), () => createWasmEngine({ wasmPath: missing })]) {
      let err: unknown;
      try {
        load();
      } catch (e) {
        err = e;
      }
      expect(err).toBeInstanceOf(ErrEngineUnavailable);
      expect((err as ErrEngineUnavailable).message).toContain('npm run build:wasm');
      expect((err as ErrEngineUnavailable).details.path).toBe(missing);
      expect((err as ErrEngineUnavailable).details.check).toBe('wasm-missing');
    }
    await expect(compileWasm(missing)).rejects.toBeInstanceOf(ErrEngineUnavailable);
  });

  it('reports garbage as ErrEngineUnavailable and other read failures as ErrIO', async () => {
    const dir = tempDir();
    const junk = join(dir, 'junk.wasm');
    writeFileSync(junk, 'not wasm at all');
    expect(() => compileWasmSync(junk)).toThrow(ErrEngineUnavailable);
    await expect(compileWasm(junk)).rejects.toMatchObject({ code: 'ErrEngineUnavailable', details: { check: 'wasm-compile' } });
    expect(() => compileWasmSync(dir)).toThrow(ErrIO); // EISDIR
  });

  it('refuses a valid binary without the engine exports', () => {
    // The smallest valid module: magic + version, no sections.
    const path = join(tempDir(), 'empty.wasm');
    writeFileSync(path, Uint8Array.of(0, 0x61, 0x73, 0x6d, 1, 0, 0, 0));
    let err: unknown;
    try {
      createWasmEngine({ wasmPath: path });
    } catch (e) {
      err = e;
    }
    expect(err).toBeInstanceOf(ErrEngineUnavailable);
    expect((err as ErrEngineUnavailable).details.check).toBe('wasm-exports');
  });

  it('refuses a binary whose CRC fails the self-test', () => {
    const path = join(tempDir(), 'wrong.wasm');
    writeFileSync(path, WRONG_CRC_MODULE);
    expect(createWasmKernel({ wasmPath: path }).crc32(Uint8Array.of(1), 0)).toBe(0); // it loads and runs
    let err: unknown;
    try {
      createWasmEngine({ wasmPath: path });
    } catch (e) {
      err = e;
    }
    expect(err).toBeInstanceOf(ErrEngineUnavailable);
    expect((err as ErrEngineUnavailable).details).toMatchObject({ check: 'wasm-self-test', engine: 'wasm' });
  });
});

/**
 * Worker threads cannot run TypeScript: transpile src/engines/wasm.ts and
 * everything it imports into `root/src` (same layout as the package, like
 * dist/), and link `root/assembly` to the real one so the loader finds the
 * binary relative to its own file.
 */
function transpileTree(root: string, entry: string): string {
  const seen = new Set<string>();
  const visit = (file: string): void => {
    if (seen.has(file)) return;
    seen.add(file);
    const source = readFileSync(file, 'utf8');
    const out = ts.transpileModule(source, {
      compilerOptions: { module: ts.ModuleKind.ES2022, target: ts.ScriptTarget.ES2022, verbatimModuleSyntax: false },
      fileName: file,
    }).outputText;
    const dest = join(root, relative(PROJECT_ROOT, file)).replace(/\.ts$/, '.js');
    mkdirSync(dirname(dest), { recursive: true });
    writeFileSync(dest, out);
    for (const m of out.matchAll(/from\s+'(\.{1,2}\/[^']+)\.js'/g)) visit(resolve(dirname(file), `${m[1]!}.ts`));
  };
  visit(entry);
  writeFileSync(join(root, 'package.json'), '{"type":"module"}');
  symlinkSync(join(PROJECT_ROOT, 'assembly'), join(root, 'assembly'));
  return join(root, relative(PROJECT_ROOT, entry)).replace(/\.ts$/, '.js');
}

interface WorkerReply {
  crc: number;
  kernelCrc: number;
  sha256: string;
  stats: { compiles: number; cacheHits: number; adopted: number };
  error?: string;
}

describe('wasm in worker threads', () => {
  it('runs in a worker with the module compiled here and an instance of its own', async () => {
    const root = tempDir();
    const wasmJs = transpileTree(root, join(PROJECT_ROOT, 'src/engines/wasm.ts'));
    const loaderJs = join(dirname(wasmJs), 'wasm-loader.js');
    const compiled = compileWasmSync(nodehostWasmPath());
    const data = new Uint8Array(3 * 1024 * 1024 + 77).map((_, i) => (i * 131) ^ (i >>> 11));

    const code = `
      const { parentPort, workerData } = require('node:worker_threads');
      (async () => {
        try {
          const loader = await import(workerData.loaderUrl);
          const wasm = await import(workerData.wasmUrl);
          loader.adoptCompiledWasm(workerData.compiled);
          // Default path: resolved relative to the transpiled module, read, hashed, found in the cache.
          const engine = wasm.createWasmEngine();
          const kernel = wasm.createWasmKernel();
          const buf = kernel.buffer(workerData.data.length, 0);
          buf.set(workerData.data);
          parentPort.postMessage({
            crc: engine.crc32(workerData.data),
            kernelCrc: kernel.crc32(buf, 0),
            sha256: kernel.sha256,
            stats: loader.wasmLoaderStats(),
          });
        } catch (e) {
          parentPort.postMessage({ error: String(e && e.stack || e) });
        }
      })();`;
    const worker = new Worker(code, {
      eval: true,
      workerData: {
        compiled,
        data,
        loaderUrl: pathToFileURL(loaderJs).href,
        wasmUrl: pathToFileURL(wasmJs).href,
      },
    });
    const reply = await new Promise<WorkerReply>((res, rej) => {
      worker.once('message', res);
      worker.once('error', rej);
    });
    await worker.terminate();
    expect(reply.error).toBeUndefined();
    expect(reply.crc).toBe(zlibCrc32(data));
    expect(reply.kernelCrc).toBe(zlibCrc32(data));
    expect(reply.sha256).toBe(compiled.sha256);
    // Nothing compiled in the worker: the posted module was adopted and reused.
    expect(reply.stats).toEqual({ compiles: 0, cacheHits: 2, adopted: 1 });
  });
});
