/**
 * The benchmark suite at a tiny size (8 MiB export, 20k entries, one run):
 * the report's structure, the table and JSON forms, and that every figure
 * and ratio is a positive finite number. Nothing here asserts on time.
 */
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { entryKey } from '../../src/logdb/keys.js';
import { encodeEntry, decodeEntry } from '../../src/records/codec.js';
import { EntryType } from '../../src/records/types.js';
import { ErrInvalidConfig, NodeHostToolsError } from '../../src/errors.js';
import { verifySnapshotFile } from '../../src/snapshot/verify.js';
import { getEngine } from '../../src/engines/select.js';
import { loadNative } from '../../src/native/binding.js';
import {
  benchReportJson,
  DEFAULT_BENCH_OPTIONS,
  parseSize,
  renderBenchTable,
  runBenchmarks,
  type BenchReport,
} from '../../src/bench/index.js';
import { ENTRY_KEY_SIZE, entrySize, fillCommand, writeEntryKey, writeEntryValue } from '../../src/bench/entries.js';
import { defaultChildScript, runChild } from '../../src/bench/process.js';
import { alternatingSchedule, median } from '../../src/bench/stats.js';
import { evaluateTargets } from '../../src/bench/targets.js';
import type { BenchCase, BenchGroup } from '../../src/bench/types.js';

const MiB = 1024 * 1024;

function isPositiveFinite(v: unknown): boolean {
  return typeof v === 'number' && Number.isFinite(v) && v > 0;
}

describe('bench statistics', () => {
  it('takes medians of odd and even counts', () => {
    expect(median([3, 1, 2])).toBe(2);
    expect(median([4, 1, 3, 2])).toBe(2.5);
    expect(median([5])).toBe(5);
    expect(median([])).toBeNaN();
  });

  it('alternates the order of cases every other round', () => {
    const order = alternatingSchedule(['a', 'b', 'c'], 3).map((s) => `${s.round}${s.item}`);
    expect(order).toEqual(['0a', '0b', '0c', '1c', '1b', '1a', '2a', '2b', '2c']);
  });

  it('parses sizes', () => {
    expect(parseSize('1GiB')).toBe(1024 ** 3);
    expect(parseSize('4g')).toBe(4 * 1024 ** 3);
    expect(parseSize('512 MiB')).toBe(512 * MiB);
    expect(parseSize('8M')).toBe(8 * MiB);
    expect(parseSize('1GB')).toBe(1e9);
    expect(parseSize('12345')).toBe(12345);
    expect(parseSize('1.5KiB')).toBe(1536);
    for (const bad of ['', 'GiB', '-1', '1 XB', '0', 'abc']) expect(parseSize(bad)).toBeUndefined();
  });
});

describe('bench entry generation', () => {
  const indexes = [0, 1, 127, 128, 16_383, 16_384, 2 ** 21 - 1, 2 ** 21, 2 ** 28, 2 ** 32 - 1];

  it('writes the same key bytes as entryKey', () => {
    const buf = new Uint8Array(ENTRY_KEY_SIZE + 3);
    for (const i of indexes) {
      expect(writeEntryKey(buf, 3, 100, 1, i)).toBe(3 + ENTRY_KEY_SIZE);
      expect(buf.subarray(3)).toEqual(entryKey(100n, 1n, BigInt(i)));
    }
    writeEntryKey(buf, 0, 2 ** 40 + 5, 2 ** 33, 7);
    expect(buf.subarray(0, ENTRY_KEY_SIZE)).toEqual(entryKey(2n ** 40n + 5n, 2n ** 33n, 7n));
  });

  it('writes the same value bytes as encodeEntry, and they decode', () => {
    const noise = Uint8Array.from({ length: 4096 }, (_, i) => (i * 7919) & 0xff);
    for (const i of indexes) {
      for (const len of [0, 5, 77, 200]) {
        const cmd = new Uint8Array(len);
        fillCommand(cmd, i, noise);
        const buf = new Uint8Array(entrySize(i, 7, len));
        expect(writeEntryValue(buf, 0, i, 7, cmd)).toBe(buf.length);
        const entry = {
          term: 7n,
          index: BigInt(i),
          type: EntryType.Application,
          key: BigInt(i),
          clientId: 0n,
          seriesId: 0n,
          respondedTo: 0n,
          cmd,
        };
        expect(buf).toEqual(encodeEntry(entry));
        expect(decodeEntry(buf).index).toBe(BigInt(i));
      }
    }
  });

  it('refuses indexes the fast encoder cannot write', () => {
    expect(() => writeEntryValue(new Uint8Array(64), 0, 2 ** 32, 1, new Uint8Array(0))).toThrow(RangeError);
  });
});

