/**
 * vitest global setup: makes dist/ match src/ before any test runs, since
 * CLI and crash-injection tests run the compiled code in child processes.
 *
 * It is the install's own build (scripts/prepare.mjs): skipped when dist/ is
 * newer than every source; otherwise compiled into a fresh directory with
 * the bundled commands (dist/cli/bundle-*.cjs) and swapped in with two
 * renames, so a child process of a concurrent run never loads a half-written
 * dist/ — and the CLI tests run `verify` and `inspect` from their bundles, as
 * an installed package does.
 */
import { execFileSync } from 'node:child_process';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';

const root = resolve(dirname(fileURLToPath(import.meta.url)), '../..');

export default function setup(): void {
  execFileSync(process.execPath, [join(root, 'scripts', 'prepare.mjs')], { cwd: root, stdio: 'inherit' });
}
