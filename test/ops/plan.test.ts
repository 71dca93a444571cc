import { rm } from 'node:fs/promises';
import { TEST_LOGDB_TYPE } from '../helpers/store.js';
import * as path from 'node:path';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { exportSnapshot } from '../../src/ops/export.js';
import { importSnapshot } from '../../src/ops/import.js';
import { inspectNode } from '../../src/ops/inspect.js';
import { planRecovery } from '../../src/ops/plan.js';
import { makeRunningNode, makeTempDir } from '../helpers/nodehost.js';
import { treeHash } from '../helpers/tree.js';
import { workedMembers } from '../helpers/worked-example.js';

const cleanups: (() => Promise<void>)[] = [];
afterEach(async () => {
  for (const c of cleanups.splice(0)) await c();
});

async function tmp(): Promise<string> {
  const d = await makeTempDir('nht-plan-');
  cleanups.push(() => rm(d, { recursive: true, force: true }));
  return d;
}

const MEMBERS = workedMembers();

describe('planRecovery', () => {
  it('states per host what the import does and loses, writes nothing, and fingerprints the repair', async () => {
    const m1 = await makeRunningNode({ entries: 20, snapshotIndex: 10n, term: 3n });
    cleanups.push(m1.cleanup);
    const backup = await tmp();
    const { exportDir } = await exportSnapshot(m1.config, 100n, 1n, backup, { engine: 'js' });
    const m4root = await tmp();
    const m4 = { nodeHostDir: join(m4root, 'nh'), raftAddress: 'm4:63001', hostname: 'testhost', logdbType: TEST_LOGDB_TYPE };
    const m5view = {
      shardId: '100',
      replicaId: '5',
      nodeHostDir: '/elsewhere',
      hasState: false,
      maxIndex: null,
      raftState: null,
      snapshot: null,
    };
    const before1 = await treeHash(m1.root);
    const before4 = await treeHash(m4root);

    const plan = await planRecovery(
      exportDir,
      MEMBERS,
      [
        { kind: 'config', config: m1.config, configPath: '/etc/m1.json' },
        { kind: 'config', config: m4 },
        { kind: 'view', view: m5view, source: 'm5-inspect.json' },
      ],
      { engine: 'js' },
    );

    expect(await treeHash(m1.root)).toBe(before1);
    expect(await treeHash(m4root)).toBe(before4);
    expect(plan.ok).toBe(true);
    expect(plan.index).toBe(10n);
    expect(plan.removedReplicas).toEqual([2n, 3n]);
    expect(plan.uncoveredMembers).toEqual([]);
    expect(plan.fingerprint).toMatch(/^nhr1-[0-9a-f]{16}$/);

    const [h1, h4, h5] = plan.hosts;
    expect(h1!.replicaId).toBe(1n);
    expect(h1!.status).toBe('ready');
    expect(h1!.hasState).toBe(true);
    expect(h1!.discardedEntries).toEqual({ first: 11n, last: 20n, term: 3n, lastTerm: 3n });
    // A host with state to overwrite gets a backup first (the undo) and --yes (the prompt would otherwise ask).
    const undo = path.join(path.dirname(exportDir), 'undo-shard-100-replica-1');
    expect(h1!.command).toBe(
      'nodehost import --config /etc/m1.json --src ' +
        exportDir +
        ' --members 1=m1:63001,4=m4:63001,5=m5:63001 --replica-id 1 --backup ' +
        undo +
        ' --yes',
    );
    expect(h4!.command).not.toMatch(/--backup|--yes/);
    expect(h4!.replicaId).toBe(4n);
    expect(h4!.hasState).toBe(false);
    expect(h4!.discardedEntries).toBeUndefined();
    expect(h5!.status).toBe('unverified');
    expect(h5!.replicaId).toBe(5n);

    // The fingerprint is what import returns and what inspect shows afterwards.
    const res = await importSnapshot(m1.config, exportDir, MEMBERS, 1, { engine: 'js' });
    expect(res.fingerprint).toBe(plan.fingerprint);
    expect((await inspectNode(m1.config, 100n, 1n)).fingerprint).toBe(plan.fingerprint);
    const other = await planRecovery(exportDir, { 1: 'm1:63001', 6: 'm6:63001' }, [], { engine: 'js' });
    expect(other.fingerprint).not.toBe(plan.fingerprint);
    expect(other.uncoveredMembers).toEqual([1n, 6n]);
  });

  it('reports per-host failures and membership conflicts without throwing', async () => {
    const m1 = await makeRunningNode({ entries: 20, snapshotIndex: 10n });
    cleanups.push(m1.cleanup);
    const backup = await tmp();
    const { exportDir } = await exportSnapshot(m1.config, 100n, 1n, backup, { engine: 'js' });
    // Replica 2 keeps its ID but moves to another address: a conflict with the snapshot's membership.
    const plan = await planRecovery(
      exportDir,
      { 1: 'm1:63001', 2: 'm9:63001' },
      [{ kind: 'config', config: { ...m1.config, raftAddress: 'mX:1' } }],
      { engine: 'js' },
    );
    expect(plan.ok).toBe(false);
    expect(plan.problems.map((p) => p.code)).toEqual(['ErrInvalidMembers']);
    expect(plan.problems[0]!.message).toMatch(/node address changed/);
    expect(plan.hosts[0]!.status).toBe('error');
    expect(plan.hosts[0]!.error?.code).toBe('ErrInvalidMembers');
  });
});
