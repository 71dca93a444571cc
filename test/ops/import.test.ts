/**
 * importSnapshot, the quorum-loss repair, on the worked example of docs/import-contract.md:
 * shard 100 ran replicas 1, 2, 3 on m1, m2, m3; m2 and m3 are gone; replicas
 * 4 and 5 on m4 and m5 replace them. Three real NodeHost directories, real
 * LevelDB partitions, an export in Dragonboat's layout. Records are checked
 * through LogDB and through raw classic-level keys (docs/formats.md §5).
 */
import { TEST_LOGDB_TYPE } from '../helpers/store.js';
import * as fsp from 'node:fs/promises';
import * as path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { readFlagFile } from '../../src/files/flagfile.js';
import { LogDB } from '../../src/logdb/logdb.js';
import { resolveNodeHostConfig, type NodeHostConfig } from '../../src/nodehost/config.js';
import { IMPORT_STEPS, importSnapshot, type ImportResult, type ImportStep } from '../../src/ops/import.js';
import { inspectNode } from '../../src/ops/inspect.js';
import { decodeBootstrap, decodeRaftDataStatus, decodeRaftState, decodeSnapshot, emptyMembership } from '../../src/records/codec.js';
import { EntryType, StateMachineType, type Membership, type Snapshot } from '../../src/records/types.js';
import { makeRunningNode, makeTempDir, type RunningNode } from '../helpers/nodehost.js';
import { treeHash } from '../helpers/tree.js';
import {
  INDEX,
  K,
  TERM,
  freshConfig,
  hex,
  makeExport,
  parseRawKey,
  partitionDir,
  rawDump,
  rawKey,
  sha256File,
  type ExportMade,
  type RawKV,
  staleEntriesRemoved,
} from './fixtures.js';
import { HOST, M1, M2, M3, M4, M5, SHARD, SOURCE_CCID, sourceMembership, workedMembers } from '../helpers/worked-example.js';
import { patternBytes } from '../helpers/payload.js';

const INDEX_HEX = '0000000000000014';
const GBSNAP = `snapshot-${INDEX_HEX}.gbsnap`;
const FLAG = 'dragonboat.snapshot.message';

/** The snapshot root of (100, r), spelled out from docs/formats.md §4. */
function rootOf(nodeHostDir: string, replicaId: bigint): string {
  return path.join(nodeHostDir, HOST, '00000000000000000001', 'snapshot-part-100', `snapshot-100-${replicaId}`);
}

function finalDirOf(nodeHostDir: string, replicaId: bigint): string {
  return path.join(rootOf(nodeHostDir, replicaId), `snapshot-${INDEX_HEX}`);
}

function expectedMembership(ccid: bigint, removed: bigint[] = [2n, 3n]): Membership {
  return {
    ...emptyMembership(),
    configChangeId: ccid,
    addresses: new Map([
      [1n, M1],
      [4n, M4],
      [5n, M5],
    ]),
    removed: new Map(removed.map((id) => [id, true])),
  };
}

function expectedRecord(exp: ExportMade, nodeHostDir: string, replicaId: bigint, membership: Membership): Snapshot {
  const dir = finalDirOf(nodeHostDir, replicaId);
  return {
    filepath: path.join(dir, GBSNAP),
    fileSize: exp.record.fileSize,
    index: INDEX,
    term: TERM,
    membership,
    files: exp.record.files.map((f) => ({ ...f, filepath: path.join(dir, path.basename(f.filepath)) })),
    checksum: exp.record.checksum,
    dummy: exp.record.dummy,
    shardId: SHARD,
    type: exp.record.type,
    imported: true,
    onDiskIndex: 0n,
    witness: false,
  };
}

/**
 * Warning codes, without 'degraded-engine': whether the native addon is built
 * is this installation's business (import-env.test.ts covers that warning).
 */
function codes(res: ImportResult): string[] {
  return res.warnings.map((w) => w.code).filter((c) => c !== 'degraded-engine');
}

function replicaKeys(dump: RawKV[], shardId: bigint, replicaId: bigint): RawKV[] {
  return dump.filter((e) => {
    const k = parseRawKey(e.key);
    return k.shardId === shardId && k.replicaId === replicaId;
  });
}

