#!/usr/bin/env node
// The package as a consumer gets it. Packs this checkout (`npm pack`: its
// prepack step puts the prebuilt addon in), installs the tarball into a fresh
// temporary project OFFLINE (its dependencies from the npm cache the
// checkout's own `npm install` filled) with NO compiler on PATH, and checks:
//
//   - the tarball ships what the package needs (dist, the CJS entry, the CLI,
//     the prebuild, the wasm module, the native sources for other platforms,
//     README, LICENSE, docs) and nothing else (no tests, sources maps, src/,
//     bench inputs, build/ outputs, repository tooling);
//   - the install used the prebuild (no build/ in the installed package) and
//     the native engine is the active one, loaded from prebuilds/;
//   - ESM `import` and CJS `require` of the public API (require twice: the
//     require(esm) path this Node.js has, and the load()-based fallback of a
//     Node.js without it, forced with --no-experimental-require-module);
//   - a TypeScript file using the public types type-checks with `tsc --strict`
//     (module nodenext, against the installed package's declarations);
//   - `npx nodehost --version` prints the package's version and
//     `npx nodehost demo` runs the worked example on the native engine;
//   - `verify` and `inspect` of the example `demo --setup` lays out run from
//     their bundles (dist/cli/bundle-*.cjs): they still work with their
//     modules removed from dist/.
//
//   node scripts/consumer-test.mjs [--json test-results/consumer.json] [--keep]
//
// Prints one line per check and "consumer: N passed, N failed"; with --json,
// also writes a report shaped like vitest's JSON report (numPassedTests,
// numFailedTests, numTotalTests, testResults) for .ci/count.mjs. Exit 1 when a
// check failed.
import { spawnSync } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');
const args = process.argv.slice(2);
const jsonOut = args.includes('--json') ? path.resolve(args[args.indexOf('--json') + 1]) : undefined;
const keep = args.includes('--keep');
const pkg = JSON.parse(fs.readFileSync(path.join(root, 'package.json'), 'utf8'));

const results = [];
const started = Date.now();

function check(name, fn) {
  const t0 = Date.now();
  try {
    fn();
    results.push({ name, ok: true, ms: Date.now() - t0 });
    process.stdout.write(`  ok    ${name}\n`);
  } catch (err) {
    const message = err instanceof Error ? err.message : String(err);
    results.push({ name, ok: false, ms: Date.now() - t0, message });
    process.stdout.write(`  FAIL  ${name}\n${message.replace(/^/gm, '        ')}\n`);
  }
}

function assert(cond, message) {
  if (!cond) throw new Error(message);
}

/** Runs a command; returns its output, throwing with both streams on a non-zero exit. */
function run(cmd, argv, opts = {}) {
  const r = spawnSync(cmd, argv, { encoding: 'utf8', maxBuffer: 64 * 1024 * 1024, ...opts });
  if (r.error) throw new Error(`${cmd} ${argv.join(' ')}: ${r.error.message}`);
  if (r.status !== 0 && !opts.allowFail) {
    throw new Error(`${cmd} ${argv.join(' ')} exited ${r.status}\n${(r.stdout ?? '').slice(-3000)}\n${(r.stderr ?? '').slice(-3000)}`);
  }
  return r;
}

/**
 * The consumer's lockfile: the tarball, and its dependencies at the versions
 * and integrities this checkout's package-lock.json pins (its non-dev
 * packages), so `npm ci --offline` takes every tarball from the npm cache the
 * checkout's own install filled, by integrity, with no registry metadata.
 */
function consumerLock(spec) {
  const lock = JSON.parse(fs.readFileSync(path.join(root, 'package-lock.json'), 'utf8'));
  const packages = {
    '': { name: 'consumer', version: '1.0.0', dependencies: { 'nodehost-tools': spec } },
    'node_modules/nodehost-tools': {
      version: pkg.version,
      resolved: spec,
      integrity: tarballIntegrity,
      license: pkg.license,
      dependencies: pkg.dependencies,
      bin: pkg.bin,
      engines: pkg.engines,
      hasInstallScript: true,
    },
  };
  for (const [key, entry] of Object.entries(lock.packages)) {
    if (key === '' || entry.dev || !key.startsWith('node_modules/')) continue;
    const name = key.slice(key.lastIndexOf('node_modules/') + 'node_modules/'.length);
    const base = name.includes('/') ? name.split('/')[1] : name;
    packages[key] = { ...entry, resolved: entry.resolved ?? `https://registry.npmjs.org/${name}/-/${base}-${entry.version}.tgz` };
  }
  return { name: 'consumer', version: '1.0.0', lockfileVersion: 3, requires: true, packages };
}

