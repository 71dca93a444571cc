/**
 * The sstable footer: the last 48 (LevelDB) or 53 (RocksDB) bytes, ending in
 * a magic number, holding the metaindex and index block handles. Dragonboat's
 * Pebble writes RocksDB footers, format version 2, CRC32C checksums; Pebble's
 * own newer table magic only appears at format major versions ≥ 5. Pure.
 */
import { Cursor } from './varint.js';
import { corrupt, unsupported, type Where } from './fail.js';

export const LEVELDB_FOOTER_SIZE = 48;
export const ROCKSDB_FOOTER_SIZE = 53;
/** Bytes to read from the end of a table to be sure to hold its footer. */
export const MAX_FOOTER_SIZE = ROCKSDB_FOOTER_SIZE;

const LEVELDB_MAGIC = Uint8Array.from([0x57, 0xfb, 0x80, 0x8b, 0x24, 0x75, 0x47, 0xdb]);
const ROCKSDB_MAGIC = Uint8Array.from([0xf7, 0xcf, 0xf4, 0x85, 0xb7, 0x41, 0xe2, 0x88]);
const PEBBLE_MAGIC = Uint8Array.from([0xf0, 0x9f, 0xaa, 0xb3, 0xf0, 0x9f, 0xaa, 0xb3]);

/** Checksum type CRC32C, the only one accepted. */
export const CHECKSUM_CRC32C = 1;

/** Where a block lives: `length` excludes the 5-byte trailer. */
export interface BlockHandle {
  offset: number;
  length: number;
}

/** A decoded footer. */
export interface Footer {
  format: 'leveldb' | 'rocksdb-v2';
  checksumType: number;
  metaindex: BlockHandle;
  index: BlockHandle;
  /** File offset of the footer's first byte. */
  offset: number;
}

function sameBytes(a: Uint8Array, b: Uint8Array): boolean {
  if (a.length !== b.length) return false;
  for (let i = 0; i < a.length; i++) if (a[i] !== b[i]) return false;
  return true;
}

/** Decodes a block handle (two varints) at the cursor; undefined when malformed. */
export function readBlockHandle(c: Cursor): BlockHandle | undefined {
  const offset = c.uvarint();
  if (offset < 0) return undefined;
  const length = c.uvarint();
  if (length < 0) return undefined;
  return { offset, length };
}

/**
 * Decodes the footer from `tail`, the last `min(fileSize, MAX_FOOTER_SIZE)`
 * bytes of a table of `fileSize` bytes; `where.base` is unused (offsets are
 * computed from `fileSize`).
 */
export function decodeFooter(tail: Uint8Array, fileSize: number, where: Where): Footer {
  const at = (o: number): Where => ({ path: where.path, base: fileSize - tail.length + o });
  if (fileSize < LEVELDB_FOOTER_SIZE) {
    throw corrupt({ path: where.path }, 0, 'table-size', `table of ${fileSize} bytes is too small to hold a footer`);
  }
  const magic = tail.subarray(tail.length - 8);
  let f: Cursor;
  let footer: Omit<Footer, 'metaindex' | 'index'>;
  if (sameBytes(magic, LEVELDB_MAGIC)) {
    const start = tail.length - LEVELDB_FOOTER_SIZE;
    footer = { format: 'leveldb', checksumType: CHECKSUM_CRC32C, offset: fileSize - LEVELDB_FOOTER_SIZE };
    f = new Cursor(tail, start, tail.length - 8);
  } else if (sameBytes(magic, ROCKSDB_MAGIC)) {
    if (tail.length < ROCKSDB_FOOTER_SIZE) {
      throw corrupt(at(0), 0, 'footer-size', `table of ${fileSize} bytes is too small for a RocksDB footer`);
    }
    const start = tail.length - ROCKSDB_FOOTER_SIZE;
    const dv = new DataView(tail.buffer, tail.byteOffset, tail.byteLength);
    const version = dv.getUint32(tail.length - 12, true);
    if (version !== 2) {
      throw unsupported(at(tail.length - 12), 0, 'table-format-version', `RocksDB table format version ${version} (only 2 is read)`, {
        expected: 2,
        actual: version,
      });
    }
    const checksumType = tail[start]!;
    if (checksumType !== CHECKSUM_CRC32C) {
      throw unsupported(at(start), 0, 'checksum-type', `table checksum type ${checksumType} (only 1, CRC32C, is read)`, {
        expected: 1,
        actual: checksumType,
      });
    }
    footer = { format: 'rocksdb-v2', checksumType, offset: fileSize - ROCKSDB_FOOTER_SIZE };
    f = new Cursor(tail, start + 1, tail.length - 12);
  } else if (sameBytes(magic, PEBBLE_MAGIC)) {
    throw unsupported(at(tail.length - 8), 0, 'table-magic-pebble', 'Pebble-format table (written at format major version 5 or later)');
  } else {
    throw corrupt(at(tail.length - 8), 0, 'table-magic', 'bad table magic number');
  }
  const hAt = f.pos;
  const metaindex = readBlockHandle(f);
  if (metaindex === undefined || metaindex.offset + metaindex.length > fileSize) {
    throw corrupt(at(hAt), 0, 'metaindex-handle', 'bad metaindex block handle');
  }
  const iAt = f.pos;
  const index = readBlockHandle(f);
  if (index === undefined || index.offset + index.length > fileSize) {
    throw corrupt(at(iAt), 0, 'index-handle', 'bad index block handle');
  }
  return { ...footer, metaindex, index };
}
