import fs from 'node:fs';
import path from 'node:path';

import { afterAll, beforeAll, describe, expect, it } from 'vitest';

import { ErrAborted, ErrDirLocked, ErrInvalidConfig, ErrLogDB, ErrPathNotExist } from '../../src/errors.js';
import { copyEntries, moveEntries, removeEntries } from '../../src/logdb/native-bulk.js';
import { holdLevelDb } from '../native/children.js';
import { dump, H, hex, key, openDb, range, seed, type Replica } from '../native/logdb-fixture.js';
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

describe('removeEntries', () => {
  it("removes exactly the replica's plain entries and batches", async () => {
    const dir = await seeded();
    const before = await dump(dir);
    expect(await removeEntries(dir, 5n, 2n)).toEqual({ plainRemoved: 300, batchesRemoved: 7 });
    const after = await dump(dir);
    const gone = entryKeysOf(target);
    expect(gone.size).toBe(307);
    expect(after).toEqual(without(before, gone));
    // The replica's other records stay.
    for (const h of [H.state, H.maxIndex, H.bootstrap]) expect(after.has(hex(key(h, 5n, 2n)))).toBe(true);
    expect(after.has(hex(key(H.snapshot, 5n, 2n, 100n)))).toBe(true);
    // Running again finds nothing.
    expect(await removeEntries(dir, 5n, 2n)).toEqual({ plainRemoved: 0, batchesRemoved: 0 });
  });

  it('handles the largest shard and replica IDs', async () => {
    const dir = await seeded();
    const before = await dump(dir);
    expect(await removeEntries(dir, MAX, MAX)).toEqual({ plainRemoved: 2, batchesRemoved: 1 });
    expect(await dump(dir)).toEqual(without(before, entryKeysOf(others[3]!)));
  });

  it('an index range removes plain entries in [from, to) and only the batches wholly inside', async () => {
    const dir = await seeded();
    const before = await dump(dir);
    // Batches of 48: [144, 192) is the only one inside [100, 200).
    expect(await removeEntries(dir, 5n, 2n, { fromIndex: 100n, toIndex: 200n })).toEqual({
      plainRemoved: 100,
      batchesRemoved: 1,
    });
    const afterFirst = without(before, entryKeysOf(target, range(100, 200), [3n]));
    expect(await dump(dir)).toEqual(afterFirst);
    // Open-ended: [250, ∞) holds plain 250..300 and batch 6 ([288, 336)).
    expect(await removeEntries(dir, 5n, 2n, { fromIndex: 250n })).toEqual({ plainRemoved: 51, batchesRemoved: 1 });
    expect(await dump(dir)).toEqual(without(afterFirst, entryKeysOf(target, range(250, 301), [6n])));
    // Another batch size moves the batch boundaries: 100 per batch, [0, 100) is batch 0.
    expect(await removeEntries(dir, 5n, 2n, { toIndex: 100n, entriesPerBatch: 100 })).toEqual({
      plainRemoved: 99,
      batchesRemoved: 1,
    });
  });

  it('small write batches give the same result', async () => {
    const dir = await seeded();
    const before = await dump(dir);
    expect(await removeEntries(dir, 5n, 2n, { deletesPerWrite: 7 })).toEqual({ plainRemoved: 300, batchesRemoved: 7 });
    expect(await dump(dir)).toEqual(without(before, entryKeysOf(target)));
  });

  it('compaction takes the removed data off the disk', async () => {
    const big: Replica = { shard: 9n, replica: 1n, plain: range(0, 2000), batches: [] };
    const other: Replica = { shard: 9n, replica: 7n, plain: range(0, 2000), batches: [] };
    const compacted = await seeded([big, other], 1024);
    const notCompacted = `${compacted}-copy`;
    fs.cpSync(compacted, notCompacted, { recursive: true });
    expect(await removeEntries(compacted, 9n, 1n)).toEqual({ plainRemoved: 2000, batchesRemoved: 0 });
    expect(await removeEntries(notCompacted, 9n, 1n, { compact: false })).toEqual({ plainRemoved: 2000, batchesRemoved: 0 });
    const sizeOf = async (dir: string, r: Replica) => {
      const db = openDb(dir);
      await db.open();
      try {
        return await db.approximateSize(key(H.entry, r.shard, r.replica, 0n), key(H.entry, r.shard, r.replica, MAX));
      } finally {
        await db.close();
      }
    };
    const stale = await sizeOf(notCompacted, big);
    expect(stale).toBeGreaterThan(1024 * 1024);
    expect(await sizeOf(compacted, big)).toBeLessThan(stale / 20);
    expect(await sizeOf(compacted, other)).toBeGreaterThan(1024 * 1024);
    expect((await dump(compacted)).size).toBe(2000 + 8);
  });

  it('a missing directory is ErrPathNotExist and stays missing', async () => {
    const dir = path.join(tmp.dir, 'no-such-db');
    const err = await removeEntries(dir, 1n, 1n).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(ErrPathNotExist);
    expect((err as ErrPathNotExist).details.path).toBe(dir);
    expect(fs.existsSync(dir)).toBe(false);
  });

  it('a directory without a database is ErrLogDB and is left empty', async () => {
    const dir = path.join(tmp.dir, 'empty-dir');
    fs.mkdirSync(dir);
    await expect(removeEntries(dir, 1n, 1n)).rejects.toBeInstanceOf(ErrLogDB);
    expect(fs.readdirSync(dir)).toEqual([]);
  });

  it('a database another process holds open is ErrDirLocked naming that process', async () => {
    const dir = await seeded();
    const before = await dump(dir);
    const holder = await holdLevelDb(dir);
    try {
      const err = await removeEntries(dir, 5n, 2n).catch((e: unknown) => e);
      expect(err).toBeInstanceOf(ErrDirLocked);
      expect((err as ErrDirLocked).details).toMatchObject({ path: path.join(dir, 'LOCK'), pid: holder.pid });
      expect((err as ErrDirLocked).message).toMatch(`process ${holder.pid}`);
    } finally {
      await holder.release();
    }
    expect(await dump(dir)).toEqual(before);
  });

  it('an aborted signal is ErrAborted; bad arguments are ErrInvalidConfig', async () => {
    const dir = await seeded([target]);
    const before = await dump(dir);
    await expect(removeEntries(dir, 5n, 2n, { signal: AbortSignal.abort() })).rejects.toBeInstanceOf(ErrAborted);
    await expect(removeEntries(dir, -1n, 2n)).rejects.toBeInstanceOf(ErrInvalidConfig);
    await expect(removeEntries(dir, 5n, MAX + 1n)).rejects.toBeInstanceOf(ErrInvalidConfig);
    await expect(removeEntries(dir, 5 as unknown as bigint, 2n)).rejects.toBeInstanceOf(ErrInvalidConfig);
    await expect(removeEntries(dir, 5n, 2n, { fromIndex: 10n, toIndex: 9n })).rejects.toBeInstanceOf(ErrInvalidConfig);
    await expect(removeEntries(dir, 5n, 2n, { entriesPerBatch: 0 })).rejects.toBeInstanceOf(ErrInvalidConfig);
    expect(await dump(dir)).toEqual(before);
  });
});

