/**
 * `verify`: checks one snapshot file, or a whole exported snapshot directory
 * (layout, record, snapshot file against the record, external files).
 */
import { stat } from 'node:fs/promises';
import { resolve } from 'node:path';
import { ErrPathNotExist, ioError } from '../errors.js';
import { selectEngine, type EngineChoice } from '../engines/select.js';
import type { ChecksumEngine, ProgressFn } from '../engines/types.js';
import type { Snapshot } from '../records/types.js';
import { verifySnapshotFile, type SnapshotFileReport } from '../snapshot/verify.js';
import { readExportDir, type ExportedExternalFile } from './export-dir.js';
import { checkManifest, readManifest, type ManifestCheck } from './manifest.js';

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
}

/**
 * Verifies a `.gbsnap` file or an exported snapshot directory with every
 * check of docs/formats.md §3. Throws `ErrIncompleteSnapshot` naming the failed
 * check, `ErrPathNotExist`, `ErrCorruptFlagFile` (bad `snapshot.metadata`).
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
  const { engine, degraded } = selectEngine(options.engine);
  const base = { target: abs, engine: engine.name, ...(degraded ? { degraded } : {}) };
  const fileOpts = { engine, signal: options.signal, onProgress: options.onProgress };
  if (!st.isDirectory()) {
    return { kind: 'file', ...base, file: await verifySnapshotFile(abs, fileOpts) };
  }
  const exp = await readExportDir(abs);
  const file = await verifySnapshotFile(exp.snapshotFile, {
    ...fileOpts,
    expectedFileSize: exp.record.fileSize,
    expectedChecksum: exp.record.checksum,
  });
  const manifest = await readManifest(exp.dir);
  const manifestCheck = manifest ? await checkManifest(exp.dir, manifest, new Set(), options.signal) : undefined;
  return {
    kind: 'export',
    ...base,
    file,
    record: exp.record,
    externalFiles: exp.externalFiles,
    ...(manifestCheck ? { manifest: manifestCheck } : {}),
  };
}
