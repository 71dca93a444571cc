/**
 * The addon's LevelDB write batch (native/src/leveldb_batch.cc through
 * src/logdb/native-batch.ts) and the LevelDB partition's write around it: a
 * batch whose carried entries come as encoded puts is built and written by
 * the addon's own LevelDB with the classic-level handle closed. A malformed
 * encoding, a database another process holds and a cancellation each leave
 * the database as it was; the result is the classic-level path's, key for key.
 */
import fs from 'node:fs';
import path from 'node:path';

import { afterAll, afterEach, beforeAll, describe, expect, it, vi } from 'vitest';

import { ErrAborted, ErrDirLocked, ErrLogDB } from '../../src/errors.js';
import { entryKey, MAX_U64 } from '../../src/logdb/keys.js';
import { LogDBPartition } from '../../src/logdb/leveldb-partition.js';
import { NativeLevelBatch } from '../../src/logdb/native-batch.js';
import type { EncodedPuts, KvOp, PutMany } from '../../src/logdb/store.js';
import { DISABLE_NATIVE_ENV, loadNative } from '../../src/native/binding.js';
import { isOwnLock } from '../../src/nodehost/lock.js';
import { batchOpSize, encodeBatchOpInto } from '../../src/pebble/batch.js';
import { Kind } from '../../src/pebble/internal-key.js';
import { encodeUvarint } from '../../src/pebble/varint.js';
import { holdLevelDb } from '../helpers/lock-holders.js';
import { dump, hex } from '../native/logdb-fixture.js';
import { tempDir } from '../native/v2file.js';

let tmp: ReturnType<typeof tempDir>;
let pristine: string;
let dirNo = 0;

const value = (i: number): Uint8Array => new Uint8Array(5 + (i % 200)).fill(i & 0xff);

/** Replica 2's entries `from..to` of shard 100 as encoded puts, `perPiece` in each piece. */
function encodedPieces(from: number, to: number, perPiece: number): EncodedPuts[] {
  const pieces: EncodedPuts[] = [];
  for (let start = from; start <= to; start += perPiece) {
    const parts: Uint8Array[] = [];
    let count = 0;
    for (let i = start; i < start + perPiece && i <= to; i++, count++) parts.push(put(entryKey(100, 2, i), value(i)));
    pieces.push({ bytes: Buffer.concat(parts), count });
  }
  return pieces;
}

/** One encoded put, by the Pebble batch encoder: the encoding a putMany's pieces use. */
function put(key: Uint8Array, v: Uint8Array): Uint8Array {
  const op = { kind: Kind.Set, key, value: v };
  const out = new Uint8Array(batchOpSize(op));
  encodeBatchOpInto(op, out, 0);
  return out;
}

/** A putMany of entries `from..to` offering both its pairs and its encoded puts (or only `pieces`, when given). */
function putMany(from: number, to: number, pieces?: EncodedPuts[]): PutMany & { encodedPasses: number } {
  const op = {
    type: 'putMany' as const,
    count: to - from + 1,
    encodedPasses: 0,
    async *pairs() {
      for (let i = from; i <= to; i++) yield [[entryKey(100, 2, i), value(i)] as const];
    },
    async *encoded() {
      op.encodedPasses++;
      yield* pieces ?? encodedPieces(from, to, 37);
    },
  };
  return op;
}

/** A copy of the seeded database (entries 1..50 of replica 2, and an entry of replica 3). */
function copy(): string {
  const dir = path.join(tmp.dir, `db${dirNo++}`);
  fs.cpSync(pristine, dir, { recursive: true });
  return dir;
}

async function writeThrough(dir: string, ops: KvOp[], native: boolean): Promise<void> {
  if (native) delete process.env[DISABLE_NATIVE_ENV];
  else process.env[DISABLE_NATIVE_ENV] = '1';
  const part = new LogDBPartition(dir);
  try {
    await part.write(ops);
  } finally {
    await part.close();
    delete process.env[DISABLE_NATIVE_ENV];
  }
}

