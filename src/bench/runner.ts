/**
 * `runBenchmarks`: generates its own inputs in a scratch directory, times
 * every case against its baselines in alternating runs, one child process
 * per run (so each run's peak RSS is its own), and returns a
 * {@link BenchReport}. Everything it creates is removed before it returns.
 *
 * Groups, in order (each input is deleted as soon as its group is done):
 * 1. verify, on a v2 export of `size` bytes: read-only bandwidth and the
 *    zlib.crc32 baseline, then each engine's full verification;
 * 2. import of that export (`importSnapshot`, engine auto) against
 *    `cp -r` of the export directory followed by `sync`;
 * 3. peak RSS of verify and import at the other `rssSizes`, one run each;
 * 4. for each entry count, removing one replica's entries from a log store:
 *    classic-level clear() + compactRange() (baseline), the native bulk path,
 *    and this package's portable fallback.
 *
 * With `pebbleEntries` (default 10M; 0 skips them) a Pebble partition with
 * the same pairs as the LevelDB store of that count is built first, without
 * Pebble (src/bench/pebble-store.ts), and three more groups run:
 * 2b. the CLI's whole import (`node bin/nodehost.js import`, a child
 *    process timed from spawn to exit) on a Pebble host whose partition of
 *    the export's shard holds that store (entries of shard 116, which shares
 *    partition 4 with shard 100), against `cp -r` + `sync` of the export;
 * 4a. reading the replica's records and whole entry range with this
 *    package's Pebble reader, against classic-level on the LevelDB store;
 * 4b. the removal of group 4 on the Pebble store (one drop-in WAL of range
 *    tombstones), in the same alternating group as the classic-level baseline.
 */
import { cliImport, copySuffix, removeDir, writeBenchSuffix } from './carry.js';
import { cpus, tmpdir, totalmem } from 'node:os';
import { mkdir, mkdtemp, rm } from 'node:fs/promises';
import { join } from 'node:path';
import { getEngine } from '../engines/select.js';
import { nativeCrcKernel } from '../engines/native.js';
import { loadNative, nativeLoadError } from '../native/binding.js';
import type { EngineName } from '../engines/types.js';
import { ErrEngineUnavailable, ErrInvalidConfig } from '../errors.js';
import {
  cloneStore,
  EXPORT_ADDRESS,
  EXPORT_INDEX,
  EXPORT_REPLICA,
  freeBytes,
  readThrough,
  writeBenchExport,
  type BenchExport,
} from './inputs.js';
import { checkChildScript, cliScript, defaultChildScript, dropCaches, runChild, runCommand, syncAll, writeRssPreload } from './process.js';
import { clonePebbleStore } from './pebble-store.js';
import { resolveNodeHostConfig } from '../nodehost/config.js';
import { BIN_VER_PLAIN, checkOrCreateDataStatusFiles } from '../nodehost/datastatus.js';
import { logdbPartitionDir } from '../nodehost/paths.js';
import { EXPORT_SHARD } from './inputs.js';
import { readdir, readFile, writeFile } from 'node:fs/promises';
import { REMOVAL_SHARD, type BenchTask } from './protocol.js';
import { alternatingSchedule, gbPerSecond, median } from './stats.js';
import { evaluateTargets } from './targets.js';
import { coldStartGroups } from './cold-start.js';
import { formatBytes, formatCount } from './format.js';
import type { BenchCase, BenchGroup, BenchOptions, BenchRatio, BenchReport, RatioKind } from './types.js';

/** What a full `npm run bench` uses. */
export const DEFAULT_BENCH_OPTIONS = {
  size: 1024 ** 3,
  entries: [1_000_000, 10_000_000],
  // Import runs are dominated by write-back noise on a shared disk: five runs steady the medians.
  repetitions: 5,
  engines: ['native', 'wasm', 'js'] as EngineName[],
  rssSizes: [1024 ** 3, 4 * 1024 ** 3],
  // The Pebble rows are about 10M entries; `--pebble-entries 0` skips them.
  pebbleEntries: 10_000_000,
  // The minimal-loss row (#13): an export carrying 1M entries (about 100 MiB); 0 skips it.
  carryEntries: 1_000_000,
} as const;

/** Read size of the read-only baseline (the native engine reads 8 MiB pieces too). */
const READ_ONLY_PIECE = 8 * 1024 * 1024;
/** Approximate value size of a log entry in the removal stores. */
const ENTRY_VALUE_SIZE = 100;
/** Entries of each of the two neighbouring replicas that removals must keep. */
const NEIGHBOUR_ENTRIES = 10_000;
/** Disk a store takes per entry, generously (key, value, table overhead, compaction output). */
const STORE_BYTES_PER_ENTRY = 320;
const ENGINE_NAMES: readonly EngineName[] = ['native', 'wasm', 'js'];

