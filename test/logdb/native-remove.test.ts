/**
 * The LevelDB partition's range removal has two implementations: the addon's
 * own LevelDB working on the closed directory, and classic-level (compact,
 * clear, compact) where the addon is absent. Both must leave exactly the same
 * keys and values; the partition must hand the directory to the addon only
 * with its classic-level handle closed, and keep it claimed meanwhile.
 */
import fs from 'node:fs';
import path from 'node:path';

import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';

import { ErrDirLocked, ErrLogDB } from '../../src/errors.js';
import { allEntriesRange, allEntryBatchesRange, type KeyRange } from '../../src/logdb/keys.js';
import { LogDBPartition } from '../../src/logdb/leveldb-partition.js';
import { DISABLE_NATIVE_ENV, loadNative } from '../../src/native/binding.js';
import { isOwnLock } from '../../src/nodehost/lock.js';
import { holdLevelDb } from '../helpers/lock-holders.js';
import { dump, H, hex, key, range, seed, type Replica } from '../native/logdb-fixture.js';
import { tempDir } from '../native/v2file.js';

const MAX = (1n << 64n) - 1n;
const replicas: Replica[] = [
  { shard: 5n, replica: 2n, plain: range(1, 301), batches: range(0, 7) },
  { shard: 5n, replica: 3n, plain: range(1, 51), batches: range(0, 3) },
  { shard: 4n, replica: 2n, plain: range(1, 11), batches: range(0, 2) },
  { shard: MAX, replica: MAX, plain: [0n, MAX], batches: [MAX] },
];

/** Named range sets, each removed once through each implementation. */
const cases: [string, KeyRange[]][] = [
  ["a replica's entries and batches (lte bounds, as LogDB hands them)", [allEntriesRange(5n, 2n), allEntryBatchesRange(5n, 2n)]],
  ['the largest IDs, up to and including the largest key', [allEntriesRange(MAX, MAX), allEntryBatchesRange(MAX, MAX)]],
  [
    'lt bounds inside the entries, overlapping ranges',
    [
      { gte: key(H.entry, 5n, 2n, 50n), lt: key(H.entry, 5n, 2n, 150n) },
      { gte: key(H.entry, 5n, 2n, 100n), lt: key(H.entry, 5n, 2n, 250n) },
      { gte: key(H.batch, 5n, 2n, 3n), lt: key(H.batch, 5n, 2n, 4n) },
    ],
  ],
  [
    'an empty range, a range with no keys, a range across kinds',
    [
      { gte: key(H.entry, 5n, 2n, 7n), lt: key(H.entry, 5n, 2n, 7n) },
      allEntriesRange(7n, 1n),
      { gte: key(H.state, 5n, 2n), lte: key(H.state, 5n, 3n) },
    ],
  ],
];

let tmp: ReturnType<typeof tempDir>;
let pristine: string;
let dirNo = 0;
beforeAll(async () => {
  if (!loadNative()) throw new Error('the native addon is not built: run npm run build:native');
  tmp = tempDir('nh-native-remove');
  pristine = path.join(tmp.dir, 'pristine');
  await seed(pristine, replicas);
});
afterAll(() => tmp.cleanup());
afterEach(() => {
  delete process.env[DISABLE_NATIVE_ENV];
});

/** A copy of the seeded database (byte for byte the same files). */
function copy(): string {
  const dir = path.join(tmp.dir, `db${dirNo++}`);
  fs.cpSync(pristine, dir, { recursive: true });
  return dir;
}

function inAny(k: string, ranges: KeyRange[]): boolean {
  const b = Buffer.from(k, 'hex');
  return ranges.some((r) => Buffer.compare(b, r.gte) >= 0 && (r.lt ? Buffer.compare(b, r.lt) < 0 : Buffer.compare(b, r.lte!) <= 0));
}

