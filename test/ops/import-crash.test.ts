/**
 * Crash safety of importSnapshot (docs/import-contract.md "Guarantees beyond
 * the reference"): the import runs in a child process that SIGKILLs itself at a
 * step boundary. Before the log store commit the node's previous state must
 * be complete and restartable; from the commit on, the new one. Rerunning the
 * same import must then give exactly the state of an uninterrupted run on an
 * identical setup at the same absolute path.
 */
import * as fsp from 'node:fs/promises';
import * as path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { getEngine } from '../../src/engines/select.js';
import { writeFlagFile } from '../../src/files/flagfile.js';
import type { NodeHostConfig } from '../../src/nodehost/config.js';
import { IMPORT_STEPS, importSnapshot, type ImportStep } from '../../src/ops/import.js';
import { inspectNode, type NodeView } from '../../src/ops/inspect.js';
import { encodeSnapshot } from '../../src/records/codec.js';
import type { Snapshot } from '../../src/records/types.js';
import { verifySnapshotFile } from '../../src/snapshot/verify.js';
import { makeRunningNode, makeTempDir, type RunningNode } from '../helpers/nodehost.js';
import { INDEX, TERM, freshConfig, makeExport, nodeState, runImportChild, staleEntriesRemoved } from './fixtures.js';
import { M1, M2, M3, M4, M5, SHARD, SOURCE_CCID, workedMembers } from '../helpers/worked-example.js';

const engine = getEngine('js');
const NEW_DIR = 'snapshot-0000000000000014';

let root: string;
/** The one absolute path every scenario is laid out at (rm -rf between scenarios). */
let work: string;
let exportDir: string;

beforeAll(async () => {
  root = await makeTempDir('nht-ops-crash-');
  work = path.join(root, 'work');
  exportDir = (await makeExport(path.join(root, 'backup'))).dir;
});

afterAll(async () => {
  await fsp.rm(root, { recursive: true, force: true });
});

/** m1 with history (entries 1..30, a snapshot at 10) and a leftover receiving directory, at `work`. */
async function setupM1(snapshotIndex = 10n): Promise<RunningNode> {
  await fsp.rm(work, { recursive: true, force: true });
  const m1 = await makeRunningNode({ root: work, entries: 30, snapshotIndex });
  await fsp.mkdir(path.join(path.dirname(m1.snapshotDir!), 'snapshot-0000000000000003-2.receiving'));
  return m1;
}

async function verifiesAgainst(rec: Snapshot): Promise<void> {
  const report = await verifySnapshotFile(rec.filepath, { engine, expectedFileSize: rec.fileSize, expectedChecksum: rec.checksum });
  expect(report.fileSize).toBe(rec.fileSize);
}

/** Every directory a restart would not keep is one it deletes (no half state survives). */
function othersAreDiscarded(view: NodeView, keep: string): void {
  for (const d of view.snapshotDirs) {
    if (d.name === keep) continue;
    expect([d.name, d.restartFate]).toEqual([d.name, 'delete']);
  }
}

/** The old state of m1, complete and restartable. */
async function expectOldState(config: NodeHostConfig, old: Snapshot, dirStatus: 'current' | 'pending-flag' = 'current'): Promise<void> {
  const view = await inspectNode(config, SHARD, 1n);
  expect(view.snapshot).toEqual(old);
  expect(view.snapshotIndexes).toEqual([old.index]);
  const dir = view.snapshotDirs.find((d) => d.index === old.index && d.kind === 'final');
  expect(dir?.status).toBe(dirStatus);
  othersAreDiscarded(view, dir!.name);
  await verifiesAgainst(old);
  expect(view.bootstrap).toEqual({
    addresses: new Map([
      [1n, M1],
      [2n, M2],
      [3n, M3],
    ]),
    join: false,
    type: old.type,
  });
  expect(view.raftState).toEqual({ term: 3n, vote: 1n, commit: 30n });
  expect(view.maxIndex).toBe(30n);
  expect(view.entries).toEqual({ firstIndex: old.index, count: 30n - old.index + 1n, lastIndex: 30n });
  expect(view.malformed).toEqual([]);
}

/** The new state of m1, complete. */
async function expectNewState(config: NodeHostConfig): Promise<void> {
  const view = await inspectNode(config, SHARD, 1n);
  const rec = view.snapshot!;
  expect(rec.index).toBe(INDEX);
  expect(rec.term).toBe(TERM);
  expect(rec.imported).toBe(true);
  expect([...rec.membership.addresses]).toEqual([
    [1n, M1],
    [4n, M4],
    [5n, M5],
  ]);
  expect([...rec.membership.removed.keys()]).toEqual([2n, 3n]);
  expect(rec.membership.configChangeId).toBe(SOURCE_CCID);
  expect(view.snapshotIndexes).toEqual([INDEX]);
  const dir = view.snapshotDirs.find((d) => d.name === NEW_DIR);
  expect(dir?.status).toBe('pending-flag');
  expect(path.dirname(rec.filepath)).toBe(dir!.path);
  othersAreDiscarded(view, NEW_DIR);
  await verifiesAgainst(rec);
  expect(view.bootstrap).toEqual({ addresses: new Map(), join: true, type: rec.type });
  expect(view.raftState).toEqual({ term: TERM, vote: 0n, commit: INDEX });
  expect(view.maxIndex).toBe(INDEX);
  expect(view.entries.count).toBe(0n);
}

