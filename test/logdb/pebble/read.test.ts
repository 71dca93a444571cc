import { describe, expect, it } from 'vitest';
import {
  allEntriesRange,
  bootstrapKey,
  entryKey,
  kindRange,
  KeyKind,
  maxIndexKey,
  raftStateKey,
  snapshotKey,
  snapshotsRange,
  decodeKey,
  MAX_U64,
} from '../../../src/logdb/keys.js';
import { PebblePartition } from '../../../src/logdb/pebble/partition.js';
import { treeSnapshot } from '../../helpers/tree.js';
import { NODES, fixturePartition, hex, partitionFacts, scratch } from './fixture.js';

const SHARD = 100;
const ALL = { gte: new Uint8Array(0) };

function open(dir: string): PebblePartition {
  return new PebblePartition({ dataDir: dir, walDir: dir }, { readOnly: true });
}

async function all(
  p: PebblePartition,
  range: { gte: Uint8Array; lt?: Uint8Array; lte?: Uint8Array } = ALL,
  opts = {},
): Promise<[string, string][]> {
  const out: [string, string][] = [];
  for await (const [k, v] of p.iterate(range, opts)) out.push([hex(k), hex(v)]);
  return out;
}

describe('reading the fixture (real Dragonboat v4 stores)', () => {
  for (const [i, node] of NODES.entries()) {
    const replica = i + 1;
    it(`${node} logdb-4: every record of shard 100 replica ${replica}`, async () => {
      const dir = fixturePartition(node, 4);
      const before = await treeSnapshot(dir);
      const p = open(dir);
      expect(await p.exists()).toBe(true);
      const records = await all(p);
      const facts = partitionFacts(node, 4);
      expect(records.length).toBe(facts.visibleRecords);
      const kinds = new Map<string, number>();
      for (const [k] of records) {
        const d = decodeKey(Buffer.from(k, 'hex'))!;
        expect(d.shardId).toBe(100n);
        expect(d.replicaId).toBe(BigInt(replica));
        kinds.set(d.kind, (kinds.get(d.kind) ?? 0) + 1);
      }
      expect(Object.fromEntries(kinds)).toEqual({ entry: 421, 'raft-state': 1, 'max-index': 1, snapshot: 1, bootstrap: 1 });
      // Entries 200..620 in order, none below 200.
      const entries = await all(p, allEntriesRange(SHARD, replica));
      expect(entries.map(([k]) => Number(decodeKey(Buffer.from(k, 'hex'))!.suffix))).toEqual(
        Array.from({ length: 421 }, (_, j) => 200 + j),
      );
      expect(await p.get(entryKey(SHARD, replica, 199))).toBeUndefined();
      // raft state 3/1/620: 08 03 10 01 18 ec04; max index 620.
      expect(hex((await p.get(raftStateKey(SHARD, replica)))!)).toBe('0803100118ec04');
      expect(hex((await p.get(maxIndexKey(SHARD, replica)))!)).toBe('000000000000026c');
      const snaps = await all(p, snapshotsRange(SHARD, replica));
      expect(snaps.length).toBe(1);
      expect(snaps[0]![0]).toBe(hex(snapshotKey(SHARD, replica, 200)));
      expect(await p.get(bootstrapKey(SHARD, replica))).toBeDefined();
      expect(await all(p, kindRange(KeyKind.NodeInfo))).toEqual([]);
      expect(await all(p, kindRange(KeyKind.EntryBatch))).toEqual([]);
      // Every sample record, byte for byte.
      for (const s of facts.replicas![0]!.sampleRecords) {
        const v = await p.get(Buffer.from(s.keyHex, 'hex'));
        expect(v && hex(v), s.what).toBe(s.valueHex);
      }
      await p.close();
      expect(await treeSnapshot(dir)).toEqual(before);
    });

    it(`${node}: the 15 other partitions read as empty`, async () => {
      for (let part = 0; part < 16; part++) {
        if (part === 4) continue;
        const p = open(fixturePartition(node, part));
        expect(await p.exists()).toBe(true);
        expect(await all(p)).toEqual([]);
        await p.close();
      }
    });
  }

  it('reverse iteration and limits', async () => {
    const p = open(fixturePartition('nh1', 4));
    const fwd = await all(p);
    expect(await all(p, ALL, { reverse: true })).toEqual([...fwd].reverse());
    expect(await all(p, ALL, { limit: 3 })).toEqual(fwd.slice(0, 3));
    expect(await all(p, ALL, { reverse: true, limit: 2 })).toEqual(fwd.slice(-2).reverse());
    const entries = allEntriesRange(SHARD, 1);
    const rev = await all(p, entries, { reverse: true, limit: 5 });
    expect(rev.map(([k]) => Number(decodeKey(Buffer.from(k, 'hex'))!.suffix))).toEqual([620, 619, 618, 617, 616]);
    // lt excludes, lte includes.
    const lt = await all(p, { gte: entryKey(SHARD, 1, 300), lt: entryKey(SHARD, 1, 310) });
    expect(lt.length).toBe(10);
    const lte = await all(p, { gte: entryKey(SHARD, 1, 300), lte: entryKey(SHARD, 1, 310) }, { reverse: true });
    expect(lte.length).toBe(11);
    expect(lte[0]![0]).toBe(hex(entryKey(SHARD, 1, 310)));
    // A range spanning the table (entry 200, in 000006.sst) and the WAL.
    const span = await all(p, { gte: entryKey(SHARD, 1, 0), lte: entryKey(SHARD, 1, 202) });
    expect(span.map(([k]) => k)).toEqual([200, 201, 202].map((x) => hex(entryKey(SHARD, 1, x))));
    const spanRev = await all(p, { gte: entryKey(SHARD, 1, 0), lte: entryKey(SHARD, 1, 202) }, { reverse: true });
    expect(spanRev).toEqual([...span].reverse());
    expect(await all(p, { gte: entryKey(SHARD, 1, 5), lt: entryKey(SHARD, 1, 5) })).toEqual([]);
    expect(await all(p, { gte: entryKey(SHARD, 1, MAX_U64), lte: entryKey(SHARD, 1, MAX_U64) })).toEqual([]);
    await p.close();
  });

  it('a missing, an empty and a LOCK-only partition read as empty and do not exist', async () => {
    const tmp = scratch();
    const root = tmp.make();
    const fs = await import('node:fs/promises');
    const missing = `${root}/logdb-9`;
    const empty = `${root}/logdb-10`;
    const lockOnly = `${root}/logdb-11`;
    await fs.mkdir(empty);
    await fs.mkdir(lockOnly);
    await fs.writeFile(`${lockOnly}/LOCK`, '');
    for (const d of [missing, empty, lockOnly]) {
      const p = open(d);
      expect(await p.exists()).toBe(false);
      expect(await all(p)).toEqual([]);
      expect(await p.get(raftStateKey(1, 1))).toBeUndefined();
      await p.close();
    }
    expect(await treeSnapshot(root)).toEqual({
      'logdb-10': 'dir 0755',
      'logdb-11': 'dir 0755',
      'logdb-11/LOCK': 'file 0644 0 e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855',
    });
  });
});
