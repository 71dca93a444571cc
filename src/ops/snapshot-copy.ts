/**
 * Copying one snapshot — its `.gbsnap`, verified block by block while it is
 * copied (each byte read once), and its external files — into a directory,
 * with one byte progress over all of them. Used by import and export.
 */
import { basename, join } from 'node:path';
import type { ChecksumEngine } from '../engines/types.js';
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
  /** External files (copied with their modes, not checksummed: the format does not protect them). */
  externals: { path: string; size: number }[];
}

/**
 * Copies `src` into the existing directory `destDir` (same base names; every
 * destination must not exist). Files are fsynced; the directory is not.
 */
export async function copySnapshotInto(
  src: SnapshotSource,
  destDir: string,
  opts: { engine: ChecksumEngine; signal?: AbortSignal; onProgress?: (bytesDone: number, bytesTotal: number) => void },
): Promise<void> {
  const total = src.size + src.externals.reduce((n, f) => n + f.size, 0);
  let done = 0;
  const progress = (bytes: number): void => opts.onProgress?.(done + bytes, total);
  await copySnapshotFile(src.file, join(destDir, basename(src.file)), {
    engine: opts.engine,
    mode: src.mode,
    expectedFileSize: src.recordFileSize,
    expectedChecksum: src.recordChecksum,
    signal: opts.signal,
    onProgress: (d) => progress(d),
  });
  done += src.size;
  for (const f of src.externals) {
    await copyFileDurable(f.path, join(destDir, basename(f.path)), {
      exclusive: true, syncDir: false, signal: opts.signal, onProgress: (d) => progress(d),
    });
    done += f.size;
  }
}
