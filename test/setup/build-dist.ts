/**
 * vitest global setup: compiles src/ into dist/ once per run, so tests that
 * spawn the CLI or a child process running the library (crash injection,
 * lock holders) always exercise the current sources.
 */
import { execFileSync } from 'node:child_process';
import { createRequire } from 'node:module';
import { dirname, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';

export default function setup(): void {
  const root = resolve(dirname(fileURLToPath(import.meta.url)), '../..');
  const tsc = createRequire(import.meta.url).resolve('typescript/bin/tsc');
  execFileSync(process.execPath, [tsc, '-p', resolve(root, 'tsconfig.json')], { cwd: root, stdio: 'inherit' });
}
