/**
 * The worked example of docs/import-contract.md on temp directories, for the CLI tests:
 * shard 100 ran replicas 1, 2, 3 on m1, m2, m3; m2 and m3 are gone; replicas
 * 4 and 5 on m4 and m5 replace them. m1 holds a running node's data (entries
 * 1..LAST_INDEX, a snapshot at SNAPSHOT_INDEX); m4 and m5 are empty hosts;
 * the export is m1's snapshot, laid out as Dragonboat exports it.
 */
import { TEST_LOGDB_TYPE } from '../helpers/store.js';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { NodeHostConfig } from '../../src/nodehost/config.js';
import { samplePayload, writeSampleExport, writeSampleNode } from '../../src/ops/sample-node.js';
import { StateMachineType } from '../../src/records/types.js';
import { writeConfig } from './run.js';

export const SHARD = 100n;
export const SNAPSHOT_INDEX = 400n;
export const LAST_INDEX = 460n;
export const TERM = 5n;
/** The configuration change ID recorded in the exported membership. */
export const CONFIG_CHANGE_ID = 3n;
export const MEMBERS = '1=m1:63001,4=m4:63001,5=m5:63001';

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
      [1n, 'm1:63001'],
      [2n, 'm2:63001'],
      [3n, 'm3:63001'],
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
