/**
 * One live sstable, read through positional reads: opening reads the footer,
 * metaindex, properties, index and range-deletion blocks; data blocks are read
 * one at a time when a scan reaches them, so a table is never loaded whole.
 */
import type { FileHandle } from 'node:fs/promises';
import * as fsp from 'node:fs/promises';
import { ErrCorruptLogStore, ioError } from '../../errors.js';
import { unsupported } from '../../pebble/fail.js';
import { Kind, TRAILER_SIZE, kindName, trailerSeq } from '../../pebble/internal-key.js';
import { BLOCK_TRAILER_SIZE, checkBlock, decodeBlock } from '../../pebble/sstable-block.js';
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
      const read = async (h: BlockHandle): Promise<Uint8Array> => {
        const raw = await readAt(fh, file, h.offset, h.length + BLOCK_TRAILER_SIZE);
        return checkBlock(raw, h, file);
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
      return new TableFile(file, fh, size, footer, properties, blocks, tombstones, meta.rangeDel !== undefined);
    } catch (err) {
      await fh.close().catch(() => undefined);
      throw err;
    }
  }

  /** Reads, checks and decodes data block `i`: keys of kind DEL or SET only. */
  async dataBlock(i: number): Promise<DataBlock> {
    const h = this.blocks[i]!.handle;
    const raw = await readAt(this.fh, this.path, h.offset, h.length + BLOCK_TRAILER_SIZE);
    const where = { path: this.path, base: h.offset };
    const block = decodeBlock(checkBlock(raw, h, this.path), where, { internalKeys: true });
    const n = block.keys.length;
    const out: DataBlock = { userKeys: new Array(n), seqs: new Array(n), kinds: new Uint8Array(n), values: block.values };
    for (let j = 0; j < n; j++) {
      const key = block.keys[j]!;
      const t = key.length - TRAILER_SIZE;
      const kind = key[t]!;
      if (kind !== Kind.Delete && kind !== Kind.Set) {
        throw unsupported(where, 0, 'data-kind', `data block key ${j} is ${kindName(kind)} (tables of a Dragonboat store hold only SET and DEL)`);
      }
      const seq = trailerSeq(key, t);
      if (seq > Number.MAX_SAFE_INTEGER) throw unsupported(where, 0, 'seqnum-range', 'sequence number of 2^53 or more');
      out.userKeys[j] = key.subarray(0, t);
      out.seqs[j] = seq;
      out.kinds[j] = kind;
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
