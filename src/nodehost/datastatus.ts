/**
 * `dragonboat.ds`: the RaftDataStatus flag file that binds a data directory to
 * one NodeHost (docs/formats.md §4). Checked exactly as Dragonboat's server.Env
 * checks it, in the same order, with one error class per failed check.
 */
import { createHash } from 'node:crypto';
import * as path from 'node:path';
import {
  ErrAddressByNodeHostIDChanged,
  ErrDeploymentIDChanged,
  ErrHardSettingsChanged,
  ErrHostnameChanged,
  ErrIncompatibleData,
  ErrLogDBType,
  ErrNotOwner,
} from '../errors.js';
import { mkdirDurable } from '../files/durable.js';
import { readFlagFileIfExists, writeFlagFile } from '../files/flagfile.js';
import { statOrUndefined } from '../files/fsutil.js';
import { decodeRaftDataStatus, encodeRaftDataStatus } from '../records/codec.js';
import type { RaftDataStatus } from '../records/types.js';
import type { ResolvedNodeHostConfig } from './config.js';
import { dataDirs, dataStatusPath } from './paths.js';
import {
  BIN_VER_BATCHED,
  BIN_VER_PLAIN,
  ENTRY_BATCH_SIZE,
  DEFAULT_LOGDB_TYPE,
  LOGDB_TYPES,
  MAX_SESSION_COUNT,
  logStoreEngineOf,
  type BinVer,
} from './settings.js';

export { BIN_VER_PLAIN, BIN_VER_BATCHED, MAX_SESSION_COUNT, ENTRY_BATCH_SIZE } from './settings.js';
export type { BinVer } from './settings.js';

/** Dragonboat's settings.HardHash: `uint64le(md5("<exec>-<logdbShards>-false-4096-48")[0:8])`. */
export function hardHash(execShards: number, logDBShards: number): bigint {
  const digest = createHash('md5').update(`${execShards}-${logDBShards}-false-${MAX_SESSION_COUNT}-${ENTRY_BATCH_SIZE}`).digest();
  return digest.readBigUInt64LE(0);
}

/**
 * The record Dragonboat writes into a new `dragonboat.ds` (hard_hash 0, the
 * settings spelled out). An unknown format (store without entries) is recorded as plain, 100.
 */
export function newDataStatus(cfg: ResolvedNodeHostConfig, binVer: BinVer | undefined): RaftDataStatus {
  return {
    address: cfg.raftAddress,
    binVer: binVer ?? BIN_VER_PLAIN,
    hardHash: 0n,
    logdbType: cfg.logdbType ?? DEFAULT_LOGDB_TYPE,
    hostname: cfg.hostname,
    deploymentId: cfg.deploymentId,
    stepWorkerCount: BigInt(cfg.execShards),
    logdbShardCount: BigInt(cfg.logDBShards),
    maxSessionCount: MAX_SESSION_COUNT,
    entryBatchSize: ENTRY_BATCH_SIZE,
    addressByNodeHostId: cfg.addressByNodeHostId,
  };
}

function sameText(a: string, b: string): boolean {
  // Go's strings.EqualFold(strings.TrimSpace(a), strings.TrimSpace(b)).
  return a.trim().toLowerCase() === b.trim().toLowerCase();
}

/**
 * The log store type check of `dragonboat.ds` (the first of Dragonboat's
 * checks): a type this tool reads and writes, and the configured one when
 * `logdbType` is set. Pure; throws ErrLogDBType.
 */
