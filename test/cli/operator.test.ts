/**
 * The operator tooling through the CLI, as child processes of
 * `node bin/nodehost.js` on temp directories: `export` (human and JSON
 * output, exit codes, the node left untouched), the export's manifest as
 * `verify` and `import` check it, and the help of the new commands.
 * `plan`, `import --backup`/`restore-backup` and `import --manifest` have
 * their own files next to this one.
 */
import { createHash } from 'node:crypto';
import { existsSync, readFileSync, readdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { resolveNodeHostConfig } from '../../src/nodehost/config.js';
import { snapshotPaths } from '../../src/nodehost/paths.js';
import { treeHash } from '../helpers/tree.js';
import { workedExample, type WorkedExample } from './fixture.js';
import { MEMBERS, SHARD, SNAPSHOT_INDEX, TERM } from '../helpers/worked-example.js';
import { expectError, expectOk, runCli } from './run.js';

const SNAP = 'snapshot-0000000000000190';
const GBSNAP = `${SNAP}.gbsnap`;
const MANIFEST = 'nodehost.manifest.json';

function sha256(path: string): string {
  return createHash('sha256').update(readFileSync(path)).digest('hex');
}

function exportArgs(ex: WorkedExample, dest: string, ...extra: string[]): string[] {
  return ['export', '--config', ex.m1.configFile, '--shard-id', String(SHARD), '--replica-id', '1', '--dest', dest, ...extra];
}

describe('nodehost export', () => {
  let ex: WorkedExample;
  let m1Tree: string;
  /** The node's own snapshot file, which the export must reproduce byte for byte. */
  let nodeSnapshotFile: string;
  beforeAll(async () => {
    ex = await workedExample(96 * 1024);
    m1Tree = await treeHash(ex.m1.dir);
    nodeSnapshotFile = snapshotPaths(resolveNodeHostConfig(ex.m1.config), SHARD, 1n, SNAPSHOT_INDEX).file;
  });
  afterAll(() => ex?.cleanup());

  it('human output: what was exported, where, and each file with its SHA-256; the node is unchanged', async () => {
    const dest = join(ex.root, 'exp-human');
    const run = await runCli(exportArgs(ex, dest));
    expect(run.status, run.stderr).toBe(0);
    const dir = join(dest, SNAP);
    expect(run.stdout).toContain(`Exported shard ${SHARD} replica 1: snapshot index ${SNAPSHOT_INDEX}, term ${TERM}`);
    expect(run.stdout).toContain(`  ${dir}\n`);
    for (const name of [GBSNAP, 'snapshot.metadata']) {
      const line = run.stdout.split('\n').find((l) => l.trim().startsWith(name));
      expect(line, run.stdout).toBeDefined();
      expect(line).toContain(`sha256 ${sha256(join(dir, name)).slice(0, 16)}…`);
    }
    expect(readdirSync(dir).sort()).toEqual([MANIFEST, GBSNAP, 'snapshot.metadata']);
    expect(readFileSync(join(dir, GBSNAP)).equals(readFileSync(nodeSnapshotFile))).toBe(true);
    expect(await treeHash(ex.m1.dir)).toBe(m1Tree);
  });

  it('--json: exportDir, the record pointing into it, and every file with size and SHA-256', async () => {
    const dest = join(ex.root, 'exp-json');
    const r = expectOk(await runCli(exportArgs(ex, dest, '--json')));
    const dir = join(dest, SNAP);
    expect(r).toMatchObject({ shardId: '100', replicaId: '1', index: String(SNAPSHOT_INDEX), term: String(TERM), exportDir: dir });
    expect(r.record.index).toBe(String(SNAPSHOT_INDEX));
    expect(r.record.filepath).toBe(join(dir, GBSNAP));
    expect(r.record.membership.addresses).toEqual({ 1: 'm1:63001', 2: 'm2:63001', 3: 'm3:63001' });
    expect(r.record.imported).toBe(false);
    expect(r.files.map((f: { name: string }) => f.name)).toEqual([GBSNAP, 'snapshot.metadata']);
    for (const f of r.files as { name: string; size: string; sha256: string }[]) {
      expect(f.sha256).toBe(sha256(join(dir, f.name)));
      expect(f.size).toBe(String(readFileSync(join(dir, f.name)).length));
    }
    // The manifest on disk says the same.
    const manifest = JSON.parse(readFileSync(join(dir, MANIFEST), 'utf8'));
    expect(manifest.files).toEqual(
      r.files.map((f: { name: string; size: string; sha256: string }) => ({ name: f.name, size: f.size, sha256: f.sha256 })),
    );
    expect(await treeHash(ex.m1.dir)).toBe(m1Tree);
  });

  it('exit 1 ErrAlreadyExists for an existing export, exit 1 ErrNoSnapshot, exit 2 without --dest; nothing written', async () => {
    const dest = join(ex.root, 'exp-twice');
    expectOk(await runCli(exportArgs(ex, dest, '--json')));
    const destTree = await treeHash(dest);
    const again = expectError(await runCli(exportArgs(ex, dest, '--json')), 'ErrAlreadyExists', 1);
    expect(again.details.path).toBe(join(dest, SNAP));
    expect(await treeHash(dest)).toBe(destTree);

    // A replica the log store records no snapshot of, and a host that has no data at all.
    const none = join(ex.root, 'exp-none');
    const noSnap = expectError(
      await runCli(['export', '--config', ex.m1.configFile, '--shard-id', '100', '--replica-id', '9', '--dest', none, '--json']),
      'ErrNoSnapshot',
      1,
    );
    expect(noSnap.message).toMatch(/no snapshot for shard 100 replica 9/);
    expectError(
      await runCli(['export', '--config', ex.m4.configFile, '--shard-id', '100', '--replica-id', '4', '--dest', none, '--json']),
      'ErrNoSnapshot',
      1,
    );
    expect(existsSync(none)).toBe(false);
    expect(existsSync(ex.m4.dir)).toBe(false);

    const noDest = await runCli(['export', '--config', ex.m1.configFile, '--shard-id', '100', '--replica-id', '1', '--json']);
    expect(expectError(noDest, 'ErrUsage', 2).message).toMatch(/--dest is required/);
    const human = await runCli(['export', '--config', ex.m1.configFile, '--shard-id', '100', '--replica-id', '1']);
    expect(human.status).toBe(2);
    expect(human.stderr).toMatch(/--dest is required/);
    expect(await treeHash(ex.m1.dir)).toBe(m1Tree);
  });

  it('verify checks the manifest: a tampered digest or a stray file is exit 1 ErrManifestMismatch; import refuses it too', async () => {
    const dest = join(ex.root, 'exp-tamper');
    const { exportDir } = expectOk(await runCli(exportArgs(ex, dest, '--json')));
    const v = expectOk(await runCli(['verify', exportDir, '--json']));
    expect(v.kind).toBe('export');
    expect(v.record.index).toBe(String(SNAPSHOT_INDEX));

    const mpath = join(exportDir, MANIFEST);
    const original = readFileSync(mpath, 'utf8');
    const j = JSON.parse(original) as { files: { name: string; sha256: string }[] };
    j.files.find((f) => f.name === 'snapshot.metadata')!.sha256 = '0'.repeat(64);
    writeFileSync(mpath, JSON.stringify(j));
    const bad = expectError(await runCli(['verify', exportDir, '--json']), 'ErrManifestMismatch', 1);
    expect(bad.details).toMatchObject({ check: 'manifest-sha256', path: join(exportDir, 'snapshot.metadata'), expected: '0'.repeat(64) });
    const human = await runCli(['verify', exportDir]);
    expect(human.status).toBe(1);
    expect(human.stderr).toMatch(/ErrManifestMismatch: .*snapshot\.metadata does not match its SHA-256/);

    // import checks the manifest before anything is written: the new host stays empty.
    const imp = await runCli([
      'import',
      '--config',
      ex.m4.configFile,
      '--src',
      exportDir,
      '--members',
      MEMBERS,
      '--replica-id',
      '4',
      '--json',
    ]);
    expectError(imp, 'ErrManifestMismatch', 1);
    expect(existsSync(ex.m4.dir)).toBe(false);

    writeFileSync(mpath, original);
    writeFileSync(join(exportDir, 'stray.bin'), 'x');
    expect(expectError(await runCli(['verify', exportDir, '--json']), 'ErrManifestMismatch', 1).details.check).toBe('manifest-extra-file');
  });

  it('verify --json shows the manifest check of an export that has one', async () => {
    const dest = join(ex.root, 'exp-verify');
    const { exportDir } = expectOk(await runCli(exportArgs(ex, dest, '--json')));
    const v = expectOk(await runCli(['verify', exportDir, '--json']));
    expect(v.manifest).toBeDefined();
    expect([...v.manifest.hashed].sort()).toEqual([GBSNAP, 'snapshot.metadata']);
  });

  it('the export imports: a new host takes it through the CLI', async () => {
    const dest = join(ex.root, 'exp-import');
    const { exportDir } = expectOk(await runCli(exportArgs(ex, dest, '--json')));
    const r = expectOk(
      await runCli(['import', '--config', ex.m5.configFile, '--src', exportDir, '--members', MEMBERS, '--replica-id', '5', '--json']),
    );
    expect(r.after.snapshot.index).toBe(String(SNAPSHOT_INDEX));
    expect(r.files.map((f: { how: string }) => f.how)).toEqual(['copied']);
    expect(await treeHash(ex.m1.dir)).toBe(m1Tree);
  });
});

describe('help of the operator commands', () => {
  it('plan, export and restore-backup --help: exit 0, usage and options', async () => {
    const expected: Record<string, string[]> = {
      plan: ['--src <dir>', '--members <list>', '--config <file>', '--json'],
      export: ['--config <file>', '--shard-id <N>', '--replica-id <N>', '--dest <dir>', '--json'],
      'restore-backup': ['--config <file>', '--json'],
      import: ['--backup <dir>', '--manifest <file>', '--concurrency <N>'],
    };
    const runs = await Promise.all(Object.keys(expected).map((c) => runCli([c, '--help'])));
    for (const [i, [name, options]] of Object.entries(expected).entries()) {
      const run = runs[i]!;
      expect(run.status, run.stderr).toBe(0);
      expect(run.stdout).toMatch(new RegExp(`^Usage: nodehost ${name} `));
      for (const o of options) expect(run.stdout, name).toContain(o);
      expect(run.stderr).toBe('');
    }
    expect(runs[2]!.stdout).toMatch(/^Usage: nodehost restore-backup <backup-dir> --config <file>/);
  });

  it('nodehost --help lists plan, export and restore-backup', async () => {
    const run = await runCli(['--help']);
    expect(run.status).toBe(0);
    for (const c of ['plan', 'import', 'export', 'restore-backup']) expect(run.stdout).toMatch(new RegExp(`^  ${c} +\\S`, 'm'));
  });
});
