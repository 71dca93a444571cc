/**
 * A minimal sstable encoder: the RocksDB block-based table that Pebble at
 * format major version 1 writes with Dragonboat's options (docs/pebble-store.md "Tables"):
 * data blocks of `blockSize` (32 KiB) with restart interval 16, one index
 * block or — when the index would exceed `indexBlockSize` — a two-level index
 * (index partitions + a top-level block, as Pebble's writer switches), a
 * range-deletion block when tombstones were added (named both
 * `rocksdb.range_del2` and `rocksdb.range_del`, as Pebble does), the
 * properties and metaindex blocks, and a RocksDB v2 footer with CRC32C.
 * No compression, no filter. Index keys are Pebble's shortened separators
 * (kind SEPARATOR, sequence number all ones) where a shorter key exists.
 *
 * Used to build realistic stores without Pebble (benchmark inputs, tests).
 * Keys must be added in internal-key order; nothing here re-checks that
 * beyond what the reader checks when it reads the table back. Pure: the
 * output is a list of byte pieces to write in order.
 */
import { crc32cUpdate, maskCrc } from './crc32c.js';
import { Kind, TRAILER_SIZE, writeTrailer } from './internal-key.js';
import { uvarintSize } from './varint.js';
import {
  BYTEWISE_COMPARATOR,
  CONCATENATE_MERGER,
  INDEX_BINARY_SEARCH,
  INDEX_TWO_LEVEL,
  META_PROPERTIES,
  META_RANGE_DEL,
  META_RANGE_DEL_V2,
} from './sstable-meta.js';
import type { BlockHandle } from './sstable-footer.js';
import { BLOCK_TRAILER_SIZE } from './sstable-block.js';

/** Options of a {@link SstableWriter} (defaults: Dragonboat's Pebble options). */
export interface SstableWriterOptions {
  /** Target data block size (default 32 KiB). */
  blockSize?: number;
  /** Target index block size; above it the index becomes two-level (default 32 KiB). */
  indexBlockSize?: number;
  /** Data block restart interval (default 16). */
  restartInterval?: number;
  /** A CRC-32C function (default the pure one); the benchmarks pass a native one. */
  crc32c?: (data: Uint8Array) => number;
}

/** A finished table. */
export interface FinishedTable {
  /** The file's bytes, in order. */
  pieces: Uint8Array[];
  size: number;
  /** Smallest and largest internal keys (MANIFEST bounds); undefined for a table without keys. */
  smallest: Uint8Array | undefined;
  largest: Uint8Array | undefined;
  smallestSeq: number;
  largestSeq: number;
  numEntries: number;
  numDataBlocks: number;
  indexType: number;
  indexPartitions: number;
}

/** Pebble flushes a block once it is within this share of its target and the next entry would overflow it. */
const BLOCK_SIZE_THRESHOLD_PERCENT = 90;

/** A growable byte buffer. */
class Bytes {
  buf: Uint8Array;
  len = 0;
  constructor(cap = 1024) {
    this.buf = new Uint8Array(cap);
  }

  ensure(extra: number): void {
    if (this.len + extra <= this.buf.length) return;
    let cap = this.buf.length * 2;
    while (cap < this.len + extra) cap *= 2;
    const b = new Uint8Array(cap);
    b.set(this.buf.subarray(0, this.len));
    this.buf = b;
  }

  varint(v: number): void {
    this.ensure(10);
    while (v >= 0x80) {
      this.buf[this.len++] = (v % 128) | 0x80;
      v = Math.floor(v / 128);
    }
    this.buf[this.len++] = v;
  }

  u32(v: number): void {
    this.ensure(4);
    const b = this.buf;
    b[this.len] = v & 0xff;
    b[this.len + 1] = (v >>> 8) & 0xff;
    b[this.len + 2] = (v >>> 16) & 0xff;
    b[this.len + 3] = (v >>> 24) & 0xff;
    this.len += 4;
  }

  bytes(src: Uint8Array, start = 0, end = src.length): void {
    this.ensure(end - start);
    this.buf.set(src.subarray(start, end), this.len);
    this.len += end - start;
  }
}

/**
 * One key/value block being built: prefix-compressed entries, a restart
 * point every `restartInterval` entries (docs/pebble-store.md "Tables").
 */
export class BlockBuilder {
  private out = new Bytes(40 * 1024);
  private restarts: number[] = [];
  private last = new Uint8Array(64);
  private lastLen = 0;
  entries = 0;

