/**
 * The survivor importing an export of its own latest snapshot, as a real
 * Dragonboat node leaves it: Dragonboat writes `snapshot.metadata` into every
 * snapshot directory it creates (and never reads it back). The import keeps
 * that directory in place (docs/import-contract.md step 8), so the file must
 * not make it look like another snapshot; after the commit it is removed,
 * which leaves the directory as the reference's import does.
 */
import * as fsp from 'node:fs/promises';
import * as path from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { writeFlagFile } from '../../src/files/flagfile.js';
import { SNAPSHOT_FLAG_FILENAME, SNAPSHOT_METADATA_FILENAME } from '../../src/nodehost/paths.js';
import { exportSnapshot } from '../../src/ops/export.js';
import { importSnapshot } from '../../src/ops/import.js';
import { inspectNode } from '../../src/ops/inspect.js';
import { encodeSnapshot } from '../../src/records/codec.js';
import { makeRunningNode, makeTempDir, type RunningNode } from '../helpers/nodehost.js';
import { workedMembers } from '../helpers/worked-example.js';

const MEMBERS = workedMembers();
const cleanups: (() => Promise<void>)[] = [];
afterEach(async () => {
  for (const c of cleanups.splice(0)) await c();
});

/** m1 as Dragonboat left it: its snapshot directory holds the record as `snapshot.metadata` too. */
async function dragonboatSurvivor(): Promise<RunningNode> {
  const m1 = await makeRunningNode({ entries: 30, snapshotIndex: 20n, snapshotMetadata: true });
  cleanups.push(m1.cleanup);
  expect(await fsp.readdir(m1.snapshotDir!)).toContain(SNAPSHOT_METADATA_FILENAME);
  return m1;
}

describe("the survivor imports its own latest snapshot, with Dragonboat's snapshot.metadata in its directory", () => {
  for (const withLog of [false, true]) {
    it(`${withLog ? 'with' : 'without'} its log: the directory is kept in place, and left as the reference leaves it`, async () => {
      const m1 = await dragonboatSurvivor();
      const dest = await makeTempDir();
      cleanups.push(() => fsp.rm(dest, { recursive: true, force: true }));
      const exp = await exportSnapshot(m1.config, 100n, 1n, dest, { engine: 'js', withLog });
      const res = await importSnapshot(m1.config, exp.exportDir, MEMBERS, 1n, { engine: 'js' });
      expect(res.files.map((f) => f.how)).toEqual(['reused']);
      expect(res.after.maxIndex).toBe(withLog ? 30n : 20n);
      expect((await fsp.readdir(m1.snapshotDir!)).sort()).toEqual([path.basename(m1.snapshot!.filepath), SNAPSHOT_FLAG_FILENAME].sort());
      const view = await inspectNode(m1.config, 100n, 1n);
      expect(view.snapshot?.imported).toBe(true);
      expect(view.problems).toEqual([]);
      // A rerun (say after a crash before the clean-up) finds the same directory and converges.
      const again = await importSnapshot(m1.config, exp.exportDir, MEMBERS, 1n, { engine: 'js' });
      expect(again.files.map((f) => f.how)).toEqual(['reused']);
    });
  }

  it('a rerun finds the metadata still there (a crash between the commit and its removal) and converges', async () => {
    const m1 = await dragonboatSurvivor();
    const dest = await makeTempDir();
    cleanups.push(() => fsp.rm(dest, { recursive: true, force: true }));
    const exp = await exportSnapshot(m1.config, 100n, 1n, dest, { engine: 'js' });
    await importSnapshot(m1.config, exp.exportDir, MEMBERS, 1n, { engine: 'js' });
    await writeFlagFile(path.join(m1.snapshotDir!, SNAPSHOT_METADATA_FILENAME), encodeSnapshot(m1.snapshot!));
    const again = await importSnapshot(m1.config, exp.exportDir, MEMBERS, 1n, { engine: 'js' });
    expect(again.files.map((f) => f.how)).toEqual(['reused']);
    expect(await fsp.readdir(m1.snapshotDir!)).not.toContain(SNAPSHOT_METADATA_FILENAME);
  });
});
