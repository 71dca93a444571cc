/**
 * nodehost-tools: repair a Dragonboat shard that permanently lost its quorum
 * by importing an exported snapshot onto each host of a new membership.
 *
 * The entry points are the operations ({@link importSnapshot},
 * {@link verifySnapshot}, {@link inspectNode}); the formats, the log store and
 * the NodeHost layout underneath are exported for tools that need them.
 * Every failure is a {@link NodeHostToolsError} with a stable `code`.
 *
 * @packageDocumentation
 */

// Operations.
export {
  importSnapshot,
  IMPORT_STEPS,
  type ImportOptions,
  type ImportResult,
  type ImportStep,
  type ImportPhase,
  type ImportWarning,
  type ImportedFile,
  type NodeRecordsView,
} from './ops/import.js';
export { verifySnapshot, type VerifySnapshotOptions, type VerifySnapshotResult } from './ops/verify.js';
export { inspectNode, type NodeView, type SnapshotDirView } from './ops/inspect.js';
export { readExportDir, type ExportDir, type ExportedExternalFile } from './ops/export-dir.js';
export type { FlagFileDigest } from './files/flagfile.js';
export type { MemberNodes, ConfigChangeIdPolicy } from './ops/members.js';
export { exportSnapshot, type ExportOptions, type ExportResult } from './ops/export.js';
export { planRecovery, type PlanHost, type PlanOptions, type PlanResult, type HostPlan, type InspectJson } from './ops/plan.js';
export { verifyExportLogSuffix, type LogSuffixInfo, type VerifiedLogSuffix } from './ops/export-log.js';
export type { MinimalLossPlan, MinimalLossHost } from './ops/plan-minimal.js';
export { checkLog, chooseSurvivor, summarizeLog, type LogSummary, type LogCheck } from './ops/survivor.js';
export { readLogSuffix, readLogSuffixHeader, checkLogSuffixFile, type LogSuffixSummary } from './files/log-suffix-file.js';
export { LOG_SUFFIX_FILENAME, type LogSuffixHeader, type LogSuffixEntry } from './records/log-suffix.js';
export { createBackup, readBackup, restoreBackup, type BackupInfo, type RestoreResult } from './ops/backup.js';
export { importMany, loadImportManifest, type ImportJob, type JobOutcome, type ManyOptions, type ManyResult } from './ops/import-many.js';
export { readManifest, checkManifest, MANIFEST_FILENAME, type Manifest, type ManifestFile } from './ops/manifest.js';
export { recoveryFingerprint, type FingerprintInput } from './ops/fingerprint.js';

// Errors.
export * from './errors.js';

// Records and formats.
export * from './records/types.js';
export * from './records/codec.js';
export { encodeFlagFile, decodeFlagFile } from './records/flagfile.js';
export {
  verifySnapshotFile,
  copySnapshotFile,
  type SnapshotFileReport,
  type VerifyOptions,
} from './snapshot/verify.js';
export {
  V2SnapshotWriter,
  createV2SnapshotWriter,
  writeV2SnapshotFile,
  writeV1SnapshotFile,
  type SnapshotWriterOptions,
  type SnapshotWriteResult,
} from './snapshot/writer.js';
export { v2FileSize } from './snapshot/layout.js';

// Engines.
export type { ChecksumEngine, EngineName, PayloadLayout, PayloadScan } from './engines/types.js';
export { selectEngine, getEngine, type EngineChoice, type EngineSelection } from './engines/select.js';

// Storage.
export {
  resolveNodeHostConfig,
  loadNodeHostConfigFile,
  type NodeHostConfig,
  type ResolvedNodeHostConfig,
} from './nodehost/config.js';
export { LogDB, type LogDBOptions, type RaftUpdate, type NodeRecords } from './logdb/logdb.js';