describe('bench targets and table', () => {
  const c = (id: string, role: 'baseline' | 'subject', seconds: number, ratios: BenchCase['ratios'] = [], rss = 50 * MiB): BenchCase => ({
    id,
    label: id,
    role,
    runs: [seconds],
    seconds,
    bytes: 1000,
    gbPerSecond: 1000 / seconds / 1e9,
    ratios,
    peakRssBytes: rss,
    peakAnonBytes: rss / 2,
    peakFileBytes: rss / 2,
  });
  const groups: BenchGroup[] = [
    {
      id: 'verify',
      title: 'verify',
      input: 'x',
      cases: [
        c('verify.read', 'baseline', 1),
        c('verify.zlib', 'baseline', 3, [{ to: 'verify.read', label: 'read-only', kind: 'speed', value: 1 / 3 }]),
        c(
          'verify.native',
          'subject',
          1.25,
          [
            { to: 'verify.read', label: 'read-only', kind: 'speed', value: 0.8 },
            { to: 'verify.zlib', label: 'zlib', kind: 'speed', value: 2.4 },
          ],
          250 * MiB,
        ),
      ],
    },
    {
      id: 'import',
      title: 'import',
      input: 'x',
      cases: [
        c('import.cp', 'baseline', 1),
        c('import.import', 'subject', 1.2, [{ to: 'import.cp', label: 'cp', kind: 'time', value: 1.2 }]),
      ],
    },
    {
      id: 'remove.5',
      title: 'remove 5',
      input: 'x',
      cases: [
        c('remove.5.classic', 'baseline', 2),
        c('remove.5.native', 'subject', 1, [{ to: 'remove.5.classic', label: 'classic-level', kind: 'time', value: 0.5 }], 900 * MiB),
      ],
    },
  ];

  it('evaluates each target on its ratio, and RSS only for verify and import', () => {
    const t = new Map(evaluateTargets(groups).map((x) => [x.id, x]));
    expect(t.get('verify-native-vs-zlib')).toMatchObject({ value: 2.4, met: true });
    expect(t.get('verify-native-vs-read')).toMatchObject({ value: 0.8, met: true });
    expect(t.has('verify-wasm-vs-zlib')).toBe(false);
    expect(t.get('import-vs-cp')).toMatchObject({ value: 1.2, met: false });
    expect(t.get('remove-5-vs-classic')).toMatchObject({ value: 0.5, met: true });
    expect(t.get('peak-rss')).toMatchObject({ value: 250 * MiB, met: false });
  });

  it('renders met and MISSED, every case and the notes', () => {
    const report: BenchReport = {
      format: 'nodehost-tools-bench/1',
      startedAt: new Date(0).toISOString(),
      durationSeconds: 1,
      machine: { cpus: 2, cpuModel: 'cpu', memoryBytes: 1024 ** 3, node: 'v20', platform: 'linux x64', nativeCrcKernel: null },
      options: {
        size: 1000,
        entries: [5],
        repetitions: 1,
        engines: ['native'],
        rssSizes: [1000, 4000],
        cold: false,
        pebbleEntries: 0,
        carryEntries: 0,
      },
      cache: 'warm',
      groups,
      targets: evaluateTargets(groups),
      notes: ['a note'],
    };
    const text = renderBenchTable(report);
    for (const g of groups) for (const x of g.cases) expect(text).toContain(x.label);
    expect(text).toMatch(/^ {2}met\s+verify native \/ zlib\.crc32 baseline/m);
    expect(text).toMatch(/^ {2}MISSED\s+import time \/ cp -r \+ sync/m);
    expect(text).toContain('2.40× zlib');
    expect(text).toContain('RSS @3.91 KiB');
    expect(text).toContain('  - a note');
    expect(JSON.parse(benchReportJson(report))).toEqual(report);
  });
});

