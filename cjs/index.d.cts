// Types of the CommonJS entry (cjs/index.cjs). On Node.js 20, require() gives
// load() and the library's asynchronous functions; where require(esm) works it
// gives the whole library (use `load()` in code that must run on both).
type Lib = typeof import('../dist/index.js');
declare const api: {
  /** The library's module namespace, as `import('nodehost-tools')` gives it. */
  load(): Promise<Lib>;
  /** The names of the asynchronous functions available directly. */
  readonly ASYNC_EXPORTS: readonly string[];
  checkLogSuffixFile: Lib['checkLogSuffixFile'];
  checkManifest: Lib['checkManifest'];
  copySnapshotFile: Lib['copySnapshotFile'];
  createBackup: Lib['createBackup'];
  exportSnapshot: Lib['exportSnapshot'];
  importMany: Lib['importMany'];
  importSnapshot: Lib['importSnapshot'];
  inspectNode: Lib['inspectNode'];
  loadImportManifest: Lib['loadImportManifest'];
  loadNodeHostConfigFile: Lib['loadNodeHostConfigFile'];
  planRecovery: Lib['planRecovery'];
  readBackup: Lib['readBackup'];
  readExportDir: Lib['readExportDir'];
  readLogSuffixHeader: Lib['readLogSuffixHeader'];
  readManifest: Lib['readManifest'];
  restoreBackup: Lib['restoreBackup'];
  summarizeLog: Lib['summarizeLog'];
  verifyExportLogSuffix: Lib['verifyExportLogSuffix'];
  verifySnapshot: Lib['verifySnapshot'];
  verifySnapshotFile: Lib['verifySnapshotFile'];
  writeV1SnapshotFile: Lib['writeV1SnapshotFile'];
  writeV2SnapshotFile: Lib['writeV2SnapshotFile'];
};
export = api;
