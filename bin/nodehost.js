#!/usr/bin/env node
// Thin launcher: the CLI lives in the compiled library (dist/), built by `npm install`.
import { fileURLToPath } from 'node:url';

// `nodehost ... | head` closes stdout early. The rest of the output is dropped, quietly, but the
// command runs to its end: exiting here could cut an import short at an arbitrary point.
for (const stream of [process.stdout, process.stderr]) {
  stream.on('error', (err) => {
    if (err && (err.code === 'EPIPE' || err.code === 'ERR_STREAM_DESTROYED')) return;
    throw err;
  });
}

const entry = new URL('../dist/cli/main.js', import.meta.url);
let main;
try {
  ({ main } = await import(entry.href));
} catch (err) {
  const missing = err && err.code === 'ERR_MODULE_NOT_FOUND';
  if (!missing) throw err;
  const root = fileURLToPath(new URL('..', import.meta.url)).replace(/\/$/, '');
  const notBuilt = String(err.message).includes(fileURLToPath(entry));
  const message = notBuilt
    ? `nodehost-tools is not built: ${fileURLToPath(entry)} is missing. Run \`npm install\` (or \`npm run build\`) in ${root}.`
    : `a module nodehost-tools needs is missing (${err.message.split('\n')[0]}). Run \`npm install\` in ${root}.`;
  if (process.argv.includes('--json')) {
    process.stdout.write(JSON.stringify({ ok: false, error: { code: 'ErrNotBuilt', message } }) + '\n');
  }
  process.stderr.write(`nodehost: ${message}\n`);
  process.exit(1);
}

process.exitCode = await main(process.argv.slice(2));
