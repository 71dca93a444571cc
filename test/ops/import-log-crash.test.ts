/**
 * Crash safety of an import that carries a log suffix (docs/log-suffix.md):
 * the import runs in a child process (dist/) that SIGKILLs itself at a step
 * boundary. Before the commit the survivor's old state is complete (its own
 * log and raft state); from the commit on a restart reads the snapshot and
 * the carried entries; rerunning the same import then gives exactly the
 * state of an uninterrupted run at the same absolute path. Plain log with
 * the export at 20, batched log with the export at 47 (the last index of
 * its batch: the batch holding it is not the first one written).
 */
import * as fsp from 'node:fs/promises';
import * as path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { NodeHostConfig } from '../../src/nodehost/config.js';
import { IMPORT_STEPS, importSnapshot } from '../../src/ops/import.js';
import { inspectNode } from '../../src/ops/inspect.js';
import { makeTempDir } from '../helpers/nodehost.js';
import { nodeState, runImportChild } from './fixtures.js';
import { SHARD, workedMembers } from '../helpers/worked-example.js';
import { LAST, LAST_TERM, expectCarriedOn, exportWithLog, makeSurvivor } from './import-log-fixtures.js';

let root: string;
let work: string;

beforeAll(async () => {
  root = await makeTempDir('nht-ops-log-crash-');
  work = path.join(root, 'work');
});

afterAll(async () => {
  await fsp.rm(root, { recursive: true, force: true });
});

async function expectOldSurvivor(config: NodeHostConfig): Promise<void> {
  const view = await inspectNode(config, SHARD, 1n);
  expect(view.snapshot?.index).toBe(10n);
  expect(view.raftState).toEqual({ term: LAST_TERM, vote: 1n, commit: 65n });
  expect(view.maxIndex).toBe(LAST);
  expect(view.entries).toEqual({ firstIndex: 10n, count: LAST - 10n + 1n, lastIndex: LAST });
}

for (const { batched, index } of [
  { batched: false, index: 20n },
  { batched: true, index: 47n },
]) {
  const format = batched ? 'batched' : 'plain';
  describe(`a crash at every step boundary (${format} survivor, export at ${index})`, () => {
    let exportDir: string;
    let reference: Awaited<ReturnType<typeof nodeState>>;
    const setup = async (): Promise<NodeHostConfig> => {
      await fsp.rm(work, { recursive: true, force: true });
      return (await makeSurvivor({ root: work, batched })).config;
    };

    beforeAll(async () => {
      const config = await setup();
      exportDir = (await exportWithLog(path.join(root, `export-${format}`), config, { index })).dir;
      await importSnapshot(config, exportDir, workedMembers(), 1n);
      reference = await nodeState(work, config);
    });

    for (const step of IMPORT_STEPS) {
      const committed = IMPORT_STEPS.indexOf(step) >= IMPORT_STEPS.indexOf('committed');
      it(`crash at '${step}': the ${committed ? 'new' : 'old'} state is complete; a rerun converges`, async () => {
        const config = await setup();
        const out = await runImportChild({ config, srcDir: exportDir, members: workedMembers(), replicaId: '1', crashStep: step });
        expect(out.signal, `child did not die at ${step}: ${out.stderr} ${JSON.stringify(out.out)}`).toBe('SIGKILL');
        if (committed) await expectCarriedOn(config, 1n, index, format, LAST, false);
        else await expectOldSurvivor(config);
        await importSnapshot(config, exportDir, workedMembers(), 1n);
        await expectCarriedOn(config, 1n, index, format);
        expect(await nodeState(work, config)).toEqual(reference);
      });
    }
  });
}
