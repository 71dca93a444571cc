/**
 * The shared streaming payload scanner: {@link ChecksumEngine.scanPayload}
 * and {@link ChecksumEngine.copyAndScan} on top of a {@link CrcKernel}. Used
 * by the `js` engine (zlib's CRC) and the `wasm` engine (its kernel hands out
 * buffers in WebAssembly memory so reads land where the CRC runs).
 *
 * Reads go in block-aligned pieces of up to {@link SCAN_PIECE_SIZE} (four
 * blocks) into two kernel buffers: while the CRC of one piece runs, the read
 * of the next is already in flight. Memory stays at two pieces whatever the
 * file size.
 *
 * Failures are data ({@link PayloadScanFailure}), in the contract's order:
 * v2 `tail-size` → `tail-magic` → `tail-total` → `block-layout` →
 * `block-crc` (first bad block) → `file-changed`; v1 only `file-changed`.
 * Offsets and values this scanner reports (other engines must match):
 *
 * | check | offset | block | expected | actual |
 * |---|---|---|---|---|
 * | tail-size | payloadOffset | – | – | – |
 * | tail-magic | fileSize − 8 | – | – | – |
 * | tail-total | fileSize − 16 | – | bytes between header area and tail | tail total |
 * | block-layout | start of the block that cannot be complete (payloadOffset if there is no block) | that block | – | – |
 * | block-crc | offset of the block's stored CRC | block | stored CRC | CRC of the block's data |
 * | file-changed | where a read came up short, else layout.fileSize | – | layout.fileSize | size seen |
 */
import { createHash, type Hash } from 'node:crypto';
import { open, unlink, type FileHandle } from 'node:fs/promises';
import { ioError, throwIfAborted } from '../errors.js';
import type {
  ChecksumEngine,
  CrcKernel,
  EngineName,
  PayloadLayout,
  PayloadScan,
  PayloadScanFailure,
  ScanOptions,
} from '../engines/types.js';
import { BLOCK_CRC_SIZE, V2_BLOCK_SIZE, V2_FULL_BLOCK_SIZE, V2_TAIL_SIZE, checkV2Geometry } from './layout.js';

/** Bytes read per piece: four whole v2 blocks (8 MiB + 16). */
export const SCAN_PIECE_SIZE = 4 * V2_FULL_BLOCK_SIZE;

/** A piece of the file to read: `length` bytes at file offset `offset`. */
interface Piece {
  offset: number;
  length: number;
}

/** Splits [start, end) into consecutive pieces of at most `size` bytes. */
function pieces(start: number, end: number, size: number): Piece[] {
  const out: Piece[] = [];
  for (let off = start; off < end; off += size) out.push({ offset: off, length: Math.min(size, end - off) });
  return out;
}

/** Reads exactly `length` bytes at `position` into `buf`; returns how many it got (short only at EOF). */
async function readFull(fh: FileHandle, buf: Uint8Array, length: number, position: number): Promise<number> {
  let got = 0;
  while (got < length) {
    const { bytesRead } = await fh.read(buf, got, length - got, position + got);
    if (bytesRead === 0) break;
    got += bytesRead;
  }
  return got;
}

async function writeFull(fh: FileHandle, buf: Uint8Array, position: number): Promise<void> {
  let done = 0;
  while (done < buf.length) {
    const { bytesWritten } = await fh.write(buf, done, buf.length - done, position + done);
    done += bytesWritten;
  }
}

/** Where the scanned bytes also go, for copyAndScan. */
interface CopySink {
  fh: FileHandle;
  path: string;
}

/** The running state of a v2 block walk across pieces. */
interface BlockWalk {
  /** Next block to finish. */
  block: number;
  /** CRC-of-CRCs so far. */
  payloadCrc: number;
}

const fileChanged = (offset: number, expected: number, actual: number): PayloadScanFailure => ({
  ok: false,
  check: 'file-changed',
  offset,
  expected,
  actual,
});

/**
 * Reads `plan` pieces of the file with double buffering, handing each to
 * `consume` (synchronous CRC work) and, when copying, writing it to the sink.
 * Returns a failure from `consume` or a short read, else null.
 */
