/**
 * A report on one Pebble partition for operators and for the import's plan:
 * its files, CURRENT, the MANIFEST counters, live tables, every WAL with its
 * batches and how it ends, and what a write would do (the drop-in WAL's
 * number and sequence number, and a torn tail it would cut first, so a backup
 * can keep those bytes). Read-only, like every read.
 */
import * as path from 'node:path';
import { readFileOrThrow } from '../../files/fsutil.js';
import { checkNotLocked, type LockCheckOptions } from '../../nodehost/lock.js';
import { LOCK_FILENAME } from '../../nodehost/paths.js';
import { decodeBatch } from '../../pebble/batch.js';
import { readLog, type LogEnding } from '../../pebble/record.js';
import { closeStore, loadStore, type PebbleDirs } from './state.js';
import { walName } from './names.js';

/** One live table. */
export interface TableDescription {
  name: string;
  level: number;
  size: number;
  smallestSeq: number;
  largestSeq: number;
  dataBlocks: number;
  hasRangeDelBlock: boolean;
  rangeTombstones: number;
  /** Two-level index (large tables). */
  twoLevelIndex: boolean;
}

/** One WAL file. */
export interface WalDescription {
  name: string;
  path: string;
  fileNum: number;
  size: number;
  /** Numbered at or above MinUnflushedLogNum: Pebble replays it. */
  replayed: boolean;
  /** The last replayed WAL (read tolerantly). */
  newest: boolean;
  batches: number;
  /** First sequence number of its first batch (undefined without batches). */
  firstSeq?: number;
  /** Last sequence number used (`seq + count − 1` of its last batch). */
  lastSeq?: number;
  /** How the file ends (§3.3): clean, or torn at `ending.offset`. */
  ending: LogEnding;
  /** End of its last complete record. */
  goodEnd: number;
  /** For an obsolete WAL that could not be parsed: why (it is never replayed, so it does not matter). */
  unreadable?: string;
}

/** What {@link describePebbleStore} reports. */
export interface PebbleStoreDescription {
  dataDir: string;
  walDir: string;
  /** CURRENT exists. */
  exists: boolean;
  /** Names in the data dir (sorted). */
  files: string[];
  /** Names in a separate WAL dir (sorted; empty when the WAL dir is the data dir). */
  walDirFiles: string[];
  current?: string;
  minUnflushedLogNum?: number;
  nextFileNum?: number;
  lastSeqNum?: number;
  manifestEdits?: number;
  options?: { name: string; strictWalTail: boolean; formatMajorVersion: number; walDir?: string; tuning: Record<string, string> };
  tables: TableDescription[];
  /** Every WAL, obsolete ones included, in number order. */
  wals: WalDescription[];
  /** What a write would create: the WAL's name, path, file number and first sequence number. */
  dropIn: { walName: string; walPath: string; fileNum: number; seqNum: number; createsStore: boolean };
  /** The newest WAL's torn tail a write would cut first (undefined when it ends cleanly). */
  tornTail?: { path: string; offset: number; size: number };
}

const TUNING = [
  'mem_table_size',
  'mem_table_stop_writes_threshold',
  'table_cache_shards',
  'cache_size',
  'wal_dir',
  'l0_compaction_threshold',
  'l0_stop_writes_threshold',
  'lbase_max_bytes',
];

/** Describes a partition (refusing, like reads, while another process holds its LOCK). */
export async function describePebbleStore(dirs: PebbleDirs, opts: { lock?: LockCheckOptions } = {}): Promise<PebbleStoreDescription> {
  await checkNotLocked(path.join(dirs.dataDir, LOCK_FILENAME), opts.lock);
  const state = await loadStore(dirs);
  try {
    const out: PebbleStoreDescription = {
      dataDir: dirs.dataDir,
      walDir: dirs.walDir,
      exists: state.exists,
      files: state.dataFiles,
      walDirFiles: state.walDirFiles,
      tables: [],
      wals: [],
      dropIn: {
        walName: walName(state.dropInFileNum),
        walPath: path.join(dirs.walDir, walName(state.dropInFileNum)),
        fileNum: state.dropInFileNum,
        seqNum: state.dropInSeqNum,
        createsStore: !state.exists,
      },
    };
    const m = state.manifest;
    if (m) {
      out.current = m.name;
      out.minUnflushedLogNum = m.minUnflushedLogNum;
      out.nextFileNum = m.nextFileNum;
      out.lastSeqNum = m.lastSeqNum;
      out.manifestEdits = m.edits;
    }
    if (state.options) {
      const o = state.options.parsed;
      const tuning: Record<string, string> = {};
      for (const k of TUNING) if (o.options[k] !== undefined) tuning[k] = o.options[k]!;
      out.options = { name: state.options.name, strictWalTail: o.strictWalTail, formatMajorVersion: o.formatMajorVersion, tuning };
      if (o.walDir !== undefined) out.options.walDir = o.walDir;
    }
    for (const t of state.tables) {
      out.tables.push({
        name: t.meta.name,
        level: t.meta.level,
        size: t.meta.size,
        smallestSeq: t.meta.smallestSeq,
        largestSeq: t.meta.largestSeq,
        dataBlocks: t.file.blocks.length,
        hasRangeDelBlock: t.file.hasRangeDelBlock,
        rangeTombstones: t.file.tombstones.length,
        twoLevelIndex: t.file.properties?.indexType === 2,
      });
    }
    for (const o of state.obsoleteWals) out.wals.push(await describeObsolete(o.path, o.fileNum));
    for (const w of state.wals) {
      const last = w.batches[w.batches.length - 1];
      const d: WalDescription = {
        name: w.name,
        path: w.path,
        fileNum: w.fileNum,
        size: w.size,
        replayed: true,
        newest: w.newest,
        batches: w.batches.length,
        ending: w.ending,
        goodEnd: w.goodEnd,
      };
      if (last) {
        d.firstSeq = w.batches[0]!.seq;
        d.lastSeq = last.seq + last.count - 1;
      }
      out.wals.push(d);
      if (w.newest && w.ending.kind === 'torn') out.tornTail = { path: w.path, offset: w.goodEnd, size: w.size };
    }
    out.wals.sort((a, b) => a.fileNum - b.fileNum);
    return out;
  } finally {
    await closeStore(state);
  }
}

async function describeObsolete(p: string, fileNum: number): Promise<WalDescription> {
  const file = await readFileOrThrow(p);
  const log = readLog(file, fileNum);
  const d: WalDescription = {
    name: path.basename(p),
    path: p,
    fileNum,
    size: file.length,
    replayed: false,
    newest: false,
    batches: log.records.length,
    ending: log.ending,
    goodEnd: log.goodEnd,
  };
  try {
    const batches = log.records.map((r) => decodeBatch(r.payload, { path: p, base: r.offset }));
    const last = batches[batches.length - 1];
    if (last) {
      d.firstSeq = batches[0]!.seq;
      d.lastSeq = last.seq + last.count - 1;
    }
  } catch (err) {
    d.unreadable = (err as Error).message;
  }
  return d;
}
