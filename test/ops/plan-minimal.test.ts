/**
 * `plan`'s minimal-loss repair on real log stores (the suite runs on LevelDB
 * and Pebble, plain and batched entries): an export at 400 (term 5) taken on
 * m1, whose log goes on to 620 with a membership change at 450; m4 with a
 * shorter log of the same history; m5 diverged at the anchor (term 4 at
 * 400) with a longer log; m6 with a gap. The hosts read through their
 * configurations and through their `inspect --json` views give the same plan.
 */
import { rm } from 'node:fs/promises';
import * as path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { nodeViewJson } from '../../src/cli/commands/inspect.js';
import { LogDB } from '../../src/logdb/logdb.js';
import { exportSnapshot } from '../../src/ops/export.js';
import { inspectNode } from '../../src/ops/inspect.js';
import { type InspectJson, type PlanHost, type PlanResult, planRecovery } from '../../src/ops/plan.js';
import type { LogCheck } from '../../src/ops/survivor.js';
import { EntryType } from '../../src/records/types.js';
import { makeEntries, makeRunningNode, makeTempDir, type RunningNode } from '../helpers/nodehost.js';
import { treeHash } from '../helpers/tree.js';

const SHARD = 100n;
const MEMBERS = { 1: 'm1:63001', 4: 'm4:63001', 5: 'm5:63001', 6: 'm6:63001', 7: 'm7:63001' };

interface Host {
  node: RunningNode;
  replicaId: bigint;
}

/** A host of replica `replicaId` at `mN:63001` whose log holds the given runs of entries (each run one saveRaftState). */
async function host(
  replicaId: bigint,
  batched: boolean,
  first: { entries: number; snapshotIndex: bigint; term: bigint },
  more: { from: bigint; to: bigint; term: bigint; configChangeAt?: bigint }[] = [],
): Promise<Host> {
  const node = await makeRunningNode({
    replicaId,
    batched,
    config: { raftAddress: `m${replicaId}:63001` },
    entries: first.entries,
    snapshotIndex: first.snapshotIndex,
    term: first.term,
  });
  const db = await LogDB.open(node.cfg);
  try {
    for (const m of more) {
      const entries = makeEntries(m.from, m.to, m.term).map((e) =>
        e.index === m.configChangeAt ? { ...e, type: EntryType.ConfigChange, cmd: new TextEncoder().encode('add replica 9') } : e,
      );
      await db.saveRaftState([{ shardId: SHARD, replicaId, state: { term: m.term, vote: replicaId, commit: m.to }, entries }]);
    }
  } finally {
    await db.close();
  }
  return { node, replicaId };
}

async function viewOf(h: Host): Promise<PlanHost> {
  const view = JSON.parse(JSON.stringify(nodeViewJson(await inspectNode(h.node.config, SHARD, h.replicaId)))) as InspectJson;
  return { kind: 'view', view, source: `m${h.replicaId}-inspect.json` };
}

const configOf = (h: Host): PlanHost => ({ kind: 'config', config: h.node.config, configPath: `/etc/m${h.replicaId}.json` });

/** The plan's minimal-loss part without what names the hosts' configurations. */
function comparable(p: PlanResult): unknown {
  const m = p.minimalLoss!;
  return {
    ...m,
    exportCommand: undefined,
    commands: undefined,
    hosts: m.hosts.map((h) => ({ ...h, command: undefined })),
    checks: p.hosts.map((h) => h.logSuffix),
  };
}