  constructor(readonly restartInterval: number) {}

  /** Size of the block if finished now. */
  estimatedSize(): number {
    return this.out.len + 4 * (this.restarts.length + 1);
  }

  /** Whether Pebble's writer would flush before adding this entry (its `shouldFlush`). */
  shouldFlush(keyLen: number, valueLen: number, target: number): boolean {
    if (this.entries === 0) return false;
    const size = this.estimatedSize();
    if (size >= target) return true;
    if (size <= Math.floor((target * BLOCK_SIZE_THRESHOLD_PERCENT + 99) / 100)) return false;
    let newSize = size + keyLen + valueLen;
    if (this.entries % this.restartInterval === 0) newSize += 4;
    newSize += 4 + uvarintSize(keyLen) + uvarintSize(valueLen);
    return newSize > target;
  }

  add(key: Uint8Array, value: Uint8Array): void {
    let shared = 0;
    if (this.entries % this.restartInterval === 0) {
      this.restarts.push(this.out.len);
    } else {
      const n = Math.min(this.lastLen, key.length);
      const last = this.last;
      while (shared < n && last[shared] === key[shared]) shared++;
    }
    const o = this.out;
    o.varint(shared);
    o.varint(key.length - shared);
    o.varint(value.length);
    o.bytes(key, shared);
    o.bytes(value);
    if (this.last.length < key.length) this.last = new Uint8Array(key.length * 2);
    this.last.set(key, 0);
    this.lastLen = key.length;
    this.entries++;
  }

  /** The last key added (a view, valid until the next add). */
  lastKey(): Uint8Array {
    return this.last.subarray(0, this.lastLen);
  }

  /** The block's bytes (restart array appended); the builder is reset. */
  finish(): Uint8Array {
    const o = this.out;
    if (this.restarts.length === 0) this.restarts.push(0);
    for (const r of this.restarts) o.u32(r);
    o.u32(this.restarts.length);
    const data = o.buf.slice(0, o.len);
    this.out = new Bytes(Math.max(1024, o.buf.length));
    this.restarts = [];
    this.lastLen = 0;
    this.entries = 0;
    return data;
  }
}

/** Pebble's bytewise `Separator(a, b)`: a short key k with a <= k < b (a itself when none is shorter). */
export function bytewiseSeparator(a: Uint8Array, b: Uint8Array): Uint8Array {
  const min = Math.min(a.length, b.length);
  let i = 0;
  while (i < min && a[i] === b[i]) i++;
  if (i >= min) return a.slice();
  if (a[i]! >= b[i]!) return a.slice();
  if (i < b.length - 1 || a[i]! + 1 < b[i]!) {
    const out = a.slice(0, i + 1);
    out[i]!++;
    return out;
  }
  for (let j = i + 1; j < a.length; j++) {
    if (a[j] !== 0xff) {
      const out = a.slice(0, j + 1);
      out[j]!++;
      return out;
    }
  }
  return a.slice();
}

/** Pebble's bytewise `Successor(a)`: a short key k >= a. */
export function bytewiseSuccessor(a: Uint8Array): Uint8Array {
  for (let i = 0; i < a.length; i++) {
    if (a[i] !== 0xff) {
      const out = a.slice(0, i + 1);
      out[i]!++;
      return out;
    }
  }
  return a.slice();
}

function compareBytes(a: Uint8Array, b: Uint8Array): number {
  return Buffer.compare(a, b);
}

/** The index key Pebble's `InternalKey.Separator`/`Successor` gives: shortened with kind SEPARATOR, or the key itself. */
function indexKey(last: Uint8Array, shortened: Uint8Array): Uint8Array {
  const user = last.subarray(0, last.length - TRAILER_SIZE);
  if (shortened.length <= user.length && compareBytes(user, shortened) < 0) {
    const out = new Uint8Array(shortened.length + TRAILER_SIZE);
    out.set(shortened, 0);
    out[shortened.length] = Kind.Separator;
    out.fill(0xff, shortened.length + 1);
    return out;
  }
  return last.slice();
}

function encodeHandle(h: BlockHandle): Uint8Array {
  const b = new Bytes(20);
  b.varint(h.offset);
  b.varint(h.length);
  return b.buf.slice(0, b.len);
}

function seqOf(key: Uint8Array): number {
  const t = key.length - TRAILER_SIZE;
  const lo = (key[t + 1]! | (key[t + 2]! << 8) | (key[t + 3]! << 16)) >>> 0;
  const hi = (key[t + 4]! | (key[t + 5]! << 8) | (key[t + 6]! << 16) | (key[t + 7]! << 24)) >>> 0;
  return hi * 0x1000000 + lo;
}

