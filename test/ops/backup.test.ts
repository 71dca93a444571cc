import { mkdirSync, rmSync } from 'node:fs';
import { rm } from 'node:fs/promises';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { ErrAlreadyExists, ErrBackupMismatch } from '../../src/errors.js';
import { restoreBackup } from '../../src/ops/backup.js';
import { exportSnapshot } from '../../src/ops/export.js';
import { importSnapshot } from '../../src/ops/import.js';
import { inspectNode } from '../../src/ops/inspect.js';
import { logdbPartitionDir, snapshotRootDir } from '../../src/nodehost/paths.js';
import { makeRunningNode, makeTempDir, type RunningNode } from '../helpers/nodehost.js';
import { treeHash, treeSnapshot } from '../helpers/tree.js';
import { hex, rawDump } from './fixtures.js';
import { workedMembers } from '../helpers/worked-example.js';

const cleanups: (() => Promise<void>)[] = [];
afterEach(async () => {
  for (const c of cleanups.splice(0)) await c();
});

async function tmp(): Promise<string> {
  const d = await makeTempDir('nht-backup-');
  cleanups.push(() => rm(d, { recursive: true, force: true }));
  return d;
}

/** Every raw key/value of the node's partition, hex, plus its snapshot root's tree. */
async function nodeState(n: RunningNode): Promise<{ kv: string[]; snapshots: Record<string, string> }> {
  // Through the shared dump: LevelDB or Pebble, whichever store the suite runs on.
  const kv = (await rawDump(logdbPartitionDir(n.cfg, n.shardId))).map((e) => `${hex(e.key)}=${hex(e.value)}`);
  return { kv, snapshots: await treeSnapshot(snapshotRootDir(n.cfg, n.shardId, n.replicaId)) };
}

const MEMBERS = workedMembers();

describe('import --backup and restoreBackup', () => {
  it('puts the node back exactly: records, entries and snapshot directories', async () => {
    const m1 = await makeRunningNode({ entries: 30, snapshotIndex: 10n, batched: false });
    cleanups.push(m1.cleanup);
    // A newer snapshot from another replica is what gets imported here.
    const m2 = await makeRunningNode({ entries: 30, snapshotIndex: 25n, replicaId: 2n, config: { raftAddress: 'm2:63001' } });
    cleanups.push(m2.cleanup);
    // A leftover temp directory is part of what the import removes and the restore brings back.
    mkdirSync(join(m1.snapshotDir!, '..', 'snapshot-0000000000000009-1.generating'));
    const before = await nodeState(m1);
    const { exportDir } = await exportSnapshot(m2.config, 100n, 2n, await tmp(), { engine: 'js' });

    const backupDir = join(await tmp(), 'backup-m1');
    const res = await importSnapshot(m1.config, exportDir, MEMBERS, 1, { engine: 'js', backupDir });
    expect(res.backup?.plainEntries).toBe(30);
    expect(res.backup?.records).toBe(4); // raft state, max index, bootstrap, snapshot
    expect(res.backup?.snapshotDirs).toEqual(['snapshot-0000000000000009-1.generating', 'snapshot-000000000000000A']);
    expect((await inspectNode(m1.config, 100n, 1n)).snapshot?.index).toBe(25n);
    expect(await nodeState(m1)).not.toEqual(before);

    const restored = await restoreBackup(backupDir, m1.config);
    expect(restored.fromSnapshotIndex).toBe(25n);
    expect(restored.toSnapshotIndex).toBe(10n);
    expect(await nodeState(m1)).toEqual(before);
    const view = await inspectNode(m1.config, 100n, 1n);
    expect(view.snapshot?.index).toBe(10n);
    expect(view.entries.count).toBe(21n);
  });

  it("undoes an import that reused the node's own snapshot directory", async () => {
    const m1 = await makeRunningNode({ entries: 20, snapshotIndex: 10n, batched: true });
    cleanups.push(m1.cleanup);
    const before = await nodeState(m1);
    const { exportDir } = await exportSnapshot(m1.config, 100n, 1n, await tmp(), { engine: 'js' });
    const backupDir = join(await tmp(), 'b');
    const res = await importSnapshot(m1.config, exportDir, MEMBERS, 1, { engine: 'js', backupDir });
    expect(res.files[0]!.how).toBe('reused');
    expect(res.backup?.entryBatches).toBeGreaterThan(0);
    await restoreBackup(backupDir, m1.config);
    expect(await nodeState(m1)).toEqual(before);
  });

  it("refuses another node's backup and an existing backup directory, changing nothing", async () => {
    const m1 = await makeRunningNode({ entries: 20, snapshotIndex: 10n });
    cleanups.push(m1.cleanup);
    const { exportDir } = await exportSnapshot(m1.config, 100n, 1n, await tmp(), { engine: 'js' });
    const taken = await tmp();
    const treeBefore = await treeHash(m1.root);
    await expect(importSnapshot(m1.config, exportDir, MEMBERS, 1, { engine: 'js', backupDir: taken })).rejects.toBeInstanceOf(
      ErrAlreadyExists,
    );
    expect(await treeHash(m1.root)).toBe(treeBefore);

    const backupDir = join(await tmp(), 'b');
    await importSnapshot(m1.config, exportDir, MEMBERS, 1, { engine: 'js', backupDir });
    const other = { ...m1.config, raftAddress: 'm9:63001' };
    const err = await restoreBackup(backupDir, other).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(ErrBackupMismatch);
    expect((err as ErrBackupMismatch).details.check).toBe('raftAddress');
    rmSync(join(backupDir, 'nodehost-backup.json'));
    const incomplete = await restoreBackup(backupDir, m1.config).catch((e: unknown) => e);
    expect((incomplete as ErrBackupMismatch).details.check).toBe('backup-meta');
  });
});
