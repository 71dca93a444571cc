/**
 * The benchmark suite behind `npm run bench` / `nodehost bench`: generates
 * its inputs, times each case against baselines measured in the same run,
 * and reports medians, ratios, targets and peak RSS.
 */
export { runBenchmarks, DEFAULT_BENCH_OPTIONS } from './runner.js';
export { renderBenchTable, benchReportJson } from './table.js';
export { parseSize, formatBytes } from './format.js';
export { RSS_LIMIT_BYTES } from './targets.js';
export type {
  BenchOptions,
  BenchReport,
  BenchGroup,
  BenchCase,
  BenchRatio,
  BenchRss,
  BenchTarget,
  RatioKind,
} from './types.js';
