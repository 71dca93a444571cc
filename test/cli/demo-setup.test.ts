/**
 * `nodehost demo --setup DIR`: the worked example before its repair, for
 * walking the README's guide by hand. The commands it prints are run as
 * printed (with /bin/sh, from the clone, as a reader pastes them) and must
 * repair the shard; a DIR that is not new or empty is refused untouched.
 * Runs on the store of this test project (TEST_LOGDB_TYPE).
 */
import { existsSync, mkdirSync, readFileSync, renameSync, writeFileSync } from 'node:fs';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { PROJECT_ROOT } from '../helpers/snapshots.js';
import { TEST_LOGDB_TYPE } from '../helpers/store.js';
import { treeSnapshot } from '../helpers/tree.js';
import { expectError, expectOk, lastJson, runCli, runInProcess, runShell, type CliRun } from './run.js';

const STORE = TEST_LOGDB_TYPE === 'sharded-pebble' ? 'pebble' : 'leveldb';
const SNAP = 'snapshot-0000000000000190';

/** Runs a printed command line with /bin/sh from the clone's root, `node` being this Node. */
function runPrinted(line: string): Promise<CliRun> {
  return runShell(line, dirname(process.execPath), PROJECT_ROOT);
}

/** The lines the reader is told to run (`$ ...`), in order. */
function dollarLines(stdout: string): string[] {
  return [...stdout.matchAll(/^ +\$ (.+)$/gm)].map((m) => m[1]!);
}

async function inspectJson(dir: string, host: string, replica: number): Promise<Record<string, any>> {
  const run = await runCli([
    'inspect',
    '--config',
    join(dir, `${host}.json`),
    '--shard-id',
    '100',
    '--replica-id',
    String(replica),
    '--json',
  ]);
  return expectOk(run);
}

