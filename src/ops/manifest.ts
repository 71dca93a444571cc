/**
 * The export manifest: SHA-256 digests of every file of an exported snapshot
 * directory. The snapshot format protects the `.gbsnap` payload with CRCs but
 * nothing protects external files or `snapshot.metadata`'s neighbours; the
 * manifest does. Written by `exportSnapshot`, checked by `verify` (every
 * file) and `import` (every file the snapshot format does not protect
 * itself) whenever it is present. Exports without one (Dragonboat's own) are
 * accepted as they are.
 */
import { readFile, readdir, stat } from 'node:fs/promises';
import { join } from 'node:path';
import { ErrManifestMismatch, ioError } from '../errors.js';
import { sha256File } from '../files/hash.js';
import { isNotFound } from '../files/fsutil.js';

/** File name of the manifest in an export directory. */
export const MANIFEST_FILENAME = 'nodehost.manifest.json';
const FORMAT = 'nodehost-tools/export-manifest';

/** One file of the manifest. */
export interface ManifestFile {
  name: string;
  size: bigint;
  sha256: string;
}

/** An export manifest. */
export interface Manifest {
  shardId: bigint;
  replicaId: bigint;
  index: bigint;
  /** Every file of the export except the manifest itself, sorted by name. */
  files: ManifestFile[];
}

/** Hashes `names` in `dir` into a manifest. */
export async function buildManifest(
  dir: string,
  names: string[],
  ids: { shardId: bigint; replicaId: bigint; index: bigint },
  signal?: AbortSignal,
): Promise<Manifest> {
  const files: ManifestFile[] = [];
  for (const name of [...names].sort()) files.push({ name, ...(await sha256File(join(dir, name), signal)) });
  return { ...ids, files };
}

/** The manifest's on-disk JSON (64-bit values as decimal strings). */
export function encodeManifest(m: Manifest): Uint8Array {
  const json = {
    format: FORMAT,
    version: 1,
    shardId: m.shardId.toString(),
    replicaId: m.replicaId.toString(),
    index: m.index.toString(),
    files: m.files.map((f) => ({ name: f.name, size: f.size.toString(), sha256: f.sha256 })),
  };
  return new TextEncoder().encode(JSON.stringify(json, null, 2) + '\n');
}

function bad(path: string, what: string): ErrManifestMismatch {
  return new ErrManifestMismatch(`${path} is not a valid export manifest: ${what}`, { path, check: 'manifest-format' });
}

/** Reads the manifest of `dir`; undefined when there is none. */
export async function readManifest(dir: string): Promise<Manifest | undefined> {
  const path = join(dir, MANIFEST_FILENAME);
  let text: string;
  try {
    text = await readFile(path, 'utf8');
  } catch (err) {
    if (isNotFound(err)) return undefined;
    throw ioError(err, 'cannot read', path);
  }
  let j: unknown;
  try {
    j = JSON.parse(text);
  } catch (err) {
    throw bad(path, (err as Error).message);
  }
  const o = j as Record<string, unknown>;
  if (o === null || typeof o !== 'object' || o.format !== FORMAT || o.version !== 1 || !Array.isArray(o.files)) {
    throw bad(path, 'unknown format or version');
  }
  const dec = (v: unknown, field: string): bigint => {
    if (typeof v !== 'string' || !/^\d+$/.test(v)) throw bad(path, `${field} is not a decimal string`);
    return BigInt(v);
  };
  const files = o.files.map((f: unknown, i: number): ManifestFile => {
    const r = f as Record<string, unknown>;
    if (typeof r?.name !== 'string' || r.name.includes('/') || typeof r.sha256 !== 'string' || !/^[0-9a-f]{64}$/.test(r.sha256)) {
      throw bad(path, `files[${i}] is malformed`);
    }
    return { name: r.name, size: dec(r.size, `files[${i}].size`), sha256: r.sha256 };
  });
  return { shardId: dec(o.shardId, 'shardId'), replicaId: dec(o.replicaId, 'replicaId'), index: dec(o.index, 'index'), files };
}