type Detail = Record<string, string | number | boolean | null>;

interface Measured {
  seconds: number;
  peakRssBytes: number | null;
  peakAnonBytes: number | null;
  peakFileBytes: number | null;
  detail?: Detail;
}

function maxOf(values: (number | null)[]): number | null {
  const v = values.filter((x): x is number => x !== null);
  return v.length > 0 ? Math.max(...v) : null;
}

/** A case before it is run: how to set up, run and clean up one timed run. */
interface CaseSpec {
  id: string;
  label: string;
  role: 'baseline' | 'subject';
  bytes: number;
  items?: number;
  prepare?: (run: number) => Promise<void>;
  run: (run: number) => Promise<Measured>;
  cleanup?: (run: number) => Promise<void>;
}

/** A ratio to compute once the group's medians are known. */
interface RatioSpec {
  caseId: string;
  to: string;
  label: string;
  kind: RatioKind;
}

interface Ctx {
  script: string;
  root: string;
  cold: boolean;
  repetitions: number;
  line: (text: string) => void;
  notes: string[];
}

function checkOptions(o: BenchOptions): void {
  const bad = (msg: string, details: Record<string, unknown>): never => {
    throw new ErrInvalidConfig(`benchmark options: ${msg}`, details);
  };
  if (!Number.isSafeInteger(o.size) || o.size < 17) bad(`size must be an integer number of bytes >= 17, not ${o.size}`, { size: o.size });
  if (!Array.isArray(o.entries) || o.entries.some((n) => !Number.isSafeInteger(n) || n < 1 || n > 0xffff_ffff)) {
    bad('entries must be a list of counts between 1 and 2^32-1', { entries: o.entries });
  }
  if (!Number.isSafeInteger(o.repetitions) || o.repetitions < 1)
    bad(`repetitions must be a positive integer, not ${o.repetitions}`, { repetitions: o.repetitions });
  if (!Array.isArray(o.engines) || o.engines.some((e) => !ENGINE_NAMES.includes(e))) {
    bad(`engines must be a list of ${ENGINE_NAMES.join(', ')}`, { engines: o.engines });
  }
  const pe = o.pebbleEntries ?? 0;
  if (!Number.isSafeInteger(pe) || pe < 0 || pe > 0xffff_ffff)
    bad(`pebbleEntries must be a count between 0 and 2^32-1, not ${pe}`, { pebbleEntries: pe });
  const ce = o.carryEntries ?? 0;
  if (!Number.isSafeInteger(ce) || ce < 0 || ce > 0xffff_ffff)
    bad(`carryEntries must be a count between 0 and 2^32-1, not ${ce}`, { carryEntries: ce });
  for (const s of o.rssSizes ?? [])
    if (!Number.isSafeInteger(s) || s < 17) bad(`rssSizes must be sizes in bytes >= 17, not ${s}`, { rssSizes: o.rssSizes });
}

/** Runs `specs` in alternating rounds; returns the cases (ratios still empty). */
async function runGroup(ctx: Ctx, title: string, specs: CaseSpec[]): Promise<BenchCase[]> {
  const runs = new Map<string, Measured[]>(specs.map((s) => [s.id, []]));
  const schedule = alternatingSchedule(specs, ctx.repetitions);
  for (const [i, { item }] of schedule.entries()) {
    const n = runs.get(item.id)!.length;
    await item.prepare?.(n);
    if (ctx.cold) await dropCaches();
    else await syncAll();
    const m = await item.run(n);
    await item.cleanup?.(n);
    runs.get(item.id)!.push(m);
    const speed = item.bytes > 0 ? `, ${gbPerSecond(item.bytes, m.seconds).toFixed(2)} GB/s` : '';
    ctx.line(`${title}: run ${i + 1}/${schedule.length}: ${item.label}: ${m.seconds.toFixed(3)} s${speed}`);
  }
  return specs.map((s): BenchCase => {
    const ms = runs.get(s.id)!;
    const seconds = median(ms.map((m) => m.seconds));
    const detail = ms[ms.length - 1]?.detail;
    return {
      id: s.id,
      label: s.label,
      role: s.role,
      runs: ms.map((m) => m.seconds),
      seconds,
      bytes: s.bytes,
      ...(s.bytes > 0 ? { gbPerSecond: gbPerSecond(s.bytes, seconds) } : {}),
      ...(s.items !== undefined ? { items: s.items } : {}),
      ratios: [],
      peakRssBytes: maxOf(ms.map((m) => m.peakRssBytes)),
      peakAnonBytes: maxOf(ms.map((m) => m.peakAnonBytes)),
      peakFileBytes: maxOf(ms.map((m) => m.peakFileBytes)),
      ...(detail ? { detail } : {}),
    };
  });
}