describe('copyEntries / moveEntries', () => {
  it("copies the replica's entries and batches into a new database, leaving the source alone", async () => {
    const src = await seeded();
    const before = await dump(src);
    const dst = path.join(tmp.dir, 'copy-dst');
    expect(await copyEntries(src, dst, 5n, 2n)).toEqual({ plainCopied: 300, batchesCopied: 7 });
    const keys = entryKeysOf(target);
    expect(await dump(dst)).toEqual(new Map([...before].filter(([k]) => keys.has(k))));
    expect(await dump(src)).toEqual(before);
  });

  it('copies into an existing database, keeping what it holds', async () => {
    const src = await seeded([target]);
    const dst = await seeded([others[0]!]);
    const dstBefore = await dump(dst);
    expect(await copyEntries(src, dst, 5n, 2n, { putsPerWrite: 10 })).toEqual({ plainCopied: 300, batchesCopied: 7 });
    const after = await dump(dst);
    expect(after.size).toBe(dstBefore.size + 307);
    for (const [k, v] of dstBefore) expect(after.get(k)).toBe(v);
  });

  it('moveEntries leaves the entries only in the destination', async () => {
    const src = await seeded();
    const before = await dump(src);
    const dst = path.join(tmp.dir, 'move-dst');
    expect(await moveEntries(src, dst, 5n, 2n)).toEqual({ plainCopied: 300, batchesCopied: 7 });
    const keys = entryKeysOf(target);
    expect(await dump(src)).toEqual(without(before, keys));
    expect(await dump(dst)).toEqual(new Map([...before].filter(([k]) => keys.has(k))));
  });

  it('refuses the same database, a missing source and a locked destination', async () => {
    const src = await seeded([target]);
    await expect(copyEntries(src, `${src}/.`, 5n, 2n)).rejects.toBeInstanceOf(ErrInvalidConfig);
    const missing = path.join(tmp.dir, 'missing-src');
    await expect(copyEntries(missing, path.join(tmp.dir, 'unused'), 5n, 2n)).rejects.toBeInstanceOf(ErrPathNotExist);
    expect(fs.existsSync(path.join(tmp.dir, 'unused'))).toBe(false);
    const dst = await seeded([others[1]!]);
    const holder = await holdLevelDb(dst);
    try {
      const err = await moveEntries(src, dst, 5n, 2n).catch((e: unknown) => e);
      expect(err).toBeInstanceOf(ErrDirLocked);
      expect((err as ErrDirLocked).details.pid).toBe(holder.pid);
    } finally {
      await holder.release();
    }
    expect((await dump(src)).size).toBe(311);
  });
});
