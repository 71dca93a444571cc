import fs from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import zlib from 'node:zlib';

import { afterAll, beforeAll, describe, expect, it } from 'vitest';

import { ErrAborted, ErrInvalidConfig, ErrIO } from '../../src/errors.js';
import { createNativeEngine } from '../../src/engines/native.js';
import { loadNative } from '../../src/native/binding.js';
import type { ChecksumEngine, PayloadLayout } from '../../src/engines/types.js';
import { BLOCK, flip, HEADER_AREA, joinParts, pseudoRandom, tempDir, v1File, v2Parts, writeSnapshot } from '../native/v2file.js';

const golden = fileURLToPath(new URL('../../../shared/testdata/dragonboat-v1snapshot.gbsnap', import.meta.url));

let engine: ChecksumEngine;
let tmp: ReturnType<typeof tempDir>;
beforeAll(() => {
  engine = createNativeEngine();
  tmp = tempDir('nh-native-scan');
});
afterAll(() => tmp.cleanup());

let fileNo = 0;
function file(bytes: Buffer, version: 1 | 2): PayloadLayout {
  return writeSnapshot(tmp.dir, `f${fileNo++}.gbsnap`, bytes, version);
}

/** The raw binding with a small read size, so blocks straddle many reads. */
function scanSmallPieces(layout: PayloadLayout, pieceSize: number) {
  return loadNative()!.scanPayload({ ...layout, pieceSize });
}

describe('native scanPayload: v1', () => {
  it('the golden Dragonboat v1 file: CRC of the whole payload', async () => {
    const layout = { path: golden, version: 1, payloadOffset: 1024, fileSize: fs.statSync(golden).size } as const;
    expect(await engine.scanPayload(layout)).toEqual({ ok: true, payloadBytes: 184, blocks: 0, payloadChecksum: 0xeb500eb3 });
  });

  it('a multi-MiB v1 payload, and an empty one', async () => {
    const payload = pseudoRandom(5 * 1024 * 1024 + 3, 11);
    expect(await engine.scanPayload(file(v1File(payload), 1))).toEqual({
      ok: true,
      payloadBytes: payload.length,
      blocks: 0,
      payloadChecksum: zlib.crc32(payload),
    });
    expect(await engine.scanPayload(file(v1File(Buffer.alloc(0)), 1))).toEqual({
      ok: true,
      payloadBytes: 0,
      blocks: 0,
      payloadChecksum: 0,
    });
  });
});

describe('native scanPayload: v2 valid files', () => {
  const sizes = [1, 1000, BLOCK - 1, BLOCK, BLOCK + 1, 2 * BLOCK, 2 * BLOCK + 4, 3 * BLOCK + 12345];
  it.each(sizes)('payload of %i bytes', async (size) => {
    const payload = pseudoRandom(size, size);
    const parts = v2Parts(payload);
    const layout = file(joinParts(parts), 2);
    const want = { ok: true, payloadBytes: size, blocks: Math.ceil(size / BLOCK), payloadChecksum: parts.payloadChecksum };
    expect(await engine.scanPayload(layout)).toEqual(want);
    // Reads that split blocks, CRCs and the header area at odd places give the same answer.
    expect(await scanSmallPieces(layout, 4099)).toEqual(want);
    expect(layout.fileSize).toBe(1024 + size + 4 * Math.ceil(size / BLOCK) + 16);
  });
});

