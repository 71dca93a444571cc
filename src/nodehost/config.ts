/**
 * The part of a Dragonboat NodeHostConfig that decides where a NodeHost keeps
 * its data and how `dragonboat.ds` is checked.
 */
import * as os from 'node:os';
import * as path from 'node:path';
import * as fsp from 'node:fs/promises';
import { statSync } from 'node:fs';
import { ErrInvalidConfig, ErrPathNotExist, ioError } from '../errors.js';
import { isNotFound } from '../files/fsutil.js';
import { LOGDB_TYPES, type LogDBType } from './settings.js';

/** Default of `logDBShards` and `execShards` (Dragonboat's defaults). */
export const DEFAULT_SHARD_COUNT = 16;
/** Dragonboat's unmanaged deployment: a DeploymentID of 0 means this value. */
export const UNMANAGED_DEPLOYMENT_ID = 1n;
const MAX_U64 = (1n << 64n) - 1n;

/**
 * NodeHost settings as the operator gives them: the same values as the
 * NodeHost's own `config.NodeHostConfig` on that host.
 */
export interface NodeHostConfig {
  /** NodeHostConfig.NodeHostDir: the NodeHost data directory. Relative paths resolve against the working directory. */
  nodeHostDir: string;
  /** NodeHostConfig.WALDir, when the NodeHost sets one. */
  walDir?: string;
  /** NodeHostConfig.RaftAddress of this host, e.g. `m1:63001`; `dragonboat.ds` must record it. */
  raftAddress: string;
  /**
   * NodeHostConfig.DeploymentID: a non-negative 64-bit integer, as a number,
   * bigint or decimal string. 0 (the default) means the unmanaged deployment, 1.
   */
  deploymentId?: number | bigint | string;
  /** Expert.LogDB.Shards: number of log store partitions (default 16). */
  logDBShards?: number;
  /** Expert.Engine.ExecShards (default 16); part of the partition formula and of the hard hash. */
  execShards?: number;
  /**
   * Host name used in the data directory layout (`NodeHostDir/<hostname>/...`)
   * and checked against `dragonboat.ds`. Defaults to `os.hostname()`; set it to
   * work on another host's disk.
   */
  hostname?: string;
  /**
   * NodeHostConfig.DefaultNodeRegistryEnabled (recorded as
   * `address_by_node_host_id`). When true the RaftAddress ownership check is
   * skipped, as Dragonboat does with a node registry. Default false.
   */
  addressByNodeHostId?: boolean;
  /**
   * The log store the NodeHost runs (`dragonboat.ds` `logdb_type`):
   * `sharded-pebble` (Dragonboat v4's default; `sharded-rocksdb` is the same
   * store) or `sharded-leveldb`. An existing host's `dragonboat.ds` decides
   * and a contradicting value is refused; a fresh host (no `dragonboat.ds`)
   * gets this store, `sharded-pebble` when unset.
   */
  logdbType?: LogDBType;
}

/** A validated {@link NodeHostConfig}: absolute paths, defaults applied, DeploymentID as bigint (0 became 1). */
export interface ResolvedNodeHostConfig {
  readonly nodeHostDir: string;
  readonly walDir: string | undefined;
  readonly raftAddress: string;
  readonly deploymentId: bigint;
  readonly logDBShards: number;
  readonly execShards: number;
  readonly hostname: string;
  readonly addressByNodeHostId: boolean;
  /** The configured log store type; undefined when unset (`dragonboat.ds`, else the default, decides). */
  readonly logdbType: LogDBType | undefined;
}

const CONFIG_KEYS = new Set([
  'nodeHostDir',
  'walDir',
  'raftAddress',
  'deploymentId',
  'logDBShards',
  'execShards',
  'hostname',
  'addressByNodeHostId',
  'logdbType',
]);

function invalid(field: string, message: string, actual?: unknown): ErrInvalidConfig {
  return new ErrInvalidConfig(`invalid NodeHost configuration: ${field} ${message}`, {
    field,
    check: field,
    ...(actual === undefined ? {} : { actual }),
  });
}

function requireString(value: unknown, field: string): string {
  if (typeof value !== 'string' || value.trim() === '') throw invalid(field, 'must be a non-empty string', value);
  if (value.includes('\0')) throw invalid(field, 'must not contain NUL characters', value);
  return value;
}