function applyRatios(cases: BenchCase[], specs: RatioSpec[]): void {
  const byId = new Map(cases.map((c) => [c.id, c]));
  for (const r of specs) {
    const c = byId.get(r.caseId);
    const base = byId.get(r.to);
    if (!c || !base) continue;
    // Both cases process the same bytes, so a speed ratio is the inverse time ratio.
    const value = r.kind === 'speed' ? base.seconds / c.seconds : c.seconds / base.seconds;
    const ratio: BenchRatio = { to: r.to, label: r.label, kind: r.kind, value };
    c.ratios.push(ratio);
  }
}

async function child(ctx: Ctx, task: BenchTask): Promise<Measured> {
  const r = await runChild(ctx.script, task);
  return {
    seconds: r.seconds,
    peakRssBytes: r.peakRssBytes,
    peakAnonBytes: r.peakAnonBytes,
    peakFileBytes: r.peakFileBytes,
    ...(r.detail ? { detail: r.detail } : {}),
  };
}

function verifySpecs(ctx: Ctx, exp: BenchExport, engines: EngineName[]): CaseSpec[] {
  const bytes = exp.fileSize;
  return [
    {
      id: 'verify.read',
      label: 'read only, 8 MiB aligned reads (limit)',
      role: 'baseline',
      bytes,
      run: () => child(ctx, { kind: 'read-only', file: exp.file, readSize: READ_ONLY_PIECE }),
    },
    {
      id: 'verify.zlib',
      label: 'zlib.crc32 per 2 MiB block (baseline)',
      role: 'baseline',
      bytes,
      run: () => child(ctx, { kind: 'zlib-blocks', file: exp.file }),
    },
    ...engines.map(
      (engine): CaseSpec => ({
        id: `verify.${engine}`,
        label: `verify, ${engine} engine`,
        role: 'subject',
        bytes,
        run: () => child(ctx, { kind: 'verify', file: exp.file, engine }),
      }),
    ),
  ];
}

function verifyRatios(engines: EngineName[]): RatioSpec[] {
  return [
    { caseId: 'verify.zlib', to: 'verify.read', label: 'read-only', kind: 'speed' },
    ...engines.flatMap((e): RatioSpec[] => [
      { caseId: `verify.${e}`, to: 'verify.read', label: 'read-only', kind: 'speed' },
      { caseId: `verify.${e}`, to: 'verify.zlib', label: 'zlib', kind: 'speed' },
    ]),
  ];
}

/** The import groups' baseline: `cp -r` of the export and a whole-system `sync`, as an operator would copy it. */
function cpSyncBaseline(id: string, exp: BenchExport, cpDir: (n: number) => string): CaseSpec {
  return {
    id,
    label: 'cp -r + sync (baseline)',
    role: 'baseline',
    bytes: exp.fileSize,
    prepare: async (n) => {
      await mkdir(cpDir(n));
    },
    run: async (n) => {
      const cp = await runCommand('cp', ['-r', exp.dir, cpDir(n)]);
      const sync = await runCommand('sync', []);
      return {
        seconds: cp.seconds + sync.seconds,
        peakRssBytes: maxOf([cp.peakRssBytes, sync.peakRssBytes]),
        peakAnonBytes: null,
        peakFileBytes: null,
      };
    },
    cleanup: (n) => rm(cpDir(n), { recursive: true, force: true }),
  };
}

function importSpecs(ctx: Ctx, exp: BenchExport, tag: string): CaseSpec[] {
  const cpDir = (n: number): string => join(ctx.root, `cp-${tag}-${n}`);
  const nhDir = (n: number): string => join(ctx.root, `import-${tag}-${n}`);
  return [
    cpSyncBaseline('import.cp', exp, cpDir),
    {
      id: 'import.import',
      label: 'importSnapshot (engine auto)',
      role: 'subject',
      bytes: exp.fileSize,
      run: (n) =>
        child(ctx, {
          kind: 'import',
          exportDir: exp.dir,
          nodeHostDir: join(nhDir(n), 'nodehost'),
          raftAddress: EXPORT_ADDRESS,
          replicaId: EXPORT_REPLICA,
        }),
      cleanup: (n) => rm(nhDir(n), { recursive: true, force: true }),
    },
  ];
}

function removalSpecs(ctx: Ctx, store: string, entries: number, native: boolean): CaseSpec[] {
  const runDir = (id: string, n: number): string => join(ctx.root, `store-run-${id}-${n}`);
  const spec = (
    id: 'classic' | 'native' | 'fallback',
    label: string,
    role: 'baseline' | 'subject',
    kind: 'remove-classic' | 'remove-native' | 'remove-fallback',
  ): CaseSpec => ({
    id: `remove.${entries}.${id}`,
    label,
    role,
    bytes: 0,
    items: entries,
    prepare: (n) => cloneStore(store, runDir(id, n)),
    run: (n) => child(ctx, { kind, dbDir: runDir(id, n) }),
    cleanup: (n) => rm(runDir(id, n), { recursive: true, force: true }),
  });
  return [
    spec('classic', 'classic-level clear + compactRange (baseline)', 'baseline', 'remove-classic'),
    ...(native ? [spec('native', 'native: the addon deletes, then compacts the ranges', 'subject', 'remove-native')] : []),
    spec('fallback', 'fallback (no addon): compact, clear, compact', 'subject', 'remove-fallback'),
  ];
}

