/**
 * Everything a partition's files say, loaded the way Pebble's open reads them
 * (docs/pebble-store.md "On-disk facts relied on"): the names in the data and WAL dirs, CURRENT and the
 * MANIFEST, the newest OPTIONS file, every live table (meta blocks only), and
 * every replayed WAL. Strictly read-only: no file is created, changed or
 * locked. Both the merged view and the writer start from this.
 */
import * as fsp from 'node:fs/promises';
import * as path from 'node:path';
import { ErrCorruptLogStore, ErrUnsupportedLogStore, ioError } from '../../errors.js';
import { isNotFound, readFileOrThrow } from '../../files/fsutil.js';
import { parseOptionsFile, type PebbleOptions } from '../../pebble/options-file.js';
import { loadManifest, type LiveTable, type ManifestState } from './manifest.js';
import { checkForeignName, isToolTempName, parsePebbleName, type ParsedName } from './names.js';
import { TableFile } from './table.js';
import { replayWal, type ReplayedWal } from './wal.js';

/** The two directories of a partition; `walDir` equals `dataDir` when no WALDir is configured. */
export interface PebbleDirs {
  dataDir: string;
  walDir: string;
}

/** A live table, open. */
export interface OpenTable {
  meta: LiveTable;
  file: TableFile;
}

/** A WAL below MinUnflushedLogNum: already flushed (or kept for reuse), never replayed. */
export interface ObsoleteWal {
  name: string;
  path: string;
  fileNum: number;
}

/** A loaded partition. Call {@link closeStore} when done (tables hold file handles). */
export interface StoreState {
  dirs: PebbleDirs;
  /** A store is on disk (CURRENT exists); false: the partition reads as empty. */
  exists: boolean;
  /** Names in the data dir (sorted; empty when it does not exist). */
  dataFiles: string[];
  /** Names in the WAL dir when it is separate (sorted). */
  walDirFiles: string[];
  manifest?: ManifestState;
  options?: { name: string; path: string; parsed: PebbleOptions };
  /** Whether WALs other than the newest are replayed strictly (from OPTIONS; false without one). */
  strictWalTail: boolean;
  tables: OpenTable[];
  /** Replayed WALs in replay order; the last one is the newest. */
  wals: ReplayedWal[];
  obsoleteWals: ObsoleteWal[];
  /** Temporary leftovers (Pebble's `*.dbtmp`, ours) found in either directory. */
  leftovers: string[];
  /** Largest file number any name (or the MANIFEST) uses. */
  maxFileNum: number;
  /** The number a new WAL gets (docs/pebble-store.md writer rule 2). */
  dropInFileNum: number;
  /** The sequence number a new batch gets (docs/pebble-store.md writer rule 3). */
  dropInSeqNum: number;
}

async function listDir(dir: string): Promise<string[] | undefined> {
  try {
    return (await fsp.readdir(dir)).sort();
  } catch (err) {
    if (isNotFound(err)) return undefined;
    throw ioError(err, 'cannot list', dir);
  }
}

/** Options of {@link loadStore}. */
export interface LoadOptions {
  /** Also read and check every data block of every live table (a write requires it). */
  verifyTables?: boolean;
}

/** Loads a partition. */
export async function loadStore(dirs: PebbleDirs, opts: LoadOptions = {}): Promise<StoreState> {
  const separate = path.resolve(dirs.walDir) !== path.resolve(dirs.dataDir);
  const dataFiles = (await listDir(dirs.dataDir)) ?? [];
  const walDirFiles = separate ? ((await listDir(dirs.walDir)) ?? []) : [];

  const parsed: { dir: string; p: ParsedName }[] = [];
  const leftovers: string[] = [];
  let maxFileNum = 0;
  for (const [dir, names] of [
    [dirs.dataDir, dataFiles],
    [dirs.walDir, walDirFiles],
  ] as const) {
    for (const name of names) {
      checkForeignName(name, dir);
      if (isToolTempName(name)) leftovers.push(path.join(dir, name));
      const p = parsePebbleName(name, dir);
      if (!p) continue;
      parsed.push({ dir, p });
      if (p.type === 'temp' || p.type === 'old-temp') leftovers.push(path.join(dir, name));
      maxFileNum = Math.max(maxFileNum, p.num);
    }
  }

  const state: StoreState = {
    dirs,
    exists: false,
    dataFiles,
    walDirFiles,
    strictWalTail: false,
    tables: [],
    wals: [],
    obsoleteWals: [],
    leftovers,
    maxFileNum,
    dropInFileNum: 2,
    dropInSeqNum: 1,
  };

  if (!dataFiles.includes('CURRENT')) {
    // Without CURRENT Pebble creates a new store; any other file means a half-made store it would trip over.
    const stray = parsed.filter(({ p }) => p.type !== 'lock' && p.type !== 'temp' && p.type !== 'old-temp');
    if (stray.length > 0) {
      const first = path.join(stray[0]!.dir, stray[0]!.p.name);
      throw new ErrUnsupportedLogStore(`${dirs.dataDir}: no CURRENT file but ${stray[0]!.p.name} is present (a half-made store)`, {
        path: first,
        check: 'no-current',
      });
    }
    return state;
  }

  try {
    await loadExisting(state, parsed, separate, opts);
  } catch (err) {
    await closeStore(state);
    throw err;
  }
  return state;
}

