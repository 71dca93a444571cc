/**
 * `verify`: checks one snapshot file, or a whole exported snapshot directory
 * (layout, record, snapshot file against the record, external files, the
 * manifest, and the log suffix when there is one).
 */
import { stat } from 'node:fs/promises';
import { basename, resolve } from 'node:path';
import { ErrPathNotExist, ioError } from '../errors.js';
import { chooseEngine } from '../engines/choose.js';
import type { EngineChoice } from '../engines/select.js';
import type { ChecksumEngine, ProgressFn } from '../engines/types.js';
import type { Snapshot } from '../records/types.js';
import { verifySnapshotFile, type SnapshotFileReport } from '../snapshot/verify.js';
import { readExportDir, type ExportedExternalFile } from './export-dir.js';
import type { VerifiedLogSuffix } from './export-log.js';
import { checkManifest, readManifest, type FileDigest, type Manifest, type ManifestCheck } from './manifest.js';

/** Options of {@link verifySnapshot}. */
export interface VerifySnapshotOptions {
  /** Checksum engine: `auto` (default), `native`, `wasm`, `js`, or an engine object. */
  engine?: EngineChoice | ChecksumEngine;
  signal?: AbortSignal;
  onProgress?: ProgressFn;
}

/** Result of {@link verifySnapshot}. */
export interface VerifySnapshotResult {
  /** What was verified: a lone `.gbsnap` file or an exported directory. */
  kind: 'file' | 'export';
  target: string;
  engine: string;
  /** Set when `auto` could not use the native engine. */
  degraded?: string;
  file: SnapshotFileReport;
  /** The export's record (`snapshot.metadata`), for `kind: 'export'`. */
  record?: Snapshot;
  externalFiles?: ExportedExternalFile[];
  /** Present when the export carries a manifest (ours do): every file's SHA-256 was checked. */
  manifest?: ManifestCheck;
  /** Present when the export carries a log suffix: every rule, every entry and the anchor were checked. */
  logSuffix?: VerifiedLogSuffix;
}

/**
 * Verifies a `.gbsnap` file or an exported snapshot directory with every
 * check of docs/formats.md §3. Throws `ErrIncompleteSnapshot` naming the failed
 * check, `ErrPathNotExist`, `ErrCorruptFlagFile` (bad `snapshot.metadata`),
 * `ErrManifestMismatch`, and `ErrLogSuffix` naming the suffix file and the
 * failed check (docs/log-suffix.md) when the export carries one.
 */
export async function verifySnapshot(target: string, options: VerifySnapshotOptions = {}): Promise<VerifySnapshotResult> {
  const abs = resolve(target);
  let st;
  try {
    st = await stat(abs);
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'ENOENT') throw new ErrPathNotExist(`${abs} does not exist`, { path: abs });
    throw ioError(err, 'cannot stat', abs);
  }
  const { engine, degraded } = await chooseEngine(options.engine);
  const base = { target: abs, engine: engine.name, ...(degraded ? { degraded } : {}) };
  const fileOpts = { engine, signal: options.signal, onProgress: options.onProgress };
  if (!st.isDirectory()) {
    return { kind: 'file', ...base, file: await verifySnapshotFile(abs, fileOpts) };
  }
  const exp = await readExportDir(abs);
  const manifest = await readManifest(exp.dir);
  // The snapshot's SHA-256 comes from the scan that checks its blocks: one read of the file feeds every check.
  const snapName = basename(exp.snapshotFile);
  const hashSnapshot = listed(manifest, snapName);
  const file = await verifySnapshotFile(exp.snapshotFile, {
    ...fileOpts,
    expectedFileSize: exp.record.fileSize,
    expectedChecksum: exp.record.checksum,
    ...(hashSnapshot ? { sha256: true } : {}),
  });
  // The suffix's own rules first (a cut or a reorder is named as such, not as a size mismatch); its digest comes
  // from that same read and is compared with the manifest's below. Its code is loaded only for an export that has one.
  let logSuffix: VerifiedLogSuffix | undefined;
  let suffixName: string | undefined;
  if (exp.logSuffixFile) {
    const suffix = await import('./export-log.js');
    suffixName = suffix.LOG_SUFFIX_FILENAME;
    logSuffix = await suffix.verifyExportLogSuffix(exp.logSuffixFile, exp.record, { signal: options.signal });
  }
  const read = new Map<string, FileDigest>();
  if (hashSnapshot) read.set(snapName, { path: file.path, size: file.fileSize, sha256: file.sha256! });
  if (logSuffix && suffixName) read.set(suffixName, { path: logSuffix.file, size: logSuffix.size, sha256: logSuffix.sha256 });
  const manifestCheck = manifest ? await checkManifest(exp.dir, manifest, new Set(), options.signal, read) : undefined;
  return {
    kind: 'export',
    ...base,
    file,
    record: exp.record,
    externalFiles: exp.externalFiles,
    ...(manifestCheck ? { manifest: manifestCheck } : {}),
    ...(logSuffix ? { logSuffix } : {}),
  };
}

/** Whether the manifest lists `name` (a file it does not list is refused by checkManifest, unread). */
function listed(manifest: Manifest | undefined, name: string): boolean {
  return manifest?.files.some((f) => f.name === name) ?? false;
}
