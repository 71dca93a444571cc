/**
 * After an import no byte of the replica's old history stays on disk: the
 * stale entries are deleted and their key range compacted, on the native
 * bulk path and on the portable (classic-level) path alike.
 */
import { readdirSync, readFileSync } from 'node:fs';
import { rm } from 'node:fs/promises';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { loadNative } from '../../src/engines/native.js';
import { logdbPartitionDir } from '../../src/nodehost/paths.js';
import { exportSnapshot } from '../../src/ops/export.js';
import { importSnapshot } from '../../src/ops/import.js';
import { inspectNode } from '../../src/ops/inspect.js';
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
  ['native', false],
  ['classic-level', true],
] as const)('stale entries on the %s path', (_name, disableNative) => {
  for (const batched of [false, true]) {
    it(`are physically gone after the import (${batched ? 'batched' : 'plain'} store)`, async () => {
      if (!disableNative && !loadNative()) throw new Error('the native addon is not built: run npm run build:native');
      const m1 = await makeRunningNode({ entries: 20_000, snapshotIndex: 10n, batched });
      cleanups.push(m1.cleanup);
      // Another replica in the same partition keeps its history.
      const m2 = await makeRunningNode({ root: m1.root, replicaId: 2n, entries: 30, snapshotIndex: 0n, batched });
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