/** The Pebble removal case of a removal group (one drop-in WAL on a clone of the Pebble store). */
function pebbleRemovalSpec(ctx: Ctx, store: string, entries: number): CaseSpec {
  const runDir = (n: number): string => join(ctx.root, `pebble-run-${n}`, 'logdb-4');
  return {
    id: `remove.${entries}.pebble`,
    label: 'Pebble: one drop-in WAL of range tombstones',
    role: 'subject',
    bytes: 0,
    items: entries,
    prepare: (n) => clonePebbleStore(store, runDir(n)),
    run: (n) => child(ctx, { kind: 'remove-pebble', dir: runDir(n) }),
    cleanup: (n) => rm(join(ctx.root, `pebble-run-${n}`), { recursive: true, force: true }),
  };
}

function readSpecs(ctx: Ctx, levelStore: string, pebbleStore: string, entries: number): CaseSpec[] {
  return [
    {
      id: `read.${entries}.classic`,
      label: 'classic-level iterator on the LevelDB store (baseline)',
      role: 'baseline',
      bytes: 0,
      items: entries,
      run: () => child(ctx, { kind: 'read-classic', dbDir: levelStore }),
    },
    {
      id: `read.${entries}.pebble`,
      label: "this package's Pebble reader",
      role: 'subject',
      bytes: 0,
      items: entries,
      run: () => child(ctx, { kind: 'read-pebble', dir: pebbleStore }),
    },
  ];
}

/**
 * The CLI import on a Pebble host: `dragonboat.ds` of a sharded-pebble host,
 * the export's partition a clone of the Pebble store, a config file; the run
 * is the whole `node bin/nodehost.js import` process.
 */
function pebbleImportSpecs(ctx: Ctx, exp: BenchExport, store: string, preload: string, storeEntries: number): CaseSpec[] {
  const cpDir = (n: number): string => join(ctx.root, `pcp-${n}`);
  const hostRoot = (n: number): string => join(ctx.root, `phost-${n}`);
  const configFile = (n: number): string => join(hostRoot(n), 'config.json');
  const config = (n: number) => ({
    nodeHostDir: join(hostRoot(n), 'nodehost'),
    raftAddress: EXPORT_ADDRESS,
    hostname: 'bench-host',
    logdbType: 'sharded-pebble' as const,
  });
  const cli = cliScript(ctx.script);
  return [
    cpSyncBaseline('import-pebble.cp', exp, cpDir),
    {
      id: 'import-pebble.cli',
      label: `nodehost import (CLI process), partition holding ${formatCount(storeEntries)} other entries`,
      role: 'subject',
      bytes: exp.fileSize,
      prepare: async (n) => {
        const cfg = resolveNodeHostConfig(config(n));
        await checkOrCreateDataStatusFiles(cfg, BIN_VER_PLAIN);
        await clonePebbleStore(store, logdbPartitionDir(cfg, EXPORT_SHARD));
        await writeFile(configFile(n), JSON.stringify(config(n)));
      },
      run: async (n) => {
        const rssFile = join(hostRoot(n), 'maxrss');
        const r = await runCommand(
          process.execPath,
          [
            '--import',
            preload,
            cli,
            'import',
            '--config',
            configFile(n),
            '--src',
            exp.dir,
            '--members',
            `${EXPORT_REPLICA}=${EXPORT_ADDRESS}`,
            '--replica-id',
            String(EXPORT_REPLICA),
            '--yes',
            '--json',
          ],
          { env: { ...process.env, NODEHOST_BENCH_RSS_FILE: rssFile } },
        );
        const peak = Number(await readFile(rssFile, 'utf8'));
        // Untimed check: the import added a WAL to the partition.
        const part = logdbPartitionDir(resolveNodeHostConfig(config(n)), EXPORT_SHARD);
        const wals = (await readdir(part)).filter((f) => f.endsWith('.log'));
        if (wals.length < 2) throw new ErrInvalidConfig(`the Pebble import left no WAL in ${part}`, { path: part });
        return {
          seconds: r.seconds,
          peakRssBytes: Number.isFinite(peak) && peak > 0 ? peak : r.peakRssBytes,
          peakAnonBytes: null,
          peakFileBytes: null,
          detail: { storeEntries },
        };
      },
      cleanup: (n) => rm(hostRoot(n), { recursive: true, force: true }),
    },
  ];
}

