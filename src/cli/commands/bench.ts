/** `nodehost bench [--size 1GiB] [--entries 1000000,10000000] [--json]` */
import { ErrUsage } from '../../errors.js';
import { benchReportJson, DEFAULT_BENCH_OPTIONS, parseSize, renderBenchTable, runBenchmarks } from '../../bench/index.js';
import type { EngineName } from '../../engines/types.js';
import type { CommandContext, Invocation } from '../command.js';

function list<T>(text: string, parse: (s: string) => T, what: string): T[] {
  const items = text
    .split(',')
    .map((s) => s.trim())
    .filter(Boolean);
  if (items.length === 0) throw new ErrUsage(`${what} is empty`);
  return items.map(parse);
}

function count(s: string, what: string): number {
  const n = Number(s.replace(/_/g, ''));
  if (!Number.isSafeInteger(n) || n < 0) throw new ErrUsage(`${what}: "${s}" is not a whole number`);
  return n;
}

function size(s: string, what: string): number {
  const n = parseSize(s);
  if (n === undefined) throw new ErrUsage(`${what}: "${s}" is not a size (e.g. 512MiB, 1GiB, 4G)`);
  return n;
}

function onlyPart(v: unknown): 'cold-start' {
  if (v !== 'cold-start') throw new ErrUsage(`--only: unknown part "${String(v)}" (the one part that runs alone is cold-start)`);
  return v;
}

/** Runs `nodehost bench` (its options: the command table in ./index.ts). */
export async function run(inv: Invocation, ctx: CommandContext): Promise<number> {
  const v = inv.values;
  const opts = {
    size: typeof v.size === 'string' ? size(v.size, '--size') : DEFAULT_BENCH_OPTIONS.size,
    entries:
      typeof v.entries === 'string' ? list(v.entries, (s) => count(s, '--entries'), '--entries') : [...DEFAULT_BENCH_OPTIONS.entries],
    repetitions: typeof v.repetitions === 'string' ? count(v.repetitions, '--repetitions') : DEFAULT_BENCH_OPTIONS.repetitions,
    engines:
      typeof v.engine === 'string'
        ? list(
            v.engine,
            (s) => {
              if (s !== 'native' && s !== 'wasm' && s !== 'js') throw new ErrUsage(`--engine: unknown engine "${s}"`);
              return s as EngineName;
            },
            '--engine',
          )
        : [...DEFAULT_BENCH_OPTIONS.engines],
    rssSizes:
      typeof v['rss-sizes'] === 'string'
        ? list(v['rss-sizes'], (s) => size(s, '--rss-sizes'), '--rss-sizes')
        : typeof v.size === 'string'
          ? []
          : [...DEFAULT_BENCH_OPTIONS.rssSizes],
    pebbleEntries:
      typeof v['pebble-entries'] === 'string' ? count(v['pebble-entries'], '--pebble-entries') : DEFAULT_BENCH_OPTIONS.pebbleEntries,
    carryEntries:
      typeof v['carry-entries'] === 'string' ? count(v['carry-entries'], '--carry-entries') : DEFAULT_BENCH_OPTIONS.carryEntries,
    cold: v.cold === true,
    ...(v.only === undefined ? {} : { only: onlyPart(v.only) }),
    ...(typeof v.tmp === 'string' ? { tmpDir: v.tmp } : {}),
    onLine: (text: string) => ctx.warn(text),
  };
  if (opts.repetitions < 1) throw new ErrUsage('--repetitions must be at least 1');
  const report = await runBenchmarks(opts);
  ctx.print(renderBenchTable(report));
  if (ctx.json) ctx.io.stdout.write(JSON.stringify({ ok: true, report: JSON.parse(benchReportJson(report)) }) + '\n');
  return 0;
}
