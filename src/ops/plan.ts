/**
 * `plan`: the pre-flight report of a repair. Validates the export once and,
 * for every host the operator can reach (a NodeHost configuration) or has an
 * `inspect --json` view of, what the import will do there and what it will
 * discard: the exact entry range beyond the snapshot and its term, a newer
 * snapshot, the replicas removed, conflicts with the snapshot's membership.
 * Nothing is written anywhere.
 */
import * as path from 'node:path';
import { NodeHostToolsError } from '../errors.js';
import type { EngineChoice } from '../engines/select.js';
import type { ChecksumEngine } from '../engines/types.js';
import { LogDB } from '../logdb/logdb.js';
import { resolveNodeHostConfig, type NodeHostConfig, type ResolvedNodeHostConfig } from '../nodehost/config.js';
import { statOrUndefined } from '../files/fsutil.js';
import type { Snapshot } from '../records/types.js';
import { recoveryFingerprint } from './fingerprint.js';
import { importSnapshot, type ImportResult } from './import.js';
import { checkMembersAgainstSnapshot, normalizeMembers, removedByImport, type MemberNodes } from './members.js';
import { verifySnapshot } from './verify.js';

/** A host as the operator describes it to `plan`. */
export type PlanHost =
  | { kind: 'config'; config: NodeHostConfig /** Where the config came from, for the command line. */; configPath?: string }
  | { kind: 'view' /** An `inspect --json` object taken on that host. */; view: InspectJson; source?: string };

/** The fields of `inspect --json` that planning reads. */
export interface InspectJson {
  shardId: string;
  replicaId: string;
  nodeHostDir: string;
  hasState: boolean;
  maxIndex: string | null;
  raftState: { term: string; commit: string } | null;
  snapshot: { index: string } | null;
}

/** What the import will do on one host. */
export interface HostPlan {
  /** The host's RaftAddress (config) or the view's source. */
  host: string;
  replicaId: bigint | undefined;
  /** `ready`: the import will succeed as validated; `error`: it would fail (see `error`); `unverified`: from an inspect view only. */
  status: 'ready' | 'error' | 'unverified';
  error?: { code: string; message: string };
  hasState: boolean;
  /** Config hosts: true when the nodeHostDir does not exist (a fresh host, or a wrong path). */
  freshHost?: boolean;
  /** Entries beyond the snapshot that the import discards, with their term(s) where known. */
  discardedEntries?: { first: bigint; last: bigint; term?: bigint; lastTerm?: bigint };
  /** A snapshot newer than the imported one that the import discards. */
  discardedSnapshotIndex?: bigint;
  warnings: string[];
  /** The `nodehost import` command line to run on that host. */
  command?: string;
  /** The dry run's result (config hosts only). */
  dryRun?: ImportResult;
}

/** The whole plan. */
export interface PlanResult {
  ok: boolean;
  shardId: bigint;
  index: bigint;
  term: bigint;
  exportDir: string;
  members: Map<bigint, string>;
  /** The snapshot's own membership. */
  snapshotMembership: Snapshot['membership'];
  removedReplicas: bigint[];
  fingerprint: string;
  hosts: HostPlan[];
  /** Members no given host covers: the import must run there too. */
  uncoveredMembers: bigint[];
  /** Problems that make the plan fail, besides per-host errors (e.g. a membership conflict). */
  problems: { code: string; message: string }[];
}

/** Options of {@link planRecovery}. */
export interface PlanOptions {
  engine?: EngineChoice | ChecksumEngine;
  signal?: AbortSignal;
}

