import * as fs from 'node:fs';
import * as path from 'node:path';
import { ClassicLevel } from 'classic-level';
import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import { ErrDirLocked, ErrIncompatibleData, ErrIncompleteSnapshot, ErrLogDB, ErrUnknownStateMachineType } from '../../src/errors.js';
import { entryBatchKey, entryKey, kindRange, KeyKind } from '../../src/logdb/keys.js';
import { LogDB, type ImportEntries } from '../../src/logdb/logdb.js';
import { LogDBPartition } from '../../src/logdb/leveldb-partition.js';
import { resolveNodeHostConfig, type ResolvedNodeHostConfig } from '../../src/nodehost/config.js';
import { logdbPartitionDir } from '../../src/nodehost/paths.js';
import { decodeEntryBatch, emptySnapshot, encodeEntry } from '../../src/records/codec.js';
import { StateMachineType, type Snapshot } from '../../src/records/types.js';
import { makeEntries, makeRunningNode, makeTempDir, type RunningNode } from '../helpers/nodehost.js';
import { treeSnapshot } from '../helpers/tree.js';

let root: string;
let cfg: ResolvedNodeHostConfig;
const open: LogDB[] = [];

beforeEach(async () => {
  root = await makeTempDir('nht-logdb-');
  cfg = resolveNodeHostConfig({
    nodeHostDir: path.join(root, 'nh'),
    raftAddress: 'a:1',
    hostname: 'h',
    logDBShards: 4,
    logdbType: 'sharded-leveldb',
  });
});
afterEach(async () => {
  for (const db of open.splice(0)) await db.close();
  fs.rmSync(root, { recursive: true, force: true });
  vi.restoreAllMocks();
});

async function openDB(c = cfg, opts: Parameters<typeof LogDB.open>[1] = {}): Promise<LogDB> {
  const db = await LogDB.open(c, opts);
  open.push(db);
  return db;
}

const snap = (shardId: bigint, index: bigint, term = 2n, type = StateMachineType.Regular): Snapshot => ({
  ...emptySnapshot(),
  shardId,
  index,
  term,
  type,
  filepath: `/x/snapshot-${index}`,
});

describe('a store that does not exist', () => {
  it('reads as empty and creates nothing', async () => {
    const db = await openDB();
    expect(await db.getBootstrap(1, 1)).toBeUndefined();
    expect(await db.getRaftState(1, 1)).toBeUndefined();
    expect(await db.getMaxIndex(1, 1)).toBeUndefined();
    expect(await db.getSnapshot(1, 1)).toBeUndefined();
    expect(await db.listSnapshots(1, 1)).toEqual([]);
    expect(await db.readRaftState(1, 1, 0)).toBeUndefined();
    expect(await db.getEntryRange(1, 1, 5)).toEqual({ firstIndex: 5n, entryCount: 0n });
    expect(await db.iterateEntries(1, 1, 1, 10)).toEqual({ entries: [], size: 0n });
    expect(await db.listNodeInfo()).toEqual([]);
    expect(await db.detectEntryFormat()).toBeUndefined();
    expect(await db.binaryFormat()).toBe(100);
    await db.removeNodeData(1, 1);
    await db.close();
    expect(fs.readdirSync(root)).toEqual([]);
  });
});

