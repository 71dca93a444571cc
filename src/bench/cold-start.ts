/**
 * Cold-start rows: the CLI as a user's script sees it, whole process, from
 * spawn to exit, against baselines timed in the same alternating rounds.
 *
 * - startup: `node -e 0` (baseline), `nodehost --help`, `nodehost verify --help`.
 *   Target: each ≤ 1.5 × `node -e 0`.
 * - verify, whole process: a plain Node loop over `zlib.crc32` reading the
 *   export's `.gbsnap` in 2 MiB pieces (`node -e`, baseline), and
 *   `nodehost verify <export dir>` (every block CRC, the payload checksum,
 *   `snapshot.metadata` against the file). Target: ≥ 2.5 × the loop's speed.
 * - inspect, whole process, on a Pebble NodeHost directory holding one
 *   replica (the worked example's m1: 620 entries, a snapshot at index 400):
 *   `node -e 0`; "store open", a `node -e` script that loads the log store
 *   code and opens the host's log store read-only, reads the replica's
 *   records and entry range (what `inspect` itself reads) and closes it; and
 *   `nodehost inspect`. The store's own open time is defined as
 *   store open − `node -e 0` (its code, the protobuf codec included, and its
 *   I/O); the target bound 2 × `node -e 0` + that open time is shown as a
 *   computed baseline row, and the target is inspect ≤ 1.0 × it.
 */
import { stat, writeFile } from 'node:fs/promises';
import { dirname, join, resolve } from 'node:path';
import { pathToFileURL } from 'node:url';
import { runCommand } from './process.js';
import { alternatingSchedule, gbPerSecond, median } from './stats.js';
import type { BenchCase, BenchGroup } from './types.js';

/** What the cold-start rows need from the runner. */
export interface ColdStartContext {
  /** The bench child script (`dist/bench/child.js`): the package root is found from it. */
  script: string;
  /** Scratch directory (removed by the runner). */
  root: string;
  repetitions: number;
  line: (text: string) => void;
}

/** The cold-start targets, in the form targets.ts evaluates. */
export const COLD_START_TARGETS = [
  {
    id: 'startup-help',
    label: 'nodehost --help / node -e 0 (whole process, time)',
    caseId: 'startup.help',
    baseline: 'startup.node',
    op: '<=',
    threshold: 1.5,
  },
  {
    id: 'startup-verify-help',
    label: 'nodehost verify --help / node -e 0 (whole process, time)',
    caseId: 'startup.verify-help',
    baseline: 'startup.node',
    op: '<=',
    threshold: 1.5,
  },
  {
    id: 'verify-cli-vs-zlib',
    label: 'nodehost verify of the export / plain zlib.crc32 Node loop (whole process, speed)',
    caseId: 'verify-cli.verify',
    baseline: 'verify-cli.zlib',
    op: '>=',
    threshold: 2.5,
  },
  {
    id: 'inspect-cli',
    label: "nodehost inspect / (2 × node -e 0 + the store's own open time) (whole process, time)",
    caseId: 'inspect-cli.inspect',
    baseline: 'inspect-cli.bound',
    op: '<=',
    threshold: 1.0,
  },
] as const;

interface Spec {
  id: string;
  label: string;
  role: 'baseline' | 'subject';
  bytes: number;
  argv: string[];
}

/** Runs `specs` alternating (ABC CBA ...), each run a child process timed from spawn to exit. */
async function timeGroup(ctx: ColdStartContext, title: string, specs: Spec[], rounds: number): Promise<BenchCase[]> {
  const runs = new Map<string, { seconds: number; rss: number | null }[]>(specs.map((s) => [s.id, []]));
  const schedule = alternatingSchedule(specs, rounds);
  for (const [i, { item }] of schedule.entries()) {
    const r = await runCommand(item.argv[0]!, item.argv.slice(1));
    runs.get(item.id)!.push({ seconds: r.seconds, rss: r.peakRssBytes });
    if (i % specs.length === specs.length - 1 || item.bytes > 0) {
      ctx.line(`${title}: run ${i + 1}/${schedule.length}: ${item.label}: ${r.seconds.toFixed(3)} s`);
    }
  }
  return specs.map((s): BenchCase => {
    const ms = runs.get(s.id)!;
    const seconds = median(ms.map((m) => m.seconds));
    const rss = ms.map((m) => m.rss).filter((v): v is number => v !== null);
    return {
      id: s.id,
      label: s.label,
      role: s.role,
      runs: ms.map((m) => m.seconds),
      seconds,
      bytes: s.bytes,
      ...(s.bytes > 0 ? { gbPerSecond: gbPerSecond(s.bytes, seconds) } : {}),
      ratios: [],
      peakRssBytes: rss.length ? Math.max(...rss) : null,
      peakAnonBytes: null,
      peakFileBytes: null,
    };
  });
}

