/**
 * The benchmark report: plain JSON data (numbers, strings, booleans, arrays,
 * objects; no bigint), so `JSON.stringify(report)` is its JSON form and a
 * saved report can be rendered again with `renderBenchTable`.
 */
import type { EngineName } from '../engines/types.js';

/** Options of `runBenchmarks`. */
export interface BenchOptions {
  /** Payload bytes of the generated v2 export (the file is 1,040 bytes + 4 per 2 MiB block larger). */
  size: number;
  /** Stale-entry counts: one log store per count, each with that many entries of one replica. */
  entries: number[];
  /** Timed runs of every case (alternating with the other cases of its group); figures are medians. */
  repetitions: number;
  /** Checksum engines to benchmark for verify; an engine that cannot load is skipped with a note. */
  engines: EngineName[];
  /** Parent of the scratch directory (default `os.tmpdir()`); everything made there is removed at the end. */
  tmpDir?: string;
  /** Progress, one line at a time (the library never prints). */
  onLine?: (text: string) => void;
  /**
   * Snapshot sizes at which peak RSS of verify and import is also reported
   * (one run each; `size` itself always is). Default: `[size]`.
   */
  rssSizes?: number[];
  /**
   * Drop the page cache (`sync; echo 3 > /proc/sys/vm/drop_caches`) before
   * every timed run, so reads come from the disk. Needs root; default false
   * (warm cache: inputs are read once before the runs).
   */
  cold?: boolean;
  /**
   * Entry count of the Pebble rows (a Pebble partition with the same pairs as
   * the LevelDB store of this count: read, removal, CLI import on a Pebble
   * host); 0 or absent skips them. `DEFAULT_BENCH_OPTIONS` has 10M.
   */
  pebbleEntries?: number;
  /**
   * Entries of the log suffix the minimal-loss row carries (an export with a
   * `log-suffix.nhlog`, imported by the CLI on a fresh Pebble host); 0 or
   * absent skips it. `DEFAULT_BENCH_OPTIONS` has 1M (about 100 MiB).
   */
  carryEntries?: number;
  /** The compiled child entry point (default: `child.js` beside this module in `dist/bench/`). */
  childScript?: string;
}

/** How a ratio reads: speeds (higher is better) or times (lower is better). */
export type RatioKind = 'speed' | 'time';

/** A case's figure divided by its baseline's, both medians of the same run. */
export interface BenchRatio {
  /** Id of the baseline case. */
  to: string;
  /** Short name of the baseline, e.g. `read-only`, `zlib`, `cp`. */
  label: string;
  kind: RatioKind;
  /** speed: case speed / baseline speed; time: case seconds / baseline seconds. */
  value: number;
}

/** Peak resident set size of a case at one snapshot size. */
export interface BenchRss {
  size: number;
  /** Highest peak RSS of the case's runs at that size (bytes); null when it could not be measured. */
  peakRssBytes: number | null;
  /** Median seconds at that size (one run at the sizes measured for RSS only). */
  seconds?: number;
}

/** One measured case: a baseline or a subject. */
export interface BenchCase {
  /** Stable id, e.g. `verify.native`, `import.cp`, `remove.1000000.native`. */
  id: string;
  label: string;
  role: 'baseline' | 'subject';
  /** Seconds of every timed run, in the order run. */
  runs: number[];
  /** Median of {@link runs}. */
  seconds: number;
  /** Bytes processed per run (throughput = bytes / seconds); 0 when the case is not about bytes. */
  bytes: number;
  /** bytes / seconds / 1e9, when {@link bytes} > 0. */
  gbPerSecond?: number;
  /** Items processed per run (entries removed), when relevant. */
  items?: number;
  ratios: BenchRatio[];
  /** Highest peak RSS of the timed runs, on the group's input (bytes); null when it could not be measured. */
  peakRssBytes: number | null;
  /**
   * Highest sampled anonymous and file-backed parts of that RSS (bytes);
   * null where not measured (external commands, no /proc). File-backed pages
   * are mmap'ed files (LevelDB's table files): page cache the kernel may drop.
   */
  peakAnonBytes: number | null;
  peakFileBytes: number | null;
  /** Verify and import cases: peak RSS at each snapshot size of `rssSizes` (the group's own size included). */
  rssBySize?: BenchRss[];
  /** Facts a run reported (engine used, bytes left on disk, ...). */
  detail?: Record<string, string | number | boolean | null>;
}

/** Cases timed against each other on one input. */
export interface BenchGroup {
  /** `verify`, `import`, or `remove.<entries>`. */
  id: string;
  title: string;
  /** What the input was. */
  input: string;
  cases: BenchCase[];
}

/** A target of the issue, evaluated on this report. */
export interface BenchTarget {
  id: string;
  /** What is compared, e.g. `verify native / zlib.crc32 baseline`. */
  label: string;
  /** `>=` for speed ratios, `<=` for time ratios, `<` for RSS. */
  op: '>=' | '<=' | '<';
  threshold: number;
  /** Measured value (a ratio, or bytes for RSS); null when not measured. */
  value: number | null;
  unit: 'ratio' | 'bytes';
  met: boolean;
}

/** Everything a benchmark run measured. */
export interface BenchReport {
  format: 'nodehost-tools-bench/1';
  startedAt: string;
  durationSeconds: number;
  machine: {
    cpus: number;
    cpuModel: string;
    memoryBytes: number;
    node: string;
    platform: string;
    /** The native addon's CRC kernel, when the addon loaded. */
    nativeCrcKernel: string | null;
  };
  options: {
    size: number;
    entries: number[];
    repetitions: number;
    engines: EngineName[];
    rssSizes: number[];
    cold: boolean;
    /** 0 when the Pebble rows were skipped. */
    pebbleEntries: number;
    /** 0 when the minimal-loss row was skipped. */
    carryEntries: number;
  };
  /** `warm`: inputs read once before the runs; `cold`: page cache dropped before every run. */
  cache: 'warm' | 'cold';
  groups: BenchGroup[];
  targets: BenchTarget[];
  /** Skipped engines, how figures were taken, caveats. */
  notes: string[];
}
