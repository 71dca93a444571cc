import * as fsp from 'node:fs/promises';
import * as path from 'node:path';
import { describe, expect, it } from 'vitest';
import { ErrDirLocked, ErrLogDB } from '../../../src/errors.js';
import {
  allEntriesRange,
  bootstrapKey,
  encodeMaxIndex,
  entryKey,
  maxIndexKey,
  raftStateKey,
  snapshotKey,
  MAX_U64,
} from '../../../src/logdb/keys.js';
import type { KvOp } from '../../../src/logdb/store.js';
import { describePebbleStore } from '../../../src/logdb/pebble/describe.js';
import { PebblePartition } from '../../../src/logdb/pebble/partition.js';
import { walTempName } from '../../../src/logdb/pebble/writer.js';
import { readLog } from '../../../src/pebble/record.js';
import { decodeBatch } from '../../../src/pebble/batch.js';
import { treeSnapshot } from '../../helpers/tree.js';
import { NODES, copyPartition, fixturePartition, hex, partitionFacts, scratch } from './fixture.js';

const tmp = scratch();
const S = 100;

/** The import batch of docs/pebble-store.md writer rule 4 for replica `r`: deletions first, then the four sets. */
function importOps(r: number, marker = 'x'): KvOp[] {
  return [
    { type: 'delRange', start: entryKey(S, r, 0), end: entryKey(S, r, MAX_U64) },
    { type: 'del', key: entryKey(S, r, MAX_U64) },
    { type: 'delRange', start: snapshotKey(S, r, 0), end: snapshotKey(S, r, MAX_U64) },
    { type: 'del', key: snapshotKey(S, r, MAX_U64) },
    { type: 'put', key: bootstrapKey(S, r), value: Buffer.from(`bootstrap-${marker}`) },
    { type: 'put', key: raftStateKey(S, r), value: Buffer.from(`state-${marker}`) },
    { type: 'put', key: snapshotKey(S, r, 400), value: Buffer.from(`snapshot-${marker}`) },
    { type: 'put', key: maxIndexKey(S, r), value: encodeMaxIndex(400n) },
  ];
}

async function records(p: PebblePartition): Promise<Map<string, string>> {
  const out = new Map<string, string>();
  for await (const [k, v] of p.iterate({ gte: new Uint8Array(0) })) out.set(hex(k), hex(v));
  return out;
}

async function expectImported(p: PebblePartition, r: number, marker = 'x'): Promise<void> {
  const all = await records(p);
  expect(all.size).toBe(4);
  expect(all.get(hex(bootstrapKey(S, r)))).toBe(hex(Buffer.from(`bootstrap-${marker}`)));
  expect(all.get(hex(raftStateKey(S, r)))).toBe(hex(Buffer.from(`state-${marker}`)));
  expect(all.get(hex(snapshotKey(S, r, 400)))).toBe(hex(Buffer.from(`snapshot-${marker}`)));
  expect(all.get(hex(maxIndexKey(S, r)))).toBe('0000000000000190');
}

function noTemps(names: string[]): void {
  expect(names.filter((n) => n.endsWith('.dbtmp') || n.endsWith('.tmp'))).toEqual([]);
}