describe('saveRaftState and the reads of a restarting node', () => {
  it('saves state, snapshot, entries and max index; readRaftState follows Dragonboat getRange', async () => {
    const db = await openDB();
    await db.saveRaftState([
      { shardId: 5, replicaId: 1, state: { term: 3n, vote: 1n, commit: 20n }, entries: makeEntries(1n, 20n), snapshot: snap(5n, 10n) },
    ]);
    expect(await db.getRaftState(5, 1)).toEqual({ term: 3n, vote: 1n, commit: 20n });
    expect(await db.getMaxIndex(5, 1)).toBe(20n);
    expect((await db.getSnapshot(5, 1))!.index).toBe(10n);
    expect(await db.readRaftState(5, 1, 10)).toEqual({ state: { term: 3n, vote: 1n, commit: 20n }, firstIndex: 10n, entryCount: 11n });
    expect(await db.readRaftState(5, 1, 20)).toMatchObject({ firstIndex: 20n, entryCount: 0n });
    expect(await db.readRaftState(5, 1, 0)).toMatchObject({ firstIndex: 1n, entryCount: 20n });
    expect(await db.detectEntryFormat()).toBe(100);
  });

  it('uses the first entry at or after the snapshot index, and errors on a max index without entries', async () => {
    const db = await openDB();
    await db.saveRaftState([{ shardId: 5, replicaId: 1, entries: makeEntries(1n, 20n) }]);
    await db.removeEntriesTo(5, 1, 15);
    expect(await db.getEntryRange(5, 1, 10)).toEqual({ firstIndex: 15n, entryCount: 6n });
    await db.removeEntriesTo(5, 1, 1000);
    const err = await db.getEntryRange(5, 1, 10).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(ErrLogDB);
    expect((err as ErrLogDB).details.check).toBe('entry-range');
  });

  it('keeps only the newest snapshot record and lets later entries overwrite earlier ones', async () => {
    const db = await openDB();
    await db.saveRaftState([{ shardId: 5, replicaId: 1, entries: makeEntries(1n, 30n), snapshot: snap(5n, 10n) }]);
    await db.saveRaftState([{ shardId: 5, replicaId: 1, snapshot: snap(5n, 20n) }]);
    expect((await db.listSnapshots(5, 1)).map((s) => s.index)).toEqual([20n]);
    expect(await db.getMaxIndex(5, 1)).toBe(20n);
    await db.saveRaftState([{ shardId: 5, replicaId: 1, entries: makeEntries(15n, 25n, 4n) }]);
    expect(await db.getMaxIndex(5, 1)).toBe(25n);
    const read = await db.iterateEntries(5, 1, 14, 100);
    expect(read.entries.map((e) => [e.index, e.entry!.term])).toEqual([[14n, 3n], ...makeEntries(15n, 25n).map((e) => [e.index, 4n])]);
  });

  it('skips an empty hard state and refuses bad updates', async () => {
    const db = await openDB();
    await db.saveRaftState([{ shardId: 5, replicaId: 1, state: { term: 0n, vote: 0n, commit: 0n }, entries: makeEntries(1n, 2n) }]);
    expect(await db.getRaftState(5, 1)).toBeUndefined();
    await expect(
      db.saveRaftState([{ shardId: 5, replicaId: 1, entries: [...makeEntries(3n, 4n), ...makeEntries(4n, 4n)] }]),
    ).rejects.toBeInstanceOf(ErrLogDB);
    await expect(
      db.saveRaftState([{ shardId: 5, replicaId: 1, entries: makeEntries(3n, 4n), snapshot: snap(5n, 9n) }]),
    ).rejects.toBeInstanceOf(ErrLogDB);
    expect(await db.getMaxIndex(5, 1)).toBe(2n);
  });

  it('iterateEntries caps at max index, stops at gaps and after maxSize', async () => {
    const db = await openDB();
    await db.saveRaftState([{ shardId: 9, replicaId: 2, entries: makeEntries(1n, 10n) }]);
    expect((await db.iterateEntries(9, 2, 3, 100)).entries.map((e) => e.index)).toEqual([3n, 4n, 5n, 6n, 7n, 8n, 9n, 10n]);
    expect((await db.iterateEntries(9, 2, 3, 5)).entries.map((e) => e.index)).toEqual([3n, 4n]);
    const one = await db.iterateEntries(9, 2, 1, 100);
    const size1 = BigInt(one.entries[0]!.value.length);
    // Dragonboat's rule: stop once the total is over maxSize, the entry that crossed it included.
    expect((await db.iterateEntries(9, 2, 1, 100, size1 - 1n)).entries.length).toBe(1);
    expect((await db.iterateEntries(9, 2, 1, 100, size1)).entries.length).toBe(2);
    expect((await db.iterateEntries(9, 2, 1, 100, 0n)).entries.length).toBe(1);
    // a gap at 6
    const part = new ClassicLevel<Uint8Array, Uint8Array>(logdbPartitionDir(cfg, 9n), { keyEncoding: 'view', valueEncoding: 'view' });
    await db.close();
    open.splice(0);
    await part.open();
    await part.del(entryKey(9, 2, 6));
    await part.close();
    const db2 = await openDB();
    expect((await db2.iterateEntries(9, 2, 3, 100)).entries.map((e) => e.index)).toEqual([3n, 4n, 5n]);
    expect((await db2.iterateEntries(9, 2, 6, 100)).entries).toEqual([]);
  });

  it('keeps shards in their partitions and lists nodes from bootstrap keys across partitions', async () => {
    const db = await openDB();
    await db.saveBootstrap(1, 1, { addresses: new Map(), join: true, type: StateMachineType.Regular });
    await db.saveBootstrap(2, 7, { addresses: new Map(), join: false, type: StateMachineType.OnDisk });
    await db.saveBootstrap(5, 3, { addresses: new Map(), join: false, type: StateMachineType.Concurrent });
    await db.saveRaftState([{ shardId: 2, replicaId: 9, entries: makeEntries(1n, 1n) }]); // no bootstrap: not listed
    expect(fs.readdirSync(path.join(root, 'nh', 'h', '00000000000000000001')).sort()).toEqual(['logdb-1', 'logdb-2']);
    expect(await db.listNodeInfo()).toEqual([
      { shardId: 1n, replicaId: 1n },
      { shardId: 5n, replicaId: 3n },
      { shardId: 2n, replicaId: 7n },
    ]);
    expect((await db.getBootstrap(2, 7))!.type).toBe(StateMachineType.OnDisk);
    expect(db.partitionOf(5n)).toBe(1);
    expect(db.partitionDirOf(5n)).toBe(path.join(root, 'nh', 'h', '00000000000000000001', 'logdb-1'));
  });

  it('handles IDs at the top of the uint64 range', async () => {
    const db = await openDB();
    const big = 2n ** 64n - 1n;
    await db.saveRaftState([{ shardId: big, replicaId: big, state: { term: 1n, vote: 0n, commit: 1n }, entries: makeEntries(1n, 3n) }]);
    expect(await db.readRaftState(big, big, 0)).toMatchObject({ firstIndex: 1n, entryCount: 3n });
    expect(db.partitionOf(big)).toBe(Number((big % 16n) % 4n));
  });
});

