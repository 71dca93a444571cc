/**
 * `importMany` commits every job of one log store partition in one batch: on
 * Pebble one drop-in WAL per partition, so the restarted NodeHost replays one
 * WAL into one L0 table instead of one per shard (Dragonboat's options stop
 * writes at 24 L0 tables: 100 shards repaired one WAL each would stall it).
 */
import { readdirSync } from 'node:fs';
import { rm } from 'node:fs/promises';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { exportSnapshot } from '../../src/ops/export.js';
import { importMany } from '../../src/ops/import-many.js';
import { inspectNode } from '../../src/ops/inspect.js';
import { makeRunningNode, makeTempDir } from '../helpers/nodehost.js';

const cleanups: (() => Promise<void>)[] = [];
afterEach(async () => {
  for (const c of cleanups.splice(0)) await c();
});

async function tmp(): Promise<string> {
  const d = await makeTempDir('nht-many-batch-');
  cleanups.push(() => rm(d, { recursive: true, force: true }));
  return d;
}

const pebble = { logdbType: 'sharded-pebble' } as const;

describe('importMany on Pebble', () => {
  it('writes one WAL per partition for all its shards, and each shard ends as a single import would leave it', async () => {
    const backup = await tmp();
    // 100, 116, 132, 148, 164 share partition 4; 101 is in partition 5.
    const shards = [100n, 116n, 132n, 148n, 164n, 101n];
    const exports: string[] = [];
    for (const s of shards) {
      const n = await makeRunningNode({ shardId: s, entries: 12, snapshotIndex: 10n, config: pebble });
      cleanups.push(n.cleanup);
      exports.push((await exportSnapshot(n.config, s, 1n, join(backup, `s${s}`), { engine: 'js' })).exportDir);
    }
    // m1 holds all six shards' histories (replica 1), in two partitions.
    const m1 = await makeRunningNode({ shardId: 100n, entries: 30, snapshotIndex: 10n, config: pebble });
    cleanups.push(m1.cleanup);
    for (const s of shards.slice(1)) await makeRunningNode({ root: m1.root, shardId: s, entries: 30, snapshotIndex: 10n, config: pebble });
    const p4 = join(m1.cfg.nodeHostDir, 'testhost', '00000000000000000001', 'logdb-4');
    const p5 = join(m1.cfg.nodeHostDir, 'testhost', '00000000000000000001', 'logdb-5');
    const wals = (dir: string): string[] =>
      readdirSync(dir)
        .filter((f) => f.endsWith('.log'))
        .sort();
    const before4 = wals(p4);
    const before5 = wals(p5);
    const members = { 1: 'm1:63001', 4: 'm4:63001', 5: 'm5:63001' };
    const res = await importMany(
      m1.config,
      exports.map((src) => ({ src, members, replicaId: 1n })),
      { engine: 'js' },
    );
    expect(res.retry).toEqual([]);
    expect(wals(p4).length).toBe(before4.length + 1);
    expect(wals(p5).length).toBe(before5.length + 1);
    for (const s of shards) {
      const v = await inspectNode(m1.config, s, 1n);
      expect(v.raftState).toEqual({ term: 3n, vote: 0n, commit: 10n });
      expect(v.snapshot?.imported).toBe(true);
      expect([...v.snapshot!.membership.addresses.keys()]).toEqual([1n, 4n, 5n]);
      expect(v.entries.count).toBe(0n);
      expect(v.maxIndex).toBe(10n);
    }
  });

  it('a job that fails validation leaves the others to commit together; a job naming a replica twice is refused', async () => {
    const backup = await tmp();
    const n = await makeRunningNode({ shardId: 100n, entries: 12, snapshotIndex: 10n, config: pebble });
    cleanups.push(n.cleanup);
    const e100 = (await exportSnapshot(n.config, 100n, 1n, join(backup, 's100'), { engine: 'js' })).exportDir;
    const host = await tmp();
    const m4 = { nodeHostDir: join(host, 'nh'), raftAddress: 'm4:63001', hostname: 'testhost', ...pebble };
    const members = { 1: 'm1:63001', 4: 'm4:63001' };
    const res = await importMany(
      m4,
      [
        { src: e100, members, replicaId: 4n },
        { src: e100, members, replicaId: 4n },
        { src: e100, members: { 1: 'm1:63001' }, replicaId: 4n },
      ],
      { engine: 'js' },
    );
    expect(res.retry).toEqual([1, 2]);
    expect(res.outcomes[1]!.error).toMatchObject({ code: 'ErrInvalidConfig' });
    expect(res.outcomes[1]!.error!.message).toMatch(/again \(first in imports\[0\]\)/);
    expect(res.outcomes[2]!.error).toMatchObject({ code: 'ErrInvalidMembers' });
    expect((await inspectNode(m4, 100n, 4n)).snapshot?.index).toBe(10n);
  });
});