describe('structure of the fixture stores', () => {
  for (const node of NODES) {
    it(`${node}: logdb-4 and the empty partitions as the fixture records them`, async () => {
      for (let part = 0; part < 16; part++) {
        const dir = fixturePartition(node, part);
        const facts = partitionFacts(node, part);
        const d = await describePebbleStore({ dataDir: dir, walDir: dir });
        expect(d.exists).toBe(true);
        expect(d.files).toEqual([...facts.files].sort());
        expect(d.current).toBe(facts.current);
        expect([d.minUnflushedLogNum, d.nextFileNum, d.lastSeqNum]).toEqual([
          facts.minUnflushedLogNum,
          facts.nextFileNum,
          facts.manifestLastSeqNum,
        ]);
        expect(
          d.tables.map((t) => ({
            name: t.name,
            level: t.level,
            size: t.size,
            smallestSeq: t.smallestSeq,
            largestSeq: t.largestSeq,
            hasRangeDelBlock: t.hasRangeDelBlock,
          })),
        ).toEqual(facts.tables ?? []);
        expect(
          d.wals.map((w) => ({
            name: w.name,
            size: w.size,
            batches: w.batches,
            firstSeq: w.firstSeq ?? 0,
            lastSeq: w.lastSeq ?? 0,
            replayed: w.replayed,
          })),
        ).toEqual(
          facts.wals.map((w) => ({
            name: w.name,
            size: w.size,
            batches: w.batches,
            firstSeq: w.firstSeq,
            lastSeq: w.lastSeq,
            replayed: w.replayed,
          })),
        );
        for (const w of d.wals) expect(w.ending.kind).toBe('clean');
        expect(d.dropIn.fileNum).toBe(facts.dropInWALNum);
        expect(d.dropIn.seqNum).toBe(facts.dropInSeqNum);
        expect(d.tornTail).toBeUndefined();
        if (part === 4) expect([d.dropIn.walName, d.dropIn.seqNum]).toEqual(['000012.log', { nh1: 1846, nh2: 1828, nh3: 1838 }[node]]);
        else expect([d.dropIn.walName, d.dropIn.seqNum]).toEqual(['000007.log', 1]);
      }
    });
  }
});