describe('batched entries (format 210)', () => {
  it('groups entries by index/48, compacts term/index fields, merges into the stored first batch', async () => {
    const db = await openDB(cfg, { entryFormat: 210 });
    await db.saveRaftState([{ shardId: 3, replicaId: 1, entries: makeEntries(1n, 50n) }]);
    await db.saveRaftState([{ shardId: 3, replicaId: 1, entries: makeEntries(51n, 100n) }]);
    await db.saveRaftState([{ shardId: 3, replicaId: 1, entries: makeEntries(99n, 101n, 5n) }]); // overwrite the tail
    expect(await db.detectEntryFormat()).toBe(210);
    expect(await db.getMaxIndex(3, 1)).toBe(101n);
    await db.close();
    open.splice(0);

    const raw = new ClassicLevel<Uint8Array, Uint8Array>(logdbPartitionDir(cfg, 3n), { keyEncoding: 'view', valueEncoding: 'view' });
    await raw.open();
    try {
      const keys: string[] = [];
      for await (const k of raw.keys(kindRange(KeyKind.EntryBatch))) keys.push(Buffer.from(k).toString('hex'));
      expect(keys).toEqual([0n, 1n, 2n].map((b) => Buffer.from(entryBatchKey(3, 1, b)).toString('hex')));
      expect(await raw.get(entryKey(3, 1, 1))).toBeUndefined();
      const b1 = decodeEntryBatch((await raw.get(entryBatchKey(3, 1, 1)))!);
      expect(b1.entries.length).toBe(48); // 48..95, merged across two saves
      expect([b1.entries[0]!.index, b1.entries[0]!.term]).toEqual([48n, 3n]);
      expect(b1.entries.slice(1).every((e) => e.index === 0n && e.term === 0n)).toBe(true); // compacted
      const b2 = decodeEntryBatch((await raw.get(entryBatchKey(3, 1, 2)))!);
      expect(b2.entries.map((e) => [e.index, e.term])).toEqual([
        [96n, 3n],
        [97n, 3n],
        [98n, 3n],
        [99n, 5n],
        [100n, 5n],
        [101n, 5n],
      ]); // mixed terms: not compacted
    } finally {
      await raw.close();
    }

    const db2 = await openDB();
    expect(await db2.binaryFormat()).toBe(210);
    expect(await db2.getEntryRange(3, 1, 10)).toEqual({ firstIndex: 10n, entryCount: 92n });
    const read = await db2.iterateEntries(3, 1, 45, 1000);
    expect(read.entries.map((e) => e.index)).toEqual(makeEntries(45n, 101n).map((e) => e.index));
    expect(read.entries.find((e) => e.index === 100n)!.entry!.term).toBe(5n);
    expect(read.entries.find((e) => e.index === 60n)!.entry).toMatchObject({
      index: 60n,
      term: 3n,
      cmd: new TextEncoder().encode('cmd-60'),
    });
    // removeEntriesTo keeps the batch before the one holding the index
    await db2.removeEntriesTo(3, 1, 100); // batch 2 holds 100: remove [0, 1)
    expect((await db2.iterateEntries(3, 1, 0, 1000)).entries).toEqual([]);
    expect((await db2.iterateEntries(3, 1, 48, 1000)).entries.length).toBe(54);
    await db2.compactEntriesTo(3, 1, 100);
  });

  it('refuses to write the other format into a store that has entries', async () => {
    const db = await openDB(cfg, { entryFormat: 210 });
    await db.saveRaftState([{ shardId: 3, replicaId: 1, entries: makeEntries(1n, 2n) }]);
    await db.close();
    open.splice(0);
    const plain = await openDB(cfg, { entryFormat: 100 });
    await expect(plain.saveRaftState([{ shardId: 4, replicaId: 1, entries: makeEntries(1n, 2n) }])).rejects.toBeInstanceOf(
      ErrIncompatibleData,
    );
  });
});