async function loadExisting(
  state: StoreState,
  parsed: { dir: string; p: ParsedName }[],
  separate: boolean,
  opts: LoadOptions,
): Promise<void> {
  const { dirs } = state;
  state.exists = true;
  const manifest = await loadManifest(dirs.dataDir);
  state.manifest = manifest;

  // OPTIONS: the newest one, read from the data dir, as Pebble does.
  const optionFiles = parsed.filter(({ dir, p }) => p.type === 'options' && dir === dirs.dataDir).sort((a, b) => b.p.num - a.p.num);
  if (optionFiles.length > 0) {
    const name = optionFiles[0]!.p.name;
    const p = path.join(dirs.dataDir, name);
    const text = Buffer.from(await readFileOrThrow(p)).toString('utf8');
    const o = parseOptionsFile(text, { path: p });
    state.options = { name, path: p, parsed: o };
    state.strictWalTail = o.strictWalTail;
  }

  if (separate) {
    const misplaced = parsed.find(({ dir, p }) => p.type === 'log' && dir === dirs.dataDir);
    if (misplaced) {
      const p = path.join(dirs.dataDir, misplaced.p.name);
      throw new ErrUnsupportedLogStore(`${p}: a WAL in the data dir while a separate WAL dir (${dirs.walDir}) is configured`, {
        path: p,
        check: 'wal-in-data-dir',
      });
    }
  }

  // Live tables.
  for (const level of manifest.levels) {
    for (const meta of level) {
      const file = await TableFile.open(meta.path, meta.size);
      state.tables.push({ meta, file });
      if (opts.verifyTables) await file.verifyAll();
    }
  }

  // WALs, from the WAL dir.
  const logs = parsed
    .filter(({ dir, p }) => p.type === 'log' && dir === dirs.walDir)
    .map(({ p }) => p)
    .sort((a, b) => a.num - b.num);
  const replayed = logs.filter((l) => l.num >= manifest.minUnflushedLogNum);
  for (const l of logs) {
    if (l.num < manifest.minUnflushedLogNum)
      state.obsoleteWals.push({ name: l.name, path: path.join(dirs.walDir, l.name), fileNum: l.num });
  }
  let prevEnd = -1;
  let maxSeq = manifest.lastSeqNum;
  for (let i = 0; i < replayed.length; i++) {
    const l = replayed[i]!;
    const newest = i === replayed.length - 1;
    const wal = await replayWal(path.join(dirs.walDir, l.name), l.num, { newest, strict: state.strictWalTail && !newest });
    for (const b of wal.batches) {
      if (b.seq < prevEnd) {
        throw new ErrCorruptLogStore(
          `${wal.path}: batch at offset ${b.offset} has sequence number ${b.seq}, below the previous batch's end ${prevEnd}`,
          {
            path: wal.path,
            offset: b.offset,
            check: 'wal-seqnum-order',
            expected: prevEnd,
            actual: b.seq,
          },
        );
      }
      prevEnd = b.seq + b.count;
      maxSeq = Math.max(maxSeq, b.seq + b.count - 1);
    }
    state.wals.push(wal);
  }
  for (const t of state.tables) maxSeq = Math.max(maxSeq, t.meta.largestSeq);

  state.maxFileNum = Math.max(state.maxFileNum, manifest.minUnflushedLogNum, manifest.fileNum);
  state.dropInFileNum = Math.max(manifest.nextFileNum, state.maxFileNum + 1);
  state.dropInSeqNum = maxSeq + 1;
}

/** Closes the tables of a loaded store. */
export async function closeStore(state: StoreState): Promise<void> {
  const tables = state.tables.splice(0);
  await Promise.all(tables.map((t) => t.file.close()));
}