export function checkLogDBType(status: RaftDataStatus, cfg: ResolvedNodeHostConfig, file = '<dragonboat.ds>'): void {
  const engine = logStoreEngineOf(status.logdbType);
  if (engine === undefined) {
    throw new ErrLogDBType(
      `${file} was written for log store type "${status.logdbType}"; this tool reads and writes ${LOGDB_TYPES.join(', ')}: ` +
        'the NodeHost runs a log store plugged in by its owner; repair it with a tool for that store',
      { path: file, check: 'logdb-type', expected: LOGDB_TYPES.join(' | '), actual: status.logdbType },
    );
  }
  if (cfg.logdbType !== undefined && logStoreEngineOf(cfg.logdbType) !== engine) {
    throw new ErrLogDBType(
      `${file} records log store type "${status.logdbType}", the configuration says "${cfg.logdbType}": ` +
        'the directory decides which store the NodeHost runs; remove logdbType from the configuration or correct it',
      { path: file, check: 'logdb-type', expected: cfg.logdbType, actual: status.logdbType },
    );
  }
}

/**
 * Checks a decoded `dragonboat.ds` record against the configuration and the
 * store's format, in Dragonboat's order. Pure. Throws the class of the first
 * failed check; `details` has `path` (when given), `check`, `expected`, `actual`.
 * `binVer` undefined means the store holds no entries, so either format is
 * consistent and bin_ver is not checked.
 */
export function checkDataStatus(
  status: RaftDataStatus,
  cfg: ResolvedNodeHostConfig,
  binVer: BinVer | undefined,
  file = '<dragonboat.ds>',
): void {
  checkLogDBType(status, cfg, file);
  if (!cfg.addressByNodeHostId && !sameText(status.address, cfg.raftAddress)) {
    throw new ErrNotOwner(
      `${file} belongs to the NodeHost with RaftAddress "${status.address}", not "${cfg.raftAddress}": ` +
        "run with this host's own NodeHost configuration, or point nodeHostDir at this host's data directory",
      { path: file, check: 'address', expected: cfg.raftAddress, actual: status.address },
    );
  }
  if (status.hostname.length > 0 && !sameText(status.hostname, cfg.hostname)) {
    throw new ErrHostnameChanged(
      `${file} was written on host "${status.hostname}", this is "${cfg.hostname}": ` +
        `set hostname to "${status.hostname}" in the configuration if you are working on that host's disk`,
      { path: file, check: 'hostname', expected: cfg.hostname, actual: status.hostname },
    );
  }
  if (status.deploymentId !== 0n && status.deploymentId !== cfg.deploymentId) {
    throw new ErrDeploymentIDChanged(
      `${file} records DeploymentID ${status.deploymentId}, the configuration has ${cfg.deploymentId}: ` +
        'use the DeploymentID the NodeHost runs with',
      { path: file, check: 'deployment-id', expected: cfg.deploymentId, actual: status.deploymentId },
    );
  }
  if (status.addressByNodeHostId !== cfg.addressByNodeHostId) {
    throw new ErrAddressByNodeHostIDChanged(
      `${file} records address_by_node_host_id=${status.addressByNodeHostId}, the configuration has ` +
        `${cfg.addressByNodeHostId}: set addressByNodeHostId as the NodeHost's DefaultNodeRegistryEnabled`,
      { path: file, check: 'address-by-node-host-id', expected: cfg.addressByNodeHostId, actual: status.addressByNodeHostId },
    );
  }
  if (binVer !== undefined && status.binVer !== binVer) {
    const hint =
      status.binVer === BIN_VER_BATCHED && binVer === BIN_VER_PLAIN
        ? 'the directory was written with batched entries but the store holds plain ones'
        : 'the log store holds another entry format than the directory records';
    throw new ErrIncompatibleData(
      `${file} records log store format bin_ver ${status.binVer}, the log store is format ${binVer}: ${hint}; ` +
        'the data directory is inconsistent, restore it from a backup',
      { path: file, check: 'bin-ver', expected: binVer, actual: status.binVer },
    );
  }
  if (status.hardHash !== 0n) {
    const expected = hardHash(cfg.execShards, cfg.logDBShards);
    if (status.hardHash !== expected) {
      throw new ErrHardSettingsChanged(
        `${file} records hard settings hash ${status.hardHash}, the configuration (execShards ${cfg.execShards}, ` +
          `logDBShards ${cfg.logDBShards}) hashes to ${expected}: use the NodeHost's Expert.Engine.ExecShards and Expert.LogDB.Shards`,
        { path: file, check: 'hard-hash', expected, actual: status.hardHash },
      );
    }
  } else {
    const fields: [string, bigint, bigint][] = [
      ['step_worker_count', status.stepWorkerCount, BigInt(cfg.execShards)],
      ['logdb_shard_count', status.logdbShardCount, BigInt(cfg.logDBShards)],
      ['max_session_count', status.maxSessionCount, MAX_SESSION_COUNT],
      ['entry_batch_size', status.entryBatchSize, ENTRY_BATCH_SIZE],
    ];
    for (const [name, actual, expected] of fields) {
      if (actual !== expected) {
        throw new ErrHardSettingsChanged(
          `${file} records ${name} ${actual}, expected ${expected}: ` +
            "use the NodeHost's Expert.Engine.ExecShards and Expert.LogDB.Shards (the other two are fixed by Dragonboat)",
          { path: file, check: name, expected, actual },
        );
      }
    }
  }
}