let tarballIntegrity;
const work = fs.mkdtempSync(path.join(os.tmpdir(), 'nodehost-consumer-'));
const project = path.join(work, 'project');
const bin = path.join(work, 'bin');
let tarball;
let files = [];
let installLog = '';

// A PATH with node, npm, npx and a shell only: no cc, c++, gcc, g++, make (nor python3).
fs.mkdirSync(bin);
const nodeDir = path.dirname(process.execPath);
const npmCli = [path.join(nodeDir, 'npm'), '/usr/bin/npm', '/usr/local/bin/npm'].find((p) => fs.existsSync(p));
const npxCli = [path.join(nodeDir, 'npx'), '/usr/bin/npx', '/usr/local/bin/npx'].find((p) => fs.existsSync(p));
for (const [name, target] of [
  ['node', process.execPath],
  ['npm', npmCli],
  ['npx', npxCli],
  ['sh', '/bin/sh'],
  ['env', '/usr/bin/env'],
]) {
  if (target) fs.symlinkSync(target, path.join(bin, name));
}
const env = {
  ...process.env,
  PATH: bin,
  npm_config_offline: 'true',
  npm_config_audit: 'false',
  npm_config_fund: 'false',
  npm_config_update_notifier: 'false',
};
for (const k of Object.keys(env)) {
  // No lifecycle context of an npm run that started this script, and the addon switched on.
  if (
    k.startsWith('npm_lifecycle') ||
    k.startsWith('npm_package') ||
    k === 'NODEHOST_TOOLS_DISABLE_NATIVE' ||
    k === 'NODEHOST_TOOLS_NATIVE_PATH' ||
    k === 'INIT_CWD'
  )
    delete env[k];
}
const inProject = { cwd: project, env };