function timeRatio(c: BenchCase, base: BenchCase, label: string): void {
  c.ratios.push({ to: base.id, label, kind: 'time', value: c.seconds / base.seconds });
}

/** `nodehost --help`, `nodehost verify --help` against `node -e 0`. */
export async function startupGroup(ctx: ColdStartContext): Promise<BenchGroup> {
  const node = process.execPath;
  const cli = cliPath(ctx.script);
  const cases = await timeGroup(
    ctx,
    'startup',
    [
      { id: 'startup.node', label: 'node -e 0 (baseline)', role: 'baseline', bytes: 0, argv: [node, '-e', '0'] },
      { id: 'startup.help', label: 'nodehost --help', role: 'subject', bytes: 0, argv: [node, cli, '--help'] },
      { id: 'startup.verify-help', label: 'nodehost verify --help', role: 'subject', bytes: 0, argv: [node, cli, 'verify', '--help'] },
    ],
    startupRounds(ctx),
  );
  for (const c of cases.slice(1)) timeRatio(c, cases[0]!, 'node -e 0');
  return { id: 'startup', title: 'startup (whole process)', input: 'no input', cases };
}

/** `nodehost verify <dir>` against a plain zlib.crc32 loop over the same file, whole process. */
export async function verifyCliGroup(ctx: ColdStartContext, exportDir: string, file: string, fileSize: number): Promise<BenchGroup> {
  const node = process.execPath;
  const loop =
    "const fs=require('node:fs'),zlib=require('node:zlib');const fd=fs.openSync(process.argv[1],'r');" +
    'const b=Buffer.allocUnsafe(2*1024*1024);let c=0,n;while((n=fs.readSync(fd,b,0,b.length,null))>0)c=zlib.crc32(b.subarray(0,n),c);';
  const cases = await timeGroup(
    ctx,
    'verify, whole process',
    [
      {
        id: 'verify-cli.zlib',
        label: 'node: zlib.crc32 loop, 2 MiB reads (baseline)',
        role: 'baseline',
        bytes: fileSize,
        argv: [node, '-e', loop, file],
      },
      {
        id: 'verify-cli.verify',
        label: 'nodehost verify <export>',
        role: 'subject',
        bytes: fileSize,
        argv: [node, cliPath(ctx.script), 'verify', exportDir, '--no-progress'],
      },
    ],
    Math.max(ctx.repetitions, 5),
  );
  const [zlib, verify] = cases as [BenchCase, BenchCase];
  verify.ratios.push({ to: zlib.id, label: 'zlib loop', kind: 'speed', value: zlib.seconds / verify.seconds });
  return {
    id: 'verify-cli',
    title: 'verify (whole process)',
    input: `the verify group's export, \`nodehost verify <dir>\` (no manifest in it), ${await cliEntry(ctx.script)}`,
    cases,
  };
}

