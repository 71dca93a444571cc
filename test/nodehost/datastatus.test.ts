import { createHash } from 'node:crypto';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import {
  ErrAddressByNodeHostIDChanged,
  ErrCorruptFlagFile,
  ErrDeploymentIDChanged,
  ErrHardSettingsChanged,
  ErrHostnameChanged,
  ErrIncompatibleData,
  ErrLogDBType,
  ErrNotOwner,
  type NodeHostToolsError,
} from '../../src/errors.js';
import { readFlagFile, writeFlagFile } from '../../src/files/flagfile.js';
import { resolveNodeHostConfig, type NodeHostConfig } from '../../src/nodehost/config.js';
import {
  checkDataStatus,
  checkOrCreateDataStatus,
  checkOrCreateDataStatusFiles,
  hardHash,
  newDataStatus,
} from '../../src/nodehost/datastatus.js';
import { BIN_VER_BATCHED, BIN_VER_PLAIN } from '../../src/nodehost/settings.js';
import { decodeRaftDataStatus, encodeRaftDataStatus } from '../../src/records/codec.js';
import type { RaftDataStatus } from '../../src/records/types.js';
import { treeSnapshot } from '../helpers/tree.js';

const base: NodeHostConfig = { nodeHostDir: '/nh', raftAddress: 'm1:63001', hostname: 'host1', deploymentId: 9 };
const cfg = resolveNodeHostConfig(base);
const good = (): RaftDataStatus => newDataStatus(cfg, BIN_VER_PLAIN);

function failure(status: RaftDataStatus, binVer: 100 | 210 | undefined = BIN_VER_PLAIN, c = cfg): NodeHostToolsError {
  try {
    checkDataStatus(status, c, binVer, '/nh/dragonboat.ds');
  } catch (err) {
    return err as NodeHostToolsError;
  }
  throw new Error('check passed');
}

describe('hardHash', () => {
  it('is uint64le(md5("<exec>-<logdb>-false-4096-48")[0:8])', () => {
    const md5 = createHash('md5').update('16-16-false-4096-48').digest();
    expect(hardHash(16, 16)).toBe(md5.readBigUInt64LE(0));
    expect(hardHash(16, 16)).not.toBe(hardHash(16, 8));
  });
});

describe('checkDataStatus', () => {
  it('accepts what a fresh directory records, with address and hostname compared case-insensitively and trimmed', () => {
    checkDataStatus(good(), cfg, BIN_VER_PLAIN);
    checkDataStatus({ ...good(), address: ' M1:63001 ', hostname: 'HOST1' }, cfg, BIN_VER_PLAIN);
    checkDataStatus({ ...good(), hostname: '' }, cfg, BIN_VER_PLAIN); // unset hostname is not checked
    checkDataStatus({ ...good(), deploymentId: 0n }, cfg, BIN_VER_PLAIN); // unset deployment is not checked
    checkDataStatus({ ...good(), hardHash: hardHash(16, 16), stepWorkerCount: 0n, logdbShardCount: 0n }, cfg, BIN_VER_PLAIN);
    checkDataStatus({ ...good(), binVer: BIN_VER_BATCHED }, cfg, undefined); // store without entries: either format
  });

  it.each([
    ['logdb-type', ErrLogDBType, { logdbType: 'tee' }],
    ['address', ErrNotOwner, { address: 'm2:63001' }],
    ['hostname', ErrHostnameChanged, { hostname: 'host2' }],
    ['deployment-id', ErrDeploymentIDChanged, { deploymentId: 8n }],
    ['address-by-node-host-id', ErrAddressByNodeHostIDChanged, { addressByNodeHostId: true }],
    ['bin-ver', ErrIncompatibleData, { binVer: BIN_VER_BATCHED }],
    ['hard-hash', ErrHardSettingsChanged, { hardHash: hardHash(16, 8) }],
    ['step_worker_count', ErrHardSettingsChanged, { stepWorkerCount: 8n }],
    ['logdb_shard_count', ErrHardSettingsChanged, { logdbShardCount: 4n }],
    ['max_session_count', ErrHardSettingsChanged, { maxSessionCount: 1024n }],
    ['entry_batch_size', ErrHardSettingsChanged, { entryBatchSize: 64n }],
  ] as const)('fails check %s with its own class naming file, expected and actual', (check, cls, patch) => {
    const err = failure({ ...good(), ...patch } as RaftDataStatus);
    expect(err).toBeInstanceOf(cls);
    expect(err.details.check).toBe(check);
    expect(err.details.path).toBe('/nh/dragonboat.ds');
    expect(err.details).toHaveProperty('expected');
    expect(err.details).toHaveProperty('actual');
    expect(err.message).toContain('/nh/dragonboat.ds');
  });

  it('takes the store from dragonboat.ds when the configuration names none, and refuses a configuration that contradicts it', () => {
    checkDataStatus({ ...good(), logdbType: 'sharded-pebble' }, cfg, BIN_VER_PLAIN);
    checkDataStatus({ ...good(), logdbType: 'sharded-rocksdb' }, cfg, BIN_VER_PLAIN);
    const pebble = resolveNodeHostConfig({ ...base, logdbType: 'sharded-pebble' });
    checkDataStatus({ ...good(), logdbType: 'sharded-rocksdb' }, pebble, BIN_VER_PLAIN); // the same store under its RocksDB-era name
    let err: unknown;
    try {
      checkDataStatus({ ...good(), logdbType: 'sharded-leveldb' }, pebble, BIN_VER_PLAIN, '/nh/dragonboat.ds');
    } catch (e) {
      err = e;
    }
    expect(err).toBeInstanceOf(ErrLogDBType);
    expect(err).toMatchObject({ details: { check: 'logdb-type', expected: 'sharded-pebble', actual: 'sharded-leveldb' } });
  });

  it('checks in Dragonboat order: logdb type before address before hostname ...', () => {
    expect(failure({ ...good(), logdbType: 'x', address: 'y' })).toBeInstanceOf(ErrLogDBType);
    expect(failure({ ...good(), address: 'y', hostname: 'z' })).toBeInstanceOf(ErrNotOwner);
    expect(failure({ ...good(), hostname: 'z', deploymentId: 3n })).toBeInstanceOf(ErrHostnameChanged);
    expect(failure({ ...good(), deploymentId: 3n, addressByNodeHostId: true })).toBeInstanceOf(ErrDeploymentIDChanged);
    expect(failure({ ...good(), addressByNodeHostId: true, binVer: 210 })).toBeInstanceOf(ErrAddressByNodeHostIDChanged);
    expect(failure({ ...good(), binVer: 210, entryBatchSize: 1n })).toBeInstanceOf(ErrIncompatibleData);
  });

  it('skips the address check when addressByNodeHostId is enabled', () => {
    const c = resolveNodeHostConfig({ ...base, addressByNodeHostId: true });
    checkDataStatus({ ...newDataStatus(c, BIN_VER_PLAIN), address: 'elsewhere:1' }, c, BIN_VER_PLAIN);
  });
});