describe('import (docs/import-contract.md step 11)', () => {
  let node: RunningNode;
  beforeEach(async () => {
    node = await makeRunningNode({ root, entries: 30, snapshotIndex: 10n, config: { logDBShards: 4 } });
  });

  it('planImport reads without writing, even on a read-only LogDB, and describes before and after', async () => {
    const before = await treeSnapshot(root);
    const db = await openDB(node.cfg, { readOnly: true });
    const ss = { ...snap(node.shardId, 40n, 6n, StateMachineType.OnDisk), imported: true };
    const plan = await db.planImport(ss, node.replicaId);
    await db.close();
    expect(await treeSnapshot(root)).toEqual(before);
    expect(plan.before).toMatchObject({
      raftState: { term: 3n, vote: 1n, commit: 30n },
      maxIndex: 30n,
      plainEntries: { first: 1n, last: 30n },
      entryBatches: undefined,
      malformed: [],
    });
    expect(plan.before.snapshots.map((s) => s.index)).toEqual([10n]);
    expect(plan.before.bootstrap!.join).toBe(false);
    expect(plan.after).toEqual({
      bootstrap: { addresses: new Map(), join: true, type: StateMachineType.OnDisk },
      raftState: { term: 6n, vote: 0n, commit: 40n },
      maxIndex: 40n,
      snapshot: ss,
    });
    expect(plan.ops.map((o) => o.type)).toEqual(['del', 'del', 'del', 'delRange', 'put', 'put', 'put', 'put']);
  });

  it('importSnapshot writes ONE batch that replaces the node records and leaves others alone', async () => {
    const db = await openDB(node.cfg);
    await db.saveRaftState([
      {
        shardId: node.shardId,
        replicaId: 2,
        state: { term: 1n, vote: 0n, commit: 1n },
        entries: makeEntries(1n, 3n),
        snapshot: snap(node.shardId, 2n),
      },
    ]);
    await db.saveRaftState([{ shardId: node.shardId, replicaId: node.replicaId, snapshot: snap(node.shardId, 20n) }]);
    // two snapshot records for the node: force an old-style second one
    await db.partition(db.partitionOf(node.shardId)).write([
      {
        type: 'put',
        key: new Uint8Array([5, 5, 0, 0, ...new Uint8Array(8), ...new Uint8Array(8), ...new Uint8Array(8)]),
        value: new Uint8Array(0),
      },
    ]);
    const writes = vi.spyOn(LogDBPartition.prototype, 'write');
    const ss = snap(node.shardId, 15n, 4n);
    const plan = await db.importSnapshot(ss, node.replicaId);
    expect(writes).toHaveBeenCalledTimes(1);
    expect(writes.mock.calls[0]![0]).toEqual(plan.ops);

    expect(await db.getBootstrap(node.shardId, node.replicaId)).toEqual({
      addresses: new Map(),
      join: true,
      type: StateMachineType.Regular,
    });
    expect(await db.getRaftState(node.shardId, node.replicaId)).toEqual({ term: 4n, vote: 0n, commit: 15n });
    expect(await db.getMaxIndex(node.shardId, node.replicaId)).toBe(15n);
    expect(await db.listSnapshots(node.shardId, node.replicaId)).toEqual([ss]); // 10 and 20 are gone
    expect(await db.readRaftState(node.shardId, node.replicaId, 15n)).toEqual({
      state: { term: 4n, vote: 0n, commit: 15n },
      firstIndex: 15n,
      entryCount: 0n,
    });
    // replica 2 untouched
    expect(await db.getRaftState(node.shardId, 2)).toEqual({ term: 1n, vote: 0n, commit: 1n });
    expect((await db.listSnapshots(node.shardId, 2)).map((s) => s.index)).toEqual([2n]);
    // the undecodable snapshot record of shard 0 was not the node's, still there
    expect(plan.before.snapshots.map((s) => s.index)).toEqual([20n]);
  });

  it('refuses type Unknown and index 0 with nothing written', async () => {
    const before = await treeSnapshot(root);
    const db = await openDB(node.cfg, { readOnly: true });
    await expect(db.importSnapshot(snap(node.shardId, 40n, 2n, StateMachineType.Unknown), node.replicaId)).rejects.toBeInstanceOf(
      ErrUnknownStateMachineType,
    );
    await expect(db.planImport(snap(node.shardId, 0n), node.replicaId)).rejects.toBeInstanceOf(ErrIncompleteSnapshot);
    await db.close();
    expect(await treeSnapshot(root)).toEqual(before);
    const rw = await openDB(node.cfg);
    await expect(rw.importSnapshot(snap(node.shardId, 40n, 2n, StateMachineType.Unknown), node.replicaId)).rejects.toBeInstanceOf(
      ErrUnknownStateMachineType,
    );
    expect(await rw.getMaxIndex(node.shardId, node.replicaId)).toBe(30n);
  });

  it('lists undecodable records instead of failing, and the import replaces them', async () => {
    const db = await openDB(node.cfg);
    const s = node.shardId;
    const r = node.replicaId;
    await db
      .partition(db.partitionOf(s))
      .write([{ type: 'put', key: (await import('../../src/logdb/keys.js')).raftStateKey(s, r), value: new Uint8Array([0x08]) }]);
    const plan = await db.importSnapshot(snap(s, 40n), r);
    expect(plan.before.malformed.map((m) => m.kind)).toEqual(['raft state']);
    expect(plan.before.raftState).toBeUndefined();
    expect(await db.getRaftState(s, r)).toEqual({ term: 2n, vote: 0n, commit: 40n });
    await expect(async () => {
      await db
        .partition(db.partitionOf(s))
        .write([{ type: 'put', key: (await import('../../src/logdb/keys.js')).bootstrapKey(s, r), value: new Uint8Array([0x0a, 0x09]) }]);
      await db.getBootstrap(s, r);
    }).rejects.toMatchObject({ code: 'ErrMalformedRecord' });
  });
});

