/**
 * Reading an exported snapshot directory (docs/import-contract.md steps 3 and 4): exactly
 * one `*gbsnap` regular file, a `snapshot.metadata` flag file holding the
 * Snapshot record, the record's external files beside them, and optionally
 * our log suffix (`log-suffix.nhlog`). Nothing here reads snapshot payloads
 * or the suffix's entries: that is verification's job.
 */
import { lstat, readdir, stat } from 'node:fs/promises';
import { basename, join, resolve } from 'node:path';
import { ErrIncompleteSnapshot, ErrLogSuffix, ErrPathNotExist, ioError } from '../errors.js';
import { type FlagFileDigest, readFlagFileDigested } from '../files/flagfile.js';
// The protobuf-free decoder: verify reads snapshot.metadata without loading the protobuf runtime.
import { decodeSnapshotLite as decodeSnapshot } from '../records/lite.js';
import type { Snapshot } from '../records/types.js';
import { SNAPSHOT_FLAG_FILENAME, SNAPSHOT_METADATA_FILENAME } from '../nodehost/paths.js';
import { LOG_SUFFIX_FILENAME } from '../records/log-suffix.js';

export { SNAPSHOT_METADATA_FILENAME };

/** An external file of an on-disk state machine snapshot, as found in an export. */
export interface ExportedExternalFile {
  name: string;
  path: string;
  /** Size on disk. */
  size: bigint;
  /** Size the record declares. */
  recordSize: bigint;
  mode: number;
}

/** What an exported snapshot directory holds. */
export interface ExportDir {
  dir: string;
  /** Absolute path of the single `.gbsnap` file. */
  snapshotFile: string;
  snapshotFileMode: number;
  snapshotFileSize: bigint;
  /** The record from `snapshot.metadata`. */
  record: Snapshot;
  /** Size and SHA-256 of the `snapshot.metadata` bytes the record was decoded from (one read). */
  metadata: FlagFileDigest;
  externalFiles: ExportedExternalFile[];
  /**
   * Absolute path of the export's log suffix (`log-suffix.nhlog`,
   * docs/log-suffix.md) when it has one; its content is not read here.
   */
  logSuffixFile?: string;
}

/**
 * Reads and checks the layout of an export. Throws {@link ErrPathNotExist}
 * when `srcDir` is missing, {@link ErrIncompleteSnapshot} when the gbsnap file
 * is missing or ambiguous, the record names another file, or an external file
 * is missing or has the wrong size; a missing or corrupt `snapshot.metadata`
 * fails with an error naming that file.
 */