describe('native scanPayload: every v2 failure, with its offset and block', () => {
  const payload = pseudoRandom(3 * BLOCK + 100, 5);

  it('tail-size: too short for a tail', async () => {
    const bytes = Buffer.alloc(HEADER_AREA + 15);
    expect(await engine.scanPayload(file(bytes, 2))).toEqual({ ok: false, check: 'tail-size', offset: HEADER_AREA });
  });

  it('tail-magic', async () => {
    const parts = v2Parts(payload);
    flip(parts.tail, 15, 0x01);
    const bytes = joinParts(parts);
    expect(await engine.scanPayload(file(bytes, 2))).toEqual({ ok: false, check: 'tail-magic', offset: bytes.length - 8 });
  });

  it('tail-total', async () => {
    const parts = v2Parts(payload);
    const region = parts.blocks.reduce((n, b) => n + b.length, 0);
    parts.tail.writeBigUInt64LE(BigInt(region - 1), 0);
    const bytes = joinParts(parts);
    expect(await engine.scanPayload(file(bytes, 2))).toEqual({
      ok: false,
      check: 'tail-total',
      offset: bytes.length - 16,
      expected: region,
      actual: region - 1,
    });
  });

  it('block-layout: no block at all (tail total 0)', async () => {
    const parts = v2Parts(Buffer.alloc(0));
    expect(await engine.scanPayload(file(joinParts(parts), 2))).toEqual({
      ok: false,
      check: 'block-layout',
      offset: HEADER_AREA,
      block: 0,
    });
  });

  it.each([1, 2, 3, 4])('block-layout: %i byte(s) left after the full blocks', async (rest) => {
    const parts = v2Parts(pseudoRandom(2 * BLOCK, 8));
    const stub = Buffer.alloc(rest, 0xaa);
    const region = 2 * (BLOCK + 4) + rest;
    parts.tail.writeBigUInt64LE(BigInt(region), 0);
    const bytes = Buffer.concat([parts.header, ...parts.blocks, stub, parts.tail]);
    expect(await engine.scanPayload(file(bytes, 2))).toEqual({
      ok: false,
      check: 'block-layout',
      offset: HEADER_AREA + 2 * (BLOCK + 4),
      block: 2,
    });
  });

  it('block-crc: a flipped data byte in block 2', async () => {
    const parts = v2Parts(payload);
    flip(parts.blocks[2]!, 777, 0x40);
    const layout = file(joinParts(parts), 2);
    const want = {
      ok: false,
      check: 'block-crc',
      offset: HEADER_AREA + 2 * (BLOCK + 4) + BLOCK, // the stored CRC
      block: 2,
      expected: parts.blockCrcs[2],
      actual: zlib.crc32(parts.blocks[2]!.subarray(0, BLOCK)),
    };
    expect(await engine.scanPayload(layout)).toEqual(want);
    expect(await scanSmallPieces(layout, 4096)).toEqual(want);
  });

  it('block-crc: a damaged stored CRC in the last (short) block; the first bad block wins', async () => {
    const parts = v2Parts(payload);
    const last = parts.blocks[3]!;
    flip(last, last.length - 1, 0xff);
    let layout = file(joinParts(parts), 2);
    expect(await engine.scanPayload(layout)).toMatchObject({
      ok: false,
      check: 'block-crc',
      offset: HEADER_AREA + 3 * (BLOCK + 4) + 100,
      block: 3,
      expected: (parts.blockCrcs[3]! ^ 0xff) >>> 0,
      actual: parts.blockCrcs[3],
    });
    flip(parts.blocks[1]!, 0, 1);
    layout = file(joinParts(parts), 2);
    expect(await engine.scanPayload(layout)).toMatchObject({ check: 'block-crc', block: 1, offset: HEADER_AREA + BLOCK + 4 + BLOCK });
  });

  it('the tail is checked before any block', async () => {
    const parts = v2Parts(payload);
    flip(parts.blocks[0]!, 5, 1);
    parts.tail[8] = 0;
    const bytes = joinParts(parts);
    expect(await engine.scanPayload(file(bytes, 2))).toMatchObject({ check: 'tail-magic' });
  });

  it('file-changed: the size differs from the stat the caller made', async () => {
    const bytes = joinParts(v2Parts(payload));
    const layout = file(bytes, 2);
    expect(await engine.scanPayload({ ...layout, fileSize: bytes.length + 10 })).toEqual({
      ok: false,
      check: 'file-changed',
      offset: bytes.length,
      expected: bytes.length + 10,
      actual: bytes.length,
    });
    // v1 reads up to the size it was given, then finds the file longer.
    expect(await engine.scanPayload({ ...layout, fileSize: bytes.length - 1, version: 1 })).toEqual({
      ok: false,
      check: 'file-changed',
      offset: bytes.length - 1,
      expected: bytes.length - 1,
      actual: bytes.length,
    });
    // A copy that meets the end of the file early: removed, failure returned.
    const dest = path.join(tmp.dir, 'copy-changed.gbsnap');
    expect(await engine.copyAndScan({ ...layout, fileSize: bytes.length + 4096, version: 1 }, dest, 0o644)).toEqual({
      ok: false,
      check: 'file-changed',
      offset: bytes.length,
      expected: bytes.length + 4096,
      actual: bytes.length,
    });
    expect(fs.existsSync(dest)).toBe(false);
  });
});

