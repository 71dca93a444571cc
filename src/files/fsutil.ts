/** Small file-system helpers shared by the storage modules. */
import type { Stats } from 'node:fs';
import * as fsp from 'node:fs/promises';
import { ioError } from '../errors.js';

/** True when `err` is a Node.js "no such file or directory" error (ENOENT or ENOTDIR). */
export function isNotFound(err: unknown): boolean {
  const code = (err as NodeJS.ErrnoException | undefined)?.code;
  return code === 'ENOENT' || code === 'ENOTDIR';
}

/** `lstat` that returns undefined for a missing path and wraps other failures into ErrIO. */
export async function lstatOrUndefined(p: string): Promise<Stats | undefined> {
  try {
    return await fsp.lstat(p);
  } catch (err) {
    if (isNotFound(err)) return undefined;
    throw ioError(err, 'cannot stat', p);
  }
}

/** `stat` (following links) that returns undefined for a missing path. */
export async function statOrUndefined(p: string): Promise<Stats | undefined> {
  try {
    return await fsp.stat(p);
  } catch (err) {
    if (isNotFound(err)) return undefined;
    throw ioError(err, 'cannot stat', p);
  }
}

/** True when `p` exists (any type). */
export async function pathExists(p: string): Promise<boolean> {
  return (await lstatOrUndefined(p)) !== undefined;
}

/** Reads a whole file, wrapping failures into ErrIO naming the file. */
export async function readFileOrThrow(p: string, what = 'cannot read'): Promise<Uint8Array> {
  try {
    const buf = await fsp.readFile(p);
    return new Uint8Array(buf.buffer, buf.byteOffset, buf.byteLength);
  } catch (err) {
    throw ioError(err, what, p);
  }
}