describe('writing: a drop-in WAL', () => {
  it('nh1 logdb-4: the import batch becomes 000012.log at seq 1846; nothing else changes', async () => {
    const dir = await copyPartition('nh1', 4, tmp.make());
    const before = await treeSnapshot(dir);
    const p = new PebblePartition({ dataDir: dir, walDir: dir });
    expect((await records(p)).size).toBe(425);
    const report = await p.writeWithReport(importOps(1));
    expect(report).toMatchObject({ walPath: path.join(dir, '000012.log'), fileNum: 12, seqNum: 1846, count: 8, createdStore: false });
    expect(report.truncated).toBeUndefined();
    await expectImported(p, 1);
    expect(await p.get(entryKey(S, 1, 300))).toBeUndefined();
    const after = await treeSnapshot(dir);
    const added = Object.keys(after).filter((k) => !(k in before));
    expect(added).toEqual(['000012.log']);
    for (const k of Object.keys(before)) expect(after[k], k).toBe(before[k]);
    // The file is one recyclable record with lognum 12 holding the batch at 1846.
    const wal = new Uint8Array(await fsp.readFile(path.join(dir, '000012.log')));
    const log = readLog(wal, 12);
    expect(log.records.length).toBe(1);
    expect(log.ending).toMatchObject({ kind: 'clean', reason: 'end-of-file' });
    expect(wal[6]).toBe(5);
    const b = decodeBatch(log.records[0]!.payload, { path: 'x' });
    expect([b.seq, b.count, b.ops.map((o) => o.kind)]).toEqual([1846, 8, [15, 0, 15, 0, 1, 1, 1, 1]]);
    noTemps(await fsp.readdir(dir));
    // A second write gets the next number and a higher sequence number, and wins.
    const second = await p.writeWithReport(importOps(1, 'y'));
    expect([second.fileNum, second.seqNum]).toEqual([13, 1854]);
    await expectImported(p, 1, 'y');
    const d = await describePebbleStore({ dataDir: dir, walDir: dir });
    expect(d.dropIn).toMatchObject({ walName: '000014.log', seqNum: 1862 });
    expect(d.wals.map((w) => [w.name, w.replayed, w.newest])).toEqual([
      ['000007.log', false, false],
      ['000010.log', true, false],
      ['000012.log', true, false],
      ['000013.log', true, true],
    ]);
    noTemps(await fsp.readdir(dir));
    await p.close();
  });

  it("nh2 and nh3 logdb-4 take the fixture's drop-in numbers", async () => {
    for (const [node, seq] of [
      ['nh2', 1828],
      ['nh3', 1838],
    ] as const) {
      const dir = await copyPartition(node, 4, tmp.make());
      const p = new PebblePartition({ dataDir: dir, walDir: dir });
      const r = node === 'nh2' ? 2 : 3;
      const report = await p.writeWithReport(importOps(r));
      expect([path.basename(report.walPath), report.seqNum]).toEqual(['000012.log', seq]);
      await expectImported(p, r);
      await p.close();
    }
  });

  it('an empty fixture partition gets 000007.log at seq 1', async () => {
    const dir = await copyPartition('nh1', 0, tmp.make());
    const p = new PebblePartition({ dataDir: dir, walDir: dir });
    const report = await p.writeWithReport(importOps(1));
    expect([path.basename(report.walPath), report.seqNum, report.createdStore]).toEqual(['000007.log', 1, false]);
    await expectImported(p, 1);
    await p.close();
  });

  it('later operations win within one batch (each takes the next sequence number)', async () => {
    const dir = await copyPartition('nh1', 4, tmp.make());
    const p = new PebblePartition({ dataDir: dir, walDir: dir });
    const k = raftStateKey(S, 1);
    await p.write([
      { type: 'put', key: k, value: Uint8Array.of(1) },
      { type: 'del', key: k },
      { type: 'put', key: entryKey(S, 1, 250), value: Uint8Array.of(2) },
      { type: 'delRange', start: entryKey(S, 1, 0), end: entryKey(S, 1, 300) },
      { type: 'put', key: entryKey(S, 1, 260), value: Uint8Array.of(3) },
    ]);
    expect(await p.get(k)).toBeUndefined();
    expect(await p.get(entryKey(S, 1, 250))).toBeUndefined();
    expect(await p.get(entryKey(S, 1, 299))).toBeUndefined();
    expect(hex((await p.get(entryKey(S, 1, 260)))!)).toBe('03');
    expect(await p.get(entryKey(S, 1, 300))).toBeDefined();
    await p.close();
  });

  it('removeRanges: lt and lte bounds are covered exactly', async () => {
    const dir = await copyPartition('nh1', 4, tmp.make());
    const p = new PebblePartition({ dataDir: dir, walDir: dir });
    await p.removeRanges([
      { gte: entryKey(S, 1, 250), lt: entryKey(S, 1, 260) },
      { gte: entryKey(S, 1, 300), lte: entryKey(S, 1, 310) },
    ]);
    const n = async (lo: number, hi: number): Promise<number> => {
      let c = 0;
      for await (const _ of p.iterate({ gte: entryKey(S, 1, lo), lte: entryKey(S, 1, hi) })) c++;
      return c;
    };
    expect([await n(249, 249), await n(250, 259), await n(260, 260), await n(299, 299), await n(300, 310), await n(311, 311)]).toEqual([
      1, 0, 1, 1, 0, 1,
    ]);
    await p.removeRanges([allEntriesRange(S, 1)]);
    expect(await n(0, 1000)).toBe(0);
    expect(p.lastWrite?.count).toBe(1);
    await p.close();
  });

  it('a read-only partition refuses writes; a held LOCK refuses reads and writes', async () => {
    const dir = await copyPartition('nh1', 4, tmp.make());
    const before = await treeSnapshot(dir);
    const ro = new PebblePartition({ dataDir: dir, walDir: dir }, { readOnly: true });
    await expect(ro.write(importOps(1))).rejects.toSatisfy((e: unknown) => e instanceof ErrLogDB && e.details.check === 'read-only');
    const locked = new PebblePartition(
      { dataDir: dir, walDir: dir },
      { lock: { lockHolder: () => ({ pid: 999999, kind: 'POSIX', access: 'WRITE' }) } },
    );
    await expect(locked.get(raftStateKey(S, 1))).rejects.toBeInstanceOf(ErrDirLocked);
    await expect(locked.write(importOps(1))).rejects.toBeInstanceOf(ErrDirLocked);
    await expect(locked.exists()).rejects.toBeInstanceOf(ErrDirLocked);
    expect(await treeSnapshot(dir)).toEqual(before);
  });
});