function otherKeys(dump: RawKV[]): string[] {
  return dump
    .filter((e) => {
      const k = parseRawKey(e.key);
      return !(k.shardId === SHARD && k.replicaId === 1n);
    })
    .map((e) => `${hex(e.key)}=${hex(e.value)}`);
}

/**
 * Checks one imported node record by record against docs/import-contract.md steps 9 and 11,
 * through LogDB and raw classic-level keys, plus its snapshot directory.
 */
async function checkImportedNode(config: NodeHostConfig, replicaId: bigint, exp: ExportMade, membership: Membership): Promise<Snapshot> {
  const cfg = resolveNodeHostConfig(config);
  const record = expectedRecord(exp, cfg.nodeHostDir, replicaId, membership);

  // Through LogDB.
  const db = await LogDB.open(cfg, { readOnly: true });
  try {
    expect(await db.getBootstrap(SHARD, replicaId)).toEqual({ addresses: new Map(), join: true, type: exp.record.type });
    expect(await db.getRaftState(SHARD, replicaId)).toEqual({ term: TERM, vote: 0n, commit: INDEX });
    expect(await db.getMaxIndex(SHARD, replicaId)).toBe(INDEX);
    expect(await db.listSnapshots(SHARD, replicaId)).toEqual([record]);
    const rec = await db.nodeRecords(SHARD, replicaId);
    expect(rec.plainEntries).toBeUndefined();
    expect(rec.entryBatches).toBeUndefined();
    expect(rec.malformed).toEqual([]);
    expect(await db.getEntryRange(SHARD, replicaId, INDEX)).toEqual({ firstIndex: INDEX, entryCount: 0n });
  } finally {
    await db.close();
  }

  // Through raw keys: exactly raft state, max index, one snapshot (key INDEX), bootstrap.
  const mine = replicaKeys(await rawDump(partitionDir(cfg)), SHARD, replicaId);
  expect(mine.map((e) => hex(e.key))).toEqual([
    hex(rawKey(K.raftState, SHARD, replicaId)),
    hex(rawKey(K.maxIndex, SHARD, replicaId)),
    hex(rawKey(K.snapshot, SHARD, replicaId, INDEX)),
    hex(rawKey(K.bootstrap, SHARD, replicaId)),
  ]);
  const [state, max, snap, boot] = mine.map((e) => e.value);
  expect(decodeRaftState(state!)).toEqual({ term: TERM, vote: 0n, commit: INDEX });
  expect(max!.length).toBe(8);
  expect(max!.readBigUInt64BE(0)).toBe(INDEX);
  const b = decodeBootstrap(boot!);
  expect(b.addresses.size).toBe(0);
  expect(b.join).toBe(true);
  expect(b.type).toBe(exp.record.type);
  const s = decodeSnapshot(snap!);
  expect(s).toEqual(record);
  expect(s.filepath.startsWith(finalDirOf(cfg.nodeHostDir, replicaId) + path.sep)).toBe(true);
  expect(s.membership.configChangeId).toBe(membership.configChangeId);
  expect([...s.membership.addresses.keys()]).toEqual([1n, 4n, 5n]);
  expect([...s.membership.removed.keys()]).toEqual([...membership.removed.keys()]);
  expect(s.imported).toBe(true);
  expect(s.onDiskIndex).toBe(0n);
  expect(s.witness).toBe(false);

  // The final directory: the gbsnap byte-identical (and same mode), the external files, the flag file.
  const dir = finalDirOf(cfg.nodeHostDir, replicaId);
  const names = (await fsp.readdir(dir)).sort();
  expect(names).toEqual([FLAG, GBSNAP, ...exp.record.files.map((f) => path.basename(f.filepath))].sort());
  expect(await sha256File(path.join(dir, GBSNAP))).toBe(await sha256File(exp.file));
  expect((await fsp.stat(path.join(dir, GBSNAP))).mode & 0o777).toBe((await fsp.stat(exp.file)).mode & 0o777);
  for (const f of exp.record.files) {
    const name = path.basename(f.filepath);
    const a = await fsp.readFile(path.join(dir, name));
    const e = await fsp.readFile(path.join(exp.dir, name));
    expect(Buffer.compare(a, e)).toBe(0);
    expect((await fsp.stat(path.join(dir, name))).mode & 0o777).toBe((await fsp.stat(path.join(exp.dir, name))).mode & 0o777);
  }
  expect(await readFlagFile(path.join(dir, FLAG), decodeSnapshot)).toEqual(record);

  // What a restart sees.
  const view = await inspectNode(config, SHARD, replicaId);
  expect(view.snapshot).toEqual(record);
  expect(view.snapshotIndexes).toEqual([INDEX]);
  expect(view.entries.count).toBe(0n);
  expect(view.raftState).toEqual({ term: TERM, vote: 0n, commit: INDEX });
  expect(view.maxIndex).toBe(INDEX);
  expect(view.storedEntries).toEqual({});
  expect(view.malformed).toEqual([]);
  const finals = view.snapshotDirs.filter((d) => d.kind !== 'other');
  expect(finals.map((d) => [d.name, d.status, d.restartFate])).toEqual([[`snapshot-${INDEX_HEX}`, 'pending-flag', 'remove-flag']]);
  return record;
}

