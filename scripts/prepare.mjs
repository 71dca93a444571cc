#!/usr/bin/env node
// The `prepare` step (npm install in a checkout, npm pack, and `npx nodehost`
// inside the checkout, which npm treats as installing the folder): builds what
// is out of date and nothing else, so a plain run never rebuilds dist/ under a
// process that is using it.
//
// - The WebAssembly module (assembly/build/nodehost.wasm) when a source in
//   assembly/ is newer than it.
// - dist/ when a file in src/ or tsconfig.json is newer than the stamp
//   dist/.built-from (the same stamp vitest's global setup writes and reads):
//   compiled into dist.next-<pid>, then swapped in with two renames, so a
//   concurrent process never loads a half-written dist/.
// - dist/cli/bundle-verify.cjs and bundle-inspect.cjs: the CLI with one of
//   those commands each, in one file (esbuild, a devDependency); built with
//   dist/, and alone with --bundle-only (after a plain `tsc`, which
//   `npm run build` runs). Node loads each ES module at a cost (resolve,
//   read, compile, link) that a 1 GiB verify felt: 54 of them before its
//   first byte, about 45 ms. CommonJS, loaded with require(), because each
//   bundled module then loads its imports (node:crypto, the protobuf
//   runtime) only when it first runs, where an ES bundle hoists them all to
//   the top. bin/nodehost.js runs a command from its bundle when that is at
//   least as new as dist/cli/main.js, else from dist/ module by module, so a
//   stale or missing bundle is never run.
// - dist/cli/bundle-<command>.cjs.v8cache: V8's code for each bundle
//   (bin/bundle-loader.js), made by running the command once, whenever a
//   bundle is newer than its cache.
//
//   node scripts/prepare.mjs [--force | --bundle-only]
import { execFileSync } from 'node:child_process';
import { existsSync, mkdtempSync, readdirSync, readFileSync, renameSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { createRequire } from 'node:module';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';

const root = resolve(dirname(fileURLToPath(import.meta.url)), '..');
const force = process.argv.includes('--force');
const bundleOnly = process.argv.includes('--bundle-only');
const require = createRequire(join(root, 'package.json'));

function newest(dir, filter = () => true) {
  let n = 0;
  for (const e of readdirSync(dir, { withFileTypes: true })) {
    const p = join(dir, e.name);
    if (e.isDirectory()) {
      if (e.name !== 'build') n = Math.max(n, newest(p, filter));
    } else if (filter(e.name)) {
      n = Math.max(n, statSync(p).mtimeMs);
    }
  }
  return n;
}

function log(line) {
  process.stderr.write(`nodehost-tools: ${line}\n`);
}

/**
 * The commands that run from a bundle, one bundle each: a bundle carrying
 * both compiled inspect's log store code (twice verify's size) on every
 * verify. bin/nodehost.js's BUNDLED names the same commands.
 */
const BUNDLED_COMMANDS = ['verify', 'inspect'];

/** `dist/cli/bundle-<command>.cjs` of `dist`. */
function bundlePath(dist, command) {
  return join(dist, 'cli', `bundle-${command}.cjs`);
}

/**
 * Node built-ins the bundled modules import at their top but a bundled command
 * may never call: node:crypto (SHA-256 with a manifest, temp names when
 * writing) cost about 3 ms of every verify without one. Each becomes an
 * object of getters that loads the real module on first use; esbuild's
 * interop reads an import's named export at the call, so the getter runs then.
 */
const LAZY_BUILTINS = ['node:crypto', 'node:zlib'];

function lazyBuiltins() {
  return {
    name: 'lazy-builtins',
    setup(build) {
      const filter = new RegExp(`^(${LAZY_BUILTINS.map((b) => b.replace(/[:/]/g, '\\$&')).join('|')})$`);
      // The getters' own require() is the real module, left to Node.
      build.onResolve({ filter }, (args) =>
        args.namespace === 'lazy-builtin' ? { path: args.path, external: true } : { path: args.path, namespace: 'lazy-builtin' },
      );
      build.onLoad({ filter: /.*/, namespace: 'lazy-builtin' }, async (args) => {
        const names = Object.keys(await import(args.path)).filter((n) => n !== 'default');
        const getters = names.map((n) => `${JSON.stringify(n)}: { enumerable: true, get: () => load()[${JSON.stringify(n)}] }`);
        return {
          contents:
            `let real;\nconst load = () => (real ??= require(${JSON.stringify(args.path)}));\n` +
            `Object.defineProperties(module.exports, {\n  ${getters.join(',\n  ')}\n});\n`,
          loader: 'js',
        };
      });
    },
  };
}

/**
 * Writes `<dist>/cli/bundle-<command>.cjs`: dist/cli/main.js and everything
 * it imports from dist/, bundled, except the other commands (a stub that
 * says so if one is ever loaded from the bundle: their modules would be
 * second copies of the error classes the CLI maps to exit codes). Packages
 * stay external. The bundle sits in dist/cli/ like main.js and its
 * `import.meta.url` is its own file's URL, so the paths the modules find from
 * it (the package root, package.json, the addon, the WebAssembly module)
 * resolve as they do from dist/.
 */
async function bundleCommand(esbuild, dist, command) {
  const commandTable = join(dist, 'cli', 'commands', 'index.js');
  const out = bundlePath(dist, command);
  const result = await esbuild.build({
    entryPoints: [join(dist, 'cli', 'main.js')],
    outfile: out,
    write: false,
    bundle: true,
    format: 'cjs',
    platform: 'node',
    target: 'node20',
    packages: 'external',
    logLevel: 'warning',
    define: { 'import.meta.url': '__importMetaUrl' },
    banner: {
      js:
        `// Generated by scripts/prepare.mjs from dist/cli/main.js for \`nodehost ${command}\`: do not edit.\n` +
        "const __importMetaUrl = require('node:url').pathToFileURL(__filename).href;",
    },
    plugins: [
      lazyBuiltins(),
      {
        name: 'one-command-only',
        setup(build) {
          build.onResolve({ filter: /^\.\/[a-z-]+\.js$/ }, (args) =>
            args.kind === 'dynamic-import' && args.importer === commandTable && args.path !== `./${command}.js`
              ? { path: args.path, namespace: 'not-bundled' }
              : undefined,
          );
          build.onLoad({ filter: /.*/, namespace: 'not-bundled' }, (args) => ({
            contents: `throw new Error(${JSON.stringify(`dist/cli/bundle-${command}.cjs does not carry the command module ${args.path}: run the CLI through bin/nodehost.js`)});`,
            loader: 'js',
          }));
        },
      },
    ],
  });
  // Written beside and renamed over: a CLI starting meanwhile runs the old bundle or the new one, never half of one.
  const tmp = `${out}.${process.pid}.tmp`;
  writeFileSync(tmp, result.outputFiles[0].contents);
  renameSync(tmp, out);
}

/** Writes every command's bundle into `dist`; false (and says why) without esbuild. */
async function bundleCli(dist) {
  let esbuild;
  try {
    esbuild = require('esbuild');
  } catch {
    log('esbuild is not installed: no bundled commands (the CLI runs from dist/ module by module)');
    return false;
  }
  for (const command of BUNDLED_COMMANDS) await bundleCommand(esbuild, dist, command);
  return true;
}

/**
 * Makes each bundle's V8 code cache (bin/bundle-loader.js) by running the
 * command once on the example `demo --setup` lays out. Best effort: without
 * a cache a command compiles its bundle as before, so a failure only says so.
 */
function writeCodeCaches() {
  const tmp = mkdtempSync(join(tmpdir(), 'nodehost-code-cache-'));
  const node = (args) => execFileSync(process.execPath, args, { cwd: root, stdio: ['ignore', 'pipe', 'pipe'], encoding: 'utf8' });
  try {
    const setup = JSON.parse(
      node([join(root, 'bin', 'nodehost.js'), 'demo', '--setup', join(tmp, 'walk'), '--json'])
        .trim()
        .split('\n')
        .pop(),
    );
    const cache = join(root, 'scripts', 'code-cache.cjs');
    node([cache, 'verify', setup.exportDir]);
    node([cache, 'inspect', '--config', setup.configFiles.m1, '--shard-id', '100', '--replica-id', '1']);
    log("made the bundled commands' V8 code caches (dist/cli/bundle-*.cjs.v8cache)");
  } catch (err) {
    log(
      `no V8 code cache for the bundled commands (they compile at start instead): ${
        String(err.stderr || err.message)
          .trim()
          .split('\n')[0]
      }`,
    );
  } finally {
    rmSync(tmp, { recursive: true, force: true });
  }
}

/** Whether a bundle's V8 code cache is missing or older than the bundle (bin/bundle-loader.js would not use it). */
function codeCachesStale() {
  return BUNDLED_COMMANDS.some((c) => {
    const bundle = bundlePath(join(root, 'dist'), c);
    return existsSync(bundle) && (!existsSync(`${bundle}.v8cache`) || statSync(`${bundle}.v8cache`).mtimeMs < statSync(bundle).mtimeMs);
  });
}

/** Whether a bundle is missing or older than the dist/cli/main.js it was built from (bin/nodehost.js's test). */
function bundleStale() {
  const main = statSync(join(root, 'dist', 'cli', 'main.js')).mtimeMs;
  return BUNDLED_COMMANDS.some(
    (c) => !existsSync(bundlePath(join(root, 'dist'), c)) || statSync(bundlePath(join(root, 'dist'), c)).mtimeMs < main,
  );
}

if (bundleOnly) {
  if (await bundleCli(join(root, 'dist'))) log('built the bundled commands (dist/cli/bundle-*.cjs)');
  if (codeCachesStale()) writeCodeCaches();
  process.exit(0);
}

// 1. WebAssembly.
const wasm = join(root, 'assembly', 'build', 'nodehost.wasm');
const wasmSources = Math.max(newest(join(root, 'assembly'), (n) => n.endsWith('.ts') || n.endsWith('.json')));
if (force || !existsSync(wasm) || statSync(wasm).mtimeMs < wasmSources) {
  const asc = require.resolve('assemblyscript/bin/asc.js');
  execFileSync(process.execPath, [asc, 'assembly/index.ts', '--config', 'assembly/asconfig.json'], { cwd: root, stdio: 'inherit' });
  log('built assembly/build/nodehost.wasm');
}

// 2. dist/.
const stamp = join(root, 'dist', '.built-from');
const src = Math.max(newest(join(root, 'src')), statSync(join(root, 'tsconfig.json')).mtimeMs);
if (!force && existsSync(stamp) && Number(readFileSync(stamp, 'utf8')) >= src) {
  log('dist/ is up to date');
  // A plain `tsc` since (tests, `npm run build:ts`) left the bundle behind dist/: it alone is rebuilt.
  if (bundleStale() && (await bundleCli(join(root, 'dist')))) log('built the bundled commands (dist/cli/bundle-*.cjs)');
} else {
  const next = join(root, `dist.next-${process.pid}`);
  const prev = join(root, `dist.prev-${process.pid}`);
  try {
    execFileSync(process.execPath, [require.resolve('typescript/bin/tsc'), '-p', join(root, 'tsconfig.json'), '--outDir', next], {
      cwd: root,
      stdio: 'inherit',
    });
    await bundleCli(next);
    writeFileSync(join(next, '.built-from'), String(src));
    if (existsSync(join(root, 'dist'))) renameSync(join(root, 'dist'), prev);
    renameSync(next, join(root, 'dist'));
    log('built dist/');
  } finally {
    rmSync(next, { recursive: true, force: true });
    rmSync(prev, { recursive: true, force: true });
  }
}

// 3. The bundles' V8 code caches, wherever a bundle is newer than its cache (just built, or a cache never made).
if (codeCachesStale()) writeCodeCaches();
