/**
 * Entry point of a benchmark child process (`node dist/bench/child.js
 * '<task JSON>'`): runs one {@link BenchTask} once and writes one answer line
 * (see `protocol.ts`) to stdout. Like `bin/`, this is a process entry, not
 * library code: it is the only place in src/bench that writes to stdout or
 * sets an exit code. Modules are loaded per task, so a baseline child carries
 * none of the code it does not run.
 */
import { readFileSync } from 'node:fs';
import { RESULT_PREFIX, type BenchTask, type ChildAnswer } from './protocol.js';

type Outcome = { seconds: number; detail?: Record<string, string | number | boolean | null> };

async function timed<T extends Record<string, string | number | boolean | null>>(run: () => T | Promise<T>): Promise<Outcome> {
  const t0 = performance.now();
  const detail = await run();
  return { seconds: (performance.now() - t0) / 1000, detail };
}

async function runTask(task: BenchTask): Promise<Outcome> {
  switch (task.kind) {
    case 'read-only': {
      const { readOnly } = await import('./task-read.js');
      return timed(() => readOnly(task.file, task.readSize));
    }
    case 'zlib-blocks': {
      const { zlibBlocks } = await import('./task-read.js');
      return timed(() => zlibBlocks(task.file));
    }
    case 'verify': {
      const { prepareVerify } = await import('./task-verify.js');
      const run = prepareVerify(task.file, task.engine);
      return timed(run);
    }
    case 'import': {
      const { runImport } = await import('./task-import.js');
      return timed(() => runImport(task.exportDir, task.nodeHostDir, task.raftAddress, task.replicaId));
    }
    case 'remove-native': {
      const m = await import('./task-logdb.js');
      return m.timedRemoval(task.dbDir, () => m.removeNative(task.dbDir));
    }
    case 'remove-classic': {
      const m = await import('./task-logdb.js');
      return m.timedRemoval(task.dbDir, () => m.removeClassic(task.dbDir));
    }
    case 'remove-fallback': {
      const m = await import('./task-logdb.js');
      return m.timedRemoval(task.dbDir, () => m.removeFallback(task.dbDir));
    }
    case 'build-pebble-store': {
      const { buildPebble } = await import('./task-pebble.js');
      return timed(() => buildPebble(task.dir, task.entries, task.valueSize, task.neighbourEntries));
    }
    case 'remove-pebble': {
      const { timedPebbleRemoval } = await import('./task-pebble.js');
      return timedPebbleRemoval(task.dir);
    }
    case 'read-pebble': {
      const { readPebble } = await import('./task-pebble.js');
      return timed(async () => ({ ...(await readPebble(task.dir)) }));
    }
    case 'read-classic': {
      const { readClassic } = await import('./task-pebble.js');
      return timed(async () => ({ ...(await readClassic(task.dbDir)) }));
    }
    case 'build-store': {
      const { buildStore } = await import('./task-logdb.js');
      return timed(() => buildStore(task.dbDir, task.entries, task.valueSize, task.neighbourEntries));
    }
    default:
      throw new TypeError(`unknown benchmark task ${JSON.stringify(task)}`);
  }
}

/**
 * Peak anonymous and file-backed resident memory, sampled from
 * /proc/self/status every few milliseconds (while the main thread is free:
 * native work runs on other threads) and once at the end. maxRSS counts
 * both; file-backed pages (LevelDB mmaps its table files) are page cache the
 * kernel can drop at any time, anonymous ones are what the process holds.
 */
class MemorySampler {
  anon = 0;
  file = 0;
  private ok = true;
  // Unref'ed: the sampler must never keep a finished (or failed) child alive.
  private readonly timer = setInterval(() => this.sample(), 5).unref();

  sample(): void {
    if (!this.ok) return;
    try {
      const status = readFileSync('/proc/self/status', 'utf8');
      const kb = (name: string): number => Number(new RegExp(`^${name}:\\s+(\\d+)\\s+kB`, 'm').exec(status)?.[1] ?? Number.NaN) * 1024;
      const anon = kb('RssAnon');
      const file = kb('RssFile');
      if (Number.isNaN(anon) || Number.isNaN(file)) throw new Error('no RssAnon/RssFile');
      this.anon = Math.max(this.anon, anon);
      this.file = Math.max(this.file, file);
    } catch {
      this.ok = false;
    }
  }

  stop(): { peakAnonBytes: number | null; peakFileBytes: number | null } {
    this.sample();
    clearInterval(this.timer);
    return this.ok ? { peakAnonBytes: this.anon, peakFileBytes: this.file } : { peakAnonBytes: null, peakFileBytes: null };
  }
}

function jsonSafe(value: unknown): Record<string, unknown> | undefined {
  if (value === null || typeof value !== 'object') return undefined;
  return JSON.parse(JSON.stringify(value, (_k, v: unknown) => (typeof v === 'bigint' ? v.toString() : v))) as Record<string, unknown>;
}

async function main(): Promise<void> {
  let answer: ChildAnswer;
  try {
    const task = JSON.parse(process.argv[2] ?? '') as BenchTask;
    const sampler = new MemorySampler();
    let out: Outcome;
    let memory: ReturnType<MemorySampler['stop']>;
    try {
      out = await runTask(task);
    } finally {
      memory = sampler.stop();
    }
    // maxRSS is in KiB (getrusage); it covers the whole process, start-up included.
    answer = {
      ok: true,
      seconds: out.seconds,
      peakRssBytes: process.resourceUsage().maxRSS * 1024,
      ...memory,
      ...(out.detail ? { detail: out.detail } : {}),
    };
  } catch (err) {
    const e = err as { code?: unknown; message?: unknown; details?: unknown; stack?: unknown };
    answer = {
      ok: false,
      code: typeof e?.code === 'string' ? e.code : null,
      message: typeof e?.message === 'string' ? e.message : String(err),
      ...(jsonSafe(e?.details) ? { details: jsonSafe(e?.details)! } : {}),
    };
    if (typeof e?.stack === 'string') process.stderr.write(`${e.stack}\n`);
    process.exitCode = 1;
  }
  process.stdout.write(`${RESULT_PREFIX}${JSON.stringify(answer)}\n`);
}

await main();