/** Payload of the export the carry row imports: small, so the row measures the suffix, not the snapshot copy. */
const CARRY_SNAPSHOT_SIZE = 16 * 1024 * 1024;

/**
 * The minimal-loss row: the CLI import of an export carrying `entries`
 * entries, against the same import with `--ignore-log` plus `cp` of the
 * suffix file and `sync` (one baseline: both halves timed, summed).
 */
async function carryGroup(ctx: Ctx, entries: number): Promise<BenchGroup> {
  ctx.line(`writing an export carrying ${formatCount(entries)} log entries...`);
  const exp = await writeBenchExport(join(ctx.root, 'export-carry'), CARRY_SNAPSHOT_SIZE);
  const suffixBytes = await writeBenchSuffix(exp, entries);
  const cli = cliScript(ctx.script);
  const host = (tag: string, n: number): string => join(ctx.root, `carry-${tag}-${n}`);
  // Each store's row against the same store's import without the log, plus cp of the suffix file.
  const baseline = (id: string, tag: string, label: string, logdbType: 'sharded-pebble' | 'sharded-leveldb'): CaseSpec => ({
    id,
    label,
    role: 'baseline',
    bytes: Number(suffixBytes),
    run: async (n) => {
      const imp = await cliImport(cli, exp, host(tag, n), true, EXPORT_INDEX, logdbType);
      const cp = await copySuffix(exp, host(`${tag}-cp`, n));
      return { seconds: imp.seconds + cp.seconds, peakRssBytes: imp.peakRssBytes, peakAnonBytes: null, peakFileBytes: null };
    },
    cleanup: async (n) => {
      await removeDir(host(tag, n));
      await removeDir(host(`${tag}-cp`, n));
    },
  });
  const specs: CaseSpec[] = [
    baseline('carry.base', 'base', 'import --ignore-log, then cp of the suffix file + sync (baseline)', 'sharded-pebble'),
    {
      id: 'carry.cli',
      label: `nodehost import carrying ${formatCount(entries)} entries (CLI process)`,
      role: 'subject',
      bytes: Number(suffixBytes),
      run: (n) => cliImport(cli, exp, host('cli', n), false, EXPORT_INDEX + BigInt(entries)),
      cleanup: (n) => removeDir(host('cli', n)),
    },
    baseline(
      'carry.base.leveldb',
      'base-leveldb',
      'the same onto a LevelDB host: import --ignore-log, then cp + sync (baseline)',
      'sharded-leveldb',
    ),
    {
      id: 'carry.cli.leveldb',
      label: `nodehost import carrying ${formatCount(entries)} entries onto a LevelDB host (CLI process)`,
      role: 'subject',
      bytes: Number(suffixBytes),
      run: (n) => cliImport(cli, exp, host('cli-leveldb', n), false, EXPORT_INDEX + BigInt(entries), 'sharded-leveldb'),
      cleanup: (n) => removeDir(host('cli-leveldb', n)),
    },
  ];
  const cases = await runGroup(ctx, 'carry', specs);
  applyRatios(cases, [
    { caseId: 'carry.cli', to: 'carry.base', label: 'without the log + cp', kind: 'time' },
    { caseId: 'carry.cli.leveldb', to: 'carry.base.leveldb', label: 'without the log + cp', kind: 'time' },
  ]);
  await rm(exp.dir, { recursive: true, force: true });
  return {
    id: 'carry',
    title: 'minimal-loss import on a fresh Pebble host, and on a fresh LevelDB host (CLI, whole process)',
    input: `${formatBytes(CARRY_SNAPSHOT_SIZE)} snapshot and a log suffix of ${formatCount(entries)} entries (${formatBytes(Number(suffixBytes))})`,
    cases,
  };
}

function availableEngines(wanted: EngineName[], notes: string[]): EngineName[] {
  const ok: EngineName[] = [];
  for (const name of wanted) {
    try {
      getEngine(name);
      ok.push(name);
    } catch (err) {
      if (!(err instanceof ErrEngineUnavailable)) throw err;
      notes.push(`engine ${name} skipped: ${err.message}`);
    }
  }
  return ok;
}

async function checkDisk(root: string, o: BenchOptions, sizes: number[]): Promise<void> {
  const pebble = o.pebbleEntries ?? 0;
  // The Pebble store (~120 bytes an entry, tables hard-linked into every run's copy) lives through the whole run.
  const needed =
    Math.max(2.1 * Math.max(...sizes), STORE_BYTES_PER_ENTRY * Math.max(0, pebble, ...o.entries)) + 150 * pebble + 64 * 1024 * 1024;
  const free = await freeBytes(root);
  if (free < needed) {
    throw new ErrInvalidConfig(
      `the benchmarks need about ${formatBytes(needed)} free in ${root} but only ${formatBytes(free)} is: ` +
        'choose a smaller size or fewer entries, or another tmpDir',
      { path: root, expected: needed, actual: free },
    );
  }
}