describe('bench options', () => {
  it('refuses bad options before doing anything', async () => {
    const base = { size: 8 * MiB, entries: [10], repetitions: 1, engines: [] };
    await expect(runBenchmarks({ ...base, size: 0 })).rejects.toBeInstanceOf(ErrInvalidConfig);
    await expect(runBenchmarks({ ...base, entries: [0] })).rejects.toBeInstanceOf(ErrInvalidConfig);
    await expect(runBenchmarks({ ...base, repetitions: 0 })).rejects.toBeInstanceOf(ErrInvalidConfig);
    await expect(runBenchmarks({ ...base, engines: ['fast' as never] })).rejects.toBeInstanceOf(ErrInvalidConfig);
    await expect(runBenchmarks({ ...base, childScript: '/nonexistent/child.js' })).rejects.toBeInstanceOf(ErrInvalidConfig);
    await expect(runBenchmarks({ ...base, carryEntries: -1 })).rejects.toBeInstanceOf(ErrInvalidConfig);
  });

  it('has the full-run defaults', () => {
    expect(DEFAULT_BENCH_OPTIONS).toMatchObject({
      size: 1024 ** 3,
      entries: [1e6, 1e7],
      rssSizes: [1024 ** 3, 4 * 1024 ** 3],
      carryEntries: 1e6,
    });
  });
});

describe('bench child processes', () => {
  it('hand back the error the library throws, with its code', async () => {
    const missing = path.join(os.tmpdir(), `nodehost-bench-missing-${process.pid}.gbsnap`);
    const inProcess = await verifySnapshotFile(missing, { engine: getEngine('js') }).catch((e: unknown) => e);
    expect(inProcess).toBeInstanceOf(NodeHostToolsError);
    const viaChild = await runChild(defaultChildScript(), { kind: 'verify', file: missing, engine: 'js' }).catch((e: unknown) => e);
    expect(viaChild).toBeInstanceOf(NodeHostToolsError);
    expect((viaChild as NodeHostToolsError).code).toBe((inProcess as NodeHostToolsError).code);
    expect((viaChild as Error).message).toContain(missing);
  });
});

