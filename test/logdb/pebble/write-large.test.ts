import * as fsp from 'node:fs/promises';
import * as path from 'node:path';
import { describe, expect, it, vi } from 'vitest';
import { entryKey, MAX_U64 } from '../../../src/logdb/keys.js';
import { PebblePartition } from '../../../src/logdb/pebble/partition.js';
import { writeBatch, type BatchStream } from '../../../src/logdb/pebble/writer.js';
import { decodeBatch, encodeBatch, encodeBatchOpInto, batchOpSize, type BatchOp } from '../../../src/pebble/batch.js';
import { Kind } from '../../../src/pebble/internal-key.js';
import { frameLogRecord, readLog } from '../../../src/pebble/record.js';
import { copyPartition, hex, scratch } from './fixture.js';

const tmp = scratch();

/** Entry values of varied sizes (one past the writer's buffer) so the stream crosses every kind of boundary. */
function value(i: number): Uint8Array {
  const size = i === 777 ? (5 << 20) + 5 : 20 + ((i * 7919) % 300);
  return new Uint8Array(size).fill(i & 0xff);
}

function ops(n: number): BatchOp[] {
  const out: BatchOp[] = [{ kind: Kind.RangeDelete, key: entryKey(100, 9, 0), value: entryKey(100, 9, MAX_U64) }];
  for (let i = 1; i <= n; i++) out.push({ kind: Kind.Set, key: entryKey(100, 9, i), value: value(i) });
  return out;
}

describe('a batch written streamed', () => {
  it('is byte for byte the whole-batch encoding and framing, and reads back entry by entry', async () => {
    const root = tmp.make();
    const dir = await copyPartition('nh1', 3, root);
    const all = ops(20_000);
    let passes = 0;
    const stream: BatchStream = {
      count: all.length,
      ops: () => {
        passes++;
        // In pieces of 1000 operations, as a streamed producer hands them over.
        const pieces: BatchOp[][] = [];
        for (let i = 0; i < all.length; i += 1000) pieces.push(all.slice(i, i + 1000));
        return pieces;
      },
    };
    const report = await writeBatch({ dataDir: dir, walDir: dir }, stream);
    expect(passes).toBe(2);
    const wal = new Uint8Array(await fsp.readFile(report.walPath));
    expect(Buffer.compare(wal, frameLogRecord(encodeBatch(report.seqNum, all), { recyclable: true, logNum: report.fileNum }))).toBe(0);
    const log = readLog(wal, report.fileNum);
    expect(log.ending.kind).toBe('clean');
    expect(decodeBatch(log.records[0]!.payload, { path: report.walPath, base: 0 }).count).toBe(all.length);

    const p = new PebblePartition({ dataDir: dir, walDir: dir }, { readOnly: true });
    try {
      let i = 0;
      for await (const [k, v] of p.iterate({ gte: entryKey(100, 9, 0), lte: entryKey(100, 9, MAX_U64) })) {
        i++;
        expect(hex(k)).toBe(hex(entryKey(100, 9, i)));
        expect(v.length).toBe(value(i).length);
        expect(v[0]).toBe(i & 0xff);
      }
      expect(i).toBe(20_000);
    } finally {
      await p.close();
    }
  });

  it('pieces already encoded (a putMany the addon encoded), past the early-sync interval: the same WAL as the whole batch', async () => {
    const root = tmp.make();
    const dir = await copyPartition('nh1', 3, root);
    // About 40 MiB: the writer starts datasyncs while it writes (every 32 MiB).
    const all: BatchOp[] = [];
    for (let i = 1; i <= 400; i++)
      all.push({ kind: Kind.Set, key: entryKey(100, 9, i), value: new Uint8Array(100_000 + i).fill(i & 0xff) });
    const size = all.reduce((n, op) => n + batchOpSize(op), 0);
    const stream: BatchStream = {
      count: all.length,
      size,
      ops: function* () {
        // Encoded in pieces of varied op counts, each piece's bytes reused for the next (valid until the next is asked for).
        const buf = new Uint8Array(8 << 20);
        for (let i = 0, n = 1; i < all.length; i += n, n = (n % 37) + 1) {
          let used = 0;
          const piece = all.slice(i, i + n);
          for (const op of piece) used = encodeBatchOpInto(op, buf, used);
          yield { bytes: buf.subarray(0, used), count: piece.length };
        }
      },
    };
    const probe = await fsp.open(path.join(root, 'probe'), 'w');
    const datasync = vi.spyOn(Object.getPrototypeOf(probe) as fsp.FileHandle, 'datasync');
    await probe.close();
    let report: Awaited<ReturnType<typeof writeBatch>>;
    try {
      report = await writeBatch({ dataDir: dir, walDir: dir }, stream);
      expect(datasync).toHaveBeenCalled();
    } finally {
      datasync.mockRestore();
    }
    const wal = new Uint8Array(await fsp.readFile(report.walPath));
    expect(Buffer.compare(wal, frameLogRecord(encodeBatch(report.seqNum, all), { recyclable: true, logNum: report.fileNum }))).toBe(0);
    expect(report.walSize).toBe(wal.length);
  });

  it('fails without placing a WAL when the two passes disagree', async () => {
    const root = tmp.make();
    const dir = await copyPartition('nh1', 3, root);
    const before = (await fsp.readdir(dir)).sort();
    const all = ops(100);
    let pass = 0;
    const stream: BatchStream = { count: all.length, ops: () => [pass++ === 0 ? all : all.slice(0, -1)] };
    await expect(writeBatch({ dataDir: dir, walDir: dir }, stream)).rejects.toMatchObject({ code: 'ErrLogDB' });
    expect((await fsp.readdir(dir)).sort()).toEqual(before);
    const shorter: BatchStream = { count: all.length, ops: () => [all.slice(0, -1)] };
    await expect(writeBatch({ dataDir: dir, walDir: dir }, shorter)).rejects.toMatchObject({ details: { check: 'batch-count' } });
    expect((await fsp.readdir(dir)).sort()).toEqual(before);
    expect(path.basename(dir)).toBe('logdb-3');
  });
});
