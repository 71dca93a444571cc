/**
 * Pure record formats: Dragonboat's protobuf records and the flag-file
 * framing. No I/O here.
 */
export * from './types.js';
export * from './codec.js';
export { encodeFlagFile, decodeFlagFile, flagFileHash, FLAG_HASH_SIZE } from './flagfile.js';
export { scanFields, type RawField } from './wire.js';
