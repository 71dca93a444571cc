/** `nodehost bench [--size 1GiB] [--entries 1000000,10000000] [--json]` */
import { ErrUsage } from '../../errors.js';
import { benchReportJson, DEFAULT_BENCH_OPTIONS, parseSize, renderBenchTable, runBenchmarks } from '../../bench/index.js';
import type { EngineName } from '../../engines/types.js';
import type { Command } from '../command.js';

function list<T>(text: string, parse: (s: string) => T, what: string): T[] {
  const items = text.split(',').map((s) => s.trim()).filter(Boolean);
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

export const benchCommand: Command = {
  name: 'bench',
  summary: 'benchmark verify, import and stale-entry removal against same-run baselines',
  usage: 'nodehost bench [--size 1GiB] [--entries 1000000,10000000] [--repetitions 5] [--engine native,wasm,js] [--rss-sizes 1GiB,4GiB] [--cold] [--json]',
  description:
    'Generates its own inputs in a temporary directory (a v2 export of --size; a log store per --entries count), ' +
    'runs every case in its own child process, alternating, and prints one table: medians, ratios to the baselines ' +
    'measured in the same run, the targets, and peak RSS. The defaults are the full run (several minutes, ~9 GiB of ' +
    'temporary disk); use --size 256MiB --entries 100000 --repetitions 3 for a quick look.',
  options: {
    size: { type: 'string', arg: '<bytes>', help: 'payload size of the generated export (default 1GiB)' },
    entries: { type: 'string', arg: '<n,n>', help: 'stale-entry counts (default 1000000,10000000)' },
    repetitions: { type: 'string', arg: '<n>', help: 'timed runs per case (default 5)' },
    engine: { type: 'string', arg: '<list>', help: 'verify engines (default native,wasm,js)' },
    'rss-sizes': { type: 'string', arg: '<list>', help: 'extra sizes at which peak RSS is reported (default 1GiB,4GiB)' },
    cold: { type: 'boolean', help: 'drop the page cache before every run (root only)' },
    tmp: { type: 'string', arg: '<dir>', help: 'where inputs go (default the system temp directory)' },
  },
  async run(inv, ctx) {
    const v = inv.values;
    const opts = {
      size: typeof v.size === 'string' ? size(v.size, '--size') : DEFAULT_BENCH_OPTIONS.size,
      entries: typeof v.entries === 'string' ? list(v.entries, (s) => count(s, '--entries'), '--entries') : [...DEFAULT_BENCH_OPTIONS.entries],
      repetitions: typeof v.repetitions === 'string' ? count(v.repetitions, '--repetitions') : DEFAULT_BENCH_OPTIONS.repetitions,
      engines: typeof v.engine === 'string'
        ? list(v.engine, (s) => {
          if (s !== 'native' && s !== 'wasm' && s !== 'js') throw new ErrUsage(`--engine: unknown engine "${s}"`);
          return s as EngineName;
        }, '--engine')
        : [...DEFAULT_BENCH_OPTIONS.engines],
      rssSizes: typeof v['rss-sizes'] === 'string'
        ? list(v['rss-sizes'], (s) => size(s, '--rss-sizes'), '--rss-sizes')
        : typeof v.size === 'string' ? [] : [...DEFAULT_BENCH_OPTIONS.rssSizes],
      cold: v.cold === true,
      ...(typeof v.tmp === 'string' ? { tmpDir: v.tmp } : {}),
      onLine: (text: string) => ctx.warn(text),
    };
    if (opts.repetitions < 1) throw new ErrUsage('--repetitions must be at least 1');
    const report = await runBenchmarks(opts);
    ctx.print(renderBenchTable(report));
    if (ctx.json) ctx.io.stdout.write(JSON.stringify({ ok: true, report: JSON.parse(benchReportJson(report)) }) + '\n');
    return 0;
  },
};
