/**
 * The worked example (../helpers/worked-example.ts) on temp directories, for
 * the CLI tests: m1 holds a running node's data (entries 1..LAST_INDEX, a
 * snapshot at SNAPSHOT_INDEX, term TERM); m4 and m5 are empty hosts; the export
 * is m1's snapshot, laid out as Dragonboat exports it.
 */
import { TEST_LOGDB_TYPE } from '../helpers/store.js';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { NodeHostConfig } from '../../src/nodehost/config.js';
import { samplePayload, writeSampleExport, writeSampleNode } from '../../src/ops/sample-node.js';
import { StateMachineType } from '../../src/records/types.js';
import { writeFileSync } from 'node:fs';
import { treeHash } from '../helpers/tree.js';
import { runCli, writeConfig, type CliRun } from './run.js';
import { M1, M2, M3, MEMBERS, SHARD, SNAPSHOT_INDEX, TERM } from '../helpers/worked-example.js';

/** m1's last index: a shorter log than the demo's (620), so the CLI suites stay quick. */
export const LAST_INDEX = 460n;
/** The configuration change ID recorded in the exported membership (the sample node's default). */
export const CONFIG_CHANGE_ID = 3n;

/** One host of the example. */
export interface Host {
  name: string;
  replicaId: string;
  config: NodeHostConfig;
  /** Path of its configuration file. */
  configFile: string;
  /** Its NodeHost directory. */
  dir: string;
}

/** The laid-out example. */
export interface WorkedExample {
  root: string;
  /** The export directory (`snapshot-<INDEX>`). */
  exportDir: string;
  m1: Host;
  m4: Host;
  m5: Host;
  cleanup(): Promise<void>;
}

function host(root: string, name: string, replicaId: string): Host {
  const config: NodeHostConfig = {
    nodeHostDir: join(root, name, 'nodehost'),
    raftAddress: `${name}:63001`,
    hostname: name,
    logdbType: TEST_LOGDB_TYPE,
  };
  return { name, replicaId, config, configFile: writeConfig(root, config, `${name}.json`), dir: join(root, name) };
}

/** Lays out the example; `payloadBytes` sizes the snapshot (default 300 KiB). */
export async function workedExample(payloadBytes = 300 * 1024): Promise<WorkedExample> {
  const root = await mkdtemp(join(tmpdir(), 'nht-cli-example-'));
  const m1 = host(root, 'm1', '1');
  const payload = samplePayload(payloadBytes);
  const record = await writeSampleNode({
    config: m1.config,
    shardId: SHARD,
    replicaId: 1n,
    members: new Map([
      [1n, M1],
      [2n, M2],
      [3n, M3],
    ]),
    lastIndex: LAST_INDEX,
    snapshotIndex: SNAPSHOT_INDEX,
    term: TERM,
    configChangeId: CONFIG_CHANGE_ID,
    payload,
    type: StateMachineType.Regular,
  });
  const exportDir = await writeSampleExport(join(root, 'backup'), record!, payload);
  return {
    root,
    exportDir,
    m1,
    m4: host(root, 'm4', '4'),
    m5: host(root, 'm5', '5'),
    cleanup: () => rm(root, { recursive: true, force: true }),
  };
}

/** The CLI arguments of the import on `h` (members: {@link MEMBERS}). */
export function importArgs(ex: WorkedExample, h: Host, ...extra: string[]): string[] {
  return ['import', '--config', h.configFile, '--src', ex.exportDir, '--members', MEMBERS, '--replica-id', h.replicaId, ...extra];
}

/**
 * What `plan` reads of the example's hosts, as an operator gathers it: m1's
 * and m4's config files, and m5 — which cannot be reached from here — as the
 * last line of the `inspect --json` its operator ran there, sent over and
 * saved as `m5-inspect.json` in the example's root (plan runs from there).
 */
export async function planHosts(ex: WorkedExample): Promise<{ hosts: string[]; inspectRun: CliRun }> {
  const inspectRun = await runCli(['inspect', '--config', ex.m5.configFile, '--shard-id', String(SHARD), '--replica-id', '5', '--json']);
  const m5View = join(ex.root, 'm5-inspect.json');
  writeFileSync(m5View, `${inspectRun.stdout.trim().split('\n').at(-1)!}\n`);
  return { hosts: ['--config', 'm1.json', '--config', 'm4.json', '--config', 'm5-inspect.json'], inspectRun };
}

/** Tree hashes of every directory of the example (the three hosts and the export): a plan must change none. */
export function exampleTrees(ex: WorkedExample): Promise<string[]> {
  return Promise.all([ex.m1.dir, ex.m4.dir, ex.m5.dir, ex.exportDir].map((d) => treeHash(d)));
}
