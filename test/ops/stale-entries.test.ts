/**
 * After an import no byte of the replica's old history stays on disk (LevelDB:
 * the stale entries are deleted and their key range compacted, with or without
 * the native addon), or readable (Pebble: one range tombstone in the commit
 * batch, applied to whole files by Pebble's next compaction).
 */
import { readdirSync, readFileSync } from 'node:fs';
import { rm } from 'node:fs/promises';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { loadNative } from '../../src/native/binding.js';
import { logdbPartitionDir } from '../../src/nodehost/paths.js';
import { exportSnapshot } from '../../src/ops/export.js';
import { importSnapshot } from '../../src/ops/import.js';
import { inspectNode } from '../../src/ops/inspect.js';
import { LogDB } from '../../src/logdb/logdb.js';
import { makeRunningNode, makeTempDir } from '../helpers/nodehost.js';

const cleanups: (() => Promise<void>)[] = [];
afterEach(async () => {
  delete process.env.NODEHOST_TOOLS_DISABLE_NATIVE;
  for (const c of cleanups.splice(0)) await c();
});

/**
 * Bytes of the partition's data files (tables and write-ahead log). Snappy
 * hides repeated markers inside compressed tables, so the physical check is
 * on size: 20k entries take hundreds of KiB; compacted away, a few KiB stay.
 */
function dataBytes(dir: string): number {
  return readdirSync(dir)
    .filter((f) => /\.(ldb|sst|log)$/.test(f))
    .reduce((n, f) => n + readFileSync(join(dir, f)).length, 0);
}

describe.each([
  ['with the native addon', false],
  ['without it', true],
] as const)('stale entries on LevelDB, %s', (_name, disableNative) => {
  for (const batched of [false, true]) {
    it(`are physically gone after the import (${batched ? 'batched' : 'plain'} store)`, async () => {
      if (!disableNative && !loadNative()) throw new Error('the native addon is not built: run npm run build:native');
      const leveldb = { logdbType: 'sharded-leveldb' } as const;
      const m1 = await makeRunningNode({ entries: 20_000, snapshotIndex: 10n, batched, config: leveldb });
      cleanups.push(m1.cleanup);
      // Another replica in the same partition keeps its history.
      const m2 = await makeRunningNode({ root: m1.root, replicaId: 2n, entries: 30, snapshotIndex: 0n, batched, config: leveldb });
      void m2;
      const out = await makeTempDir('nht-stale-');
      cleanups.push(() => rm(out, { recursive: true, force: true }));
      const { exportDir } = await exportSnapshot(m1.config, 100n, 1n, out, { engine: 'js' });
      const dir = logdbPartitionDir(m1.cfg, 100n);
      expect(dataBytes(dir)).toBeGreaterThan(200_000);
      if (disableNative) process.env.NODEHOST_TOOLS_DISABLE_NATIVE = '1';
      const res = await importSnapshot(m1.config, exportDir, { 1: 'm1:63001', 4: 'm4:63001' }, 1);
      expect(res.engine).toBe(disableNative ? 'wasm' : 'native');
      if (batched) expect(res.staleEntries!.entryBatchesRemoved).toBeGreaterThan(400);
      else expect(res.staleEntries!.plainEntriesRemoved).toBe(20_000);
      expect(dataBytes(dir)).toBeLessThan(16_384);
      const other = await inspectNode(m1.config, 100n, 2n);
      expect(other.entries.count).toBe(30n);
    });
  }
});

describe('stale entries on Pebble', () => {
  it('go in the commit batch as range tombstones: none readable after the import, the other replica keeps its history', async () => {
    const pebble = { logdbType: 'sharded-pebble' } as const;
    const m1 = await makeRunningNode({ entries: 2_000, snapshotIndex: 10n, config: pebble });
    cleanups.push(m1.cleanup);
    await makeRunningNode({ root: m1.root, replicaId: 2n, entries: 30, snapshotIndex: 0n, config: pebble });
    const out = await makeTempDir('nht-stale-');
    cleanups.push(() => rm(out, { recursive: true, force: true }));
    const { exportDir } = await exportSnapshot(m1.config, 100n, 1n, out, { engine: 'js' });
    const dir = logdbPartitionDir(m1.cfg, 100n);
    const walsBefore = readdirSync(dir).filter((f) => f.endsWith('.log'));
    const res = await importSnapshot(m1.config, exportDir, { 1: 'm1:63001', 4: 'm4:63001' }, 1);
    expect(res.staleEntries).toEqual({
      plainEntriesRemoved: undefined,
      entryBatchesRemoved: undefined,
      plainEntries: { first: 1n, last: 2_000n },
      entryBatches: undefined,
    });
    // One WAL added: the commit; nothing was left for a second removal batch.
    expect(readdirSync(dir).filter((f) => f.endsWith('.log')).length).toBe(walsBefore.length + 1);
    const db = await LogDB.open(m1.cfg, { readOnly: true });
    try {
      expect((await db.nodeRecords(100n, 1n)).plainEntries).toBeUndefined();
      expect((await db.iterateEntries(100n, 1n, 0n, 1n << 62n)).entries).toEqual([]);
    } finally {
      await db.close();
    }
    expect((await inspectNode(m1.config, 100n, 2n)).entries.count).toBe(30n);
  });
});
