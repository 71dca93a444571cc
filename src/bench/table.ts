/**
 * Text and JSON forms of a {@link BenchReport}, pure: one table (a section
 * per group), then the targets and the notes.
 */
import { formatBytes, formatCount, formatRatio, formatSeconds } from './format.js';
import type { BenchCase, BenchReport, BenchTarget } from './types.js';

function speedText(c: BenchCase): string {
  if (c.gbPerSecond !== undefined) return `${c.gbPerSecond.toFixed(2)} GB/s`;
  if (c.items !== undefined) return `${(c.items / c.seconds / 1e6).toFixed(2)} M entries/s`;
  return '';
}

function ratioText(c: BenchCase): string {
  return c.ratios.map((r) => `${formatRatio(r.value)} ${r.label}${r.kind === 'time' ? ' time' : ''}`).join(', ');
}

function rssText(v: number | null | undefined): string {
  return v === null || v === undefined ? '-' : formatBytes(v);
}

function targetValue(t: BenchTarget): string {
  if (t.value === null) return '-';
  return t.unit === 'bytes' ? formatBytes(t.value) : formatRatio(t.value);
}

function targetThreshold(t: BenchTarget): string {
  const op = t.op === '>=' ? '≥' : t.op === '<=' ? '≤' : '<';
  return `${op} ${t.unit === 'bytes' ? formatBytes(t.threshold) : formatRatio(t.threshold)}`;
}

/** Pads cells into aligned columns; string rows are section titles printed as they are. */
function layout(rows: (string[] | string)[]): string[] {
  const widths: number[] = [];
  for (const r of rows) {
    if (typeof r === 'string') continue;
    r.forEach((cell, i) => {
      widths[i] = Math.max(widths[i] ?? 0, cell.length);
    });
  }
  return rows.map((r) => (typeof r === 'string' ? r : `  ${r.map((cell, i) => cell.padEnd(widths[i]!)).join('  ')}`.trimEnd()));
}

/**
 * Renders a report as plain text: a header (runs, cache, machine), one table
 * with a section per group (median time, speed, ratios to the baselines,
 * peak RSS at each measured size), the targets with met/MISSED, and notes.
 */
export function renderBenchTable(report: BenchReport): string {
  const m = report.machine;
  const o = report.options;
  const extraSizes = o.rssSizes.filter((s) => s !== o.size);
  const out: string[] = [
    `nodehost-tools benchmarks: ${o.repetitions} alternating run${o.repetitions === 1 ? '' : 's'} per case, medians; ${report.cache} page cache`,
    `machine: ${m.cpus} CPU${m.cpus === 1 ? '' : 's'} (${m.cpuModel}), ${formatBytes(m.memoryBytes)} RAM, Node.js ${m.node} ${m.platform}` +
      `, native CRC kernel ${m.nativeCrcKernel ?? 'unavailable'}`,
    '',
  ];
  const rows: (string[] | string)[] = [
    ['case', 'median', 'speed', 'ratio to baseline', 'peak RSS', 'anon', 'mmap', ...extraSizes.map((s) => `RSS @${formatBytes(s)}`)],
  ];
  for (const g of report.groups) {
    rows.push(`${g.title}: ${g.input}`);
    for (const c of g.cases) {
      const extra = extraSizes.map((s) => (c.rssBySize ? rssText(c.rssBySize.find((r) => r.size === s)?.peakRssBytes) : ''));
      rows.push([
        c.label,
        formatSeconds(c.seconds),
        speedText(c),
        ratioText(c),
        rssText(c.peakRssBytes),
        rssText(c.peakAnonBytes),
        rssText(c.peakFileBytes),
        ...extra,
      ]);
    }
  }
  out.push(...layout(rows));
  out.push('', 'speed ratios: case speed / baseline speed (higher is better); time ratios: case time / baseline time (lower is better)');
  out.push(
    'peak RSS: whole child process; anon: its anonymous memory; mmap: file pages mapped into it (node binary, LevelDB tables: page cache, droppable)',
  );
  if (report.targets.length > 0) {
    out.push('', 'targets:');
    const met = report.targets.filter((t) => t.met).length;
    out.push(...layout(report.targets.map((t) => [t.met ? 'met' : 'MISSED', t.label, targetValue(t), targetThreshold(t)])));
    out.push(`  ${met} of ${report.targets.length} met`);
  }
  if (report.notes.length > 0) {
    out.push('', 'notes:', ...report.notes.map((n) => `  - ${n}`));
  }
  out.push(
    '',
    `took ${formatSeconds(report.durationSeconds)}; started ${report.startedAt}; entries: ${o.entries.map(formatCount).join(', ') || 'none'}`,
  );
  return `${out.join('\n')}\n`;
}

/** The report's JSON form (2-space indented); `JSON.parse` of it gives the report back. */
export function benchReportJson(report: BenchReport): string {
  return `${JSON.stringify(report, null, 2)}\n`;
}