describe('the worked example: m1 (with history), m4 and m5 (fresh)', () => {
  let root: string;
  let m1: RunningNode;
  let m4: NodeHostConfig;
  let m5: NodeHostConfig;
  let exp: ExportMade;
  let exportHashBefore: string;
  let othersBefore: string[];
  let cmdBytesBefore: number;
  const results = new Map<bigint, ImportResult>();
  const stepsM1: ImportStep[] = [];
  const progressPhases = new Set<string>();

  async function filesContaining(dir: string, needle: string): Promise<number> {
    let n = 0;
    for (const name of await fsp.readdir(dir)) {
      const buf = await fsp.readFile(path.join(dir, name));
      if (buf.includes(Buffer.from(needle))) n++;
    }
    return n;
  }

  beforeAll(async () => {
    root = await makeTempDir('nht-ops-worked-');
    m1 = await makeRunningNode({ root: path.join(root, 'm1'), entries: 30, snapshotIndex: 10n });
    const cfg1 = m1.cfg;
    // Leftovers a restart would delete, and a non-snapshot directory that must stay.
    const r1 = rootOf(cfg1.nodeHostDir, 1n);
    await fsp.mkdir(path.join(r1, 'snapshot-0000000000000005-2.receiving'));
    await fsp.writeFile(path.join(r1, 'snapshot-0000000000000005-2.receiving', 'part'), 'x');
    await fsp.mkdir(path.join(r1, 'snapshot-000000000000000C-1.generating'));
    await fsp.mkdir(path.join(r1, 'keep-me'));
    await fsp.writeFile(path.join(r1, 'keep-me', 'notes.txt'), 'operator notes');
    // Other replicas in the same partition (shard 116: 116 % 16 = 4), and replica 2 of shard 100.
    const db = await LogDB.open(cfg1);
    try {
      for (const [s, r] of [
        [116n, 1n],
        [SHARD, 2n],
      ] as const) {
        await db.saveBootstrap(s, r, { addresses: new Map([[r, M1]]), join: false, type: StateMachineType.Regular });
        await db.saveRaftState([
          {
            shardId: s,
            replicaId: r,
            state: { term: 2n, vote: r, commit: 5n },
            entries: [1n, 2n, 3n, 4n, 5n].map((i) => ({
              term: 2n,
              index: i,
              type: EntryType.Application,
              key: i,
              clientId: 0n,
              seriesId: 0n,
              respondedTo: 0n,
              cmd: new TextEncoder().encode(`other-${s}-${r}-${i}`),
            })),
          },
        ]);
      }
    } finally {
      await db.close();
    }
    m4 = freshConfig(path.join(root, 'm4'), M4);
    m5 = freshConfig(path.join(root, 'm5'), M5);
    exp = await makeExport(path.join(root, 'backup'));
    exportHashBefore = await treeHash(exp.dir);
    othersBefore = otherKeys(await rawDump(partitionDir(cfg1)));
    cmdBytesBefore = await filesContaining(partitionDir(cfg1), 'cmd-');

    results.set(
      1n,
      await importSnapshot(m1.config, exp.dir, workedMembers(), 1n, {
        onStep: (s) => stepsM1.push(s),
        onProgress: (phase) => progressPhases.add(phase),
      }),
    );
    results.set(4n, await importSnapshot(m4, exp.dir, workedMembers(), 4n));
    results.set(5n, await importSnapshot(m5, exp.dir, workedMembers(), '5'));
  });

  afterAll(async () => {
    await fsp.rm(root, { recursive: true, force: true });
  });

  it('m1 reports every step boundary, in order, and every phase', () => {
    expect(stepsM1).toEqual([...IMPORT_STEPS]);
    expect([...progressPhases].sort()).toEqual(['cleanup', 'commit', 'copy', 'validate']);
  });

  it('the results describe the change', () => {
    for (const [r, res] of results) {
      expect(res.dryRun).toBe(false);
      expect(res.shardId).toBe(SHARD);
      expect(res.replicaId).toBe(r);
      expect(res.index).toBe(INDEX);
      expect(res.term).toBe(TERM);
      expect(res.type).toBe(StateMachineType.Regular);
      expect([...res.members]).toEqual([
        [1n, M1],
        [4n, M4],
        [5n, M5],
      ]);
      expect(res.removedReplicas).toEqual([2n, 3n]);
      expect(res.configChangeId).toEqual({ policy: 'preserve', value: SOURCE_CCID, source: SOURCE_CCID, reference: INDEX });
      expect(res.snapshotDir).toBe(finalDirOf(res.nodeHostDir, r));
      expect(res.after.snapshot.filepath).toBe(path.join(res.snapshotDir, GBSNAP));
      expect(res.after.raftState).toEqual({ term: TERM, vote: 0n, commit: INDEX });
      expect(res.after.maxIndex).toBe(INDEX);
      expect(res.files).toEqual([{ name: GBSNAP, path: path.join(res.snapshotDir, GBSNAP), bytes: exp.record.fileSize, how: 'copied' }]);
      expect(res.warnings.map((w) => w.code)).not.toContain('on-disk-state-machine');
    }
    const r1 = results.get(1n)!;
    expect(r1.before.snapshot?.index).toBe(10n);
    expect(r1.before.maxIndex).toBe(30n);
    expect(r1.before.raftState).toEqual({ term: 3n, vote: 1n, commit: 30n });
    expect(r1.before.plainEntries).toEqual({ first: 1n, last: 30n });
    expect(r1.warnings.map((w) => w.code)).toContain('entries-discarded');
    expect(r1.warnings.map((w) => w.code)).not.toContain('newer-state-discarded');
    expect(r1.staleEntries).toMatchObject(staleEntriesRemoved(30, 0));
    expect(r1.removedSnapshotDirs.map((d) => path.basename(d)).sort()).toEqual([
      'snapshot-0000000000000005-2.receiving',
      'snapshot-000000000000000A',
      'snapshot-000000000000000C-1.generating',
    ]);
    expect(r1.dataStatus.map((d) => d.outcome)).toEqual(['ok']);
    const r4 = results.get(4n)!;
    expect(r4.before.snapshot).toBeUndefined();
    expect(r4.before.bootstrap).toBeUndefined();
    expect(r4.before.maxIndex).toBeUndefined();
    expect(codes(r4)).toEqual([]);
    expect(r4.removedSnapshotDirs).toEqual([]);
    expect(r4.staleEntries).toMatchObject(staleEntriesRemoved(0, 0));
    expect(r4.dataStatus.map((d) => [d.path, d.outcome])).toEqual([[path.join(m4.nodeHostDir, 'dragonboat.ds'), 'created']]);
  });

  it('each node holds exactly the imported records and snapshot directory (steps 9 and 11)', async () => {
    const membership = expectedMembership(SOURCE_CCID);
    const recs = [
      await checkImportedNode(m1.config, 1n, exp, membership),
      await checkImportedNode(m4, 4n, exp, membership),
      await checkImportedNode(m5, 5n, exp, membership),
    ];
    // Same snapshot everywhere, only the paths differ.
    const strip = (s: Snapshot): unknown => ({ ...s, filepath: path.basename(s.filepath) });
    expect(strip(recs[1]!)).toEqual(strip(recs[0]!));
    expect(strip(recs[2]!)).toEqual(strip(recs[0]!));
  });

  it("m1's old history is gone: old snapshot directories removed, no entry key left, and compacted away", async () => {
    const r1 = rootOf(m1.cfg.nodeHostDir, 1n);
    expect((await fsp.readdir(r1)).sort()).toEqual(['keep-me', `snapshot-${INDEX_HEX}`]);
    expect(await fsp.readFile(path.join(r1, 'keep-me', 'notes.txt'), 'utf8')).toBe('operator notes');
    const dump = await rawDump(partitionDir(m1.cfg));
    const entries = replicaKeys(dump, SHARD, 1n).filter((e) => e.key[0] === K.entry || e.key[0] === K.entryBatch);
    expect(entries).toEqual([]);
    // LevelDB: the bytes of the removed entries no longer sit in any file of the partition (deleted and
    // compacted). Pebble: they are covered by a range tombstone until Pebble's own next compaction.
    expect(cmdBytesBefore).toBeGreaterThan(0);
    if (TEST_LOGDB_TYPE === 'sharded-leveldb') expect(await filesContaining(partitionDir(m1.cfg), 'cmd-')).toBe(0);
  });

  it('other replicas and shards in the same partition are untouched', async () => {
    expect(othersBefore.length).toBe(2 * (5 + 3)); // bootstrap, raft state, max index, 5 entries each
    expect(otherKeys(await rawDump(partitionDir(m1.cfg)))).toEqual(othersBefore);
  });

  it('m4 and m5 got their own dragonboat.ds; m1 kept its own', async () => {
    for (const [cfg, addr] of [
      [m4, M4],
      [m5, M5],
      [m1.config, M1],
    ] as const) {
      const ds = await readFlagFile(path.join(cfg.nodeHostDir, 'dragonboat.ds'), decodeRaftDataStatus);
      expect(ds.address).toBe(addr);
      expect(ds.binVer).toBe(100);
      expect(ds.logdbType).toBe(TEST_LOGDB_TYPE);
      expect(ds.hostname).toBe(HOST);
      expect(ds.deploymentId).toBe(1n);
    }
  });

  it('the export is unchanged', async () => {
    expect(await treeHash(exp.dir)).toBe(exportHashBefore);
  });
});

