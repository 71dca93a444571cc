/**
 * vitest global setup: makes dist/ match src/ before any test runs, since
 * CLI and crash-injection tests run the compiled code in child processes.
 *
 * Skipped when dist/ is newer than every source. Otherwise compiled into a
 * fresh directory and swapped in with two renames, so a child process of a
 * concurrent run never loads a half-written dist/.
 */
import { execFileSync } from 'node:child_process';
import { existsSync, readdirSync, readFileSync, renameSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';

const root = resolve(dirname(fileURLToPath(import.meta.url)), '../..');

function newestSource(dir: string): number {
  let newest = 0;
  for (const e of readdirSync(dir, { withFileTypes: true })) {
    const p = join(dir, e.name);
    newest = Math.max(newest, e.isDirectory() ? newestSource(p) : statSync(p).mtimeMs);
  }
  return newest;
}

export default function setup(): void {
  const stamp = join(root, 'dist', '.built-from');
  const newest = Math.max(newestSource(join(root, 'src')), statSync(join(root, 'tsconfig.json')).mtimeMs);
  if (existsSync(stamp) && Number(readFileSync(stamp, 'utf8')) >= newest) return;
  const next = join(root, `dist.next-${process.pid}`);
  const prev = join(root, `dist.prev-${process.pid}`);
  const tsc = createRequire(import.meta.url).resolve('typescript/bin/tsc');
  try {
    execFileSync(process.execPath, [tsc, '-p', join(root, 'tsconfig.json'), '--outDir', next], { cwd: root, stdio: 'inherit' });
    writeFileSync(join(next, '.built-from'), String(newest));
    if (existsSync(join(root, 'dist'))) renameSync(join(root, 'dist'), prev);
    renameSync(next, join(root, 'dist'));
  } finally {
    rmSync(next, { recursive: true, force: true });
    rmSync(prev, { recursive: true, force: true });
  }
}
