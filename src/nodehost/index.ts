export * from './config.js';
export * from './paths.js';
export * from './snapshotdirs.js';
export * from './settings.js';
export { hardHash, newDataStatus, checkDataStatus, checkOrCreateDataStatus, checkOrCreateDataStatusFiles } from './datastatus.js';
export type { DataStatusResult, DataStatusOptions } from './datastatus.js';
export * from './lock.js';
export { ensureNodeHostDirs } from './layout.js';
