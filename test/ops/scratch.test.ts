/**
 * Issue 10 #2 (rest) and #15: a LevelDB read needs a private clone of the
 * partition. It goes on the data directory's own file system (a sibling of
 * nodeHostDir; os.tmpdir() only when that is not writable), only the
 * partition needed is cloned, and clones are recognisable
 * (`nodehost-tools-ro-<pid>-…`): a later run removes those whose process is
 * gone (an interrupted run's leftovers). Observed from outside: the CLI runs
 * as a child process while the test watches the scratch locations.
 */
import { spawn } from 'node:child_process';
import { watch } from 'node:fs';
import * as fsp from 'node:fs/promises';
import * as path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { makeRunningNode, makeTempDir, type RunningNode } from '../helpers/nodehost.js';
import { TEST_LOGDB_TYPE } from '../helpers/store.js';
import { treeHash } from '../helpers/tree.js';
import { BIN, writeConfig } from '../cli/run.js';
import { PROJECT_ROOT } from '../helpers/snapshots.js';
import { LogDB } from '../../src/logdb/logdb.js';

const LEVELDB = TEST_LOGDB_TYPE === 'sharded-leveldb';
const CLONE = /^nodehost-tools-ro-(\d+)-/;

let root: string;
let host: RunningNode;
let configFile: string;

beforeAll(async () => {
  if (!LEVELDB) return;
  root = await makeTempDir('nht-scratch-');
  // 16 partitions, each holding a shard with entries (shards 16..31 land in partitions 0..15), and shard 100 (partition 4).
  const hostRoot = path.join(root, 'data');
  await fsp.mkdir(hostRoot);
  for (let p = 0; p < 16; p++) await makeRunningNode({ root: hostRoot, shardId: BigInt(16 + p), entries: 300, snapshotIndex: 0n });
  host = await makeRunningNode({ root: hostRoot, entries: 300, snapshotIndex: 10n });
  configFile = writeConfig(root, host.config);
});
afterAll(async () => {
  if (root) await fsp.rm(root, { recursive: true, force: true });
});

/** Runs `nodehost inspect` in a child while watching `dirs`; returns the entries created in each during the run. */
async function inspectWatching(
  dirs: string[],
  env: Record<string, string>,
): Promise<{ status: number | null; created: Map<string, Set<string>>; pid: number; stdout: string }> {
  const created = new Map<string, Set<string>>(dirs.map((d) => [d, new Set<string>()]));
  const watchers = dirs.map((d) =>
    watch(d, (_ev, name) => {
      if (name) created.get(d)!.add(String(name));
    }),
  );
  try {
    const child = spawn(process.execPath, [BIN, 'inspect', '--config', configFile, '--shard-id', '100', '--replica-id', '1', '--json'], {
      cwd: PROJECT_ROOT,
      env: { ...process.env, ...env },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    let stdout = '';
    child.stdout.on('data', (b: Buffer) => (stdout += b.toString()));
    const status = await new Promise<number | null>((done) => child.once('close', (code) => done(code)));
    await new Promise((r) => setTimeout(r, 100)); // let the last events arrive
    return { status, created, pid: child.pid!, stdout };
  } finally {
    for (const w of watchers) w.close();
  }
}

describe.skipIf(!LEVELDB)('read-only clones (LevelDB only: Pebble partitions are read in place, never cloned)', () => {
  it('inspect on a host of 16 partitions clones one partition, next to nodeHostDir, never into os.tmpdir()', async () => {
    const fakeTmp = await fsp.mkdtemp(path.join(root, 'tmp-'));
    const parent = path.dirname(host.config.nodeHostDir);
    const before = await treeHash(parent);
    const run = await inspectWatching([fakeTmp, parent], { TMPDIR: fakeTmp });
    expect(run.status, run.stdout).toBe(0);
    expect([...run.created.get(fakeTmp)!]).toEqual([]);
    const clones = [...run.created.get(parent)!].filter((n) => CLONE.test(n));
    expect(clones).toHaveLength(1);
    expect(CLONE.exec(clones[0]!)![1]).toBe(String(run.pid));
    expect(await treeHash(parent)).toBe(before);
  });

  it('NODEHOST_TOOLS_SCRATCH_DIR names the scratch location; a clone left by a dead process is removed by the next run', async () => {
    const scratch = await fsp.mkdtemp(path.join(root, 'scratch-'));
    // A leftover of a killed run (pid 2^22+1 is above Linux's pid_max default, so never alive) and one of a live process.
    const dead = path.join(scratch, 'nodehost-tools-ro-4194305-abc123');
    const live = path.join(scratch, `nodehost-tools-ro-${process.pid}-def456`);
    await fsp.mkdir(dead);
    await fsp.writeFile(path.join(dead, 'CURRENT'), 'MANIFEST-000001\n');
    await fsp.mkdir(live);
    const run = await inspectWatching([scratch], { NODEHOST_TOOLS_SCRATCH_DIR: scratch });
    expect(run.status, run.stdout).toBe(0);
    const clones = [...run.created.get(scratch)!].filter((n) => CLONE.exec(n)?.[1] === String(run.pid));
    expect(clones).toHaveLength(1);
    expect((await fsp.readdir(scratch)).sort()).toEqual([path.basename(live)]);
  });

  it('the LogDB clones only the partitions it reads', async () => {
    const scratch = await fsp.mkdtemp(path.join(root, 'scratch-lib-'));
    const db = await LogDB.open(host.cfg, { readOnly: true, scratchDir: scratch });
    try {
      await db.getSnapshot(100n, 1n);
      await db.detectEntryFormat();
      expect((await fsp.readdir(scratch)).filter((n) => CLONE.test(n))).toHaveLength(1);
    } finally {
      await db.close();
    }
    expect(await fsp.readdir(scratch)).toEqual([]);
  });
});
