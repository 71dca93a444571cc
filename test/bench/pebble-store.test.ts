/**
 * The sstable encoder and the benchmark's Pebble store builder, held to the
 * direct reader: a store built without Pebble reads back exactly (every key
 * and value, in order) through PebblePartition, with single- and two-level
 * indexes; every block passes the writer's checks; a drop-in removal works
 * on it; a table with deletions and range tombstones decodes as written.
 */
import * as fs from 'node:fs';
import * as fsp from 'node:fs/promises';
import * as os from 'node:os';
import * as path from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { allEntriesRange, allEntryBatchesRange, type KeyRange } from '../../src/logdb/keys.js';
import { PebblePartition } from '../../src/logdb/pebble/partition.js';
import { closeStore, loadStore } from '../../src/logdb/pebble/state.js';
import { TableFile } from '../../src/logdb/pebble/table.js';
import { Kind, makeInternalKey, TRAILER_SIZE } from '../../src/pebble/internal-key.js';
import { parseOptionsFile } from '../../src/pebble/options-file.js';
import { crc32c } from '../../src/pebble/crc32c.js';
import { crc32cFunction } from '../../src/engines/native.js';
import { loadNative } from '../../src/native/binding.js';
import { INDEX_TWO_LEVEL } from '../../src/pebble/sstable-meta.js';
import { bytewiseSeparator, bytewiseSuccessor, SstableWriter } from '../../src/pebble/sstable-writer.js';
import { benchNoise, ENTRY_KEY_SIZE, entrySize, fillCommand, writeEntryKey, writeEntryValue } from '../../src/bench/entries.js';
import { buildPebbleStore, clonePebbleStore } from '../../src/bench/pebble-store.js';
import { commandLength, entryRuns, replicaRecords, STORE_TERM } from '../../src/bench/store-content.js';
import { REMOVAL_REPLICA, REMOVAL_SHARD } from '../../src/bench/protocol.js';

const made: string[] = [];
afterEach(() => {
  for (const d of made.splice(0)) fs.rmSync(d, { recursive: true, force: true });
});
function tmp(): string {
  const d = fs.mkdtempSync(path.join(os.tmpdir(), 'nht-pebble-store-'));
  made.push(d);
  return d;
}

const hex = (b: Uint8Array): string => Buffer.from(b).toString('hex');
const ALL: KeyRange = { gte: new Uint8Array(0), lt: Uint8Array.of(0xff, 0xff) };

/** The pairs the builders put in a store, in key order. */
function expectedPairs(entries: number, neighbours: number, valueSize: number): [string, string][] {
  const noise = benchNoise();
  const cmd = new Uint8Array(commandLength(valueSize));
  const out: [string, string][] = [];
  for (const r of entryRuns(entries, neighbours)) {
    for (let i = r.first; i < r.first + r.count; i++) {
      const k = new Uint8Array(ENTRY_KEY_SIZE);
      writeEntryKey(k, 0, r.shard, r.replica, i);
      fillCommand(cmd, i, noise);
      const v = new Uint8Array(entrySize(i, STORE_TERM, cmd.length));
      writeEntryValue(v, 0, i, STORE_TERM, cmd);
      out.push([hex(k), hex(v)]);
    }
  }
  for (const r of replicaRecords(entries)) out.push([hex(r.key), hex(r.value)]);
  return out.sort((a, b) => (a[0] < b[0] ? -1 : a[0] > b[0] ? 1 : 0));
}

async function readAll(dir: string): Promise<[string, string][]> {
  const part = new PebblePartition({ dataDir: dir, walDir: dir }, { readOnly: true });
  try {
    const out: [string, string][] = [];
    for await (const [k, v] of part.iterate(ALL)) out.push([hex(k), hex(v)]);
    return out;
  } finally {
    await part.close();
  }
}

