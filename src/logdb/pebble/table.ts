/**
 * One live sstable, read through positional reads: opening reads the footer,
 * metaindex, properties, index and range-deletion blocks; data blocks are read
 * one at a time when a scan reaches them, so a table is never loaded whole.
 */
import type { FileHandle } from 'node:fs/promises';
import * as fsp from 'node:fs/promises';
import { crc32cFunction } from '../../engines/native.js';
import { ErrCorruptLogStore, ioError } from '../../errors.js';
import { corrupt, unsupported } from '../../pebble/fail.js';
import { Kind, TRAILER_SIZE, kindName, trailerSeq } from '../../pebble/internal-key.js';
import { BLOCK_TRAILER_SIZE, checkBlock } from '../../pebble/sstable-block.js';
import { MAX_FOOTER_SIZE, decodeFooter, type BlockHandle, type Footer } from '../../pebble/sstable-footer.js';
import { decodeIndexBlock, type IndexEntry } from '../../pebble/sstable-index.js';
import { INDEX_TWO_LEVEL, decodeMetaIndex, decodeProperties, type TableProperties } from '../../pebble/sstable-meta.js';
import { decodeRangeDelBlock, type Tombstone } from '../../pebble/sstable-rangedel.js';

/** A data block's entries, split for the merge loop: user keys, sequence numbers, kinds (0/1) and values. */
export interface DataBlock {
  userKeys: Uint8Array[];
  seqs: number[];
  kinds: Uint8Array;
  values: Uint8Array[];
}

/** An open table. Close it when done. */
export class TableFile {
  private constructor(
    readonly path: string,
    private readonly fh: FileHandle,
    readonly size: number,
    readonly footer: Footer,
    readonly properties: TableProperties | undefined,
    /** One entry per data block, in key order (two-level indexes flattened). */
    readonly blocks: IndexEntry[],
    readonly tombstones: Tombstone[],
    readonly hasRangeDelBlock: boolean,
    /** The addon's CRC-32C when it is loaded (undefined: the pure one). */
    private readonly crc: ((data: Uint8Array) => number) | undefined,
  ) {}