describe(`nodehost demo --setup (${STORE})`, () => {
  let root: string;
  beforeAll(async () => {
    root = await mkdtemp(join(tmpdir(), 'nht-demo-setup-'));
  });
  afterAll(async () => {
    await rm(root, { recursive: true, force: true });
  });

  it("lays out the before state; the guide's commands, run as printed, repair the shard, and the undo undoes m1", async () => {
    const dir = join(root, 'walk');
    const setup = await runCli(['demo', '--setup', dir, '--store', STORE]);
    expect(setup.status, setup.stderr).toBe(0);

    // The layout: m1 (survivor), m4 and m5 fresh (configurations only), m2 and m3 absent, the export with its manifest.
    for (const h of ['m1', 'm4', 'm5']) {
      const cfg = JSON.parse(readFileSync(join(dir, `${h}.json`), 'utf8'));
      expect(cfg).toEqual({ nodeHostDir: `${h}/nodehost`, raftAddress: `${h}:63001`, hostname: h, logdbType: TEST_LOGDB_TYPE });
    }
    for (const h of ['m2', 'm3', 'm4', 'm5']) expect(existsSync(join(dir, h)), h).toBe(false);
    const exportDir = join(dir, 'export', SNAP);
    expect(existsSync(join(exportDir, 'nodehost.manifest.json'))).toBe(true);
    const m1 = await inspectJson(dir, 'm1', 1);
    expect(m1.dataStatus[0].status.logdbType).toBe(TEST_LOGDB_TYPE);
    expect(m1.snapshot.index).toBe('400');
    expect(m1.snapshot.term).toBe('5');
    expect(m1.snapshot.imported).toBe(false);
    expect(m1.maxIndex).toBe('620');
    expect(Object.keys(m1.membership.addresses)).toEqual(['1', '2', '3']);

    // The printed export line, run as printed on the same destination (the setup's export moved aside), writes the
    // same bytes (the record names its own path, so only the same destination can compare byte for byte);
    // with the export back in place it refuses, as the output says.
    const exportLine = /^ {5}(.+ export --config .+)$/m.exec(setup.stdout)?.[1];
    expect(exportLine, setup.stdout).toBeDefined();
    const aside = join(root, 'setup-export');
    renameSync(join(dir, 'export'), aside);
    expectOk(await runPrinted(`${exportLine} --json`));
    expect(await treeSnapshot(join(dir, 'export'))).toEqual(await treeSnapshot(aside));
    await rm(join(dir, 'export'), { recursive: true });
    renameSync(aside, join(dir, 'export'));
    const exportRun = await runPrinted(`${exportLine} --json`);
    expect(lastJson(exportRun.stdout, exportRun.stderr).error.code).toBe('ErrAlreadyExists');

    const lines = dollarLines(setup.stdout);
    expect(lines.map((l) => l.split(' ')[2])).toEqual([
      'inspect',
      'verify',
      'plan',
      'import',
      'import',
      'import',
      'inspect',
      'inspect',
      'inspect',
    ]);
    const runs: CliRun[] = [];
    for (const line of lines) {
      const run = await runPrinted(line);
      expect(run.status, `${line}\n${run.stdout}\n${run.stderr}`).toBe(0);
      runs.push(run);
    }
    expect(runs[0]!.stdout).toMatch(/max index +620/);

    // The import lines are the plan's own "run:" lines, started the way this CLI was.
    const plan = runs[2]!.stdout;
    // Each host's block comes first (a minimal-loss alternative may follow, with run: lines of its own).
    const planned = [...plan.matchAll(/^ {4}run: nodehost (.+)$/gm)].slice(0, 3).map((m) => `node bin/nodehost.js ${m[1]}`);
    expect(lines.slice(3, 6)).toEqual(planned);
    const fingerprint = /fingerprint +(nhr1-[0-9a-f]+)/.exec(plan)?.[1];
    expect(fingerprint).toBeDefined();

    // The repaired state: every host owns snapshot 400 with members {1, 4, 5}, 2 and 3 removed, the plan's fingerprint.
    for (const [h, id] of [
      ['m1', 1],
      ['m4', 4],
      ['m5', 5],
    ] as const) {
      const v = await inspectJson(dir, h, id);
      expect(v.snapshot.index, h).toBe('400');
      expect(v.snapshot.imported, h).toBe(true);
      expect(v.maxIndex, h).toBe('400');
      expect(v.membership.addresses, h).toEqual({ '1': 'm1:63001', '4': 'm4:63001', '5': 'm5:63001' });
      expect(Object.keys(v.membership.removed).sort(), h).toEqual(['2', '3']);
      expect(v.fingerprint, h).toBe(fingerprint);
      expect(v.problems, h).toEqual([]);
    }

    // The undo line, run as printed, puts m1 back as the setup laid it out.
    const undoLine = /^ {5}(.+ restore-backup .+)$/m.exec(setup.stdout)?.[1];
    expect(undoLine, setup.stdout).toBeDefined();
    const undo = await runPrinted(undoLine!);
    expect(undo.status, undo.stderr).toBe(0);
    const back = await inspectJson(dir, 'm1', 1);
    expect(back.maxIndex).toBe('620');
    expect(back.snapshot.imported).toBe(false);
    expect(Object.keys(back.membership.addresses)).toEqual(['1', '2', '3']);
  });

  it('--json: the result names the layout and the same commands the text prints; an existing empty DIR is used', async () => {
    const dir = join(root, 'empty');
    mkdirSync(dir);
    const res = expectOk(await runCli(['demo', '--setup', dir, '--store', STORE, '--json']));
    expect(res.dir).toBe(dir);
    expect(res.logdbType).toBe(TEST_LOGDB_TYPE);
    expect(res.exportDir).toBe(join(dir, 'export', SNAP));
    expect(res.configFiles).toEqual({ m1: join(dir, 'm1.json'), m4: join(dir, 'm4.json'), m5: join(dir, 'm5.json') });
    expect(res.members).toBe('1=m1:63001,4=m4:63001,5=m5:63001');
    const text = await runCli(['demo', '--setup', join(root, 'text'), '--store', STORE]);
    expect(text.status, text.stderr).toBe(0);
    expect(dollarLines(text.stdout)).toEqual(res.commands.map((c: string) => c.replaceAll(join(root, 'empty'), join(root, 'text'))));
  });

  it('refuses a DIR that is not empty, or is a file: ErrAlreadyExists, exit 1, every byte as it was', async () => {
    const dir = join(root, 'busy');
    mkdirSync(join(dir, 'sub'), { recursive: true });
    writeFileSync(join(dir, 'notes.txt'), 'mine\n');
    writeFileSync(join(dir, 'sub', 'm1.json'), '{"nodeHostDir": "elsewhere"}\n');
    const before = await treeSnapshot(dir);
    const err = expectError(await runCli(['demo', '--setup', dir, '--store', STORE, '--json']), 'ErrAlreadyExists', 1);
    expect(err.message).toContain(dir);
    expect(await treeSnapshot(dir)).toEqual(before);

    const file = join(root, 'a-file');
    writeFileSync(file, 'not a directory\n');
    const human = await runCli(['demo', '--setup', file, '--store', STORE]);
    expect(human.status).toBe(1);
    expect(human.stderr).toContain('ErrAlreadyExists');
    expect(readFileSync(file, 'utf8')).toBe('not a directory\n');
  });

  it('usage: an empty --setup, and --setup with --keep, are usage errors (exit 2)', async () => {
    const empty = await runInProcess(['demo', '--setup', '', '--json']);
    expect(empty.status).toBe(2);
    expect(lastJson(empty.stdout).error.message).toMatch(/--setup needs a directory/);
    const keep = await runInProcess(['demo', '--setup', join(root, 'never'), '--keep', '--json']);
    expect(keep.status).toBe(2);
    expect(existsSync(join(root, 'never'))).toBe(false);
  });
});