/** What {@link checkOrCreateDataStatus} found or did. */
export interface DataStatusResult {
  /** The `dragonboat.ds` path. */
  path: string;
  /** `ok`: existed and passed; `created`: was missing and has been written; `would-create`: missing, dry run. */
  outcome: 'ok' | 'created' | 'would-create';
  /** The record on disk (or the one written / that would be written). */
  status: RaftDataStatus;
}

/** Options of the `dragonboat.ds` check. */
export interface DataStatusOptions {
  /** Check only: never create a directory or a file. */
  dryRun?: boolean;
}

/**
 * Checks `dir/dragonboat.ds` against the configuration, creating it (and `dir`)
 * from the current settings when it is missing, unless `dryRun`.
 */
export async function checkOrCreateDataStatus(
  dir: string,
  cfg: ResolvedNodeHostConfig,
  binVer: BinVer | undefined,
  opts: DataStatusOptions = {},
): Promise<DataStatusResult> {
  const file = dataStatusPath(dir);
  const existing = await readFlagFileIfExists(file, decodeRaftDataStatus);
  if (existing !== undefined) {
    checkDataStatus(existing, cfg, binVer, file);
    return { path: file, outcome: 'ok', status: existing };
  }
  const fresh = newDataStatus(cfg, binVer);
  if (opts.dryRun) return { path: file, outcome: 'would-create', status: fresh };
  if ((await statOrUndefined(path.dirname(file))) === undefined) await mkdirDurable(path.dirname(file));
  await writeFlagFile(file, encodeRaftDataStatus(fresh));
  return { path: file, outcome: 'created', status: fresh };
}

/**
 * Checks `dragonboat.ds` in NodeHostDir, then WALDir when set (Dragonboat's
 * order), and only when every existing file passes creates the missing ones
 * (unless `dryRun`). Stricter than Dragonboat, which creates NodeHostDir's file
 * before looking at WALDir's: a failed check here never leaves a new file behind.
 */
export async function checkOrCreateDataStatusFiles(
  cfg: ResolvedNodeHostConfig,
  binVer: BinVer | undefined,
  opts: DataStatusOptions = {},
): Promise<DataStatusResult[]> {
  const results: DataStatusResult[] = [];
  for (const dir of dataDirs(cfg)) results.push(await checkOrCreateDataStatus(dir, cfg, binVer, { dryRun: true }));
  if (opts.dryRun) return results;
  for (const r of results) {
    if (r.outcome !== 'would-create') continue;
    if ((await statOrUndefined(path.dirname(r.path))) === undefined) await mkdirDurable(path.dirname(r.path));
    await writeFlagFile(r.path, encodeRaftDataStatus(r.status));
    r.outcome = 'created';
  }
  return results;
}