/** Parses a DeploymentID given as number, bigint or decimal string into a uint64 bigint (0 stays 0). */
export function parseDeploymentId(value: number | bigint | string | undefined, field = 'deploymentId'): bigint {
  if (value === undefined) return 0n;
  let v: bigint;
  if (typeof value === 'bigint') {
    v = value;
  } else if (typeof value === 'number') {
    if (!Number.isSafeInteger(value)) {
      throw invalid(
        field,
        'must be an integer no larger than 2^53-1 when given as a number (use a decimal string for larger values)',
        value,
      );
    }
    v = BigInt(value);
  } else if (typeof value === 'string') {
    if (!/^[0-9]+$/.test(value.trim())) throw invalid(field, 'must be a decimal integer', value);
    v = BigInt(value.trim());
  } else {
    throw invalid(field, 'must be a number, bigint or decimal string', value);
  }
  if (v < 0n || v > MAX_U64) throw invalid(field, 'must be between 0 and 2^64-1', String(v));
  return v;
}

function shardCount(value: unknown, field: string): number {
  if (value === undefined) return DEFAULT_SHARD_COUNT;
  if (typeof value !== 'number' || !Number.isInteger(value) || value < 1 || value > 0xffff_ffff) {
    throw invalid(field, 'must be an integer between 1 and 4294967295', value);
  }
  return value;
}

/**
 * Validates `cfg` and applies Dragonboat's defaults: paths become absolute,
 * DeploymentID 0 becomes 1, shard counts default to 16, the host name to
 * `os.hostname()`. Throws {@link ErrInvalidConfig} naming the bad field.
 */
export function resolveNodeHostConfig(cfg: NodeHostConfig): ResolvedNodeHostConfig {
  if (cfg === null || typeof cfg !== 'object') throw invalid('config', 'must be an object', cfg);
  const nodeHostDir = path.resolve(requireString(cfg.nodeHostDir, 'nodeHostDir'));
  const walDir = cfg.walDir === undefined ? undefined : path.resolve(requireString(cfg.walDir, 'walDir'));
  const raftAddress = requireString(cfg.raftAddress, 'raftAddress').trim();
  let deploymentId = parseDeploymentId(cfg.deploymentId);
  if (deploymentId === 0n) deploymentId = UNMANAGED_DEPLOYMENT_ID;
  const hostname = cfg.hostname === undefined ? os.hostname() : requireString(cfg.hostname, 'hostname');
  if (hostname === '' || hostname.includes('/') || hostname === '.' || hostname === '..') {
    throw invalid('hostname', 'must be usable as a single directory name', hostname);
  }
  if (cfg.addressByNodeHostId !== undefined && typeof cfg.addressByNodeHostId !== 'boolean') {
    throw invalid('addressByNodeHostId', 'must be a boolean', cfg.addressByNodeHostId);
  }
  if (cfg.logdbType !== undefined && !(LOGDB_TYPES as readonly unknown[]).includes(cfg.logdbType)) {
    throw invalid('logdbType', `must be one of ${LOGDB_TYPES.join(', ')}`, cfg.logdbType);
  }
  for (const dir of walDir === undefined ? [nodeHostDir] : [nodeHostDir, walDir]) {
    refuseNestedDataDir(dir, walDir === undefined ? [nodeHostDir] : [nodeHostDir, walDir]);
  }
  return Object.freeze({
    nodeHostDir,
    walDir,
    raftAddress,
    deploymentId,
    logDBShards: shardCount(cfg.logDBShards, 'logDBShards'),
    execShards: shardCount(cfg.execShards, 'execShards'),
    hostname,
    addressByNodeHostId: cfg.addressByNodeHostId ?? false,
    logdbType: cfg.logdbType,
  });
}

/**
 * Refuses a data directory that sits inside another NodeHost's data
 * directory (an ancestor holds `dragonboat.ds`): one level too deep, or a
 * mistyped path under the real one. Taken as given, such a directory looks
 * like a fresh host, and an import would build a new node there that no
 * NodeHost ever reads while the real node keeps its old membership.
 * `own` are this configuration's data directories: a WALDir inside the
 * NodeHostDir (or the reverse) is the same host. Synchronous, a few `stat`s.
 */