async function crashAt4(config: NodeHostConfig, step: ImportStep): Promise<void> {
  const out = await runImportChild({ config, srcDir: exportDir, members: workedMembers(), replicaId: '4', crashStep: step });
  expect(out.signal, `child did not die at ${step}: ${out.stderr}`).toBe('SIGKILL');
  expect(out.steps[out.steps.length - 1]).toBe(step);
}

async function crashAt(config: NodeHostConfig, src: string, step: ImportStep): Promise<string[]> {
  const out = await runImportChild({ config, srcDir: src, members: workedMembers(), replicaId: '1', crashStep: step });
  expect(out.signal, `child did not die at ${step}: ${out.stderr} ${JSON.stringify(out.out)}`).toBe('SIGKILL');
  expect(out.steps[out.steps.length - 1]).toBe(step);
  return out.steps;
}

describe('rerunning the same import gives the same state', () => {
  it('on m1 (history) and on a fresh m4; the second run reuses the snapshot directory', async () => {
    const m1 = await setupM1();
    await importSnapshot(m1.config, exportDir, workedMembers(), 1n);
    const first = await nodeState(work, m1.config);
    const again = await importSnapshot(m1.config, exportDir, workedMembers(), 1n);
    expect(again.files.map((f) => f.how)).toEqual(['reused']);
    expect(again.removedSnapshotDirs).toEqual([]);
    expect(again.staleEntries).toMatchObject(staleEntriesRemoved(0, 0));
    expect(await nodeState(work, m1.config)).toEqual(first);
    // The state really is the imported one (a rerun that did nothing at all would pass the line above too).
    await expectNewState(m1.config);
    expect(
      first.tree[`nodehost/testhost/00000000000000000001/snapshot-part-100/snapshot-100-1/${NEW_DIR}/dragonboat.snapshot.message`],
    ).toBeDefined();

    const m4 = freshConfig(path.join(root, 'm4'), M4);
    await importSnapshot(m4, exportDir, workedMembers(), 4n);
    const first4 = await nodeState(path.join(root, 'm4'), m4);
    await importSnapshot(m4, exportDir, workedMembers(), 4n);
    expect(await nodeState(path.join(root, 'm4'), m4)).toEqual(first4);
    expect(first4.kv['logdb-4']?.length).toBe(4);
  });
});

describe('a crash at every step boundary (m1: old snapshot at 10, export at 20)', () => {
  let reference: Awaited<ReturnType<typeof nodeState>>;
  let old: Snapshot;

  beforeAll(async () => {
    const m1 = await setupM1();
    old = m1.snapshot!;
    const steps: string[] = [];
    await importSnapshot(m1.config, exportDir, workedMembers(), 1n, { onStep: (s) => steps.push(s) });
    expect(steps).toEqual([...IMPORT_STEPS]);
    reference = await nodeState(work, m1.config);
  });

  for (const step of IMPORT_STEPS) {
    it(`crash at '${step}': ${IMPORT_STEPS.indexOf(step) < IMPORT_STEPS.indexOf('committed') ? 'old' : 'new'} state complete; a rerun converges`, async () => {
      const m1 = await setupM1();
      expect(m1.snapshot).toEqual(old);
      const steps = await crashAt(m1.config, exportDir, step);
      expect(steps).toEqual(IMPORT_STEPS.slice(0, IMPORT_STEPS.indexOf(step) + 1));
      if (IMPORT_STEPS.indexOf(step) < IMPORT_STEPS.indexOf('committed')) await expectOldState(m1.config, old);
      else await expectNewState(m1.config);

      await importSnapshot(m1.config, exportDir, workedMembers(), 1n);
      await expectNewState(m1.config);
      expect(await nodeState(work, m1.config)).toEqual(reference);
    });
  }

  it("a crash inside a rerun's flag-file write (after the commit) leaves a temporary sibling: the next rerun still converges", async () => {
    const m1 = await setupM1();
    await crashAt(m1.config, exportDir, 'committed');
    // What writeFileDurable leaves when killed before its rename.
    await fsp.writeFile(path.join(path.dirname(m1.snapshotDir!), NEW_DIR, `.dragonboat.snapshot.message.tmp-4242-0a1b2c3d`), 'partial');
    await importSnapshot(m1.config, exportDir, workedMembers(), 1n);
    await expectNewState(m1.config);
    expect(await nodeState(work, m1.config)).toEqual(reference);
  });
});

