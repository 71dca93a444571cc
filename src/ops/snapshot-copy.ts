/**
 * Copying one snapshot — its `.gbsnap`, verified block by block while it is
 * copied (each byte read once), and its external files — into a directory,
 * with one byte progress over all of them. Used by import and export.
 *
 * The same single pass computes the SHA-256 of every file copied (the native
 * engine in its own copy loop), so what an export's manifest is compared
 * with is what was installed, never a second read of the source; and each
 * external file's copied size is checked against its record.
 */
import { basename, join } from 'node:path';
import type { ChecksumEngine } from '../engines/types.js';
import { ErrIncompleteSnapshot } from '../errors.js';
import { copyFileDurable } from '../files/durable.js';
import { copySnapshotFile } from '../snapshot/verify.js';

/** What to copy. */
export interface SnapshotSource {
  /** The `.gbsnap` file and its permission bits and size. */
  file: string;
  mode: number;
  size: number;
  /** The snapshot record's file_size and checksum, checked against the file. */
  recordFileSize: bigint;
  recordChecksum: Uint8Array;
  /**
   * External files (copied with their modes; the format does not protect
   * them: their digests are returned for the manifest, and the copied size
   * must be `recordSize`, the size the snapshot record declares).
   */
  externals: { path: string; size: number; recordSize: bigint }[];
}

/** Size and SHA-256 of one file as copied. */
export interface CopiedDigest {
  /** Base name in the destination directory. */
  name: string;
  /** The source path. */
  path: string;
  size: bigint;
  sha256: string;
}

/** The digests of what {@link copySnapshotInto} copied: the `.gbsnap`, then the external files in order. */
export interface SnapshotCopy {
  snapshot: CopiedDigest;
  externals: CopiedDigest[];
}

/**
 * Copies `src` into the existing directory `destDir` (same base names; every
 * destination must not exist). Files are fsynced; the directory is not.
 * Returns the size and SHA-256 of every file, computed while copying.
 * Throws {@link ErrIncompleteSnapshot} (`external-file-size`) when an
 * external file's copied size is not its recorded size (it changed since it
 * was checked); the caller rolls the directory back.
 */
export async function copySnapshotInto(
  src: SnapshotSource,
  destDir: string,
  opts: { engine: ChecksumEngine; signal?: AbortSignal; onProgress?: (bytesDone: number, bytesTotal: number) => void },
): Promise<SnapshotCopy> {
  const total = src.size + src.externals.reduce((n, f) => n + f.size, 0);
  let done = 0;
  const progress = (bytes: number): void => opts.onProgress?.(done + bytes, total);
  const report = await copySnapshotFile(src.file, join(destDir, basename(src.file)), {
    engine: opts.engine,
    mode: src.mode,
    expectedFileSize: src.recordFileSize,
    expectedChecksum: src.recordChecksum,
    signal: opts.signal,
    onProgress: (d) => progress(d),
    sha256: true,
  });
  const snapshot: CopiedDigest = { name: basename(src.file), path: src.file, size: report.fileSize, sha256: report.sha256! };
  done += src.size;
  const externals: CopiedDigest[] = [];
  for (const f of src.externals) {
    const copied = await copyFileDurable(f.path, join(destDir, basename(f.path)), {
      exclusive: true,
      syncDir: false,
      signal: opts.signal,
      onProgress: (d) => progress(d),
      sha256: true,
    });
    if (copied.size !== f.recordSize) {
      throw new ErrIncompleteSnapshot(
        `external file ${f.path} was ${copied.size} bytes when copied but the snapshot record says ${f.recordSize}: it changed during the copy`,
        { path: f.path, check: 'external-file-size', expected: f.recordSize, actual: copied.size },
      );
    }
    externals.push({ name: basename(f.path), path: f.path, size: copied.size, sha256: copied.sha256! });
    done += f.size;
  }
  return { snapshot, externals };
}
