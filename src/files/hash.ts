/** SHA-256 of files, streamed in large pieces (constant memory at any size). */
import { createHash } from 'node:crypto';
import { open } from 'node:fs/promises';
import { ioError, throwIfAborted } from '../errors.js';

const PIECE = 4 * 1024 * 1024;

/** Lowercase hex SHA-256 of the file at `path`, and its size. */
export async function sha256File(path: string, signal?: AbortSignal): Promise<{ sha256: string; size: bigint }> {
  const hash = createHash('sha256');
  let size = 0n;
  let fh;
  try {
    fh = await open(path, 'r');
  } catch (err) {
    throw ioError(err, 'cannot open', path);
  }
  try {
    const buf = Buffer.allocUnsafe(PIECE);
    for (;;) {
      throwIfAborted(signal, `hashing ${path}`);
      const { bytesRead } = await fh.read(buf, 0, PIECE, null);
      if (bytesRead === 0) break;
      hash.update(buf.subarray(0, bytesRead));
      size += BigInt(bytesRead);
    }
  } catch (err) {
    throw ioError(err, 'cannot read', path);
  } finally {
    await fh.close().catch(() => undefined);
  }
  return { sha256: hash.digest('hex'), size };
}