async function streamPieces(
  fh: FileHandle,
  path: string,
  kernel: CrcKernel,
  plan: Piece[],
  fileSize: number,
  options: ScanOptions,
  sink: CopySink | undefined,
  consume: (bytes: Uint8Array, piece: Piece) => PayloadScanFailure | null,
  hash?: Hash,
): Promise<PayloadScanFailure | null> {
  if (plan.length === 0) return null;
  const size = Math.max(...plan.map((p) => p.length));
  const bufs = [kernel.buffer(size, 0), kernel.buffer(size, 1)] as const;
  const startRead = (i: number): Promise<number> => {
    const p = plan[i]!;
    return readFull(fh, bufs[i % 2]!, p.length, p.offset);
  };
  let pending: Promise<number> | undefined = startRead(0);
  try {
    for (let i = 0; i < plan.length; i++) {
      const piece = plan[i]!;
      const got = await pending!;
      pending = undefined;
      if (got < piece.length) return fileChanged(piece.offset + got, fileSize, piece.offset + got);
      throwIfAborted(options.signal, `scanning ${path}`);
      // Start the next read before the CRC work so the two overlap.
      if (i + 1 < plan.length) pending = startRead(i + 1);
      const bytes = bufs[i % 2]!.subarray(0, piece.length);
      const failure = consume(bytes, piece);
      if (failure) return failure;
      hash?.update(bytes);
      if (sink) {
        try {
          await writeFull(sink.fh, bytes, piece.offset);
        } catch (err) {
          throw ioError(err, 'writing', sink.path);
        }
      }
      options.onProgress?.(piece.offset + piece.length, fileSize);
    }
    return null;
  } finally {
    // Never leave a read in flight on a handle the caller is about to close.
    if (pending) await pending.catch(() => 0);
  }
}

/** Scans `fh` per `layout`; writes everything it reads to `sink` when given. */
async function scanOpen(
  fh: FileHandle,
  layout: PayloadLayout,
  kernel: CrcKernel,
  options: ScanOptions,
  sink?: CopySink,
): Promise<PayloadScan> {
  const { path, fileSize, payloadOffset } = layout;
  throwIfAborted(options.signal, `scanning ${path}`);
  const read = async (buf: Uint8Array, length: number, position: number): Promise<number> => {
    try {
      return await readFull(fh, buf, length, position);
    } catch (err) {
      throw ioError(err, 'reading', path);
    }
  };

  const hash = options.sha256 ? createHash('sha256') : undefined;
  if (sink || hash) {
    // The header area goes to the copy (and the digest) as is; src/snapshot parsed it already.
    const area = new Uint8Array(payloadOffset);
    const got = await read(area, payloadOffset, 0);
    if (got < payloadOffset) return fileChanged(got, fileSize, got);
    hash?.update(area);
    if (sink) {
      try {
        await writeFull(sink.fh, area, 0);
      } catch (err) {
        throw ioError(err, 'writing', sink.path);
      }
    }
  }

  let result: PayloadScan;
  if (layout.version === 1) {
    let crc = 0;
    const failure = await streamPieces(
      fh,
      path,
      kernel,
      pieces(payloadOffset, fileSize, SCAN_PIECE_SIZE),
      fileSize,
      options,
      sink,
      (bytes) => {
        crc = kernel.crc32(bytes, crc);
        return null;
      },
      hash,
    ).catch((err: unknown) => {
      throw ioError(err, 'reading', path);
    });
    if (failure) return failure;
    result = { ok: true, payloadBytes: fileSize - payloadOffset, blocks: 0, payloadChecksum: crc >>> 0 };
  } else {
    // Cheap checks first: the tail, then whether the region splits into blocks.
    const tailOffset = fileSize - V2_TAIL_SIZE;
    const tailBytes = new Uint8Array(V2_TAIL_SIZE);
    if (fileSize >= payloadOffset + V2_TAIL_SIZE) {
      const got = await read(tailBytes, V2_TAIL_SIZE, tailOffset);
      if (got < V2_TAIL_SIZE) return fileChanged(tailOffset + got, fileSize, tailOffset + got);
    }
    const geometry = checkV2Geometry(fileSize, payloadOffset, tailBytes);
    if (!geometry.ok) return geometry;

    const walk: BlockWalk = { block: 0, payloadCrc: 0 };
    const failure = await streamPieces(
      fh,
      path,
      kernel,
      pieces(payloadOffset, tailOffset, SCAN_PIECE_SIZE),
      fileSize,
      options,
      sink,
      (bytes, piece) => checkBlocks(kernel, bytes, piece, walk),
      hash,
    ).catch((err: unknown) => {
      throw ioError(err, 'reading', path);
    });
    if (failure) return failure;
    hash?.update(tailBytes);
    if (sink) {
      try {
        await writeFull(sink.fh, tailBytes, tailOffset);
      } catch (err) {
        throw ioError(err, 'writing', sink.path);
      }
    }
    result = { ok: true, payloadBytes: geometry.payloadBytes, blocks: geometry.blocks, payloadChecksum: walk.payloadCrc >>> 0 };
  }

  // The file must not have changed size while we read it.
  let now: number;
  try {
    now = (await fh.stat()).size;
  } catch (err) {
    throw ioError(err, 'checking', path);
  }
  if (now !== fileSize) return fileChanged(fileSize, fileSize, now);
  options.onProgress?.(fileSize, fileSize);
  return hash ? { ...result, sha256: hash.digest('hex') } : result;
}

