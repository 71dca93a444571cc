#!/usr/bin/env node
// Thin launcher: the CLI lives in the compiled library (dist/), built by `npm install`.
import { existsSync, statSync } from 'node:fs';
import { createRequire } from 'node:module';
import { fileURLToPath } from 'node:url';

// `nodehost ... | head` closes stdout early. The rest of the output is dropped, quietly, but the
// command runs to its end: exiting here could cut an import short at an arbitrary point.
for (const stream of [process.stdout, process.stderr]) {
  stream.on('error', (err) => {
    if (err && (err.code === 'EPIPE' || err.code === 'ERR_STREAM_DESTROYED')) return;
    throw err;
  });
}

const modular = new URL('../dist/cli/main.js', import.meta.url);

/**
 * `verify` and `inspect`, which operators run in loops over hundreds of
 * shards, run from dist/cli/bundle-<command>.cjs (the CLI and that command in
 * one file, built with dist/ by scripts/prepare.mjs, whose BUNDLED_COMMANDS
 * names the same commands): loading verify's 54 ES modules one by one took
 * about 45 ms, its bundle about 5. Every other command runs from dist/ as it
 * always did.
 */
const BUNDLED = new Set(['verify', 'inspect']);
const bundle = BUNDLED.has(process.argv[2]) ? new URL(`../dist/cli/bundle-${process.argv[2]}.cjs`, import.meta.url) : undefined;

/**
 * Whether the bundle is the build of dist/ that is there. An installed
 * package (no src/) got both from one tarball (whose extraction dates the
 * files in any order). In a checkout a `tsc` since the bundle leaves it
 * behind dist/cli/main.js: then it is not used.
 */
function bundleCurrent() {
  try {
    const built = statSync(bundle).mtimeMs;
    return !existsSync(new URL('../src', import.meta.url)) || built >= statSync(modular).mtimeMs;
  } catch {
    return false;
  }
}
const entry = bundle && bundleCurrent() ? bundle : modular;
const root = fileURLToPath(new URL('..', import.meta.url)).replace(/\/$/, '');

/** Says what to do instead of a module-loader stack trace; keeps the --json contract. */
function notBuilt(message) {
  if (process.argv.includes('--json')) {
    process.stdout.write(JSON.stringify({ ok: false, error: { code: 'ErrNotBuilt', message } }) + '\n');
  }
  process.stderr.write(`nodehost: ${message}\n`);
  process.exit(1);
}

let main;
try {
  // require(), not import(): importing CommonJS makes Node scan the whole bundle for its export names first.
  ({ main } = entry === bundle ? createRequire(import.meta.url)(fileURLToPath(bundle)) : await import(entry.href));
} catch (err) {
  if (err?.code !== 'ERR_MODULE_NOT_FOUND') throw err;
  notBuilt(
    String(err.message).includes(`'${fileURLToPath(entry)}'`)
      ? `nodehost-tools is not built: ${fileURLToPath(entry)} is missing. Run \`npm install\` (or \`npm run build\`) in ${root}.`
      : `a module nodehost-tools needs is missing (${String(err.message).split('\n')[0]}). Run \`npm install\` (or \`npm run build\`) in ${root}.`,
  );
}
// An interrupted build can leave main.js empty: say so rather than "main is not a function".
if (typeof main !== 'function') {
  notBuilt(`the build of nodehost-tools is incomplete: ${fileURLToPath(entry)} exports no main(). Run \`npm run build\` in ${root}.`);
}

process.exitCode = await main(process.argv.slice(2));