describe('native CRC-32C', () => {
  it.runIf(loadNative() !== undefined)('equals the pure one at every length and alignment (hardware and portable kernels)', () => {
    const fn = crc32cFunction()!;
    const raw = loadNative()!.crc32c!;
    const data = Uint8Array.from({ length: 4096 + 64 }, (_, i) => (i * 131 + 7) & 0xff);
    for (const off of [0, 1, 3, 7]) {
      for (const len of [0, 1, 7, 8, 9, 31, 32, 33, 63, 100, 1000, 4096]) {
        const d = data.subarray(off, off + len);
        expect(fn(d)).toBe(crc32c(d));
        expect(raw(d, 0, true)).toBe(crc32c(d));
      }
    }
    expect(fn(Buffer.from('123456789'))).toBe(0xe3069283);
    expect(raw(data.subarray(100), raw(data.subarray(0, 100)))).toBe(crc32c(data));
  });
});

describe("bytewise separators (Pebble's Comparer)", () => {
  const b = (...x: number[]): Uint8Array => Uint8Array.from(x);
  it('shortens where it can and keeps the key otherwise', () => {
    expect(bytewiseSeparator(b(1, 2, 3), b(1, 5))).toEqual(b(1, 3));
    expect(bytewiseSeparator(b(1, 2, 3), b(1, 3))).toEqual(b(1, 2, 4));
    expect(bytewiseSeparator(b(1, 2), b(1, 2, 3))).toEqual(b(1, 2));
    expect(bytewiseSeparator(b(1, 2, 0xff, 7), b(1, 3))).toEqual(b(1, 2, 0xff, 8));
    expect(bytewiseSuccessor(b(6, 0, 0))).toEqual(b(7));
    expect(bytewiseSuccessor(b(0xff, 0xff))).toEqual(b(0xff, 0xff));
  });
});

describe('benchmark Pebble store', () => {
  it('reads back exactly through PebblePartition (single- and two-level indexes)', async () => {
    const dir = path.join(tmp(), 'logdb-4');
    const entries = 3000;
    const neighbours = 150;
    // Small blocks and index blocks, so a small store has many tables, two-level indexes among them.
    const built = await buildPebbleStore(dir, {
      entries,
      valueSize: 100,
      neighbourEntries: neighbours,
      tableSize: 96 * 1024,
      writer: { blockSize: 2048, indexBlockSize: 2200 },
    });
    expect(built.pairs).toBe(entries + 2 * neighbours + 3);
    expect(built.tables).toBeGreaterThan(3);
    expect(built.twoLevelTables).toBeGreaterThan(0);
    const names = await fsp.readdir(dir);
    expect(names).toContain('CURRENT');
    expect(names.filter((n) => n.endsWith('.sst'))).toHaveLength(built.tables);
    const options = names.find((n) => n.startsWith('OPTIONS-'))!;
    expect(parseOptionsFile(await fsp.readFile(path.join(dir, options), 'utf8'), { path: options }).strictWalTail).toBe(true);

    // Every block of every table passes the writer's checks; the MANIFEST's bounds and counters hold.
    const state = await loadStore({ dataDir: dir, walDir: dir }, { verifyTables: true });
    try {
      expect(state.manifest!.levels[6]).toHaveLength(built.tables);
      expect(state.manifest!.lastSeqNum).toBe(built.lastSeqNum);
      expect(state.dropInSeqNum).toBe(built.lastSeqNum + 1);
      expect(state.tables.some((t) => t.file.properties?.indexType === INDEX_TWO_LEVEL)).toBe(true);
      expect(state.tables.some((t) => t.file.properties?.indexType === 0)).toBe(true);
      for (const t of state.tables) expect(t.file.properties?.numEntries).toBeGreaterThan(0);
      expect(state.wals).toHaveLength(1);
    } finally {
      await closeStore(state);
    }

    expect(await readAll(dir)).toEqual(expectedPairs(entries, neighbours, 100));

    // Reverse scans and point reads across table and block boundaries.
    const part = new PebblePartition({ dataDir: dir, walDir: dir }, { readOnly: true });
    try {
      const rev: string[] = [];
      for await (const [k] of part.iterate(allEntriesRange(REMOVAL_SHARD, REMOVAL_REPLICA), { reverse: true, limit: 5 })) rev.push(hex(k));
      const exp = expectedPairs(entries, neighbours, 100).map(([k]) => k);
      const last = exp.indexOf(rev[0]!);
      expect(rev).toEqual(exp.slice(last - 4, last + 1).reverse());
      for (const i of [1, 17, 1234, entries]) {
        const k = new Uint8Array(ENTRY_KEY_SIZE);
        writeEntryKey(k, 0, REMOVAL_SHARD, REMOVAL_REPLICA, i);
        expect(await part.get(k)).toBeDefined();
      }
    } finally {
      await part.close();
    }
  });

  it("takes a drop-in removal of the replica's entries; the clone is unaffected", async () => {
    const root = tmp();
    const dir = path.join(root, 'logdb-4');
    await buildPebbleStore(dir, {
      entries: 500,
      valueSize: 60,
      neighbourEntries: 20,
      writer: { blockSize: 1024, indexBlockSize: 128 },
      tableSize: 8192,
    });
    const copy = path.join(root, 'copy');
    await clonePebbleStore(dir, copy);
    const part = new PebblePartition({ dataDir: copy, walDir: copy });
    await part.removeRanges([allEntriesRange(REMOVAL_SHARD, REMOVAL_REPLICA), allEntryBatchesRange(REMOVAL_SHARD, REMOVAL_REPLICA)]);
    await part.close();
    const after = await readAll(copy);
    expect(after).toHaveLength(2 * 20 + 3);
    expect(await readAll(dir)).toHaveLength(500 + 2 * 20 + 3);
  });
});

