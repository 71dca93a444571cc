/**
 * Where the NodeHost directory is (issue 10 #14): a nodeHostDir inside
 * another NodeHost directory (one level too deep, or a mistyped path under
 * it) is refused by every operation with nothing changed; a nodeHostDir that
 * does not exist is said plainly by plan and inspect (a fresh host).
 */
import { mkdirSync } from 'node:fs';
import { rm } from 'node:fs/promises';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { ErrInvalidConfig } from '../../src/errors.js';
import { resolveNodeHostConfig, type NodeHostConfig } from '../../src/nodehost/config.js';
import { exportSnapshot } from '../../src/ops/export.js';
import { importSnapshot } from '../../src/ops/import.js';
import { inspectNode } from '../../src/ops/inspect.js';
import { planRecovery } from '../../src/ops/plan.js';
import { TEST_LOGDB_TYPE } from '../helpers/store.js';
import { makeRunningNode, makeTempDir, type RunningNode } from '../helpers/nodehost.js';
import { treeHash } from '../helpers/tree.js';
import { expectCodedRejection } from './fixtures.js';
import { workedMembers } from '../helpers/worked-example.js';

const cleanups: (() => Promise<void>)[] = [];
afterEach(async () => {
  for (const c of cleanups.splice(0)) await c();
});

async function tmp(): Promise<string> {
  const d = await makeTempDir('nht-nhdir-');
  cleanups.push(() => rm(d, { recursive: true, force: true }));
  return d;
}

const MEMBERS = workedMembers();

async function survivor(opts: { walDir?: boolean } = {}): Promise<{ m1: RunningNode; exportDir: string }> {
  const m1 = await makeRunningNode({ entries: 20, snapshotIndex: 10n, ...opts });
  cleanups.push(m1.cleanup);
  const { exportDir } = await exportSnapshot(m1.config, 100n, 1n, await tmp(), { engine: 'js' });
  return { m1, exportDir };
}

describe('a nodeHostDir inside another NodeHost directory', () => {
  it('is refused by the configuration itself, naming the NodeHost directory that holds it', async () => {
    const { m1 } = await survivor();
    const nested = join(m1.cfg.nodeHostDir, 'testhost');
    let err: unknown;
    try {
      resolveNodeHostConfig({ ...m1.config, nodeHostDir: nested });
    } catch (e) {
      err = e;
    }
    expect(err).toBeInstanceOf(ErrInvalidConfig);
    const e = err as ErrInvalidConfig;
    expect(e.code).toBe('ErrInvalidConfig');
    expect(e.details.check).toBe('nested-nodehost-dir');
    expect(e.details.path).toBe(join(m1.cfg.nodeHostDir, 'dragonboat.ds'));
    expect(e.message).toContain(m1.cfg.nodeHostDir);
  });

  it.each([
    ['one level too deep (exists)', (nh: string) => join(nh, 'testhost')],
    ['two levels too deep (exists)', (nh: string) => join(nh, 'testhost', '00000000000000000001')],
    ['a mistyped path under it (does not exist)', (nh: string) => join(nh, 'nodehost')],
  ])('%s: import, dry run, inspect, export and plan refuse it, nothing changed', async (_what, at) => {
    const { m1, exportDir } = await survivor();
    const config: NodeHostConfig = { ...m1.config, nodeHostDir: at(m1.cfg.nodeHostDir) };
    const before = await treeHash(m1.root);
    for (const dryRun of [true, false]) {
      const e = await expectCodedRejection(importSnapshot(config, exportDir, MEMBERS, 1, { engine: 'js', dryRun }), ErrInvalidConfig);
      expect(e.details.check).toBe('nested-nodehost-dir');
    }
    await expectCodedRejection(inspectNode(config, 100n, 1n), ErrInvalidConfig);
    await expectCodedRejection(exportSnapshot(config, 100n, 1n, join(await tmp(), 'x'), { engine: 'js' }), ErrInvalidConfig);
    const plan = await planRecovery(exportDir, MEMBERS, [{ kind: 'config', config }], { engine: 'js' });
    expect(plan.ok).toBe(false);
    expect(plan.hosts[0]!.status).toBe('error');
    expect(plan.hosts[0]!.error?.code).toBe('ErrInvalidConfig');
    expect(await treeHash(m1.root)).toBe(before);
  });

  it('a WALDir beside or inside the NodeHost directory is the same host, not a nested one', async () => {
    const { m1 } = await survivor({ walDir: true });
    expect(() => resolveNodeHostConfig(m1.config)).not.toThrow();
    const inside = { ...m1.config, walDir: join(m1.cfg.nodeHostDir, 'wal') };
    mkdirSync(inside.walDir);
    expect(() => resolveNodeHostConfig(inside)).not.toThrow();
  });
});

describe('a nodeHostDir that does not exist', () => {
  it('plan says so (a fresh host) instead of a silent [ready]; inspect says so too', async () => {
    const { exportDir } = await survivor();
    const root = await tmp();
    const m4: NodeHostConfig = { nodeHostDir: join(root, 'nh'), raftAddress: 'm4:63001', hostname: 'testhost', logdbType: TEST_LOGDB_TYPE };
    const plan = await planRecovery(exportDir, MEMBERS, [{ kind: 'config', config: m4 }], { engine: 'js' });
    const h = plan.hosts[0]!;
    expect(h.status).toBe('ready');
    expect(h.freshHost).toBe(true);
    expect(h.warnings.join('\n')).toContain(`${join(root, 'nh')}: directory does not exist (fresh host)`);
    const view = await inspectNode(m4, 100n, 4n);
    expect(view.nodeHostDirExists).toBe(false);
    expect(view.hasState).toBe(false);
    expect(await treeHash(root)).toBe(await treeHash(join(root, 'empty-for-comparison')));
  });

  it('a host that exists is not called fresh', async () => {
    const { m1, exportDir } = await survivor();
    const plan = await planRecovery(exportDir, MEMBERS, [{ kind: 'config', config: m1.config }], { engine: 'js' });
    expect(plan.hosts[0]!.freshHost).toBe(false);
    expect((await inspectNode(m1.config, 100n, 1n)).nodeHostDirExists).toBe(true);
  });
});
