/**
 * The engine of a log store is decided before anything opens a partition, and
 * LevelDB never opens a Pebble partition: LevelDB 1.20 "succeeds" on an empty
 * Pebble store or one whose data is only in its WAL, rewrites the MANIFEST and
 * deletes the WAL. Every refusal leaves the directory byte-identical.
 */
import * as fsp from 'node:fs/promises';
import * as path from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { ErrLogDBType, ErrUnsupportedLogStore } from '../../src/errors.js';
import { LogDB } from '../../src/logdb/logdb.js';
import { LogDBPartition } from '../../src/logdb/leveldb-partition.js';
import { checkLevelDBPartitionFiles, resolveLogStore } from '../../src/logdb/store-kind.js';
import { PebblePartition } from '../../src/logdb/pebble/partition.js';
import { resolveNodeHostConfig } from '../../src/nodehost/config.js';
import { copyPebbleHost, type PebbleHostCopy } from '../helpers/pebble-fixture.js';
import { treeSnapshot } from '../helpers/tree.js';

const copies: PebbleHostCopy[] = [];
afterEach(async () => {
  for (const c of copies.splice(0)) await c.cleanup();
});

async function host(): Promise<PebbleHostCopy> {
  const c = await copyPebbleHost(1);
  copies.push(c);
  return c;
}

describe('which engine holds the store', () => {
  it('a Dragonboat v4 directory is Pebble by its dragonboat.ds, with no logdbType configured', async () => {
    const h = await host();
    const choice = await resolveLogStore(resolveNodeHostConfig(h.config));
    expect(choice).toEqual({ kind: 'pebble', logdbType: 'sharded-pebble', source: 'dragonboat.ds' });
    const db = await LogDB.open(resolveNodeHostConfig(h.config), { readOnly: true });
    expect(db.kind).toBe('pebble');
    await db.close();
  });

  it("a fresh host gets the configured store, else Dragonboat v4's default (Pebble)", async () => {
    const h = await host();
    const fresh = path.join(h.root, 'fresh');
    expect(await resolveLogStore(resolveNodeHostConfig({ nodeHostDir: fresh, raftAddress: 'm4:1' }))).toEqual({
      kind: 'pebble',
      logdbType: 'sharded-pebble',
      source: 'default',
    });
    expect(await resolveLogStore(resolveNodeHostConfig({ nodeHostDir: fresh, raftAddress: 'm4:1', logdbType: 'sharded-leveldb' }))).toEqual(
      { kind: 'leveldb', logdbType: 'sharded-leveldb', source: 'config' },
    );
  });

  it('a configuration that contradicts dragonboat.ds is refused before any partition is touched', async () => {
    const h = await host();
    const before = await treeSnapshot(h.nodeHostDir);
    const cfg = resolveNodeHostConfig({ ...h.config, logdbType: 'sharded-leveldb' });
    await expect(LogDB.open(cfg)).rejects.toMatchObject({
      code: 'ErrLogDBType',
      details: { check: 'logdb-type', actual: 'sharded-pebble' },
    });
    await expect(resolveLogStore(cfg)).rejects.toBeInstanceOf(ErrLogDBType);
    expect(await treeSnapshot(h.nodeHostDir)).toEqual(before);
  });
});

describe('LevelDB never opens a Pebble partition', () => {
  it('an empty Pebble store (only OPTIONS, MANIFEST, CURRENT and an empty WAL): refused, byte-identical', async () => {
    const h = await host();
    const dir = h.partitionDir(0);
    const before = await treeSnapshot(dir);
    const part = new LogDBPartition(dir);
    await expect(part.get(new Uint8Array([2, 2]))).rejects.toMatchObject({
      code: 'ErrUnsupportedLogStore',
      details: { check: 'foreign-engine-file', expected: 'leveldb', actual: 'pebble' },
    });
    await expect(part.write([{ type: 'put', key: new Uint8Array([1]), value: new Uint8Array([1]) }])).rejects.toBeInstanceOf(
      ErrUnsupportedLogStore,
    );
    await part.close();
    expect(await treeSnapshot(dir)).toEqual(before);
  });

  it('a store whose data is only in its WAL (no CURRENT, no OPTIONS): refused, byte-identical', async () => {
    const h = await host();
    const dir = h.partitionDir(4);
    // What a Pebble store that never flushed and never wrote OPTIONS looks like to LevelDB: a WAL and nothing it knows.
    for (const name of await fsp.readdir(dir)) if (!name.endsWith('.log') && name !== 'LOCK') await fsp.rm(path.join(dir, name));
    const before = await treeSnapshot(dir);
    const part = new LogDBPartition(dir);
    await expect(part.get(new Uint8Array([2, 2]))).rejects.toMatchObject({
      code: 'ErrUnsupportedLogStore',
      details: { check: 'no-current' },
    });
    await expect(part.write([{ type: 'put', key: new Uint8Array([1]), value: new Uint8Array([1]) }])).rejects.toBeInstanceOf(
      ErrUnsupportedLogStore,
    );
    await part.close();
    expect(await treeSnapshot(dir)).toEqual(before);
  });

  it('a directory whose dragonboat.ds says LevelDB but whose partitions Pebble wrote: every LogDB read refused, byte-identical', async () => {
    const h = await host();
    // Rewrite nothing: point a LevelDB store kind at the Pebble files, as a wrong dragonboat.ds would.
    const cfg = resolveNodeHostConfig(h.config);
    const before = await treeSnapshot(h.nodeHostDir);
    const db = await LogDB.open(cfg, { store: { kind: 'leveldb', logdbType: 'sharded-leveldb', source: 'dragonboat.ds' } });
    await expect(db.nodeRecords(100n, 1n)).rejects.toBeInstanceOf(ErrUnsupportedLogStore);
    await expect(db.listNodeInfo()).rejects.toBeInstanceOf(ErrUnsupportedLogStore);
    await db.close();
    expect(await treeSnapshot(h.nodeHostDir)).toEqual(before);
  });

  it('a LevelDB file in a Pebble partition is refused for Pebble too', async () => {
    const h = await host();
    const dir = h.partitionDir(4);
    await fsp.writeFile(path.join(dir, 'LOG'), '');
    const part = new PebblePartition({ dataDir: dir, walDir: dir }, { readOnly: true });
    await expect(part.get(new Uint8Array([2, 2]))).rejects.toMatchObject({
      code: 'ErrUnsupportedLogStore',
      details: { check: 'leveldb-file', path: path.join(dir, 'LOG') },
    });
    await part.close();
    await expect(checkLevelDBPartitionFiles(path.join(h.root, 'missing'))).resolves.toBeUndefined();
  });
});

describe('the entry format comes from what the directory records', () => {
  it('dragonboat.ds says bin_ver: no partition is opened to find it (a partition LevelDB must not open is not touched)', async () => {
    const h = await host();
    const cfg = resolveNodeHostConfig(h.config);
    // Every partition of this host is Pebble's: a scan on the LevelDB engine would refuse the first one.
    const db = await LogDB.open(cfg, { readOnly: true, store: { kind: 'leveldb', logdbType: 'sharded-leveldb', source: 'dragonboat.ds' } });
    try {
      expect(await db.detectEntryFormat()).toBe(100);
      await expect(db.nodeRecords(100n, 1n)).rejects.toBeInstanceOf(ErrUnsupportedLogStore);
    } finally {
      await db.close();
    }
  });
});
