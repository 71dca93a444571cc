/**
 * Shared test helpers for `.gbsnap` files: temp dirs (payloads: ./payload.ts),
 * v1/v2 files written by our writers, the golden Dragonboat file, byte-level
 * corruption, and an assertion for named snapshot failures.
 *
 * Typical use:
 *
 * ```ts
 * const dirs = tempDirs();                 // registers afterEach cleanup
 * const dir = dirs.make();
 * const { path } = await writeV2(dir, payload(V2_BLOCK_SIZE + 1));
 * flipByte(path, blockCrcOffset(0, V2_BLOCK_SIZE + 1));
 * await expectIncomplete(verifySnapshotFile(path, { engine }), 'block-crc');
 * ```
 */
import { closeSync, copyFileSync, mkdtempSync, openSync, readFileSync, readSync, rmSync, statSync, truncateSync, writeSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterEach, expect } from 'vitest';
import { ErrIncompleteSnapshot, type NodeHostToolsError } from '../../src/errors.js';
import { V2_BLOCK_SIZE, V2_FULL_BLOCK_SIZE, v2BlockCount, v2BlockOffset } from '../../src/snapshot/layout.js';
import {
  writeV1SnapshotFile,
  writeV2SnapshotFile,
  type SnapshotWriteResult,
  type SnapshotWriterOptions,
} from '../../src/snapshot/writer.js';

/** The project root (where package.json is). */
export const PROJECT_ROOT = resolve(dirname(fileURLToPath(import.meta.url)), '../..');

/** The golden v1 file written by Dragonboat (read-only; never copy it into the project). */
export const GOLDEN_V1_PATH = resolve(PROJECT_ROOT, '../shared/testdata/dragonboat-v1snapshot.gbsnap');

/**
 * Temp directories removed after each test. Call once at the top of a test
 * file (or a describe block); `make()` creates a fresh directory.
 */
export function tempDirs(prefix = 'nht-snap-'): { make(): string } {
  const made: string[] = [];
  afterEach(() => {
    for (const d of made.splice(0)) rmSync(d, { recursive: true, force: true });
  });
  return {
    make() {
      const d = mkdtempSync(join(tmpdir(), prefix));
      made.push(d);
      return d;
    },
  };
}

/** Writes a v2 file named `name` in `dir` with our writer. */
export async function writeV2(
  dir: string,
  data: Uint8Array,
  name = 'snapshot-0000000000000001.gbsnap',
  opts: SnapshotWriterOptions = {},
): Promise<SnapshotWriteResult> {
  return writeV2SnapshotFile(join(dir, name), data, opts);
}

/** Writes a v1 file named `name` in `dir` with our writer. */
export async function writeV1(
  dir: string,
  data: Uint8Array,
  name = 'snapshot-0000000000000001.gbsnap',
  opts: SnapshotWriterOptions = {},
): Promise<SnapshotWriteResult> {
  return writeV1SnapshotFile(join(dir, name), data, opts);
}

/** Copies the golden file into `dir` (e.g. to corrupt it); returns the copy's path. */
export function copyGolden(dir: string, name = 'snapshot-0000000000000001.gbsnap'): string {
  const dest = join(dir, name);
  copyFileSync(GOLDEN_V1_PATH, dest);
  return dest;
}

/** Offset of block `i`'s stored CRC in a v2 file holding `payloadBytes`. */
export function blockCrcOffset(i: number, payloadBytes: number): number {
  const blocks = v2BlockCount(payloadBytes);
  if (i < 0 || i >= blocks) throw new RangeError(`block ${i} of ${blocks}`);
  const data = i < blocks - 1 ? V2_BLOCK_SIZE : payloadBytes - (blocks - 1) * V2_BLOCK_SIZE;
  return v2BlockOffset(i) + data;
}

/** Offset of the first data byte of block `i` (re-exported for symmetry). */
export const blockDataOffset = v2BlockOffset;
export { V2_BLOCK_SIZE, V2_FULL_BLOCK_SIZE };

/** Reads the byte at `offset`. */
export function readByte(path: string, offset: number): number {
  const fd = openSync(path, 'r');
  try {
    const b = Buffer.alloc(1);
    readSync(fd, b, 0, 1, offset);
    return b[0]!;
  } finally {
    closeSync(fd);
  }
}

/** Overwrites bytes at `offset` in place. */
export function patchBytes(path: string, offset: number, bytes: Uint8Array): void {
  const fd = openSync(path, 'r+');
  try {
    writeSync(fd, bytes, 0, bytes.length, offset);
  } finally {
    closeSync(fd);
  }
}

/** XORs the byte at `offset` with `mask` (default: every bit). */
export function flipByte(path: string, offset: number, mask = 0xff): void {
  patchBytes(path, offset, Uint8Array.of(readByte(path, offset) ^ mask));
}

/** Cuts the last `n` bytes off the file. */
export function truncateBy(path: string, n = 1): void {
  truncateSync(path, statSync(path).size - n);
}

/** Appends `n` bytes of `fill` to the file. */
export function extendBy(path: string, n = 1, fill = 0): void {
  patchBytes(path, statSync(path).size, new Uint8Array(n).fill(fill));
}

/** Size of a file in bytes. */
export function sizeOf(path: string): number {
  return statSync(path).size;
}

/** The whole file (small files only). */
export function readAll(path: string): Uint8Array {
  return new Uint8Array(readFileSync(path));
}

/**
 * Whether two byte arrays are equal. Use `expect(sameBytes(a, b)).toBe(true)`
 * for anything large: `toEqual` on megabyte arrays takes seconds.
 */
export function sameBytes(a: Uint8Array, b: Uint8Array): boolean {
  return Buffer.from(a.buffer, a.byteOffset, a.byteLength).equals(Buffer.from(b.buffer, b.byteOffset, b.byteLength));
}

/**
 * Awaits `p`, expects it to reject with {@link ErrIncompleteSnapshot} whose
 * `details.check` is `check` (or one of `check`), and returns the error.
 */
export async function expectIncomplete(p: Promise<unknown>, check: string | string[]): Promise<ErrIncompleteSnapshot> {
  let err: unknown;
  try {
    await p;
  } catch (e) {
    err = e;
  }
  expect(err, `expected ErrIncompleteSnapshot(${String(check)})`).toBeInstanceOf(ErrIncompleteSnapshot);
  const e = err as ErrIncompleteSnapshot;
  const checks = Array.isArray(check) ? check : [check];
  expect(checks, `${e.message}`).toContain(e.details.check);
  return e;
}

/** Like {@link expectIncomplete} for synchronous code, any coded error class. */
export function expectCoded<T extends NodeHostToolsError>(fn: () => unknown, cls: abstract new (...a: never[]) => T, check?: string): T {
  let err: unknown;
  try {
    fn();
  } catch (e) {
    err = e;
  }
  expect(err).toBeInstanceOf(cls);
  if (check !== undefined) expect((err as T).details.check, (err as T).message).toBe(check);
  return err as T;
}