/** `nodehost inspect` of one replica against `node -e 0` and the store's own open time. */
export async function inspectCliGroup(ctx: ColdStartContext): Promise<BenchGroup> {
  const dist = resolve(dirname(ctx.script), '..');
  const distUrl = (p: string): string => pathToFileURL(join(dist, p)).href;
  const host = join(ctx.root, 'inspect-m1');
  const config = join(ctx.root, 'inspect-m1.json');
  // The worked example's m1, written by a child so this process never loads the log store.
  const setup =
    `const { writeSampleNode, samplePayload } = await import(${JSON.stringify(distUrl('ops/sample-node.js'))});` +
    `await writeSampleNode({ config: { nodeHostDir: ${JSON.stringify(join(host, 'nodehost'))}, raftAddress: 'm1:63001', hostname: 'm1', logdbType: 'sharded-pebble' },` +
    " shardId: 100n, replicaId: 1n, members: new Map([[1n, 'm1:63001'], [2n, 'm2:63001'], [3n, 'm3:63001']])," +
    ' lastIndex: 620n, snapshotIndex: 400n, term: 5n, payload: samplePayload(1024 * 1024) });';
  await runCommand(process.execPath, ['--input-type=module', '-e', setup]);
  await writeFile(config, JSON.stringify({ nodeHostDir: join(host, 'nodehost'), raftAddress: 'm1:63001', hostname: 'm1' }));
  const open =
    `const { loadNodeHostConfigFile, resolveNodeHostConfig } = await import(${JSON.stringify(distUrl('nodehost/config.js'))});` +
    `const { LogDB } = await import(${JSON.stringify(distUrl('logdb/logdb.js'))});` +
    `const db = await LogDB.open(resolveNodeHostConfig(await loadNodeHostConfigFile(${JSON.stringify(config)})), { readOnly: true });` +
    'const rec = await db.nodeRecords(100n, 1n); await db.getEntryRange(100n, 1n, 400n); await db.close();';
  const node = process.execPath;
  const cases = await timeGroup(
    ctx,
    'inspect, whole process',
    [
      { id: 'inspect-cli.node', label: 'node -e 0 (baseline)', role: 'baseline', bytes: 0, argv: [node, '-e', '0'] },
      {
        id: 'inspect-cli.open',
        label: 'store open: load the log store, open, read the records, close (baseline)',
        role: 'baseline',
        bytes: 0,
        argv: [node, '--input-type=module', '-e', open],
      },
      {
        id: 'inspect-cli.inspect',
        label: 'nodehost inspect (one replica)',
        role: 'subject',
        bytes: 0,
        argv: [node, cliPath(ctx.script), 'inspect', '--config', config, '--shard-id', '100', '--replica-id', '1'],
      },
    ],
    startupRounds(ctx),
  );
  const [nodeCase, openCase, inspect] = cases as [BenchCase, BenchCase, BenchCase];
  const openTime = Math.max(0, openCase.seconds - nodeCase.seconds);
  const bound: BenchCase = {
    id: 'inspect-cli.bound',
    label: `2 × node -e 0 + store open time (${(openTime * 1000).toFixed(0)} ms = store open − node -e 0; computed)`,
    role: 'baseline',
    runs: [],
    seconds: 2 * nodeCase.seconds + openTime,
    bytes: 0,
    ratios: [],
    peakRssBytes: null,
    peakAnonBytes: null,
    peakFileBytes: null,
  };
  timeRatio(inspect, nodeCase, 'node -e 0');
  timeRatio(inspect, bound, 'bound');
  return {
    id: 'inspect-cli',
    title: 'inspect (whole process)',
    input: 'a Pebble NodeHost directory, shard 100 replica 1: 620 entries, snapshot at 400',
    cases: [...cases, bound],
  };
}

/** Every cold-start group; the verify row runs on the runner's export. */
export async function coldStartGroups(ctx: ColdStartContext, exp: { dir: string; file: string; fileSize: number }): Promise<BenchGroup[]> {
  return [await startupGroup(ctx), await verifyCliGroup(ctx, exp.dir, exp.file, exp.fileSize), await inspectCliGroup(ctx)];
}

/**
 * Which entry bin/nodehost.js ran verify from, by the launcher's own test:
 * its bundle when it exists and (in a checkout, where src/ is) is at least as
 * new as dist/cli/main.js, else dist/ module by module, which the figures
 * then measure.
 */
async function cliEntry(script: string): Promise<string> {
  const cli = resolve(dirname(script), '../cli');
  const exists = (p: string): Promise<boolean> =>
    stat(p).then(
      () => true,
      () => false,
    );
  try {
    const bundle = await stat(join(cli, 'bundle-verify.cjs'));
    const checkout = await exists(resolve(cli, '../../src'));
    if (!checkout || bundle.mtimeMs >= (await stat(join(cli, 'main.js'))).mtimeMs) return 'run from dist/cli/bundle-verify.cjs';
  } catch {
    // No bundle (or no main.js): the modules below.
  }
  return 'run from the modules of dist/ (no current dist/cli/bundle-verify.cjs: `npm run build` makes one)';
}

/** `bin/nodehost.js` of the package whose `dist/bench/child.js` is `script`. */
function cliPath(script: string): string {
  return resolve(dirname(script), '../../bin/nodehost.js');
}

/** Startup runs are short and noisy: at least 15 alternating rounds. */
function startupRounds(ctx: ColdStartContext): number {
  return Math.max(15, 3 * ctx.repetitions);
}
