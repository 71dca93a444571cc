/**
 * Running the CLI the way a user does: `node bin/nodehost.js ...` as a child
 * process (dist/ is compiled by vitest's global setup), optionally under a
 * pseudo-terminal with util-linux `script`. Also small fixtures: NodeHost
 * config files and the JSON result line.
 */
import { execFile, execFileSync } from 'node:child_process';
import { writeFileSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { PassThrough } from 'node:stream';
import { expect } from 'vitest';
import type { CliIO } from '../../src/cli/command.js';
import { main } from '../../src/cli/main.js';
import type { NodeHostConfig } from '../../src/nodehost/config.js';
import { PROJECT_ROOT } from '../helpers/snapshots.js';

/** The launcher users run. */
export const BIN = resolve(PROJECT_ROOT, 'bin/nodehost.js');

/** What a CLI run produced. */
export interface CliRun {
  status: number;
  stdout: string;
  stderr: string;
}

/** Options of {@link runCli}. */
export interface RunOptions {
  /** Extra environment (merged over a copy of the test's environment, minus NODEHOST_TOOLS_DISABLE_NATIVE). */
  env?: Record<string, string>;
  cwd?: string;
  /** Launcher to run instead of {@link BIN}. */
  bin?: string;
  /** What is typed on the terminal (runInPty only), e.g. an answer to a prompt; then end of input. */
  input?: string;
}

function childEnv(extra: Record<string, string> = {}): NodeJS.ProcessEnv {
  const env: NodeJS.ProcessEnv = { ...process.env, NO_COLOR: '1', ...extra };
  if (!('NODEHOST_TOOLS_DISABLE_NATIVE' in extra)) delete env.NODEHOST_TOOLS_DISABLE_NATIVE;
  return env;
}

/** Runs `node bin/nodehost.js ...args` with stdin, stdout and stderr as pipes (not TTYs). */
export function runCli(args: string[], opts: RunOptions = {}): Promise<CliRun> {
  return runOnce(args, opts);
}

function runOnce(args: string[], opts: RunOptions): Promise<CliRun> {
  return new Promise((done, fail) => {
    const child = execFile(
      process.execPath,
      [opts.bin ?? BIN, ...args],
      {
        cwd: opts.cwd ?? PROJECT_ROOT,
        env: childEnv(opts.env),
        maxBuffer: 64 * 1024 * 1024,
        encoding: 'utf8',
      },
      (err, stdout, stderr) => {
        const status = err ? (typeof err.code === 'number' ? err.code : undefined) : 0;
        if (status === undefined) fail(err);
        else done({ status, stdout, stderr });
      },
    );
    child.stdin?.end();
  });
}

/** Single-quotes a word for /bin/sh. */
export function shq(word: string): string {
  return `'${word.replaceAll("'", `'\\''`)}'`;
}

/** Whether util-linux `script` can give a child a pseudo-terminal here. */
export function hasScript(): boolean {
  try {
    execFileSync('script', ['-qec', 'true', '/dev/null'], { stdio: 'ignore' });
    return true;
  } catch {
    return false;
  }
}

/**
 * Runs the CLI under a pseudo-terminal (`script -qec`): stdin, and every
 * stream not redirected by `shellTail` (e.g. `> out.txt`), are the terminal.
 * `output` is what the terminal showed (CR LF turned into LF).
 */
export function runInPty(args: string[], shellTail = '', opts: RunOptions = {}): Promise<{ status: number; output: string }> {
  return ptyOnce(args, shellTail, opts);
}

function ptyOnce(args: string[], shellTail: string, opts: RunOptions): Promise<{ status: number; output: string }> {
  const cmd = [process.execPath, opts.bin ?? BIN, ...args].map(shq).join(' ') + (shellTail ? ` ${shellTail}` : '');
  return new Promise((done, fail) => {
    const child = execFile(
      'script',
      ['-qec', cmd, '/dev/null'],
      {
        cwd: opts.cwd ?? PROJECT_ROOT,
        env: childEnv({ COLUMNS: '100', ...opts.env }),
        maxBuffer: 64 * 1024 * 1024,
        encoding: 'utf8',
      },
      (err, stdout) => {
        const status = err ? (typeof err.code === 'number' ? err.code : undefined) : 0;
        if (status === undefined) fail(err);
        else done({ status, output: stdout.replaceAll('\r\n', '\n') });
      },
    );
    child.stdin?.end(opts.input ?? '');
  });
}

/** The last line of stdout, parsed; fails the test unless it is one JSON object. */
export function lastJson(stdout: string, stderr = ''): Record<string, any> {
  const lines = stdout.split('\n').filter((l) => l !== '');
  expect(lines.length, `stdout is empty; stderr: ${stderr}`).toBeGreaterThan(0);
  const last = lines[lines.length - 1]!;
  let parsed: unknown;
  expect(() => (parsed = JSON.parse(last)), `last stdout line is not JSON: ${last}`).not.toThrow();
  expect(typeof parsed === 'object' && parsed !== null && !Array.isArray(parsed), last).toBe(true);
  return parsed as Record<string, any>;
}

/** Expects a successful `--json` run and returns its object. */
export function expectOk(run: CliRun): Record<string, any> {
  expect(run.status, `exit ${run.status}\nstdout: ${run.stdout}\nstderr: ${run.stderr}`).toBe(0);
  const obj = lastJson(run.stdout, run.stderr);
  expect(obj.ok).toBe(true);
  return obj;
}

/** Expects a failed `--json` run with `code` and exit `status`; returns the error object. */
export function expectError(run: CliRun, code: string, status: number): Record<string, any> {
  const obj = lastJson(run.stdout, run.stderr);
  expect(obj.ok, run.stdout).toBe(false);
  expect(obj.error.code, obj.error.message).toBe(code);
  expect(typeof obj.error.message).toBe('string');
  expect(run.status, run.stderr).toBe(status);
  return obj.error;
}

/** Writes `config` as a NodeHost configuration file in `dir`; returns its path. */
export function writeConfig(dir: string, config: NodeHostConfig, name = 'nodehost.json'): string {
  const file = join(dir, name);
  writeFileSync(file, JSON.stringify(config, null, 2));
  return file;
}

/**
 * Runs `main(argv, io)` in this process with captured streams and a stdin
 * that is not a TTY: fast, for table-driven cases (usage errors above all).
 */
export async function runInProcess(argv: string[], env: NodeJS.ProcessEnv = {}): Promise<CliRun> {
  const out = new PassThrough();
  const err = new PassThrough();
  let stdout = '';
  let stderr = '';
  out.on('data', (c: Buffer) => (stdout += c.toString()));
  err.on('data', (c: Buffer) => (stderr += c.toString()));
  const io: CliIO = { stdout: out, stderr: err, stdin: new PassThrough(), env };
  const status = await main(argv, io);
  return { status, stdout, stderr };
}

/** Runs a command line with /bin/sh, `nodehost` on the PATH (a wrapper around the launcher), from `cwd`. */
export function runShell(line: string, shimDir: string, cwd: string): Promise<CliRun> {
  const env: NodeJS.ProcessEnv = { ...process.env, NO_COLOR: '1', PATH: `${shimDir}:${process.env.PATH ?? ''}` };
  delete env.NODEHOST_TOOLS_DISABLE_NATIVE;
  return new Promise((done, fail) => {
    const child = execFile('/bin/sh', ['-c', line], { cwd, env, encoding: 'utf8', maxBuffer: 64 * 1024 * 1024 }, (err, stdout, stderr) => {
      const status = err ? (typeof err.code === 'number' ? err.code : undefined) : 0;
      if (status === undefined) fail(err);
      else done({ status, stdout, stderr });
    });
    child.stdin?.end();
  });
}
