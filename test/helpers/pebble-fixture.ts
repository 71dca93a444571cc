/**
 * The NodeHost directories a real default-config Dragonboat v4 cluster wrote
 * (Pebble log store, shard 100 in `logdb-4`), shared read-only beside the
 * project. Tests work on copies: {@link copyPebbleHost}.
 */
import * as fsp from 'node:fs/promises';
import * as os from 'node:os';
import * as path from 'node:path';
import type { NodeHostConfig } from '../../src/nodehost/config.js';
import { PROJECT_ROOT } from './snapshots.js';

/** `../shared/testdata/pebble-v4`. */
export const PEBBLE_FIXTURE = path.resolve(PROJECT_ROOT, '../shared/testdata/pebble-v4');
/** The hostname directory the fixture's NodeHosts ran under (and `dragonboat.ds` records). */
export const PEBBLE_FIXTURE_HOSTNAME = 'vm';
/** The exported snapshot (index 400, term 3, members {1, 2, 3}). */
export const PEBBLE_FIXTURE_EXPORT = path.join(PEBBLE_FIXTURE, 'export', 'snapshot-0000000000000190');
/** The deployment directory under each NodeHost directory (hostname, deployment ID 1). */
export const PEBBLE_FIXTURE_DEPLOYMENT = path.join(PEBBLE_FIXTURE_HOSTNAME, '00000000000000000001');
/** Raft addresses of replicas 1..3 (nh1..nh3). */
export const PEBBLE_FIXTURE_ADDRESSES: Record<1 | 2 | 3, string> = {
  1: '127.0.0.1:26101',
  2: '127.0.0.1:26102',
  3: '127.0.0.1:26103',
};

/** A copy of one fixture NodeHost directory and the configuration that opens it. */
export interface PebbleHostCopy {
  root: string;
  nodeHostDir: string;
  config: NodeHostConfig;
  /** `nodeHostDir/vm/00000000000000000001/logdb-<p>`. */
  partitionDir(p: number): string;
  cleanup(): Promise<void>;
}

/** Copies `nh<replica>` of the fixture into a fresh temp directory. */
export async function copyPebbleHost(replica: 1 | 2 | 3): Promise<PebbleHostCopy> {
  const root = await fsp.mkdtemp(path.join(os.tmpdir(), 'nht-pebble-'));
  const nodeHostDir = path.join(root, `nh${replica}`);
  await fsp.cp(path.join(PEBBLE_FIXTURE, `nh${replica}`), nodeHostDir, { recursive: true });
  return {
    root,
    nodeHostDir,
    config: { nodeHostDir, raftAddress: PEBBLE_FIXTURE_ADDRESSES[replica], hostname: PEBBLE_FIXTURE_HOSTNAME },
    partitionDir: (p) => path.join(nodeHostDir, PEBBLE_FIXTURE_DEPLOYMENT, `logdb-${p}`),
    cleanup: () => fsp.rm(root, { recursive: true, force: true }),
  };
}
