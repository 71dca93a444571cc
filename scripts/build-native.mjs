#!/usr/bin/env node
// Builds the Node-API addon build/Release/nodehost_native.node with npm's own
// node-gyp, offline: Node's headers come from the local installation, never
// from a download.
//
//   node scripts/build-native.mjs [--required] [--rebuild] [--quiet]
//
//   --required  a failed build exits non-zero (CI, development: `npm run build:native`);
//               always builds from source, whatever prebuild the package carries
//   --rebuild   configure and compile everything again, even when up to date
//
// The install script (no flags) builds nothing when the package carries a
// prebuild for this platform (prebuilds/<platform>-<arch>/*.node, put there by
// `npm pack`'s prepack step, scripts/prebuild.mjs) and it loads: the loader
// (src/native/binding.ts) finds it by the same rules. A local build in
// build/Release wins over it; npm's --build-from-source
// (npm_config_build_from_source) or NODEHOST_TOOLS_BUILD_FROM_SOURCE=1 forces
// the source build.
//
// Without --required, a failure while this package is installed as someone
// else's dependency prints one warning and exits 0: the library then runs in
// its degraded mode (WebAssembly checksum engine, classic-level for the log
// store). In this repository's own install a failure is an error.
//
// Environment: npm sets npm_config_node_gyp and npm_config_nodedir in
// lifecycle scripts; both are found by other means when absent.
// NODEHOST_TOOLS_SKIP_NATIVE_BUILD=1 skips the build altogether.
import { spawnSync } from 'node:child_process';
import fs from 'node:fs';
import { createRequire } from 'node:module';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');
const addonPath = path.join(root, 'build', 'Release', 'nodehost_native.node');
const args = new Set(process.argv.slice(2));
const required = args.has('--required');
const rebuild = args.has('--rebuild');
const quiet = args.has('--quiet');

/** Installed into another project's node_modules, rather than this repository's own root install. */
function isDependencyInstall() {
  if (root.split(path.sep).includes('node_modules')) return true;
  const initCwd = process.env.INIT_CWD;
  if (process.env.npm_lifecycle_event && initCwd) {
    return path.resolve(initCwd) !== root;
  }
  return false;
}

const soft = !required && isDependencyInstall();

class BuildError extends Error {
  constructor(message, output = '') {
    super(message);
    this.output = output;
  }
}

function log(line) {
  if (!quiet) process.stderr.write(`nodehost-tools: ${line}\n`);
}

function exists(p) {
  try {
    fs.accessSync(p);
    return true;
  } catch {
    return false;
  }
}

/** npm's bundled node-gyp: the variable npm sets, else next to this node's npm. */
function findNodeGyp() {
  const candidates = [
    process.env.npm_config_node_gyp,
    path.resolve(process.execPath, '../../lib/node_modules/npm/node_modules/node-gyp/bin/node-gyp.js'),
    path.resolve(process.execPath, '../node_modules/npm/node_modules/node-gyp/bin/node-gyp.js'),
  ];
  try {
    candidates.push(createRequire(path.join(root, 'package.json')).resolve('node-gyp/bin/node-gyp.js'));
  } catch {
    // not installed locally: fine
  }
  for (const c of candidates) if (c && exists(c)) return c;
  throw new BuildError(
    "cannot find node-gyp (looked for npm's bundled copy next to " +
      process.execPath +
      '); run through npm, or set npm_config_node_gyp to node-gyp.js',
  );
}

/** A directory with include/node/node_api.h: the one npm passes, else this node's own prefix. */
function findNodeDir() {
  const candidates = [process.env.npm_config_nodedir, path.resolve(process.execPath, '../..')];
  for (const c of candidates) {
    if (c && exists(path.join(c, 'include', 'node', 'node_api.h'))) return c;
  }
  throw new BuildError(
    'cannot find Node.js headers (include/node/node_api.h) under ' +
      candidates.filter(Boolean).join(' or ') +
      '; install them (e.g. the nodejs-dev / node headers package) or set npm_config_nodedir',
  );
}

/** classic-level's LevelDB sources, which binding.gyp links. */
function checkLevelDbSources() {
  let dir;
  try {
    dir = path.dirname(createRequire(path.join(root, 'package.json')).resolve('classic-level/package.json'));
  } catch {
    throw new BuildError('classic-level is not installed; it provides the LevelDB sources the addon links');
  }
  const gyp = path.join(dir, 'deps', 'leveldb', 'leveldb.gyp');
  if (!exists(gyp)) throw new BuildError(`classic-level has no LevelDB sources (${gyp} is missing)`);
}

function newestMtime(paths) {
  let newest = 0;
  const visit = (p) => {
    const st = fs.statSync(p);
    if (st.isDirectory()) {
      for (const name of fs.readdirSync(p)) visit(path.join(p, name));
    } else {
      newest = Math.max(newest, st.mtimeMs);
    }
  };
  for (const p of paths) if (exists(p)) visit(p);
  return newest;
}

function upToDate() {
  if (!exists(addonPath)) return false;
  const built = fs.statSync(addonPath).mtimeMs;
  return built >= newestMtime([path.join(root, 'binding.gyp'), path.join(root, 'native')]);
}

function needsConfigure() {
  const makefile = path.join(root, 'build', process.platform === 'win32' ? 'binding.sln' : 'Makefile');
  if (!exists(makefile) || !exists(path.join(root, 'build', 'config.gypi'))) return true;
  return fs.statSync(makefile).mtimeMs < fs.statSync(path.join(root, 'binding.gyp')).mtimeMs;
}

