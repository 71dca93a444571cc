/** The directory skeleton, and the test helpers that lay out a running node on top of it. */
import * as fs from 'node:fs';
import * as path from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { readFlagFile } from '../../src/files/flagfile.js';
import { LogDB } from '../../src/logdb/logdb.js';
import { resolveNodeHostConfig } from '../../src/nodehost/config.js';
import { ensureNodeHostDirs } from '../../src/nodehost/layout.js';
import { lockStatus } from '../../src/nodehost/lock.js';
import { listSnapshotDirs, restartFate } from '../../src/nodehost/snapshotdirs.js';
import { decodeRaftDataStatus } from '../../src/records/codec.js';
import { makeRunningNode, makeTempDir } from '../helpers/nodehost.js';
import { treeHash, treeSnapshot } from '../helpers/tree.js';

let root: string;
beforeEach(async () => {
  root = await makeTempDir('nht-layout-');
});
afterEach(() => {
  fs.rmSync(root, { recursive: true, force: true });
});

describe('ensureNodeHostDirs', () => {
  it('creates NodeHostDir/H/D and WALDir/H/D once', async () => {
    const cfg = resolveNodeHostConfig({
      nodeHostDir: path.join(root, 'nh'),
      walDir: path.join(root, 'wal'),
      raftAddress: 'a:1',
      hostname: 'h',
      deploymentId: 3,
      logdbType: 'sharded-leveldb',
    });
    const created = await ensureNodeHostDirs(cfg);
    expect(created).toEqual([
      path.join(root, 'nh'),
      path.join(root, 'nh', 'h'),
      path.join(root, 'nh', 'h', '00000000000000000003'),
      path.join(root, 'wal'),
      path.join(root, 'wal', 'h'),
      path.join(root, 'wal', 'h', '00000000000000000003'),
    ]);
    expect(await ensureNodeHostDirs(cfg)).toEqual([]);
  });
});

describe('tree helper', () => {
  it('sees content, mode and new files, and nothing else', async () => {
    fs.mkdirSync(path.join(root, 'd'));
    fs.writeFileSync(path.join(root, 'd', 'f'), 'abc');
    const a = await treeSnapshot(root);
    const h = await treeHash(root);
    expect(Object.keys(a)).toEqual(['d', 'd/f']);
    fs.utimesSync(path.join(root, 'd', 'f'), new Date(0), new Date(0));
    expect(await treeHash(root)).toBe(h); // times do not count
    fs.writeFileSync(path.join(root, 'd', 'f'), 'abd');
    expect(await treeHash(root)).not.toBe(h);
    fs.writeFileSync(path.join(root, 'd', 'f'), 'abc');
    fs.chmodSync(path.join(root, 'd', 'f'), 0o600);
    expect(await treeSnapshot(root)).not.toEqual(a);
    fs.writeFileSync(path.join(root, 'g'), '');
    expect(Object.keys(await treeSnapshot(root))).toEqual(['d', 'd/f', 'g']);
    expect(await treeSnapshot(path.join(root, 'none'))).toEqual({});
  });
});

describe('makeRunningNode helper', () => {
  it('lays out a restartable node: ds, LOCK, records, entries and a verifiable snapshot', async () => {
    const node = await makeRunningNode({ root, entries: 25, snapshotIndex: 12n, walDir: true });
    const ds = await readFlagFile(path.join(node.cfg.nodeHostDir, 'dragonboat.ds'), decodeRaftDataStatus);
    expect(ds).toMatchObject({ address: 'm1:63001', hostname: 'testhost', binVer: 100, logdbType: 'sharded-leveldb' });
    expect(fs.existsSync(path.join(node.cfg.walDir!, 'dragonboat.ds'))).toBe(true);
    expect((await lockStatus(path.join(node.cfg.nodeHostDir, 'LOCK'))).lockedByOther).toBe(false);
    const file = fs.readFileSync(node.snapshotFile!);
    expect(BigInt(file.length)).toBe(node.snapshot!.fileSize);
    expect(file.subarray(file.length - 8).toString('hex')).toBe('3f5bcbf1faba819f'); // a v2 file's tail magic
    expect(path.basename(node.snapshotFile!)).toBe('snapshot-000000000000000C.gbsnap');
    const dirs = await listSnapshotDirs(path.dirname(node.snapshotDir!));
    expect(dirs.map((d) => restartFate(d, 12n))).toEqual(['keep']);
    const db = await LogDB.open(node.cfg, { readOnly: true });
    try {
      expect(await db.readRaftState(node.shardId, node.replicaId, 12n)).toEqual({
        state: { term: 3n, vote: 1n, commit: 25n },
        firstIndex: 12n,
        entryCount: 14n,
      });
      expect(await db.getSnapshot(node.shardId, node.replicaId)).toEqual(node.snapshot);
      expect((await db.getBootstrap(node.shardId, node.replicaId))!.addresses.size).toBe(3);
    } finally {
      await db.close();
    }
  });

  it('lays out a batched store and a not yet recorded snapshot flag', async () => {
    const node = await makeRunningNode({ root, batched: true, entries: 100, snapshotIndex: 60n, keepSnapshotFlag: true });
    const ds = await readFlagFile(path.join(node.cfg.nodeHostDir, 'dragonboat.ds'), decodeRaftDataStatus);
    expect(ds.binVer).toBe(210);
    const dirs = await listSnapshotDirs(path.dirname(node.snapshotDir!), { readFlags: true });
    expect(dirs[0]).toMatchObject({ hasFlagFile: true, flagIndex: 60n });
    const db = await LogDB.open(node.cfg, { readOnly: true });
    try {
      expect(await db.binaryFormat()).toBe(210);
      expect(await db.getEntryRange(node.shardId, node.replicaId, 60n)).toEqual({ firstIndex: 60n, entryCount: 41n });
    } finally {
      await db.close();
    }
  });
});