describe('a crash on a fresh host (m4: nothing on disk before)', () => {
  let reference: Awaited<ReturnType<typeof nodeState>>;
  const m4 = (): NodeHostConfig => freshConfig(work, M4);

  beforeAll(async () => {
    await fsp.rm(work, { recursive: true, force: true });
    await fsp.mkdir(work);
    await importSnapshot(m4(), exportDir, workedMembers(), 4n);
    reference = await nodeState(work, m4());
  });

  for (const step of ['temp-created', 'data-status-written', 'committed'] as const) {
    it(`crash at '${step}': a restart would find ${step === 'committed' ? 'the new node' : 'no node'}; a rerun converges`, async () => {
      await fsp.rm(work, { recursive: true, force: true });
      await fsp.mkdir(work);
      await crashAt4(m4(), step);
      const view = await inspectNode(m4(), SHARD, 4n);
      if (step === 'committed') {
        expect(view.snapshot?.index).toBe(INDEX);
        await verifiesAgainst(view.snapshot!);
      } else {
        expect(view.hasState).toBe(false);
        for (const d of view.snapshotDirs) expect(d.restartFate).toBe('delete');
      }
      await importSnapshot(m4(), exportDir, workedMembers(), 4n);
      expect(await nodeState(work, m4())).toEqual(reference);
    });
  }

  it('a crash inside the dragonboat.ds write leaves a temporary sibling: a rerun still converges', async () => {
    await fsp.rm(work, { recursive: true, force: true });
    await fsp.mkdir(work);
    await crashAt4(m4(), 'snapshot-copied');
    // What writeFileDurable leaves when killed before its rename.
    await fsp.writeFile(path.join(m4().nodeHostDir, '.dragonboat.ds.tmp-4242-0a1b2c3d'), 'partial');
    await importSnapshot(m4(), exportDir, workedMembers(), 4n);
    expect(await nodeState(work, m4())).toEqual(reference);
  });
});

describe("a crash in the same-index case (m1's own snapshot at 20 is the export: reused in place)", () => {
  let sameExport: string;
  let reference: Awaited<ReturnType<typeof nodeState>>;
  let old: Snapshot;

  beforeAll(async () => {
    const m1 = await setupM1(INDEX);
    old = m1.snapshot!;
    // The export of m1's own snapshot, as Dragonboat's ExportSnapshot lays it out.
    sameExport = path.join(root, 'backup-same', NEW_DIR);
    await fsp.mkdir(sameExport, { recursive: true });
    const file = path.join(sameExport, path.basename(old.filepath));
    await fsp.copyFile(old.filepath, file);
    await writeFlagFile(path.join(sameExport, 'snapshot.metadata'), encodeSnapshot({ ...old, filepath: file }));
    const steps: string[] = [];
    const res = await importSnapshot(m1.config, sameExport, workedMembers(), 1n, { onStep: (s) => steps.push(s) });
    expect(res.files.map((f) => f.how)).toEqual(['reused']);
    expect(steps).toEqual([
      'validated',
      'flag-written',
      'data-status-written',
      'committed',
      'old-snapshots-removed',
      'stale-entries-removed',
    ]);
    reference = await nodeState(work, m1.config);
  });

  async function expectNewSame(config: NodeHostConfig): Promise<void> {
    const view = await inspectNode(config, SHARD, 1n);
    expect(view.snapshot?.index).toBe(INDEX);
    expect(view.snapshot?.imported).toBe(true);
    expect(view.snapshot?.term).toBe(old.term);
    expect([...view.snapshot!.membership.addresses.keys()]).toEqual([1n, 4n, 5n]);
    expect(view.raftState).toEqual({ term: old.term, vote: 0n, commit: INDEX });
    expect(view.snapshotDirs.find((d) => d.name === NEW_DIR)?.status).toBe('pending-flag');
    await verifiesAgainst(view.snapshot!);
  }

  const cases: [ImportStep, 'old' | 'new', 'current' | 'pending-flag'][] = [
    ['validated', 'old', 'current'],
    ['flag-written', 'old', 'pending-flag'],
    ['committed', 'new', 'pending-flag'],
  ];
  for (const [step, which, status] of cases) {
    it(`crash at '${step}': ${which} state complete; a rerun converges`, async () => {
      const m1 = await setupM1(INDEX);
      expect(m1.snapshot).toEqual(old);
      await crashAt(m1.config, sameExport, step);
      if (which === 'old') await expectOldState(m1.config, old, status);
      else await expectNewSame(m1.config);
      await importSnapshot(m1.config, sameExport, workedMembers(), 1n);
      await expectNewSame(m1.config);
      expect(await nodeState(work, m1.config)).toEqual(reference);
    });
  }

  it('a crash inside the flag-file write leaves a temporary sibling in the reused directory: a rerun still converges', async () => {
    const m1 = await setupM1(INDEX);
    await fsp.writeFile(path.join(m1.snapshotDir!, '.dragonboat.snapshot.message.tmp-4242-0a1b2c3d'), 'partial');
    await expectOldState(m1.config, old, 'current');
    const res = await importSnapshot(m1.config, sameExport, workedMembers(), 1n);
    expect(res.files.map((f) => f.how)).toEqual(['reused']);
    await expectNewSame(m1.config);
    expect(await nodeState(work, m1.config)).toEqual(reference);
  });
});
