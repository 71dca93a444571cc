/**
 * Index blocks: one entry per data block, key = an internal key at or above
 * every key of that block (and below the next block's), value = exactly the
 * block's handle (Dragonboat configures no block-property collectors, so
 * anything after the handle is refused). A two-level index has a top-level
 * block of the same shape pointing at index blocks. Pure.
 */
import { Cursor } from './varint.js';
import { corrupt, unsupported, type Where } from './fail.js';
import { decodeBlock } from './sstable-block.js';
import { readBlockHandle, type BlockHandle } from './sstable-footer.js';

/** One index entry. */
export interface IndexEntry {
  /** The separator (internal key). */
  key: Uint8Array;
  handle: BlockHandle;
}

/** Decodes an index block (either level); every handle must end inside the table. */
export function decodeIndexBlock(data: Uint8Array, where: Where, fileSize: number): IndexEntry[] {
  const block = decodeBlock(data, where, { internalKeys: true });
  const out: IndexEntry[] = [];
  for (let i = 0; i < block.keys.length; i++) {
    const value = block.values[i]!;
    const valueAt = value.byteOffset - data.byteOffset;
    const c = new Cursor(value);
    const handle = readBlockHandle(c);
    if (handle === undefined || handle.offset + handle.length > fileSize) {
      throw corrupt(where, valueAt, 'index-handle', `index entry ${i} has a bad block handle`);
    }
    if (c.remaining !== 0) {
      throw unsupported(where, valueAt, 'block-properties', `index entry ${i} carries block properties`);
    }
    out.push({ key: block.keys[i]!, handle });
  }
  return out;
}
