/**
 * `plan`: the pre-flight report of a repair. Validates the export once and,
 * for every host the operator can reach (a NodeHost configuration) or has an
 * `inspect --json` view of, what the import will do there and what it will
 * discard: the exact entry range beyond the snapshot and its term, a newer
 * snapshot, the replicas removed, conflicts with the snapshot's membership.
 * Then the minimal-loss alternative (./plan-minimal.ts): which host's log to
 * carry with the snapshot, and what each host keeps and loses with it.
 * Nothing is written anywhere.
 */
import { NodeHostToolsError } from '../errors.js';
import type { EngineChoice } from '../engines/select.js';
import type { ChecksumEngine } from '../engines/types.js';
import { LogDB } from '../logdb/logdb.js';
import { resolveNodeHostConfig, type NodeHostConfig, type ResolvedNodeHostConfig } from '../nodehost/config.js';
import { statOrUndefined } from '../files/fsutil.js';
import { StateMachineType, type Snapshot } from '../records/types.js';
import { recoveryFingerprint } from './fingerprint.js';
import { importSnapshot, type ImportResult } from './import.js';
import { inspectNode } from './inspect.js';
import { checkMembersAgainstSnapshot, normalizeMembers, removedByImport, type MemberNodes } from './members.js';
import { planMinimalLoss, type HostLogInput, type MinimalLossPlan } from './plan-minimal.js';
import { parseLogSummary, type LogCheck, type OwnSnapshotInfo } from './survivor.js';
import { importCommand, quote } from './plan-commands.js';
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
  snapshot: { index: string; term?: string; type?: string | number; checksum?: string } | null;
  /** The snapshot's membership (its `addresses` map is all plan reads). */
  membership?: { addresses?: Record<string, string> } | null;
  /** What a restart would lack (codes `snapshot-file-*`/`external-file-*` make its own snapshot unexportable). */
  problems?: { code: string; message: string }[];
  /** The stored log in compact form (`logSummaryJson` in ./survivor.ts); absent in views of older versions. */
  log?: unknown;
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
  /** Whether its log can give the suffix of the minimal-loss repair, and why not (hosts with a replica ID). */
  logSuffix?: LogCheck;
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
  /** The repair that carries the survivor's log (docs/log-suffix.md); null when no host can give one (see `minimalLossReasons`). */
  minimalLoss: MinimalLossPlan | null;
  /** Why there is no minimal-loss repair; empty when there is one. */
  minimalLossReasons: string[];
}

/** Options of {@link planRecovery}. */
export interface PlanOptions {
  engine?: EngineChoice | ChecksumEngine;
  signal?: AbortSignal;
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
  const logInputs: HostLogInput[] = [];
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
      const configArg = quote(h.configPath ?? '<config of ' + cfg.raftAddress + '>');
      plan.command = importCommand(configArg, verified.target, members, record.shardId, replicaId, false);
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
        if (plan.hasState) plan.command = importCommand(configArg, verified.target, members, record.shardId, replicaId, true);
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
      logInputs.push(await configHostLog(h.config, plan, configArg, record.shardId, replicaId, members));
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
      const configArg = quote(`<config of ${plan.host}>`);
      plan.command = importCommand(configArg, verified.target, members, record.shardId, replicaId, plan.hasState);
      plans.push(plan);
      if (BigInt(v.shardId) === record.shardId && members.has(replicaId)) logInputs.push(viewHostLog(v, plan, configArg, members));
    }
  }
  const covered = new Set(plans.map((p) => p.replicaId).filter((r): r is bigint => r !== undefined));
  const minimal = planMinimalLoss(verified.target, record, members, logInputs);
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
    minimalLoss: minimal.plan,
    minimalLossReasons: minimal.reasons,
  };
}

/** What its own snapshot record offers, or why it cannot be exported for a suffix. */
function ownSnapshot(
  index: bigint,
  term: bigint,
  checksum: Uint8Array | undefined,
  onDisk: boolean,
  fileProblems: string[],
  addresses: Map<bigint, string> | undefined,
  members: Map<bigint, string>,
): OwnSnapshotInfo {
  let unusable: string | undefined;
  if (onDisk) unusable = 'an on-disk state machine (ErrLogSuffix state-machine-type)';
  else if (fileProblems.length) unusable = fileProblems.join('; ');
  else if (addresses) {
    for (const [id, addr] of members) {
      const was = addresses.get(id);
      if (was !== undefined && was !== addr) unusable = `its membership has replica ${id} at ${was}, not ${addr} (ErrInvalidMembers)`;
    }
  }
  return { index, term, ...(checksum ? { checksum } : {}), ...(unusable ? { unusable } : {}) };
}

const SNAPSHOT_FILE_PROBLEM = /^(snapshot|external)-file-/;

/** A configuration host's log, read-only through `inspect`'s reader (the same summary `inspect --json` prints). */
async function configHostLog(
  config: NodeHostConfig,
  plan: HostPlan,
  configArg: string,
  shardId: bigint,
  replicaId: bigint,
  members: Map<bigint, string>,
): Promise<HostLogInput> {
  try {
    const v = await inspectNode(config, shardId, replicaId);
    const s = v.snapshot;
    const own = s
      ? ownSnapshot(
          s.index,
          s.term,
          s.checksum,
          s.type === StateMachineType.OnDisk,
          v.problems.filter((p) => SNAPSHOT_FILE_PROBLEM.test(p.code)).map((p) => p.message),
          s.membership.addresses,
          members,
        )
      : undefined;
    return { plan, configArg, log: v.log, ...(own ? { own } : {}) };
  } catch (err) {
    if (!(err instanceof NodeHostToolsError)) throw err;
    return { plan, configArg, log: undefined, logError: `${err.code}: ${err.message}` };
  }
}

/** A host's log from its `inspect --json` view. */
function viewHostLog(v: InspectJson, plan: HostPlan, configArg: string, members: Map<bigint, string>): HostLogInput {
  const log = parseLogSummary(v.log);
  const s = v.snapshot;
  let own: OwnSnapshotInfo | undefined;
  if (s && typeof s.term === 'string' && /^\d+$/.test(s.index) && /^\d+$/.test(s.term)) {
    const addresses = v.membership?.addresses
      ? new Map(Object.entries(v.membership.addresses).map(([id, a]) => [BigInt(id), a] as [bigint, string]))
      : undefined;
    own = ownSnapshot(
      BigInt(s.index),
      BigInt(s.term),
      typeof s.checksum === 'string' && /^([0-9a-f]{2})+$/.test(s.checksum) ? new Uint8Array(Buffer.from(s.checksum, 'hex')) : undefined,
      s.type === 'OnDiskStateMachine' || s.type === StateMachineType.OnDisk,
      (v.problems ?? []).filter((p) => SNAPSHOT_FILE_PROBLEM.test(p.code)).map((p) => p.message),
      addresses,
      members,
    );
  }
  return {
    plan,
    configArg,
    log,
    ...(own ? { own } : {}),
    ...(log === undefined && v.log !== undefined ? { logError: "the view's `log` is malformed" } : {}),
  };
}
