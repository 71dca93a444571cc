/**
 * Directory-tree fingerprints for "byte-for-byte unchanged" assertions: every
 * path (relative, sorted), its type, permission bits, size and content hash
 * (symlink targets for links). LevelDB's files are included like any other.
 *
 * ```ts
 * const before = await treeSnapshot(nodeHostDir);
 * await expect(importSnapshot(...)).rejects.toThrow(ErrNotOwner);
 * expect(await treeSnapshot(nodeHostDir)).toEqual(before);   // diff names the changed file
 * ```
 */
import { createHash } from 'node:crypto';
import * as fsp from 'node:fs/promises';
import * as path from 'node:path';

/** One line per path: `"<type> <mode> <size> <sha256|link target>"`; directories have no size/hash. */
export type TreeSnapshot = Record<string, string>;

async function walk(root: string, rel: string, out: TreeSnapshot): Promise<void> {
  const abs = path.join(root, rel);
  const names = (await fsp.readdir(abs)).sort();
  for (const name of names) {
    const r = rel === '' ? name : `${rel}/${name}`;
    const p = path.join(root, r);
    const st = await fsp.lstat(p);
    const mode = (st.mode & 0o7777).toString(8).padStart(4, '0');
    if (st.isDirectory()) {
      out[r] = `dir ${mode}`;
      await walk(root, r, out);
    } else if (st.isSymbolicLink()) {
      out[r] = `link ${mode} -> ${await fsp.readlink(p)}`;
    } else if (st.isFile()) {
      const hash = createHash('sha256')
        .update(await fsp.readFile(p))
        .digest('hex');
      out[r] = `file ${mode} ${st.size} ${hash}`;
    } else {
      out[r] = `other ${mode}`;
    }
  }
}

/** Fingerprint of every path under `root` (root itself excluded); `{}` when `root` does not exist. */
export async function treeSnapshot(root: string): Promise<TreeSnapshot> {
  const out: TreeSnapshot = {};
  try {
    await fsp.access(root);
  } catch {
    return out;
  }
  await walk(root, '', out);
  return out;
}

/** One SHA-256 over {@link treeSnapshot}: equal hashes mean equal trees. */
export async function treeHash(root: string): Promise<string> {
  const snap = await treeSnapshot(root);
  const h = createHash('sha256');
  for (const k of Object.keys(snap).sort()) h.update(`${k}\0${snap[k]}\n`);
  return h.digest('hex');
}
