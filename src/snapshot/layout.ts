/**
 * v2 `.gbsnap` geometry (docs/formats.md §3): `[1024-byte header area]`, then
 * blocks of `data (2 MiB, last one shorter and never empty) || CRC32 BE`,
 * then the 16-byte tail `uint64le total || magic`. Pure arithmetic.
 *
 * Sizes are JS numbers: exact up to 2^53 bytes, far beyond any snapshot.
 */
import { HEADER_AREA_SIZE, V2_BLOCK_SIZE, V2_TAIL_MAGIC, V2_TAIL_SIZE, type PayloadScanFailure } from '../engines/types.js';

export { HEADER_AREA_SIZE, V2_BLOCK_SIZE, V2_TAIL_MAGIC, V2_TAIL_SIZE };

/** Size of one block's stored CRC. */
export const BLOCK_CRC_SIZE = 4;
/** A full block on disk: 2 MiB of data and its CRC. */
export const V2_FULL_BLOCK_SIZE = V2_BLOCK_SIZE + BLOCK_CRC_SIZE;
/** Largest marshaled header that leaves room for the 4-byte header CRC slot in the header area. */
export const MAX_HEADER_LENGTH = HEADER_AREA_SIZE - 8 - 4;

/** Number of blocks holding `payloadBytes` data bytes: ceil(P / 2 MiB). */
export function v2BlockCount(payloadBytes: number): number {
  return Math.ceil(payloadBytes / V2_BLOCK_SIZE);
}

/** Bytes of all blocks, CRCs included (the tail's `total`): P + 4·ceil(P / 2 MiB). */
export function v2RegionSize(payloadBytes: number): number {
  return payloadBytes + BLOCK_CRC_SIZE * v2BlockCount(payloadBytes);
}

/** On-disk size of a v2 file with `payloadBytes` data bytes: 1024 + P + 4·ceil(P / 2 MiB) + 16. */
export function v2FileSize(payloadBytes: number): number {
  return HEADER_AREA_SIZE + v2RegionSize(payloadBytes) + V2_TAIL_SIZE;
}

/** File offset of block `i`'s first data byte. */
export function v2BlockOffset(i: number): number {
  return HEADER_AREA_SIZE + i * V2_FULL_BLOCK_SIZE;
}

/** How a block region of some size splits into blocks. */
export type RegionSplit =
  | { ok: true; blocks: number; payloadBytes: number; lastBlockData: number }
  /** `block`: the block that cannot be complete; `offset`: where it starts. */
  | { ok: false; block: number; offset: number };

/**
 * Splits a region of `regionBytes` (bytes between header area and tail) into
 * blocks. It fails when the region is empty (no block at all: a snapshot
 * always holds at least its session table, and Dragonboat's own import check
 * refuses such a file) or when its last block would hold no data byte.
 */
export function splitV2Region(regionBytes: number): RegionSplit {
  const full = Math.floor(regionBytes / V2_FULL_BLOCK_SIZE);
  const rest = regionBytes - full * V2_FULL_BLOCK_SIZE;
  if (regionBytes === 0) return { ok: false, block: 0, offset: HEADER_AREA_SIZE };
  if (rest === 0) return { ok: true, blocks: full, payloadBytes: full * V2_BLOCK_SIZE, lastBlockData: V2_BLOCK_SIZE };
  if (rest <= BLOCK_CRC_SIZE) return { ok: false, block: full, offset: v2BlockOffset(full) };
  return { ok: true, blocks: full + 1, payloadBytes: full * V2_BLOCK_SIZE + rest - BLOCK_CRC_SIZE, lastBlockData: rest - BLOCK_CRC_SIZE };
}

/** The 16-byte v2 tail, decoded. */
export interface V2Tail {
  /** Declared bytes of all blocks including their CRCs. */
  total: bigint;
  magicOk: boolean;
}

/** Decodes a 16-byte tail. */
export function parseV2Tail(tail: Uint8Array): V2Tail {
  const view = new DataView(tail.buffer, tail.byteOffset, tail.byteLength);
  let magicOk = tail.length === V2_TAIL_SIZE;
  for (let i = 0; magicOk && i < 8; i++) magicOk = tail[8 + i] === V2_TAIL_MAGIC[i];
  return { total: view.getBigUint64(0, true), magicOk };
}

/** Encodes the tail for a region of `total` bytes. */
export function encodeV2Tail(total: number): Uint8Array {
  const tail = new Uint8Array(V2_TAIL_SIZE);
  new DataView(tail.buffer).setBigUint64(0, BigInt(total), true);
  tail.set(V2_TAIL_MAGIC, 8);
  return tail;
}

/** A v2 file whose tail and block layout check out. */
export interface V2Geometry {
  ok: true;
  blocks: number;
  payloadBytes: number;
  /** Bytes between header area and tail. */
  region: number;
}

/**
 * The cheap v2 checks, on the file size and its last 16 bytes (`tail`, which
 * may be empty when the file is too short): `tail-size`, `tail-magic`,
 * `tail-total`, `block-layout`, with the offsets and values of the engine
 * contract (see src/snapshot/scan.ts). Shared by the scanner and the
 * verifier's precheck so both name failures alike.
 */
export function checkV2Geometry(fileSize: number, payloadOffset: number, tail: Uint8Array): V2Geometry | PayloadScanFailure {
  if (fileSize < payloadOffset + V2_TAIL_SIZE || tail.length < V2_TAIL_SIZE)
    return { ok: false, check: 'tail-size', offset: payloadOffset };
  const tailOffset = fileSize - V2_TAIL_SIZE;
  const parsed = parseV2Tail(tail);
  if (!parsed.magicOk) return { ok: false, check: 'tail-magic', offset: fileSize - 8 };
  const region = tailOffset - payloadOffset;
  if (parsed.total !== BigInt(region)) {
    return { ok: false, check: 'tail-total', offset: tailOffset, expected: region, actual: Number(parsed.total) };
  }
  const split = splitV2Region(region);
  if (!split.ok) return { ok: false, check: 'block-layout', offset: split.offset, block: split.block };
  return { ok: true, blocks: split.blocks, payloadBytes: split.payloadBytes, region };
}