/** Removes `ranges` through a partition, with the addon or without it; says whether the classic-level handle was left open. */
async function removeThrough(dir: string, ranges: KeyRange[], native: boolean): Promise<{ handleOpen: boolean }> {
  if (native) delete process.env[DISABLE_NATIVE_ENV];
  else process.env[DISABLE_NATIVE_ENV] = '1';
  const part = new LogDBPartition(dir);
  try {
    await part.removeRanges(ranges);
    return { handleOpen: part.level !== undefined };
  } finally {
    await part.close();
    delete process.env[DISABLE_NATIVE_ENV];
  }
}

describe('LevelDB range removal: the addon and classic-level leave the same store', () => {
  it.each(cases)('%s', async (_name, ranges) => {
    const before = await dump(pristine);
    const viaAddon = copy();
    const viaClassic = copy();
    // The classic-level path works through the handle; the addon's only with the handle closed.
    expect(await removeThrough(viaAddon, ranges, true)).toEqual({ handleOpen: false });
    expect(await removeThrough(viaClassic, ranges, false)).toEqual({ handleOpen: true });
    const expected = new Map([...before].filter(([k]) => !inAny(k, ranges)));
    expect(expected.size).toBeLessThan(before.size);
    const [a, c] = [await dump(viaAddon), await dump(viaClassic)];
    expect(a.size).toBe(c.size);
    expect(a).toEqual(c);
    expect(a).toEqual(expected);
  });

  it('a partition with no database stays without one, either way', async () => {
    for (const native of [true, false]) {
      const dir = path.join(tmp.dir, `none-${native}`);
      await removeThrough(dir, cases[0]![1], native);
      expect(fs.existsSync(dir)).toBe(false);
    }
  });
});

describe('the partition around the addon', () => {
  it('closes its handle for the addon, keeps its claim, and reopens on the next read and write', async () => {
    const dir = copy();
    const part = new LogDBPartition(dir);
    const lock = path.join(dir, 'LOCK');
    try {
      expect(await part.get(key(H.state, 5n, 2n))).toBeDefined();
      expect(part.level).toBeDefined();
      await part.removeRanges([allEntriesRange(5n, 2n)]);
      expect(part.level).toBeUndefined();
      // No other LogDB of this process may open it while this one holds it, handle or not.
      expect(isOwnLock(lock, 'leveldb')).toBe(true);
      await expect(new LogDBPartition(dir).get(key(H.state, 5n, 2n))).rejects.toBeInstanceOf(ErrDirLocked);
      expect(await part.get(key(H.entry, 5n, 2n, 1n))).toBeUndefined();
      expect(await part.get(key(H.entry, 5n, 3n, 1n))).toBeDefined();
      await part.write([{ type: 'put', key: key(H.entry, 5n, 2n, 1n), value: new Uint8Array([1]) }]);
      expect(await part.get(key(H.entry, 5n, 2n, 1n))).toEqual(new Uint8Array([1]));
    } finally {
      await part.close();
    }
    expect(isOwnLock(lock, 'leveldb')).toBe(false);
    const after = await dump(dir);
    expect(after.get(hex(key(H.entry, 5n, 2n, 1n)))).toBe('01');
    expect([...after.keys()].filter((k) => k.startsWith(hex(key(H.entry, 5n, 2n, 0n)).slice(0, 40)))).toHaveLength(1);
  });

  it('a partition never opened claims the lock for the addon and refuses one another process holds', async () => {
    const dir = copy();
    const before = await dump(dir);
    const holder = await holdLevelDb(dir);
    const part = new LogDBPartition(dir);
    try {
      const err = await part.removeRanges([allEntriesRange(5n, 2n)]).catch((e: unknown) => e);
      expect(err).toBeInstanceOf(ErrDirLocked);
      expect((err as ErrDirLocked).details.pid).toBe(holder.pid);
    } finally {
      await part.close();
      await holder.release();
    }
    expect(await dump(dir)).toEqual(before);
  });

  it('a read-only partition refuses to remove', async () => {
    const dir = copy();
    const part = new LogDBPartition(dir, { readOnly: true, scratchDir: tmp.dir });
    try {
      await expect(part.removeRanges([allEntriesRange(5n, 2n)])).rejects.toBeInstanceOf(ErrLogDB);
    } finally {
      await part.close();
    }
    expect(await dump(dir)).toEqual(await dump(pristine));
  });
});
