/**
 * Many imports on one host (`import --manifest`): a list of shards, each with
 * its export, member map and replica. Shards whose log store partition is the
 * same are committed together in one batch; a failing shard never affects the
 * others, and the summary says which to retry.
 */
import { readFile } from 'node:fs/promises';
import { dirname, resolve } from 'node:path';
import { ErrInvalidConfig, NodeHostToolsError } from '../errors.js';
import { resolveNodeHostConfig, type NodeHostConfig } from '../nodehost/config.js';
import { logdbPartition } from '../nodehost/paths.js';
import { checkNodeHostNotLocked } from '../nodehost/lock.js';
import { holdNodeHostLocks, type NodeHostLocks } from './dir-locks.js';
import {
  cleanUp,
  commitImports,
  dryRunReport,
  noteLocks,
  readExportInputs,
  readNode,
  rollbackUncommitted,
  stageSnapshot,
  withLogSuffix,
  type ImportInputs,
  type ImportOptions,
  type ImportPhase,
  type ImportResult,
  type NodeImport,
  type StagedSnapshot,
} from './import.js';
import type { ImportWrite } from '../logdb/logdb.js';
import { nativeLockHolder } from '../nodehost/native-lock.js';
import { parseMemberList, toReplicaId, type ConfigChangeIdPolicy, type MemberNodes } from './members.js';

/** One import of a manifest. */
export interface ImportJob {
  /** Expected shard ID; when given it must match the export's. */
  shardId?: bigint;
  /** The exported snapshot directory. */
  src: string;
  members: MemberNodes;
  replicaId: bigint;
  /** Backup directory for this shard (see `ImportOptions.backupDir`). */
  backupDir?: string;
  configChangeId?: ConfigChangeIdPolicy;
  /** Import the snapshot alone, without the export's log suffix (see `ImportOptions.ignoreLog`). */
  ignoreLog?: boolean;
}

/** How one job ended. */
export interface JobOutcome {
  job: number;
  src: string;
  shardId: bigint | undefined;
  replicaId: bigint;
  ok: boolean;
  result?: ImportResult;
  error?: { code: string; message: string };
}

/** Summary of {@link importMany}. */
export interface ManyResult {
  ok: boolean;
  outcomes: JobOutcome[];
  /** Indexes (into the manifest) of the jobs that failed: rerun just those. */
  retry: number[];
}

/** Options of {@link importMany}. */
export interface ManyOptions extends Pick<ImportOptions, 'engine' | 'dryRun' | 'signal' | 'ignoreLog'> {
  /** Imports running at once (default 2: a 2-core machine, I/O bound). */
  concurrency?: number;
  /** Byte progress of one job. */
  onProgress?: (job: number, phase: ImportPhase, bytesDone: number, bytesTotal: number) => void;
  /** Called as each job ends. */
  onJobDone?: (outcome: JobOutcome) => void;
}

function membersOf(v: unknown, where: string): MemberNodes {
  if (typeof v === 'string') {
    try {
      return parseMemberList(v);
    } catch (err) {
      if (err instanceof NodeHostToolsError) throw new ErrInvalidConfig(`${where}: members: ${err.message}`, { check: 'members' });
      throw err;
    }
  }
  if (v && typeof v === 'object' && !Array.isArray(v)) return v as Record<string, string>;
  throw new ErrInvalidConfig(`${where}: members must be an object {"1": "m1:63001", ...} or a string "1=m1:63001,..."`, {
    check: 'members',
  });
}

/**
 * Reads an import manifest: `{"imports": [ {shardId?, src, members, replicaId, backupDir?, configChangeId?, ignoreLog?}, ... ]}`
 * or a bare array of those. Relative paths resolve against the manifest's directory.
 */
