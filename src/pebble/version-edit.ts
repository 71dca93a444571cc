/**
 * MANIFEST version edits: a tag-value list per log record describing how the
 * set of live tables and the store's counters change. Decoding accepts the
 * tags Pebble (and LevelDB/RocksDB before it) write at format major version
 * 1 and refuses the rest the way Pebble does: unknown tags as corruption,
 * range-key tables (tag 104) and column families as unsupported. Encoding
 * covers the counters and new tables (tag 103): a brand-new store, a built one. Pure.
 */
import { Cursor, putUvarint } from './varint.js';
import { corrupt, unsupported, type Where } from './fail.js';
import { TRAILER_SIZE } from './internal-key.js';

/** Number of LSM levels. */
export const NUM_LEVELS = 7;

export const Tag = {
  Comparator: 1,
  LogNumber: 2,
  NextFileNumber: 3,
  LastSequence: 4,
  CompactPointer: 5,
  DeletedFile: 6,
  NewFile: 7,
  PrevLogNumber: 9,
  NewFile2: 100,
  NewFile3: 102,
  NewFile4: 103,
  NewFile5: 104,
  ColumnFamily: 200,
  ColumnFamilyAdd: 201,
  ColumnFamilyDrop: 202,
  MaxColumnFamily: 203,
} as const;

// Custom fields of tag 103.
const CUSTOM_TERMINATE = 1;
const CUSTOM_NEEDS_COMPACTION = 2;
const CUSTOM_CREATION_TIME = 6;
const CUSTOM_PATH_ID = 65;
const CUSTOM_NON_SAFE_IGNORE_MASK = 1 << 6;

/** A table added to a level. Bounds are internal keys (inclusive). */
export interface NewFileEntry {
  level: number;
  fileNum: number;
  size: number;
  smallest: Uint8Array;
  largest: Uint8Array;
  smallestSeq: number;
  largestSeq: number;
  /** The tag it was written with (7, 100, 102 or 103). */
  tag: number;
  creationTime?: number;
  markedForCompaction?: boolean;
}

/** One decoded edit; absent counters were not in the edit. */
export interface VersionEdit {
  comparator?: string;
  minUnflushedLogNum?: number;
  prevLogNum?: number;
  nextFileNum?: number;
  lastSeqNum?: number;
  deleted: { level: number; fileNum: number }[];
  added: NewFileEntry[];
}

/** Decodes one edit (a whole MANIFEST record); `where.base` is the record's file offset. */
export function decodeVersionEdit(payload: Uint8Array, where: Where): VersionEdit {
  const c = new Cursor(payload);
  const edit: VersionEdit = { deleted: [], added: [] };

  const bad = (check: string, what: string): never => {
    throw corrupt(where, c.pos, check, `malformed version edit: ${what}`);
  };
  const num = (what: string): number => {
    const v = c.uvarint();
    if (v < 0) {
      if (c.failure === -3) throw unsupported(where, c.pos, 'number-range', `version edit: ${what} is 2^53 or larger`);
      bad('edit-varint', `${what} is truncated or overflows`);
    }
    return v;
  };
  const bytes = (what: string): Uint8Array => {
    const n = num(`${what} length`);
    const b = c.bytes(n);
    if (b === undefined) bad('edit-bytes', `${what} runs past the record`);
    return b!;
  };
  const level = (): number => {
    const l = num('level');
    if (l >= NUM_LEVELS) bad('edit-level', `level ${l} is not below ${NUM_LEVELS}`);
    return l;
  };
  const ikey = (what: string): Uint8Array => {
    const k = bytes(what);
    // Pebble decodes a shorter key as kind "invalid"; no table bound is ever like that.
    if (k.length < TRAILER_SIZE) bad('edit-key', `${what} is ${k.length} bytes, shorter than an internal key`);
    return k;
  };

  while (c.remaining > 0) {
    const tagAt = c.pos;
    const tag = num('tag');
    switch (tag) {
      case Tag.Comparator:
        edit.comparator = Buffer.from(bytes('comparator name')).toString('latin1');
        break;
      case Tag.LogNumber:
        edit.minUnflushedLogNum = num('log number');
        break;
      case Tag.NextFileNumber:
        edit.nextFileNum = num('next file number');
        break;
      case Tag.LastSequence:
        edit.lastSeqNum = num('last sequence number');
        break;
      case Tag.PrevLogNumber:
        edit.prevLogNum = num('previous log number');
        break;
      case Tag.CompactPointer:
        level();
        bytes('compact pointer');
        break;
      case Tag.DeletedFile: {
        const l = level();
        edit.deleted.push({ level: l, fileNum: num('deleted file number') });
        break;
      }
      case Tag.NewFile:
      case Tag.NewFile2:
      case Tag.NewFile3:
      case Tag.NewFile4: {
        const l = level();
        const fileNum = num('file number');
        if (tag === Tag.NewFile3) num('path id');
        const size = num('file size');
        const smallest = ikey('smallest key');
        const largest = ikey('largest key');
        let smallestSeq = 0;
        let largestSeq = 0;
        if (tag !== Tag.NewFile) {
          smallestSeq = num('smallest sequence number');
          largestSeq = num('largest sequence number');
        }
        const entry: NewFileEntry = { level: l, fileNum, size, smallest, largest, smallestSeq, largestSeq, tag };
        if (tag === Tag.NewFile4) {
          for (;;) {
            const customAt = c.pos;
            const custom = num('custom tag');
            if (custom === CUSTOM_TERMINATE) break;
            const field = bytes('custom field');
            if (custom === CUSTOM_NEEDS_COMPACTION) {
              if (field.length !== 1) bad('edit-custom', 'needs-compaction field is not 1 byte');
              entry.markedForCompaction = field[0] === 1;
            } else if (custom === CUSTOM_CREATION_TIME) {
              const fc = new Cursor(field);
              const t = fc.uvarint();
              if (t < 0 || fc.remaining !== 0) bad('edit-custom', 'invalid creation time');
              entry.creationTime = t;
            } else if (custom === CUSTOM_PATH_ID) {
              throw corrupt(where, customAt, 'edit-path-id', 'version edit: path-id field not supported');
            } else if ((custom & CUSTOM_NON_SAFE_IGNORE_MASK) !== 0) {
              throw corrupt(where, customAt, 'edit-custom-tag', `version edit: custom field ${custom} not supported`);
            }
          }
        }
        edit.added.push(entry);
        break;
      }
      case Tag.NewFile5:
        throw unsupported(
          where,
          tagAt,
          'manifest-range-keys',
          'version edit tag 104 (table with range keys) needs format major version 8 or later',
        );
      case Tag.ColumnFamily:
      case Tag.ColumnFamilyAdd:
      case Tag.ColumnFamilyDrop:
      case Tag.MaxColumnFamily:
        throw unsupported(where, tagAt, 'manifest-column-family', `version edit tag ${tag}: column families are not supported`);
      default:
        throw corrupt(where, tagAt, 'edit-tag', `unknown version edit tag ${tag}`);
    }
  }
  return edit;
}