describe('configChangeId policies', () => {
  it("'snapshot-index' reproduces the reference (C = INDEX); the default preserves the source value", async () => {
    const root = await makeTempDir('nht-ops-ccid-');
    try {
      const exp = await makeExport(path.join(root, 'backup'));
      const m4 = freshConfig(path.join(root, 'm4'), M4);
      const m5 = freshConfig(path.join(root, 'm5'), M5);
      const res = await importSnapshot(m4, exp.dir, workedMembers(), 4n, { configChangeId: 'snapshot-index' });
      expect(res.configChangeId).toEqual({ policy: 'snapshot-index', value: INDEX, source: SOURCE_CCID, reference: INDEX });
      await checkImportedNode(m4, 4n, exp, expectedMembership(INDEX));
      const res5 = await importSnapshot(m5, exp.dir, workedMembers(), 5n, { configChangeId: 'preserve' });
      expect(res5.after.snapshot.membership.configChangeId).toBe(SOURCE_CCID);
      await checkImportedNode(m5, 5n, exp, expectedMembership(SOURCE_CCID));
    } finally {
      await fsp.rm(root, { recursive: true, force: true });
    }
  });
});

describe('an on-disk state machine export with external files', () => {
  it('copies the external files (mode preserved), lists them in the record, and warns', async () => {
    const root = await makeTempDir('nht-ops-ondisk-');
    try {
      const m1 = await makeRunningNode({ root: path.join(root, 'm1'), entries: 12, snapshotIndex: 10n, type: StateMachineType.OnDisk });
      const source = sourceMembership({
        removed: new Map([[9n, true]]),
        nonVotings: new Map([[6n, 'm6:63001']]),
        witnesses: new Map([[7n, 'm7:63001']]),
      });
      const exp = await makeExport(path.join(root, 'backup'), {
        type: StateMachineType.OnDisk,
        membership: source,
        externals: [
          { name: 'external-file-1', bytes: new TextEncoder().encode('on-disk sm file one'), mode: 0o600 },
          { name: 'ext-2.sst', bytes: patternBytes(5000, 13), mode: 0o644 },
        ],
      });
      expect(exp.record.files.length).toBe(2);
      const m4 = freshConfig(path.join(root, 'm4'), M4);
      const membership = expectedMembership(SOURCE_CCID, [2n, 3n, 6n, 7n, 9n]);
      for (const [cfg, r] of [
        [m1.config, 1n],
        [m4, 4n],
      ] as const) {
        const res = await importSnapshot(cfg, exp.dir, workedMembers(), r);
        const w = res.warnings.find((x) => x.code === 'on-disk-state-machine');
        expect(w?.message).toMatch(/on-disk state machine/);
        expect(w?.message).toContain(String(INDEX));
        expect(res.type).toBe(StateMachineType.OnDisk);
        expect(res.removedReplicas).toEqual([2n, 3n, 6n, 7n]);
        expect(res.files.map((f) => [f.name, f.bytes, f.how])).toEqual([
          [GBSNAP, exp.record.fileSize, 'copied'],
          ['external-file-1', 19n, 'copied'],
          ['ext-2.sst', 5000n, 'copied'],
        ]);
        const rec = await checkImportedNode(cfg, r, exp, membership);
        expect(rec.files.map((f) => f.filepath)).toEqual([
          path.join(finalDirOf(cfg.nodeHostDir, r), 'external-file-1'),
          path.join(finalDirOf(cfg.nodeHostDir, r), 'ext-2.sst'),
        ]);
        expect(rec.files.map((f) => [f.fileSize, f.fileId, new TextDecoder().decode(f.metadata)])).toEqual([
          [19n, 1n, 'meta-external-file-1'],
          [5000n, 2n, 'meta-ext-2.sst'],
        ]);
        expect((await fsp.stat(path.join(finalDirOf(cfg.nodeHostDir, r), 'external-file-1'))).mode & 0o777).toBe(0o600);
      }
    } finally {
      await fsp.rm(root, { recursive: true, force: true });
    }
  });
});