  /** Opens `file` and reads its meta blocks; `expectedSize` is the MANIFEST's size for it. */
  static async open(file: string, expectedSize: number): Promise<TableFile> {
    let fh: FileHandle;
    try {
      fh = await fsp.open(file, 'r');
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code === 'ENOENT') {
        throw new ErrCorruptLogStore(`live table ${file} is missing`, { path: file, check: 'missing-table' });
      }
      throw ioError(err, 'cannot open', file);
    }
    try {
      const st = await fh.stat().catch((err: unknown) => {
        throw ioError(err, 'cannot stat', file);
      });
      if (st.size !== expectedSize) {
        throw new ErrCorruptLogStore(`live table ${file} is ${st.size} bytes, the MANIFEST says ${expectedSize}`, {
          path: file,
          check: 'table-size',
          expected: expectedSize,
          actual: st.size,
        });
      }
      const size = st.size;
      const tailLen = Math.min(size, MAX_FOOTER_SIZE);
      const tail = await readAt(fh, file, size - tailLen, tailLen);
      const footer = decodeFooter(tail, size, { path: file });
      const crc = crc32cFunction();
      const read = async (h: BlockHandle): Promise<Uint8Array> => {
        const raw = await readAt(fh, file, h.offset, h.length + BLOCK_TRAILER_SIZE);
        return checkBlock(raw, h, file, crc);
      };
      const meta = decodeMetaIndex(await read(footer.metaindex), { path: file, base: footer.metaindex.offset }, size);
      let properties: TableProperties | undefined;
      if (meta.properties) {
        properties = decodeProperties(await read(meta.properties), { path: file, base: meta.properties.offset });
      }
      const top = decodeIndexBlock(await read(footer.index), { path: file, base: footer.index.offset }, size);
      let blocks = top;
      if ((properties?.indexType ?? 0) === INDEX_TWO_LEVEL) {
        blocks = [];
        for (const e of top) {
          for (const d of decodeIndexBlock(await read(e.handle), { path: file, base: e.handle.offset }, size)) blocks.push(d);
        }
      }
      let tombstones: Tombstone[] = [];
      if (meta.rangeDel) {
        tombstones = decodeRangeDelBlock(await read(meta.rangeDel), { path: file, base: meta.rangeDel.offset });
      }
      return new TableFile(file, fh, size, footer, properties, blocks, tombstones, meta.rangeDel !== undefined, crc);
    } catch (err) {
      await fh.close().catch(() => undefined);
      throw err;
    }
  }

  /** Reads, checks and decodes data block `i`: keys of kind DEL or SET only. */
  async dataBlock(i: number): Promise<DataBlock> {
    const h = this.blocks[i]!.handle;
    const raw = await readAt(this.fh, this.path, h.offset, h.length + BLOCK_TRAILER_SIZE);
    return decodeDataBlock(checkBlock(raw, h, this.path, this.crc), { path: this.path, base: h.offset });
  }

  /**
   * Reads data blocks `i`, `i+1`, ... with one positional read of about
   * `maxBytes` (at least block `i`; data blocks lie back to back), checks and
   * decodes each. What a forward scan uses: one read per few hundred KiB
   * instead of one per 32 KiB block.
   */
  async dataBlocks(i: number, maxBytes: number): Promise<DataBlock[]> {
    const first = this.blocks[i]!.handle;
    let j = i + 1;
    let end = first.offset + first.length + BLOCK_TRAILER_SIZE;
    while (j < this.blocks.length) {
      const h = this.blocks[j]!.handle;
      if (h.offset !== end || h.offset + h.length + BLOCK_TRAILER_SIZE - first.offset > maxBytes) break;
      end = h.offset + h.length + BLOCK_TRAILER_SIZE;
      j++;
    }
    const raw = await readAt(this.fh, this.path, first.offset, end - first.offset);
    const out: DataBlock[] = [];
    for (let k = i; k < j; k++) {
      const h = this.blocks[k]!.handle;
      const at = h.offset - first.offset;
      const piece = raw.subarray(at, Math.min(raw.length, at + h.length + BLOCK_TRAILER_SIZE));
      out.push(decodeDataBlock(checkBlock(piece, h, this.path, this.crc), { path: this.path, base: h.offset }));
    }
    return out;
  }

  /** Reads and checks every data block (what a write requires of every live table). */
  async verifyAll(): Promise<void> {
    for (let i = 0; i < this.blocks.length; i++) await this.dataBlock(i);
  }

  async close(): Promise<void> {
    await this.fh.close().catch(() => undefined);
  }
}

const u32le = (b: Uint8Array, o: number): number => (b[o]! | (b[o + 1]! << 8) | (b[o + 2]! << 16) | (b[o + 3]! << 24)) >>> 0;

/**
 * Decodes a data block (docs/pebble-store.md "Tables") with exactly the checks of
 * `decodeBlock` (restart array, entry bounds, restart points, internal keys
 * in order) plus the data-block rules (kinds SET and DEL, sequence numbers
 * below 2^53), without per-entry allocations beyond the user-key views: every
 * key is rebuilt into one arena per block and values are views of the block.
 * This is the loop a scan of millions of entries spends its time in.
 */