const ROCKSDB_MAGIC = Uint8Array.from([0xf7, 0xcf, 0xf4, 0x85, 0xb7, 0x41, 0xe2, 0x88]);

/**
 * Writes one table. Call {@link add} with point keys (internal keys of kind
 * SET or DEL) in internal-key order, optionally {@link addRangeDel}, then
 * {@link finish}.
 */
export class SstableWriter {
  private readonly blockSize: number;
  private readonly indexBlockSize: number;
  private readonly crc: (data: Uint8Array) => number;
  private readonly pieces: Uint8Array[] = [];
  private offset = 0;
  private readonly data: BlockBuilder;
  private index = new BlockBuilder(1);
  /** Finished index partitions (two-level): their bytes and separators. */
  private readonly partitions: { block: Uint8Array; sep: Uint8Array }[] = [];
  private lastIndexKey: Uint8Array | undefined;
  /** A finished data block waiting for the next key to choose its separator. */
  private pendingHandle: BlockHandle | undefined;
  private pendingLast: Uint8Array | undefined;
  private readonly rangeDels: { start: Uint8Array; seq: number; end: Uint8Array }[] = [];
  private smallest: Uint8Array | undefined;
  private largest: Uint8Array | undefined;
  private smallestSeq = Number.MAX_SAFE_INTEGER;
  private largestSeq = 0;
  private numEntries = 0;
  private numDeletions = 0;
  private numDataBlocks = 0;
  private rawKeySize = 0;
  private rawValueSize = 0;
  private dataSize = 0;

  constructor(opts: SstableWriterOptions = {}) {
    this.blockSize = opts.blockSize ?? 32 * 1024;
    this.indexBlockSize = opts.indexBlockSize ?? 32 * 1024;
    this.data = new BlockBuilder(opts.restartInterval ?? 16);
    const crc = opts.crc32c;
    this.crc = crc ?? ((d) => crc32cUpdate(0, d));
  }

  /** Bytes written so far (data blocks); a builder splits tables on it. */
  get estimatedSize(): number {
    return this.offset + this.data.estimatedSize();
  }

  private writeBlock(block: Uint8Array): BlockHandle {
    const h = { offset: this.offset, length: block.length };
    const trailer = new Uint8Array(BLOCK_TRAILER_SIZE);
    trailer[0] = 0;
    // CRC over data || type byte: continue the block's CRC with the zero type byte.
    const c = crc32cUpdate(this.crc(block), trailer, 0, 1);
    const m = maskCrc(c);
    trailer[1] = m & 0xff;
    trailer[2] = (m >>> 8) & 0xff;
    trailer[3] = (m >>> 16) & 0xff;
    trailer[4] = (m >>> 24) & 0xff;
    this.pieces.push(block, trailer);
    this.offset += block.length + BLOCK_TRAILER_SIZE;
    return h;
  }

  /** Adds a point key (internal key) and its value. */
  add(ikey: Uint8Array, value: Uint8Array): void {
    if (this.data.shouldFlush(ikey.length, value.length, this.blockSize)) this.flushData();
    if (this.pendingHandle)
      this.addIndexEntry(indexKey(this.pendingLast!, bytewiseSeparator(userOf(this.pendingLast!), userOf(ikey))), this.pendingHandle);
    this.pendingHandle = undefined;
    this.pendingLast = undefined;
    this.data.add(ikey, value);
    if (this.smallest === undefined) this.smallest = ikey.slice();
    const seq = seqOf(ikey);
    if (seq < this.smallestSeq) this.smallestSeq = seq;
    if (seq > this.largestSeq) this.largestSeq = seq;
    this.numEntries++;
    if (ikey[ikey.length - TRAILER_SIZE] === Kind.Delete) this.numDeletions++;
    this.rawKeySize += ikey.length;
    this.rawValueSize += value.length;
  }

  /** Adds a range tombstone `[start, end)` at `seq` (emitted in the order given; add them sorted and fragmented). */
  addRangeDel(start: Uint8Array, seq: number, end: Uint8Array): void {
    this.rangeDels.push({ start: start.slice(), seq, end: end.slice() });
    if (seq < this.smallestSeq) this.smallestSeq = seq;
    if (seq > this.largestSeq) this.largestSeq = seq;
  }