describe('a node whose log store is batched', () => {
  it('removes every entry batch of the replica, keeps format 210, and a rerun converges', async () => {
    const root = await makeTempDir('nht-ops-batched-');
    try {
      const m1 = await makeRunningNode({ root: path.join(root, 'm1'), entries: 150, snapshotIndex: 10n, batched: true });
      const exp = await makeExport(path.join(root, 'backup'));
      const before = replicaKeys(await rawDump(partitionDir(m1.cfg)), SHARD, 1n);
      const batchKeys = before.filter((e) => e.key[0] === K.entryBatch).map((e) => parseRawKey(e.key).suffix);
      expect(batchKeys).toEqual([0n, 1n, 2n, 3n]); // 150 entries, 48 per batch
      expect(before.filter((e) => e.key[0] === K.entry)).toEqual([]);

      const res = await importSnapshot(m1.config, exp.dir, workedMembers(), 1n);
      expect(res.before.entryBatches).toEqual({ first: 0n, last: 3n });
      expect(res.staleEntries).toMatchObject(staleEntriesRemoved(0, 4));
      expect(res.warnings.map((w) => w.code)).toContain('entries-discarded');
      await checkImportedNode(m1.config, 1n, exp, expectedMembership(SOURCE_CCID));
      const ds = await readFlagFile(path.join(m1.cfg.nodeHostDir, 'dragonboat.ds'), decodeRaftDataStatus);
      expect(ds.binVer).toBe(210);

      // The same import again: the store has no entry left, yet it is still a batched (210) directory.
      const again = await importSnapshot(m1.config, exp.dir, workedMembers(), 1n);
      expect(again.files.map((f) => f.how)).toEqual(['reused']);
      await checkImportedNode(m1.config, 1n, exp, expectedMembership(SOURCE_CCID));
    } finally {
      await fsp.rm(root, { recursive: true, force: true });
    }
  });
});