export function decodeDataBlock(data: Uint8Array, where: { path: string; base: number }): DataBlock {
  const len = data.length;
  if (len < 4) throw corrupt(where, 0, 'block-restarts', `block of ${len} bytes has no restart count`);
  const numRestarts = u32le(data, len - 4);
  if (numRestarts === 0 || (numRestarts + 1) * 4 > len) {
    throw corrupt(where, len - 4, 'block-restarts', `block restart count ${numRestarts} does not fit a ${len}-byte block`);
  }
  const entriesEnd = len - (numRestarts + 1) * 4;
  const userKeys: Uint8Array[] = [];
  const values: Uint8Array[] = [];
  const seqs: number[] = [];
  const kindList: number[] = [];
  let arena = new Uint8Array(Math.max(256, entriesEnd));
  let used = 0;
  let prevOff = 0;
  let prevLen = 0;
  let r = 0;
  let nextRestart = u32le(data, entriesEnd);
  let pos = 0;
  const varint = (): number => {
    // A 32-bit varint (at most 5 bytes); -1 when truncated or too long.
    let v = 0;
    let mul = 1;
    for (let k = 0; k < 5; k++) {
      if (pos >= entriesEnd) return -1;
      const b = data[pos++]!;
      v += (b & 0x7f) * mul;
      if (b < 0x80) return v > 0xffff_ffff ? -1 : v;
      mul *= 128;
    }
    return -1;
  };
  while (pos < entriesEnd) {
    const at = pos;
    const shared = varint();
    const unshared = shared < 0 ? -1 : varint();
    const valueLen = unshared < 0 ? -1 : varint();
    if (valueLen < 0 || shared > prevLen || pos + unshared + valueLen > entriesEnd) {
      throw corrupt(where, at, 'block-entry', 'malformed block entry');
    }
    if (at === nextRestart) {
      if (shared !== 0) throw corrupt(where, at, 'block-restarts', 'restart point entry shares a key prefix');
      r++;
      nextRestart = r < numRestarts ? u32le(data, entriesEnd + 4 * r) : -1;
    } else if (nextRestart >= 0 && nextRestart < at) {
      throw corrupt(where, entriesEnd + 4 * r, 'block-restarts', 'restart point is not at an entry');
    }
    const klen = shared + unshared;
    if (used + klen > arena.length) {
      // A new arena; earlier keys stay views of the old one. Carry the shared prefix over.
      const next = new Uint8Array(Math.max(arena.length * 2, klen * 2));
      next.set(arena.subarray(prevOff, prevOff + prevLen), 0);
      arena = next;
      prevOff = 0;
      used = prevLen;
    }
    const off = used;
    if (shared > 0) arena.copyWithin(off, prevOff, prevOff + shared);
    arena.set(data.subarray(pos, pos + unshared), off + shared);
    pos += unshared;
    if (klen < TRAILER_SIZE) throw corrupt(where, at, 'block-key', 'block key shorter than an internal key');
    const ulen = klen - TRAILER_SIZE;
    if (userKeys.length > 0) {
      // Internal-key order: user key ascending, then trailer descending.
      const pu = prevLen - TRAILER_SIZE;
      const n = Math.min(pu, ulen);
      let c = 0;
      for (let k = 0; k < n; k++) {
        const d = arena[prevOff + k]! - arena[off + k]!;
        if (d !== 0) {
          c = d;
          break;
        }
      }
      if (c === 0) c = pu - ulen;
      if (c === 0) {
        for (let k = 7; k >= 0; k--) {
          const d = arena[off + ulen + k]! - arena[prevOff + pu + k]!;
          if (d !== 0) {
            c = d;
            break;
          }
        }
      }
      if (c >= 0) throw corrupt(where, at, 'key-order', 'block keys out of order');
    }
    const kind = arena[off + ulen]!;
    if (kind !== Kind.Delete && kind !== Kind.Set) {
      throw unsupported(
        where,
        0,
        'data-kind',
        `data block key ${userKeys.length} is ${kindName(kind)} (tables of a Dragonboat store hold only SET and DEL)`,
      );
    }
    const seq = trailerSeq(arena, off + ulen);
    if (seq > Number.MAX_SAFE_INTEGER) throw unsupported(where, 0, 'seqnum-range', 'sequence number of 2^53 or more');
    userKeys.push(arena.subarray(off, off + ulen));
    seqs.push(seq);
    kindList.push(kind);
    values.push(data.subarray(pos, pos + valueLen));
    pos += valueLen;
    prevOff = off;
    prevLen = klen;
    used = off + klen;
  }
  if (userKeys.length === 0 ? numRestarts !== 1 || nextRestart !== 0 : r !== numRestarts) {
    throw corrupt(where, entriesEnd + 4 * Math.min(r, numRestarts - 1), 'block-restarts', 'restart point is not at an entry');
  }
  return { userKeys, seqs, kinds: Uint8Array.from(kindList), values };
}

/** Reads exactly `length` bytes at `offset`; fewer (the file ends) gives a shorter buffer. */
async function readAt(fh: FileHandle, file: string, offset: number, length: number): Promise<Uint8Array> {
  const buf = new Uint8Array(length);
  let got = 0;
  while (got < length) {
    let n: number;
    try {
      ({ bytesRead: n } = await fh.read(buf, got, length - got, offset + got));
    } catch (err) {
      throw ioError(err, 'cannot read', file);
    }
    if (n === 0) break;
    got += n;
  }
  return got === length ? buf : buf.subarray(0, got);
}
