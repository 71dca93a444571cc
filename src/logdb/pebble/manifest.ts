/**
 * CURRENT and the MANIFEST it names: the edits are applied as Pebble applies
 * them at open (one bulk edit: per level, every table added minus every table
 * deleted; the last non-zero value of each counter wins). Pebble reads the
 * MANIFEST tolerantly; here only an ending that a crash can leave (the file
 * ends inside a record whose chunk fits its block, or in zeros) is tolerated,
 * as Pebble does, and anything else — a bad CRC, a length overrunning its
 * block — is refused, since a repair must not guess.
 */
import * as path from 'node:path';
import { ErrCorruptLogStore, ErrUnsupportedLogStore } from '../../errors.js';
import { LOG_BLOCK_SIZE, readLog, type LogEnding } from '../../pebble/record.js';
import { decodeVersionEdit, NUM_LEVELS, type NewFileEntry } from '../../pebble/version-edit.js';
import { BYTEWISE_COMPARATOR } from '../../pebble/sstable-meta.js';
import { readFileOrThrow } from '../../files/fsutil.js';
import { tableName } from './names.js';

/** A live table as the MANIFEST records it. */
export interface LiveTable extends NewFileEntry {
  name: string;
  path: string;
}

/** The state the MANIFEST describes. */
export interface ManifestState {
  /** MANIFEST file name from CURRENT. */
  name: string;
  path: string;
  fileNum: number;
  minUnflushedLogNum: number;
  nextFileNum: number;
  lastSeqNum: number;
  /** Live tables per level (index 0..6), each in the order added. */
  levels: LiveTable[][];
  edits: number;
  /** How the MANIFEST ended (a tolerated crash tail is `torn`). */
  ending: LogEnding;
  comparator?: string;
}

const CURRENT_MAX = 4096;

/** Reads CURRENT: `MANIFEST-<decimal>\n`. */
export async function readCurrent(dataDir: string): Promise<{ name: string; fileNum: number }> {
  const p = path.join(dataDir, 'CURRENT');
  const bytes = await readFileOrThrow(p);
  const text = Buffer.from(bytes).toString('latin1');
  const bad = (why: string): never => {
    throw new ErrCorruptLogStore(`${p}: ${why}`, { path: p, offset: 0, check: 'current', actual: text.slice(0, 64) });
  };
  if (bytes.length > CURRENT_MAX) bad(`CURRENT is ${bytes.length} bytes (more than ${CURRENT_MAX})`);
  if (bytes.length === 0 || text[text.length - 1] !== '\n') bad('CURRENT does not end with a newline');
  const name = text.trim();
  const m = /^MANIFEST-([0-9]+)$/.exec(name);
  if (!m) bad(`CURRENT names ${JSON.stringify(name)}, not a MANIFEST`);
  const fileNum = Number(m![1]);
  if (!Number.isSafeInteger(fileNum)) bad('MANIFEST number out of range');
  return { name, fileNum };
}

function tolerableTail(file: Uint8Array, ending: LogEnding): boolean {
  if (ending.kind !== 'torn') return true;
  switch (ending.reason) {
    case 'unexpected-eof':
    case 'stray-bytes':
      return true;
    case 'chunk-past-block': {
      // Tolerated only as a write cut short: the chunk would fit its block had the file been complete,
      // and runs past the end of the file. (A damaged length usually overruns the block.)
      const len = file[ending.offset + 4]! | (file[ending.offset + 5]! << 8);
      const type = file[ending.offset + 6]!;
      const header = type >= 5 && type <= 8 ? 11 : 7;
      const fitsBlock = (ending.offset % LOG_BLOCK_SIZE) + header + len <= LOG_BLOCK_SIZE;
      return fitsBlock && ending.offset + header + len > file.length;
    }
    case 'zeroed-chunk':
      for (let i = ending.offset; i < file.length; i++) if (file[i] !== 0) return false;
      return true;
    default:
      return false;
  }
}