describe('checkOrCreateDataStatus on disk', () => {
  let root: string;
  beforeEach(() => {
    root = fs.mkdtempSync(path.join(os.tmpdir(), 'nht-ds-'));
  });
  afterEach(() => {
    fs.rmSync(root, { recursive: true, force: true });
  });

  const config = (extra: Partial<NodeHostConfig> = {}) => resolveNodeHostConfig({ ...base, nodeHostDir: path.join(root, 'nh'), ...extra });

  it('dry run creates nothing, a real run creates the file (and its directory), then checks it', async () => {
    const c = config();
    const dry = await checkOrCreateDataStatus(c.nodeHostDir, c, BIN_VER_PLAIN, { dryRun: true });
    expect(dry.outcome).toBe('would-create');
    expect(fs.existsSync(c.nodeHostDir)).toBe(false);
    const made = await checkOrCreateDataStatus(c.nodeHostDir, c, BIN_VER_PLAIN);
    expect(made.outcome).toBe('created');
    const onDisk = await readFlagFile(made.path, decodeRaftDataStatus);
    expect(onDisk).toEqual(newDataStatus(c, BIN_VER_PLAIN));
    // No logdbType configured: a fresh host gets Dragonboat v4's default store.
    expect(onDisk).toMatchObject({ logdbType: 'sharded-pebble', binVer: 100, hardHash: 0n, deploymentId: 9n, hostname: 'host1' });
    expect((await checkOrCreateDataStatus(c.nodeHostDir, c, BIN_VER_PLAIN)).outcome).toBe('ok');
    const other = config({ raftAddress: 'm9:1' });
    await expect(checkOrCreateDataStatus(c.nodeHostDir, other, BIN_VER_PLAIN, { dryRun: true })).rejects.toBeInstanceOf(ErrNotOwner);
  });

  it('with a WALDir checks both and creates nothing when one check fails', async () => {
    const c = config({ walDir: path.join(root, 'wal') });
    fs.mkdirSync(c.walDir!, { recursive: true });
    await writeFlagFile(
      path.join(c.walDir!, 'dragonboat.ds'),
      encodeRaftDataStatus({ ...newDataStatus(c, BIN_VER_PLAIN), hostname: 'elsewhere' }),
    );
    const before = await treeSnapshot(root);
    await expect(checkOrCreateDataStatusFiles(c, BIN_VER_PLAIN)).rejects.toBeInstanceOf(ErrHostnameChanged);
    expect(await treeSnapshot(root)).toEqual(before);
  });

  it('with a WALDir creates both files', async () => {
    const c = config({ walDir: path.join(root, 'wal') });
    const results = await checkOrCreateDataStatusFiles(c, BIN_VER_BATCHED);
    expect(results.map((r) => [r.path, r.outcome])).toEqual([
      [path.join(root, 'nh', 'dragonboat.ds'), 'created'],
      [path.join(root, 'wal', 'dragonboat.ds'), 'created'],
    ]);
    expect((await readFlagFile(results[1]!.path, decodeRaftDataStatus)).binVer).toBe(210);
    expect((await checkOrCreateDataStatusFiles(c, BIN_VER_BATCHED, { dryRun: true })).map((r) => r.outcome)).toEqual(['ok', 'ok']);
  });

  it('reports a corrupt file as ErrCorruptFlagFile', async () => {
    const c = config();
    fs.mkdirSync(c.nodeHostDir, { recursive: true });
    fs.writeFileSync(path.join(c.nodeHostDir, 'dragonboat.ds'), 'short');
    await expect(checkOrCreateDataStatus(c.nodeHostDir, c, BIN_VER_PLAIN)).rejects.toBeInstanceOf(ErrCorruptFlagFile);
  });
});
