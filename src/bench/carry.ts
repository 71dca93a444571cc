/**
 * The minimal-loss row (#13): importing an export that carries a log suffix
 * of N entries, whole process as an operator runs the CLI, against what the
 * same repair costs without the log plus copying the suffix file — the
 * share of the work the suffix itself adds. Both on a fresh Pebble host (the
 * default store), and the import once more onto a fresh LevelDB host (the
 * addon's own LevelDB writes that batch); peak RSS sampled from /proc.
 */
import { mkdir, rm, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { ErrInvalidConfig } from '../errors.js';
import { writeLogSuffixFile } from '../files/log-suffix-file.js';
import { LogDB } from '../logdb/logdb.js';
import { resolveNodeHostConfig, type NodeHostConfig } from '../nodehost/config.js';
import { LOG_SUFFIX_FILENAME, type LogSuffixEntry } from '../records/log-suffix.js';
import { benchNoise, entrySize, fillCommand, writeEntryValue } from './entries.js';
import { EXPORT_ADDRESS, EXPORT_INDEX, EXPORT_REPLICA, EXPORT_SHARD, EXPORT_TERM, type BenchExport } from './inputs.js';
import { runCommand } from './process.js';

/** A timed run, as the runner records it. */
export interface Measured {
  seconds: number;
  peakRssBytes: number | null;
  peakAnonBytes: number | null;
  peakFileBytes: number | null;
}

/** Command bytes of each carried entry: with the encoding, about 110 bytes an entry (1M entries ≈ 100 MiB). */
const CMD_BYTES = 96;

/** Writes a suffix of `entries` entries continuing the bench export into `exp.dir`; returns its size. */
export async function writeBenchSuffix(exp: BenchExport, entries: number): Promise<bigint> {
  const first = EXPORT_INDEX + 1n;
  const last = EXPORT_INDEX + BigInt(entries);
  const noise = benchNoise();
  function* gen(): Generator<LogSuffixEntry> {
    const cmd = new Uint8Array(CMD_BYTES);
    for (let i = 0; i < entries; i++) {
      const index = Number(first) + i;
      fillCommand(cmd, index, noise);
      const value = new Uint8Array(entrySize(index, Number(EXPORT_TERM), CMD_BYTES));
      writeEntryValue(value, 0, index, Number(EXPORT_TERM), cmd);
      yield { index: BigInt(index), term: EXPORT_TERM, value };
    }
  }
  const written = await writeLogSuffixFile(
    join(exp.dir, LOG_SUFFIX_FILENAME),
    {
      shardId: EXPORT_SHARD,
      replicaId: BigInt(EXPORT_REPLICA),
      snapshotIndex: EXPORT_INDEX,
      snapshotTerm: EXPORT_TERM,
      firstIndex: first,
      lastIndex: last,
      entryCount: BigInt(entries),
      survivor: { raftAddress: EXPORT_ADDRESS, nodeHostDir: '/bench/survivor', term: EXPORT_TERM, commit: last },
    },
    gen(),
  );
  return written.size;
}

/**
 * One CLI import of `exp` onto a fresh host of `logdbType` (default Pebble)
 * under `hostRoot`, timed whole-process; `ignoreLog` imports the snapshot alone.
 */
export async function cliImport(
  cli: string,
  exp: BenchExport,
  hostRoot: string,
  ignoreLog: boolean,
  expectedMaxIndex: bigint,
  logdbType: NonNullable<NodeHostConfig['logdbType']> = 'sharded-pebble',
): Promise<Measured> {
  await mkdir(hostRoot, { recursive: true });
  const config: NodeHostConfig = {
    nodeHostDir: join(hostRoot, 'nodehost'),
    raftAddress: EXPORT_ADDRESS,
    hostname: 'bench-host',
    logdbType,
  };
  const configFile = join(hostRoot, 'config.json');
  await writeFile(configFile, JSON.stringify(config));
  const args = [cli, 'import', '--config', configFile, '--src', exp.dir];
  args.push('--members', `${EXPORT_REPLICA}=${EXPORT_ADDRESS}`, '--replica-id', String(EXPORT_REPLICA), '--yes', '--json');
  if (ignoreLog) args.push('--ignore-log');
  // Peak RSS sampled from /proc (VmHWM, reset by the exec), not getrusage: Linux carries the spawning
  // process's high-water mark into the child's ru_maxrss across fork and exec, and this process wrote the suffix.
  const r = await runCommand(process.execPath, args);
  // Untimed check: the node holds what the row says it carried.
  const db = await LogDB.open(resolveNodeHostConfig(config), { readOnly: true });
  try {
    const maxIndex = await db.getMaxIndex(EXPORT_SHARD, EXPORT_REPLICA);
    if (maxIndex !== expectedMaxIndex) {
      throw new ErrInvalidConfig(`the bench import left max index ${maxIndex}, expected ${expectedMaxIndex}`, { path: hostRoot });
    }
  } finally {
    await db.close();
  }
  return { seconds: r.seconds, peakRssBytes: r.peakRssBytes, peakAnonBytes: null, peakFileBytes: null };
}

/** `cp` of the suffix file and a whole-system `sync`: what carrying the file by hand costs. */
export async function copySuffix(exp: BenchExport, dir: string): Promise<Measured> {
  await mkdir(dir, { recursive: true });
  const cp = await runCommand('cp', [join(exp.dir, LOG_SUFFIX_FILENAME), join(dir, LOG_SUFFIX_FILENAME)]);
  const sync = await runCommand('sync', []);
  return { seconds: cp.seconds + sync.seconds, peakRssBytes: cp.peakRssBytes, peakAnonBytes: null, peakFileBytes: null };
}

/** Removes a host or copy directory. */
export async function removeDir(dir: string): Promise<void> {
  await rm(dir, { recursive: true, force: true });
}
