/**
 * The minimal-loss half of `plan` (docs/log-suffix.md): which host's log is
 * carried, what each host keeps and loses with it compared with the
 * reference repair, which membership changes the import neutralises, and the
 * export and import command lines that perform it.
 */
import * as path from 'node:path';
import { recoveryFingerprint } from './fingerprint.js';
import { snapshotDirName } from '../nodehost/paths.js';
import { StateMachineType, type Snapshot } from '../records/types.js';
import { exportWithLogCommand, importCommand } from './plan-commands.js';
import type { HostPlan } from './plan.js';
import { checkLog, chooseSurvivor, configChangesIn, hostLoss, type IndexRange, type LogSummary, type OwnSnapshotInfo } from './survivor.js';

/** One planned host's log, as `plan` read it (config) or was given it (inspect view). */
export interface HostLogInput {
  plan: HostPlan;
  /** Its `--config` argument, quoted for the shell. */
  configArg: string;
  log: LogSummary | undefined;
  /** Its own latest snapshot, when it has one. */
  own?: OwnSnapshotInfo;
  /** Why its log could not be read. */
  logError?: string;
}

/** One host under the minimal-loss repair. */
export interface MinimalLossHost {
  host: string;
  replicaId: bigint;
  /** Its own entries past the given export that it still has afterwards (the carried log holds them identically). */
  kept?: IndexRange;
  /** Its own entries past the given export that are lost: past the survivor's last index, or differing from the survivor's. */
  lost?: IndexRange;
  /** What the reference repair (the given export alone) loses on it: its entries past the export. */
  referenceLost?: IndexRange;
  /** Its own snapshot, newer than everything carried, that is lost. */
  lostSnapshotIndex?: bigint;
  /** Set when its losses cannot be told (its log is unknown). */
  unknown?: string;
  /** The import command line on this host (its `--src` is the new export). */
  command: string;
}

/** The repair that carries the survivor's log. */
export interface MinimalLossPlan {
  survivor: { host: string; replicaId: bigint };
  /** `given-export`: the given export's snapshot with the survivor's entries after it; `own-export`: the survivor's own newer snapshot and entries. */
  source: 'given-export' | 'own-export';
  /** The snapshot the new export holds. */
  snapshotIndex: bigint;
  snapshotTerm: bigint;
  /** The suffix carried: entries firstIndex..lastIndex, the last one's term. */
  firstIndex: bigint;
  lastIndex: bigint;
  lastTerm: bigint;
  entryCount: bigint;
  /** Membership-change entries of the suffix that the import replaces by empty entries. */
  neutralized: { index: bigint; term: bigint }[];
  /** `--dest` of the export, and the export directory it creates there (every import's `--src`). */
  dest: string;
  exportDir: string;
  /** Run on the survivor first (its NodeHost stopped). */
  exportCommand: string;
  /** The export command, then every host's import command, in order. */
  commands: string[];
  hosts: MinimalLossHost[];
  /** How the survivor was chosen. */
  rule: string;
  /**
   * The recovery fingerprint every import of this repair prints (and
   * `inspect` shows before the restart), when the new export's snapshot
   * checksum is known here.
   */
  fingerprint?: string;
}

/** The survivor rule, as printed and returned. */
export const SURVIVOR_RULE =
  'among the hosts whose log can give the suffix, the most up-to-date log as Raft compares them (higher last term, ' +
  'then higher last index); on a tie the one that reuses the given export, then the lower replica ID';

/**
 * Plans the minimal-loss repair over `inputs` (every planned host with a
 * replica ID), recording each host's {@link LogCheck} in its plan. Returns
 * the plan, or null with the reasons.
 */
export function planMinimalLoss(
  exportDir: string,
  record: Snapshot,
  members: Map<bigint, string>,
  inputs: HostLogInput[],
): { plan: MinimalLossPlan | null; reasons: string[] } {
  const anchor = { index: record.index, term: record.term };
  const checks = inputs.map((i) => {
    const check = checkLog(i.log, anchor, i.own);
    if (i.logError) check.problems.unshift({ code: 'no-log', message: `its log could not be read: ${i.logError}` });
    i.plan.logSuffix = check;
    return { input: i, replicaId: i.plan.replicaId!, check };
  });
  if (record.type === StateMachineType.OnDisk) {
    return {
      plan: null,
      reasons: [
        'the export is of an on-disk state machine: a log suffix is refused for it (ErrLogSuffix state-machine-type); repair without the log',
      ],
    };
  }
  const chosen = chooseSurvivor(checks);
  if (!chosen) {
    const reasons = checks.map(
      (c) => `${c.input.plan.host} (replica ${c.replicaId}): ${c.check.problems.map((p) => p.message).join('; ')}`,
    );
    return { plan: null, reasons: reasons.length ? reasons : ['no host with a log was given'] };
  }
  const surv = chosen.input;
  const survLog = surv.log!;
  const base = chosen.check.base!;
  const source = chosen.check.via!;
  const first = base.index + 1n;
  const last = chosen.check.lastIndex!;
  const dest = path.join(path.dirname(exportDir), 'with-log');
  const newExport = path.join(dest, snapshotDirName(base.index));
  const exportCommand = exportWithLogCommand(
    surv.configArg,
    record.shardId,
    chosen.replicaId,
    dest,
    source === 'given-export' ? exportDir : undefined,
  );
  const hosts: MinimalLossHost[] = inputs.map((i) => {
    const replicaId = i.plan.replicaId!;
    // The survivor's state is overwritten by the import like any other host's: it needs the backup too.
    const command = importCommand(i.configArg, newExport, members, record.shardId, replicaId, i.plan.hasState || i === surv);
    const h: MinimalLossHost = { host: i.plan.host, replicaId, command };
    const d = i.plan.discardedEntries;
    if (d) h.referenceLost = { first: d.first, last: d.last };
    if (i.log === undefined) {
      if (i.plan.hasState) h.unknown = 'its log is unknown';
      return h;
    }
    const loss = hostLoss(i.log, anchor, survLog);
    if (loss.kept) h.kept = loss.kept;
    if (loss.lost) h.lost = loss.lost;
    if (i.log.snapshot && i.log.snapshot.index > last) h.lostSnapshotIndex = i.log.snapshot.index;
    return h;
  });
  return {
    plan: {
      survivor: { host: surv.plan.host, replicaId: chosen.replicaId },
      source,
      snapshotIndex: base.index,
      snapshotTerm: base.term,
      firstIndex: first,
      lastIndex: last,
      lastTerm: chosen.check.lastTerm!,
      entryCount: last - first + 1n,
      neutralized: configChangesIn(survLog, first, last),
      dest,
      exportDir: newExport,
      exportCommand,
      commands: [exportCommand, ...hosts.map((h) => h.command)],
      hosts,
      rule: SURVIVOR_RULE,
      ...fingerprintOf(record, source === 'given-export' ? record.checksum : surv.own?.checksum, base.index, members, {
        lastIndex: last,
        lastTerm: chosen.check.lastTerm!,
      }),
    },
    reasons: [],
  };
}

function fingerprintOf(
  record: Snapshot,
  checksum: Uint8Array | undefined,
  index: bigint,
  members: Map<bigint, string>,
  log: { lastIndex: bigint; lastTerm: bigint },
): { fingerprint: string } | Record<string, never> {
  return checksum ? { fingerprint: recoveryFingerprint({ shardId: record.shardId, index, checksum, members, log }) } : {};
}
