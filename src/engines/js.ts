/**
 * The `js` engine: the shared streaming scanner with Node's own CRC32
 * (`zlib.crc32`, Node ≥ 20.15). Always available; the portable fallback.
 */
import * as zlib from 'node:zlib';
import { ErrEngineUnavailable } from '../errors.js';
import { createStreamingEngine } from '../snapshot/scan.js';
import type { ChecksumEngine, CrcKernel } from './types.js';

/** A kernel whose buffers are plain Node memory. */
function createJsKernel(): CrcKernel {
  return {
    buffer: (size) => new Uint8Array(size),
    crc32: (data, crc) => zlib.crc32(data, crc),
  };
}

/**
 * Creates the `js` engine. Throws {@link ErrEngineUnavailable} on a Node.js
 * without `zlib.crc32` (before 20.15 / 22.2).
 */
export function createJsEngine(): ChecksumEngine {
  // A namespace import, so an older Node fails here with a clear error rather
  // than at module link time.
  if (typeof zlib.crc32 !== 'function') {
    throw new ErrEngineUnavailable(`the js engine needs zlib.crc32 (Node.js >= 20.15); this is ${process.version}`, { engine: 'js' });
  }
  return createStreamingEngine('js', createJsKernel());
}