describe('demo --setup: how the printed commands start the CLI', () => {
  it('from inside the clone: node and the launcher relative to the working directory; elsewhere: its absolute path; installed: npx nodehost', async () => {
    const { launcher } = await import('../../src/cli/commands/demo-setup.js');
    expect(launcher(PROJECT_ROOT)).toEqual({ prefix: 'node bin/nodehost.js', relativeToCwd: true });
    expect(launcher(join(PROJECT_ROOT, 'docs'))).toEqual({ prefix: 'node ../bin/nodehost.js', relativeToCwd: true });
    expect(launcher(tmpdir())).toEqual({ prefix: `node ${join(PROJECT_ROOT, 'bin', 'nodehost.js')}`, relativeToCwd: false });
    expect(launcher(tmpdir(), '/srv/app/node_modules/nodehost-tools/')).toEqual({ prefix: 'npx nodehost', relativeToCwd: false });
    expect(launcher('/srv/app', '/srv/app/node_modules/nodehost-tools')).toEqual({ prefix: 'npx nodehost', relativeToCwd: false });
  });
});

describe('layOutWorkedExample: a failure part way leaves the directory as it was', () => {
  it('an absent DIR (and a missing parent) is gone again; an empty one stays, empty', async () => {
    const { layOutWorkedExample } = await import('../../src/ops/sample-node.js');
    const { ErrInvalidConfig } = await import('../../src/errors.js');
    const root = await mkdtemp(join(tmpdir(), 'nht-demo-setup-fail-'));
    try {
      // An unknown engine fails the export, after m1's NodeHost directory and the configurations are written.
      const bogus = { logdbType: TEST_LOGDB_TYPE, engine: 'bogus' as never };
      await expect(layOutWorkedExample(join(root, 'parent', 'walk'), bogus)).rejects.toThrow(ErrInvalidConfig);
      expect(existsSync(join(root, 'parent'))).toBe(false);
      mkdirSync(join(root, 'empty'));
      const before = await treeSnapshot(root);
      await expect(layOutWorkedExample(join(root, 'empty'), bogus)).rejects.toThrow(ErrInvalidConfig);
      expect(await treeSnapshot(root)).toEqual(before);
      expect(Object.keys(before)).toEqual(['empty']);
    } finally {
      await rm(root, { recursive: true, force: true });
    }
  });
});