describe.each([
  { name: 'plain entries', batched: false },
  { name: 'batched entries', batched: true },
])('plan, minimal-loss repair ($name)', ({ batched }) => {
  let m1: Host;
  let m4: Host;
  let m5: Host;
  let m6: Host;
  let exportRoot: string;
  let exportDir: string;

  beforeAll(async () => {
    // m1 took a snapshot at 400 (term 5) and went on to 620; 450 adds a replica.
    m1 = await host(1n, batched, { entries: 400, snapshotIndex: 400n, term: 5n }, [
      { from: 401n, to: 620n, term: 5n, configChangeAt: 450n },
    ]);
    // m4: the same history, to 500 only.
    m4 = await host(4n, batched, { entries: 500, snapshotIndex: 300n, term: 5n });
    // m5: partitioned away in term 4; its entry 400 is of term 4, and its log is the longest.
    m5 = await host(5n, batched, { entries: 700, snapshotIndex: 300n, term: 4n });
    // m6: the same history to 600, but entries 450..460 are missing.
    m6 = await host(6n, batched, { entries: 449, snapshotIndex: 300n, term: 5n }, [{ from: 461n, to: 600n, term: 5n }]);
    exportRoot = await makeTempDir('nht-plan-min-');
    exportDir = (await exportSnapshot(m1.node.config, SHARD, 1n, exportRoot, { engine: 'js' })).exportDir;
  });
  afterAll(async () => {
    for (const h of [m1, m4, m5, m6]) await h?.node.cleanup();
    if (exportRoot) await rm(exportRoot, { recursive: true, force: true });
  });

  it('chooses m1, states what each host keeps and loses with and without the log, lists the membership change, prints the commands', async () => {
    const hosts = [m1, m4, m5, m6];
    const before = await Promise.all(hosts.map((h) => treeHash(h.node.root)));
    const plan = await planRecovery(exportDir, MEMBERS, hosts.map(configOf), { engine: 'js' });
    expect(await Promise.all(hosts.map((h) => treeHash(h.node.root)))).toEqual(before);

    const [c1, c4, c5, c6] = plan.hosts.map((h) => h.logSuffix!) as [LogCheck, LogCheck, LogCheck, LogCheck];
    expect(c1).toMatchObject({ via: 'given-export', lastIndex: 620n, lastTerm: 5n, anchorTerm: 5n, problems: [] });
    expect(c4).toMatchObject({ via: 'given-export', lastIndex: 500n, lastTerm: 5n });
    expect(c5).toMatchObject({ via: null, lastIndex: 700n, lastTerm: 4n, anchorTerm: 4n });
    expect(c5.problems.map((p) => [p.code, p.index])).toEqual([['diverged', 400n]]);
    expect(c5.problems[0]!.message).toMatch(/term 4 at index 400 where the export has term 5.*ErrLogDiverged/);
    expect(c6).toMatchObject({ via: null, lastIndex: 600n });
    expect(c6.problems.map((p) => [p.code, p.index])).toEqual([['not-contiguous', 450n]]);
    expect(c6.problems[0]!.message).toMatch(/entries 450\.\.460 are missing/);

    const m = plan.minimalLoss!;
    expect(plan.minimalLossReasons).toEqual([]);
    expect(m).toMatchObject({
      survivor: { host: 'm1:63001', replicaId: 1n },
      source: 'given-export',
      snapshotIndex: 400n,
      snapshotTerm: 5n,
      firstIndex: 401n,
      lastIndex: 620n,
      lastTerm: 5n,
      entryCount: 220n,
      neutralized: [{ index: 450n, term: 5n }],
    });
    const byHost = Object.fromEntries(m.hosts.map((h) => [h.host, h]));
    expect(byHost['m1:63001']).toMatchObject({ kept: { first: 401n, last: 620n }, referenceLost: { first: 401n, last: 620n } });
    expect(byHost['m1:63001']!.lost).toBeUndefined();
    expect(byHost['m4:63001']).toMatchObject({ kept: { first: 401n, last: 500n }, referenceLost: { first: 401n, last: 500n } });
    expect(byHost['m4:63001']!.lost).toBeUndefined();
    // Diverged at the anchor: none of its entries after 400 is the survivor's.
    expect(byHost['m5:63001']).toMatchObject({ lost: { first: 401n, last: 700n }, referenceLost: { first: 401n, last: 700n } });
    expect(byHost['m5:63001']!.kept).toBeUndefined();
    // The gap loses nothing: the survivor carries 450..460 too.
    expect(byHost['m6:63001']).toMatchObject({ kept: { first: 401n, last: 600n }, referenceLost: { first: 401n, last: 600n } });
    expect(byHost['m6:63001']!.lost).toBeUndefined();

    const dest = path.join(path.dirname(exportDir), 'with-log');
    const newExport = path.join(dest, path.basename(exportDir));
    expect(m.dest).toBe(dest);
    expect(m.exportDir).toBe(newExport);
    expect(m.exportCommand).toBe(
      `nodehost export --config /etc/m1.json --shard-id 100 --replica-id 1 --dest ${dest} --with-log --snapshot-from ${exportDir}`,
    );
    const members = '1=m1:63001,4=m4:63001,5=m5:63001,6=m6:63001,7=m7:63001';
    expect(m.commands).toEqual([
      m.exportCommand,
      ...[1, 4, 5, 6].map(
        (r) =>
          `nodehost import --config /etc/m${r}.json --src ${newExport} --members ${members} --replica-id ${r} ` +
          `--backup ${path.join(dest, `undo-shard-100-replica-${r}`)} --yes`,
      ),
    ]);
    // The reference path is unchanged.
    expect(plan.hosts[0]!.command).toContain(`--src ${exportDir} `);
    expect(plan.hosts[0]!.discardedEntries).toEqual({ first: 401n, last: 620n, term: 5n, lastTerm: 5n });
  });

  it('the same plan from the hosts\u2019 inspect --json views', async () => {
    const hosts = [m1, m4, m5, m6];
    const fromConfigs = await planRecovery(exportDir, MEMBERS, hosts.map(configOf), { engine: 'js' });
    const fromViews = await planRecovery(exportDir, MEMBERS, await Promise.all(hosts.map(viewOf)), { engine: 'js' });
    expect(fromViews.minimalLoss).not.toBeNull();
    expect(comparable(fromViews)).toEqual(comparable(fromConfigs));
    expect(fromViews.minimalLoss!.exportCommand).toBe(
      `nodehost export --config '<config of m1:63001>' --shard-id 100 --replica-id 1 --dest ${fromConfigs.minimalLoss!.dest} --with-log --snapshot-from ${exportDir}`,
    );
    // A view without the log summary (an older inspect) cannot compete, and says why.
    const old = (await viewOf(m1)) as { kind: 'view'; view: InspectJson };
    delete old.view.log;
    const partial = await planRecovery(exportDir, MEMBERS, [old, configOf(m4)], { engine: 'js' });
    expect(partial.hosts[0]!.logSuffix!.problems[0]!.code).toBe('no-log');
    expect(partial.minimalLoss!.survivor.replicaId).toBe(4n);
    expect(partial.minimalLoss!.hosts[0]!.unknown).toMatch(/unknown/);
  });

  it('no host qualifies: minimalLoss null with every host\u2019s reason; the reference plan unchanged', async () => {
    const plan = await planRecovery(exportDir, MEMBERS, [configOf(m5), configOf(m6)], { engine: 'js' });
    expect(plan.minimalLoss).toBeNull();
    expect(plan.minimalLossReasons).toHaveLength(2);
    expect(plan.minimalLossReasons[0]).toMatch(/^m5:63001 \(replica 5\): diverged/);
    expect(plan.minimalLossReasons[1]).toMatch(/^m6:63001 \(replica 6\): not contiguous: entries 450\.\.460 are missing/);
    expect(plan.ok).toBe(true);
  });

  it('a host whose own snapshot is past the export and whose older entries are compacted qualifies through its own export', async () => {
    // m7: snapshot at 500, entries below 480 compacted, log to 650, all term 5.
    const m7 = await host(7n, batched, { entries: 650, snapshotIndex: 500n, term: 5n });
    try {
      const db = await LogDB.open(m7.node.cfg);
      try {
        await db.removeEntriesTo(SHARD, 7n, 480n);
      } finally {
        await db.close();
      }
      const plan = await planRecovery(exportDir, MEMBERS, [configOf(m1), configOf(m7)], { engine: 'js' });
      const c7 = plan.hosts[1]!.logSuffix!;
      expect(c7).toMatchObject({ via: 'own-export', base: { index: 500n, term: 5n }, lastIndex: 650n, problems: [] });
      const m = plan.minimalLoss!;
      expect(m).toMatchObject({
        survivor: { replicaId: 7n },
        source: 'own-export',
        snapshotIndex: 500n,
        firstIndex: 501n,
        lastIndex: 650n,
      });
      expect(m.neutralized).toEqual([]);
      expect(m.exportDir).toBe(path.join(m.dest, 'snapshot-00000000000001F4'));
      expect(m.exportCommand).toBe(`nodehost export --config /etc/m7.json --shard-id 100 --replica-id 7 --dest ${m.dest} --with-log`);
      // m1's entries to 620 are all of the survivor's history (term 5): kept; the new export covers them.
      expect(m.hosts[0]).toMatchObject({ host: 'm1:63001', kept: { first: 401n, last: 620n } });
      expect(m.hosts[0]!.lost).toBeUndefined();

      // The same from m7's view.
      const fromView = await planRecovery(exportDir, MEMBERS, [configOf(m1), await viewOf(m7)], { engine: 'js' });
      expect(comparable(fromView)).toEqual(comparable(plan));
    } finally {
      await m7.node.cleanup();
    }
  });
});