describe('sstable writer', () => {
  it('writes deletions and range tombstones the reader decodes; an empty table has one empty block', async () => {
    const dir = tmp();
    const w = new SstableWriter({ blockSize: 64, indexBlockSize: 64 });
    const key = (s: string, seq: number, kind: number): Uint8Array => makeInternalKey(Buffer.from(s), seq, kind);
    for (let i = 0; i < 40; i++)
      w.add(
        key(`k${String(i).padStart(3, '0')}`, 100 + i, i % 3 === 0 ? Kind.Delete : Kind.Set),
        i % 3 === 0 ? new Uint8Array(0) : Buffer.from(`v${i}`),
      );
    w.addRangeDel(Buffer.from('k010'), 500, Buffer.from('k020'));
    const t = w.finish();
    const file = path.join(dir, '000001.sst');
    await fsp.writeFile(file, Buffer.concat(t.pieces));
    expect(t.size).toBe(fs.statSync(file).size);
    const tf = await TableFile.open(file, t.size);
    try {
      expect(tf.properties?.indexType).toBe(INDEX_TWO_LEVEL);
      expect(tf.tombstones).toEqual([{ start: new Uint8Array(Buffer.from('k010')), end: new Uint8Array(Buffer.from('k020')), seq: 500 }]);
      let n = 0;
      for (let b = 0; b < tf.blocks.length; b++) {
        const blk = await tf.dataBlock(b);
        for (let j = 0; j < blk.userKeys.length; j++, n++) {
          expect(Buffer.from(blk.userKeys[j]!).toString()).toBe(`k${String(n).padStart(3, '0')}`);
          expect(blk.kinds[j]).toBe(n % 3 === 0 ? Kind.Delete : Kind.Set);
          expect(blk.seqs[j]).toBe(100 + n);
        }
      }
      expect(n).toBe(40);
    } finally {
      await tf.close();
    }
    expect(hex(t.smallest!)).toBe(hex(key('k000', 100, Kind.Delete)));
    expect(hex(t.largest!)).toBe(hex(key('k039', 139, Kind.Delete)));

    const empty = new SstableWriter().finish();
    const ef = path.join(dir, '000002.sst');
    await fsp.writeFile(ef, Buffer.concat(empty.pieces));
    const et = await TableFile.open(ef, empty.size);
    try {
      expect(et.blocks).toHaveLength(1);
      expect(hex(et.blocks[0]!.key)).toBe('ff' + '00'.repeat(TRAILER_SIZE - 1));
      expect((await et.dataBlock(0)).userKeys).toHaveLength(0);
    } finally {
      await et.close();
    }
  });
});
