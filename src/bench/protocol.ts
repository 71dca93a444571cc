/**
 * What the benchmark parent asks a child process to do, and what the child
 * answers. One child runs one task once, so the peak RSS it reports is that
 * task's own (plus the Node.js runtime it needs to run at all).
 *
 * The task goes in as JSON in argv[2]; the answer comes back as one stdout
 * line starting with {@link RESULT_PREFIX}. Identifiers that are 64-bit in
 * the formats are small here and travel as numbers.
 */
import type { EngineName } from '../engines/types.js';

/** Prefix of the child's answer line on stdout. */
export const RESULT_PREFIX = '@@nodehost-bench ';

/**
 * Replica whose entries the log-store benchmarks remove and read. Shard 116
 * shares partition 4 (`116 % 16`) with the export's shard 100, so the same
 * Pebble store is also the partition "holding 10M other entries" that the
 * Pebble import benchmark imports shard 100 into.
 */
export const REMOVAL_SHARD = 116;
export const REMOVAL_REPLICA = 1;

/** One task for a child process. */
export type BenchTask =
  /** Sequential reads of the whole file, nothing checked: the bandwidth limit. */
  | { kind: 'read-only'; file: string; readSize: number }
  /** The plain Node baseline: each v2 block read (2 MiB + its CRC) and checked with zlib.crc32. */
  | { kind: 'zlib-blocks'; file: string }
  /** Full verification of the snapshot file with one engine. */
  | { kind: 'verify'; file: string; engine: EngineName }
  /** importSnapshot() of the export onto a fresh NodeHost directory. */
  | { kind: 'import'; exportDir: string; nodeHostDir: string; raftAddress: string; replicaId: number }
  /** The addon's removal of the replica's entry ranges (what the LevelDB partition runs with it), compaction included. */
  | { kind: 'remove-native'; dbDir: string }
  /** The baseline: classic-level clear() of the replica's entry ranges, then compactRange() over them. */
  | { kind: 'remove-classic'; dbDir: string }
  /** The same without the addon: classic-level compacts, clears and compacts (the portable fallback). */
  | { kind: 'remove-fallback'; dbDir: string }
  /** Builds the Pebble partition with the same pairs as build-store (untimed input generation). */
  | { kind: 'build-pebble-store'; dir: string; entries: number; valueSize: number; neighbourEntries: number }
  /** Removal of the replica's entries from a Pebble partition: one drop-in WAL of range tombstones. */
  | { kind: 'remove-pebble'; dir: string }
  /** The replica's records and whole entry range through this package's Pebble reader. */
  | { kind: 'read-pebble'; dir: string }
  /** The same reads with classic-level on the equal LevelDB store (baseline). */
  | { kind: 'read-classic'; dbDir: string }
  /** Builds a log store with `entries` entries of the removal replica (untimed input generation). */
  | { kind: 'build-store'; dbDir: string; entries: number; valueSize: number; neighbourEntries: number };

/** A child's answer. */
export type ChildAnswer =
  | {
      ok: true;
      /** Seconds the task itself took (process start-up and module loading excluded). */
      seconds: number;
      /** process.resourceUsage().maxRSS of the child, in bytes. */
      peakRssBytes: number;
      /** Sampled peaks of anonymous and file-backed (mmap'ed files) resident memory; null where /proc does not tell. */
      peakAnonBytes: number | null;
      peakFileBytes: number | null;
      detail?: Record<string, string | number | boolean | null>;
    }
  | { ok: false; code: string | null; message: string; details?: Record<string, unknown> };
