/**
 * `verify` and `inspect` from dist/cli/bundle-<command>.cjs (scripts/prepare.mjs): the same output,
 * exit status and errors as from dist/ module by module, and the bundle is
 * run only while it is at least as new as dist/cli/main.js. Each run is a
 * child process on a copy of the package whose bundle this test builds.
 */
import { execFileSync } from 'node:child_process';
import {
  cpSync,
  existsSync,
  mkdirSync,
  mkdtempSync,
  readFileSync,
  rmSync,
  statSync,
  symlinkSync,
  utimesSync,
  writeFileSync,
} from 'node:fs';
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
  for (const p of ['dist', 'bin', 'scripts/prepare.mjs', 'scripts/code-cache.cjs', 'package.json'])
    cpSync(join(PROJECT_ROOT, p), join(root, p), { recursive: true });
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

const LOADER = join(PROJECT_ROOT, 'bin', 'bundle-loader.js');

/**
 * Loads `file` through bin/bundle-loader.js in a fresh `node` (V8 also keeps compiled code in memory per
 * process, which would hide what the cache on disk does): whether the cache was used, and `expr` of the
 * exports. With `write`, then writes the cache.
 */
function childLoad(file: string, expr = 'null', write = false): { cacheUsed: boolean; value: unknown } {
  const probe =
    `const b = require(${JSON.stringify(LOADER)}).loadBundle(${JSON.stringify(file)});` +
    `const value = ((exports) => ${expr})(b.exports);` +
    `${write ? 'b.writeCache();' : ''}process.stdout.write(JSON.stringify({ cacheUsed: b.cacheUsed, value }));`;
  return JSON.parse(execFileSync(process.execPath, ['-e', probe], { encoding: 'utf8' }));
}

describe("the bundles' V8 code cache (bin/bundle-loader.js)", () => {
  const dir = mkdtempSync(join(tmpdir(), 'nht-code-cache-'));
  afterAll(() => rmSync(dir, { recursive: true, force: true }));

  it('the build makes one per bundle, and a plain `node` running the launcher uses it', () => {
    for (const command of ['verify', 'inspect']) {
      const bundle = join(PROJECT_ROOT, 'dist', 'cli', `bundle-${command}.cjs`);
      expect(existsSync(`${bundle}.v8cache`), command).toBe(true);
      expect(childLoad(bundle, 'typeof exports.main'), command).toEqual({ cacheUsed: true, value: 'function' });
    }
  });

  it('a bundle changed since its cache, even to the same length, runs its own code; equal dates (npm) use the cache', () => {
    const file = join(dir, 'same-length.cjs');
    const cache = `${file}.v8cache`;
    writeFileSync(file, "module.exports.word = function () { return 'AAAA'; };\n");
    expect(childLoad(file, 'exports.word()', true)).toEqual({ cacheUsed: false, value: 'AAAA' });
    expect(childLoad(file, 'exports.word()')).toEqual({ cacheUsed: true, value: 'AAAA' });
    // npm's extraction gives every file of the package one date: the cache is used.
    utimesSync(file, 499_162_500, 499_162_500);
    utimesSync(cache, 499_162_500, 499_162_500);
    expect(childLoad(file, 'exports.word()')).toEqual({ cacheUsed: true, value: 'AAAA' });
    // An edit made later. V8 checks a cache against the source's length only, and would run AAAA here.
    writeFileSync(file, "module.exports.word = function () { return 'BBBB'; };\n");
    utimesSync(file, 499_162_502, 499_162_502);
    expect(childLoad(file, 'exports.word()')).toEqual({ cacheUsed: false, value: 'BBBB' });
  });

  it('a damaged cache or one from another Node.js is not used; the bundle still loads', () => {
    const file = join(dir, 'damaged.cjs');
    writeFileSync(file, 'module.exports.n = 42;\n');
    childLoad(file, 'null', true);
    const cache = `${file}.v8cache`;
    const good = readFileSync(cache);
    const header = good.subarray(0, good.indexOf(10) + 1).toString('latin1');
    expect(header).toContain(process.version);
    expect(childLoad(file, 'exports.n')).toEqual({ cacheUsed: true, value: 42 });

    writeFileSync(cache, Buffer.concat([Buffer.from(header, 'latin1'), Buffer.alloc(good.length - header.length, 0x5a)]));
    expect(childLoad(file, 'exports.n')).toEqual({ cacheUsed: false, value: 42 });
    writeFileSync(cache, Buffer.concat([Buffer.from(header.replace(process.version, 'v0.0.1'), 'latin1'), good.subarray(header.length)]));
    expect(childLoad(file, 'exports.n')).toEqual({ cacheUsed: false, value: 42 });
    writeFileSync(cache, good.subarray(0, header.length));
    expect(childLoad(file, 'exports.n')).toEqual({ cacheUsed: false, value: 42 });
  });

  it("keeps the bundle's file name and line numbers in stack traces, and require() resolves beside it", () => {
    const file = join(dir, 'throws.cjs');
    writeFileSync(join(dir, 'sibling.cjs'), "module.exports = 'beside';\n");
    writeFileSync(file, "exports.sibling = require('./sibling.cjs');\nexports.fail = () => {\n  throw new Error('line three');\n};\n");
    const stack = childLoad(file, '(() => { try { exports.fail(); } catch (e) { return [exports.sibling, e.stack]; } })()')
      .value as string[];
    expect(stack[0]).toBe('beside');
    expect(stack[1]).toContain(`${file}:3:`);
  });
});