describe('writing: a partition without a store (docs/pebble-store.md writer rule 8)', () => {
  it('creates MANIFEST-000001, CURRENT and 000002.log at seq 1, readable back', async () => {
    const root = tmp.make();
    const dir = path.join(root, 'vm', '00000000000000000001', 'logdb-4');
    const p = new PebblePartition({ dataDir: dir, walDir: dir });
    expect(await p.exists()).toBe(false);
    expect((await records(p)).size).toBe(0);
    const report = await p.writeWithReport(importOps(4));
    expect(report).toMatchObject({ fileNum: 2, seqNum: 1, createdStore: true, walPath: path.join(dir, '000002.log') });
    expect(report.createdDirs).toEqual([path.join(root, 'vm'), path.join(root, 'vm', '00000000000000000001'), dir]);
    expect((await fsp.readdir(dir)).sort()).toEqual(['000002.log', 'CURRENT', 'MANIFEST-000001']);
    expect(await fsp.readFile(path.join(dir, 'CURRENT'), 'latin1')).toBe('MANIFEST-000001\n');
    const manifest = new Uint8Array(await fsp.readFile(path.join(dir, 'MANIFEST-000001')));
    const log = readLog(manifest, 0);
    expect(log.records.length).toBe(1);
    expect(manifest[6]).toBe(1); // legacy full chunk
    expect(hex(log.records[0]!.payload)).toBe(`011a${hex(Buffer.from('leveldb.BytewiseComparator'))}020203030400`);
    expect(await p.exists()).toBe(true);
    await expectImported(p, 4);
    const d = await describePebbleStore({ dataDir: dir, walDir: dir });
    expect([d.minUnflushedLogNum, d.nextFileNum, d.lastSeqNum, d.dropIn.fileNum, d.dropIn.seqNum]).toEqual([2, 3, 0, 3, 9]);
    await p.close();
  });

  it('an empty directory or one with only LOCK is a partition without a store', async () => {
    const dir = path.join(tmp.make(), 'logdb-4');
    await fsp.mkdir(dir);
    await fsp.writeFile(path.join(dir, 'LOCK'), '');
    const p = new PebblePartition({ dataDir: dir, walDir: dir });
    const report = await p.writeWithReport(importOps(4));
    expect(report.createdStore).toBe(true);
    expect(report.createdDirs).toEqual([]);
    expect((await fsp.readdir(dir)).sort()).toEqual(['000002.log', 'CURRENT', 'LOCK', 'MANIFEST-000001']);
    await expectImported(p, 4);
    await p.close();
  });
});

