/**
 * The checksum-engine contract. Three engines implement it: `native` (the
 * Node-API addon), `wasm` (the AssemblyScript module) and `js` (Node's
 * `zlib.crc32`). Every engine must give the same verdict and the same named
 * failure (check, offset, block) on every input: the differential tests hold
 * them to it.
 *
 * Engines work on the payload of a `.gbsnap` file only; the header area
 * (bytes 0..1023) is parsed in TypeScript by `src/snapshot`, which then hands
 * the engine a {@link PayloadLayout}. Engines report failures as data
 * ({@link PayloadScanFailure}); `src/snapshot` turns them into
 * `ErrIncompleteSnapshot` so every engine's errors read alike.
 */

/** Engine names accepted by `--engine` and the `engine` option. */
export type EngineName = 'native' | 'wasm' | 'js';

/** v2 block data size: 2 MiB. */
export const V2_BLOCK_SIZE = 2 * 1024 * 1024;
/** Size of the header area before the payload. */
export const HEADER_AREA_SIZE = 1024;
/** v2 tail: uint64le total + 8 magic bytes. */
export const V2_TAIL_SIZE = 16;
/** v2 tail magic bytes. */
export const V2_TAIL_MAGIC = Uint8Array.of(0x3f, 0x5b, 0xcb, 0xf1, 0xfa, 0xba, 0x81, 0x9f);

/** Where the payload of one snapshot file is and how to read it. */
export interface PayloadLayout {
  /** Absolute path of the `.gbsnap` file. */
  path: string;
  /** Snapshot format version from the header. */
  version: 1 | 2;
  /** Byte offset where the payload starts (always {@link HEADER_AREA_SIZE}). */
  payloadOffset: number;
  /** Size of the file in bytes, as stat'ed before the scan. */
  fileSize: number;
}

/**
 * Names of the payload checks an engine performs, in the order it performs
 * them for v2: `tail-size` (file too short for a tail), `tail-magic`,
 * `tail-total` (tail total != bytes between header area and tail),
 * `block-layout` (the region cannot be split into 2 MiB+4 blocks with a
 * non-empty last block), `block-crc` (a block's stored CRC != CRC of its data),
 * then `file-changed` (the file's size changed while it was read).
 * v1 has no per-engine check: its payload CRC is compared by the caller.
 */
export type PayloadCheck = 'tail-size' | 'tail-magic' | 'tail-total' | 'block-layout' | 'block-crc' | 'file-changed';

/** A scan that found nothing wrong. */
export interface PayloadScanOk {
  ok: true;
  /** Data bytes (v2: excluding block CRCs and tail; v1: everything after the header area). */
  payloadBytes: number;
  /** v2: number of blocks; v1: 0. */
  blocks: number;
  /**
   * v2: CRC32 of the concatenation of all stored block CRCs (4 bytes
   * big-endian each, in order). v1: CRC32 of the whole payload.
   */
  payloadChecksum: number;
  /** Lowercase hex SHA-256 of the whole file, computed in the same pass, when {@link ScanOptions.sha256} asked for it. */
  sha256?: string;
}

/** A scan that found a failed check. */
export interface PayloadScanFailure {
  ok: false;
  check: PayloadCheck;
  /** Absolute byte offset in the file where the failed check looked. */
  offset: number;
  /** Zero-based block number, for block checks. */
  block?: number;
  expected?: number;
  actual?: number;
}

export type PayloadScan = PayloadScanOk | PayloadScanFailure;

/** Progress callback: bytes of the file processed so far and in all. */
export type ProgressFn = (bytesDone: number, bytesTotal: number) => void;

export interface ScanOptions {
  signal?: AbortSignal;
  onProgress?: ProgressFn;
  /**
   * Also compute the SHA-256 of the whole file (header area, payload, tail,
   * in file order) from the bytes the scan reads: no second read, and the
   * digest is of the very bytes checked (and, for a copy, written).
   */
  sha256?: boolean;
}

/** A checksum engine. */
export interface ChecksumEngine {
  readonly name: EngineName;
  /** CRC32-IEEE of `data`, continuing from `crc` (0 to start). Synchronous; for small buffers. */
  crc32(data: Uint8Array, crc?: number): number;
  /** Reads the payload once and checks it (v2: tail, layout, every block CRC). */
  scanPayload(layout: PayloadLayout, options?: ScanOptions): Promise<PayloadScan>;
  /**
   * Copies the whole file (header area included) to `destPath` (created,
   * must not exist, mode `mode`) while scanning its payload exactly as
   * {@link scanPayload} does, reading each byte once; fsyncs the copy before
   * resolving. On a failed check the copy is removed and the failure returned.
   */
  copyAndScan(layout: PayloadLayout, destPath: string, mode: number, options?: ScanOptions): Promise<PayloadScan>;
}

/**
 * The minimal piece an engine supplies to the shared streaming scanner in
 * `src/snapshot/scan.ts` (used by the `js` and `wasm` engines; the native
 * engine scans in C++). Reads land in buffers the kernel hands out, so a
 * WebAssembly kernel can have the file read straight into its own memory.
 */
export interface CrcKernel {
  /**
   * Returns a buffer of exactly `size` bytes that the scanner reads file data
   * into. Called rarely (once per scan for each distinct size); the scanner
   * may keep up to two such buffers alive at once (double buffering).
   */
  buffer(size: number, slot: 0 | 1): Uint8Array;
  /** CRC32-IEEE of `data` (a sub-view of a buffer from {@link buffer}, or any bytes), continuing from `crc`. */
  crc32(data: Uint8Array, crc: number): number;
}
