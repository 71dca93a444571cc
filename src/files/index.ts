export {
  fsyncDir,
  tempSiblingPath,
  writeFileDurable,
  copyFileDurable,
  removeTreeDurable,
  renameDurable,
  mkdirDurable,
} from './durable.js';
export type { CopyFileOptions } from './durable.js';
export { isNotFound, lstatOrUndefined, statOrUndefined, pathExists, readFileOrThrow } from './fsutil.js';
export { readFlagFile, readFlagFileIfExists, writeFlagFile } from './flagfile.js';