describe('writing with a separate WAL dir (docs/pebble-store.md writer rule 6)', () => {
  it('an existing store: the WAL goes to the WAL dir under a name Pebble does not parse', async () => {
    const root = tmp.make();
    const dataDir = await copyPartition('nh1', 4, path.join(root, 'data'));
    const walDir = path.join(root, 'wal', 'logdb-4');
    await fsp.mkdir(walDir, { recursive: true });
    for (const n of ['000007.log', '000010.log']) await fsp.rename(path.join(dataDir, n), path.join(walDir, n));
    const p = new PebblePartition({ dataDir, walDir });
    expect((await records(p)).size).toBe(425);
    const dataBefore = await treeSnapshot(dataDir);
    const report = await p.writeWithReport(importOps(1));
    expect(report).toMatchObject({ walPath: path.join(walDir, '000012.log'), seqNum: 1846 });
    expect(await treeSnapshot(dataDir)).toEqual(dataBefore);
    expect((await fsp.readdir(walDir)).sort()).toEqual(['000007.log', '000010.log', '000012.log']);
    expect(walTempName(true, 12)).toBe('nodehost-tools.000012.tmp');
    expect(walTempName(false, 12)).toBe('temporary.000012.dbtmp');
    await expectImported(p, 1);
    await p.close();
  });

  it('a new store: MANIFEST and CURRENT in the data dir, 000002.log in the WAL dir', async () => {
    const root = tmp.make();
    const dataDir = path.join(root, 'data', 'logdb-4');
    const walDir = path.join(root, 'wal', 'logdb-4');
    const p = new PebblePartition({ dataDir, walDir });
    await p.write(importOps(4));
    expect((await fsp.readdir(dataDir)).sort()).toEqual(['CURRENT', 'MANIFEST-000001']);
    expect(await fsp.readdir(walDir)).toEqual(['000002.log']);
    await expectImported(p, 4);
    await p.close();
  });

  it('refuses a WAL in the data dir and a WAL dir without a live WAL', async () => {
    const root = tmp.make();
    const dataDir = await copyPartition('nh1', 4, path.join(root, 'data'));
    const walDir = path.join(root, 'wal', 'logdb-4');
    await fsp.mkdir(walDir, { recursive: true });
    const p = new PebblePartition({ dataDir, walDir });
    await expect(p.write(importOps(1))).rejects.toMatchObject({ code: 'ErrUnsupportedLogStore', details: { check: 'wal-in-data-dir' } });
    for (const n of ['000007.log', '000010.log']) await fsp.rm(path.join(dataDir, n));
    await expect(p.write(importOps(1))).rejects.toMatchObject({ code: 'ErrUnsupportedLogStore', details: { check: 'no-live-wal' } });
    expect(await fsp.readdir(walDir)).toEqual([]);
  });
});

describe('torn tails of the newest WAL (docs/pebble-store.md writer rule 5)', () => {
  it('cut at 700 bytes: reads the records before the cut; a write truncates to the last good record first', async () => {
    const dir = await copyPartition('nh1', 4, tmp.make());
    const wal = path.join(dir, '000010.log');
    const original = new Uint8Array(await fsp.readFile(wal));
    await fsp.truncate(wal, 700);
    const full = readLog(original, 10);
    const kept = full.records.filter((r) => r.end <= 700);
    const goodEnd = kept[kept.length - 1]!.end;
    const p = new PebblePartition({ dataDir: dir, walDir: dir });
    const beforeWrite = await records(p);
    // The cut view equals the original WAL truncated at a record boundary, which ends cleanly.
    const clean = await copyPartition('nh1', 4, tmp.make());
    await fsp.truncate(path.join(clean, '000010.log'), goodEnd);
    const cp = new PebblePartition({ dataDir: clean, walDir: clean }, { readOnly: true });
    expect(beforeWrite).toEqual(await records(cp));
    expect(beforeWrite.size).toBeLessThan(425);
    await cp.close();
    const d = await describePebbleStore({ dataDir: dir, walDir: dir });
    expect(d.tornTail).toEqual({ path: wal, offset: goodEnd, size: 700 });
    const report = await p.writeWithReport(importOps(1));
    expect(report.truncated).toMatchObject({ path: wal, offset: goodEnd, originalSize: 700 });
    expect(hex(report.truncated!.bytes)).toBe(hex(original.subarray(goodEnd, 700)));
    expect((await fsp.stat(wal)).size).toBe(goodEnd);
    await expectImported(p, 1);
    await p.close();
  });

  it('a zeroed EOF trailer: every record reads; a write cuts the 11 zero bytes', async () => {
    const dir = await copyPartition('nh1', 4, tmp.make());
    const wal = path.join(dir, '000010.log');
    const bytes = new Uint8Array(await fsp.readFile(wal));
    bytes.fill(0, bytes.length - 11);
    await fsp.writeFile(wal, bytes);
    const p = new PebblePartition({ dataDir: dir, walDir: dir });
    expect((await records(p)).size).toBe(425);
    const report = await p.writeWithReport(importOps(1));
    expect(report.truncated).toMatchObject({ offset: bytes.length - 11, originalSize: bytes.length });
    expect([...report.truncated!.bytes]).toEqual(new Array(11).fill(0));
    expect(report.seqNum).toBe(1846);
    await expectImported(p, 1);
    await p.close();
  });
});
