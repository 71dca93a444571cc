/**
 * A Pebble partition for the benchmarks, written without Pebble (and
 * without Go): the same pairs as the LevelDB store of `task-logdb.ts`
 * (see `store-content.ts`), laid out as Pebble leaves a store after its
 * flushes and compactions — every key in L6 tables of about `tableSize`
 * bytes (32 KiB blocks, restart interval 16, two-level indexes where a
 * table's index exceeds 32 KiB, sequence numbers zeroed as Pebble does at
 * the bottom level), a MANIFEST holding one snapshot edit (tag 103 entries,
 * next file number, last sequence number), CURRENT, Dragonboat's OPTIONS
 * and an empty live WAL.
 */
import * as fsp from 'node:fs/promises';
import * as path from 'node:path';
import { Kind, TRAILER_SIZE, writeTrailer } from '../pebble/internal-key.js';
import { dragonboatOptionsText } from '../pebble/options-file.js';
import { frameLogRecord } from '../pebble/record.js';
import { BYTEWISE_COMPARATOR } from '../pebble/sstable-meta.js';
import { SstableWriter, type FinishedTable, type SstableWriterOptions } from '../pebble/sstable-writer.js';
import { encodeVersionEdit, type NewTableEntry } from '../pebble/version-edit.js';
import { benchNoise, ENTRY_KEY_SIZE, entrySize, fillCommand, writeEntryKey, writeEntryValue } from './entries.js';
import { commandLength, entryRuns, replicaRecords, STORE_TERM } from './store-content.js';

/** Options of {@link buildPebbleStore}. */
export interface PebbleStoreOptions {
  entries: number;
  valueSize: number;
  neighbourEntries: number;
  /** Target table size (default 32 MiB: about the 33.5 MB two-level tables a Dragonboat v4 store holds). */
  tableSize?: number;
  /** Block and index sizes (default Dragonboat's 32 KiB) and the CRC-32C function (default the pure one). */
  writer?: SstableWriterOptions;
}

/** What was built. */
export interface BuiltPebbleStore {
  tables: number;
  twoLevelTables: number;
  storeBytes: number;
  pairs: number;
  lastSeqNum: number;
}

/** The first table's number; the WAL, MANIFEST and OPTIONS take the numbers after the last table. */
const FIRST_TABLE = 10;

function fileNum(n: number): string {
  return String(n).padStart(6, '0');
}

async function writeDurable(file: string, pieces: readonly Uint8Array[]): Promise<void> {
  const fh = await fsp.open(file, 'wx', 0o644);
  try {
    // writev takes at most IOV_MAX (1024) buffers at once.
    for (let i = 0; i < pieces.length; i += 1000) await fh.writev(pieces.slice(i, i + 1000) as NodeJS.ArrayBufferView[]);
    await fh.sync();
  } finally {
    await fh.close();
  }
}

/**
 * Writes the store into `dir` (created; must not exist or be empty).
 * Everything is fsynced; the directory is the partition (`logdb-<p>`),
 * its own WAL dir.
 */
