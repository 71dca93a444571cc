/**
 * The two verify baselines, run in a child process. They use nothing of this
 * package but its error class, so their peak RSS is a bare Node.js process
 * reading a file.
 */
import { closeSync, fstatSync, openSync, readSync } from 'node:fs';
import * as zlib from 'node:zlib';
import { ErrIncompleteSnapshot } from '../errors.js';

/** v2 block data size and the CRC after it (docs/formats.md §3). */
const BLOCK = 2 * 1024 * 1024;
const CRC = 4;
const HEADER_AREA = 1024;
const TAIL = 16;

function readFull(fd: number, buf: Uint8Array, length: number, position: number): number {
  let got = 0;
  while (got < length) {
    const n = readSync(fd, buf, got, length - got, position + got);
    if (n === 0) break;
    got += n;
  }
  return got;
}

/**
 * A page-aligned buffer of `size` bytes. The kernel copies from the page
 * cache markedly slower into a misaligned destination (a plain Node Buffer
 * starts 16 bytes into its malloc'd pages): measured here, ~40% fewer GB/s.
 * WebAssembly memory is always mmap'ed, hence page-aligned.
 */
function alignedBuffer(size: number): Uint8Array {
  // Neither lib ES2022 nor @types/node 20 declare the WebAssembly global.
  const { Memory } = (globalThis as unknown as { WebAssembly: { Memory: new (d: { initial: number }) => { buffer: ArrayBuffer } } })
    .WebAssembly;
  return new Uint8Array(new Memory({ initial: Math.ceil(size / 65_536) }).buffer, 0, size);
}

/**
 * The bandwidth limit: reads the whole file front to back in `readSize`
 * pieces into one page-aligned buffer (as `dd` does); returns the bytes read.
 */
export function readOnly(file: string, readSize: number): { bytes: number } {
  const fd = openSync(file, 'r');
  try {
    const buf = alignedBuffer(readSize);
    let pos = 0;
    for (;;) {
      const n = readSync(fd, buf, 0, readSize, pos);
      if (n === 0) break;
      pos += n;
    }
    return { bytes: pos };
  } finally {
    closeSync(fd);
  }
}

/**
 * The plain Node.js way to check a v2 payload: read each block with its CRC
 * (2 MiB + 4 bytes) and compare `zlib.crc32` of the data with it. Header
 * area and tail are read too, unchecked, so the same bytes are read as by a
 * full verification.
 */
export function zlibBlocks(file: string): { bytes: number; blocks: number } {
  const fd = openSync(file, 'r');
  try {
    const size = fstatSync(fd).size;
    const buf = Buffer.allocUnsafe(BLOCK + CRC);
    readFull(fd, buf, HEADER_AREA, 0);
    const end = size - TAIL;
    let pos = HEADER_AREA;
    let blocks = 0;
    while (pos < end) {
      const want = Math.min(BLOCK + CRC, end - pos);
      const got = readFull(fd, buf, want, pos);
      if (got !== want || got <= CRC) {
        throw new ErrIncompleteSnapshot(`${file}: short block ${blocks} at byte ${pos}`, {
          path: file,
          check: 'block-layout',
          offset: pos,
          block: blocks,
        });
      }
      const actual = zlib.crc32(buf.subarray(0, got - CRC)) >>> 0;
      const expected = buf.readUInt32BE(got - CRC);
      if (actual !== expected) {
        throw new ErrIncompleteSnapshot(`${file}: block ${blocks} does not match its CRC`, {
          path: file,
          check: 'block-crc',
          offset: pos,
          block: blocks,
          expected,
          actual,
        });
      }
      pos += got;
      blocks++;
    }
    readFull(fd, buf, TAIL, end);
    return { bytes: size, blocks };
  } finally {
    closeSync(fd);
  }
}
