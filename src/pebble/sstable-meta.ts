/**
 * The metaindex block (names of the meta blocks → their handles) and the
 * properties block (names → values), with the checks that keep a table within
 * what Dragonboat's Pebble writes: no filter, no range keys, no compression,
 * the bytewise comparator, an index of type 0 or 2, no ingestion seqnum. Pure.
 */
import { Cursor } from './varint.js';
import { corrupt, unsupported, type Where } from './fail.js';
import { decodeBlock } from './sstable-block.js';
import { readBlockHandle, type BlockHandle } from './sstable-footer.js';

export const META_PROPERTIES = 'rocksdb.properties';
export const META_RANGE_DEL = 'rocksdb.range_del';
export const META_RANGE_DEL_V2 = 'rocksdb.range_del2';
export const META_RANGE_KEY = 'pebble.range_key';

/** Index types (`rocksdb.block.based.table.index.type`). */
export const INDEX_BINARY_SEARCH = 0;
export const INDEX_TWO_LEVEL = 2;

export const BYTEWISE_COMPARATOR = 'leveldb.BytewiseComparator';
export const CONCATENATE_MERGER = 'pebble.concatenate';

/** The meta blocks a reader needs. */
export interface MetaIndex {
  properties?: BlockHandle;
  /** The range-deletion block (v2 preferred; `rangeDelV1` when only the RocksDB v1 name exists). */
  rangeDel?: BlockHandle;
  rangeDelV1: boolean;
  names: string[];
}

const text = (b: Uint8Array): string => Buffer.from(b.buffer, b.byteOffset, b.byteLength).toString('latin1');

/** Decodes the metaindex block; refuses filters and range keys. */
export function decodeMetaIndex(data: Uint8Array, where: Where, fileSize: number): MetaIndex {
  const block = decodeBlock(data, where, { internalKeys: false });
  const out: MetaIndex = { rangeDelV1: false, names: [] };
  let v1: BlockHandle | undefined;
  let v2: BlockHandle | undefined;
  for (let i = 0; i < block.keys.length; i++) {
    const name = text(block.keys[i]!);
    out.names.push(name);
    const value = block.values[i]!;
    const c = new Cursor(value);
    const h = readBlockHandle(c);
    const valueAt = value.byteOffset - data.byteOffset;
    if (h === undefined || h.offset + h.length > fileSize) {
      throw corrupt(where, valueAt, 'meta-handle', `bad block handle for meta block ${JSON.stringify(name)}`);
    }
    if (name === META_PROPERTIES) out.properties = h;
    else if (name === META_RANGE_DEL_V2) v2 = h;
    else if (name === META_RANGE_DEL) v1 = h;
    else if (name === META_RANGE_KEY) throw unsupported(where, valueAt, 'range-keys', 'table has a range-key block');
    else if (name.startsWith('fullfilter.') || name.startsWith('filter.') || name.startsWith('partitionedfilter.')) {
      throw unsupported(where, valueAt, 'filter', `table has a filter block (${name})`);
    }
  }
  if (v2 !== undefined) out.rangeDel = v2;
  else if (v1 !== undefined) {
    out.rangeDel = v1;
    out.rangeDelV1 = true;
  }
  return out;
}

/** What the properties say that matters to a reader. */
export interface TableProperties {
  indexType: number;
  numEntries?: number;
  numDataBlocks?: number;
  numRangeDeletions?: number;
  comparator?: string;
  mergeOperator?: string;
  compression?: string;
  /** Every property, raw. */
  raw: Map<string, Uint8Array>;
}

function uvarint(b: Uint8Array): number | undefined {
  const v = new Cursor(b).uvarint();
  return v < 0 ? undefined : v;
}

function isZeroBytes(b: Uint8Array): boolean {
  for (const x of b) if (x !== 0) return false;
  return true;
}

/** Decodes the properties block and checks it; `where.base` is the block's offset. */
export function decodeProperties(data: Uint8Array, where: Where): TableProperties {
  const block = decodeBlock(data, where, { internalKeys: false });
  const raw = new Map<string, Uint8Array>();
  for (let i = 0; i < block.keys.length; i++) raw.set(text(block.keys[i]!), block.values[i]!);
  const at = (name: string): number => raw.get(name)!.byteOffset - data.byteOffset;
  const props: TableProperties = { indexType: INDEX_BINARY_SEARCH, raw };

  const idx = raw.get('rocksdb.block.based.table.index.type');
  if (idx !== undefined) {
    if (idx.length !== 4)
      throw corrupt(where, at('rocksdb.block.based.table.index.type'), 'index-type', 'index type property is not 4 bytes');
    props.indexType = new DataView(idx.buffer, idx.byteOffset, 4).getUint32(0, true);
    if (props.indexType !== INDEX_BINARY_SEARCH && props.indexType !== INDEX_TWO_LEVEL) {
      throw unsupported(
        where,
        at('rocksdb.block.based.table.index.type'),
        'index-type',
        `index type ${props.indexType} (only 0 and 2 are read)`,
      );
    }
  }
  const str = (name: string): string | undefined => {
    const v = raw.get(name);
    return v === undefined ? undefined : text(v);
  };
  props.comparator = str('rocksdb.comparator');
  if (props.comparator !== undefined && props.comparator !== BYTEWISE_COMPARATOR) {
    throw unsupported(where, at('rocksdb.comparator'), 'comparator', `table comparator ${JSON.stringify(props.comparator)}`);
  }
  props.mergeOperator = str('rocksdb.merge.operator');
  if (props.mergeOperator !== undefined && props.mergeOperator !== CONCATENATE_MERGER && props.mergeOperator !== 'nullptr') {
    throw unsupported(where, at('rocksdb.merge.operator'), 'merger', `table merge operator ${JSON.stringify(props.mergeOperator)}`);
  }
  props.compression = str('rocksdb.compression');
  if (props.compression !== undefined && props.compression !== 'NoCompression') {
    throw unsupported(where, at('rocksdb.compression'), 'compression', `table compression ${JSON.stringify(props.compression)}`);
  }
  const policy = str('rocksdb.filter.policy');
  if (policy !== undefined && policy !== '')
    throw unsupported(where, at('rocksdb.filter.policy'), 'filter', `table filter policy ${JSON.stringify(policy)}`);
  const filterSize = raw.get('rocksdb.filter.size');
  if (filterSize !== undefined && uvarint(filterSize) !== 0)
    throw unsupported(where, at('rocksdb.filter.size'), 'filter', 'table has a filter');
  const globalSeq = raw.get('rocksdb.external_sst_file.global_seqno');
  if (globalSeq !== undefined && !isZeroBytes(globalSeq)) {
    throw unsupported(where, at('rocksdb.external_sst_file.global_seqno'), 'global-seqno', 'ingested table with a global sequence number');
  }
  for (const [name, v] of raw) {
    if (name.startsWith('pebble.num.range-key') && !(uvarint(v) === 0)) {
      throw unsupported(where, at(name), 'range-keys', `table has range keys (${name})`);
    }
  }
  props.numEntries = raw.has('rocksdb.num.entries') ? uvarint(raw.get('rocksdb.num.entries')!) : undefined;
  props.numDataBlocks = raw.has('rocksdb.num.data.blocks') ? uvarint(raw.get('rocksdb.num.data.blocks')!) : undefined;
  props.numRangeDeletions = raw.has('rocksdb.num.range-deletions') ? uvarint(raw.get('rocksdb.num.range-deletions')!) : undefined;
  return props;
}