/**
 * Checks the blocks inside one piece. Pieces start on block boundaries and
 * hold whole blocks (only the last piece ends with the short last block).
 */
function checkBlocks(kernel: CrcKernel, bytes: Uint8Array, piece: Piece, walk: BlockWalk): PayloadScanFailure | null {
  for (let at = 0; at < bytes.length; ) {
    const blockLen = Math.min(V2_FULL_BLOCK_SIZE, bytes.length - at);
    const dataLen = blockLen - BLOCK_CRC_SIZE;
    const data = bytes.subarray(at, at + dataLen);
    const stored =
      ((bytes[at + dataLen]! << 24) | (bytes[at + dataLen + 1]! << 16) | (bytes[at + dataLen + 2]! << 8) | bytes[at + dataLen + 3]!) >>> 0;
    const actual = kernel.crc32(data, 0) >>> 0;
    if (actual !== stored) {
      return { ok: false, check: 'block-crc', offset: piece.offset + at + dataLen, block: walk.block, expected: stored, actual };
    }
    walk.payloadCrc = kernel.crc32(bytes.subarray(at + dataLen, at + blockLen), walk.payloadCrc);
    walk.block++;
    at += blockLen;
  }
  return null;
}

/** {@link ChecksumEngine.scanPayload} on top of `kernel`. */
export async function scanPayloadWith(kernel: CrcKernel, layout: PayloadLayout, options: ScanOptions = {}): Promise<PayloadScan> {
  throwIfAborted(options.signal, `scanning ${layout.path}`);
  let fh: FileHandle;
  try {
    fh = await open(layout.path, 'r');
  } catch (err) {
    throw ioError(err, 'opening', layout.path);
  }
  try {
    return await scanOpen(fh, layout, kernel, options);
  } finally {
    await fh.close().catch(() => undefined);
  }
}

/**
 * {@link ChecksumEngine.copyAndScan} on top of `kernel`: `destPath` is created
 * exclusively with exactly `mode`, gets every byte as it is read, and is
 * fsynced; on a failed check, an abort or an I/O error it is removed.
 */
export async function copyAndScanWith(
  kernel: CrcKernel,
  layout: PayloadLayout,
  destPath: string,
  mode: number,
  options: ScanOptions = {},
): Promise<PayloadScan> {
  throwIfAborted(options.signal, `copying ${layout.path}`);
  let src: FileHandle;
  try {
    src = await open(layout.path, 'r');
  } catch (err) {
    throw ioError(err, 'opening', layout.path);
  }
  let dest: FileHandle | undefined;
  let keep = false;
  try {
    try {
      dest = await open(destPath, 'wx', mode);
      await dest.chmod(mode); // exactly `mode`, whatever the umask
    } catch (err) {
      throw ioError(err, 'creating', destPath);
    }
    const result = await scanOpen(src, layout, kernel, options, { fh: dest, path: destPath });
    if (!result.ok) return result;
    try {
      await dest.sync();
    } catch (err) {
      throw ioError(err, 'syncing', destPath);
    }
    keep = true;
    return result;
  } finally {
    await src.close().catch(() => undefined);
    if (dest) {
      await dest.close().catch(() => undefined);
      if (!keep) await unlink(destPath).catch(() => undefined);
    }
  }
}

/** Builds a full engine from a kernel: the `js` and `wasm` engines are this. */
export function createStreamingEngine(name: EngineName, kernel: CrcKernel): ChecksumEngine {
  return {
    name,
    crc32: (data, crc = 0) => kernel.crc32(data, crc) >>> 0,
    scanPayload: (layout, options) => scanPayloadWith(kernel, layout, options),
    copyAndScan: (layout, destPath, mode, options) => copyAndScanWith(kernel, layout, destPath, mode, options),
  };
}

/** Block size re-exported for kernels that size buffers by it. */
export { V2_BLOCK_SIZE };
