/**
 * The `wasm` engine end to end: scanPayload and copyAndScan on real v1/v2
 * files, good and corrupt, give exactly the js engine's verdicts (same check,
 * offset, block, values), also with several scans running at once.
 */
import { existsSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { ErrAborted } from '../../src/errors.js';
import { createJsEngine } from '../../src/engines/js.js';
import type { ChecksumEngine, PayloadLayout } from '../../src/engines/types.js';
import { createWasmEngine } from '../../src/engines/wasm.js';
import {
  GOLDEN_V1_PATH,
  V2_BLOCK_SIZE,
  blockCrcOffset,
  blockDataOffset,
  extendBy,
  flipByte,
  patchBytes,
  readAll,
  tempDirs,
  truncateBy,
  writeV1,
  writeV2,
} from '../helpers/snapshots.js';
import { payload } from '../helpers/payload.js';

const dirs = tempDirs('nht-wasm-engine-');
const wasm = createWasmEngine();
const js = createJsEngine();

function layoutOf(path: string, version: 1 | 2): PayloadLayout {
  return { path, version, payloadOffset: 1024, fileSize: statSync(path).size };
}

/** A v2 file with `size` payload bytes, then `corrupt` applied to it. */
async function v2File(size: number, corrupt?: (path: string) => void, seed = 1): Promise<string> {
  const { path } = await writeV2(dirs.make(), payload(size, seed));
  corrupt?.(path);
  return path;
}

async function sameVerdict(layout: PayloadLayout): Promise<Awaited<ReturnType<ChecksumEngine['scanPayload']>>> {
  const got = await wasm.scanPayload(layout);
  expect(got).toEqual(await js.scanPayload(layout));
  return got;
}

describe('wasm engine scanPayload', () => {
  it('is named wasm', () => {
    expect(wasm.name).toBe('wasm');
  });

  it('agrees with the js engine on good v2 files of every block shape', async () => {
    for (const size of [1, 4096, V2_BLOCK_SIZE - 1, V2_BLOCK_SIZE, V2_BLOCK_SIZE + 1, 2 * V2_BLOCK_SIZE + 70_001]) {
      const path = await v2File(size, undefined, size);
      const scan = await sameVerdict(layoutOf(path, 2));
      expect(scan.ok, `size ${size}`).toBe(true);
      if (scan.ok) {
        expect(scan.payloadBytes).toBe(size);
        expect(scan.blocks).toBe(Math.ceil(size / V2_BLOCK_SIZE));
      }
    }
  });

  it('agrees with the js engine on v1 files, the golden Dragonboat file included', async () => {
    const { path, payloadChecksum } = await writeV1(dirs.make(), payload(3 * 1024 * 1024 + 5, 9));
    const scan = await sameVerdict(layoutOf(path, 1));
    expect(scan).toMatchObject({ ok: true, payloadChecksum: Buffer.from(payloadChecksum).readUInt32BE(0) });
    expect((await sameVerdict(layoutOf(GOLDEN_V1_PATH, 1))).ok).toBe(true);
  });

  it('names the same failure as the js engine for every kind of damage', async () => {
    const size = 2 * V2_BLOCK_SIZE + 1000;
    const cases: Array<[string, (p: string) => void]> = [
      ['block-crc', (p) => flipByte(p, blockDataOffset(1) + 12345, 0x01)],
      ['block-crc', (p) => flipByte(p, blockCrcOffset(2, size), 0x80)],
      ['tail-magic', (p) => flipByte(p, statSync(p).size - 1)],
      ['tail-total', (p) => patchBytes(p, statSync(p).size - 16, Uint8Array.of(1, 2, 3))],
      ['tail-magic', (p) => truncateBy(p, 17)],
      ['tail-magic', (p) => extendBy(p, 3)],
    ];
    for (const [check, corrupt] of cases) {
      const scan = await sameVerdict(layoutOf(await v2File(size, corrupt), 2));
      expect(scan.ok).toBe(false);
      if (!scan.ok) expect(scan.check).toBe(check);
    }
    // A file far too short for a tail.
    const tiny = await v2File(10, (p) => truncateBy(p, statSync(p).size - 1030));
    expect(await sameVerdict(layoutOf(tiny, 2))).toMatchObject({ ok: false, check: 'tail-size' });
    // The file shrank after it was stat'ed.
    const shrunk = await v2File(size);
    const layout = layoutOf(shrunk, 2);
    truncateBy(shrunk, 100);
    expect((await sameVerdict(layout)).ok).toBe(false);
  });

  it('runs several scans at once without mixing their buffers', async () => {
    const sizes = [V2_BLOCK_SIZE * 3 + 1, V2_BLOCK_SIZE + 7, 5 * V2_BLOCK_SIZE, 999];
    const paths = await Promise.all(sizes.map((s, i) => v2File(s, i === 1 ? (p) => flipByte(p, 5000) : undefined, 40 + i)));
    const layouts = paths.map((p) => layoutOf(p, 2));
    const together = await Promise.all(layouts.map((l) => wasm.scanPayload(l)));
    const alone = [];
    for (const l of layouts) alone.push(await js.scanPayload(l));
    expect(together).toEqual(alone);
    expect(together.map((s) => s.ok)).toEqual([true, false, true, true]);
  });

  it('stops on abort with ErrAborted', async () => {
    const path = await v2File(V2_BLOCK_SIZE + 1);
    const ac = new AbortController();
    ac.abort();
    await expect(wasm.scanPayload(layoutOf(path, 2), { signal: ac.signal })).rejects.toBeInstanceOf(ErrAborted);
  });
});

describe('wasm engine copyAndScan', () => {
  it('copies a good file byte for byte with the js engine verdict', async () => {
    const path = await v2File(2 * V2_BLOCK_SIZE + 3);
    const dest = join(dirs.make(), 'copy.gbsnap');
    const layout = layoutOf(path, 2);
    const scan = await wasm.copyAndScan(layout, dest, 0o600);
    expect(scan).toEqual(await js.scanPayload(layout));
    expect(scan.ok).toBe(true);
    // Buffer.compare: deep equality on MiB-sized arrays is very slow in expect.
    expect(Buffer.compare(readAll(dest), readAll(path))).toBe(0);
    expect(statSync(dest).mode & 0o777).toBe(0o600);
  });

  it('removes the copy and names the failure when a block is bad', async () => {
    const path = await v2File(V2_BLOCK_SIZE + 3, (p) => flipByte(p, blockDataOffset(1) + 1));
    const dest = join(dirs.make(), 'copy.gbsnap');
    const layout = layoutOf(path, 2);
    const scan = await wasm.copyAndScan(layout, dest, 0o644);
    expect(scan).toEqual(await js.scanPayload(layout));
    expect(scan).toMatchObject({ ok: false, check: 'block-crc', block: 1 });
    expect(existsSync(dest)).toBe(false);
  });
});
