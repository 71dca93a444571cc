/**
 * The repair on the log store real Dragonboat v4 hosts have: copies of the
 * NodeHost directories a default-config Dragonboat v4 cluster wrote (Pebble),
 * the export it wrote, our import on m1 (the survivor, with history) and on
 * fresh hosts m4 and m5, then the records a restarting node reads.
 */
import * as fsp from 'node:fs/promises';
import * as path from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { importSnapshot } from '../../src/ops/import.js';
import { inspectNode } from '../../src/ops/inspect.js';
import { LogDB } from '../../src/logdb/logdb.js';
import { resolveNodeHostConfig } from '../../src/nodehost/config.js';
import { copyPebbleHost, PEBBLE_FIXTURE_EXPORT, type PebbleHostCopy } from '../helpers/pebble-fixture.js';
import { treeSnapshot } from '../helpers/tree.js';

const copies: PebbleHostCopy[] = [];
afterEach(async () => {
  for (const c of copies.splice(0)) await c.cleanup();
});

const MEMBERS = { 1: '127.0.0.1:26101', 4: '127.0.0.1:26104', 5: '127.0.0.1:26105' };

describe('import onto a Dragonboat v4 Pebble host', () => {
  it("m1 (history 200..620): the records a restart reads are the import's, every other partition byte-identical", async () => {
    const h = await copyPebbleHost(1);
    copies.push(h);
    const others = async () => {
      const out: Record<string, unknown> = {};
      for (let p = 0; p < 16; p++) if (p !== 4) out[p] = await treeSnapshot(h.partitionDir(p));
      return out;
    };
    const before = await others();
    const res = await importSnapshot(h.config, PEBBLE_FIXTURE_EXPORT, MEMBERS, 1);
    expect(res.before.raftState).toEqual({ term: 3n, vote: 1n, commit: 620n });
    expect(res.before.plainEntries).toEqual({ first: 200n, last: 620n });
    expect(res.staleEntries).toMatchObject({ plainEntries: { first: 200n, last: 620n }, plainEntriesRemoved: undefined });
    expect(res.warnings.map((w) => w.code)).toContain('entries-discarded');
    expect(await others()).toEqual(before);

    const cfg = resolveNodeHostConfig(h.config);
    const db = await LogDB.open(cfg, { readOnly: true });
    try {
      const rec = await db.nodeRecords(100n, 1n);
      expect(rec.bootstrap).toMatchObject({ join: true, type: 1 });
      expect(rec.raftState).toEqual({ term: 3n, vote: 0n, commit: 400n });
      expect(rec.maxIndex).toBe(400n);
      expect(rec.snapshots.map((s) => s.index)).toEqual([400n]);
      expect(rec.snapshots[0]!.snapshot).toMatchObject({ index: 400n, term: 3n, imported: true });
      expect(rec.plainEntries).toBeUndefined();
      expect(rec.entryBatches).toBeUndefined();
      // The other replicas' records are untouched (none in this host's store but replica 1's).
    } finally {
      await db.close();
    }
    const files = await fsp.readdir(h.partitionDir(4));
    expect(files).toContain('000012.log');
    expect(files.filter((f) => /^(LOG|.*\.ldb)$/.test(f))).toEqual([]);

    const view = await inspectNode(h.config, 100n, 1n);
    expect(view.snapshot?.membership.addresses).toEqual(
      new Map([
        [1n, MEMBERS[1]],
        [4n, MEMBERS[4]],
        [5n, MEMBERS[5]],
      ]),
    );
    expect(view.snapshot?.membership.removed).toEqual(
      new Map([
        [2n, true],
        [3n, true],
      ]),
    );
    expect(view.entries.count).toBe(0n);

    // A rerun converges: same records, nothing more to remove.
    const again = await importSnapshot(h.config, PEBBLE_FIXTURE_EXPORT, MEMBERS, 1);
    expect(again.after.raftState).toEqual({ term: 3n, vote: 0n, commit: 400n });
  });

  it("a fresh host (m4) gets a minimal Pebble store with exactly the import's records", async () => {
    const h = await copyPebbleHost(1);
    copies.push(h);
    const m4 = { nodeHostDir: path.join(h.root, 'm4'), raftAddress: MEMBERS[4], hostname: 'vm' };
    const res = await importSnapshot(m4, PEBBLE_FIXTURE_EXPORT, MEMBERS, 4);
    expect(res.before.hasState).toBe(false);
    const part = path.join(m4.nodeHostDir, 'vm', '00000000000000000001', 'logdb-4');
    expect((await fsp.readdir(part)).sort()).toEqual(['000002.log', 'CURRENT', 'MANIFEST-000001']);
    const view = await inspectNode(m4, 100n, 4n);
    expect(view.raftState).toEqual({ term: 3n, vote: 0n, commit: 400n });
    expect(view.snapshot).toMatchObject({ index: 400n, imported: true });
    expect(view.maxIndex).toBe(400n);
  });
});