beforeAll(async () => {
  if (!loadNative()) throw new Error('the native addon is not built: run npm run build:native');
  tmp = tempDir('nh-native-batch');
  pristine = path.join(tmp.dir, 'pristine');
  const part = new LogDBPartition(pristine);
  try {
    const ops: KvOp[] = [];
    for (let i = 1; i <= 50; i++) ops.push({ type: 'put', key: entryKey(100, 2, i), value: Uint8Array.of(0xee) });
    ops.push({ type: 'put', key: entryKey(100, 3, 7), value: Uint8Array.of(3) });
    await part.write(ops);
  } finally {
    await part.close();
  }
});
afterAll(() => tmp.cleanup());
afterEach(() => {
  delete process.env[DISABLE_NATIVE_ENV];
  vi.restoreAllMocks();
});

describe('the partition writes a batch of encoded puts through the addon', () => {
  const batch = (): KvOp[] => [
    // Deletes the stored 1..50, and the put of 60 earlier in the batch; keeps replica 3.
    { type: 'put', key: entryKey(100, 2, 60), value: Uint8Array.of(6) },
    { type: 'delRange', start: entryKey(100, 2, 0), end: entryKey(100, 2, MAX_U64) },
    { type: 'put', key: entryKey(100, 2, 0), value: Uint8Array.of(9) },
    { type: 'del', key: entryKey(100, 3, 7) },
    putMany(21, 1020),
    { type: 'put', key: entryKey(100, 2, 1020), value: Uint8Array.of(7) },
  ];

  it('leaves the same keys and values as classic-level', async () => {
    const [viaAddon, viaClassic] = [copy(), copy()];
    const spy = vi.spyOn(NativeLevelBatch.prototype, 'appendEncoded');
    await writeThrough(viaAddon, batch(), true);
    expect(spy).toHaveBeenCalled();
    spy.mockClear();
    await writeThrough(viaClassic, batch(), false);
    expect(spy).not.toHaveBeenCalled();
    const [a, c] = [await dump(viaAddon), await dump(viaClassic)];
    expect(a).toEqual(c);
    expect(a.size).toBe(1001);
    expect(a.get(hex(entryKey(100, 2, 0)))).toBe('09');
    expect(a.get(hex(entryKey(100, 2, 21)))).toBe(hex(value(21)));
    expect(a.get(hex(entryKey(100, 2, 1020)))).toBe('07');
    expect(a.has(hex(entryKey(100, 2, 20)))).toBe(false);
    expect(a.get(hex(entryKey(100, 2, 60)))).toBe(hex(value(60)));
    expect(a.has(hex(entryKey(100, 3, 7)))).toBe(false);
  });

  it('creates a missing database, as the classic-level path does', async () => {
    const dir = path.join(tmp.dir, `new-${dirNo++}`);
    await writeThrough(dir, [putMany(1, 100)], true);
    const got = await dump(dir);
    expect(got.size).toBe(100);
    expect(got.get(hex(entryKey(100, 2, 100)))).toBe(hex(value(100)));
  });

  it('closes its handle for the write, keeps its claim, and reopens on the next read', async () => {
    const dir = copy();
    const part = new LogDBPartition(dir);
    const seen: { handleOpen: boolean; claimed: boolean }[] = [];
    const write = NativeLevelBatch.prototype.write;
    vi.spyOn(NativeLevelBatch.prototype, 'write').mockImplementation(function (this: NativeLevelBatch, o) {
      seen.push({ handleOpen: part.level !== undefined, claimed: isOwnLock(path.join(dir, 'LOCK'), 'leveldb') });
      return write.call(this, o);
    });
    try {
      expect(await part.get(entryKey(100, 2, 1))).toBeDefined();
      await part.write([putMany(51, 80)]);
      expect(seen).toEqual([{ handleOpen: false, claimed: true }]);
      expect(part.level).toBeUndefined();
      await expect(new LogDBPartition(dir).get(entryKey(100, 2, 1))).rejects.toBeInstanceOf(ErrDirLocked);
      expect(await part.get(entryKey(100, 2, 80))).toEqual(value(80));
      expect(part.level).toBeDefined();
      await part.write([{ type: 'put', key: entryKey(100, 2, 81), value: Uint8Array.of(1) }]);
    } finally {
      await part.close();
    }
    const got = await dump(dir);
    expect(got.size).toBe(51 + 30 + 1);
  });

  it('a putMany whose encoded puts are fewer than it announced fails the batch (discarded); nothing is written', async () => {
    const dir = copy();
    const before = await dump(dir);
    const short = putMany(51, 100, encodedPieces(51, 99, 10));
    const discarded = vi.spyOn(NativeLevelBatch.prototype, 'discard');
    const err = await writeThrough(dir, [{ type: 'put', key: entryKey(100, 2, 7), value: Uint8Array.of(1) }, short], true).catch(
      (e: unknown) => e,
    );
    expect(err).toBeInstanceOf(ErrLogDB);
    expect((err as ErrLogDB).details).toMatchObject({ check: 'batch-count', expected: 50, actual: 49 });
    // The batch's bytes are released at once, not left to the garbage collector.
    expect(discarded).toHaveBeenCalledOnce();
    expect(await dump(dir)).toEqual(before);
  });
});