export async function loadImportManifest(path: string): Promise<ImportJob[]> {
  const abs = resolve(path);
  let j: unknown;
  try {
    j = JSON.parse(await readFile(abs, 'utf8'));
  } catch (err) {
    throw new ErrInvalidConfig(`cannot read import manifest ${abs}: ${(err as Error).message}`, { path: abs, check: 'manifest' });
  }
  const list = Array.isArray(j) ? j : (j as { imports?: unknown })?.imports;
  if (!Array.isArray(list) || list.length === 0) {
    throw new ErrInvalidConfig(`${abs}: expected {"imports": [...]} with at least one import`, { path: abs, check: 'manifest' });
  }
  const base = dirname(abs);
  return list.map((item: unknown, i: number): ImportJob => {
    const where = `${abs}: imports[${i}]`;
    const o = item as Record<string, unknown>;
    if (!o || typeof o !== 'object' || typeof o.src !== 'string' || o.replicaId === undefined) {
      throw new ErrInvalidConfig(`${where} needs "src" and "replicaId"`, { path: abs, check: 'manifest', job: i });
    }
    const policy = o.configChangeId;
    if (policy !== undefined && policy !== 'preserve' && policy !== 'snapshot-index') {
      throw new ErrInvalidConfig(`${where}: configChangeId must be preserve or snapshot-index`, { path: abs, check: 'manifest', job: i });
    }
    if (o.ignoreLog !== undefined && typeof o.ignoreLog !== 'boolean') {
      throw new ErrInvalidConfig(`${where}: ignoreLog must be true or false`, { path: abs, check: 'manifest', job: i });
    }
    return {
      ...(o.shardId !== undefined ? { shardId: toReplicaId(o.shardId as string, 'shard ID') } : {}),
      src: resolve(base, o.src),
      members: membersOf(o.members, where),
      replicaId: toReplicaId(o.replicaId as string),
      ...(typeof o.backupDir === 'string' ? { backupDir: resolve(base, o.backupDir) } : {}),
      ...(policy ? { configChangeId: policy as ConfigChangeIdPolicy } : {}),
      ...(o.ignoreLog === true ? { ignoreLog: true } : {}),
    };
  });
}

function failure(err: unknown): { code: string; message: string } {
  if (err instanceof NodeHostToolsError) return { code: err.code, message: err.message };
  return { code: 'ErrInternal', message: err instanceof Error ? err.message : String(err) };
}

/**
 * Runs `jobs` on this NodeHost. Never throws for a job's failure; see the
 * outcomes. The host's LOCK files are held once for the whole run. Jobs whose
 * shards share a log store partition run together: each is read and staged
 * on its own (a failing job never affects the others), then ONE batch commits
 * all of them (on Pebble one drop-in WAL per partition, so that the restarted
 * NodeHost replays one WAL into one L0 table, not one per shard: Dragonboat's
 * options stop writes at 24 L0 tables), then each cleans up. Partitions run
 * with bounded concurrency.
 */
export async function importMany(nhConfig: NodeHostConfig, jobs: ImportJob[], options: ManyOptions = {}): Promise<ManyResult> {
  return runMany(nhConfig, jobs, options);
}

