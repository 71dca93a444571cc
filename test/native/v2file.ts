/**
 * A tiny `.gbsnap` builder for the native engine's tests: a 1024-byte header
 * area (the engines never parse it), then the v1 payload or the v2 blocks and
 * tail of docs/formats.md §3, CRCs from Node's zlib.crc32.
 */
import crypto from 'node:crypto';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import zlib from 'node:zlib';

export const BLOCK = 2 * 1024 * 1024;
export const HEADER_AREA = 1024;
export const MAGIC = Buffer.from([0x3f, 0x5b, 0xcb, 0xf1, 0xfa, 0xba, 0x81, 0x9f]);

/** Deterministic pseudo-random bytes (a seeded hash chain; fast enough for tens of MiB). */
export function pseudoRandom(size: number, seed = 1): Buffer {
  const out = Buffer.allocUnsafe(size);
  let block = crypto.createHash('sha256').update(`seed-${seed}`).digest();
  for (let off = 0; off < size; off += block.length) {
    block.copy(out, off, 0, Math.min(block.length, size - off));
    if ((off & 0xffff) === 0) block = crypto.createHash('sha256').update(block).digest();
    else flip(block, off & 31, off & 0xff);
  }
  return out;
}

/** XORs `mask` into byte `i`: the tests' way of corrupting one byte. */
export function flip(b: Uint8Array, i: number, mask: number): void {
  b[i] = (b[i] ?? 0) ^ mask;
}

function headerArea(): Buffer {
  const h = Buffer.alloc(HEADER_AREA);
  // Looks like a real header length; the payload engines ignore it.
  h.writeBigUInt64LE(12n, 0);
  h.write('not-parsed!!', 8);
  return h;
}

/** The parts of a v2 file, kept apart so tests can corrupt any of them. */
export interface V2Parts {
  header: Buffer;
  /** data || crc(4, big-endian) per block. */
  blocks: Buffer[];
  tail: Buffer;
  /** CRC of the concatenated block CRCs. */
  payloadChecksum: number;
  blockCrcs: number[];
}

export function v2Parts(payload: Buffer): V2Parts {
  const blocks: Buffer[] = [];
  const crcs: Buffer[] = [];
  const blockCrcs: number[] = [];
  for (let off = 0; off < payload.length; off += BLOCK) {
    const data = payload.subarray(off, Math.min(off + BLOCK, payload.length));
    const crc = Buffer.alloc(4);
    const value = zlib.crc32(data);
    crc.writeUInt32BE(value);
    blockCrcs.push(value);
    crcs.push(crc);
    blocks.push(Buffer.concat([data, crc]));
  }
  const total = blocks.reduce((n, b) => n + b.length, 0);
  const tail = Buffer.alloc(16);
  tail.writeBigUInt64LE(BigInt(total), 0);
  MAGIC.copy(tail, 8);
  return { header: headerArea(), blocks, tail, payloadChecksum: zlib.crc32(Buffer.concat(crcs)), blockCrcs };
}

export function joinParts(p: V2Parts): Buffer {
  return Buffer.concat([p.header, ...p.blocks, p.tail]);
}

export function v1File(payload: Buffer): Buffer {
  return Buffer.concat([headerArea(), payload]);
}

/** A temp directory removed by the returned cleanup. */
export function tempDir(prefix: string): { dir: string; cleanup: () => void } {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), `${prefix}-`));
  return { dir, cleanup: () => fs.rmSync(dir, { recursive: true, force: true }) };
}

/** Writes `bytes` to dir/name and returns the layout the engines take. */
export function writeSnapshot(dir: string, name: string, bytes: Buffer, version: 1 | 2) {
  const file = path.join(dir, name);
  fs.writeFileSync(file, bytes);
  return { path: file, version, payloadOffset: HEADER_AREA, fileSize: bytes.length } as const;
}
