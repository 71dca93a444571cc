/**
 * The log store side of the benchmarks, run in child processes: building a
 * store with many stale entries of one replica, and removing them three ways
 * (classic-level's clear() + compactRange(), and the LevelDB partition's
 * removeRanges with the addon and without it). Each removal opens and closes
 * the database itself and is timed from open to close: LevelDB's close waits
 * for its background compaction, so that is where the work ends.
 */
import { readdir, stat } from 'node:fs/promises';
import { join } from 'node:path';
import { ClassicLevel } from 'classic-level';
import { ErrLogDB } from '../errors.js';
import { allEntriesRange, allEntryBatchesRange, type KeyRange } from '../logdb/keys.js';
import { LogDBPartition } from '../logdb/leveldb-partition.js';
import { removeKeyRanges } from '../logdb/native-bulk.js';
import { DISABLE_NATIVE_ENV } from '../native/binding.js';
import { benchNoise, ENTRY_KEY_SIZE, entrySize, fillCommand, writeEntryKey, writeEntryValue } from './entries.js';
import { commandLength, entryRuns, replicaRecords, STORE_TERM } from './store-content.js';
import { REMOVAL_REPLICA, REMOVAL_SHARD } from './protocol.js';

type Level = ClassicLevel<Uint8Array, Uint8Array>;

const TERM = STORE_TERM;
/** Puts per write batch while building: large batches, few native calls. */
const PUTS_PER_BATCH = 20_000;

function level(dir: string): Level {
  return new ClassicLevel<Uint8Array, Uint8Array>(dir, { keyEncoding: 'view', valueEncoding: 'view' });
}

/** The replica's entry key ranges (plain and batched), as this package's import removes them. */
function replicaRanges(): KeyRange[] {
  return [allEntriesRange(REMOVAL_SHARD, REMOVAL_REPLICA), allEntryBatchesRange(REMOVAL_SHARD, REMOVAL_REPLICA)];
}

/** Total size of the files directly in `dir`. */
export async function dirBytes(dir: string): Promise<number> {
  let total = 0;
  for (const name of await readdir(dir)) {
    const st = await stat(join(dir, name));
    if (st.isFile()) total += st.size;
  }
  return total;
}

async function putEntries(
  db: Level,
  shard: number,
  replica: number,
  first: number,
  count: number,
  valueSize: number,
  noise: Uint8Array,
): Promise<void> {
  const cmd = new Uint8Array(commandLength(valueSize));
  for (let lo = first; lo < first + count; lo += PUTS_PER_BATCH) {
    const n = Math.min(PUTS_PER_BATCH, first + count - lo);
    // One buffer per batch holds every key and value of it; the ops are views.
    const buf = new Uint8Array(n * (ENTRY_KEY_SIZE + entrySize(lo + n, TERM, cmd.length)));
    const ops: { type: 'put'; key: Uint8Array; value: Uint8Array }[] = new Array(n);
    let at = 0;
    for (let i = 0; i < n; i++) {
      const index = lo + i;
      const k = at;
      at = writeEntryKey(buf, at, shard, replica, index);
      fillCommand(cmd, index, noise);
      const v = at;
      at = writeEntryValue(buf, at, index, TERM, cmd);
      ops[i] = { type: 'put', key: buf.subarray(k, v), value: buf.subarray(v, at) };
    }
    await db.batch(ops);
  }
}

/**
 * Builds a LevelDB database at `dbDir` holding entries 1..`entries` of the
 * removal replica (values about `valueSize` bytes), its bootstrap, raft
 * state and max index, and `neighbourEntries` entries of a replica sorting
 * just before and one just after it (which every removal must keep). Writes
 * are unsynced except the last; the database is then reopened once, so the
 * write-ahead log is already in a table and no run pays for replaying it.
 */
export async function buildStore(
  dbDir: string,
  entries: number,
  valueSize: number,
  neighbourEntries: number,
): Promise<{ storeBytes: number }> {
  const noise = benchNoise();
  const db = level(dbDir);
  await db.open({ createIfMissing: true, errorIfExists: true });
  try {
    for (const r of entryRuns(entries, neighbourEntries)) await putEntries(db, r.shard, r.replica, r.first, r.count, valueSize, noise);
    await db.batch(
      replicaRecords(entries).map((r) => ({ type: 'put' as const, key: r.key, value: r.value })),
      { sync: true },
    );
  } finally {
    await db.close();
  }
  const again = level(dbDir);
  await again.open({ createIfMissing: false });
  await again.close();
  return { storeBytes: await dirBytes(dbDir) };
}

/** Counts the replica's entry keys left in the database (untimed check after a removal). */
async function remainingEntries(dbDir: string): Promise<number> {
  const db = level(dbDir);
  await db.open({ createIfMissing: false });
  try {
    let n = 0;
    for (const range of replicaRanges()) {
      for await (const _ of db.keys({ ...range })) n++;
    }
    return n;
  } finally {
    await db.close();
  }
}

/** Detail every removal reports: bytes on disk after it, entries left (must be 0). */
async function after(dbDir: string): Promise<{ diskAfterBytes: number; remaining: number }> {
  const diskAfterBytes = await dirBytes(dbDir);
  const remaining = await remainingEntries(dbDir);
  if (remaining !== 0) {
    throw new ErrLogDB(`${dbDir}: ${remaining} entries of the replica are left after removal`, {
      path: dbDir,
      check: 'bench-remaining',
      actual: remaining,
    });
  }
  return { diskAfterBytes, remaining };
}

/** Times one removal (`run`, from open to close), then checks its outcome. */
export async function timedRemoval(
  dbDir: string,
  run: () => Promise<number | undefined>,
): Promise<{ seconds: number; detail: Record<string, number> }> {
  const t0 = performance.now();
  const removed = await run();
  const seconds = (performance.now() - t0) / 1000;
  const detail: Record<string, number> = await after(dbDir);
  if (removed !== undefined) detail.removed = removed;
  return { seconds, detail };
}

/**
 * The addon's range removal (what the LevelDB partition runs when the addon is
 * built), compaction included, on the ranges the partition would hand it.
 */
export async function removeNative(dbDir: string): Promise<number> {
  return (await removeKeyRanges(dbDir, replicaRanges())).removed;
}

/** The baseline: classic-level `clear()` of each range, then `compactRange()` over each. */
export async function removeClassic(dbDir: string): Promise<undefined> {
  const db = level(dbDir);
  await db.open({ createIfMissing: false });
  try {
    for (const r of replicaRanges()) await db.clear({ ...r });
    for (const r of replicaRanges()) await db.compactRange(r.gte, (r.lte ?? r.lt)!);
  } finally {
    await db.close();
  }
  return undefined;
}

/**
 * The partition's removal without the addon (what an import runs where it is
 * not built): classic-level compacts, clears and compacts. The child runs
 * nothing else, so disabling the addon for the whole process is exact.
 */
export async function removeFallback(dbDir: string): Promise<undefined> {
  process.env[DISABLE_NATIVE_ENV] = '1';
  const part = new LogDBPartition(dbDir);
  try {
    if (!(await part.exists())) throw new ErrLogDB(`${dbDir} is not a database`, { path: dbDir, check: 'bench-store' });
    await part.removeRanges(replicaRanges());
  } finally {
    await part.close();
  }
  return undefined;
}
