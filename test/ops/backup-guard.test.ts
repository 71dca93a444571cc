/**
 * restore-backup never rolls a node back over history the repaired shard
 * made (issue 10 #1). The backup records what the import wrote; the restore
 * proceeds only while the node's records are still exactly those (or still
 * the pre-import ones: the import never committed), and otherwise refuses
 * with ErrBackupMismatch `node-moved-on`, every byte unchanged.
 *
 * The case that matters is the survivor, the node whose own snapshot was
 * exported: its snapshot index does not change with the import, so an index
 * comparison cannot tell "just imported" from "ran since".
 */
import { rm } from 'node:fs/promises';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { ErrBackupMismatch } from '../../src/errors.js';
import { LogDB } from '../../src/logdb/logdb.js';
import { createBackup, restoreBackup } from '../../src/ops/backup.js';
import { resolveNodeHostConfig } from '../../src/nodehost/config.js';
import { exportSnapshot } from '../../src/ops/export.js';
import { importSnapshot } from '../../src/ops/import.js';
import { inspectNode } from '../../src/ops/inspect.js';
import type { RaftState } from '../../src/records/types.js';
import { makeEntries, makeRunningNode, makeTempDir, type RunningNode } from '../helpers/nodehost.js';
import { treeHash } from '../helpers/tree.js';
import { expectCodedRejection, nodeState } from './fixtures.js';
import { workedMembers } from '../helpers/worked-example.js';

const cleanups: (() => Promise<void>)[] = [];
afterEach(async () => {
  for (const c of cleanups.splice(0)) await c();
});

async function tmp(): Promise<string> {
  const d = await makeTempDir('nht-guard-');
  cleanups.push(() => rm(d, { recursive: true, force: true }));
  return d;
}

const MEMBERS = workedMembers();

/** The survivor m1 (snapshot 400 term 5, entries 1..620), imported from its own export with a backup. */
async function importedSurvivor(): Promise<{ m1: RunningNode; backupDir: string; before: Awaited<ReturnType<typeof nodeState>> }> {
  const m1 = await makeRunningNode({ entries: 620, snapshotIndex: 400n, term: 5n });
  cleanups.push(m1.cleanup);
  const before = await nodeState(m1.root, m1.config);
  const { exportDir } = await exportSnapshot(m1.config, 100n, 1n, await tmp(), { engine: 'js' });
  const backupDir = join(await tmp(), 'undo-m1');
  const res = await importSnapshot(m1.config, exportDir, MEMBERS, 1, { engine: 'js', backupDir });
  expect(res.files[0]!.how).toBe('reused');
  expect(res.after.snapshot.index).toBe(400n);
  return { m1, backupDir, before };
}

/** What the repaired shard's NodeHost writes when it runs: a hard state and, optionally, new entries. */
async function run(m1: RunningNode, state: RaftState, entries: [bigint, bigint, bigint] | undefined): Promise<void> {
  const db = await LogDB.open(m1.cfg);
  try {
    await db.saveRaftState([
      {
        shardId: 100n,
        replicaId: 1n,
        state,
        ...(entries ? { entries: makeEntries(entries[0], entries[1], entries[2]) } : {}),
      },
    ]);
  } finally {
    await db.close();
  }
}

describe('restore-backup refuses a node that has moved on since the import', () => {
  it.each([
    ['the shard ran: term 6, vote 4, entries 401..450 of term 6, commit 450', { term: 6n, vote: 4n, commit: 450n }, [401n, 450n, 6n]],
    ['only the vote changed', { term: 5n, vote: 4n, commit: 400n }, undefined],
    ['only the term changed', { term: 6n, vote: 0n, commit: 400n }, undefined],
  ] as const)('%s: ErrBackupMismatch node-moved-on, nothing changed', async (_what, state, entries) => {
    const { m1, backupDir } = await importedSurvivor();
    await run(m1, state, entries ? [...entries] : undefined);
    const view = await inspectNode(m1.config, 100n, 1n);
    expect(view.raftState).toEqual(state);
    const tree = await treeHash(m1.root);
    const backupTree = await treeHash(backupDir);
    const e = await expectCodedRejection(restoreBackup(backupDir, m1.config), ErrBackupMismatch);
    expect(e.details.check).toBe('node-moved-on');
    expect(e.message).toMatch(/raft state/);
    expect(await treeHash(m1.root)).toBe(tree);
    expect(await treeHash(backupDir)).toBe(backupTree);
  });

  it('right after the import (nothing ran), the restore puts the survivor back exactly', async () => {
    const { m1, backupDir, before } = await importedSurvivor();
    await restoreBackup(backupDir, m1.config);
    expect(await nodeState(m1.root, m1.config)).toEqual(before);
  });

  it('a restore run again after it finished (the node holds the pre-import records) converges, changing nothing', async () => {
    const { m1, backupDir, before } = await importedSurvivor();
    await restoreBackup(backupDir, m1.config);
    await restoreBackup(backupDir, m1.config);
    expect(await nodeState(m1.root, m1.config)).toEqual(before);
  });
});

describe('a backup that records what the import wrote', () => {
  it('tells "just imported" from "imported again since" byte for byte', async () => {
    const m1 = await makeRunningNode({ entries: 620, snapshotIndex: 400n, term: 5n });
    cleanups.push(m1.cleanup);
    const before = await nodeState(m1.root, m1.config);
    const { exportDir } = await exportSnapshot(m1.config, 100n, 1n, await tmp(), { engine: 'js' });
    const dry = await importSnapshot(m1.config, exportDir, MEMBERS, 1, { engine: 'js', dryRun: true });
    const backupDir = join(await tmp(), 'undo-m1');
    const info = await createBackup(resolveNodeHostConfig(m1.config), 100n, 1n, backupDir, undefined, dry.after);
    expect(info.after?.size).toBe(4);

    await importSnapshot(m1.config, exportDir, MEMBERS, 1, { engine: 'js' });
    // Imported again with another membership: still an imported snapshot, but not what this import wrote.
    await importSnapshot(m1.config, exportDir, { 1: 'm1:63001', 6: 'm6:63001', 7: 'm7:63001' }, 1, { engine: 'js' });
    const tree = await treeHash(m1.root);
    const e = await expectCodedRejection(restoreBackup(backupDir, m1.config), ErrBackupMismatch);
    expect(e.details.check).toBe('node-moved-on');
    expect(await treeHash(m1.root)).toBe(tree);

    // Back to exactly what the recorded import wrote: the restore proceeds.
    await importSnapshot(m1.config, exportDir, MEMBERS, 1, { engine: 'js' });
    await restoreBackup(backupDir, m1.config);
    expect(await nodeState(m1.root, m1.config)).toEqual(before);
  });
});