describe('removeStaleEntries', () => {
  it('after an import removes every entry (plain and batched), compacts, and no history stays on disk', async () => {
    const db = await openDB(cfg);
    const marker = 'OLD-HISTORY-MARKER';
    const ents = makeEntries(1n, 60n).map((e) => ({ ...e, cmd: new TextEncoder().encode(`${marker}-${e.index}`.padEnd(200, '#')) }));
    await db.saveRaftState([{ shardId: 8, replicaId: 1, entries: ents, state: { term: 3n, vote: 1n, commit: 60n } }]);
    // a few stray batched entries of the same replica, as a mixed store might hold
    await db.partition(db.partitionOf(8)).write([{ type: 'put', key: entryBatchKey(8, 1, 0), value: new TextEncoder().encode(marker) }]);
    await db.saveRaftState([{ shardId: 8, replicaId: 2, entries: makeEntries(1n, 5n) }]); // another replica
    await db.importSnapshot(snap(8n, 30n), 1);
    const result = await db.removeStaleEntries(8, 1);
    expect(result).toMatchObject({ kept: undefined, plainEntriesRemoved: 60, entryBatchesRemoved: 1 });
    expect((await db.iterateEntries(8, 2, 1, 100)).entries.length).toBe(5);
    expect(await db.readRaftState(8, 1, 30)).toMatchObject({ firstIndex: 30n, entryCount: 0n });
    await db.close();
    open.splice(0);
    const dir = logdbPartitionDir(cfg, 8n);
    for (const f of fs.readdirSync(dir)) {
      expect(fs.readFileSync(path.join(dir, f)).includes(marker), `${f} still holds old entries`).toBe(false);
    }
  });

  it('on a running node keeps [snapshot index, max index] and removes the rest', async () => {
    const db = await openDB(cfg);
    await db.saveRaftState([{ shardId: 8, replicaId: 1, entries: makeEntries(1n, 25n), snapshot: snap(8n, 10n) }]);
    await db.saveRaftState([{ shardId: 8, replicaId: 1, entries: makeEntries(15n, 20n, 4n) }]); // max 20; 21..25 are beyond the log
    const result = await db.removeStaleEntries(8, 1);
    expect(result.ranges.length).toBe(3); // plain below 10, plain above 20, batches above batch 0
    expect(result).toMatchObject({ kept: { first: 10n, last: 20n }, plainEntriesRemoved: 14, entryBatchesRemoved: 0 });
    expect(await db.getEntryRange(8, 1, 10)).toEqual({ firstIndex: 10n, entryCount: 11n });
    expect((await db.iterateEntries(8, 1, 0, 1000)).entries).toEqual([]);
    expect((await db.iterateEntries(8, 1, 10, 1000)).entries.length).toBe(11);
  });

  it('is refused on a read-only LogDB and a no-op on a missing store', async () => {
    const db = await openDB(cfg);
    expect(await db.removeStaleEntries(1, 1)).toMatchObject({ plainEntriesRemoved: 0, ranges: [] });
    await db.saveRaftState([{ shardId: 1, replicaId: 1, entries: makeEntries(1n, 2n) }]);
    await db.close();
    open.splice(0);
    const ro = await openDB(cfg, { readOnly: true });
    await expect(ro.removeStaleEntries(1, 1)).rejects.toBeInstanceOf(ErrLogDB);
  });
});

