/**
 * restore-backup killed (SIGKILL, in a child process) at every step boundary
 * (issue 10 #4): at each one the node is one a restart can use — its
 * recorded snapshot's file is in place — and a rerun gives exactly the
 * uninterrupted result. The recorded directory is never removed before its
 * replacement is in place: it is renamed aside, the saved one renamed in.
 */
import { existsSync, statSync } from 'node:fs';
import { rm } from 'node:fs/promises';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { RESTORE_STEPS, restoreBackup } from '../../src/ops/backup.js';
import { exportSnapshot } from '../../src/ops/export.js';
import { importSnapshot } from '../../src/ops/import.js';
import { inspectNode } from '../../src/ops/inspect.js';
import type { NodeHostConfig } from '../../src/nodehost/config.js';
import { makeRunningNode, makeTempDir, type RunningNode } from '../helpers/nodehost.js';
import { nodeState, runStepChild, type ChildOutcome } from './fixtures.js';
import { workedMembers } from '../helpers/worked-example.js';

const cleanups: (() => Promise<void>)[] = [];
afterEach(async () => {
  for (const c of cleanups.splice(0)) await c();
});

async function tmp(): Promise<string> {
  const d = await makeTempDir('nht-rcrash-');
  cleanups.push(() => rm(d, { recursive: true, force: true }));
  return d;
}

const MEMBERS = workedMembers();

function runRestoreChild(spec: { backupDir: string; config: NodeHostConfig; crashStep?: string }): Promise<ChildOutcome> {
  return runStepChild('restore-child.mjs', spec);
}

/** The recorded snapshot's file is where the record says, with the recorded size: what a restart needs. */
async function restartable(n: RunningNode): Promise<void> {
  const v = await inspectNode(n.config, 100n, 1n);
  expect(v.snapshot).toBeDefined();
  expect(existsSync(v.snapshot!.filepath), v.snapshot!.filepath).toBe(true);
  expect(BigInt(statSync(v.snapshot!.filepath).size)).toBe(v.snapshot!.fileSize);
}

describe.each([
  ['the survivor (the recorded directory is replaced in place)', 10n],
  ['a node that imported a newer snapshot', 25n],
])('restore-backup killed at every step: %s', (_what, exportedIndex) => {
  it.each(RESTORE_STEPS.map((s) => [s]))('at %s: restartable, and a rerun converges to the pre-import node', async (step) => {
    const m1 = await makeRunningNode({ entries: 30, snapshotIndex: 10n });
    cleanups.push(m1.cleanup);
    const src =
      exportedIndex === 10n
        ? m1
        : await makeRunningNode({ entries: 30, snapshotIndex: 25n, replicaId: 2n, config: { raftAddress: 'm2:63001' } });
    if (src !== m1) cleanups.push(src.cleanup);
    const before = await nodeState(m1.root, m1.config);
    const { exportDir } = await exportSnapshot(src.config, 100n, src.replicaId, await tmp(), { engine: 'js' });
    const backupDir = join(await tmp(), 'undo');
    await importSnapshot(m1.config, exportDir, MEMBERS, 1, { engine: 'js', backupDir });

    const crashed = await runRestoreChild({ backupDir, config: m1.config, crashStep: step });
    expect(crashed.signal, crashed.stderr).toBe('SIGKILL');
    expect(crashed.steps.at(-1)).toBe(step);
    await restartable(m1);

    await restoreBackup(backupDir, m1.config);
    expect(await nodeState(m1.root, m1.config)).toEqual(before);
  });
});
