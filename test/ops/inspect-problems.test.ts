/**
 * inspect checks what a restart needs (issue 10 #10): the recorded
 * snapshot's file exists with the recorded size, and the entries from the
 * snapshot index to max index are contiguous. What is wrong is listed in
 * `problems` with a stable code; a sound node has none.
 */
import { rmSync, truncateSync } from 'node:fs';
import { describe, expect, it, afterEach } from 'vitest';
import { entryKey } from '../../src/logdb/keys.js';
import { LogDB } from '../../src/logdb/logdb.js';
import { inspectNode } from '../../src/ops/inspect.js';
import { makeRunningNode, type RunningNode } from '../helpers/nodehost.js';
import { treeHash } from '../helpers/tree.js';

const nodes: RunningNode[] = [];
afterEach(async () => {
  for (const n of nodes.splice(0)) await n.cleanup();
});

async function node(opts: Parameters<typeof makeRunningNode>[0] = {}): Promise<RunningNode> {
  const n = await makeRunningNode({ entries: 30, snapshotIndex: 10n, ...opts });
  nodes.push(n);
  return n;
}

async function deleteEntry(n: RunningNode, index: bigint): Promise<void> {
  const db = await LogDB.open(n.cfg);
  try {
    await db.partition(db.partitionOf(100n)).write([{ type: 'del', key: entryKey(100n, 1n, index) }]);
  } finally {
    await db.close();
  }
}

describe('inspect: what a restart needs', () => {
  it('a sound node has no problems', async () => {
    expect((await inspectNode((await node()).config, 100n, 1n)).problems).toEqual([]);
  });

  it("the recorded snapshot's .gbsnap deleted: snapshot-file-missing", async () => {
    const n = await node();
    rmSync(n.snapshotFile!);
    const before = await treeHash(n.root);
    const v = await inspectNode(n.config, 100n, 1n);
    expect(v.problems).toEqual([expect.objectContaining({ code: 'snapshot-file-missing', path: n.snapshotFile })]);
    expect(v.problems[0]!.message).toMatch(/does not exist/);
    expect(await treeHash(n.root)).toBe(before);
  });

  it("the recorded snapshot's directory deleted: snapshot-file-missing", async () => {
    const n = await node();
    rmSync(n.snapshotDir!, { recursive: true });
    expect((await inspectNode(n.config, 100n, 1n)).problems.map((p) => p.code)).toEqual(['snapshot-file-missing']);
  });

  it('the .gbsnap of the wrong size: snapshot-file-size', async () => {
    const n = await node();
    truncateSync(n.snapshotFile!, 100);
    const v = await inspectNode(n.config, 100n, 1n);
    expect(v.problems).toEqual([
      expect.objectContaining({ code: 'snapshot-file-size', path: n.snapshotFile, expected: n.snapshot!.fileSize, actual: 100n }),
    ]);
  });

  it.each([[false], [true]])(
    'a gap in the entries after the snapshot (batched %s): entry-gap naming the first missing index',
    async (batched) => {
      const n = await node({ batched });
      if (batched) {
        // A whole batch of entries gone: the batch holding index 15.
        const db = await LogDB.open(n.cfg);
        try {
          const part = db.partition(db.partitionOf(100n));
          const { batchIdOf, entryBatchKey } = await import('../../src/logdb/keys.js');
          await part.write([{ type: 'del', key: entryBatchKey(100n, 1n, batchIdOf(15n)) }]);
        } finally {
          await db.close();
        }
      } else {
        await deleteEntry(n, 15n);
      }
      const v = await inspectNode(n.config, 100n, 1n);
      expect(v.problems.map((p) => p.code)).toEqual(['entry-gap']);
      const gap = v.problems[0]!;
      expect(gap.index).toBeLessThanOrEqual(15n);
      expect(gap.index).toBeGreaterThan(10n);
      expect(gap.message).toMatch(/missing/);
    },
  );

  it('entries missing below the snapshot index are not a problem (compacted)', async () => {
    const n = await node();
    await deleteEntry(n, 3n);
    expect((await inspectNode(n.config, 100n, 1n)).problems).toEqual([]);
  });
});
