import * as path from 'node:path';
import { describe, expect, it } from 'vitest';
import { ErrInvalidConfig } from '../../src/errors.js';
import { resolveNodeHostConfig } from '../../src/nodehost/config.js';
import {
  dataDirs,
  deploymentDir,
  deploymentDirName,
  generatingDirName,
  indexHex,
  logdbPartition,
  logdbPartitionDir,
  receivingDirName,
  snapshotDirName,
  snapshotFileName,
  snapshotPartDirName,
  snapshotPaths,
  snapshotRootDir,
  walDeploymentDir,
} from '../../src/nodehost/paths.js';

const MAX = 18446744073709551615n;
const cfg = resolveNodeHostConfig({ nodeHostDir: '/nh', walDir: '/wal', raftAddress: 'a:1', hostname: 'h1', deploymentId: 5 });

describe('NodeHost paths', () => {
  it('names the deployment directory with 20 zero-padded digits', () => {
    expect(deploymentDirName(1n)).toBe('00000000000000000001');
    expect(deploymentDirName(MAX)).toBe('18446744073709551615');
    expect(deploymentDir(cfg)).toBe('/nh/h1/00000000000000000005');
    expect(walDeploymentDir(cfg)).toBe('/wal/h1/00000000000000000005');
    expect(dataDirs(cfg)).toEqual(['/nh', '/wal']);
    const noWal = resolveNodeHostConfig({ nodeHostDir: '/nh', raftAddress: 'a:1', hostname: 'h1' });
    expect(walDeploymentDir(noWal)).toBeUndefined();
    expect(dataDirs(noWal)).toEqual(['/nh']);
    expect(deploymentDir(noWal)).toBe('/nh/h1/00000000000000000001');
  });

  it('computes the partition as Dragonboat v4 does, (shardID % logDBShards) % execShards, bigint-safe', () => {
    expect(logdbPartition(100n, 16, 16)).toBe(4);
    // LogDBShards 16, ExecShards 12 (arguments: shard, execShards, logDBShards).
    expect(logdbPartition(13n, 12, 16)).toBe(1); // 13 % 16 = 13, 13 % 12 = 1
    expect(logdbPartition(20n, 12, 16)).toBe(4); // 20 % 16 = 4 (the reversed order gives 20 % 12 = 8)
    expect(logdbPartition(28n, 12, 16)).toBe(0); // 28 % 16 = 12, 12 % 12 = 0 (reversed: 4)
    expect(logdbPartition(46n, 12, 16)).toBe(2); // 46 % 16 = 14, 14 % 12 = 2 (reversed: 10)
    // ExecShards larger than LogDBShards: the second modulus never bites.
    expect(logdbPartition(19n, 10, 4)).toBe(3); // 19 % 4 = 3, 3 % 10 = 3 (reversed: 1)
    expect(logdbPartition(20n, 3, 16)).toBe(1); // 20 % 16 = 4, 4 % 3 = 1 (reversed: 2)
    expect(logdbPartition(MAX, 16, 16)).toBe(15);
    expect(logdbPartition(MAX, 7, 16)).toBe(Number((MAX % 16n) % 7n));
    expect(logdbPartition(2n ** 63n + 5n, 16, 16)).toBe(5);
    expect(logdbPartitionDir(cfg, 100n)).toBe('/nh/h1/00000000000000000005/logdb-4');
    const cfg1612 = resolveNodeHostConfig({ nodeHostDir: '/nh', raftAddress: 'a:1', hostname: 'h1', logDBShards: 16, execShards: 12 });
    expect(logdbPartitionDir(cfg1612, 13n)).toBe('/nh/h1/00000000000000000001/logdb-1');
    expect(logdbPartitionDir(cfg1612, 20n)).toBe('/nh/h1/00000000000000000001/logdb-4');
  });

  it('lays out snapshot roots under snapshot-part-<shardID % 512>', () => {
    expect(snapshotPartDirName(100n)).toBe('snapshot-part-100');
    expect(snapshotPartDirName(512n + 3n)).toBe('snapshot-part-3');
    expect(snapshotPartDirName(MAX)).toBe(`snapshot-part-${MAX % 512n}`);
    expect(snapshotRootDir(cfg, 1000n, 7n)).toBe('/nh/h1/00000000000000000005/snapshot-part-488/snapshot-1000-7');
  });

  it('writes the index as 16 upper-case hex digits', () => {
    expect(indexHex(0n)).toBe('0000000000000000');
    expect(indexHex(255n)).toBe('00000000000000FF');
    expect(indexHex(MAX)).toBe('FFFFFFFFFFFFFFFF');
    expect(snapshotDirName(0xabcdefn)).toBe('snapshot-0000000000ABCDEF');
    expect(snapshotFileName(26n)).toBe('snapshot-000000000000001A.gbsnap');
    expect(generatingDirName(26n, 3n)).toBe('snapshot-000000000000001A-3.generating');
    expect(receivingDirName(26n, 12n)).toBe('snapshot-000000000000001A-12.receiving');
  });

  it('gathers the paths of one snapshot', () => {
    const p = snapshotPaths(cfg, 100n, 1n, 16n);
    const root = '/nh/h1/00000000000000000005/snapshot-part-100/snapshot-100-1';
    expect(p).toEqual({
      root,
      finalDir: path.join(root, 'snapshot-0000000000000010'),
      file: path.join(root, 'snapshot-0000000000000010', 'snapshot-0000000000000010.gbsnap'),
      flagFile: path.join(root, 'snapshot-0000000000000010', 'dragonboat.snapshot.message'),
      generatingDir: path.join(root, 'snapshot-0000000000000010-1.generating'),
    });
  });

  it('refuses IDs outside uint64', () => {
    expect(() => snapshotDirName(-1n)).toThrow(ErrInvalidConfig);
    expect(() => logdbPartition(MAX + 1n, 16, 16)).toThrow(ErrInvalidConfig);
    expect(() => snapshotRootDir(cfg, 1.5, 1)).toThrow(ErrInvalidConfig);
  });
});