/** The size and SHA-256 of the bytes a caller read from `path`. */
export interface FileDigest {
  path: string;
  size: bigint;
  sha256: string;
}

/** Result of a manifest check. */
export interface ManifestCheck {
  /** Files whose digest was compared. */
  hashed: string[];
  /** Files whose size only was compared (their content is protected otherwise). */
  sizeOnly: string[];
}

/**
 * Checks `dir` against its manifest without reading any file: the same set
 * of files (manifest excluded), each of the recorded size. The digests are
 * compared by the caller with {@link checkDigest} on the bytes it reads
 * anyway (import: while copying), so what is compared is what is used.
 */
export async function checkManifestListing(dir: string, m: Manifest): Promise<void> {
  await checkManifest(dir, m, new Set(m.files.map((f) => f.name)));
}

/**
 * Compares the size and SHA-256 of the bytes read from `path` (named `name`
 * in the manifest) with the manifest's: {@link ErrManifestMismatch}
 * (`manifest-size`, `manifest-sha256`, or `manifest-missing-file` when the
 * manifest does not list it) naming `path`.
 */
export function checkDigest(m: Manifest, name: string, path: string, got: { size: bigint; sha256: string }): void {
  const f = m.files.find((x) => x.name === name);
  if (!f) {
    throw new ErrManifestMismatch(`${path} is not in the export's manifest: the export was changed after it was written`, {
      path,
      check: 'manifest-extra-file',
    });
  }
  checkSize(f, path, got.size);
  if (got.sha256 !== f.sha256) {
    throw new ErrManifestMismatch(`${path} does not match its SHA-256 in the export's manifest: the file is corrupt or was changed`, {
      path,
      check: 'manifest-sha256',
      expected: f.sha256,
      actual: got.sha256,
    });
  }
}

function checkSize(f: ManifestFile, path: string, size: bigint): void {
  if (size !== f.size) {
    throw new ErrManifestMismatch(`${path} is ${size} bytes; the manifest says ${f.size}`, {
      path,
      check: 'manifest-size',
      expected: f.size,
      actual: size,
    });
  }
}

/**
 * Checks `dir` against its manifest: the same set of files (manifest
 * excluded), each of the recorded size, and the SHA-256 of each file except
 * those in `skipHash`. A file in `digests` is not read again: the size and
 * SHA-256 the caller took from its own read of it are compared instead (it
 * counts as hashed). Throws {@link ErrManifestMismatch} naming the file.
 */
export async function checkManifest(
  dir: string,
  m: Manifest,
  skipHash: ReadonlySet<string> = new Set(),
  signal?: AbortSignal,
  digests: ReadonlyMap<string, FileDigest> = new Map(),
): Promise<ManifestCheck> {
  let present: string[];
  try {
    present = (await readdir(dir)).filter((n) => n !== MANIFEST_FILENAME).sort();
  } catch (err) {
    throw ioError(err, 'cannot list', dir);
  }
  const listed = new Map(m.files.map((f) => [f.name, f]));
  for (const name of present) {
    if (!listed.has(name)) {
      throw new ErrManifestMismatch(`${join(dir, name)} is not in the export's manifest: the export was changed after it was written`, {
        path: join(dir, name),
        check: 'manifest-extra-file',
      });
    }
  }
  const out: ManifestCheck = { hashed: [], sizeOnly: [] };
  for (const f of m.files) {
    const path = join(dir, f.name);
    if (!present.includes(f.name)) {
      throw new ErrManifestMismatch(`${path} is listed in the export's manifest but missing`, { path, check: 'manifest-missing-file' });
    }
    const known = digests.get(f.name);
    if (known) {
      checkDigest(m, f.name, known.path, known);
      out.hashed.push(f.name);
      continue;
    }
    if (skipHash.has(f.name)) {
      checkSize(f, path, BigInt((await stat(path)).size));
      out.sizeOnly.push(f.name);
      continue;
    }
    checkDigest(m, f.name, path, await sha256File(path, signal));
    out.hashed.push(f.name);
  }
  return out;
}