function rssNotes(groups: BenchGroup[], notes: string[]): void {
  let worst: { label: string; from: number; to: number; grow: number } | undefined;
  for (const c of groups.flatMap((g) => g.cases)) {
    const r = (c.rssBySize ?? []).filter((x) => x.peakRssBytes !== null);
    if (r.length < 2) continue;
    const first = r[0]!;
    const last = r[r.length - 1]!;
    const grow = last.peakRssBytes! - first.peakRssBytes!;
    if (!worst || grow > worst.grow) worst = { label: c.label, from: first.size, to: last.size, grow };
  }
  if (worst) {
    notes.push(
      `peak RSS from ${formatBytes(worst.from)} to ${formatBytes(worst.to)}: grew at most ${formatBytes(Math.max(0, worst.grow))} (${worst.label})`,
    );
  }
}

/** The Pebble partition the Pebble rows share: built once, first, without Pebble (sstables written by this package). */
async function buildPebbleStore(ctx: Ctx, dir: string, entries: number): Promise<void> {
  ctx.line(`building a Pebble partition with ${formatCount(entries)} entries of one replica (sstables written without Pebble)...`);
  const built = await runChild(ctx.script, {
    kind: 'build-pebble-store',
    dir,
    entries,
    valueSize: ENTRY_VALUE_SIZE,
    neighbourEntries: NEIGHBOUR_ENTRIES,
  });
  const d = built.detail ?? {};
  ctx.line(
    `built in ${built.seconds.toFixed(1)} s (${formatBytes(Number(d.storeBytes ?? 0))}, ${String(d.tables)} tables, ${String(d.twoLevelTables)} with two-level indexes)`,
  );
  ctx.notes.push(
    `Pebble store: ${formatCount(Number(d.pairs ?? 0))} pairs in ${String(d.tables)} L6 tables (${formatBytes(Number(d.storeBytes ?? 0))}, ` +
      `${String(d.twoLevelTables)} with two-level indexes), written by this package's sstable encoder; the same pairs as the LevelDB store of ${formatCount(entries)} entries`,
  );
}

/** Where the Pebble rows' store is, and how many entries it holds (0: no Pebble rows). */
interface PebbleInput {
  store: string;
  entries: number;
}

/**
 * Groups 1, 2 (and 2b): verify and import at the main size, the cold-start
 * groups on the same export. The subjects' cases come back too, carrying
 * their peak RSS at this size for group 3 to extend.
 */
async function verifyAndImportGroups(
  ctx: Ctx,
  size: number,
  engines: EngineName[],
  pebble: PebbleInput,
): Promise<{ groups: BenchGroup[]; subjects: BenchCase[] }> {
  ctx.line(`writing a ${formatBytes(size)} v2 export...`);
  const exp = await writeBenchExport(join(ctx.root, 'export-main'), size);
  if (!ctx.cold) await readThrough(exp.file);
  const input = `v2 export, ${formatBytes(exp.payloadBytes)} payload, ${formatCount(exp.blocks)} blocks, ${formatBytes(exp.fileSize)} file`;
  const groups: BenchGroup[] = [];
  const verifyCases = await runGroup(ctx, 'verify', verifySpecs(ctx, exp, engines));
  applyRatios(verifyCases, verifyRatios(engines));
  groups.push({ id: 'verify', title: 'verify', input, cases: verifyCases });
  groups.push(...(await coldStartGroups(ctx, exp)));
  const importCases = await runGroup(ctx, 'import', importSpecs(ctx, exp, 'main'));
  applyRatios(importCases, [{ caseId: 'import.import', to: 'import.cp', label: 'cp', kind: 'time' }]);
  groups.push({ id: 'import', title: 'import', input, cases: importCases });
  if (pebble.entries > 0) {
    const preload = await writeRssPreload(ctx.root);
    const cases = await runGroup(ctx, 'import on Pebble', pebbleImportSpecs(ctx, exp, pebble.store, preload, pebble.entries));
    applyRatios(cases, [{ caseId: 'import-pebble.cli', to: 'import-pebble.cp', label: 'cp', kind: 'time' }]);
    groups.push({
      id: 'import-pebble',
      title: 'import on a Pebble host (CLI, whole process)',
      input: `${input}; the shard's partition holds ${formatCount(pebble.entries)} entries of shard ${REMOVAL_SHARD} (same partition)`,
      cases,
    });
  }
  await rm(exp.dir, { recursive: true, force: true });
  const subjects = [...verifyCases, ...importCases].filter((c) => c.role === 'subject');
  for (const c of subjects) c.rssBySize = [{ size, peakRssBytes: c.peakRssBytes, seconds: c.seconds }];
  return { groups, subjects };
}

