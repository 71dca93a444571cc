/**
 * Reading and writing Dragonboat flag files (docs/formats.md §2) on disk. The byte
 * format lives in records/flagfile; this module adds the file I/O, durability
 * and errors that name the file.
 */
import { createHash } from 'node:crypto';
import * as fsp from 'node:fs/promises';
import { ErrCorruptFlagFile, NodeHostToolsError, ioError } from '../errors.js';
import { decodeFlagFile, encodeFlagFile } from '../records/flagfile.js';
import { writeFileDurable } from './durable.js';
import { isNotFound } from './fsutil.js';

/**
 * Reads the flag file at `file`, checks its MD5 and decodes its payload with
 * `decode`. A missing file, a bad hash or an undecodable payload all throw
 * {@link ErrCorruptFlagFile} naming the file (`details.check` says which:
 * `missing`, the flag-file check, or `payload`).
 */
export async function readFlagFile<T>(file: string, decode: (payload: Uint8Array) => T): Promise<T> {
  return (await readFlagFileDigested(file, decode)).value;
}

/** Size and SHA-256 of a file's bytes; see {@link readFlagFileDigested}. */
export interface FlagFileDigest {
  size: bigint;
  /** Hex; computed on first read, from the bytes the value was decoded from. */
  readonly sha256: string;
}

/**
 * Like {@link readFlagFile}, and also the size and SHA-256 of the bytes read:
 * the value is decoded from the very bytes hashed (one read), so a digest
 * check against a manifest covers what is used. The hash is taken when first
 * asked for: a verify without a manifest never needs it, and the hash's
 * module (node:crypto) is a noticeable part of such a verify's start.
 */
export async function readFlagFileDigested<T>(
  file: string,
  decode: (payload: Uint8Array) => T,
): Promise<{ value: T; digest: FlagFileDigest }> {
  let bytes: Uint8Array;
  try {
    bytes = new Uint8Array(await fsp.readFile(file));
  } catch (err) {
    if (isNotFound(err)) {
      throw new ErrCorruptFlagFile(`flag file ${file} does not exist`, { path: file, check: 'missing' }, { cause: err });
    }
    throw ioError(err, 'cannot read flag file', file);
  }
  let sha256: string | undefined;
  const digest: FlagFileDigest = {
    size: BigInt(bytes.length),
    get sha256() {
      sha256 ??= createHash('sha256').update(bytes).digest('hex');
      return sha256;
    },
  };
  const payload = decodeFlagFile(bytes, file);
  try {
    return { value: decode(payload), digest };
  } catch (err) {
    const why = err instanceof Error ? err.message : String(err);
    throw new ErrCorruptFlagFile(
      `flag file ${file} has a valid hash but its payload cannot be decoded: ${why}`,
      { path: file, check: 'payload', ...(err instanceof NodeHostToolsError ? { offset: err.details.offset } : {}) },
      { cause: err },
    );
  }
}

/** Like {@link readFlagFile} but returns undefined when the file does not exist. */
export async function readFlagFileIfExists<T>(file: string, decode: (payload: Uint8Array) => T): Promise<T | undefined> {
  try {
    return await readFlagFile(file, decode);
  } catch (err) {
    if (err instanceof ErrCorruptFlagFile && err.details.check === 'missing') return undefined;
    throw err;
  }
}

/** Writes `payload` as a flag file at `file`, atomically and durably (see writeFileDurable). */
export async function writeFlagFile(file: string, payload: Uint8Array, mode = 0o644): Promise<void> {
  await writeFileDurable(file, encodeFlagFile(payload), mode);
}