/** The fields of a minimal edit (each written only when given, `lastSeqNum` even when 0). */
export interface MinimalEdit {
  comparator?: string;
  minUnflushedLogNum?: number;
  nextFileNum?: number;
  lastSeqNum?: number;
  /** New tables, written as tag 103 entries with a creation time (what Pebble writes). */
  added?: readonly NewTableEntry[];
}

/** A table for {@link encodeVersionEdit}: bounds are internal keys (inclusive). */
export interface NewTableEntry {
  level: number;
  fileNum: number;
  size: number;
  smallest: Uint8Array;
  largest: Uint8Array;
  smallestSeq: number;
  largestSeq: number;
  /** Unix seconds (custom field 6); default 0. */
  creationTime?: number;
}

/** Encodes comparator, log number, next file number, last sequence number and new tables, in that order. */
export function encodeVersionEdit(edit: MinimalEdit): Uint8Array {
  const out: number[] = [];
  if (edit.comparator !== undefined) {
    putUvarint(out, Tag.Comparator);
    const name = Buffer.from(edit.comparator, 'latin1');
    putUvarint(out, name.length);
    for (const b of name) out.push(b);
  }
  if (edit.minUnflushedLogNum !== undefined) {
    putUvarint(out, Tag.LogNumber);
    putUvarint(out, edit.minUnflushedLogNum);
  }
  if (edit.nextFileNum !== undefined) {
    putUvarint(out, Tag.NextFileNumber);
    putUvarint(out, edit.nextFileNum);
  }
  if (edit.lastSeqNum !== undefined) {
    putUvarint(out, Tag.LastSequence);
    putUvarint(out, edit.lastSeqNum);
  }
  const bytes = (b: Uint8Array): void => {
    putUvarint(out, b.length);
    for (const x of b) out.push(x);
  };
  for (const t of edit.added ?? []) {
    putUvarint(out, Tag.NewFile4);
    putUvarint(out, t.level);
    putUvarint(out, t.fileNum);
    putUvarint(out, t.size);
    bytes(t.smallest);
    bytes(t.largest);
    putUvarint(out, t.smallestSeq);
    putUvarint(out, t.largestSeq);
    putUvarint(out, CUSTOM_CREATION_TIME);
    const time: number[] = [];
    putUvarint(time, t.creationTime ?? 0);
    bytes(Uint8Array.from(time));
    putUvarint(out, CUSTOM_TERMINATE);
  }
  return Uint8Array.from(out);
}