describe('a node with a newer snapshot than the export', () => {
  it('discards the newer state, says so, and ends exactly as the others', async () => {
    const root = await makeTempDir('nht-ops-newer-');
    try {
      const m1 = await makeRunningNode({ root: path.join(root, 'm1'), entries: 30, snapshotIndex: 25n });
      const exp = await makeExport(path.join(root, 'backup'));
      const res = await importSnapshot(m1.config, exp.dir, workedMembers(), 1n);
      expect(codes(res).sort()).toEqual(['entries-discarded', 'newer-state-discarded']);
      expect(res.warnings.find((w) => w.code === 'newer-state-discarded')?.message).toContain('25');
      expect(res.before.snapshot?.index).toBe(25n);
      expect(res.removedSnapshotDirs.map((d) => path.basename(d))).toEqual(['snapshot-0000000000000019']);
      await checkImportedNode(m1.config, 1n, exp, expectedMembership(SOURCE_CCID));
      expect(await fsp.readdir(rootOf(m1.cfg.nodeHostDir, 1n))).toEqual([`snapshot-${INDEX_HEX}`]);
    } finally {
      await fsp.rm(root, { recursive: true, force: true });
    }
  });
});

describe('a dry run', () => {
  it('changes nothing on disk and reports the before and after records', async () => {
    const root = await makeTempDir('nht-ops-dry-');
    try {
      const m1 = await makeRunningNode({ root: path.join(root, 'm1'), entries: 30, snapshotIndex: 10n });
      const exp = await makeExport(path.join(root, 'backup'));
      const m4 = freshConfig(path.join(root, 'm4'), M4);
      const hash = await treeHash(root);
      const steps: string[] = [];

      const r1 = await importSnapshot(m1.config, exp.dir, workedMembers(), 1n, { dryRun: true, onStep: (s) => steps.push(s) });
      const r4 = await importSnapshot(m4, exp.dir, workedMembers(), 4n, { dryRun: true });
      expect(await treeHash(root)).toBe(hash);
      expect(steps).toEqual([]);

      expect(r1.dryRun).toBe(true);
      expect(r1.before.snapshot).toEqual(m1.snapshot);
      expect(r1.before.snapshotIndexes).toEqual([10n]);
      expect(r1.before.bootstrap).toEqual({
        addresses: new Map([
          [1n, M1],
          [2n, M2],
          [3n, M3],
        ]),
        join: false,
        type: StateMachineType.Regular,
      });
      expect(r1.before.raftState).toEqual({ term: 3n, vote: 1n, commit: 30n });
      expect(r1.before.maxIndex).toBe(30n);
      expect(r1.before.plainEntries).toEqual({ first: 1n, last: 30n });
      expect(r1.before.entryBatches).toBeUndefined();
      expect(r1.after).toEqual({
        bootstrap: { addresses: new Map(), join: true, type: StateMachineType.Regular },
        raftState: { term: TERM, vote: 0n, commit: INDEX },
        maxIndex: INDEX,
        snapshot: expectedRecord(exp, m1.cfg.nodeHostDir, 1n, expectedMembership(SOURCE_CCID)),
      });
      expect(r1.removedSnapshotDirs).toEqual([path.join(rootOf(m1.cfg.nodeHostDir, 1n), 'snapshot-000000000000000A')]);
      expect(r1.staleEntries).toBeUndefined();
      expect(r1.files.map((f) => [f.name, f.how])).toEqual([[GBSNAP, 'copied']]);
      expect(r1.dataStatus.map((d) => d.outcome)).toEqual(['ok']);
      expect(codes(r1)).toEqual(['entries-discarded']);

      expect(r4.before.snapshot).toBeUndefined();
      expect(r4.before.raftState).toBeUndefined();
      expect(r4.after.snapshot).toEqual(expectedRecord(exp, m4.nodeHostDir, 4n, expectedMembership(SOURCE_CCID)));
      expect(r4.dataStatus.map((d) => d.outcome)).toEqual(['would-create']);
      await expect(fsp.stat(m4.nodeHostDir)).rejects.toThrow(/ENOENT/);
    } finally {
      await fsp.rm(root, { recursive: true, force: true });
    }
  });
});

describe('partition of a shard with LogDBShards 16 and ExecShards 12', () => {
  it('writes shard 20 into logdb-4, where Dragonboat v4 reads it ((20 % 16) % 12), and nowhere else', async () => {
    const root = await makeTempDir('nht-import-part-');
    try {
      const exp = await makeExport(path.join(root, 'export'), { shardId: 20n });
      const config: NodeHostConfig = { ...freshConfig(root, M4, 'm4'), logDBShards: 16, execShards: 12 };
      await importSnapshot(config, exp.dir, workedMembers(), 4, { engine: 'js' });
      const cfg = resolveNodeHostConfig(config);
      const parts = (await fsp.readdir(path.dirname(partitionDir(cfg)))).filter((n) => n.startsWith('logdb-'));
      expect(parts).toEqual(['logdb-4']);
      const view = await inspectNode(config, 20n, 4n);
      expect(view.partitionDir).toBe(partitionDir(cfg, 4));
      expect(view.snapshot?.index).toBe(INDEX);
    } finally {
      await fsp.rm(root, { recursive: true, force: true });
    }
  });
});
