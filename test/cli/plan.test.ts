/**
 * `nodehost plan` as an operator runs it on the worked example: m1 (a
 * survivor whose log reaches beyond the snapshot) and m4 (a fresh host) by
 * their configurations, m5 by the `inspect --json` output taken on it. The
 * plan writes nothing, its failures are exit 1 with the plan attached, and
 * the command lines it prints, run as printed, perform the repair with the
 * fingerprint it announced.
 */
import { TEST_LOGDB_TYPE } from '../helpers/store.js';
import { chmodSync, mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { exampleTrees, LAST_INDEX, planHosts, workedExample, type WorkedExample } from './fixture.js';
import { MEMBERS, SHARD, SNAPSHOT_INDEX, TERM } from '../helpers/worked-example.js';
import { BIN, expectError, expectOk, lastJson, runCli, runShell, shq, writeConfig, type CliRun } from './run.js';

describe('nodehost plan: the worked example', () => {
  let ex: WorkedExample;
  let trees: () => Promise<string[]>;
  let before: string[];
  /** Runs plan from the example's root with relative paths, as an operator in that directory would. */
  const plan = (...args: string[]): Promise<CliRun> => runCli(['plan', ...args], { cwd: ex.root });
  let hosts: string[];

  beforeAll(async () => {
    ex = await workedExample(64 * 1024);
    const gathered = await planHosts(ex);
    expect(lastJson(gathered.inspectRun.stdout, gathered.inspectRun.stderr).ok).toBe(true);
    ({ hosts } = gathered);
    trees = () => exampleTrees(ex);
    before = await trees();
  });
  afterAll(() => ex?.cleanup());

  it('human output: per host what happens and what is lost, the fingerprint, the commands; exit 0; nothing written', async () => {
    const run = await plan('--src', ex.exportDir, '--members', MEMBERS, ...hosts);
    expect(run.status, run.stderr + run.stdout).toBe(0);
    const out = run.stdout;
    expect(out).toContain(`Recovery plan for shard ${SHARD} from ${ex.exportDir}`);
    expect(out).toContain(`snapshot index ${SNAPSHOT_INDEX}, term ${TERM}`);
    expect(out).toContain('removes replicas 2, 3');
    expect(out).toMatch(/^ {2}fingerprint {2}nhr1-[0-9a-f]{16} /m);
    // The survivor's log beyond the snapshot: the exact range, the host, the term.
    expect(out).toContain(`loses entries ${SNAPSHOT_INDEX + 1n}..${LAST_INDEX} on m1:63001, term ${TERM}`);
    expect(out).toMatch(/^ {2}m1:63001 {2}replica 1 {2}\[ready\]\n {4}has state that the import overwrites$/m);
    expect(out).toMatch(/^ {2}m4:63001 {2}replica 4 {2}\[ready\]\n {4}no existing state$/m);
    expect(out).toMatch(/^ {2}m5:63001 {2}replica 5 {2}\[unverified\]\n {4}no existing state$/m);
    expect(out.match(/loses entries/g)).toHaveLength(1);
    expect(out.match(/^ {4}run: nodehost import /gm)).toHaveLength(3);
    expect(out).toMatch(/^Plan OK/m);
    expect(await trees()).toEqual(before);
  });

  it('--json: the same plan as data, exit 0', async () => {
    const r = expectOk(await plan('--src', ex.exportDir, '--members', MEMBERS, ...hosts, '--json'));
    const p = r.plan;
    expect(r.error).toBeUndefined();
    expect(p).toMatchObject({ ok: true, shardId: '100', index: String(SNAPSHOT_INDEX), term: String(TERM), exportDir: ex.exportDir });
    expect(p.members).toEqual({ 1: 'm1:63001', 4: 'm4:63001', 5: 'm5:63001' });
    expect(p.removedReplicas).toEqual(['2', '3']);
    expect(p.uncoveredMembers).toEqual([]);
    expect(p.problems).toEqual([]);
    expect(p.fingerprint).toMatch(/^nhr1-[0-9a-f]{16}$/);
    const [h1, h4, h5] = p.hosts;
    expect(h1).toMatchObject({ host: 'm1:63001', replicaId: '1', status: 'ready', hasState: true });
    expect(h1.discardedEntries).toEqual({
      first: String(SNAPSHOT_INDEX + 1n),
      last: String(LAST_INDEX),
      term: String(TERM),
      lastTerm: String(TERM),
    });
    expect(h4).toMatchObject({ host: 'm4:63001', replicaId: '4', status: 'ready', hasState: false });
    expect(h4.discardedEntries).toBeUndefined();
    expect(h5).toMatchObject({ host: 'm5:63001', replicaId: '5', status: 'unverified', hasState: false });
    // The config paths in the command lines are absolute: they are run later, from anywhere.
    expect(h1.command).toContain(`--config ${ex.m1.configFile} `);
    expect(h5.command).toContain("--config '<config of m5:63001>' ");
    expect(await trees()).toEqual(before);
  });

  it('a membership conflict: exit 1, {"ok":false,"error":{...},"plan":{...}}; human output says FAILED', async () => {
    // Replica 2 keeps its ID but moves to a new address: the snapshot's membership says otherwise.
    const args = ['--src', ex.exportDir, '--members', '1=m1:63001,2=m9:63001', '--config', 'm1.json'];
    const run = await plan(...args, '--json');
    const err = expectError(run, 'ErrInvalidMembers', 1);
    expect(err.message).toMatch(/^the plan failed: node address changed: replica 2/);
    const p = lastJson(run.stdout).plan;
    expect(p.ok).toBe(false);
    expect(p.problems.map((x: { code: string }) => x.code)).toEqual(['ErrInvalidMembers']);
    expect(p.fingerprint).toMatch(/^nhr1-/);
    expect(p.uncoveredMembers).toEqual(['2']);

    const human = await plan(...args);
    expect(human.status).toBe(1);
    expect(human.stdout).toMatch(/^ {2}! ErrInvalidMembers: node address changed/m);
    expect(human.stdout).toMatch(/^Plan FAILED/m);
    expect(await trees()).toEqual(before);
  });

  it('a wrong host (its RaftAddress is no member), a missing config: exit 1 with the host named', async () => {
    const other = writeConfig(
      ex.root,
      { nodeHostDir: join(ex.root, 'm9', 'nodehost'), raftAddress: 'm9:63001', hostname: 'm9', logdbType: TEST_LOGDB_TYPE },
      'm9.json',
    );
    const run = await plan('--src', ex.exportDir, '--members', MEMBERS, '--config', 'm1.json', '--config', other, '--json');
    expect(expectError(run, 'ErrInvalidMembers', 1).message).toMatch(/RaftAddress m9:63001/);
    const p = lastJson(run.stdout).plan;
    expect(p.hosts.map((h: { status: string }) => h.status)).toEqual(['ready', 'error']);
    expect(p.hosts[1]).toMatchObject({ host: 'm9:63001', error: { code: 'ErrInvalidMembers' } });
    expect(p.hosts[1].command).toBeUndefined();
    expect(p.uncoveredMembers).toEqual(['4', '5']);

    // A configuration file that is not there is the same error as for every other command.
    expectError(await plan('--src', ex.exportDir, '--members', MEMBERS, '--config', 'nope.json', '--json'), 'ErrPathNotExist', 1);
    expectError(await plan('--members', MEMBERS, '--config', 'm1.json', '--json'), 'ErrUsage', 2);
    expect(await trees()).toEqual(before);
  });

  // Last: it performs the repair.
  it("the printed commands, run as printed, perform the import; every result and inspect show the plan's fingerprint", async () => {
    const run = await plan('--src', ex.exportDir, '--members', MEMBERS, ...hosts);
    expect(run.status, run.stderr).toBe(0);
    const fingerprint = /fingerprint {2}(nhr1-[0-9a-f]{16})/.exec(run.stdout)![1]!;
    const lines = [...run.stdout.matchAll(/^ {4}run: (.*)$/gm)].map((m) => m[1]!);
    expect(lines).toHaveLength(3);

    const shim = join(ex.root, 'bin');
    mkdirSync(shim);
    writeFileSync(join(shim, 'nodehost'), `#!/bin/sh\nexec ${shq(process.execPath)} ${shq(BIN)} "$@"\n`);
    chmodSync(join(shim, 'nodehost'), 0o755);
    const elsewhere = join(ex.root, 'elsewhere');
    mkdirSync(elsewhere);
    for (const [i, h] of [ex.m1, ex.m4, ex.m5].entries()) {
      // Only m5, planned from its inspect output, needs its configuration filled in.
      const line = h === ex.m5 ? lines[i]!.replace("'<config of m5:63001>'", shq(h.configFile)) : lines[i]!;
      // m1 has state to overwrite: its line takes a backup first and says --yes; the fresh hosts' lines do not.
      expect(line).toMatch(new RegExp(`--replica-id ${h.replicaId}${h === ex.m1 ? " --backup '?[^ ]+'? --yes" : ''}$`));
      const res = expectOk(await runShell(`${line} --json`, shim, elsewhere));
      if (h === ex.m1) expect(res.backup?.dir).toMatch(/undo-shard-100-replica-1$/);
      expect(res.replicaId).toBe(h.replicaId);
      expect(res.after.snapshot.index).toBe(String(SNAPSHOT_INDEX));
      expect(res.fingerprint).toBe(fingerprint);
      const view = expectOk(
        await runCli(['inspect', '--config', h.configFile, '--shard-id', String(SHARD), '--replica-id', h.replicaId, '--json']),
      );
      expect(view.fingerprint).toBe(fingerprint);
      expect(Object.keys(view.membership.addresses)).toEqual(['1', '4', '5']);
    }
  });
});
