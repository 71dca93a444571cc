import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { ErrInvalidConfig, ErrPathNotExist } from '../../src/errors.js';
import { loadNodeHostConfigFile, parseDeploymentId, resolveNodeHostConfig } from '../../src/nodehost/config.js';

describe('resolveNodeHostConfig', () => {
  it('applies defaults: absolute paths, DeploymentID 0 → 1, 16/16 shards, os.hostname()', () => {
    const r = resolveNodeHostConfig({ nodeHostDir: 'rel/dir', raftAddress: ' m1:63001 ' });
    expect(r.nodeHostDir).toBe(path.resolve('rel/dir'));
    expect(r.walDir).toBeUndefined();
    expect(r.raftAddress).toBe('m1:63001');
    expect(r.deploymentId).toBe(1n);
    expect(r.logDBShards).toBe(16);
    expect(r.execShards).toBe(16);
    expect(r.hostname).toBe(os.hostname());
    expect(r.addressByNodeHostId).toBe(false);
    expect(Object.isFrozen(r)).toBe(true);
  });

  it('keeps explicit values and accepts DeploymentID as number, bigint or decimal string', () => {
    const base = { nodeHostDir: '/a', walDir: '/w', raftAddress: 'x:1', logDBShards: 4, execShards: 8, hostname: 'other' };
    expect(resolveNodeHostConfig({ ...base, deploymentId: 42 }).deploymentId).toBe(42n);
    expect(resolveNodeHostConfig({ ...base, deploymentId: 18446744073709551615n }).deploymentId).toBe(18446744073709551615n);
    expect(resolveNodeHostConfig({ ...base, deploymentId: '18446744073709551615' }).deploymentId).toBe(18446744073709551615n);
    expect(resolveNodeHostConfig({ ...base, deploymentId: '0' }).deploymentId).toBe(1n);
    const r = resolveNodeHostConfig(base);
    expect([r.walDir, r.logDBShards, r.execShards, r.hostname]).toEqual(['/w', 4, 8, 'other']);
  });

  it.each([
    ['nodeHostDir', { nodeHostDir: '' }],
    ['raftAddress', { raftAddress: '   ' }],
    ['walDir', { walDir: '' }],
    ['deploymentId', { deploymentId: -1 }],
    ['deploymentId', { deploymentId: 1.5 }],
    ['deploymentId', { deploymentId: 2 ** 60 }],
    ['deploymentId', { deploymentId: '18446744073709551616' }],
    ['deploymentId', { deploymentId: '12ab' }],
    ['logDBShards', { logDBShards: 0 }],
    ['execShards', { execShards: 2.5 }],
    ['hostname', { hostname: 'a/b' }],
    ['addressByNodeHostId', { addressByNodeHostId: 'yes' }],
  ])('refuses a bad %s with ErrInvalidConfig naming it', (field, patch) => {
    const cfg = { nodeHostDir: '/a', raftAddress: 'x:1', ...patch } as Parameters<typeof resolveNodeHostConfig>[0];
    let err: unknown;
    try {
      resolveNodeHostConfig(cfg);
    } catch (e) {
      err = e;
    }
    expect(err).toBeInstanceOf(ErrInvalidConfig);
    expect((err as ErrInvalidConfig).details.field).toBe(field);
    expect((err as Error).message).toContain(field);
  });

  it('parseDeploymentId leaves 0 as 0 (the 0 → 1 rule belongs to resolve)', () => {
    expect(parseDeploymentId(undefined)).toBe(0n);
    expect(parseDeploymentId('007')).toBe(7n);
  });
});

describe('loadNodeHostConfigFile', () => {
  let dir: string;
  beforeEach(() => {
    dir = fs.mkdtempSync(path.join(os.tmpdir(), 'nht-cfg-'));
  });
  afterEach(() => {
    fs.rmSync(dir, { recursive: true, force: true });
  });

  const write = (obj: unknown, raw?: string): string => {
    const f = path.join(dir, 'nh.json');
    fs.writeFileSync(f, raw ?? JSON.stringify(obj));
    return f;
  };

  it('reads every field; relative dirs resolve against the file; deploymentId as string', async () => {
    const f = write({
      nodeHostDir: 'data',
      walDir: '/abs/wal',
      raftAddress: 'm4:63001',
      deploymentId: '18446744073709551615',
      logDBShards: 2,
      execShards: 3,
      hostname: 'm4',
      addressByNodeHostId: false,
    });
    const cfg = await loadNodeHostConfigFile(f);
    expect(cfg).toEqual({
      nodeHostDir: path.join(dir, 'data'),
      walDir: '/abs/wal',
      raftAddress: 'm4:63001',
      deploymentId: '18446744073709551615',
      logDBShards: 2,
      execShards: 3,
      hostname: 'm4',
      addressByNodeHostId: false,
    });
    expect(resolveNodeHostConfig(cfg).deploymentId).toBe(18446744073709551615n);
  });

  it('accepts deploymentId as a JSON number', async () => {
    const cfg = await loadNodeHostConfigFile(write({ nodeHostDir: '/d', raftAddress: 'a:1', deploymentId: 12 }));
    expect(resolveNodeHostConfig(cfg).deploymentId).toBe(12n);
  });

  it('refuses unknown keys, bad JSON, non-objects and invalid values with ErrInvalidConfig naming the file', async () => {
    for (const [obj, raw] of [
      [{ nodeHostDir: '/d', raftAddress: 'a:1', nodehostDir: 'typo' }, undefined],
      [undefined, '{not json'],
      [undefined, '[1,2]'],
      [{ nodeHostDir: '/d' }, undefined],
      // biome-ignore lint/correctness/noPrecisionLoss: a JSON number past 2^53 is the case under test
      [{ nodeHostDir: '/d', raftAddress: 'a:1', deploymentId: 18446744073709551615 }, undefined],
    ] as const) {
      const f = write(obj, raw);
      const err = await loadNodeHostConfigFile(f).catch((e: unknown) => e);
      expect(err).toBeInstanceOf(ErrInvalidConfig);
      expect((err as ErrInvalidConfig).details.path).toBe(f);
    }
  });

  it('reports a missing file as ErrPathNotExist', async () => {
    await expect(loadNodeHostConfigFile(path.join(dir, 'none.json'))).rejects.toBeInstanceOf(ErrPathNotExist);
  });
});