function quote(s: string): string {
  return /^[\w./:=,-]+$/.test(s) ? s : `'${s.replace(/'/g, `'\\''`)}'`;
}

/**
 * What a host with state to overwrite adds to its command line: a backup
 * first (the undo, beside the export) and `--yes`, since on a terminal the
 * import would otherwise stop to ask.
 */
function overwriteFlags(exportDir: string, shardId: bigint, replicaId: bigint): string {
  return ` --backup ${quote(path.join(path.dirname(exportDir), `undo-shard-${shardId}-replica-${replicaId}`))} --yes`;
}

function membersArg(m: Map<bigint, string>): string {
  return [...m].map(([id, a]) => `${id}=${a}`).join(',');
}

async function entryTerms(
  cfg: ResolvedNodeHostConfig,
  shardId: bigint,
  replicaId: bigint,
  first: bigint,
  last: bigint,
): Promise<{ term?: bigint; lastTerm?: bigint }> {
  const db = await LogDB.open(cfg, { readOnly: true });
  try {
    const a = await db.iterateEntries(shardId, replicaId, first, first + 1n);
    const b = await db.iterateEntries(shardId, replicaId, last, last + 1n);
    const t1 = a.entries[0]?.entry?.term;
    const t2 = b.entries[0]?.entry?.term;
    return { ...(t1 !== undefined ? { term: t1 } : {}), ...(t2 !== undefined ? { lastTerm: t2 } : {}) };
  } catch {
    return {}; // entries in Dragonboat's private encoding: terms unknown
  } finally {
    await db.close();
  }
}

/**
 * Plans the repair of the shard in `exportDir` with `memberNodes` over
 * `hosts`. Never writes. Throws only for an unusable export or member map;
 * per-host failures are reported in the plan.
 */
export async function planRecovery(
  exportDir: string,
  memberNodes: MemberNodes,
  hosts: PlanHost[],
  options: PlanOptions = {},
): Promise<PlanResult> {
  const members = normalizeMembers(memberNodes);
  const verified = await verifySnapshot(exportDir, { engine: options.engine, signal: options.signal });
  const record = verified.record!;
  const problems: PlanResult['problems'] = [];
  try {
    checkMembersAgainstSnapshot(members, record.membership);
  } catch (err) {
    if (!(err instanceof NodeHostToolsError)) throw err;
    problems.push({ code: err.code, message: err.message });
  }
  const index = record.index;
  const plans: HostPlan[] = [];
  for (const h of hosts) {
    if (h.kind === 'config') {
      let cfg: ResolvedNodeHostConfig;
      try {
        cfg = resolveNodeHostConfig(h.config);
      } catch (err) {
        if (!(err instanceof NodeHostToolsError)) throw err;
        const host = typeof h.config?.raftAddress === 'string' ? h.config.raftAddress : (h.configPath ?? '?');
        plans.push({
          host,
          replicaId: undefined,
          status: 'error',
          error: { code: err.code, message: err.message },
          hasState: false,
          warnings: [],
        });
        continue;
      }
      const entry = [...members].find(([, addr]) => addr === cfg.raftAddress);
      const replicaId = entry?.[0];
      const freshHost = !(await statOrUndefined(cfg.nodeHostDir));
      const plan: HostPlan = { host: cfg.raftAddress, replicaId, status: 'ready', hasState: false, freshHost, warnings: [] };
      if (replicaId === undefined) {
        plan.status = 'error';
        plan.error = { code: 'ErrInvalidMembers', message: `no member has this host's RaftAddress ${cfg.raftAddress}` };
        plans.push(plan);
        continue;
      }
      plan.command =
        `nodehost import --config ${quote(h.configPath ?? '<config of ' + cfg.raftAddress + '>')} --src ${quote(verified.target)} ` +
        `--members ${quote(membersArg(members))} --replica-id ${replicaId}`;
      try {
        const dry = await importSnapshot(h.config, exportDir, members, replicaId, {
          dryRun: true,
          engine: options.engine,
          signal: options.signal,
        });
        plan.dryRun = dry;
        const b = dry.before;
        plan.hasState = b.hasState;
        if (b.maxIndex !== undefined && b.maxIndex > index) {
          const first = index + 1n;
          plan.discardedEntries = { first, last: b.maxIndex, ...(await entryTerms(cfg, record.shardId, replicaId, first, b.maxIndex)) };
        }
        if (b.snapshot && b.snapshot.index > index) plan.discardedSnapshotIndex = b.snapshot.index;
        if (plan.hasState) plan.command += overwriteFlags(verified.target, record.shardId, replicaId);
        // Discarded entries and snapshots are stated by the plan itself.
        plan.warnings = dry.warnings
          .filter((w) => !['degraded-engine', 'entries-discarded', 'newer-state-discarded'].includes(w.code))
          .map((w) => w.message);
        // A mistyped path also looks like a fresh host: say so, so the operator can tell the two apart.
        if (freshHost) {
          plan.warnings.unshift(
            `${cfg.nodeHostDir}: directory does not exist (fresh host); the import creates it — ` +
              'if this host ran the shard before, its nodeHostDir is wrong',
          );
        }
      } catch (err) {
        if (!(err instanceof NodeHostToolsError)) throw err;
        plan.status = 'error';
        plan.error = { code: err.code, message: err.message };
      }
      plans.push(plan);
    } else {
      const v = h.view;
      const replicaId = BigInt(v.replicaId);
      const plan: HostPlan = {
        host: members.get(replicaId) ?? h.source ?? v.nodeHostDir,
        replicaId,
        status: 'unverified',
        hasState: v.hasState,
        warnings: ['planned from an inspect view: run `nodehost import --dry-run` on that host to validate it'],
      };
      if (!members.has(replicaId)) {
        plan.status = 'error';
        plan.error = { code: 'ErrInvalidMembers', message: `replica ${replicaId} of this view is not in the member map` };
      }
      if (BigInt(v.shardId) !== record.shardId) {
        plan.status = 'error';
        plan.error = { code: 'ErrInvalidMembers', message: `the view is of shard ${v.shardId}, the export of shard ${record.shardId}` };
      }
      const maxIndex = v.maxIndex === null ? undefined : BigInt(v.maxIndex);
      if (maxIndex !== undefined && maxIndex > index) {
        plan.discardedEntries = { first: index + 1n, last: maxIndex, ...(v.raftState ? { lastTerm: BigInt(v.raftState.term) } : {}) };
      }
      if (v.snapshot && BigInt(v.snapshot.index) > index) plan.discardedSnapshotIndex = BigInt(v.snapshot.index);
      plan.command = `nodehost import --config ${quote(`<config of ${plan.host}>`)} --src ${quote(verified.target)} --members ${quote(membersArg(members))} --replica-id ${replicaId}`;
      if (plan.hasState) plan.command += overwriteFlags(verified.target, record.shardId, replicaId);
      plans.push(plan);
    }
  }
  const covered = new Set(plans.map((p) => p.replicaId).filter((r): r is bigint => r !== undefined));
  return {
    ok: problems.length === 0 && plans.every((p) => p.status !== 'error'),
    shardId: record.shardId,
    index,
    term: record.term,
    exportDir: verified.target,
    members,
    snapshotMembership: record.membership,
    removedReplicas: removedByImport(record.membership, members),
    fingerprint: recoveryFingerprint({ shardId: record.shardId, index, checksum: record.checksum, members }),
    hosts: plans,
    uncoveredMembers: [...members.keys()].filter((id) => !covered.has(id)),
    problems,
  };
}