try {
  process.stdout.write(`consumer test of ${pkg.name}@${pkg.version} in ${work}\n`);

  check('npm pack makes a tarball (prepack: the prebuilt addon)', () => {
    const r = run('npm', ['pack', '--json', '--pack-destination', work], { cwd: root });
    const info = JSON.parse(r.stdout.slice(r.stdout.indexOf('[')))[0];
    tarball = path.join(work, info.filename);
    tarballIntegrity = info.integrity;
    files = info.files.map((f) => f.path);
    process.stdout.write(
      `        ${info.filename}: ${(info.size / 1024).toFixed(0)} KiB packed, ${(info.unpackedSize / 1024).toFixed(0)} KiB unpacked, ${files.length} files\n`,
    );
    assert(fs.existsSync(tarball), `no tarball at ${tarball}`);
    assert(!fs.existsSync(path.join(root, 'prebuilds')), 'postpack left prebuilds/ in the checkout');
  });

  check('the tarball ships what the package needs', () => {
    const need = [
      'package.json',
      'README.md',
      'LICENSE',
      'bin/nodehost.js',
      'bin/package.json',
      'bin/bundle-loader.js',
      'dist/index.js',
      'dist/index.d.ts',
      'dist/cli/main.js',
      'dist/cli/bundle-verify.cjs',
      'dist/cli/bundle-inspect.cjs',
      'dist/cli/bundle-verify.cjs.v8cache',
      'dist/cli/bundle-inspect.cjs.v8cache',
      'cjs/index.cjs',
      'cjs/index.d.cts',
      'assembly/build/nodehost.wasm',
      'binding.gyp',
      'scripts/build-native.mjs',
      'native/src/addon.cc',
    ];
    const missing = need.filter((f) => !files.includes(f));
    assert(missing.length === 0, `missing: ${missing.join(', ')}`);
    assert(
      files.some((f) => f.startsWith('docs/') && f.endsWith('.md')),
      'no docs/*.md',
    );
    assert(
      files.some((f) => /^prebuilds\/linux-x64\/[^/]+\.node$/.test(f)) || process.platform !== 'linux' || process.arch !== 'x64',
      'no prebuilds/linux-x64/*.node',
    );
  });

  check('the tarball ships nothing it does not need', () => {
    const bad = files.filter(
      (f) =>
        /^(test|src|build|\.ci|test-results|node_modules|dist\.)/.test(f) ||
        f.endsWith('.map') ||
        f === 'dist/.built-from' ||
        /\.(test|spec)\.[cm]?[jt]s$/.test(f) ||
        /\.(gbsnap|kv)$/.test(f) ||
        (f.startsWith('assembly/') && f !== 'assembly/build/nodehost.wasm') ||
        /^(tsconfig|vitest)/.test(f) ||
        f === 'CMakeLists.txt',
    );
    assert(bad.length === 0, `should not ship: ${bad.slice(0, 20).join(', ')}${bad.length > 20 ? ', ...' : ''}`);
  });

  check('no compiler on the install PATH', () => {
    for (const tool of ['cc', 'c++', 'gcc', 'g++', 'make', 'python3']) {
      const r = spawnSync('sh', ['-c', `command -v ${tool}`], { env, encoding: 'utf8' });
      assert(r.status !== 0, `${tool} is on PATH: ${r.stdout.trim()}`);
    }
  });

  check('npm ci --offline of the tarball into a fresh project, no compiler on PATH: the prebuild, no build', () => {
    fs.mkdirSync(project);
    const spec = `file:../${path.basename(tarball)}`;
    fs.writeFileSync(
      path.join(project, 'package.json'),
      JSON.stringify({ name: 'consumer', version: '1.0.0', private: true, dependencies: { 'nodehost-tools': spec } }, null, 2),
    );
    fs.writeFileSync(path.join(project, 'package-lock.json'), JSON.stringify(consumerLock(spec), null, 2));
    const r = run('npm', ['ci', '--offline', '--foreground-scripts'], inProject);
    installLog = `${r.stdout}\n${r.stderr}`;
    const installed = path.join(project, 'node_modules', 'nodehost-tools');
    assert(fs.existsSync(path.join(installed, 'package.json')), 'nodehost-tools is not in node_modules');
    assert(
      /using the prebuilt native addon/.test(installLog),
      `the install script did not report the prebuild:\n${installLog.slice(-2000)}`,
    );
    assert(!fs.existsSync(path.join(installed, 'build')), 'the install built something (build/ exists)');
  });

  check('the native engine is active, loaded from the prebuild', () => {
    const native = path.join(project, 'node_modules', 'nodehost-tools', 'dist', 'native', 'binding.js');
    const r = run(
      'node',
      [
        '--input-type=module',
        '-e',
        `
      const { selectEngine } = await import('nodehost-tools');
      const { NATIVE_ADDON_PATH, nativeLoadError } = await import(${JSON.stringify(native)});
      const s = selectEngine('auto');
      console.log(JSON.stringify({ engine: s.engine.name, degraded: s.degraded ?? null, path: NATIVE_ADDON_PATH, error: nativeLoadError() ?? null }));`,
      ],
      inProject,
    );
    const got = JSON.parse(r.stdout.trim().split('\n').pop());
    assert(got.engine === 'native' && got.degraded === null, `engine ${got.engine}: ${got.degraded ?? got.error}`);
    assert(/[/\\]prebuilds[/\\]linux-x64[/\\]/.test(got.path) || process.platform !== 'linux', `loaded from ${got.path}`);
  });

  check('ESM: import of the public API', () => {
    run(
      'node',
      [
        '--input-type=module',
        '-e',
        `
      import * as nh from 'nodehost-tools';
      import { verifySnapshot, importSnapshot, inspectNode, NodeHostToolsError, ErrUsage, encodeSnapshot, decodeSnapshot, emptySnapshot } from 'nodehost-tools';
      for (const f of [verifySnapshot, importSnapshot, inspectNode, encodeSnapshot]) if (typeof f !== 'function') throw new Error('not a function');
      if (!(new ErrUsage('x') instanceof NodeHostToolsError)) throw new Error('error classes');
      const s = decodeSnapshot(encodeSnapshot({ ...emptySnapshot(), index: 400n }));
      if (s.index !== 400n) throw new Error('codec round trip');
      if (Object.keys(nh).length < 50) throw new Error('few exports: ' + Object.keys(nh).length);`,
      ],
      inProject,
    );
  });

  const cjsScript = `
    const nh = require('nodehost-tools');
    const { createRequire } = require('node:module');
    (async () => {
      const lib = await nh.load();
      const asyncNames = Object.keys(lib).filter((n) => lib[n] && lib[n].constructor && lib[n].constructor.name === 'AsyncFunction').sort();
      if (JSON.stringify(asyncNames) !== JSON.stringify([...nh.ASYNC_EXPORTS].sort())) throw new Error('ASYNC_EXPORTS differs from the library: ' + asyncNames.join(','));
      if (typeof nh.verifySnapshot !== 'function' || typeof nh.inspectNode !== 'function') throw new Error('async functions missing');
      const { emptySnapshot, encodeSnapshot, decodeSnapshot, NodeHostToolsError } = lib;
      if (decodeSnapshot(encodeSnapshot({ ...emptySnapshot(), term: 5n })).term !== 5n) throw new Error('codec');
      // One library, not two copies: the error a direct call throws is the load()ed namespace's class.
      const err = await nh.verifySnapshot('/nonexistent/nodehost-consumer').catch((e) => e);
      if (!(err instanceof NodeHostToolsError)) throw new Error('the error is not the library\\'s NodeHostToolsError: ' + err);
      const esm = await import('nodehost-tools');
      if (esm.NodeHostToolsError !== NodeHostToolsError) throw new Error('require and import give different copies');
      console.log(process.features.require_module ? 'require(esm)' : 'load()');
    })().catch((e) => { console.error(e); process.exit(1); });`;

  check('CJS: require of the public API (require(esm) where Node.js has it)', () => {
    const r = run('node', ['-e', cjsScript], inProject);
    process.stdout.write(`        path: ${r.stdout.trim()}\n`);
  });

  check('CJS: require on a Node.js without require(esm) (load() and the async functions)', () => {
    const probe = spawnSync(
      process.execPath,
      ['--no-experimental-require-module', '-e', 'process.exit(process.features.require_module ? 1 : 0)'],
      { env },
    );
    if (probe.status !== 0) {
      process.stdout.write('        (this Node.js cannot switch require(esm) off: the load() path is what it runs anyway)\n');
    }
    const r = run(
      'node',
      [
        ...(probe.status === 0 ? ['--no-experimental-require-module'] : []),
        '-e',
        cjsScript +
          `
      try { void require('nodehost-tools').LogDB; if (!process.features.require_module) { console.error('no error for LogDB'); process.exit(1); } }
      catch (e) { if (!/await require\\('nodehost-tools'\\)\\.load\\(\\)/.test(e.message)) { console.error(e.message); process.exit(1); } }`,
      ],
      inProject,
    );
    assert(r.stdout.trim() === (probe.status === 0 ? 'load()' : 'require(esm)') || probe.status !== 0, `ran the ${r.stdout.trim()} path`);
  });

  check('TypeScript: a consumer file using the public types passes tsc --strict', () => {
    fs.writeFileSync(
      path.join(project, 'consumer.ts'),
      `
import {
  verifySnapshot, inspectNode, importSnapshot, planRecovery, NodeHostToolsError, ErrUsage, selectEngine,
  type VerifySnapshotResult, type NodeView, type ImportResult, type NodeHostConfig, type Snapshot, type Membership,
  type PlanResult, type EngineChoice, type ImportOptions,
} from 'nodehost-tools';

const config: NodeHostConfig = { nodeHostDir: '/var/lib/app/nodehost', raftAddress: 'm1:63001' };
const members = new Map<bigint, string>([[1n, 'm1:63001'], [4n, 'm4:63001'], [5n, 'm5:63001']]);
const engine: EngineChoice = 'auto';
const options: ImportOptions = { dryRun: true, engine };

export async function check(src: string): Promise<string> {
  const v: VerifySnapshotResult = await verifySnapshot(src, { engine });
  const node: NodeView = await inspectNode(config, 100n, 1n);
  const snap: Snapshot | undefined = node.snapshot;
  const m: Membership | undefined = snap?.membership;
  const res: ImportResult = await importSnapshot(config, src, members, 1n, options);
  const plan: PlanResult = await planRecovery(src, members, [{ kind: 'config', config, configPath: 'm1.json' }]);
  try {
    selectEngine('native');
  } catch (err: unknown) {
    if (err instanceof NodeHostToolsError) return err.code;
  }
  return [v.engine, m?.configChangeId.toString(), res.fingerprint, String(plan.ok), new ErrUsage('x').code].join(' ');
}
`,
    );
    fs.writeFileSync(
      path.join(project, 'tsconfig.json'),
      JSON.stringify(
        {
          compilerOptions: {
            strict: true,
            module: 'nodenext',
            moduleResolution: 'nodenext',
            target: 'es2022',
            noEmit: true,
            skipLibCheck: false,
            types: ['node'],
            typeRoots: [path.join(root, 'node_modules', '@types')],
          },
          files: ['consumer.ts'],
        },
        null,
        2,
      ),
    );
    // The consumer is an ES module project (type module), as the import above needs.
    const p = JSON.parse(fs.readFileSync(path.join(project, 'package.json'), 'utf8'));
    fs.writeFileSync(path.join(project, 'package.json'), JSON.stringify({ ...p, type: 'module' }, null, 2));
    run('node', [path.join(root, 'node_modules', 'typescript', 'bin', 'tsc'), '-p', 'tsconfig.json'], inProject);
  });

  check('npx nodehost --version', () => {
    const r = run('npx', ['--offline', 'nodehost', '--version'], inProject);
    assert(r.stdout.trim() === pkg.version, `printed "${r.stdout.trim()}", package version ${pkg.version}`);
  });

  check('npx nodehost demo (the worked example, native engine)', () => {
    const r = run('npx', ['--offline', 'nodehost', 'demo'], inProject);
    assert(/fingerprint/.test(r.stdout) && /Imported\./.test(r.stdout), `unexpected demo output:\n${r.stdout.slice(-1500)}`);
    assert(!/native engine unavailable/.test(r.stderr + r.stdout), `the demo ran degraded:\n${r.stderr}`);
  });

  check('npx nodehost demo --setup, then verify and inspect of it run from their bundles (dist/ modules removed)', () => {
    const walk = path.join(work, 'walk');
    const setup = JSON.parse(
      run('npx', ['--offline', 'nodehost', 'demo', '--setup', walk, '--json'], inProject).stdout.trim().split('\n').pop(),
    );
    // The modules only the modular CLI would load: gone, the bundled commands must not need them.
    const dist = path.join(project, 'node_modules', 'nodehost-tools', 'dist');
    for (const m of ['ops/verify.js', 'ops/inspect.js', 'cli/commands/verify.js', 'cli/commands/inspect.js']) fs.rmSync(path.join(dist, m));
    const v = JSON.parse(
      run('npx', ['--offline', 'nodehost', 'verify', setup.exportDir, '--json'], inProject).stdout.trim().split('\n').pop(),
    );
    assert(v.ok === true && v.engine === 'native', `verify: ${JSON.stringify(v).slice(0, 400)}`);
    const i = run(
      'npx',
      ['--offline', 'nodehost', 'inspect', '--config', setup.configFiles.m1, '--shard-id', '100', '--replica-id', '1', '--json'],
      inProject,
    );
    assert(JSON.parse(i.stdout.trim().split('\n').pop()).ok === true, `inspect: ${i.stdout.slice(-400)}`);
    // The tarball's code caches were made by this Node.js: the installed launcher's loader takes them.
    const pkg = path.join(project, 'node_modules', 'nodehost-tools');
    for (const c of ['verify', 'inspect']) {
      const probe = `process.stdout.write(String(require(${JSON.stringify(path.join(pkg, 'bin', 'bundle-loader.js'))}).loadBundle(${JSON.stringify(path.join(pkg, 'dist', 'cli', `bundle-${c}.cjs`))}).cacheUsed))`;
      assert(run(process.execPath, ['-e', probe], inProject).stdout === 'true', `the ${c} bundle's V8 code cache is not used`);
    }
  });
} finally {
  const passed = results.filter((r) => r.ok).length;
  const failed = results.length - passed;
  process.stdout.write(`consumer: ${passed} passed, ${failed} failed\n`);
  if (jsonOut) {
    fs.mkdirSync(path.dirname(jsonOut), { recursive: true });
    fs.writeFileSync(
      jsonOut,
      JSON.stringify(
        {
          numTotalTests: results.length,
          numPassedTests: passed,
          numFailedTests: failed,
          startTime: started,
          success: failed === 0,
          testResults: [
            {
              name: path.join(root, 'scripts', 'consumer-test.mjs'),
              status: failed === 0 ? 'passed' : 'failed',
              assertionResults: results.map((r) => ({
                title: r.name,
                fullName: `consumer: ${r.name}`,
                status: r.ok ? 'passed' : 'failed',
                duration: r.ms,
                failureMessages: r.ok ? [] : [r.message],
              })),
            },
          ],
        },
        null,
        2,
      ),
    );
  }
  if (keep) process.stdout.write(`kept ${work}\n`);
  else fs.rmSync(work, { recursive: true, force: true });
  process.exitCode = results.every((r) => r.ok) ? 0 : 1;
}
