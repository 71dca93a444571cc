import fs from 'node:fs';
import path from 'node:path';

import { afterAll, beforeAll, describe, expect, it } from 'vitest';

import { ErrAborted, ErrDirLocked, ErrInvalidConfig, ErrLogDB, ErrPathNotExist } from '../../src/errors.js';
import { allEntriesRange, allEntryBatchesRange, type KeyRange } from '../../src/logdb/keys.js';
import { removeKeyRanges } from '../../src/logdb/native-bulk.js';
import { holdLevelDb } from '../helpers/lock-holders.js';
import { dump, H, hex, key, range, seed, type Replica } from '../native/logdb-fixture.js';
import { tempDir } from '../native/v2file.js';

const MAX = (1n << 64n) - 1n;
const target: Replica = { shard: 5n, replica: 2n, plain: range(1, 301), batches: range(0, 7) };
const others: Replica[] = [
  { shard: 5n, replica: 3n, plain: range(1, 51), batches: range(0, 3) }, // same shard, other replica
  { shard: 6n, replica: 2n, plain: range(1, 51), batches: range(0, 3) }, // other shard, same replica ID
  { shard: 4n, replica: 2n, plain: range(1, 11), batches: range(0, 2) }, // sorts just before the target
  { shard: MAX, replica: MAX, plain: [0n, MAX], batches: [MAX] },
];

let tmp: ReturnType<typeof tempDir>;
beforeAll(() => {
  tmp = tempDir('nh-native-logdb');
});
afterAll(() => tmp.cleanup());

let dbNo = 0;
async function seeded(replicas: Replica[] = [target, ...others], valueSize?: number): Promise<string> {
  const dir = path.join(tmp.dir, `db${dbNo++}`);
  await seed(dir, replicas, valueSize);
  return dir;
}

/** Entry and batch keys of one replica, optionally only some suffixes. */
function entryKeysOf(r: Replica, plain = r.plain, batches = r.batches): Set<string> {
  return new Set([
    ...plain.map((i) => hex(key(H.entry, r.shard, r.replica, i))),
    ...batches.map((b) => hex(key(H.batch, r.shard, r.replica, b))),
  ]);
}

function without(before: Map<string, string>, removed: Set<string>): Map<string, string> {
  return new Map([...before].filter(([k]) => !removed.has(k)));
}

/** The seam's ranges of every entry and batch key of one replica (`lte` bounds, as LogDB hands them). */
function replicaRanges(r: { shard: bigint; replica: bigint }): KeyRange[] {
  return [allEntriesRange(r.shard, r.replica), allEntryBatchesRange(r.shard, r.replica)];
}