  private flushData(): void {
    this.pendingLast = this.data.lastKey().slice();
    const block = this.data.finish();
    this.pendingHandle = this.writeBlock(block);
    this.dataSize += block.length + BLOCK_TRAILER_SIZE;
    this.numDataBlocks++;
  }

  private addIndexEntry(key: Uint8Array, h: BlockHandle): void {
    const value = encodeHandle(h);
    if (this.index.shouldFlush(key.length, value.length, this.indexBlockSize)) {
      this.partitions.push({ block: this.index.finish(), sep: this.lastIndexKey! });
    }
    this.index.add(key, value);
    this.lastIndexKey = key;
  }

  /** Finishes the table. */
  finish(): FinishedTable {
    // The block builder keeps a copy of the last key (the caller may reuse its key buffer).
    const largestPoint = this.data.entries > 0 ? this.data.lastKey().slice() : this.pendingLast?.slice();
    if (this.data.entries > 0) this.flushData();
    if (this.pendingHandle) {
      this.addIndexEntry(indexKey(this.pendingLast!, bytewiseSuccessor(userOf(this.pendingLast!))), this.pendingHandle);
      this.pendingHandle = undefined;
    }
    if (this.numDataBlocks === 0) {
      // Pebble writes one empty data block indexed by an empty key of kind INVALID (the fixture's 000011.sst).
      const empty = this.data.finish();
      const h = this.writeBlock(empty);
      this.dataSize += empty.length + BLOCK_TRAILER_SIZE;
      this.numDataBlocks++;
      const k = new Uint8Array(TRAILER_SIZE);
      k[0] = Kind.Invalid;
      this.addIndexEntry(k, h);
    }
    let indexHandle: BlockHandle;
    let indexSize = 0;
    let topLevelSize = 0;
    let indexType = INDEX_BINARY_SEARCH;
    let indexPartitions = 0;
    if (this.partitions.length === 0) {
      const block = this.index.finish();
      indexHandle = this.writeBlock(block);
      indexSize = block.length + BLOCK_TRAILER_SIZE;
    } else {
      this.partitions.push({ block: this.index.finish(), sep: this.lastIndexKey! });
      const top = new BlockBuilder(1);
      for (const p of this.partitions) {
        const h = this.writeBlock(p.block);
        indexSize += p.block.length + BLOCK_TRAILER_SIZE;
        top.add(p.sep, encodeHandle(h));
      }
      const topBlock = top.finish();
      indexHandle = this.writeBlock(topBlock);
      topLevelSize = topBlock.length + BLOCK_TRAILER_SIZE;
      indexSize += topLevelSize;
      indexType = INDEX_TWO_LEVEL;
      indexPartitions = this.partitions.length;
    }

    let rangeDelHandle: BlockHandle | undefined;
    if (this.rangeDels.length > 0) {
      const rd = new BlockBuilder(1);
      const key = new Uint8Array(256);
      for (const t of this.rangeDels) {
        const k =
          key.length >= t.start.length + TRAILER_SIZE
            ? key.subarray(0, t.start.length + TRAILER_SIZE)
            : new Uint8Array(t.start.length + TRAILER_SIZE);
        k.set(t.start, 0);
        writeTrailer(k, t.start.length, t.seq, Kind.RangeDelete);
        rd.add(k, t.end);
      }
      rangeDelHandle = this.writeBlock(rd.finish());
    }

    this.largest = largestPoint;
    // Bounds: range tombstones extend them (the largest becomes the sentinel at the last end).
    if (this.rangeDels.length > 0) {
      const first = this.rangeDels[0]!;
      const firstKey = new Uint8Array(first.start.length + TRAILER_SIZE);
      firstKey.set(first.start, 0);
      writeTrailer(firstKey, first.start.length, first.seq, Kind.RangeDelete);
      if (this.smallest === undefined || compareBytes(first.start, userOf(this.smallest)) < 0) this.smallest = firstKey;
      let maxEnd = this.rangeDels[0]!.end;
      for (const t of this.rangeDels) if (compareBytes(t.end, maxEnd) > 0) maxEnd = t.end;
      if (this.largest === undefined || compareBytes(maxEnd, userOf(this.largest)) > 0) {
        const s = new Uint8Array(maxEnd.length + TRAILER_SIZE);
        s.set(maxEnd, 0);
        s[maxEnd.length] = Kind.RangeDelete;
        s.fill(0xff, maxEnd.length + 1);
        this.largest = s;
      }
    }

    const props = new Map<string, Uint8Array>();
    const txt = (s: string): Uint8Array => Buffer.from(s, 'latin1');
    const vi = (v: number): Uint8Array => {
      const b = new Bytes(10);
      b.varint(v);
      return b.buf.slice(0, b.len);
    };
    const u32 = (v: number): Uint8Array => Uint8Array.of(v & 0xff, (v >>> 8) & 0xff, (v >>> 16) & 0xff, (v >>> 24) & 0xff);
    props.set('rocksdb.block.based.table.index.type', u32(indexType));
    props.set('rocksdb.block.based.table.prefix.filtering', txt('0'));
    props.set('rocksdb.block.based.table.whole.key.filtering', txt('0'));
    props.set('rocksdb.column.family.id', vi(0xffff_ffff));
    props.set('rocksdb.comparator', txt(BYTEWISE_COMPARATOR));
    props.set('rocksdb.compression', txt('NoCompression'));
    props.set(
      'rocksdb.compression_options',
      txt('window_bits=-14; level=32767; strategy=0; max_dict_bytes=0; zstd_max_train_bytes=0; enabled=0; '),
    );
    props.set('rocksdb.creation.time', vi(0));
    props.set('rocksdb.data.size', vi(this.dataSize));
    props.set('rocksdb.deleted.keys', vi(this.numDeletions + this.rangeDels.length));
    props.set('rocksdb.filter.size', vi(0));
    props.set('rocksdb.fixed.key.length', vi(0));
    props.set('rocksdb.format.version', vi(0));
    if (indexPartitions > 0) props.set('rocksdb.index.partitions', vi(indexPartitions));
    props.set('rocksdb.index.key.is.user.key', vi(0));
    props.set('rocksdb.index.size', vi(indexSize));
    props.set('rocksdb.index.value.is.delta.encoded', vi(0));
    props.set('rocksdb.merge.operands', vi(0));
    props.set('rocksdb.merge.operator', txt(CONCATENATE_MERGER));
    props.set('rocksdb.num.data.blocks', vi(this.numDataBlocks));
    props.set('rocksdb.num.entries', vi(this.numEntries + this.rangeDels.length));
    props.set('rocksdb.num.range-deletions', vi(this.rangeDels.length));
    props.set('rocksdb.oldest.key.time', vi(0));
    props.set('rocksdb.prefix.extractor.name', txt('nullptr'));
    props.set('rocksdb.property.collectors', txt('[]'));
    props.set('rocksdb.raw.key.size', vi(this.rawKeySize));
    props.set('rocksdb.raw.value.size', vi(this.rawValueSize));
    if (indexPartitions > 0) props.set('rocksdb.top-level.index.size', vi(topLevelSize));
    const pb = new BlockBuilder(Number.MAX_SAFE_INTEGER);
    for (const name of [...props.keys()].sort()) pb.add(txt(name), props.get(name)!);
    const propsHandle = this.writeBlock(pb.finish());

    const meta = new BlockBuilder(1);
    meta.add(txt(META_PROPERTIES), encodeHandle(propsHandle));
    if (rangeDelHandle) {
      meta.add(txt(META_RANGE_DEL), encodeHandle(rangeDelHandle));
      meta.add(txt(META_RANGE_DEL_V2), encodeHandle(rangeDelHandle));
    }
    const metaHandle = this.writeBlock(meta.finish());

    const footer = new Uint8Array(53);
    footer[0] = 1; // checksum type CRC32C
    const handles = new Bytes(40);
    handles.varint(metaHandle.offset);
    handles.varint(metaHandle.length);
    handles.varint(indexHandle.offset);
    handles.varint(indexHandle.length);
    footer.set(handles.buf.subarray(0, handles.len), 1);
    footer.set(u32(2), 41); // format version 2
    footer.set(ROCKSDB_MAGIC, 45);
    this.pieces.push(footer);
    this.offset += footer.length;

    return {
      pieces: this.pieces,
      size: this.offset,
      smallest: this.smallest,
      largest: this.largest,
      smallestSeq: this.numEntries + this.rangeDels.length > 0 ? this.smallestSeq : 0,
      largestSeq: this.largestSeq,
      numEntries: this.numEntries + this.rangeDels.length,
      numDataBlocks: this.numDataBlocks,
      indexType,
      indexPartitions,
    };
  }
}

function userOf(ikey: Uint8Array): Uint8Array {
  return ikey.subarray(0, ikey.length - TRAILER_SIZE);
}
