/**
 * Every engine gives the same verdict and the same named failure (check,
 * offset, block, expected, actual) through the full verifier, for every
 * payload size at the 2 MiB block edges and every corruption class, and the
 * same copy for copy-and-verify.
 */
import { createHash } from 'node:crypto';
import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { NodeHostToolsError } from '../../src/errors.js';
import { getEngine } from '../../src/engines/select.js';
import type { EngineName } from '../../src/engines/types.js';
import { copySnapshotFile, verifySnapshotFile } from '../../src/snapshot/verify.js';
import {
  blockCrcOffset,
  blockDataOffset,
  extendBy,
  flipByte,
  sizeOf,
  tempDirs,
  truncateBy,
  writeV1,
  writeV2,
  V2_BLOCK_SIZE,
} from '../helpers/snapshots.js';
import { payload } from '../helpers/payload.js';

const ENGINES: EngineName[] = ['native', 'wasm', 'js'];
const MiB2 = V2_BLOCK_SIZE;
const SIZES = [1, MiB2 - 1, MiB2, MiB2 + 1, 3 * MiB2 - 1, 3 * MiB2, 3 * MiB2 + 1];

type Corruption = [name: string, apply: (path: string, payloadBytes: number) => void];
const blocksOf = (n: number): number => Math.ceil(n / MiB2);
const CORRUPTIONS: Corruption[] = [
  ['intact', () => undefined],
  ['first block data', (p) => flipByte(p, blockDataOffset(0), 0x01)],
  ['last block data', (p, n) => flipByte(p, blockDataOffset(blocksOf(n) - 1) + ((n - 1) % MiB2), 0x80)],
  ['middle block CRC', (p, n) => flipByte(p, blockCrcOffset(Math.floor(blocksOf(n) / 2), n) + 2, 0x10)],
  ['tail magic', (p) => flipByte(p, sizeOf(p) - 1, 0x01)],
  ['tail total', (p) => flipByte(p, sizeOf(p) - 16, 0x04)],
  ['truncated by one byte', (p) => truncateBy(p, 1)],
  ['extended by one byte', (p) => extendBy(p, 1)],
  ['header checksum', (p) => flipByte(p, 20, 0x01)],
];

/** The outcome of one verification, as data comparable across engines. */
async function outcome(run: () => Promise<unknown>): Promise<Record<string, unknown>> {
  try {
    await run();
    return { ok: true };
  } catch (err) {
    if (!(err instanceof NodeHostToolsError)) throw err;
    const { check, offset, block, expected, actual } = err.details;
    return { ok: false, code: err.code, check, offset, block, expected, actual };
  }
}

describe.each(SIZES)('payload of %i bytes', (size) => {
  const dirs = tempDirs('nht-diff-');
  const data = payload(size, size);

  it.each(CORRUPTIONS)('%s: every engine agrees', async (_name, corrupt) => {
    const dir = dirs.make();
    const written = await writeV2(dir, data);
    const file = join(dir, 'snapshot-0000000000000001.gbsnap');
    corrupt(file, size);
    const expectRecord = { expectedFileSize: written.fileSize, expectedChecksum: written.payloadChecksum };
    const results: Record<string, unknown>[] = [];
    for (const name of ENGINES) {
      const engine = getEngine(name);
      const verified = await outcome(() => verifySnapshotFile(file, { engine, ...expectRecord }));
      const copy = join(dir, `copy-${name}`);
      const copied = await outcome(() => copySnapshotFile(file, copy, { engine, mode: 0o640, ...expectRecord }));
      expect(copied, `${name}: copy-and-verify agrees with verify`).toEqual(verified);
      expect(existsSync(copy), `${name}: a failed copy leaves nothing`).toBe(verified.ok === true);
      if (verified.ok) expect(readFileSync(copy).equals(readFileSync(file))).toBe(true);
      results.push(verified);
    }
    expect(results[1], 'wasm agrees with native').toEqual(results[0]);
    expect(results[2], 'js agrees with native').toEqual(results[0]);
    if (_name === 'intact') expect(results[0]).toEqual({ ok: true });
    else expect(results[0]!.ok).toBe(false);
  });
});

describe.each([1, MiB2 - 1, MiB2 + 1, 3 * MiB2 + 1, 5 * MiB2 + 7])('v1 payload of %i bytes', (size) => {
  const dirs = tempDirs('nht-diff1-');
  const data = payload(size, size + 1);

  it.each([
    ['intact', (): void => undefined],
    ['first byte', (p: string): void => flipByte(p, 1024, 0x01)],
    ['last byte', (p: string): void => flipByte(p, 1024 + size - 1, 0x80)],
  ] as const)('%s: every engine agrees', async (name, corrupt) => {
    const dir = dirs.make();
    const written = await writeV1(dir, data);
    const file = join(dir, 'snapshot-0000000000000001.gbsnap');
    corrupt(file);
    const results: Record<string, unknown>[] = [];
    for (const engine of ENGINES) {
      results.push(
        await outcome(() =>
          verifySnapshotFile(file, {
            engine: getEngine(engine),
            expectedFileSize: written.fileSize,
            expectedChecksum: written.payloadChecksum,
          }),
        ),
      );
    }
    expect(results[1]).toEqual(results[0]);
    expect(results[2]).toEqual(results[0]);
    expect(results[0]).toEqual(name === 'intact' ? { ok: true } : expect.objectContaining({ ok: false, check: 'v1-payload-checksum' }));
  });
});

describe('SHA-256 computed in the copy pass', () => {
  const dirs = tempDirs('nht-diff-sha-');
  it.each(SIZES)("payload of %i bytes: every engine gives node:crypto's digest of the file", async (size) => {
    const dir = dirs.make();
    const written = await writeV2(dir, payload(size, size + 3));
    const file = join(dir, 'snapshot-0000000000000001.gbsnap');
    const bytes = readFileSync(file);
    const want = createHash('sha256').update(bytes).digest('hex');
    for (const name of ENGINES) {
      const engine = getEngine(name);
      const layout = { path: file, version: 2 as const, payloadOffset: 1024, fileSize: bytes.length };
      const scanned = await engine.scanPayload(layout, { sha256: true });
      expect(scanned, name).toMatchObject({ ok: true, sha256: want });
      const copied = await engine.copyAndScan(layout, join(dir, `copy-${name}`), 0o600, { sha256: true });
      expect(copied, name).toMatchObject({ ok: true, sha256: want });
    }
    void written;
  });
});