describe('runBenchmarks at a tiny size', () => {
  let tmp: string;
  let report: BenchReport;
  const lines: string[] = [];

  beforeAll(async () => {
    tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'nodehost-bench-test-'));
    report = await runBenchmarks({
      size: 8 * MiB,
      entries: [20_000],
      repetitions: 1,
      engines: ['native', 'wasm', 'js'],
      rssSizes: [8 * MiB, 12 * MiB],
      pebbleEntries: 20_000,
      carryEntries: 5_000,
      tmpDir: tmp,
      onLine: (l) => lines.push(l),
    });
  }, 180_000);

  afterAll(() => {
    fs.rmSync(tmp, { recursive: true, force: true });
  });

  it('measures every group and case once', () => {
    expect(report.format).toBe('nodehost-tools-bench/1');
    expect(report.groups.map((g) => g.id)).toEqual(
      expect.arrayContaining(['verify', 'startup', 'verify-cli', 'inspect-cli', 'import', 'import-pebble', 'remove.20000', 'carry']),
    );
    const ids = report.groups.flatMap((g) => g.cases.map((c) => c.id));
    expect(ids).toEqual(
      expect.arrayContaining([
        'verify.read',
        'verify.zlib',
        'import.cp',
        'import.import',
        'remove.20000.classic',
        'remove.20000.fallback',
        'startup.node',
        'startup.help',
        'verify-cli.verify',
        'inspect-cli.inspect',
        'import-pebble.cp',
        'import-pebble.cli',
        'carry.base',
        'carry.cli',
        'carry.base.leveldb',
        'carry.cli.leveldb',
      ]),
    );
    // Each store's carry row is compared with the same store's import without the log.
    const carry = new Map(report.groups.flatMap((g) => g.cases).map((c) => [c.id, c.ratios.map((r) => r.to)]));
    expect(carry.get('carry.cli')).toEqual(['carry.base']);
    expect(carry.get('carry.cli.leveldb')).toEqual(['carry.base.leveldb']);
    for (const engine of ['native', 'wasm', 'js']) {
      const measured = ids.includes(`verify.${engine}`);
      const skipped = report.notes.some((n) => n.startsWith(`engine ${engine} skipped`));
      expect(measured !== skipped).toBe(true);
    }
    // Whole-process start-up cases are timed many times per repetition (a single start is too short to measure).
    const wholeProcess = (id: string): boolean => /^(startup|verify-cli|inspect-cli)\./.test(id);
    for (const c of report.groups.flatMap((g) => g.cases)) if (!wholeProcess(c.id)) expect(c.runs, c.id).toHaveLength(1);
    expect(lines.length).toBeGreaterThan(5);
  });

  it('gives every figure and ratio as a positive finite number', () => {
    for (const c of report.groups.flatMap((g) => g.cases)) {
      expect(isPositiveFinite(c.seconds), c.id).toBe(true);
      for (const r of c.runs) expect(isPositiveFinite(r), c.id).toBe(true);
      if (c.bytes > 0) expect(isPositiveFinite(c.gbPerSecond), c.id).toBe(true);
      if (c.id.startsWith('remove.')) expect(c.items).toBe(20_000);
      for (const r of c.ratios) expect(isPositiveFinite(r.value), `${c.id} / ${r.to}`).toBe(true);
      if (c.id.endsWith('.cp') || /^(import-pebble\.cli|carry\.)/.test(c.id) || /^(startup|verify-cli|inspect-cli)\./.test(c.id)) {
        // An external command (cp, a whole node process) may end before its first /proc sample; computed rows have none.
        expect(c.peakRssBytes === null || isPositiveFinite(c.peakRssBytes)).toBe(true);
      } else {
        for (const v of [c.peakRssBytes, c.peakAnonBytes, c.peakFileBytes]) expect(isPositiveFinite(v), c.id).toBe(true);
      }
    }
    // Peak RSS is measured at every snapshot size for the verify and import subjects.
    const subjects = report.groups
      .filter((g) => g.id === 'verify' || g.id === 'import')
      .flatMap((g) => g.cases)
      .filter((c) => c.role === 'subject');
    expect(subjects.length).toBeGreaterThan(0);
    for (const c of subjects) {
      expect(c.rssBySize?.map((r) => r.size)).toEqual([8 * MiB, 12 * MiB]);
      for (const r of c.rssBySize!) expect(isPositiveFinite(r.peakRssBytes), c.id).toBe(true);
    }
    expect(report.targets.length).toBeGreaterThan(0);
    for (const t of report.targets) {
      expect(isPositiveFinite(t.value), t.id).toBe(true);
      expect(typeof t.met).toBe('boolean');
    }
    expect(report.targets.map((t) => t.id)).toEqual(expect.arrayContaining(['import-vs-cp', 'peak-rss', 'carry-vs-without-log']));
  });

  it('removes every entry of the replica in each removal case', () => {
    const removal = report.groups.find((g) => g.id === 'remove.20000')!;
    for (const c of removal.cases) expect(c.detail?.remaining, c.id).toBe(0);
    // The addon's row runs whenever the addon loads, and removes exactly the replica's entries.
    const native = removal.cases.find((c) => c.id === 'remove.20000.native');
    expect(native !== undefined).toBe(loadNative() !== undefined);
    if (native) expect(native.detail?.removed).toBe(20_000);
  });

  it('renders one table naming every case, and JSON that reads back', () => {
    const text = renderBenchTable(report);
    for (const g of report.groups) {
      expect(text).toContain(g.title);
      for (const c of g.cases) expect(text).toContain(c.label);
    }
    expect(text).toContain('RSS @12.0 MiB');
    expect(text).toContain('targets:');
    expect(JSON.parse(benchReportJson(report))).toEqual(report);
  });

  it('leaves nothing behind in tmpDir', () => {
    expect(fs.readdirSync(tmp)).toEqual([]);
  });
});
