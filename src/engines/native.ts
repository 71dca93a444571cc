/**
 * The `native` checksum engine and the addon's CRC-32C, on the binding in
 * `src/native/binding.ts`.
 */
import path from 'node:path';

import { ErrInvalidConfig, throwIfAborted } from '../errors.js';
import { loadNative, mapNativeError, requireNative, withCancel, type NativeBinding, type NativeScanRequest } from '../native/binding.js';
import type { ChecksumEngine, PayloadLayout, PayloadScan, ScanOptions } from './types.js';

/** The CRC kernel the addon selected for this CPU, or `undefined` without the addon. */
export function nativeCrcKernel(): string | undefined {
  return loadNative()?.crcKernel;
}

/**
 * The addon's CRC-32C (Pebble's checksum) as a plain function of a byte
 * view, or `undefined` without the addon (or with one built before it had
 * CRC-32C): callers then use the pure one in `src/pebble/crc32c.ts`.
 */
export function crc32cFunction(): ((data: Uint8Array) => number) | undefined {
  const b = loadNative();
  const fn = b?.crc32c;
  if (!b || typeof fn !== 'function') return undefined;
  return (data) => fn.call(b, data);
}

/** The addon's CRC-32C kernel (`sse4.2`, `slice8`), or `undefined` without it. */
export function nativeCrc32cKernel(): string | undefined {
  return typeof loadNative()?.crc32c === 'function' ? loadNative()!.crc32cKernel : undefined;
}

// ---- Checksum engine ---------------------------------------------------------

/**
 * The `native` checksum engine: CRC32 with carry-less multiplication where
 * the CPU has it, scans and copies on the libuv thread pool with a reader
 * thread overlapping file reads and checksumming. Throws
 * {@link ErrEngineUnavailable} when the addon is not loaded.
 */
export function createNativeEngine(): ChecksumEngine {
  const binding = requireNative('the native checksum engine');
  return {
    name: 'native',
    crc32: (data, crc = 0) => binding.crc32(data, crc),
    scanPayload: (layout, options) => runScan(binding, layout, undefined, 0, options),
    copyAndScan: (layout, destPath, mode, options) => runScan(binding, layout, destPath, mode, options),
  };
}

function checkLayout(layout: PayloadLayout): void {
  const bad = (why: string): never => {
    throw new ErrInvalidConfig(`invalid payload layout for ${String(layout?.path)}: ${why}`, { path: layout?.path });
  };
  if (typeof layout?.path !== 'string' || layout.path === '') bad('path must be a non-empty string');
  if (layout.version !== 1 && layout.version !== 2) bad(`version must be 1 or 2, not ${String(layout.version)}`);
  if (!Number.isSafeInteger(layout.payloadOffset) || layout.payloadOffset < 0) bad('payloadOffset must be a non-negative integer');
  if (!Number.isSafeInteger(layout.fileSize) || layout.fileSize < 0) bad('fileSize must be a non-negative integer');
  if (layout.version === 1 && layout.fileSize < layout.payloadOffset) bad('fileSize is smaller than payloadOffset');
}

async function runScan(
  binding: NativeBinding,
  layout: PayloadLayout,
  destPath: string | undefined,
  mode: number,
  options: ScanOptions | undefined,
): Promise<PayloadScan> {
  const phase = destPath === undefined ? 'payload scan' : 'snapshot copy';
  throwIfAborted(options?.signal, phase);
  checkLayout(layout);
  const request: NativeScanRequest = {
    path: path.resolve(layout.path),
    version: layout.version,
    payloadOffset: layout.payloadOffset,
    fileSize: layout.fileSize,
    ...(options?.sha256 ? { sha256: true } : {}),
  };
  if (destPath !== undefined) {
    if (!Number.isInteger(mode) || mode < 0 || mode > 0o7777) {
      throw new ErrInvalidConfig(`invalid file mode ${String(mode)} for ${destPath}`, { path: destPath });
    }
    request.destPath = path.resolve(destPath);
    request.mode = mode;
  }
  const onProgress = options?.onProgress;
  let progressError: unknown;
  let lastDone = -1;
  const token = new binding.CancelToken();
  const report = onProgress
    ? (done: number, total: number) => {
        if (progressError !== undefined) return;
        try {
          lastDone = done;
          onProgress(done, total);
        } catch (err) {
          // A throwing progress callback ends the scan with its error.
          progressError = err;
          token.cancel();
        }
      }
    : null;
  return withCancel(token, options?.signal, async () => {
    let result: PayloadScan;
    try {
      result = await binding.scanPayload(request, token, report);
    } catch (err) {
      if (progressError !== undefined) throw progressError;
      throw mapNativeError(err, phase, request.destPath ?? request.path, options?.signal);
    }
    if (progressError !== undefined) throw progressError;
    if (report && result.ok && lastDone !== layout.fileSize) report(layout.fileSize, layout.fileSize);
    if (progressError !== undefined) throw progressError;
    return result;
  });
}