describe('malformed encoded puts are refused, and nothing is written', () => {
  const key = entryKey(100, 2, 9);
  const good = put(key, Uint8Array.of(1, 2, 3));
  const cases: [string, Uint8Array, number, string, number][] = [
    ['a kind other than put', Buffer.concat([good, Uint8Array.of(0), good.subarray(1)]), 2, 'kind', good.length],
    ['a key length cut off', Buffer.concat([good, Uint8Array.of(1, 0x80)]), 2, 'varint', good.length + 1],
    ['a key length over ten bytes', Buffer.concat([Uint8Array.of(1), new Uint8Array(10).fill(0x80), Uint8Array.of(1)]), 1, 'varint', 1],
    ['a key length over 64 bits', Buffer.concat([Uint8Array.of(1), new Uint8Array(9).fill(0xff), Uint8Array.of(2)]), 1, 'varint', 1],
    ['a key length over 4 GiB', Buffer.concat([Uint8Array.of(1), encodeUvarint(2 ** 32)]), 1, 'length', 1],
    ['a key running past the end', Buffer.concat([Uint8Array.of(1), encodeUvarint(40), key]), 1, 'length', 1],
    ['a value running past the end', good.subarray(0, good.length - 1), 1, 'length', 1 + 1 + key.length],
    ['a value length missing', good.subarray(0, 1 + 1 + key.length), 1, 'varint', 1 + 1 + key.length],
    ['more puts than announced', Buffer.concat([good, good]), 1, 'count', good.length],
    ['fewer puts than announced', good, 2, 'count', good.length],
    ['puts where none were announced', good, 0, 'count', 0],
  ];

  it.each(cases)('%s', async (_name, bytes, count, rule, offset) => {
    const dir = copy();
    const before = await dump(dir);
    const batch = new NativeLevelBatch(dir);
    batch.put(entryKey(100, 2, 1), Uint8Array.of(5));
    const err = (() => {
      try {
        batch.appendEncoded(bytes, count);
      } catch (e) {
        return e;
      }
      return undefined;
    })();
    expect(err).toBeInstanceOf(ErrLogDB);
    expect((err as ErrLogDB).details).toMatchObject({ path: dir, check: 'encoded-puts', rule, offset });
    // The refused piece added nothing: the batch still holds its one put.
    expect(batch.count).toBe(1);

    const err2 = await writeThrough(
      dir,
      [{ type: 'put', key: entryKey(100, 2, 1), value: Uint8Array.of(5) }, putMany(51, 51 + count - 1, [{ bytes, count }])],
      true,
    ).catch((e: unknown) => e);
    expect(err2).toBeInstanceOf(ErrLogDB);
    expect((err2 as ErrLogDB).details).toMatchObject({ check: 'encoded-puts', rule });
    expect(await dump(dir)).toEqual(before);
  });

  it('an empty piece of no puts is taken', () => {
    const batch = new NativeLevelBatch(copy());
    batch.appendEncoded(new Uint8Array(0), 0);
    batch.appendEncoded(Buffer.concat([good, good]), 2);
    expect(batch.count).toBe(2);
  });
});