/** `--only cold-start`: the export of `size`, then only the cold-start groups on it. */
async function coldStartOnly(ctx: Ctx, size: number): Promise<BenchGroup[]> {
  ctx.line(`writing a ${formatBytes(size)} v2 export...`);
  const exp = await writeBenchExport(join(ctx.root, 'export-main'), size);
  if (!ctx.cold) await readThrough(exp.file);
  return coldStartGroups(ctx, exp);
}

/** Group 3: peak RSS of the verify and import subjects at the other sizes, one run each, added to their `rssBySize`. */
async function peakRssAtSizes(ctx: Ctx, sizes: number[], engines: EngineName[], subjects: BenchCase[]): Promise<void> {
  for (const size of sizes) {
    ctx.line(`writing a ${formatBytes(size)} v2 export for peak RSS...`);
    const big = await writeBenchExport(join(ctx.root, `export-${size}`), size);
    if (!ctx.cold) await readThrough(big.file);
    const specs = [...verifySpecs(ctx, big, engines), ...importSpecs(ctx, big, String(size))].filter((s) => s.role === 'subject');
    const once: Ctx = { ...ctx, repetitions: 1 };
    const cases = await runGroup(once, `peak RSS at ${formatBytes(size)}`, specs);
    for (const c of cases) {
      subjects.find((x) => x.id === c.id)?.rssBySize?.push({ size, peakRssBytes: c.peakRssBytes, seconds: c.seconds });
    }
    await rm(big.dir, { recursive: true, force: true });
  }
}

/** Group 4a: the replica's records and entries read from the LevelDB store and from the Pebble store with the same pairs. */
async function readGroup(ctx: Ctx, levelStore: string, pebbleStore: string, entries: number): Promise<BenchGroup> {
  // Each read of 10M pairs takes half a minute: three alternating runs are enough for a median.
  const readCtx: Ctx = { ...ctx, repetitions: Math.min(ctx.repetitions, 3) };
  const cases = await runGroup(readCtx, `read ${formatCount(entries)}`, readSpecs(readCtx, levelStore, pebbleStore, entries));
  applyRatios(cases, [{ caseId: `read.${entries}.pebble`, to: `read.${entries}.classic`, label: 'classic-level', kind: 'time' }]);
  const [a, b] = cases.map((c) => `${String(c.detail?.pairs)} pairs, ${String(c.detail?.bytes)} bytes`);
  if (a !== b)
    throw new ErrInvalidConfig(`the two stores read differently: classic-level ${a}, Pebble reader ${b}`, { check: 'bench-read' });
  return {
    id: `read.${entries}`,
    title: `read a replica's records and its ${formatCount(entries)} entries`,
    input: `the LevelDB store below and a Pebble partition with the same pairs (${a})`,
    cases,
  };
}

/**
 * Group 4 for one entry count: a LevelDB store built for it, the removal
 * cases on clones of it; at the Pebble rows' count also 4a (reads) and 4b
 * (the Pebble removal in the same alternating group).
 */
async function removalGroups(ctx: Ctx, entries: number, native: boolean, pebble: PebbleInput): Promise<BenchGroup[]> {
  const store = join(ctx.root, `store-${entries}`);
  ctx.line(`building a log store with ${formatCount(entries)} entries of one replica...`);
  const built = await runChild(ctx.script, {
    kind: 'build-store',
    dbDir: store,
    entries,
    valueSize: ENTRY_VALUE_SIZE,
    neighbourEntries: NEIGHBOUR_ENTRIES,
  });
  const storeBytes = Number(built.detail?.storeBytes ?? 0);
  ctx.line(`built in ${built.seconds.toFixed(1)} s (${formatBytes(storeBytes)})`);
  const groups: BenchGroup[] = [];
  const withPebble = pebble.entries === entries;
  if (withPebble) groups.push(await readGroup(ctx, store, pebble.store, entries));
  const id = `remove.${entries}`;
  const specs = removalSpecs(ctx, store, entries, native);
  if (withPebble) specs.push(pebbleRemovalSpec(ctx, pebble.store, entries));
  const cases = await runGroup(ctx, `remove ${formatCount(entries)}`, specs);
  applyRatios(cases, [
    { caseId: `${id}.native`, to: `${id}.classic`, label: 'classic-level', kind: 'time' },
    { caseId: `${id}.fallback`, to: `${id}.classic`, label: 'classic-level', kind: 'time' },
    { caseId: `${id}.pebble`, to: `${id}.classic`, label: 'classic-level', kind: 'time' },
  ]);
  groups.push({
    id,
    title: `remove ${formatCount(entries)} stale entries`,
    input: `LevelDB store, ${formatCount(entries)} entries of one replica (~${ENTRY_VALUE_SIZE}-byte values) + ${formatCount(2 * NEIGHBOUR_ENTRIES)} of two neighbours, ${formatBytes(storeBytes)}`,
    cases,
  });
  await rm(store, { recursive: true, force: true });
  return groups;
}