describe('removeNodeData and locking', () => {
  it('removes every record and entry of one node only', async () => {
    const node = await makeRunningNode({ root, batched: true, entries: 100, snapshotIndex: 50n });
    const db = await openDB(node.cfg);
    await db.saveRaftState([{ shardId: node.shardId, replicaId: 2, entries: makeEntries(1n, 3n) }]);
    await db.removeNodeData(node.shardId, node.replicaId);
    const rec = await db.nodeRecords(node.shardId, node.replicaId);
    expect(rec).toMatchObject({
      bootstrap: undefined,
      raftState: undefined,
      maxIndex: undefined,
      snapshots: [],
      plainEntries: undefined,
      entryBatches: undefined,
    });
    expect((await db.iterateEntries(node.shardId, 2, 1, 10)).entries.length).toBe(3);
  });

  it('refuses a second writable LogDB on the same partition in this process', async () => {
    const a = await openDB(cfg);
    await a.saveBootstrap(1, 1, { addresses: new Map(), join: true, type: StateMachineType.Regular });
    const b = await openDB(cfg);
    await expect(b.getBootstrap(1, 1)).rejects.toBeInstanceOf(ErrDirLocked);
    const ro = await openDB(cfg, { readOnly: true });
    expect((await ro.getBootstrap(1, 1))!.join).toBe(true);
  });

  it('a read-only LogDB over a whole running node leaves the NodeHost tree byte-for-byte unchanged', async () => {
    const node = await makeRunningNode({ root, entries: 30, snapshotIndex: 10n });
    const before = await treeSnapshot(root);
    const db = await openDB(node.cfg, { readOnly: true });
    expect(await db.listNodeInfo()).toEqual([{ shardId: node.shardId, replicaId: node.replicaId }]);
    expect(await db.readRaftState(node.shardId, node.replicaId, 10n)).toMatchObject({ firstIndex: 10n, entryCount: 21n });
    expect(await db.binaryFormat()).toBe(100);
    await expect(db.saveBootstrap(1, 1, { addresses: new Map(), join: true, type: 1 })).rejects.toBeInstanceOf(ErrLogDB);
    await db.close();
    expect(await treeSnapshot(root)).toEqual(before);
  });
});