describe('native copyAndScan', () => {
  const payload = pseudoRandom(2 * BLOCK + 999, 21);

  it('copies v2 byte for byte with the exact mode, and returns the scan', async () => {
    const parts = v2Parts(payload);
    const bytes = joinParts(parts);
    const layout = file(bytes, 2);
    const dest = path.join(tmp.dir, 'copy-v2.gbsnap');
    const old = process.umask(0o077);
    try {
      expect(await engine.copyAndScan(layout, dest, 0o640)).toEqual({
        ok: true,
        payloadBytes: payload.length,
        blocks: 3,
        payloadChecksum: parts.payloadChecksum,
      });
    } finally {
      process.umask(old);
    }
    expect(fs.readFileSync(dest).equals(bytes)).toBe(true);
    expect(fs.statSync(dest).mode & 0o7777).toBe(0o640);
  });

  it('copies v1 byte for byte, also with small reads', async () => {
    const bytes = v1File(payload);
    const layout = file(bytes, 1);
    const dest = path.join(tmp.dir, 'copy-v1.gbsnap');
    const res = await loadNative()!.scanPayload({ ...layout, destPath: dest, mode: 0o600, pieceSize: 4096 });
    expect(res).toEqual({ ok: true, payloadBytes: payload.length, blocks: 0, payloadChecksum: zlib.crc32(payload) });
    expect(fs.readFileSync(dest).equals(bytes)).toBe(true);
  });

  it('a failed check removes the copy and returns the failure', async () => {
    const parts = v2Parts(payload);
    flip(parts.blocks[1]!, 100, 8);
    const layout = file(joinParts(parts), 2);
    const dest = path.join(tmp.dir, 'copy-bad.gbsnap');
    expect(await engine.copyAndScan(layout, dest, 0o644)).toMatchObject({ ok: false, check: 'block-crc', block: 1 });
    expect(fs.existsSync(dest)).toBe(false);
    const parts2 = v2Parts(payload);
    flip(parts2.tail, 9, 1);
    expect(await engine.copyAndScan(file(joinParts(parts2), 2), dest, 0o644)).toMatchObject({ check: 'tail-magic' });
    expect(fs.existsSync(dest)).toBe(false);
  });

  it('refuses an existing destination and leaves it as it was', async () => {
    const layout = file(joinParts(v2Parts(payload)), 2);
    const dest = path.join(tmp.dir, 'exists.gbsnap');
    fs.writeFileSync(dest, 'keep me');
    const err = await engine.copyAndScan(layout, dest, 0o644).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(ErrIO);
    expect((err as ErrIO).details).toMatchObject({ path: dest, syscall: 'open', errno: 'EEXIST' });
    expect(fs.readFileSync(dest, 'utf8')).toBe('keep me');
  });

  it('a missing source is ErrIO with ENOENT and creates nothing', async () => {
    const dest = path.join(tmp.dir, 'never.gbsnap');
    const missing = path.join(tmp.dir, 'missing.gbsnap');
    const err = await engine
      .copyAndScan({ path: missing, version: 2, payloadOffset: 1024, fileSize: 5000 }, dest, 0o644)
      .catch((e: unknown) => e);
    expect(err).toBeInstanceOf(ErrIO);
    expect((err as ErrIO).details).toMatchObject({ path: missing, errno: 'ENOENT' });
    expect(fs.existsSync(dest)).toBe(false);
  });
});

