/**
 * sstable blocks: the 5-byte trailer (compression type + masked CRC32C of the
 * data and type byte) and the key/value entry format with prefix-compressed
 * keys and restart points. A block is decoded whole into arrays: blocks are
 * at most tens of KiB and a scan visits each entry anyway. Pure.
 */
import { crc32cUpdate, unmaskCrc } from './crc32c.js';
import { corrupt, unsupported, type Where } from './fail.js';
import { Cursor } from './varint.js';
import { TRAILER_SIZE, compareInternalKeys } from './internal-key.js';
import type { BlockHandle } from './sstable-footer.js';

/** Bytes after every block: compression type u8, masked CRC u32le. */
export const BLOCK_TRAILER_SIZE = 5;

const COMPRESSION_NAMES = ['none', 'snappy', 'zlib', 'bzip2', 'lz4', 'lz4hc', 'xpress', 'zstd'];

/**
 * Checks a block read with its trailer (`raw` = `handle.length + 5` bytes at
 * `handle.offset`) and returns its data (a view). CRC first, as Pebble does;
 * `crc32c` replaces the pure CRC-32C (the addon's, where it is loaded).
 */
export function checkBlock(raw: Uint8Array, handle: BlockHandle, path: string, crc32c?: (data: Uint8Array) => number): Uint8Array {
  const where: Where = { path, base: handle.offset };
  if (raw.length !== handle.length + BLOCK_TRAILER_SIZE) {
    throw corrupt(where, 0, 'block-truncated', `block of ${handle.length} bytes at ${handle.offset} runs past the end of the table`);
  }
  const stored =
    (raw[handle.length + 1]! | (raw[handle.length + 2]! << 8) | (raw[handle.length + 3]! << 16) | (raw[handle.length + 4]! << 24)) >>> 0;
  const actual = crc32c ? crc32c(raw.subarray(0, handle.length + 1)) : crc32cUpdate(0, raw, 0, handle.length + 1);
  if (unmaskCrc(stored) !== actual) {
    throw corrupt(where, handle.length + 1, 'block-crc', `block checksum mismatch (block at ${handle.offset}, ${handle.length} bytes)`);
  }
  const type = raw[handle.length]!;
  if (type !== 0) {
    if (type < COMPRESSION_NAMES.length) {
      throw unsupported(
        where,
        handle.length,
        'compression',
        `block compressed with ${COMPRESSION_NAMES[type]} (Dragonboat writes no compression)`,
      );
    }
    throw corrupt(where, handle.length, 'block-type', `unknown block type ${type}`);
  }
  return raw.subarray(0, handle.length);
}

/** A decoded block: keys (fresh copies) and values (views into the block) in order. */
export interface DecodedBlock {
  keys: Uint8Array[];
  values: Uint8Array[];
}

/** Options of {@link decodeBlock}. */
export interface DecodeBlockOptions {
  /** Keys are internal keys (data, index, range-del blocks): at least 8 bytes, internal-key order. Otherwise bytewise order. */
  internalKeys: boolean;
}

/** Decodes every entry of a key/value block; `where.base` is the block's file offset. */
export function decodeBlock(data: Uint8Array, where: Where, opts: DecodeBlockOptions): DecodedBlock {
  const len = data.length;
  if (len < 4) throw corrupt(where, 0, 'block-restarts', `block of ${len} bytes has no restart count`);
  const dv = new DataView(data.buffer, data.byteOffset, data.byteLength);
  const numRestarts = dv.getUint32(len - 4, true);
  if (numRestarts === 0 || (numRestarts + 1) * 4 > len) {
    throw corrupt(where, len - 4, 'block-restarts', `block restart count ${numRestarts} does not fit a ${len}-byte block`);
  }
  const entriesEnd = len - (numRestarts + 1) * 4;
  const keys: Uint8Array[] = [];
  const values: Uint8Array[] = [];
  const c = new Cursor(data, 0, entriesEnd);
  let prev: Uint8Array = new Uint8Array(0);
  let r = 0;
  let nextRestart = dv.getUint32(entriesEnd, true);
  while (c.pos < entriesEnd) {
    const at = c.pos;
    const shared = c.uvarint32();
    const unshared = shared < 0 ? -1 : c.uvarint32();
    const valueLen = unshared < 0 ? -1 : c.uvarint32();
    if (valueLen < 0 || shared > prev.length || c.pos + unshared + valueLen > entriesEnd) {
      throw corrupt(where, at, 'block-entry', 'malformed block entry');
    }
    if (at === nextRestart) {
      if (shared !== 0) throw corrupt(where, at, 'block-restarts', 'restart point entry shares a key prefix');
      r++;
      nextRestart = r < numRestarts ? dv.getUint32(entriesEnd + 4 * r, true) : -1;
    } else if (nextRestart >= 0 && nextRestart < at) {
      throw corrupt(where, entriesEnd + 4 * r, 'block-restarts', 'restart point is not at an entry');
    }
    const key = new Uint8Array(shared + unshared);
    key.set(prev.subarray(0, shared), 0);
    key.set(data.subarray(c.pos, c.pos + unshared), shared);
    c.pos += unshared;
    const value = data.subarray(c.pos, c.pos + valueLen);
    c.pos += valueLen;
    if (opts.internalKeys) {
      if (key.length < TRAILER_SIZE) throw corrupt(where, at, 'block-key', 'block key shorter than an internal key');
      if (keys.length > 0 && compareInternalKeys(prev, key) >= 0) throw corrupt(where, at, 'key-order', 'block keys out of order');
    } else if (keys.length > 0 && Buffer.compare(prev, key) >= 0) {
      throw corrupt(where, at, 'key-order', 'block keys out of order');
    }
    keys.push(key);
    values.push(value);
    prev = key;
  }
  // An empty block still has one restart point, at 0.
  if (keys.length === 0 ? numRestarts !== 1 || nextRestart !== 0 : r !== numRestarts) {
    throw corrupt(where, entriesEnd + 4 * Math.min(r, numRestarts - 1), 'block-restarts', 'restart point is not at an entry');
  }
  return { keys, values };
}
