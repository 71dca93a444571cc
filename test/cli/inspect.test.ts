/** `nodehost inspect` as a user runs it: a child process on a real NodeHost directory. */
import { TEST_LOGDB_TYPE } from '../helpers/store.js';
import { mkdirSync } from 'node:fs';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { generatingDirName, snapshotRootDir } from '../../src/nodehost/paths.js';
import { makeRunningNode, type RunningNode } from '../helpers/nodehost.js';
import { tempDirs } from '../helpers/snapshots.js';
import { treeHash } from '../helpers/tree.js';
import { expectError, expectOk, runCli, runInProcess, writeConfig } from './run.js';

const dirs = tempDirs('nht-cli-inspect-');
const nodes: RunningNode[] = [];
afterEach(async () => {
  for (const n of nodes.splice(0)) await n.cleanup();
});

async function runningNode(opts: Parameters<typeof makeRunningNode>[0] = {}): Promise<{ node: RunningNode; config: string }> {
  const node = await makeRunningNode(opts);
  nodes.push(node);
  return { node, config: writeConfig(node.root, node.config) };
}

describe('nodehost inspect', () => {
  it("a running node's restart view in protobuf JSON form", async () => {
    const { node, config } = await runningNode();
    // A leftover of an interrupted snapshot: a restart deletes it.
    mkdirSync(join(snapshotRootDir(node.cfg, 100n, 1n), generatingDirName(15n, 1n)));
    const res = expectOk(await runCli(['inspect', '--config', config, '--shard-id', '100', '--replica-id', '1', '--json']));
    expect(res.shardId).toBe('100');
    expect(res.replicaId).toBe('1');
    expect(res.hasState).toBe(true);
    expect(res.nodeHostDir).toBe(node.cfg.nodeHostDir);
    // Entries 1..20, snapshot at 10: as Dragonboat's ReadRaftState, the range starts at the snapshot index.
    expect(res.entries).toEqual({ firstIndex: '10', count: '11', lastIndex: '20' });
    expect(res.snapshot.index).toBe('10');
    expect(res.snapshot.term).toBe('3');
    expect(res.snapshot.checksum).toMatch(/^[0-9a-f]{8}$/);
    expect(res.snapshotIndexes).toEqual(['10']);
    expect(res.maxIndex).toBe('20');
    expect(res.raftState).toEqual({ term: '3', vote: '1', commit: '20' });
    expect(res.bootstrap.join).toBe(false);
    expect(res.membership).toEqual({
      configChangeId: '7',
      addresses: { 1: 'm1:63001', 2: 'm2:63001', 3: 'm3:63001' },
      removed: {},
      nonVotings: {},
      witnesses: {},
    });
    const byName = Object.fromEntries(res.snapshotDirs.map((d: { name: string }) => [d.name, d]));
    expect(byName['snapshot-000000000000000A']).toMatchObject({ kind: 'final', index: '10', status: 'current', hasFlagFile: false });
    expect(byName['snapshot-000000000000000F-1.generating']).toMatchObject({ kind: 'generating', status: 'leftover-temp' });
    expect(res.locks.every((l: { lockedByOther: boolean }) => !l.lockedByOther)).toBe(true);
    expect(res.markedDeleted).toBe(false);
    // The stored log as plan reads it: every entry up to max index (below the snapshot too), term changes, holes.
    expect(res.log).toEqual({
      snapshotIndex: '10',
      snapshotTerm: '3',
      firstIndex: '1',
      lastIndex: '20',
      termRuns: [['1', '3']],
      gaps: [],
      undecodable: [],
      holesTruncatedAt: null,
      configChanges: [],
    });
  });

  it('human output by default names the records and directories', async () => {
    const { config } = await runningNode();
    const run = await runCli(['inspect', '--config', config, '--shard-id', '100', '--replica-id', '1']);
    expect(run.status).toBe(0);
    expect(run.stdout).toContain('shard 100 replica 1');
    expect(run.stdout).toMatch(/entries +10\.\.20 \(11 read on restart, from the snapshot index on\)/);
    expect(run.stdout).toMatch(/snapshot-000000000000000A +current/);
    expect(run.stdout).toMatch(/^ {2}stored log {5}entries 1\.\.20, terms 3 from 1$/m);
    expect(run.stdout).toContain('members {1=m1:63001, 2=m2:63001, 3=m3:63001}');
  });

  it('a node that never ran here: hasState false, exit 0, and nothing is created', async () => {
    const root = dirs.make();
    const nodeHostDir = join(root, 'nodehost');
    const config = writeConfig(root, { nodeHostDir, raftAddress: 'm9:63001', hostname: 'm9', logdbType: TEST_LOGDB_TYPE });
    const before = await treeHash(root);
    const res = expectOk(await runCli(['inspect', '--config', config, '--shard-id', '100', '--replica-id', '9', '--json']));
    expect(res.hasState).toBe(false);
    expect(res.snapshot).toBeNull();
    expect(res.bootstrap).toBeNull();
    expect(res.entries.count).toBe('0');
    expect(res.snapshotDirs).toEqual([]);
    expect(await treeHash(root)).toBe(before);
  });

  it('another replica on a running node: hasState false', async () => {
    const { config } = await runningNode();
    const res = expectOk(await runCli(['inspect', '--config', config, '--shard-id', '100', '--replica-id', '2', '--json']));
    expect(res.hasState).toBe(false);
  });

  it('does not change a byte of the NodeHost directory (log store included)', async () => {
    const { node, config } = await runningNode({ walDir: true, batched: true });
    const before = await treeHash(node.root);
    expectOk(await runCli(['inspect', '--config', config, '--shard-id', '100', '--replica-id', '1', '--json']));
    expect((await runCli(['inspect', '--config', config, '--shard-id', '100', '--replica-id', '1'])).status).toBe(0);
    expect(await treeHash(node.root)).toBe(before);
  });

  it('usage errors exit 2 before anything is read; a bad config file exits 1', async () => {
    const { config } = await runningNode();
    expectError(await runCli(['inspect', '--shard-id', '1', '--replica-id', '1', '--json']), 'ErrUsage', 2);
    expectError(await runInProcess(['inspect', '--config', config, '--replica-id', '1', '--json']), 'ErrUsage', 2);
    expectError(await runInProcess(['inspect', '--config', config, '--shard-id', 'x', '--replica-id', '1', '--json']), 'ErrUsage', 2);
    expectError(
      await runInProcess(['inspect', '--config', config, '--shard-id', '18446744073709551616', '--replica-id', '1', '--json']),
      'ErrUsage',
      2,
    );
    // A usage error wins over an unreadable config file: nothing is read before the arguments are checked.
    expectError(
      await runInProcess(['inspect', '--config', '/nonexistent.json', '--shard-id', 'x', '--replica-id', '1', '--json']),
      'ErrUsage',
      2,
    );
    const root = dirs.make();
    const bad = join(root, 'bad.json');
    writeConfig(root, { nodeHostDir: join(root, 'nh') } as never, 'bad.json');
    expectError(await runCli(['inspect', '--config', bad, '--shard-id', '1', '--replica-id', '1', '--json']), 'ErrInvalidConfig', 1);
  });
});
