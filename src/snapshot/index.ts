/**
 * `.gbsnap` snapshot files: header area, v2 geometry, the shared streaming
 * scanner, full verification (alone or while copying) and writers.
 */
export { parseHeaderArea, buildHeaderArea, headerChecksumOf, type ParsedHeaderArea } from './header.js';
export {
  BLOCK_CRC_SIZE, HEADER_AREA_SIZE, MAX_HEADER_LENGTH, V2_BLOCK_SIZE, V2_FULL_BLOCK_SIZE, V2_TAIL_MAGIC, V2_TAIL_SIZE,
  checkV2Geometry, encodeV2Tail, parseV2Tail, splitV2Region, v2BlockCount, v2BlockOffset, v2FileSize, v2RegionSize,
  type RegionSplit, type V2Geometry, type V2Tail,
} from './layout.js';
export { SCAN_PIECE_SIZE, copyAndScanWith, createStreamingEngine, scanPayloadWith } from './scan.js';
export {
  copySnapshotFile, precheckSnapshotFile, readHeaderArea, verifySnapshotFile,
  type CopyOptions, type PrecheckOptions, type SnapshotFileReport, type SnapshotPrecheck, type VerifyOptions,
} from './verify.js';
export {
  V2SnapshotWriter, createV2SnapshotWriter, writeV1SnapshotFile, writeV2SnapshotFile,
  type SnapshotWriteResult, type SnapshotWriterOptions,
} from './writer.js';