export async function buildPebbleStore(dir: string, opts: PebbleStoreOptions): Promise<BuiltPebbleStore> {
  await fsp.mkdir(dir, { recursive: true });
  const tableSize = opts.tableSize ?? 32 * 1024 * 1024;
  const noise = benchNoise();
  const cmd = new Uint8Array(commandLength(opts.valueSize));
  const ikey = new Uint8Array(ENTRY_KEY_SIZE + TRAILER_SIZE);
  // Every key at sequence number 0, kind SET: the bottom level after a compaction.
  writeTrailer(ikey, ENTRY_KEY_SIZE, 0, Kind.Set);
  const value = new Uint8Array(entrySize(0xffff_ffff, STORE_TERM, cmd.length));

  const added: NewTableEntry[] = [];
  let num = FIRST_TABLE;
  let writer = new SstableWriter(opts.writer);
  let twoLevel = 0;
  let storeBytes = 0;
  let pairs = 0;
  const flush = async (t: FinishedTable): Promise<void> => {
    const name = path.join(dir, `${fileNum(num)}.sst`);
    await writeDurable(name, t.pieces);
    added.push({
      level: 6,
      fileNum: num,
      size: t.size,
      smallest: t.smallest!,
      largest: t.largest!,
      smallestSeq: t.smallestSeq,
      largestSeq: t.largestSeq,
    });
    if (t.indexPartitions > 0) twoLevel++;
    storeBytes += t.size;
    num++;
  };
  const addToNext = async (key: Uint8Array, val: Uint8Array): Promise<void> => {
    await flush(writer.finish());
    writer = new SstableWriter(opts.writer);
    writer.add(key, val);
    pairs++;
  };

  for (const r of entryRuns(opts.entries, opts.neighbourEntries)) {
    for (let index = r.first; index < r.first + r.count; index++) {
      writeEntryKey(ikey, 0, r.shard, r.replica, index);
      fillCommand(cmd, index, noise);
      const end = writeEntryValue(value, 0, index, STORE_TERM, cmd);
      // Awaited only when a table is full: one await per entry would cost more than the encoding.
      if (writer.estimatedSize >= tableSize) await addToNext(ikey, value.subarray(0, end));
      else {
        writer.add(ikey, value.subarray(0, end));
        pairs++;
      }
    }
  }
  // The records sort after every entry key (headers 02, 03, 06 > 01).
  const records = replicaRecords(opts.entries).sort((a, b) => Buffer.compare(a.key, b.key));
  for (const rec of records) {
    const k = new Uint8Array(rec.key.length + TRAILER_SIZE);
    k.set(rec.key, 0);
    writeTrailer(k, rec.key.length, 0, Kind.Set);
    if (writer.estimatedSize >= tableSize) await addToNext(k, rec.value);
    else {
      writer.add(k, rec.value);
      pairs++;
    }
  }
  await flush(writer.finish());

  const walNum = num;
  const manifestNum = num + 1;
  const optionsNum = num + 2;
  const lastSeqNum = pairs;
  const edit = encodeVersionEdit({
    comparator: BYTEWISE_COMPARATOR,
    minUnflushedLogNum: walNum,
    nextFileNum: optionsNum + 1,
    lastSeqNum,
    added,
  });
  // An empty live WAL, as after a clean restart; then the MANIFEST, then CURRENT naming it.
  await writeDurable(path.join(dir, `${fileNum(walNum)}.log`), []);
  await writeDurable(path.join(dir, `MANIFEST-${fileNum(manifestNum)}`), [frameLogRecord(edit, { recyclable: false })]);
  await writeDurable(path.join(dir, `OPTIONS-${fileNum(optionsNum)}`), [Buffer.from(dragonboatOptionsText(path.resolve(dir)))]);
  await writeDurable(path.join(dir, `CURRENT.${fileNum(manifestNum)}.dbtmp`), [Buffer.from(`MANIFEST-${fileNum(manifestNum)}\n`)]);
  await fsp.rename(path.join(dir, `CURRENT.${fileNum(manifestNum)}.dbtmp`), path.join(dir, 'CURRENT'));
  const dh = await fsp.open(dir, 'r');
  try {
    await dh.sync();
  } finally {
    await dh.close();
  }
  return { tables: added.length, twoLevelTables: twoLevel, storeBytes, pairs, lastSeqNum };
}

/**
 * Makes `dst` an identical copy of the Pebble partition `src`: tables are
 * hard links (Pebble never changes a table file; a drop-in write never
 * touches one), everything else is copied.
 */
export async function clonePebbleStore(src: string, dst: string): Promise<void> {
  await fsp.mkdir(dst, { recursive: true });
  for (const name of await fsp.readdir(src)) {
    const from = path.join(src, name);
    const to = path.join(dst, name);
    if (name.endsWith('.sst')) {
      try {
        await fsp.link(from, to);
        continue;
      } catch {
        // Another file system: copy instead.
      }
    }
    await fsp.copyFile(from, to);
  }
}