function runGyp(nodeGyp, command, extra) {
  const res = spawnSync(process.execPath, [nodeGyp, command, ...extra], {
    cwd: root,
    encoding: 'utf8',
    // Captured when soft, so a dependency install stays quiet unless it fails.
    stdio: soft || quiet ? ['ignore', 'pipe', 'pipe'] : 'inherit',
  });
  if (res.error) throw new BuildError(`cannot run node-gyp: ${res.error.message}`);
  if (res.status !== 0) {
    throw new BuildError(`node-gyp ${command} failed (exit ${res.status})`, `${res.stdout ?? ''}${res.stderr ?? ''}`);
  }
}

/**
 * The prebuild matching this platform, by node-gyp-build's tag rules (the
 * same as findPrebuild in src/native/binding.ts): `napi` or this ABI, this
 * libc, the most specific first. Undefined when there is none.
 */
function matchingPrebuild(dir = root) {
  const tuple = path.join(dir, 'prebuilds', `${process.platform}-${process.arch}`);
  let names;
  try {
    names = fs.readdirSync(tuple);
  } catch {
    return undefined;
  }
  const libc = process.env.LIBC || (process.platform === 'linux' && exists('/etc/alpine-release') ? 'musl' : 'glibc');
  let best;
  for (const name of names.sort()) {
    const parts = name.split('.');
    if (parts.pop() !== 'node') continue;
    let ok = true;
    let specificity = 0;
    for (const tag of parts) {
      if (tag === 'napi') specificity++;
      else if (/^abi\d+$/.test(tag)) {
        ok &&= tag.slice(3) === process.versions.modules;
        specificity++;
      } else if (tag === 'glibc' || tag === 'musl') {
        ok &&= tag === libc;
        specificity++;
      } else if (tag === 'electron' || tag === 'node-webkit') ok = false;
    }
    if (ok && (!best || specificity > best.specificity)) best = { name, specificity };
  }
  return best ? path.join(tuple, best.name) : undefined;
}

/** Loads the fresh addon in a child process: catches missing symbols and bad ABI before anyone relies on it. */
function smokeTest(file = addonPath) {
  const code = `const b = require(${JSON.stringify(file)});
    if (b.crc32(Buffer.from('123456789')) !== 0xcbf43926) throw new Error('crc32 self-test failed');
    process.stdout.write(b.crcKernel);`;
  const res = spawnSync(process.execPath, ['-e', code], { encoding: 'utf8' });
  if (res.status !== 0) throw new BuildError('the built addon does not load', res.stderr);
  return res.stdout;
}

function build() {
  if (process.env.NODEHOST_TOOLS_SKIP_NATIVE_BUILD === '1') {
    log('native build skipped (NODEHOST_TOOLS_SKIP_NATIVE_BUILD=1)');
    return;
  }
  const fromSource =
    required ||
    rebuild ||
    process.env.NODEHOST_TOOLS_BUILD_FROM_SOURCE === '1' ||
    ['true', '1'].includes(String(process.env.npm_config_build_from_source));
  const prebuild = fromSource || exists(addonPath) ? undefined : matchingPrebuild();
  if (prebuild) {
    try {
      log(`using the prebuilt native addon ${path.relative(root, prebuild)} (CRC kernel ${smokeTest(prebuild)}); no build needed`);
      return;
    } catch (err) {
      log(
        `the prebuilt addon ${path.relative(root, prebuild)} does not load here (${
          String(err.output ?? err.message)
            .trim()
            .split('\n')[0]
        }); building from source`,
      );
    }
  }
  if (process.platform === 'win32') throw new BuildError('the native addon supports POSIX systems only');
  let force = rebuild;
  if (!force && upToDate()) {
    try {
      log(`native addon up to date (${path.relative(root, addonPath)}, CRC kernel ${smokeTest()})`);
      return;
    } catch {
      force = true; // built elsewhere or damaged: start over
    }
  }
  const nodeGyp = findNodeGyp();
  const nodeDir = findNodeDir();
  checkLevelDbSources();
  const common = [`--nodedir=${nodeDir}`, `--jobs=${os.availableParallelism?.() ?? os.cpus().length}`, '--loglevel=warn'];
  const started = process.hrtime.bigint();
  if (force || needsConfigure()) {
    runGyp(nodeGyp, 'clean', ['--loglevel=warn']);
    runGyp(nodeGyp, 'configure', [`--nodedir=${nodeDir}`, '--loglevel=warn']);
  }
  runGyp(nodeGyp, 'build', common);
  const kernel = smokeTest();
  const seconds = Number(process.hrtime.bigint() - started) / 1e9;
  log(`native addon built in ${seconds.toFixed(1)} s (${path.relative(root, addonPath)}, CRC kernel ${kernel})`);
}

try {
  build();
} catch (err) {
  const why = err instanceof Error ? err.message : String(err);
  if (soft) {
    const tail = err instanceof BuildError && err.output ? err.output.trim().split('\n').slice(-15).join('\n') : '';
    process.stderr.write(
      (tail ? `${tail}\n` : '') +
        `nodehost-tools: WARNING: native addon not built (${why}). Running in degraded mode: ` +
        'the WebAssembly checksum engine and classic-level are used instead (slower, same results). ' +
        'To build it: `npm rebuild nodehost-tools --foreground-scripts` (needs a C++ compiler, make and python3).\n',
    );
    process.exit(0);
  }
  if (err instanceof BuildError && err.output) process.stderr.write(`${err.output}\n`);
  process.stderr.write(`nodehost-tools: native addon build failed: ${why}\n`);
  process.exit(1);
}