describe('native scan: progress, abort, bad layouts', () => {
  it('reports progress up to the file size', async () => {
    const parts = v2Parts(pseudoRandom(40 * 1024 * 1024, 4));
    const layout = file(joinParts(parts), 2);
    const calls: Array<[number, number]> = [];
    const res = await engine.scanPayload(layout, { onProgress: (d, t) => calls.push([d, t]) });
    expect(res.ok).toBe(true);
    expect(calls.length).toBeGreaterThanOrEqual(1);
    expect(calls.at(-1)).toEqual([layout.fileSize, layout.fileSize]);
    for (let i = 1; i < calls.length; i++) expect(calls[i]![0]).toBeGreaterThanOrEqual(calls[i - 1]![0]);
    expect(calls.every(([, t]) => t === layout.fileSize)).toBe(true);
  });

  it('a throwing progress callback ends the scan with its error', async () => {
    const layout = file(joinParts(v2Parts(pseudoRandom(3 * BLOCK, 6))), 2);
    const boom = new Error('progress failed');
    await expect(
      engine.scanPayload(layout, {
        onProgress: () => {
          throw boom;
        },
      }),
    ).rejects.toBe(boom);
  });

  it('an already aborted signal: ErrAborted, nothing created', async () => {
    const layout = file(joinParts(v2Parts(pseudoRandom(1000, 1))), 2);
    const dest = path.join(tmp.dir, 'aborted-early.gbsnap');
    const err = await engine.copyAndScan(layout, dest, 0o644, { signal: AbortSignal.abort(new Error('stop')) }).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(ErrAborted);
    expect(fs.existsSync(dest)).toBe(false);
  });

  it('aborting a running copy: ErrAborted and the partial copy is removed', async () => {
    // 64 MiB in 4 KiB reads: far longer than the synchronous abort() below takes.
    const layout = file(joinParts(v2Parts(pseudoRandom(64 * 1024 * 1024, 2))), 2);
    const dest = path.join(tmp.dir, 'aborted-copy.gbsnap');
    const ctl = new AbortController();
    const token = new (loadNative()!.CancelToken)();
    const running = loadNative()!.scanPayload({ ...layout, destPath: dest, mode: 0o644, pieceSize: 4096 }, token);
    token.cancel();
    await expect(running).rejects.toMatchObject({ kind: 'aborted' });
    expect(fs.existsSync(dest)).toBe(false);
    // Through the engine and an AbortSignal.
    const viaEngine = engine.copyAndScan(layout, dest, 0o644, { signal: ctl.signal });
    ctl.abort(new Error('operator'));
    const err = await viaEngine.catch((e: unknown) => e);
    expect(err).toBeInstanceOf(ErrAborted);
    expect((err as ErrAborted).cause).toEqual(new Error('operator'));
    expect(fs.existsSync(dest)).toBe(false);
  });

  it('bad layouts are ErrInvalidConfig', async () => {
    const base = { path: golden, version: 1, payloadOffset: 1024, fileSize: 1208 } as const;
    for (const bad of [
      { ...base, version: 3 },
      { ...base, payloadOffset: -1 },
      { ...base, fileSize: 1000 },
      { ...base, path: '' },
    ]) {
      await expect(engine.scanPayload(bad as unknown as PayloadLayout)).rejects.toBeInstanceOf(ErrInvalidConfig);
    }
    await expect(engine.copyAndScan(base, path.join(tmp.dir, 'x'), 0o10000)).rejects.toBeInstanceOf(ErrInvalidConfig);
  });
});