/** The notes every report ends with: cache mode, what peak RSS means, the import's engine, RSS growth. */
function closingNotes(groups: BenchGroup[], cold: boolean, notes: string[]): void {
  notes.push(
    cold
      ? 'cold cache: the page cache was dropped before every timed run'
      : 'warm cache: inputs were read once before the runs and `sync` ran before each (the page cache was not dropped)',
  );
  notes.push(
    'peak RSS: maxRSS of the child process running the case (Node.js runtime included; anon and mmap parts sampled from /proc/self/status); cp and sync: VmHWM sampled from /proc',
  );
  const importCase = groups.find((g) => g.id === 'import')?.cases.find((c) => c.id === 'import.import');
  if (importCase?.detail?.engine) notes.push(`import used the ${String(importCase.detail.engine)} engine (auto)`);
  rssNotes(groups, notes);
}

/** Options of {@link runBenchmarks}: the suite's, and which part of it to run. */
export interface RunBenchmarkOptions extends BenchOptions {
  /**
   * `cold-start`: only the export of `size` and the cold-start groups on it
   * (startup, verify and inspect, whole process), to iterate on start-up
   * time in seconds; absent: the whole suite.
   */
  only?: 'cold-start';
}

/**
 * Runs the benchmark suite (see the module comment) and returns its report.
 * Throws {@link ErrInvalidConfig} for bad options, too little disk, a missing
 * build, or `cold` without the right to drop the page cache; a failing case
 * rejects with its own error. Never prints: progress goes to `onLine`.
 */
export async function runBenchmarks(options: RunBenchmarkOptions): Promise<BenchReport> {
  checkOptions(options);
  const started = new Date();
  const t0 = performance.now();
  const script = options.childScript ?? defaultChildScript();
  checkChildScript(script);
  const cold = options.cold ?? false;
  const extraSizes = [...new Set(options.rssSizes ?? [])].filter((s) => s !== options.size).sort((a, b) => a - b);
  const rssSizes = [options.size, ...extraSizes].sort((a, b) => a - b);
  if (cold) await dropCaches();

  const notes: string[] = [];
  const engines = availableEngines(options.engines, notes);
  const native = loadNative() !== undefined;
  if (!native) notes.push(`native removal skipped: ${nativeLoadError() ?? 'the addon is not loaded'}`);

  const root = await mkdtemp(join(options.tmpDir ?? tmpdir(), 'nodehost-bench-'));
  const line = options.onLine ?? ((): void => undefined);
  const ctx: Ctx = { script, root, cold, repetitions: options.repetitions, line, notes };
  const groups: BenchGroup[] = [];
  const pebble: PebbleInput = { store: join(root, 'pebble-store', 'logdb-4'), entries: options.pebbleEntries ?? 0 };
  const carryEntries = options.carryEntries ?? 0;
  try {
    if (options.only === 'cold-start') {
      await checkDisk(root, { ...options, entries: [], pebbleEntries: 0 }, [options.size]);
      groups.push(...(await coldStartOnly(ctx, options.size)));
      notes.push('only the cold-start groups ran (--only cold-start)');
    } else {
      await checkDisk(root, options, rssSizes);
      if (pebble.entries > 0) await buildPebbleStore(ctx, pebble.store, pebble.entries);
      const main = await verifyAndImportGroups(ctx, options.size, engines, pebble);
      groups.push(...main.groups);
      await peakRssAtSizes(ctx, extraSizes, engines, main.subjects);
      const counts = [...new Set([...options.entries, ...(pebble.entries > 0 ? [pebble.entries] : [])])].sort((a, b) => a - b);
      for (const entries of counts) groups.push(...(await removalGroups(ctx, entries, native, pebble)));
      if (carryEntries > 0) groups.push(await carryGroup(ctx, carryEntries));
    }
  } finally {
    await rm(root, { recursive: true, force: true });
  }

  closingNotes(groups, cold, notes);
  return {
    format: 'nodehost-tools-bench/1',
    startedAt: started.toISOString(),
    durationSeconds: (performance.now() - t0) / 1000,
    machine: {
      cpus: cpus().length,
      cpuModel: cpus()[0]?.model.trim() ?? 'unknown',
      memoryBytes: totalmem(),
      node: process.version,
      platform: `${process.platform} ${process.arch}`,
      nativeCrcKernel: nativeCrcKernel() ?? null,
    },
    options: {
      size: options.size,
      entries: [...options.entries],
      repetitions: options.repetitions,
      engines: [...options.engines],
      rssSizes,
      cold,
      pebbleEntries: pebble.entries,
      carryEntries,
    },
    cache: cold ? 'cold' : 'warm',
    groups,
    targets: evaluateTargets(groups),
    notes,
  };
}
