/**
 * `nodehost import --backup <dir>` and `nodehost restore-backup <dir>` as
 * child processes on the worked example's survivor m1: the restore puts the
 * node back exactly (raw LevelDB keys and values of its partition, and its
 * snapshot root's tree), refuses another node's configuration, and a backup
 * into an existing directory is refused before anything is written.
 */
import { existsSync, mkdirSync, readdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { resolveNodeHostConfig } from '../../src/nodehost/config.js';
import { logdbPartitionDir, snapshotRootDir } from '../../src/nodehost/paths.js';
import { treeHash, treeSnapshot } from '../helpers/tree.js';
import { LAST_INDEX, importArgs, workedExample, type Host, type WorkedExample } from './fixture.js';
import { SHARD, SNAPSHOT_INDEX } from '../helpers/worked-example.js';
import { expectError, expectOk, runCli, writeConfig } from './run.js';
import { hex, rawDump } from '../ops/fixtures.js';

/** Every raw key/value of the host's log store partition of the shard (hex), and its snapshot root's tree. */
async function nodeState(h: Host, replicaId: bigint): Promise<{ kv: string[]; snapshots: Record<string, string> }> {
  const cfg = resolveNodeHostConfig(h.config);
  // Through the shared dump: LevelDB or Pebble, whichever store the suite runs on.
  const kv = (await rawDump(logdbPartitionDir(cfg, SHARD))).map((e) => `${hex(e.key)}=${hex(e.value)}`);
  return { kv, snapshots: await treeSnapshot(snapshotRootDir(cfg, SHARD, replicaId)) };
}

describe('nodehost import --backup, then restore-backup', () => {
  let ex: WorkedExample;
  beforeEach(async () => {
    ex = await workedExample(64 * 1024);
  });
  afterEach(() => ex.cleanup());

  it('puts the node back exactly: every key and value of the partition, every file of the snapshot root', async () => {
    const before = await nodeState(ex.m1, 1n);
    expect(before.kv.length).toBeGreaterThan(Number(LAST_INDEX));
    const backup = join(ex.root, 'backups', 'm1-shard100');
    mkdirSync(join(ex.root, 'backups'));

    const imp = expectOk(await runCli(importArgs(ex, ex.m1, '--backup', backup, '--json')));
    expect(imp.backup).toMatchObject({
      dir: backup,
      shardId: '100',
      replicaId: '1',
      raftAddress: 'm1:63001',
      plainEntries: Number(LAST_INDEX),
      entryBatches: 0,
      snapshotDirs: ['snapshot-0000000000000190'],
      snapshotIndex: String(SNAPSHOT_INDEX),
    });
    expect(imp.after.snapshot.imported).toBe(true);
    expect(readdirSync(backup).sort()).toEqual(['logstore.kv', 'nodehost-backup.json', 'snapshots']);
    expect(await nodeState(ex.m1, 1n)).not.toEqual(before);

    // Human output names the undo.
    const human = await runCli(['restore-backup', backup, '--config', ex.m1.configFile]);
    expect(human.status, human.stderr).toBe(0);
    expect(human.stdout).toContain(`Restored shard ${SHARD} replica 1 from ${backup}`);
    expect(human.stdout).toContain(`${LAST_INDEX} entries, 0 entry batches, 1 snapshot directory`);
    expect(await nodeState(ex.m1, 1n)).toEqual(before);

    const view = expectOk(await runCli(['inspect', '--config', ex.m1.configFile, '--shard-id', '100', '--replica-id', '1', '--json']));
    expect(view.snapshot.index).toBe(String(SNAPSHOT_INDEX));
    expect(view.snapshot.imported).toBe(false);
    expect(view.maxIndex).toBe(String(LAST_INDEX));
    expect(view.fingerprint).toBeNull();

    // Rerunning the restore converges: the node is already the backup's.
    const again = expectOk(await runCli(['restore-backup', backup, '--config', ex.m1.configFile, '--json']));
    expect(again.restored.backup.dir).toBe(backup);
    expect(again.restored.toSnapshotIndex).toBe(String(SNAPSHOT_INDEX));
    expect(await nodeState(ex.m1, 1n)).toEqual(before);
  });

  it("restore-backup with another host's configuration: exit 1 ErrBackupMismatch, nothing changed", async () => {
    const backup = join(ex.root, 'bk');
    expectOk(await runCli(importArgs(ex, ex.m1, '--backup', backup, '--json')));
    const m1Tree = await treeHash(ex.m1.dir);

    const m4 = expectError(await runCli(['restore-backup', backup, '--config', ex.m4.configFile, '--json']), 'ErrBackupMismatch', 1);
    expect(m4.details).toMatchObject({ check: 'nodeHostDir', expected: ex.m1.config.nodeHostDir, actual: ex.m4.config.nodeHostDir });
    // The same directory under another address is another node too.
    const moved = writeConfig(ex.root, { ...ex.m1.config, raftAddress: 'm9:63001' }, 'm1-moved.json');
    const err = expectError(await runCli(['restore-backup', backup, '--config', moved, '--json']), 'ErrBackupMismatch', 1);
    expect(err.details).toMatchObject({ check: 'raftAddress', expected: 'm1:63001', actual: 'm9:63001' });
    const human = await runCli(['restore-backup', backup, '--config', ex.m4.configFile]);
    expect(human.status).toBe(1);
    expect(human.stderr).toMatch(/ErrBackupMismatch: the backup in .* was taken for another node/);
    expect(await treeHash(ex.m1.dir)).toBe(m1Tree);
    expect(existsSync(ex.m4.dir)).toBe(false);

    // Usage errors: no backup directory, no config.
    expectError(await runCli(['restore-backup', '--config', ex.m1.configFile, '--json']), 'ErrUsage', 2);
    expectError(await runCli(['restore-backup', backup, '--json']), 'ErrUsage', 2);
    expect(await treeHash(ex.m1.dir)).toBe(m1Tree);
  });

  it('--backup into an existing directory: exit 1 ErrAlreadyExists, the node and the directory unchanged', async () => {
    const taken = join(ex.root, 'taken');
    mkdirSync(taken);
    writeFileSync(join(taken, 'keep.txt'), 'an earlier backup');
    const m1Tree = await treeHash(ex.m1.dir);
    const takenTree = await treeHash(taken);
    const err = expectError(await runCli(importArgs(ex, ex.m1, '--backup', taken, '--json')), 'ErrAlreadyExists', 1);
    expect(err.message).toContain(taken);
    expect(await treeHash(ex.m1.dir)).toBe(m1Tree);
    expect(await treeHash(taken)).toBe(takenTree);
    // On a fresh host too: nothing is created.
    expectError(await runCli(importArgs(ex, ex.m4, '--backup', taken, '--json')), 'ErrAlreadyExists', 1);
    expect(existsSync(ex.m4.dir)).toBe(false);
  });
});