describe('removeKeyRanges', () => {
  it("removes exactly the keys of the ranges: the replica's plain entries and batches", async () => {
    const dir = await seeded();
    const before = await dump(dir);
    expect(await removeKeyRanges(dir, replicaRanges(target))).toEqual({ removed: 307 });
    const after = await dump(dir);
    const gone = entryKeysOf(target);
    expect(gone.size).toBe(307);
    expect(after).toEqual(without(before, gone));
    // The replica's other records stay.
    for (const h of [H.state, H.maxIndex, H.bootstrap]) expect(after.has(hex(key(h, 5n, 2n)))).toBe(true);
    expect(after.has(hex(key(H.snapshot, 5n, 2n, 100n)))).toBe(true);
    // Running again finds nothing.
    expect(await removeKeyRanges(dir, replicaRanges(target))).toEqual({ removed: 0 });
  });

  it('an lte bound includes the largest key (largest shard and replica IDs)', async () => {
    const dir = await seeded();
    const before = await dump(dir);
    expect(await removeKeyRanges(dir, replicaRanges({ shard: MAX, replica: MAX }))).toEqual({ removed: 3 });
    expect(await dump(dir)).toEqual(without(before, entryKeysOf(others[3]!)));
  });

  it('an lt bound excludes its end; empty and key-less ranges remove nothing', async () => {
    const dir = await seeded();
    const before = await dump(dir);
    const ranges: KeyRange[] = [
      { gte: key(H.entry, 5n, 2n, 100n), lt: key(H.entry, 5n, 2n, 200n) },
      { gte: key(H.batch, 5n, 2n, 3n), lt: key(H.batch, 5n, 2n, 4n) },
      { gte: key(H.entry, 5n, 2n, 250n), lt: key(H.entry, 5n, 2n, 250n) },
      { gte: key(H.entry, 7n, 1n, 0n), lte: key(H.entry, 7n, 1n, MAX) },
    ];
    expect(await removeKeyRanges(dir, ranges)).toEqual({ removed: 101 });
    expect(await dump(dir)).toEqual(without(before, entryKeysOf(target, range(100, 200), [3n])));
    // A range spanning kinds takes every key between its bounds, whatever it is.
    const span = { gte: key(H.state, 5n, 2n), lt: key(H.state, 5n, 3n) };
    expect(await removeKeyRanges(dir, [span])).toEqual({ removed: 1 });
    expect((await dump(dir)).has(hex(key(H.state, 5n, 2n)))).toBe(false);
  });

  it('small write batches give the same result', async () => {
    const dir = await seeded();
    const before = await dump(dir);
    expect(await removeKeyRanges(dir, replicaRanges(target), { deletesPerWrite: 7 })).toEqual({ removed: 307 });
    expect(await dump(dir)).toEqual(without(before, entryKeysOf(target)));
  });

  it('compaction takes the removed data off the disk, also when it was only in the write-ahead log', async () => {
    // 2000 x 1 KiB stays below LevelDB's 4 MiB write buffer: the records are in the log, not in a table.
    const big: Replica = { shard: 9n, replica: 1n, plain: range(0, 2000), batches: [] };
    const other: Replica = { shard: 9n, replica: 7n, plain: range(0, 2000), batches: [] };
    const dir = await seeded([big, other], 1024);
    // Bytes of the data files (tables and logs); the values are random, so Snappy cannot hide them.
    const dataBytes = () =>
      fs
        .readdirSync(dir)
        .filter((f) => /\.(ldb|sst|log)$/.test(f))
        .reduce((n, f) => n + fs.statSync(path.join(dir, f)).size, 0);
    expect(fs.readdirSync(dir).filter((f) => f.endsWith('.ldb'))).toEqual([]);
    expect(dataBytes()).toBeGreaterThan(4 * 1024 * 1024);
    expect(await removeKeyRanges(dir, replicaRanges(big))).toEqual({ removed: 2000 });
    // What stays is the other replica's 2 MiB; without the compaction the recovered log's table keeps all 4.
    expect(dataBytes()).toBeGreaterThan(2 * 1024 * 1024);
    expect(dataBytes()).toBeLessThan(2.5 * 1024 * 1024);
    expect((await dump(dir)).size).toBe(2000 + 8);
  });

  it('a missing directory is ErrPathNotExist and stays missing', async () => {
    const dir = path.join(tmp.dir, 'no-such-db');
    const err = await removeKeyRanges(dir, replicaRanges(target)).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(ErrPathNotExist);
    expect((err as ErrPathNotExist).details.path).toBe(dir);
    expect(fs.existsSync(dir)).toBe(false);
  });

  it('a directory without a database is ErrLogDB and is left empty', async () => {
    const dir = path.join(tmp.dir, 'empty-dir');
    fs.mkdirSync(dir);
    await expect(removeKeyRanges(dir, replicaRanges(target))).rejects.toBeInstanceOf(ErrLogDB);
    expect(fs.readdirSync(dir)).toEqual([]);
  });

  it('a database another process holds open is ErrDirLocked naming that process', async () => {
    const dir = await seeded();
    const before = await dump(dir);
    const holder = await holdLevelDb(dir);
    try {
      const err = await removeKeyRanges(dir, replicaRanges(target)).catch((e: unknown) => e);
      expect(err).toBeInstanceOf(ErrDirLocked);
      expect((err as ErrDirLocked).details).toMatchObject({ path: path.join(dir, 'LOCK'), pid: holder.pid });
      expect((err as ErrDirLocked).message).toMatch(`process ${holder.pid}`);
    } finally {
      await holder.release();
    }
    expect(await dump(dir)).toEqual(before);
  });

  it('an aborted signal is ErrAborted and a rerun finishes; bad arguments are ErrInvalidConfig or ErrLogDB', async () => {
    const dir = await seeded([target]);
    const before = await dump(dir);
    await expect(removeKeyRanges(dir, replicaRanges(target), { signal: AbortSignal.abort() })).rejects.toBeInstanceOf(ErrAborted);
    const backwards = { gte: key(H.entry, 5n, 2n, 9n), lt: key(H.entry, 5n, 2n, 8n) };
    await expect(removeKeyRanges(dir, [backwards])).rejects.toBeInstanceOf(ErrInvalidConfig);
    await expect(removeKeyRanges(dir, [{ gte: key(H.entry, 5n, 2n, 0n) }])).rejects.toBeInstanceOf(ErrLogDB);
    await expect(removeKeyRanges(dir, replicaRanges(target), { deletesPerWrite: 0 })).rejects.toBeInstanceOf(ErrInvalidConfig);
    expect(await dump(dir)).toEqual(before);
    // Aborted once queued: the worker stops at its next check (one delete per write batch here).
    const ac = new AbortController();
    const run = removeKeyRanges(dir, replicaRanges(target), { signal: ac.signal, deletesPerWrite: 1 });
    ac.abort();
    await expect(run).rejects.toBeInstanceOf(ErrAborted);
    expect((await removeKeyRanges(dir, replicaRanges(target))).removed).toBeLessThanOrEqual(307);
    expect(await dump(dir)).toEqual(without(before, entryKeysOf(target)));
  });
});
