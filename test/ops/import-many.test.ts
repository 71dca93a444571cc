import { writeFileSync } from 'node:fs';
import { TEST_LOGDB_TYPE } from '../helpers/store.js';
import { rm } from 'node:fs/promises';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { ErrInvalidConfig } from '../../src/errors.js';
import { exportSnapshot } from '../../src/ops/export.js';
import { importMany, loadImportManifest } from '../../src/ops/import-many.js';
import { inspectNode } from '../../src/ops/inspect.js';
import { makeRunningNode, makeTempDir } from '../helpers/nodehost.js';

const cleanups: (() => Promise<void>)[] = [];
afterEach(async () => {
  for (const c of cleanups.splice(0)) await c();
});

async function tmp(): Promise<string> {
  const d = await makeTempDir('nht-many-');
  cleanups.push(() => rm(d, { recursive: true, force: true }));
  return d;
}

async function exportOf(shardId: bigint, backup: string): Promise<string> {
  const n = await makeRunningNode({ shardId, entries: 12, snapshotIndex: 10n });
  cleanups.push(n.cleanup);
  return (await exportSnapshot(n.config, shardId, 1n, backup, { engine: 'js' })).exportDir;
}

describe('importMany', () => {
  it('imports many shards, serializing shards of one partition, and lists the failures to retry', async () => {
    const backup = await tmp();
    // Shards 100 and 116 share log store partition 4; 101 is in partition 5.
    const e100 = await exportOf(100n, join(backup, 's100'));
    const e116 = await exportOf(116n, join(backup, 's116'));
    const e101 = await exportOf(101n, join(backup, 's101'));
    const host = await tmp();
    const config = { nodeHostDir: join(host, 'nh'), raftAddress: 'm4:63001', hostname: 'testhost', logdbType: TEST_LOGDB_TYPE };
    const members = { 1: 'm1:63001', 4: 'm4:63001' };
    const manifest = join(host, 'imports.json');
    writeFileSync(
      manifest,
      JSON.stringify({
        imports: [
          { shardId: '100', src: e100, members, replicaId: 4 },
          { src: e116, members: '1=m1:63001,4=m4:63001', replicaId: 4 },
          { shardId: 999, src: e101, members, replicaId: 4 },
          { src: join(backup, 'missing'), members, replicaId: 4 },
          { src: e101, members, replicaId: 4 },
        ],
      }),
    );
    const jobs = await loadImportManifest(manifest);
    expect(jobs).toHaveLength(5);
    const done: number[] = [];
    const res = await importMany(config, jobs, { engine: 'js', concurrency: 2, onJobDone: (o) => done.push(o.job) });
    expect(res.ok).toBe(false);
    expect(
      res.outcomes
        .filter((o) => ![2, 3].includes(o.job) && o.error)
        .map((o) => o.error!.message)
        .join('\n')
        .replace(/\/tmp\/nht-many-\w+/g, 'T'),
    ).toBe('');
    expect(res.retry).toEqual([2, 3]);
    expect(res.outcomes[2]!.error?.code).toBe('ErrInvalidConfig');
    expect(res.outcomes[3]!.error?.code).toBe('ErrPathNotExist');
    expect(done.sort()).toEqual([0, 1, 2, 3, 4]);
    for (const s of [100n, 116n, 101n]) {
      const v = await inspectNode(config, s, 4n);
      expect(v.snapshot?.index).toBe(10n);
      expect([...v.snapshot!.membership.addresses.keys()]).toEqual([1n, 4n]);
    }
  });

  it('refuses a malformed manifest with the place named', async () => {
    const d = await tmp();
    const p = join(d, 'bad.json');
    writeFileSync(p, JSON.stringify({ imports: [{ src: 'x', members: { 1: 'a' }, replicaId: 1, configChangeId: 'bogus' }] }));
    const err = await loadImportManifest(p).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(ErrInvalidConfig);
    expect((err as ErrInvalidConfig).message).toMatch(/imports\[0\].*configChangeId/);
  });
});
