/**
 * Durable file primitives: every writer in this package goes through these so
 * that a crash leaves either the old or the new file, never a torn one, and a
 * completed call survives a power loss (file data, then the directory entry,
 * are fsynced).
 */
import { createHash, randomBytes } from 'node:crypto';
import * as fsp from 'node:fs/promises';
import * as path from 'node:path';
import { ErrIO, ioError, throwIfAborted } from '../errors.js';
import { isNotFound } from './fsutil.js';

/** fsyncs a directory so that entries created, renamed or removed in it are durable. */
export async function fsyncDir(dir: string): Promise<void> {
  let fh: fsp.FileHandle | undefined;
  try {
    fh = await fsp.open(dir, 'r');
    await fh.sync();
  } catch (err) {
    // Some file systems refuse fsync on a directory (EINVAL); the entry is as
    // durable as that file system can make it, so this is not an error.
    if ((err as NodeJS.ErrnoException).code === 'EINVAL') return;
    throw ioError(err, 'cannot fsync directory', dir);
  } finally {
    await fh?.close().catch(() => undefined);
  }
}

/** Name of a temporary sibling of `target`; a leading dot keeps it out of name-based scans. */
export function tempSiblingPath(target: string): string {
  const dir = path.dirname(target);
  const base = path.basename(target);
  return path.join(dir, `.${base}.tmp-${process.pid}-${randomBytes(4).toString('hex')}`);
}

/**
 * Atomically replaces (or creates) `target` with `bytes`: writes a temporary
 * file in the same directory, fsyncs it, renames it over `target` and fsyncs
 * the directory. On failure the temporary file is removed and `target` is as
 * it was.
 */
export async function writeFileDurable(target: string, bytes: Uint8Array, mode = 0o644): Promise<void> {
  const tmp = tempSiblingPath(target);
  let fh: fsp.FileHandle | undefined;
  try {
    fh = await fsp.open(tmp, 'wx', mode);
    await fh.writeFile(bytes);
    // The process umask may have narrowed the mode given to open().
    await fh.chmod(mode);
    await fh.sync();
    await fh.close();
    fh = undefined;
    await fsp.rename(tmp, target);
  } catch (err) {
    await fh?.close().catch(() => undefined);
    await fsp.rm(tmp, { force: true }).catch(() => undefined);
    throw ioError(err, 'cannot write', target);
  }
  await fsyncDir(path.dirname(target));
}

/** Options of {@link copyFileDurable}. */
export interface CopyFileOptions {
  /** Called after each chunk with the bytes copied so far and the source size. */
  onProgress?: (copied: number, total: number) => void;
  /** Cancels the copy between chunks; the partial destination is removed. */
  signal?: AbortSignal;
  /** Refuse (ErrIO, EEXIST) when `dst` exists instead of overwriting it. */
  exclusive?: boolean;
  /** Also fsync the destination's directory (default true). */
  syncDir?: boolean;
  /** Also compute the SHA-256 of the bytes copied, in the same pass (the result's `sha256`). */
  sha256?: boolean;
}

/** What {@link copyFileDurable} copied: the bytes written and, when asked, their SHA-256. */
export interface CopiedFile {
  size: bigint;
  sha256?: string;
}

const COPY_CHUNK = 4 * 1024 * 1024;

/**
 * Copies a regular file, preserving its permission bits, and fsyncs the copy
 * (and by default its directory). On any failure or cancellation the partial
 * destination is removed.
 */
export async function copyFileDurable(src: string, dst: string, opts: CopyFileOptions = {}): Promise<CopiedFile> {
  const hash = opts.sha256 ? createHash('sha256') : undefined;
  let copied = 0;
  let input: fsp.FileHandle | undefined;
  let output: fsp.FileHandle | undefined;
  let created = false;
  try {
    try {
      input = await fsp.open(src, 'r');
    } catch (err) {
      throw ioError(err, 'cannot open', src);
    }
    const st = await input.stat();
    if (!st.isFile()) {
      throw new ErrIO(`cannot copy ${src}: not a regular file`, { path: src, check: 'regular-file' });
    }
    const mode = st.mode & 0o7777;
    try {
      output = await fsp.open(dst, opts.exclusive ? 'wx' : 'w', mode);
    } catch (err) {
      throw ioError(err, 'cannot create', dst);
    }
    created = true;
    const total = st.size;
    const buf = Buffer.allocUnsafe(Math.min(COPY_CHUNK, Math.max(total, 1)));
    for (;;) {
      throwIfAborted(opts.signal, `copy of ${src}`);
      const { bytesRead } = await input.read(buf, 0, buf.length, null).catch((err: unknown) => {
        throw ioError(err, 'cannot read', src);
      });
      if (bytesRead === 0) break;
      hash?.update(buf.subarray(0, bytesRead));
      let off = 0;
      while (off < bytesRead) {
        const { bytesWritten } = await output.write(buf, off, bytesRead - off).catch((err: unknown) => {
          throw ioError(err, 'cannot write', dst);
        });
        off += bytesWritten;
      }
      copied += bytesRead;
      opts.onProgress?.(copied, total);
    }
    await output.chmod(mode).catch((err: unknown) => {
      throw ioError(err, 'cannot chmod', dst);
    });
    await output.sync().catch((err: unknown) => {
      throw ioError(err, 'cannot fsync', dst);
    });
    await output.close();
    output = undefined;
  } catch (err) {
    await output?.close().catch(() => undefined);
    if (created) await fsp.rm(dst, { force: true }).catch(() => undefined);
    throw err;
  } finally {
    await input?.close().catch(() => undefined);
  }
  if (opts.syncDir !== false) await fsyncDir(path.dirname(dst));
  return { size: BigInt(copied), ...(hash ? { sha256: hash.digest('hex') } : {}) };
}