export async function readExportDir(srcDir: string): Promise<ExportDir> {
  const dir = resolve(srcDir);
  let entries;
  try {
    const st = await stat(dir);
    if (!st.isDirectory()) {
      throw new ErrPathNotExist(`${dir} is not a directory; pass the exported snapshot directory (snapshot-<INDEX>)`, { path: dir });
    }
    entries = await readdir(dir, { withFileTypes: true });
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'ENOENT') {
      throw new ErrPathNotExist(`export directory ${dir} does not exist`, { path: dir });
    }
    throw ioError(err, 'cannot read export directory', dir);
  }
  // Like the reference: regular files whose name ends in "gbsnap".
  const snaps = entries
    .filter((e) => e.isFile() && e.name.endsWith('gbsnap'))
    .map((e) => e.name)
    .sort();
  if (snaps.length !== 1) {
    throw new ErrIncompleteSnapshot(
      snaps.length === 0
        ? `no snapshot file (*.gbsnap) in ${dir}; is this the exported snapshot-<INDEX> directory?`
        : `${snaps.length} snapshot files in ${dir} (${snaps.join(', ')}); an export holds exactly one`,
      { path: dir, check: 'snapshot-file-count', actual: snaps.length, expected: 1 },
    );
  }
  const snapshotFile = join(dir, snaps[0]!);
  const { value: record, digest: metadata } = await readFlagFileDigested(join(dir, SNAPSHOT_METADATA_FILENAME), decodeSnapshot);
  if (basename(record.filepath) !== snaps[0]) {
    throw new ErrIncompleteSnapshot(
      `${SNAPSHOT_METADATA_FILENAME} names snapshot file "${basename(record.filepath)}" but the export holds "${snaps[0]}"`,
      { path: snapshotFile, check: 'snapshot-file-name', expected: basename(record.filepath), actual: snaps[0] },
    );
  }
  const snapSt = await lstat(snapshotFile);
  const externalFiles = await externalFilesOf(dir, record, SNAPSHOT_METADATA_FILENAME);
  // A file of that name the record lists is one of the snapshot's own external files, not a suffix.
  const suffix = entries.find((e) => e.name === LOG_SUFFIX_FILENAME);
  const isExternal = externalFiles.some((f) => f.name === LOG_SUFFIX_FILENAME);
  if (suffix && !isExternal && !suffix.isFile()) {
    const path = join(dir, LOG_SUFFIX_FILENAME);
    throw new ErrLogSuffix(`${path} is not a regular file`, { path, check: 'file-type' });
  }

  return {
    dir,
    snapshotFile,
    snapshotFileMode: snapSt.mode & 0o7777,
    snapshotFileSize: BigInt(snapSt.size),
    record,
    metadata,
    externalFiles,
    ...(suffix && !isExternal ? { logSuffixFile: join(dir, LOG_SUFFIX_FILENAME) } : {}),
  };
}

/**
 * The external files `record` lists, found in `dir` by base name: each must
 * be a regular file of the recorded size, else {@link ErrIncompleteSnapshot}
 * (`external-file-missing`, `-type`, `-size`). `recordName` says where the
 * record came from, for the message.
 */
export async function externalFilesOf(dir: string, record: Snapshot, recordName: string): Promise<ExportedExternalFile[]> {
  const externalFiles: ExportedExternalFile[] = [];
  // Names the snapshot directory itself uses: an external file by one of them would be overwritten by, or overwrite, it.
  const taken = new Set([SNAPSHOT_METADATA_FILENAME, SNAPSHOT_FLAG_FILENAME, basename(record.filepath)]);
  for (const f of record.files) {
    // The record is read from a file: its names are checked here, before anything is copied or written.
    const name = basename(f.filepath);
    if (name === '' || name === '.' || name === '..' || name.includes('\0') || taken.has(name)) {
      throw new ErrIncompleteSnapshot(
        `${recordName} lists external file ${JSON.stringify(f.filepath)}, whose name ${JSON.stringify(name)} ` +
          (taken.has(name)
            ? 'is already used in the snapshot directory (by the snapshot file, its metadata, its flag file or another external file)'
            : 'is not a file name'),
        { path: dir, check: 'external-file-name', actual: f.filepath },
      );
    }
    taken.add(name);
    const path = join(dir, name);
    let st;
    try {
      st = await lstat(path, { bigint: true });
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code === 'ENOENT') {
        throw new ErrIncompleteSnapshot(`external file ${name} listed in ${recordName} is missing from ${dir}`, {
          path,
          check: 'external-file-missing',
        });
      }
      throw ioError(err, 'cannot stat external file', path);
    }
    if (!st.isFile()) {
      throw new ErrIncompleteSnapshot(`external file ${path} is not a regular file`, { path, check: 'external-file-type' });
    }
    if (st.size !== f.fileSize) {
      throw new ErrIncompleteSnapshot(`external file ${name} is ${st.size} bytes but the record says ${f.fileSize}`, {
        path,
        check: 'external-file-size',
        expected: f.fileSize,
        actual: st.size,
      });
    }
    externalFiles.push({ name, path, size: st.size, recordSize: f.fileSize, mode: Number(st.mode & 0o7777n) });
  }
  return externalFiles;
}
