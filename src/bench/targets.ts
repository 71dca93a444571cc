/**
 * The performance targets, evaluated on a report's groups. Ratios are
 * against baselines measured in the same run, so a noisy machine moves both
 * sides alike. A target whose cases were not measured is left out.
 */
import type { BenchCase, BenchGroup, BenchTarget } from './types.js';
import { COLD_START_TARGETS } from './cold-start.js';

/** Peak RSS every subject must stay under, at any snapshot size. */
export const RSS_LIMIT_BYTES = 200 * 1024 * 1024;

interface RatioTarget {
  id: string;
  label: string;
  caseId: string;
  baseline: string;
  op: '>=' | '<=';
  threshold: number;
}

function ratioTargets(groups: readonly BenchGroup[]): RatioTarget[] {
  const out: RatioTarget[] = [
    {
      id: 'verify-native-vs-zlib',
      label: 'verify native / zlib.crc32 baseline',
      caseId: 'verify.native',
      baseline: 'verify.zlib',
      op: '>=',
      threshold: 2.0,
    },
    {
      id: 'verify-native-vs-read',
      label: 'verify native / read-only bandwidth',
      caseId: 'verify.native',
      baseline: 'verify.read',
      op: '>=',
      threshold: 0.8,
    },
    {
      id: 'verify-wasm-vs-zlib',
      label: 'verify wasm / zlib.crc32 baseline',
      caseId: 'verify.wasm',
      baseline: 'verify.zlib',
      op: '>=',
      threshold: 0.5,
    },
    { id: 'import-vs-cp', label: 'import time / cp -r + sync', caseId: 'import.import', baseline: 'import.cp', op: '<=', threshold: 1.15 },
    ...COLD_START_TARGETS,
  ];
  out.push({
    id: 'import-pebble-vs-cp',
    label: 'import on a Pebble host with 10M other entries (CLI process) / cp -r + sync',
    caseId: 'import-pebble.cli',
    baseline: 'import-pebble.cp',
    op: '<=',
    threshold: 1.15,
  });
  out.push({
    id: 'carry-vs-without-log',
    label: 'import carrying a log suffix (CLI process) / import without it + cp of the suffix file',
    caseId: 'carry.cli',
    baseline: 'carry.base',
    op: '<=',
    threshold: 1.5,
  });
  for (const g of groups) {
    if (g.id.startsWith('read.')) {
      const n = g.id.slice('read.'.length);
      out.push({
        id: `read-${n}-pebble-vs-classic`,
        label: `read a replica's records and ${Number(n).toLocaleString('en-US')} entries: Pebble reader / classic-level on LevelDB`,
        caseId: `${g.id}.pebble`,
        baseline: `${g.id}.classic`,
        op: '<=',
        threshold: 1.0,
      });
    }
    if (!g.id.startsWith('remove.')) continue;
    if (g.cases.some((c) => c.id === `${g.id}.pebble`)) {
      out.push({
        id: `remove-${g.id.slice('remove.'.length)}-pebble-vs-classic`,
        label: `remove ${Number(g.id.slice('remove.'.length)).toLocaleString('en-US')} stale entries: Pebble drop-in / classic-level clear()+compactRange()`,
        caseId: `${g.id}.pebble`,
        baseline: `${g.id}.classic`,
        op: '<=',
        threshold: 0.05,
      });
    }
    const n = g.id.slice('remove.'.length);
    out.push({
      id: `remove-${n}-vs-classic`,
      label: `remove ${Number(n).toLocaleString('en-US')} stale entries: native / classic-level clear()+compactRange()`,
      caseId: `${g.id}.native`,
      baseline: `${g.id}.classic`,
      op: '<=',
      threshold: 0.5,
    });
  }
  return out;
}

function allCases(groups: readonly BenchGroup[]): BenchCase[] {
  return groups.flatMap((g) => g.cases);
}

/** Highest peak RSS a case showed at any size. */
export function casePeakRss(c: BenchCase): number | null {
  const values = [c.peakRssBytes, ...(c.rssBySize ?? []).map((r) => r.peakRssBytes)].filter((v): v is number => v !== null);
  return values.length > 0 ? Math.max(...values) : null;
}

/** Evaluates every target the groups have data for. */
export function evaluateTargets(groups: readonly BenchGroup[]): BenchTarget[] {
  const cases = new Map(allCases(groups).map((c) => [c.id, c]));
  const targets: BenchTarget[] = [];
  for (const t of ratioTargets(groups)) {
    const c = cases.get(t.caseId);
    const ratio = c?.ratios.find((r) => r.to === t.baseline);
    if (!ratio) continue;
    const met = t.op === '>=' ? ratio.value >= t.threshold : ratio.value <= t.threshold;
    targets.push({ id: t.id, label: t.label, op: t.op, threshold: t.threshold, value: ratio.value, unit: 'ratio', met });
  }
  // The issue bounds RSS "at any snapshot size": the cases that read a snapshot.
  const subjects = groups
    .filter((g) => g.id === 'verify' || g.id === 'import')
    .flatMap((g) => g.cases)
    .filter((c) => c.role === 'subject');
  let worst: { c: BenchCase; v: number } | undefined;
  for (const c of subjects) {
    const v = casePeakRss(c);
    if (v !== null && (!worst || v > worst.v)) worst = { c, v };
  }
  if (worst) {
    targets.push({
      id: 'peak-rss',
      label: `peak RSS of verify and import at every snapshot size (highest: ${worst.c.label})`,
      op: '<',
      threshold: RSS_LIMIT_BYTES,
      value: worst.v,
      unit: 'bytes',
      met: worst.v < RSS_LIMIT_BYTES,
    });
  }
  const pebbleImport = cases.get('import-pebble.cli');
  if (pebbleImport && pebbleImport.peakRssBytes !== null) {
    targets.push({
      id: 'import-pebble-rss',
      label: 'peak RSS of the CLI import on the Pebble host',
      op: '<',
      threshold: RSS_LIMIT_BYTES,
      value: pebbleImport.peakRssBytes,
      unit: 'bytes',
      met: pebbleImport.peakRssBytes < RSS_LIMIT_BYTES,
    });
  }
  const carry = cases.get('carry.cli');
  if (carry && carry.peakRssBytes !== null) {
    targets.push({
      id: 'carry-rss',
      label: 'peak RSS of the CLI import carrying the log suffix',
      op: '<',
      threshold: RSS_LIMIT_BYTES,
      value: carry.peakRssBytes,
      unit: 'bytes',
      met: carry.peakRssBytes < RSS_LIMIT_BYTES,
    });
  }
  return targets;
}
