/**
 * `nodehost import --manifest` as child processes: three shards onto one
 * host (100 and 116 share log store partition 4, 101 is in partition 5)
 * plus failing entries. One summary, the list to retry, exit 1 when any
 * import fails and 0 when all succeed; a failing entry never affects the
 * others; usage errors and the terminal refusal write nothing.
 */
import { TEST_LOGDB_TYPE } from '../helpers/store.js';
import { existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { formatBytes } from '../../src/cli/progress.js';
import type { NodeHostConfig } from '../../src/nodehost/config.js';
import { samplePayload, writeSampleNode } from '../../src/ops/sample-node.js';
import { treeHash } from '../helpers/tree.js';
import { expectError, expectOk, hasScript, lastJson, runCli, runInPty, shq, writeConfig } from './run.js';

const SHARDS = [100n, 116n, 101n];
const MEMBERS = '1=m1:63001,4=m4:63001';

describe('nodehost import --manifest', () => {
  let root: string;
  /** Export directory and snapshot file size per shard. */
  const exports = new Map<bigint, { dir: string; bytes: number }>();
  /** A manifest with the three shards and two failing entries (#2: no such export, #4: a replica not in the members). */
  let mixed: string;
  /** The three shards only. */
  let good: string;

  /** A new host with the RaftAddress of replica 4; returns its config file and its directory. */
  function newHost(name: string): { configFile: string; dir: string } {
    const config: NodeHostConfig = {
      nodeHostDir: join(root, name, 'nodehost'),
      raftAddress: 'm4:63001',
      hostname: name,
      logdbType: TEST_LOGDB_TYPE,
    };
    return { configFile: writeConfig(root, config, `${name}.json`), dir: join(root, name) };
  }

  function inspect(configFile: string, shard: bigint, replica = '4'): Promise<Record<string, any>> {
    return runCli(['inspect', '--config', configFile, '--shard-id', String(shard), '--replica-id', replica, '--json']).then(expectOk);
  }

  beforeAll(async () => {
    root = await mkdtemp(join(tmpdir(), 'nht-cli-manifest-'));
    // The shards' old home, then an export of each through the CLI.
    const src: NodeHostConfig = {
      nodeHostDir: join(root, 'm1', 'nodehost'),
      raftAddress: 'm1:63001',
      hostname: 'm1',
      logdbType: TEST_LOGDB_TYPE,
    };
    const srcFile = writeConfig(root, src, 'm1.json');
    for (const [i, shardId] of SHARDS.entries()) {
      await writeSampleNode({
        config: src,
        shardId,
        replicaId: 1n,
        lastIndex: 12n,
        snapshotIndex: 10n,
        term: 2n,
        payload: samplePayload((24 + 8 * i) * 1024, i + 1),
        members: new Map([
          [1n, 'm1:63001'],
          [2n, 'm2:63001'],
          [3n, 'm3:63001'],
        ]),
      });
    }
    for (const shardId of SHARDS) {
      const r = expectOk(
        await runCli([
          'export',
          '--config',
          srcFile,
          '--shard-id',
          String(shardId),
          '--replica-id',
          '1',
          '--dest',
          join(root, 'exports', `s${shardId}`),
          '--json',
        ]),
      );
      exports.set(shardId, { dir: r.exportDir, bytes: Number(r.files[0].size) });
    }
    // Relative paths resolve against the manifest's directory; members as a string or an object.
    mkdirSync(join(root, 'manifests'));
    const entry = (s: bigint, replicaId: number | string = 4) => ({
      shardId: String(s),
      src: `../exports/s${s}/snapshot-000000000000000A`,
      members: MEMBERS,
      replicaId,
    });
    mixed = join(root, 'manifests', 'mixed.json');
    writeFileSync(
      mixed,
      JSON.stringify({
        imports: [
          entry(100n),
          { ...entry(116n), members: { 1: 'm1:63001', 4: 'm4:63001' }, replicaId: '4' },
          { src: '../exports/missing', members: MEMBERS, replicaId: 4 },
          entry(101n),
          entry(116n, 9),
        ],
      }),
    );
    good = join(root, 'manifests', 'good.json');
    writeFileSync(good, JSON.stringify({ imports: SHARDS.map((s) => entry(s)) }));
  });
  afterAll(() => (root ? rm(root, { recursive: true, force: true }) : undefined));

  it('--json: one outcome per entry, the failures to retry, exit 1; the others imported regardless', async () => {
    const host = newHost('m4');
    const run = await runCli(['import', '--config', host.configFile, '--manifest', mixed, '--concurrency', '2', '--json']);
    const err = expectError(run, 'ErrPathNotExist', 1);
    expect(err.message).toMatch(/^2 of 5 import\(s\) failed; first: /);
    const r = lastJson(run.stdout);
    expect(r.retry).toEqual([2, 4]);
    expect(r.outcomes.map((o: { ok: boolean }) => o.ok)).toEqual([true, true, false, true, false]);
    expect(r.outcomes.map((o: { job: number }) => o.job)).toEqual([0, 1, 2, 3, 4]);
    expect(r.outcomes.map((o: { shardId: string | null }) => o.shardId)).toEqual(['100', '116', null, '101', '116']);
    expect(r.outcomes[2]).toMatchObject({ src: join(root, 'exports', 'missing'), replicaId: '4', error: { code: 'ErrPathNotExist' } });
    expect(r.outcomes[4]).toMatchObject({ replicaId: '9', error: { code: 'ErrInvalidMembers' } });
    expect(r.outcomes[2].result).toBeUndefined();
    for (const [job, shard] of [
      [0, 100n],
      [1, 116n],
      [3, 101n],
    ] as const) {
      const o = r.outcomes[job];
      expect(o.error).toBeUndefined();
      expect(o.src).toBe(exports.get(shard)!.dir);
      expect(o.result).toMatchObject({ shardId: String(shard), replicaId: '4', index: '10', members: { 1: 'm1:63001', 4: 'm4:63001' } });
      // Each imported shard is what its result says, fingerprint included.
      const v = await inspect(host.configFile, shard);
      expect(v.snapshot.index).toBe('10');
      expect(v.snapshot.imported).toBe(true);
      expect(v.fingerprint).toBe(o.result.fingerprint);
    }
    expect(new Set(r.outcomes.filter((o: { ok: boolean }) => o.ok).map((o: any) => o.result.partitionDir)).size).toBe(2);
    // The failing entry of shard 116 left its replica untouched.
    expect((await inspect(host.configFile, 116n, '9')).hasState).toBe(false);

    // After fixing (here: dropping) the failing entries, the run succeeds: exit 0, nothing to retry.
    const ok = expectOk(await runCli(['import', '--config', host.configFile, '--manifest', good, '--json']));
    expect(ok.retry).toEqual([]);
    expect(ok.error).toBeUndefined();
    expect(ok.outcomes.map((o: { ok: boolean }) => o.ok)).toEqual([true, true, true]);
  });

  it('human output: one line per import on stderr, one progress display, one summary and the retry list', async () => {
    const host = newHost('m4-human');
    const run = await runCli(['import', '--config', host.configFile, '--manifest', mixed]);
    expect(run.status, run.stderr).toBe(1);
    expect(run.stdout).toBe('3 of 5 import(s) succeeded.\nRetry (after fixing each error): manifest entries 2, 4\n');
    for (const [job, shard] of [
      [0, 100n],
      [1, 116n],
      [3, 101n],
    ] as const) {
      expect(run.stderr).toContain(`ok     #${job} shard ${shard} replica 4 from ${exports.get(shard)!.dir}\n`);
    }
    expect(run.stderr).toMatch(/^FAILED #2 shard \? replica 4 from .*missing: ErrPathNotExist: /m);
    expect(run.stderr).toMatch(/^FAILED #4 shard 116 replica 9 from .*: ErrInvalidMembers: /m);
    // One progress display for all the imports: completed once, with every byte copied.
    const total = SHARDS.reduce((n, s) => n + exports.get(s)!.bytes, 0);
    // (A slow machine may add interim percentage lines; the display still completes exactly once.)
    const progress = run.stderr.split('\n').filter((l) => /^copy .*: done, /.test(l));
    expect(progress, run.stderr).toHaveLength(1);
    expect(run.stderr.split('\n').filter((l) => l.startsWith('copy') && !/^copy \(5 imports\): /.test(l))).toEqual([]);
    expect(progress[0]).toMatch(new RegExp(`^copy \\(5 imports\\): done, ${formatBytes(total).replace('.', '\\.')} in `));

    const all = await runCli(['import', '--config', newHost('m4-human-ok').configFile, '--manifest', good, '--concurrency', '1']);
    expect(all.status, all.stderr).toBe(0);
    expect(all.stdout).toBe('3 of 3 import(s) succeeded.\n');
  });

  it('usage errors (exit 2) write nothing: --manifest with --src, --backup or a bad --concurrency; a malformed manifest is exit 1', async () => {
    const host = newHost('m4-usage');
    const base = ['import', '--config', host.configFile, '--manifest', good, '--json'];
    const withSrc = expectError(await runCli([...base, '--src', exports.get(100n)!.dir]), 'ErrUsage', 2);
    expect(withSrc.message).toMatch(/--src cannot be combined with --manifest/);
    expectError(await runCli([...base, '--backup', join(root, 'bk')]), 'ErrUsage', 2);
    expectError(await runCli([...base, '--replica-id', '4']), 'ErrUsage', 2);
    for (const c of ['0', 'two', '1.5']) expectError(await runCli([...base, '--concurrency', c]), 'ErrUsage', 2);
    const bad = join(root, 'manifests', 'bad.json');
    writeFileSync(bad, JSON.stringify({ imports: [{ src: 'x', members: MEMBERS }] }));
    const malformed = expectError(
      await runCli(['import', '--config', host.configFile, '--manifest', bad, '--json']),
      'ErrInvalidConfig',
      1,
    );
    expect(malformed.message).toMatch(/imports\[0\] needs "src" and "replicaId"/);
    expect(existsSync(host.dir)).toBe(false);
    expect(existsSync(join(root, 'bk'))).toBe(false);
  });

  it.skipIf(!hasScript())(
    'on a terminal without --yes: refused, exit 2, nothing written; --dry-run goes ahead and writes nothing',
    async () => {
      const host = newHost('m4-tty');
      const out = join(root, 'tty-out.txt');
      const err = join(root, 'tty-err.txt');
      const redirect = `> ${shq(out)} 2> ${shq(err)}`;
      const refused = await runInPty(['import', '--config', host.configFile, '--manifest', good], redirect);
      expect(refused.status, readFileSync(err, 'utf8')).toBe(2);
      expect(readFileSync(err, 'utf8')).toMatch(
        /ErrUsage: import --manifest overwrites 3 replica\(s\) on this host: run it with --dry-run first, then rerun with --yes/,
      );
      expect(readFileSync(out, 'utf8')).toBe('');
      expect(existsSync(host.dir)).toBe(false);

      const json = await runInPty(['import', '--config', host.configFile, '--manifest', good, '--json'], redirect);
      expect(json.status).toBe(2);
      expect(lastJson(readFileSync(out, 'utf8')).error.code).toBe('ErrUsage');

      const dry = await runInPty(['import', '--config', host.configFile, '--manifest', good, '--dry-run'], redirect);
      expect(dry.status, readFileSync(err, 'utf8')).toBe(0);
      expect(readFileSync(out, 'utf8')).toBe('Dry run: 3 of 3 import(s) succeeded.\n');
      const hostTree = await treeHash(host.dir);
      expect(hostTree).toBe(await treeHash(join(root, 'nonexistent')));

      const yes = await runInPty(['import', '--config', host.configFile, '--manifest', good, '--yes'], redirect);
      expect(yes.status, readFileSync(err, 'utf8')).toBe(0);
      expect((await inspect(host.configFile, 116n)).snapshot.imported).toBe(true);
    },
  );
});
