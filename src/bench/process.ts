/**
 * Running measured work in other processes: benchmark children (one task
 * each, reporting their own time and peak RSS), external commands (`cp`,
 * `sync`) with their peak RSS sampled from /proc, and the page cache.
 */
import { spawn } from 'node:child_process';
import { existsSync, readFileSync } from 'node:fs';
import { writeFile } from 'node:fs/promises';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import * as errors from '../errors.js';
import { ErrInvalidConfig, ErrIO, NodeHostToolsError } from '../errors.js';
import { RESULT_PREFIX, type BenchTask, type ChildAnswer } from './protocol.js';

/** How long one child may run before it is killed (a 10M-entry removal on a slow disk takes minutes, not this). */
export const CHILD_TIMEOUT_MS = 30 * 60 * 1000;

/** A successful child run. */
export type ChildResult = Extract<ChildAnswer, { ok: true }>;

/**
 * The compiled child entry point: `child.js` beside this module in `dist/`.
 * Running from the TypeScript sources (tests), that is the package's
 * `dist/bench/child.js`, which the test setup builds.
 */
export function defaultChildScript(): string {
  const here = fileURLToPath(import.meta.url);
  if (here.endsWith('.ts')) return resolve(dirname(here), '../../dist/bench/child.js');
  return join(dirname(here), 'child.js');
}

/** The package's CLI entry (`bin/nodehost.js`), found from the child script in `dist/bench/`. */
export function cliScript(childScript: string): string {
  return resolve(dirname(childScript), '../../bin/nodehost.js');
}

/**
 * A module to preload (`node --import`) into a CLI run whose peak RSS is
 * wanted exactly: at exit it writes the process's maxRSS (bytes) to the file
 * named by NODEHOST_BENCH_RSS_FILE. Written once under `root`; returns its URL.
 */
export async function writeRssPreload(root: string): Promise<string> {
  const file = join(root, 'rss-preload.mjs');
  await writeFile(
    file,
    "import { writeFileSync } from 'node:fs';\n" +
      "process.on('exit', () => { const f = process.env.NODEHOST_BENCH_RSS_FILE; " +
      'if (f) writeFileSync(f, String(process.resourceUsage().maxRSS * 1024)); });\n',
  );
  return new URL(`file://${file}`).href;
}

/** Throws {@link ErrInvalidConfig} when the child script is missing. */
export function checkChildScript(script: string): void {
  if (!existsSync(script)) {
    throw new ErrInvalidConfig(`the benchmark child script ${script} is missing: build the package first (\`npm run build\`)`, {
      path: script,
    });
  }
}

/** Rebuilds a child's coded error with its own class, so callers see the real code. */
function childError(task: BenchTask, answer: Extract<ChildAnswer, { ok: false }>, stderr: string): NodeHostToolsError {
  const message = `benchmark task ${task.kind} failed in its child process: ${answer.message}`;
  const details = { ...answer.details, task: task.kind };
  const Ctor = answer.code ? (errors as unknown as Record<string, unknown>)[answer.code] : undefined;
  if (typeof Ctor === 'function' && (Ctor === NodeHostToolsError || Ctor.prototype instanceof NodeHostToolsError)) {
    return new (Ctor as typeof NodeHostToolsError)(message, details);
  }
  return new ErrIO(`${message}${stderr ? `\n${stderr.trim().split('\n').slice(-8).join('\n')}` : ''}`, details);
}

/**
 * Runs `task` in a fresh Node.js child (no inherited exec arguments) and
 * returns its answer. A failed task rejects with the child's error class
 * where it is one of this package's; a crash rejects with {@link ErrIO}
 * quoting the end of the child's stderr.
 */
