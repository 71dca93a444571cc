#!/usr/bin/env node
// Thin launcher: the CLI lives in the compiled library (dist/), built by `npm install`.
// CommonJS (bin/package.json says so): an ES module as the main script makes Node load its
// ES module loader first, about 4 ms of every run, which `verify` and `inspect`, running
// from their CommonJS bundles, never need.
'use strict';
const { existsSync, statSync } = require('node:fs');
const path = require('node:path');
const { pathToFileURL } = require('node:url');

// `nodehost ... | head` closes stdout early. The rest of the output is dropped, quietly, but the
// command runs to its end: exiting here could cut an import short at an arbitrary point.
for (const stream of [process.stdout, process.stderr]) {
  stream.on('error', (err) => {
    if (err && (err.code === 'EPIPE' || err.code === 'ERR_STREAM_DESTROYED')) return;
    throw err;
  });
}

const root = path.resolve(__dirname, '..');
const modular = path.join(root, 'dist', 'cli', 'main.js');

/**
 * `verify` and `inspect`, which operators run in loops over hundreds of
 * shards, run from dist/cli/bundle-<command>.cjs (the CLI and that command in
 * one file, built with dist/ by scripts/prepare.mjs, whose BUNDLED_COMMANDS
 * names the same commands): loading verify's 54 ES modules one by one took
 * about 45 ms, its bundle about 5. Every other command runs from dist/ as it
 * always did.
 */
const BUNDLED = new Set(['verify', 'inspect']);
const bundle = BUNDLED.has(process.argv[2]) ? path.join(root, 'dist', 'cli', `bundle-${process.argv[2]}.cjs`) : undefined;

/**
 * Whether the bundle is the build of dist/ that is there. An installed
 * package (no src/) got both from one tarball (whose extraction dates the
 * files in any order). In a checkout a `tsc` since the bundle leaves it
 * behind dist/cli/main.js: then it is not used.
 */
function bundleCurrent() {
  try {
    const built = statSync(bundle).mtimeMs;
    return !existsSync(path.join(root, 'src')) || built >= statSync(modular).mtimeMs;
  } catch {
    return false;
  }
}
const entry = bundle && bundleCurrent() ? bundle : modular;

/** Says what to do instead of a module-loader stack trace; keeps the --json contract. */
function notBuilt(message) {
  if (process.argv.includes('--json')) {
    process.stdout.write(JSON.stringify({ ok: false, error: { code: 'ErrNotBuilt', message } }) + '\n');
  }
  process.stderr.write(`nodehost: ${message}\n`);
  process.exit(1);
}

/** Loads the entry's main(); a missing build says what to do instead of a module-loader stack trace. */
async function loadMain() {
  try {
    // Not import(): importing CommonJS makes Node scan the whole bundle for its export names first.
    return (entry === bundle ? require('./bundle-loader.js').loadBundle(bundle).exports : await import(pathToFileURL(entry).href)).main;
  } catch (err) {
    if (err?.code !== 'ERR_MODULE_NOT_FOUND' && err?.code !== 'MODULE_NOT_FOUND') throw err;
    notBuilt(
      String(err.message).includes(`'${entry}'`)
        ? `nodehost-tools is not built: ${entry} is missing. Run \`npm install\` (or \`npm run build\`) in ${root}.`
        : `a module nodehost-tools needs is missing (${String(err.message).split('\n')[0]}). Run \`npm install\` (or \`npm run build\`) in ${root}.`,
    );
  }
}

loadMain().then(async (main) => {
  // An interrupted build can leave main.js empty: say so rather than "main is not a function".
  if (typeof main !== 'function') {
    notBuilt(`the build of nodehost-tools is incomplete: ${entry} exports no main(). Run \`npm run build\` in ${root}.`);
  }
  process.exitCode = await main(process.argv.slice(2));
});
