/**
 * Flag-file framing (docs/formats.md §2): `8-byte hash || payload`, the hash being
 * bytes 8..15 of MD5(payload). Pure: reading and writing the file is the
 * caller's job (src/files).
 */
import { ErrCorruptFlagFile } from '../errors.js';
import { md5 } from './md5.js';

/** Size of the hash prefix of a flag file. */
export const FLAG_HASH_SIZE = 8;

/** The 8-byte flag-file hash of `payload` (second half of its MD5). */
export function flagFileHash(payload: Uint8Array): Uint8Array {
  return md5(payload).subarray(8, 16);
}

/** Frames `payload` (an encoded record) as flag-file bytes. */
export function encodeFlagFile(payload: Uint8Array): Uint8Array {
  const out = new Uint8Array(FLAG_HASH_SIZE + payload.length);
  out.set(flagFileHash(payload), 0);
  out.set(payload, FLAG_HASH_SIZE);
  return out;
}

/**
 * Checks flag-file bytes and returns the payload (a copy). Throws
 * {@link ErrCorruptFlagFile} with `details.check` `flag-length` (shorter than
 * the hash) or `flag-hash` (hash mismatch), and `details.path` when given.
 */
export function decodeFlagFile(bytes: Uint8Array, path?: string): Uint8Array {
  const where = path ?? 'flag file';
  if (bytes.length < FLAG_HASH_SIZE) {
    throw new ErrCorruptFlagFile(
      `${where} is ${bytes.length} bytes, shorter than its ${FLAG_HASH_SIZE}-byte hash; the file is truncated or not a flag file`,
      { path, check: 'flag-length', expected: `>= ${FLAG_HASH_SIZE}`, actual: bytes.length },
    );
  }
  const payload = new Uint8Array(bytes.subarray(FLAG_HASH_SIZE)); // a copy, even from a Buffer
  const want = flagFileHash(payload);
  const got = bytes.subarray(0, FLAG_HASH_SIZE);
  if (!want.every((b, i) => b === got[i])) {
    throw new ErrCorruptFlagFile(`${where} fails its MD5 check: the file is corrupt; restore it from a backup rather than editing it`, {
      path,
      check: 'flag-hash',
      offset: 0,
      expected: toHex(want),
      actual: toHex(got),
    });
  }
  return payload;
}

function toHex(b: Uint8Array): string {
  return Buffer.from(b.buffer, b.byteOffset, b.length).toString('hex');
}