export function runChild(script: string, task: BenchTask, timeoutMs = CHILD_TIMEOUT_MS): Promise<ChildResult> {
  return new Promise((resolvePromise, reject) => {
    const child = spawn(process.execPath, [script, JSON.stringify(task)], { stdio: ['ignore', 'pipe', 'pipe'] });
    let out = '';
    let err = '';
    let timedOut = false;
    // A child that never answers (a hung native call) must not hang the whole suite.
    const watchdog = setTimeout(() => {
      timedOut = true;
      child.kill('SIGKILL');
    }, timeoutMs);
    child.stdout.setEncoding('utf8').on('data', (d: string) => {
      out += d;
    });
    child.stderr.setEncoding('utf8').on('data', (d: string) => {
      err += d;
    });
    child.once('error', (e) => {
      clearTimeout(watchdog);
      reject(new ErrIO(`cannot start a benchmark child: ${e.message}`, { path: process.execPath, task: task.kind }, { cause: e }));
    });
    child.once('close', (code, signal) => {
      clearTimeout(watchdog);
      const line = out.split('\n').find((l) => l.startsWith(RESULT_PREFIX));
      if (timedOut) {
        reject(
          new ErrIO(`benchmark task ${task.kind} did not finish within ${timeoutMs / 1000} s and was killed`, {
            task: task.kind,
            timeoutMs,
          }),
        );
        return;
      }
      if (!line) {
        reject(
          new ErrIO(
            `benchmark task ${task.kind} ended (${signal ?? `exit code ${code}`}) without an answer` +
              (err ? `:\n${err.trim().split('\n').slice(-8).join('\n')}` : ''),
            { task: task.kind, exitCode: code, signal },
          ),
        );
        return;
      }
      let answer: ChildAnswer;
      try {
        answer = JSON.parse(line.slice(RESULT_PREFIX.length)) as ChildAnswer;
      } catch (e) {
        reject(new ErrIO(`benchmark task ${task.kind} answered unreadably: ${line}`, { task: task.kind }, { cause: e }));
        return;
      }
      if (answer.ok) resolvePromise(answer);
      else reject(childError(task, answer, err));
    });
  });
}

/** VmHWM (peak RSS) of a live process in bytes, or undefined once it is gone. */
function vmHwm(pid: number): number | undefined {
  try {
    const m = /^VmHWM:\s+(\d+)\s+kB/m.exec(readFileSync(`/proc/${pid}/status`, 'utf8'));
    return m ? Number(m[1]) * 1024 : undefined;
  } catch {
    return undefined;
  }
}

/** An external command's wall time and sampled peak RSS. */
export interface CommandResult {
  seconds: number;
  /** Highest VmHWM seen while sampling every few milliseconds; null when the command ended before a sample. */
  peakRssBytes: number | null;
}

/**
 * Runs `cmd args` and times it from spawn to exit. Its peak RSS is sampled
 * from /proc/<pid>/status (VmHWM only grows, so the last sample is a close
 * lower bound). A non-zero exit rejects with {@link ErrIO}.
 */
export function runCommand(cmd: string, args: string[], opts: { env?: NodeJS.ProcessEnv } = {}): Promise<CommandResult> {
  return new Promise((resolvePromise, reject) => {
    const t0 = performance.now();
    const child = spawn(cmd, args, { stdio: ['ignore', 'ignore', 'pipe'], ...(opts.env ? { env: opts.env } : {}) });
    let err = '';
    let peak: number | null = null;
    const sample = (): void => {
      if (child.pid === undefined) return;
      const v = vmHwm(child.pid);
      if (v !== undefined && (peak === null || v > peak)) peak = v;
    };
    const timer = setInterval(sample, 5);
    sample();
    child.stderr.setEncoding('utf8').on('data', (d: string) => {
      err += d;
    });
    child.once('error', (e) => {
      clearInterval(timer);
      reject(new ErrIO(`cannot run ${cmd}: ${e.message}`, { path: cmd }, { cause: e }));
    });
    child.once('close', (code, signal) => {
      const seconds = (performance.now() - t0) / 1000;
      clearInterval(timer);
      if (code !== 0) {
        reject(
          new ErrIO(`${cmd} ${args.join(' ')} failed (${signal ?? `exit code ${code}`}): ${err.trim()}`, { path: cmd, exitCode: code }),
        );
        return;
      }
      resolvePromise({ seconds, peakRssBytes: peak });
    });
  });
}

/** `sync`: flushes every file system, so no earlier run's writes are still going out during the next. */
export async function syncAll(): Promise<void> {
  await runCommand('sync', []);
}

/**
 * Empties the page cache (`sync`, then `3` into /proc/sys/vm/drop_caches).
 * Throws {@link ErrInvalidConfig} when this process may not (not root, or
 * a sandbox that forbids it).
 */
export async function dropCaches(): Promise<void> {
  await syncAll();
  try {
    await writeFile('/proc/sys/vm/drop_caches', '3');
  } catch (err) {
    throw new ErrInvalidConfig(
      `cannot drop the page cache (${(err as Error).message}): cold-cache benchmarks need root on Linux; run warm instead`,
      { path: '/proc/sys/vm/drop_caches' },
      { cause: err },
    );
  }
}
