/**
 * The Pebble side of the log-store benchmarks, run in child processes:
 * building the Pebble partition (untimed input), removing the replica's
 * entries from it (one drop-in WAL of range tombstones, timed from open to
 * close like the LevelDB removals), and reading the replica's records and
 * whole entry range with this package's reader and, as the baseline, with
 * classic-level on the equal LevelDB store.
 */
import { ClassicLevel } from 'classic-level';
import { crc32cFunction } from '../engines/native.js';
import { ErrLogDB } from '../errors.js';
import {
  allEntriesRange,
  allEntryBatchesRange,
  bootstrapKey,
  maxIndexKey,
  raftStateKey,
  snapshotsRange,
  type KeyRange,
} from '../logdb/keys.js';
import { PebblePartition } from '../logdb/pebble/partition.js';
import { buildPebbleStore } from './pebble-store.js';
import { REMOVAL_REPLICA, REMOVAL_SHARD } from './protocol.js';

function replicaRanges(): KeyRange[] {
  return [allEntriesRange(REMOVAL_SHARD, REMOVAL_REPLICA), allEntryBatchesRange(REMOVAL_SHARD, REMOVAL_REPLICA)];
}

function partition(dir: string, readOnly: boolean): PebblePartition {
  return new PebblePartition({ dataDir: dir, walDir: dir }, { readOnly });
}

/** Builds the bench's Pebble partition (the native CRC-32C when the addon has one). */
export async function buildPebble(
  dir: string,
  entries: number,
  valueSize: number,
  neighbourEntries: number,
): Promise<Record<string, number>> {
  const crc = crc32cFunction();
  const b = await buildPebbleStore(dir, { entries, valueSize, neighbourEntries, ...(crc ? { writer: { crc32c: crc } } : {}) });
  return { storeBytes: b.storeBytes, tables: b.tables, twoLevelTables: b.twoLevelTables, pairs: b.pairs };
}

/** Times the removal of the replica's entries (open, one drop-in WAL, close), then checks none is visible. */
export async function timedPebbleRemoval(dir: string): Promise<{ seconds: number; detail: Record<string, number> }> {
  const t0 = performance.now();
  const part = partition(dir, false);
  let walSize = 0;
  try {
    await part.removeRanges(replicaRanges());
    walSize = part.lastWrite?.walSize ?? 0;
  } finally {
    await part.close();
  }
  const seconds = (performance.now() - t0) / 1000;
  const check = partition(dir, true);
  try {
    for (const r of replicaRanges()) {
      for await (const [k] of check.iterate(r, { limit: 1 })) {
        throw new ErrLogDB(`${dir}: key ${Buffer.from(k).toString('hex')} of the replica is visible after removal`, {
          path: dir,
          check: 'bench-remaining',
        });
      }
    }
  } finally {
    await check.close();
  }
  return { seconds, detail: { walBytes: walSize, remaining: 0 } };
}

/** What a read visited: pairs and bytes (keys + values), compared between the two stores. */
interface ReadCount {
  pairs: number;
  bytes: number;
}

/** The replica's records and its whole entry range: what a restarting node reads, counted. */
async function readReplica(
  get: (key: Uint8Array) => Promise<Uint8Array | undefined>,
  iterate: (range: KeyRange) => AsyncIterable<readonly [Uint8Array, Uint8Array]>,
): Promise<ReadCount> {
  const out: ReadCount = { pairs: 0, bytes: 0 };
  for (const key of [
    bootstrapKey(REMOVAL_SHARD, REMOVAL_REPLICA),
    raftStateKey(REMOVAL_SHARD, REMOVAL_REPLICA),
    maxIndexKey(REMOVAL_SHARD, REMOVAL_REPLICA),
  ]) {
    const v = await get(key);
    if (v !== undefined) {
      out.pairs++;
      out.bytes += key.length + v.length;
    }
  }
  for (const range of [snapshotsRange(REMOVAL_SHARD, REMOVAL_REPLICA), ...replicaRanges()]) {
    for await (const [k, v] of iterate(range)) {
      out.pairs++;
      out.bytes += k.length + v.length;
    }
  }
  return out;
}

/** Those reads through this package's Pebble reader. */
export async function readPebble(dir: string): Promise<ReadCount> {
  const part = partition(dir, true);
  try {
    return await readReplica(
      (k) => part.get(k),
      (r) => part.iterate(r),
    );
  } finally {
    await part.close();
  }
}

/** The baseline: the same reads with classic-level on the equal LevelDB store. */
export async function readClassic(dbDir: string): Promise<ReadCount> {
  const db = new ClassicLevel<Uint8Array, Uint8Array>(dbDir, { keyEncoding: 'view', valueEncoding: 'view' });
  await db.open({ createIfMissing: false });
  try {
    return await readReplica(
      (k) => db.get(k),
      (r) => db.iterator({ ...r }),
    );
  } finally {
    await db.close();
  }
}
