/**
 * `verify` and `inspect` from dist/cli/bundle-<command>.cjs (scripts/prepare.mjs): the same output,
 * exit status and errors as from dist/ module by module, and the bundle is
 * run only while it is at least as new as dist/cli/main.js. Each run is a
 * child process on a copy of the package whose bundle this test builds.
 */
import { execFileSync } from 'node:child_process';
import { cpSync, existsSync, mkdirSync, mkdtempSync, rmSync, statSync, symlinkSync, utimesSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { samplePayload, writeSampleExport, writeSampleNode } from '../../src/ops/sample-node.js';
import { emptySnapshot } from '../../src/records/codec.js';
import { GOLDEN_V1_PATH, PROJECT_ROOT, V2_BLOCK_SIZE, blockDataOffset, flipByte } from '../helpers/snapshots.js';
import { TEST_LOGDB_TYPE } from '../helpers/store.js';
import { type CliRun, runCli } from './run.js';

/** A copy of the package (dist/, bin/, the build script) with its own bundles; packages and the addon linked. */
function packageCopy(root: string): { bin: string; bundles: string[]; main: string } {
  for (const p of ['dist', 'bin', 'scripts/prepare.mjs', 'package.json']) cpSync(join(PROJECT_ROOT, p), join(root, p), { recursive: true });
  // src/ too: the launcher then dates the bundles as in a checkout.
  for (const p of ['node_modules', 'build', 'assembly', 'prebuilds', 'src']) {
    if (existsSync(join(PROJECT_ROOT, p))) symlinkSync(join(PROJECT_ROOT, p), join(root, p));
  }
  const bundles = ['verify', 'inspect'].map((c) => join(root, 'dist', 'cli', `bundle-${c}.cjs`));
  for (const b of bundles) rmSync(b, { force: true });
  execFileSync(process.execPath, [join(root, 'scripts', 'prepare.mjs'), '--bundle-only'], { cwd: root, stdio: 'pipe' });
  return { bin: join(root, 'bin', 'nodehost.js'), bundles, main: join(root, 'dist', 'cli', 'main.js') };
}

/** Dates the bundles `seconds` after (or before, negative) dist/cli/main.js. */
function dateBundles(pkg: { bundles: string[]; main: string }, seconds: number): void {
  const t = statSync(pkg.main).mtimeMs / 1000 + seconds;
  for (const b of pkg.bundles) utimesSync(b, t, t);
}

async function makeExport(root: string): Promise<string> {
  const record = { ...emptySnapshot(), index: 400n, term: 5n, shardId: 100n };
  record.membership.addresses.set(1n, 'm1:63001');
  return writeSampleExport(join(root, 'export'), record, samplePayload(V2_BLOCK_SIZE + 4321));
}

/** A host holding replica 1 of shard 100 (620 entries, a snapshot at 400); returns its config file. */
async function makeHost(root: string): Promise<string> {
  const config = { nodeHostDir: join(root, 'host', 'nodehost'), raftAddress: 'm1:63001', hostname: 'm1', logdbType: TEST_LOGDB_TYPE };
  await writeSampleNode({
    config,
    shardId: 100n,
    replicaId: 1n,
    members: new Map([
      [1n, 'm1:63001'],
      [2n, 'm2:63001'],
    ]),
    lastIndex: 620n,
    snapshotIndex: 400n,
    term: 5n,
    payload: samplePayload(64 * 1024),
  });
  const file = join(root, 'host.json');
  writeFileSync(file, JSON.stringify(config));
  return file;
}

describe('nodehost verify and inspect from the bundled entry', () => {
  let pkg: ReturnType<typeof packageCopy>;
  let exportDir: string;
  let corruptDir: string;
  let hostConfig: string;
  // One package copy and one export for both tests (the copy takes a bundle build).
  const root = mkdtempSync(join(tmpdir(), 'nht-cli-bundle-'));
  afterAll(() => rmSync(root, { recursive: true, force: true }));
  beforeAll(async () => {
    mkdirSync(join(root, 'pkg'));
    pkg = packageCopy(join(root, 'pkg'));
    exportDir = await makeExport(root);
    corruptDir = join(root, 'corrupt');
    cpSync(exportDir, corruptDir, { recursive: true });
    flipByte(join(corruptDir, 'snapshot-0000000000000190.gbsnap'), blockDataOffset(1) + 7);
    hostConfig = await makeHost(root);
  }, 120_000);

  it('prints, exits and fails exactly as the modules of dist/ do', async () => {
    const cases: { args: string[]; env?: Record<string, string> }[] = [
      { args: ['verify', exportDir, '--json'] },
      { args: ['verify', exportDir, '--no-progress'] },
      { args: ['verify', exportDir, '--engine', 'wasm', '--json'] },
      { args: ['verify', exportDir, '--engine', 'js', '--no-progress'] },
      { args: ['verify', exportDir, '--json'], env: { NODEHOST_TOOLS_DISABLE_NATIVE: '1' } },
      { args: ['verify', corruptDir, '--json'] },
      { args: ['verify', corruptDir, '--no-progress'] },
      { args: ['verify', GOLDEN_V1_PATH, '--json'] },
      { args: ['verify', join(exportDir, 'missing'), '--json'] },
      { args: ['verify'] },
      { args: ['verify', exportDir, '--engine', 'bogus', '--json'] },
      { args: ['verify', '--help'] },
      { args: ['inspect', '--config', hostConfig, '--shard-id', '100', '--replica-id', '1', '--json'] },
      { args: ['inspect', '--config', hostConfig, '--shard-id', '100', '--replica-id', '1'] },
      { args: ['inspect', '--config', hostConfig, '--shard-id', '100', '--replica-id', '9', '--json'] },
      { args: ['inspect', '--config', join(hostConfig, '..', 'missing.json'), '--shard-id', '100', '--replica-id', '1', '--json'] },
      { args: ['inspect', '--shard-id', '100', '--replica-id', '1'] },
    ];
    const run = (c: (typeof cases)[number]): Promise<CliRun> => runCli(c.args, { bin: pkg.bin, ...(c.env ? { env: c.env } : {}) });
    dateBundles(pkg, 10);
    const bundled = [];
    for (const c of cases) bundled.push(await run(c));
    dateBundles(pkg, -10);
    const modular = [];
    for (const c of cases) modular.push(await run(c));
    expect(bundled).toEqual(modular);
    // The cases are what they say: a pass, a failed block, a usage error.
    expect(bundled.map((r) => r.status)).toEqual([0, 0, 0, 0, 0, 1, 1, 0, 1, 2, 2, 0, 0, 0, 0, 1, 2]);
    expect(bundled[5]!.stdout).toContain('"check":"block-crc"');
    expect(bundled[4]!.stderr).toContain('native engine unavailable');
    expect(bundled[12]!.stdout).toContain('"shardId":"100"');
    expect(bundled[15]!.stdout).toContain('"code":"ErrPathNotExist"');
  });

  it('runs verify without the modules of dist/ while current; in a checkout not once dist/cli/main.js is newer', async () => {
    const gone = join(pkg.main, '..', 'commands', 'verify.js');
    const kept = `${gone}.kept`;
    cpSync(gone, kept);
    rmSync(gone);
    try {
      dateBundles(pkg, 10);
      const fresh = await runCli(['verify', exportDir, '--json'], { bin: pkg.bin });
      expect(fresh.status).toBe(0);
      dateBundles(pkg, -10);
      const stale = await runCli(['verify', exportDir, '--json'], { bin: pkg.bin });
      expect(stale.status).toBe(1);
      expect(stale.stderr).toContain('commands/verify.js');
      // An installed package (no src/): dist/ and its bundles came from one tarball, dated in whatever order it was
      // extracted; the bundle is run.
      const src = join(pkg.main, '..', '..', '..', 'src');
      rmSync(src);
      try {
        const installed = await runCli(['verify', exportDir, '--json'], { bin: pkg.bin });
        expect(installed.status, installed.stderr).toBe(0);
      } finally {
        symlinkSync(join(PROJECT_ROOT, 'src'), src);
      }
    } finally {
      cpSync(kept, gone);
    }
  });
});