/**
 * Removes a file or directory tree (a missing path is not an error) and fsyncs
 * the parent so that the removal is durable.
 */
export async function removeTreeDurable(target: string): Promise<void> {
  try {
    await fsp.rm(target, { recursive: true, force: true });
  } catch (err) {
    throw ioError(err, 'cannot remove', target);
  }
  await fsyncDirIfExists(path.dirname(target));
}

/** Renames `from` to `to` and fsyncs both parent directories. */
export async function renameDurable(from: string, to: string): Promise<void> {
  try {
    await fsp.rename(from, to);
  } catch (err) {
    throw ioError(err, `cannot rename ${from} to`, to);
  }
  await fsyncDir(path.dirname(to));
  if (path.dirname(from) !== path.dirname(to)) await fsyncDir(path.dirname(from));
}

/**
 * Creates `dir` and any missing parents, fsyncing the parent of every directory
 * it created. Returns the directories it created, outermost first (empty when
 * `dir` already existed).
 */
export async function mkdirDurable(dir: string, mode = 0o755): Promise<string[]> {
  const abs = path.resolve(dir);
  const missing: string[] = [];
  for (let cur = abs; ; cur = path.dirname(cur)) {
    try {
      const st = await fsp.stat(cur);
      if (!st.isDirectory()) {
        throw new ErrIO(`cannot create directory ${abs}: ${cur} exists and is not a directory`, {
          path: cur,
          check: 'directory',
        });
      }
      break;
    } catch (err) {
      if (!isNotFound(err)) throw ioError(err, 'cannot stat', cur);
      missing.unshift(cur);
      if (path.dirname(cur) === cur) break;
    }
  }
  // Only directories this call created are returned: a concurrent creator's
  // (EEXIST) must never be rolled back by us.
  const created: string[] = [];
  for (const d of missing) {
    try {
      await fsp.mkdir(d, mode);
      created.push(d);
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code !== 'EEXIST') throw ioError(err, 'cannot create directory', d);
    }
    await fsyncDir(path.dirname(d));
  }
  return created;
}

async function fsyncDirIfExists(dir: string): Promise<void> {
  try {
    await fsyncDir(dir);
  } catch (err) {
    if (err instanceof ErrIO && err.details.errno === 'ENOENT') return;
    throw err;
  }
}

/**
 * Undoes {@link mkdirDurable}: removes `created` (as it returned them)
 * innermost first, each only while empty, so a directory something else has
 * put files in since (a concurrent import) is left alone. Never throws.
 */
export async function removeCreatedDirs(created: readonly string[]): Promise<void> {
  for (const dir of [...created].reverse()) {
    try {
      await fsp.rmdir(dir);
      await fsyncDir(path.dirname(dir));
    } catch {
      // not empty (someone else's now), or already gone
    }
  }
}

/** True when a process `pid` exists (EPERM: it exists, owned by someone else). */
export function processAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (err) {
    return (err as NodeJS.ErrnoException).code === 'EPERM';
  }
}

/**
 * Removes what interrupted {@link writeFileDurable} calls for `target` left
 * behind (`.<name>.tmp-<pid>-<random>`), but only those of processes that are
 * gone: a live writer's temporary file, in this process or another, is its
 * own. Returns the names removed.
 */
export async function removeStaleTempSiblings(target: string): Promise<string[]> {
  const dir = path.dirname(target);
  const prefix = `.${path.basename(target)}.tmp-`;
  let names: string[];
  try {
    names = await fsp.readdir(dir);
  } catch (err) {
    if (isNotFound(err)) return [];
    throw ioError(err, 'cannot list', dir);
  }
  const removed: string[] = [];
  for (const name of names) {
    if (!name.startsWith(prefix)) continue;
    const pid = Number(/^(\d+)-/.exec(name.slice(prefix.length))?.[1]);
    if (Number.isInteger(pid) && pid > 0 && processAlive(pid)) continue;
    await removeTreeDurable(path.join(dir, name));
    removed.push(name);
  }
  return removed;
}

/** True when `name` is a temporary file {@link writeFileDurable} creates beside `targetName`. */
export function isTempSiblingName(name: string, targetName: string): boolean {
  return name.startsWith(`.${targetName}.tmp-`);
}