describe('import with entries (a carried log suffix, docs/import-contract.md step 11)', () => {
  const entriesOf = (list: ReturnType<typeof makeEntries>): ImportEntries => {
    const values = list.map((e) => encodeEntry(e));
    return {
      firstIndex: list[0]!.index,
      count: list.length,
      lastTerm: list[list.length - 1]!.term,
      // Every value here is below 128 bytes: a one-byte length.
      valueBytes: values.reduce((n, v) => n + 1 + v.length, 0),
      // Two pieces, so that the producer's pieces are exercised.
      values: async function* () {
        yield values.slice(0, 3);
        yield values.slice(3);
      },
    };
  };

  for (const logdbType of ['sharded-leveldb', 'sharded-pebble'] as const) {
    for (const entryFormat of [100, 210] as const) {
      it(`${logdbType}, format ${entryFormat}: the new entries win over the replica's own at the same indexes; nothing older is read after the snapshot`, async () => {
        const c = resolveNodeHostConfig({ ...cfg, logdbType });
        const db = await openDB(c, { entryFormat });
        // The replica's own history: 1..100 in term 2 (47 is the last index of its batch).
        await db.saveRaftState([
          { shardId: 1, replicaId: 1, state: { term: 2n, vote: 1n, commit: 100n }, entries: makeEntries(1n, 100n, 2n) },
        ]);
        const carried = makeEntries(48n, 80n, 3n).map((e) => ({ ...e, cmd: new TextEncoder().encode(`new-${e.index}`) }));
        const write = (await db.importSnapshots([{ snapshot: snap(1n, 47n, 2n), replicaId: 1, entries: entriesOf(carried) }]))[0]!;
        expect(write.entries).toEqual({ firstIndex: 48n, lastIndex: 80n, format: entryFormat });
        expect(write.after.maxIndex).toBe(80n);
        expect(write.after.raftState).toEqual({ term: 3n, vote: 0n, commit: 47n });
        // What a restart reads, before any clean-up.
        expect(await db.readRaftState(1, 1, 47n)).toEqual({ state: { term: 3n, vote: 0n, commit: 47n }, firstIndex: 48n, entryCount: 33n });
        expect((await db.iterateEntries(1, 1, 48n, 81n)).entries.map((e) => e.entry)).toEqual(carried);
        expect((await db.iterateEntries(1, 1, 47n, 81n)).entries).toEqual([]);
        if (!write.entriesRemoved) await db.removeStaleEntries(1, 1);
        const stored: bigint[] = [];
        for await (const e of db.streamEntries(1, 1, 0n, 1000n)) stored.push(e.index);
        expect(stored).toEqual(carried.map((e) => e.index));
      });
    }
  }

  it('entries that do not start right after the snapshot are refused (ErrLogDB), nothing written', async () => {
    const db = await openDB();
    const err = await db
      .importSnapshots([{ snapshot: snap(1n, 20n), replicaId: 1, entries: entriesOf(makeEntries(22n, 30n, 2n)) }])
      .catch((e) => e);
    expect(err).toBeInstanceOf(ErrLogDB);
    expect(err.details.check).toBe('import-entries');
    expect(await db.getSnapshot(1, 1)).toBeUndefined();
  });

  it('a store whose entries are in another format than the one asked for is refused (ErrIncompatibleData)', async () => {
    const plain = await openDB(cfg, { entryFormat: 100 });
    await plain.saveRaftState([{ shardId: 1, replicaId: 1, entries: makeEntries(1n, 5n) }]);
    await plain.close();
    const db = await openDB(cfg, { entryFormat: 210 });
    const p = db.importSnapshots([{ snapshot: snap(1n, 5n), replicaId: 1, entries: entriesOf(makeEntries(6n, 8n)) }]);
    await expect(p).rejects.toBeInstanceOf(ErrIncompatibleData);
  });
});