/** Loads the MANIFEST named by CURRENT. Tables are listed, not opened. */
export async function loadManifest(dataDir: string): Promise<ManifestState> {
  const current = await readCurrent(dataDir);
  const mPath = path.join(dataDir, current.name);
  const file = await readFileOrThrow(mPath);
  const log = readLog(file, 0);
  if (log.ending.kind === 'damaged' || !tolerableTail(file, log.ending)) {
    throw new ErrCorruptLogStore(`${mPath}: invalid MANIFEST record at offset ${log.ending.offset} (${log.ending.reason})`, {
      path: mPath,
      offset: log.ending.offset,
      check: `manifest-${log.ending.reason}`,
    });
  }
  let minUnflushedLogNum = 0;
  let nextFileNum = 2;
  let lastSeqNum = 0;
  let comparator: string | undefined;
  // Pebble's bulk edit: per level, tables added and tables deleted over all edits.
  const added: Map<number, LiveTable>[] = Array.from({ length: NUM_LEVELS }, () => new Map());
  const deleted: Set<number>[] = Array.from({ length: NUM_LEVELS }, () => new Set());
  const everAdded = new Set<number>();
  for (const rec of log.records) {
    const edit = decodeVersionEdit(rec.payload, { path: mPath, base: rec.offset });
    const fail = (check: string, msg: string): never => {
      throw new ErrCorruptLogStore(`${mPath}: ${msg} (edit at offset ${rec.offset})`, { path: mPath, offset: rec.offset, check });
    };
    if (edit.comparator !== undefined) {
      if (edit.comparator !== BYTEWISE_COMPARATOR) {
        throw new ErrUnsupportedLogStore(
          `${mPath}: comparator ${JSON.stringify(edit.comparator)} (Dragonboat uses ${BYTEWISE_COMPARATOR})`,
          {
            path: mPath,
            offset: rec.offset,
            check: 'comparator',
            expected: BYTEWISE_COMPARATOR,
            actual: edit.comparator,
          },
        );
      }
      comparator = edit.comparator;
    }
    for (const d of edit.deleted) {
      if (!everAdded.has(d.fileNum)) fail('delete-unknown-file', `table ${d.fileNum} deleted from L${d.level} before it was added`);
      if (!added[d.level]!.has(d.fileNum)) fail('delete-unknown-file', `table ${d.fileNum} deleted from L${d.level}, where it never was`);
      deleted[d.level]!.add(d.fileNum);
    }
    for (const a of edit.added) {
      if (deleted[a.level]!.has(a.fileNum)) fail('add-deleted-file', `table ${a.fileNum} added to L${a.level} after it was deleted there`);
      if (added[a.level]!.has(a.fileNum)) fail('add-duplicate-file', `table ${a.fileNum} added to L${a.level} twice`);
      const name = tableName(a.fileNum);
      added[a.level]!.set(a.fileNum, { ...a, name, path: path.join(dataDir, name) });
      everAdded.add(a.fileNum);
    }
    if (edit.minUnflushedLogNum) minUnflushedLogNum = edit.minUnflushedLogNum;
    if (edit.nextFileNum) nextFileNum = edit.nextFileNum;
    if (edit.lastSeqNum) lastSeqNum = edit.lastSeqNum;
  }
  if (minUnflushedLogNum === 0 && nextFileNum < 2) {
    throw new ErrCorruptLogStore(`${mPath}: malformed MANIFEST (no log number, next file number ${nextFileNum})`, {
      path: mPath,
      offset: 0,
      check: 'manifest-counters',
    });
  }
  const levels = added.map((m, l) => [...m.values()].filter((t) => !deleted[l]!.has(t.fileNum)));
  const seen = new Set<number>();
  for (const t of levels.flat()) {
    if (seen.has(t.fileNum)) {
      throw new ErrCorruptLogStore(`${mPath}: table ${t.fileNum} is live in two levels`, {
        path: mPath,
        offset: 0,
        check: 'table-in-two-levels',
      });
    }
    seen.add(t.fileNum);
  }
  const out: ManifestState = {
    name: current.name,
    path: mPath,
    fileNum: current.fileNum,
    minUnflushedLogNum,
    nextFileNum,
    lastSeqNum,
    levels,
    edits: log.records.length,
    ending: log.ending,
  };
  if (comparator !== undefined) out.comparator = comparator;
  return out;
}
