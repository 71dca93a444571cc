/**
 * Many imports on one host (`import --manifest`): a list of shards, each with
 * its export, member map and replica, run with bounded concurrency. Shards
 * whose log store partition is the same run one after the other (a LevelDB
 * database has one writer); a failing shard never affects the others, and
 * the summary says which to retry.
 */
import { readFile } from 'node:fs/promises';
import { dirname, resolve } from 'node:path';
import { ErrInvalidConfig, NodeHostToolsError } from '../errors.js';
import { resolveNodeHostConfig, type NodeHostConfig } from '../nodehost/config.js';
import { logdbPartition } from '../nodehost/paths.js';
import { readExportDir } from './export-dir.js';
import { importSnapshot, type ImportOptions, type ImportPhase, type ImportResult } from './import.js';
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
export interface ManyOptions extends Pick<ImportOptions, 'engine' | 'dryRun' | 'signal'> {
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
  throw new ErrInvalidConfig(`${where}: members must be an object {"1": "m1:63001", ...} or a string "1=m1:63001,..."`, { check: 'members' });
}

/**
 * Reads an import manifest: `{"imports": [ {shardId?, src, members, replicaId, backupDir?, configChangeId?}, ... ]}`
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
    return {
      ...(o.shardId !== undefined ? { shardId: toReplicaId(o.shardId as string, 'shard ID') } : {}),
      src: resolve(base, o.src),
      members: membersOf(o.members, where),
      replicaId: toReplicaId(o.replicaId as string),
      ...(typeof o.backupDir === 'string' ? { backupDir: resolve(base, o.backupDir) } : {}),
      ...(policy ? { configChangeId: policy as ConfigChangeIdPolicy } : {}),
    };
  });
}

function failure(err: unknown): { code: string; message: string } {
  if (err instanceof NodeHostToolsError) return { code: err.code, message: err.message };
  return { code: 'ErrInternal', message: err instanceof Error ? err.message : String(err) };
}

/** Runs `jobs` on this NodeHost. Never throws for a job's failure; see the outcomes. */
export async function importMany(nhConfig: NodeHostConfig, jobs: ImportJob[], options: ManyOptions = {}): Promise<ManyResult> {
  const cfg = resolveNodeHostConfig(nhConfig);
  const outcomes: JobOutcome[] = new Array(jobs.length);
  const finish = (o: JobOutcome): void => {
    outcomes[o.job] = o;
    options.onJobDone?.(o);
  };
  // Group by log store partition: one writer per LevelDB database at a time.
  const groups = new Map<number, number[]>();
  for (const [i, job] of jobs.entries()) {
    let shardId: bigint;
    try {
      shardId = (await readExportDir(job.src)).record.shardId;
      if (job.shardId !== undefined && job.shardId !== shardId) {
        throw new ErrInvalidConfig(`the export in ${job.src} is of shard ${shardId}, the manifest says ${job.shardId}`, {
          check: 'shard-id', expected: job.shardId, actual: shardId,
        });
      }
    } catch (err) {
      finish({ job: i, src: job.src, shardId: job.shardId, replicaId: job.replicaId, ok: false, error: failure(err) });
      continue;
    }
    const p = logdbPartition(shardId, cfg.execShards, cfg.logDBShards);
    groups.set(p, [...(groups.get(p) ?? []), i]);
  }
  const queue = [...groups.values()];
  const runGroup = async (group: number[]): Promise<void> => {
    for (const i of group) {
      const job = jobs[i]!;
      try {
        const result = await importSnapshot(nhConfig, job.src, job.members, job.replicaId, {
          ...(options.engine !== undefined ? { engine: options.engine } : {}),
          ...(options.dryRun ? { dryRun: true } : {}),
          ...(options.signal ? { signal: options.signal } : {}),
          ...(job.backupDir ? { backupDir: job.backupDir } : {}),
          ...(job.configChangeId ? { configChangeId: job.configChangeId } : {}),
          onProgress: (phase, d, t) => options.onProgress?.(i, phase, d, t),
        });
        finish({ job: i, src: job.src, shardId: result.shardId, replicaId: job.replicaId, ok: true, result });
      } catch (err) {
        finish({ job: i, src: job.src, shardId: job.shardId, replicaId: job.replicaId, ok: false, error: failure(err) });
      }
    }
  };
  const workers = Array.from({ length: Math.max(1, Math.min(options.concurrency ?? 2, queue.length)) }, async () => {
    for (let g = queue.shift(); g !== undefined; g = queue.shift()) await runGroup(g);
  });
  await Promise.all(workers);
  const retry = outcomes.filter((o) => !o.ok).map((o) => o.job);
  return { ok: retry.length === 0, outcomes, retry };
}