describe('the native batch write', () => {
  it('onto a database another process holds: ErrDirLocked naming the holder, the database unchanged', async () => {
    const dir = copy();
    const before = await dump(dir);
    const holder = await holdLevelDb(dir);
    try {
      const batch = new NativeLevelBatch(dir);
      batch.appendEncoded(encodedPieces(1, 10, 10)[0]!.bytes, 10);
      const err = await batch.write().catch((e: unknown) => e);
      expect(err).toBeInstanceOf(ErrDirLocked);
      expect((err as ErrDirLocked).details).toMatchObject({ path: path.join(dir, 'LOCK'), pid: holder.pid });
    } finally {
      await holder.release();
    }
    expect(await dump(dir)).toEqual(before);
  });

  it('cancelled before the write: ErrAborted, the database as it was (the signal, and the token the addon checks)', async () => {
    const dir = copy();
    const before = await dump(dir);
    const batch = new NativeLevelBatch(dir);
    batch.appendEncoded(encodedPieces(1, 10, 10)[0]!.bytes, 10);
    const ac = new AbortController();
    ac.abort();
    await expect(batch.write({ signal: ac.signal })).rejects.toBeInstanceOf(ErrAborted);
    expect(await dump(dir)).toEqual(before);

    const binding = loadNative()!;
    const raw = new binding.NativeWriteBatch();
    raw.appendEncoded(encodedPieces(1, 10, 10)[0]!.bytes, 10);
    const token = new binding.CancelToken();
    token.cancel();
    await expect(raw.write(dir, { sync: true }, token)).rejects.toMatchObject({ kind: 'aborted' });
    expect(await dump(dir)).toEqual(before);
  });

  it('a missing database with createIfMissing false: ErrPathNotExist, nothing created', async () => {
    const dir = path.join(tmp.dir, `absent-${dirNo++}`);
    const batch = new NativeLevelBatch(dir);
    batch.put(entryKey(100, 2, 1), Uint8Array.of(1));
    await expect(batch.write({ createIfMissing: false })).rejects.toMatchObject({ code: 'ErrPathNotExist' });
    expect(fs.existsSync(dir)).toBe(false);
  });

  it('leaves the batch in a table, not in the write-ahead log (the next open has nothing to replay)', async () => {
    const dir = path.join(tmp.dir, `flushed-${dirNo++}`);
    const batch = new NativeLevelBatch(dir);
    for (const piece of encodedPieces(1, 2000, 500)) batch.appendEncoded(piece.bytes, piece.count);
    await batch.write();
    const files = fs.readdirSync(dir);
    const logs = files.filter((f) => f.endsWith('.log'));
    expect(logs.length).toBeGreaterThan(0);
    for (const f of logs) expect(fs.statSync(path.join(dir, f)).size, f).toBe(0);
    expect(files.filter((f) => f.endsWith('.ldb')).length).toBeGreaterThan(0);
    expect((await dump(dir)).size).toBe(2000);
  });

  it('discarded: refuses every later operation and the write; the database unchanged', async () => {
    const dir = copy();
    const before = await dump(dir);
    const batch = new NativeLevelBatch(dir);
    batch.appendEncoded(encodedPieces(1, 10, 10)[0]!.bytes, 10);
    batch.discard();
    batch.discard();
    expect(() => batch.appendEncoded(encodedPieces(1, 10, 10)[0]!.bytes, 10)).toThrow(/discarded/);
    await expect(batch.write()).rejects.toMatchObject({ code: 'ErrInvalidConfig' });
    expect(await dump(dir)).toEqual(before);
  });

  it('is written once: a second write or a later operation is refused', async () => {
    const dir = copy();
    const batch = new NativeLevelBatch(dir);
    batch.put(entryKey(100, 2, 1), Uint8Array.of(1));
    batch.del(entryKey(100, 3, 7));
    await batch.write();
    await expect(batch.write()).rejects.toMatchObject({ code: 'ErrInvalidConfig' });
    expect(() => batch.put(entryKey(100, 2, 2), Uint8Array.of(1))).toThrow(/already handed to a write or discarded/);
    const got = await dump(dir);
    expect(got.get(hex(entryKey(100, 2, 1)))).toBe('01');
    expect(got.has(hex(entryKey(100, 3, 7)))).toBe(false);
  });
});