function refuseNestedDataDir(dir: string, own: readonly string[]): void {
  for (let a = path.dirname(dir); ; a = path.dirname(a)) {
    if (!own.includes(a)) {
      const ds = path.join(a, 'dragonboat.ds');
      let found = false;
      try {
        found = statSync(ds).isFile();
      } catch {
        // Absent or unreadable: not evidence of an enclosing NodeHost directory.
      }
      if (found) {
        throw new ErrInvalidConfig(
          `invalid NodeHost configuration: ${dir} is inside the NodeHost directory ${a} (it holds ${ds}); ` +
            `give that directory itself (the NodeHost's NodeHostDir/WALDir), not a path under it`,
          { field: dir === own[0] ? 'nodeHostDir' : 'walDir', check: 'nested-nodehost-dir', path: ds, actual: dir, expected: a },
        );
      }
    }
    if (path.dirname(a) === a) return;
  }
}

/**
 * Reads the CLI's JSON configuration file:
 * `{nodeHostDir, walDir?, raftAddress, deploymentId?, logDBShards?, execShards?, hostname?, addressByNodeHostId?, logdbType?}`.
 * `deploymentId` may be a JSON number or a decimal string (use a string above
 * 2^53). Relative `nodeHostDir`/`walDir` are taken relative to the file's own
 * directory. Unknown keys are refused, so a misspelt key cannot silently fall
 * back to a default. The result is validated with {@link resolveNodeHostConfig}
 * but returned unresolved.
 */
export async function loadNodeHostConfigFile(file: string): Promise<NodeHostConfig> {
  let text: string;
  try {
    text = await fsp.readFile(file, 'utf8');
  } catch (err) {
    if (isNotFound(err)) {
      throw new ErrPathNotExist(`NodeHost configuration file ${file} does not exist`, { path: file, check: 'config-file' });
    }
    throw ioError(err, 'cannot read NodeHost configuration file', file);
  }
  let parsed: unknown;
  try {
    parsed = JSON.parse(text);
  } catch (err) {
    throw new ErrInvalidConfig(
      `NodeHost configuration file ${file} is not valid JSON: ${(err as Error).message}`,
      {
        path: file,
        check: 'json',
      },
      { cause: err },
    );
  }
  if (parsed === null || typeof parsed !== 'object' || Array.isArray(parsed)) {
    throw new ErrInvalidConfig(`NodeHost configuration file ${file} must hold a JSON object`, { path: file, check: 'json' });
  }
  const obj = parsed as Record<string, unknown>;
  for (const key of Object.keys(obj)) {
    if (!CONFIG_KEYS.has(key)) {
      throw new ErrInvalidConfig(`NodeHost configuration file ${file} has unknown key "${key}" (known: ${[...CONFIG_KEYS].join(', ')})`, {
        path: file,
        field: key,
        check: 'unknown-key',
      });
    }
  }
  const base = path.dirname(path.resolve(file));
  const cfg: NodeHostConfig = {
    nodeHostDir: obj.nodeHostDir as string,
    raftAddress: obj.raftAddress as string,
  };
  if (typeof obj.nodeHostDir === 'string' && obj.nodeHostDir !== '') cfg.nodeHostDir = path.resolve(base, obj.nodeHostDir);
  if (obj.walDir !== undefined)
    cfg.walDir = typeof obj.walDir === 'string' && obj.walDir !== '' ? path.resolve(base, obj.walDir) : (obj.walDir as string);
  if (obj.deploymentId !== undefined) cfg.deploymentId = obj.deploymentId as number | string;
  if (obj.logDBShards !== undefined) cfg.logDBShards = obj.logDBShards as number;
  if (obj.execShards !== undefined) cfg.execShards = obj.execShards as number;
  if (obj.hostname !== undefined) cfg.hostname = obj.hostname as string;
  if (obj.addressByNodeHostId !== undefined) cfg.addressByNodeHostId = obj.addressByNodeHostId as boolean;
  if (obj.logdbType !== undefined) cfg.logdbType = obj.logdbType as LogDBType;
  try {
    resolveNodeHostConfig(cfg);
  } catch (err) {
    if (err instanceof ErrInvalidConfig) {
      throw new ErrInvalidConfig(`${err.message} (in ${file})`, { ...err.details, path: file }, { cause: err });
    }
    throw err;
  }
  return cfg;
}
