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
//
//   node scripts/prepare.mjs [--force]
import { execFileSync } from 'node:child_process';
import { existsSync, readdirSync, readFileSync, renameSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';

const root = resolve(dirname(fileURLToPath(import.meta.url)), '..');
const force = process.argv.includes('--force');
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
} else {
  const next = join(root, `dist.next-${process.pid}`);
  const prev = join(root, `dist.prev-${process.pid}`);
  try {
    execFileSync(process.execPath, [require.resolve('typescript/bin/tsc'), '-p', join(root, 'tsconfig.json'), '--outDir', next], {
      cwd: root,
      stdio: 'inherit',
    });
    writeFileSync(join(next, '.built-from'), String(src));
    if (existsSync(join(root, 'dist'))) renameSync(join(root, 'dist'), prev);
    renameSync(next, join(root, 'dist'));
    log('built dist/');
  } finally {
    rmSync(next, { recursive: true, force: true });
    rmSync(prev, { recursive: true, force: true });
  }
}
