/**
 * `nodehost plan`'s minimal-loss repair on the worked example: m1 holds
 * entries 401..460 past the export at 400 (430 a membership change), m4 is
 * a fresh host given by its configuration, m5 by its `inspect --json`. The
 * plan names m1 the survivor, says what each path loses, lists the entry the
 * import neutralises, and its commands, run as printed (export --with-log on
 * m1, then the imports), give every host entries 401..460 with one fingerprint.
 */
import { chmodSync, mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { LogDB } from '../../src/logdb/logdb.js';
import { resolveNodeHostConfig } from '../../src/nodehost/config.js';
import { EntryType } from '../../src/records/types.js';
import { makeEntries } from '../helpers/nodehost.js';
import { exampleTrees, LAST_INDEX, planHosts, type WorkedExample, workedExample } from './fixture.js';
import { MEMBERS, SHARD, SNAPSHOT_INDEX, TERM } from '../helpers/worked-example.js';
import { BIN, type CliRun, expectOk, lastJson, runCli, runShell, shq } from './run.js';

const CONFIG_CHANGE_AT = 430n;

describe('nodehost plan: the minimal-loss repair of the worked example', () => {
  let ex: WorkedExample;
  let trees: () => Promise<string[]>;
  let before: string[];
  const plan = (...args: string[]): Promise<CliRun> => runCli(['plan', ...args], { cwd: ex.root });
  let hosts: string[];

  beforeAll(async () => {
    ex = await workedExample(64 * 1024);
    // A replica was added at 430, after the snapshot: m1's entries 430..460 again, 430 a membership change.
    const db = await LogDB.open(resolveNodeHostConfig(ex.m1.config));
    try {
      const entries = makeEntries(CONFIG_CHANGE_AT, LAST_INDEX, TERM).map((e) =>
        e.index === CONFIG_CHANGE_AT ? { ...e, type: EntryType.ConfigChange } : e,
      );
      await db.saveRaftState([{ shardId: SHARD, replicaId: 1n, state: { term: TERM, vote: 1n, commit: LAST_INDEX }, entries }]);
    } finally {
      await db.close();
    }
    ({ hosts } = await planHosts(ex));
    trees = () => exampleTrees(ex);
    before = await trees();
  });
  afterAll(() => ex?.cleanup());

  it("inspect --json carries the stored log's summary that plan reads", async () => {
    const view = expectOk(
      await runCli(['inspect', '--config', ex.m1.configFile, '--shard-id', String(SHARD), '--replica-id', '1', '--json']),
    );
    expect(view.log).toMatchObject({
      snapshotIndex: String(SNAPSHOT_INDEX),
      snapshotTerm: String(TERM),
      lastIndex: String(LAST_INDEX),
      gaps: [],
      undecodable: [],
      holesTruncatedAt: null,
      configChanges: [String(CONFIG_CHANGE_AT)],
    });
    expect(view.log.termRuns.at(-1)[1]).toBe(String(TERM));
    const fresh = lastJson(
      (await runCli(['inspect', '--config', ex.m4.configFile, '--shard-id', String(SHARD), '--replica-id', '4', '--json'])).stdout,
    );
    expect(fresh.log).toMatchObject({ lastIndex: null, firstIndex: null, termRuns: [], configChanges: [] });
  });

  it('human output: the survivor, what each path loses, the neutralised entry, the commands; exit 0; nothing written', async () => {
    const run = await plan('--src', ex.exportDir, '--members', MEMBERS, ...hosts);
    expect(run.status, run.stderr + run.stdout).toBe(0);
    const out = run.stdout;
    expect(out).toContain(
      `  Minimal-loss repair: carry the log of m1:63001 (replica 1), entries ${SNAPSHOT_INDEX + 1n}..${LAST_INDEX} (last term ${TERM}), ` +
        `after the given export's snapshot at ${SNAPSHOT_INDEX}`,
    );
    expect(out).toMatch(/^ {4}survivor rule: .*higher last term, then higher last index.*lower replica ID$/m);
    expect(out).toContain(`    membership changes the import replaces by empty entries: ${CONFIG_CHANGE_AT} (term ${TERM})`);
    expect(out).toContain(
      `    m1:63001  replica 1: keeps its entries ${SNAPSHOT_INDEX + 1n}..${LAST_INDEX}, loses nothing  ` +
        `(the reference repair loses ${SNAPSHOT_INDEX + 1n}..${LAST_INDEX})`,
    );
    expect(out).toContain('    m4:63001  replica 4: loses nothing\n');
    expect(out).toMatch(/^ {4}log: reaches 460, term 5; can give the entries after the export/m);
    expect(out).toMatch(/^ {4}log: none \(the replica has no log on this host\)$/m);
    // The reference repair's lines are still one per host; the minimal-loss ones are the export and one import per host.
    expect(out.match(/^ {4}run: nodehost import /gm)).toHaveLength(3);
    expect(out.match(/^ {6}run: nodehost export /gm)).toHaveLength(1);
    expect(out.match(/^ {6}run: nodehost import /gm)).toHaveLength(3);
    expect(await trees()).toEqual(before);
  });

  it('--json: minimalLoss with the survivor, range, neutralised entries, per-host losses and commands', async () => {
    const p = expectOk(await plan('--src', ex.exportDir, '--members', MEMBERS, ...hosts, '--json')).plan;
    const dest = join(ex.root, 'backup', 'with-log');
    const newExport = join(dest, 'snapshot-0000000000000190');
    expect(p.minimalLossReasons).toEqual([]);
    expect(p.minimalLoss).toMatchObject({
      survivor: { host: 'm1:63001', replicaId: '1' },
      source: 'given-export',
      snapshotIndex: String(SNAPSHOT_INDEX),
      snapshotTerm: String(TERM),
      firstIndex: String(SNAPSHOT_INDEX + 1n),
      lastIndex: String(LAST_INDEX),
      lastTerm: String(TERM),
      entryCount: String(LAST_INDEX - SNAPSHOT_INDEX),
      neutralized: [{ index: String(CONFIG_CHANGE_AT), term: String(TERM) }],
      dest,
      exportDir: newExport,
    });
    expect(p.minimalLoss.exportCommand).toBe(
      `nodehost export --config ${ex.m1.configFile} --shard-id 100 --replica-id 1 --dest ${dest} --with-log --snapshot-from ${ex.exportDir}`,
    );
    expect(p.minimalLoss.commands[0]).toBe(p.minimalLoss.exportCommand);
    expect(p.minimalLoss.commands.slice(1)).toEqual(p.minimalLoss.hosts.map((h: { command: string }) => h.command));
    const [h1, h4, h5] = p.minimalLoss.hosts;
    expect(h1).toMatchObject({ host: 'm1:63001', kept: { first: '401', last: '460' }, referenceLost: { first: '401', last: '460' } });
    expect(h1.lost).toBeUndefined();
    expect(h4).toEqual({ host: 'm4:63001', replicaId: '4', command: expect.stringContaining(`--src ${newExport} `) });
    expect(h5.command).toContain("--config '<config of m5:63001>' ");
    // Per host, why its log can or cannot give the suffix; the reference fields are as before.
    expect(p.hosts[0].logSuffix).toMatchObject({ via: 'given-export', lastIndex: '460', lastTerm: '5', anchorTerm: '5' });
    expect(p.hosts[1].logSuffix).toMatchObject({ via: null, problems: [{ code: 'no-log' }] });
    expect(p.hosts[0].discardedEntries).toEqual({ first: '401', last: '460', term: '5', lastTerm: '5' });
    expect(await trees()).toEqual(before);
  });

  it('no host can give a log: minimalLoss null with the reasons, the reference plan as before, exit 0', async () => {
    const args = ['--src', ex.exportDir, '--members', MEMBERS, '--config', 'm4.json', '--config', 'm5-inspect.json'];
    const p = expectOk(await plan(...args, '--json')).plan;
    expect(p.minimalLoss).toBeNull();
    expect(p.minimalLossReasons).toEqual([
      'm4:63001 (replica 4): the replica has no log on this host',
      'm5:63001 (replica 5): the replica has no log on this host',
    ]);
    const human = await plan(...args);
    expect(human.status).toBe(0);
    expect(human.stdout).toContain(
      '  Minimal-loss repair: not available (the commands above are the only repair):\n    - m4:63001 (replica 4): ',
    );
    expect(human.stdout).not.toMatch(/^ {6}run: /m);
  });

  // Last: it performs the repair.
  it('the minimal-loss commands, run as printed, carry entries 401..460 to every host with one fingerprint', async () => {
    const run = await plan('--src', ex.exportDir, '--members', MEMBERS, ...hosts);
    expect(run.status, run.stderr).toBe(0);
    const planned = /fingerprint {2}(nhr1-[0-9a-f]{16}) \(it names the carried log/.exec(run.stdout)?.[1];
    expect(planned).toBeDefined();
    const lines = [...run.stdout.matchAll(/^ {6}run: (.*)$/gm)].map((m) => m[1]!);
    expect(lines).toHaveLength(4);
    const shim = join(ex.root, 'bin');
    mkdirSync(shim);
    writeFileSync(join(shim, 'nodehost'), `#!/bin/sh\nexec ${shq(process.execPath)} ${shq(BIN)} "$@"\n`);
    chmodSync(join(shim, 'nodehost'), 0o755);
    const elsewhere = join(ex.root, 'elsewhere');
    mkdirSync(elsewhere);

    const exported = expectOk(await runShell(`${lines[0]!} --json`, shim, elsewhere));
    expect(exported.logSuffix).toMatchObject({ firstIndex: '401', lastIndex: '460' });
    const fingerprints = new Set<string>();
    for (const [i, h] of [ex.m1, ex.m4, ex.m5].entries()) {
      const line = h === ex.m5 ? lines[i + 1]!.replace("'<config of m5:63001>'", shq(h.configFile)) : lines[i + 1]!;
      const res = expectOk(await runShell(`${line} --json`, shim, elsewhere));
      expect(res.logSuffix).toMatchObject({
        firstIndex: '401',
        lastIndex: '460',
        neutralized: [{ index: String(CONFIG_CHANGE_AT), term: String(TERM) }],
      });
      expect(res.after.maxIndex).toBe(String(LAST_INDEX));
      fingerprints.add(res.fingerprint);
      // Before the restart, inspect names the same repair (the snapshot, the map and the carried log).
      const replica = String([1, 4, 5][i]);
      const view = JSON.parse(
        (await runCli(['inspect', '--config', h.configFile, '--shard-id', String(SHARD), '--replica-id', replica, '--json'])).stdout
          .trim()
          .split('\n')
          .at(-1)!,
      );
      expect(view.fingerprint).toBe(res.fingerprint);
    }
    expect([...fingerprints]).toEqual([planned]);
  });
});