async function runMany(nhConfig: NodeHostConfig, jobs: ImportJob[], options: ManyOptions): Promise<ManyResult> {
  const cfg = resolveNodeHostConfig(nhConfig);
  const outcomes: JobOutcome[] = new Array(jobs.length);
  const finish = (o: JobOutcome): void => {
    outcomes[o.job] = o;
    options.onJobDone?.(o);
  };
  const failed = (i: number, err: unknown, shardId?: bigint): void => {
    const job = jobs[i]!;
    finish({ job: i, src: job.src, shardId: shardId ?? job.shardId, replicaId: job.replicaId, ok: false, error: failure(err) });
  };
  const jobOptions = (i: number): ImportOptions => {
    const job = jobs[i]!;
    return {
      ...(options.engine !== undefined ? { engine: options.engine } : {}),
      ...(options.dryRun ? { dryRun: true } : {}),
      ...(options.signal ? { signal: options.signal } : {}),
      ...(job.backupDir ? { backupDir: job.backupDir } : {}),
      ...(job.configChangeId ? { configChangeId: job.configChangeId } : {}),
      ...(options.ignoreLog || job.ignoreLog ? { ignoreLog: true } : {}),
      onProgress: (phase, d, t) => options.onProgress?.(i, phase, d, t),
    };
  };

  // 1. Every job's inputs, grouped by log store partition (the log suffixes are read per partition, in 3:
  //    only the partitions running hold their entries).
  const inputs = new Map<number, ImportInputs>();
  const groups = new Map<number, number[]>();
  const replicas = new Map<string, number>();
  for (const [i, job] of jobs.entries()) {
    try {
      const inp = await readExportInputs(nhConfig, job.src, job.members, job.replicaId, jobOptions(i));
      if (job.shardId !== undefined && job.shardId !== inp.shardId) {
        throw new ErrInvalidConfig(`the export in ${job.src} is of shard ${inp.shardId}, the manifest says ${job.shardId}`, {
          check: 'shard-id',
          expected: job.shardId,
          actual: inp.shardId,
        });
      }
      const id = `${inp.shardId}/${inp.replicaId}`;
      const first = replicas.get(id);
      if (first !== undefined) {
        throw new ErrInvalidConfig(
          `imports[${i}] imports shard ${inp.shardId} replica ${inp.replicaId} again (first in imports[${first}])`,
          {
            check: 'duplicate-job',
            job: i,
            expected: 'one import per replica',
            actual: first,
          },
        );
      }
      replicas.set(id, i);
      if (job.backupDir !== undefined && [...inputs.keys()].some((j) => jobs[j]!.backupDir === job.backupDir)) {
        throw new ErrInvalidConfig(`imports[${i}] uses backupDir ${job.backupDir} of another job; give each job its own`, {
          check: 'duplicate-backup-dir',
          job: i,
          path: job.backupDir,
        });
      }
      inputs.set(i, inp);
      const p = logdbPartition(inp.shardId, cfg.execShards, cfg.logDBShards);
      groups.set(p, [...(groups.get(p) ?? []), i]);
    } catch (err) {
      failed(i, err);
    }
  }

  // 2. No NodeHost may run; the LOCK files that exist are held from here, once for every job.
  let locks: NodeHostLocks | undefined;
  try {
    await checkNodeHostNotLocked(cfg, { lockHolder: nativeLockHolder() });
    if (!options.dryRun && inputs.size > 0) locks = await holdNodeHostLocks(cfg, { create: false });
  } catch (err) {
    for (const i of inputs.keys()) failed(i, err, inputs.get(i)!.shardId);
    return summary(outcomes);
  }
  let missingAcquired: Promise<void> | undefined;
  let anyCommitted = false;

  const runGroup = async (group: number[]): Promise<void> => {
    // 3. Each job's log suffix (validated whole), then its node, read-only.
    const nodes: { i: number; node: NodeImport }[] = [];
    for (const i of group) {
      try {
        const node = await readNode(await withLogSuffix(inputs.get(i)!, jobOptions(i)), jobOptions(i));
        if (options.dryRun) {
          const result = await dryRunReport(node, jobOptions(i));
          finish({ job: i, src: jobs[i]!.src, shardId: node.shardId, replicaId: node.replicaId, ok: true, result });
        } else {
          nodes.push({ i, node });
        }
      } catch (err) {
        failed(i, err, inputs.get(i)!.shardId);
      }
    }
    if (nodes.length === 0) return;
    // 4, 5. The missing LOCK files, then each job's snapshot directory.
    try {
      missingAcquired ??= locks!.acquireMissing();
      await missingAcquired;
    } catch (err) {
      for (const { i, node } of nodes) failed(i, err, node.shardId);
      return;
    }
    const staged: { i: number; node: NodeImport; st: StagedSnapshot }[] = [];
    for (const { i, node } of nodes) {
      noteLocks(node, locks!);
      try {
        staged.push({ i, node, st: await stageSnapshot(node, jobOptions(i)) });
      } catch (err) {
        failed(i, err, node.shardId);
      }
    }
    // 6. One commit for the partition.
    let written: ImportWrite[];
    try {
      written = await commitImports(
        staged.map((s) => s.node),
        {},
      );
      anyCommitted ||= staged.length > 0;
    } catch (err) {
      // What the runs created is removed where the commit certainly did not happen.
      await rollbackUncommitted(staged.map(({ node, st }) => ({ node, staged: st })));
      for (const { i, node } of staged) failed(i, err, node.shardId);
      return;
    }
    // 7. Each job's clean-up.
    for (const [k, { i, node, st }] of staged.entries()) {
      try {
        const result = await cleanUp(node, st, written[k]!, jobOptions(i));
        finish({ job: i, src: jobs[i]!.src, shardId: node.shardId, replicaId: node.replicaId, ok: true, result });
      } catch (err) {
        failed(i, err, node.shardId);
      }
    }
  };
  const queue = [...groups.values()];
  try {
    const workers = Array.from({ length: Math.max(1, Math.min(options.concurrency ?? 2, queue.length)) }, async () => {
      for (let g = queue.shift(); g !== undefined; g = queue.shift()) await runGroup(g);
    });
    await Promise.all(workers);
  } finally {
    await locks?.release({ failed: !anyCommitted });
  }
  return summary(outcomes);
}

function summary(outcomes: JobOutcome[]): ManyResult {
  const retry = outcomes.filter((o) => !o.ok).map((o) => o.job);
  return { ok: retry.length === 0, outcomes, retry };
}
