/**
 * `nodehost import` as a user runs it: the worked example of docs/import-contract.md through
 * the CLI on m1, m4 and m5, each a child process on real directories.
 */
import { TEST_LOGDB_TYPE } from '../helpers/store.js';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, beforeEach, afterEach, describe, expect, it } from 'vitest';
import { blockDataOffset, flipByte } from '../helpers/snapshots.js';
import { hasPython3, holdFcntlLock } from '../helpers/lock-holders.js';
import { treeHash } from '../helpers/tree.js';
import { CONFIG_CHANGE_ID, LAST_INDEX, importArgs, workedExample, type WorkedExample } from './fixture.js';
import { SNAPSHOT_INDEX, TERM } from '../helpers/worked-example.js';
import { expectError, expectOk, lastJson, runCli, runInProcess } from './run.js';

const ALL_INSPECT = (_ex: WorkedExample, h: WorkedExample['m1']): string[] => [
  'inspect',
  '--config',
  h.configFile,
  '--shard-id',
  '100',
  '--replica-id',
  h.replicaId,
  '--json',
];

describe('nodehost import: the worked example on m1, m4, m5', () => {
  let ex: WorkedExample;
  const results: Record<string, Record<string, any>> = {};
  beforeAll(async () => {
    ex = await workedExample();
    // The same snapshot and the same member map on every host; stdin is not a terminal, so no --yes is needed.
    for (const h of [ex.m1, ex.m4, ex.m5]) results[h.name] = expectOk(await runCli(importArgs(ex, h, '--json')));
  });
  afterAll(() => ex?.cleanup());

  it('each result describes the new state: index, term, members, removed replicas 2 and 3', () => {
    for (const h of [ex.m1, ex.m4, ex.m5]) {
      const r = results[h.name]!;
      expect(r.dryRun).toBe(false);
      expect(r.shardId).toBe('100');
      expect(r.replicaId).toBe(h.replicaId);
      expect(r.index).toBe(String(SNAPSHOT_INDEX));
      expect(r.term).toBe(String(TERM));
      expect(r.members).toEqual({ 1: 'm1:63001', 4: 'm4:63001', 5: 'm5:63001' });
      expect(r.removedReplicas).toEqual(['2', '3']);
      // Default: the export's config change ID is kept (Dragonboat issue 414); the reference would write the index.
      expect(r.configChangeId).toEqual({
        policy: 'preserve',
        value: String(CONFIG_CHANGE_ID),
        source: String(CONFIG_CHANGE_ID),
        reference: String(SNAPSHOT_INDEX),
      });
      expect(r.after.bootstrap).toEqual({ addresses: {}, join: true, type: 'RegularStateMachine' });
      expect(r.after.raftState).toEqual({ term: String(TERM), vote: '0', commit: String(SNAPSHOT_INDEX) });
      expect(r.after.maxIndex).toBe(String(SNAPSHOT_INDEX));
      const snap = r.after.snapshot;
      expect(snap.index).toBe(String(SNAPSHOT_INDEX));
      expect(snap.imported).toBe(true);
      expect(snap.membership).toEqual({
        configChangeId: String(CONFIG_CHANGE_ID),
        addresses: { 1: 'm1:63001', 4: 'm4:63001', 5: 'm5:63001' },
        removed: { 2: true, 3: true },
        nonVotings: {},
        witnesses: {},
      });
      expect(snap.checksum).toMatch(/^[0-9a-f]{8}$/);
      expect(snap.filepath.startsWith(r.snapshotDir)).toBe(true);
      expect(r.snapshotDir.startsWith(h.config.nodeHostDir)).toBe(true);
    }
  });

  it('m1 had state: its before records and discarded entries are reported; its snapshot is reused', () => {
    const r = results.m1!;
    expect(r.before.raftState).toEqual({ term: String(TERM), vote: '1', commit: String(LAST_INDEX) });
    expect(r.before.maxIndex).toBe(String(LAST_INDEX));
    expect(r.before.snapshot.index).toBe(String(SNAPSHOT_INDEX));
    expect(r.before.bootstrap.addresses).toEqual({ 1: 'm1:63001', 2: 'm2:63001', 3: 'm3:63001' });
    expect(r.warnings.map((w: { code: string }) => w.code)).toContain('entries-discarded');
    expect(r.files.map((f: { how: string }) => f.how)).toEqual(['reused']);
    // LevelDB counts the keys it deletes; Pebble drops the span with one range tombstone.
    expect(r.staleEntries).toMatchObject(
      TEST_LOGDB_TYPE === 'sharded-leveldb'
        ? { plainEntriesRemoved: Number(LAST_INDEX), entryBatchesRemoved: 0 }
        : { plainEntries: { first: '1', last: String(LAST_INDEX) } },
    );
  });

  it('m4 and m5 were empty: nothing before, the snapshot copied, dragonboat.ds created', () => {
    for (const r of [results.m4!, results.m5!]) {
      expect(r.before).toMatchObject({ bootstrap: null, raftState: null, maxIndex: null, snapshot: null, snapshotIndexes: [] });
      expect(r.files.map((f: { how: string }) => f.how)).toEqual(['copied']);
      expect(r.dataStatus.map((d: { outcome: string }) => d.outcome)).toEqual(['created']);
    }
  });

  it('inspect afterwards: the node restarts from the imported snapshot with members {1, 4, 5}', async () => {
    for (const h of [ex.m1, ex.m4, ex.m5]) {
      const v = expectOk(await runCli(ALL_INSPECT(ex, h)));
      expect(v.hasState).toBe(true);
      expect(v.snapshot.index).toBe(String(SNAPSHOT_INDEX));
      expect(v.snapshot.imported).toBe(true);
      expect(Object.keys(v.membership.addresses)).toEqual(['1', '4', '5']);
      expect(Object.keys(v.membership.removed)).toEqual(['2', '3']);
      expect(v.entries.count).toBe('0');
      expect(v.storedEntries).toEqual({});
      expect(v.snapshotDirs.map((d: { status: string }) => d.status)).toEqual(['pending-flag']);
    }
  });

  it('rerunning the same import converges (same after records)', async () => {
    const again = expectOk(await runCli(importArgs(ex, ex.m4, '--json')));
    expect(again.after).toEqual(results.m4!.after);
  });
});

describe('nodehost import: options, validation and failures', () => {
  let ex: WorkedExample;
  beforeEach(async () => {
    ex = await workedExample(64 * 1024);
  });
  afterEach(() => ex.cleanup());

  it('human output by default says what changed', async () => {
    const run = await runCli(importArgs(ex, ex.m1));
    expect(run.status, run.stderr).toBe(0);
    expect(run.stdout).toMatch(/^Imported\./m);
    expect(run.stdout).toContain('members      {1=m1:63001, 4=m4:63001, 5=m5:63001}; removed replicas 2, 3');
    expect(run.stdout).toContain(`config change ID ${CONFIG_CHANGE_ID} (preserve; the reference would write ${SNAPSHOT_INDEX})`);
    expect(run.stdout).not.toContain('{(none)}');
    expect(run.stderr).toContain(`warning: log entries ${SNAPSHOT_INDEX + 1n}..${LAST_INDEX} of replica 1 are discarded`);
  });

  it('--config-change-id snapshot-index reproduces the reference value', async () => {
    const r = expectOk(await runCli(importArgs(ex, ex.m4, '--json', '--config-change-id', 'snapshot-index')));
    expect(r.configChangeId.policy).toBe('snapshot-index');
    expect(r.configChangeId.value).toBe(String(SNAPSHOT_INDEX));
    expect(r.after.snapshot.membership.configChangeId).toBe(String(SNAPSHOT_INDEX));
    expectError(await runCli(importArgs(ex, ex.m5, '--json', '--config-change-id', 'latest')), 'ErrUsage', 2);
  });

  it('--engine picks the checksum engine; every engine imports the same snapshot', async () => {
    const [js, wasm] = await Promise.all([
      runCli(importArgs(ex, ex.m4, '--json', '--engine', 'js')),
      runCli(importArgs(ex, ex.m5, '--json', '--engine', 'wasm')),
    ]);
    const a = expectOk(js);
    const b = expectOk(wasm);
    expect([a.engine, b.engine]).toEqual(['js', 'wasm']);
    expect(a.after.snapshot.checksum).toBe(b.after.snapshot.checksum);
    expect(a.after.snapshot.membership).toEqual(b.after.snapshot.membership);
  });

  it('--dry-run writes nothing and reports what would change', async () => {
    const before = await treeHash(ex.root);
    for (const h of [ex.m1, ex.m4]) {
      const r = expectOk(await runCli(importArgs(ex, h, '--json', '--dry-run')));
      expect(r.dryRun).toBe(true);
      expect(r.removedReplicas).toEqual(['2', '3']);
      expect(r.after.snapshot.imported).toBe(true);
      expect(r.staleEntries).toBeNull();
    }
    const human = await runCli(importArgs(ex, ex.m1, '--dry-run'));
    expect(human.status).toBe(0);
    expect(human.stdout).toContain('DRY RUN: nothing was written');
    expect(await treeHash(ex.root)).toBe(before);
  });

  it('a malformed --members is a usage error (exit 2) and nothing is touched', async () => {
    const before = await treeHash(ex.root);
    const base = importArgs(ex, ex.m4, '--json');
    const at = base.indexOf('--members') + 1;
    const withMembers = (m: string): string[] => base.map((a, i) => (i === at ? m : a));
    // The real binary for two of them; the rest of the table in-process (parseMembers has its own table too).
    for (const run of await Promise.all(['1=m1:63001,4', 'x=m1:63001'].map((m) => runCli(withMembers(m))))) {
      expect(expectError(run, 'ErrUsage', 2).message).toMatch(/members/);
    }
    for (const bad of ['', '1:m1,4:m4', '=m4:63001', '4=', '1=a,1=b', '-4=m4:63001', '18446744073709551616=m4:63001']) {
      const err = expectError(await runInProcess(withMembers(bad)), 'ErrUsage', 2);
      expect(err.message, bad).toMatch(/members|argument/i);
    }
    expect(await treeHash(ex.root)).toBe(before);
  });

  it('missing required options are usage errors naming the option', async () => {
    const full = importArgs(ex, ex.m4, '--json');
    const without = (opt: string): string[] => {
      const i = full.indexOf(opt);
      return [...full.slice(0, i), ...full.slice(i + 2)];
    };
    expect(expectError(await runCli(without('--members')), 'ErrUsage', 2).message).toContain('--members');
    for (const opt of ['--config', '--src', '--replica-id']) {
      expect(expectError(await runInProcess(without(opt)), 'ErrUsage', 2).message).toContain(opt);
    }
    expectError(await runInProcess(importArgs(ex, ex.m4, '--json', '--replica-id', 'four')), 'ErrUsage', 2);
    expectError(await runInProcess(importArgs(ex, ex.m4, '--json', '--engine', 'fast')), 'ErrUsage', 2);
  });

  it("the replica's address differs from this host's RaftAddress: ErrInvalidMembers, exit 1, nothing written", async () => {
    const before = await treeHash(ex.root);
    const args = importArgs(ex, ex.m4, '--json');
    args[args.indexOf('--members') + 1] = '1=m1:63001,4=m9:63001,5=m5:63001';
    const err = expectError(await runCli(args), 'ErrInvalidMembers', 1);
    expect(err.message).toContain('m4:63001');
    // The replica is not in the member map at all.
    args[args.indexOf('--members') + 1] = '1=m1:63001,5=m5:63001';
    expectError(await runCli(args), 'ErrInvalidMembers', 1);
    // A member that the snapshot knows under another address.
    args[args.indexOf('--members') + 1] = '1=m7:63001,4=m4:63001,5=m5:63001';
    expectError(await runCli(args), 'ErrInvalidMembers', 1);
    expect(await treeHash(ex.root)).toBe(before);
  });

  it('a corrupt export: ErrIncompleteSnapshot naming the check, exit 1, nothing written', async () => {
    flipByte(join(ex.exportDir, 'snapshot-0000000000000190.gbsnap'), blockDataOffset(0) + 100);
    const before = await treeHash(ex.root);
    for (const args of [
      importArgs(ex, ex.m4, '--json'),
      importArgs(ex, ex.m5, '--json', '--dry-run'),
      importArgs(ex, ex.m1, '--json', '--dry-run'),
    ]) {
      const err = expectError(await runCli(args), 'ErrIncompleteSnapshot', 1);
      expect(err.details.check).toBe('block-crc');
    }
    expect(await treeHash(ex.root)).toBe(before);
  });

  // On the survivor, whose own snapshot directory is reused, nothing is copied:
  // the export's blocks must still be read, as on every other host.
  it('a corrupt export is refused on the survivor too (m1 reuses its own copy)', async () => {
    flipByte(join(ex.exportDir, 'snapshot-0000000000000190.gbsnap'), blockDataOffset(0) + 100);
    expectError(await runCli(importArgs(ex, ex.m1, '--json')), 'ErrIncompleteSnapshot', 1);
  });

  it('a missing export: ErrPathNotExist, exit 1', async () => {
    const args = importArgs(ex, ex.m4, '--json');
    args[args.indexOf('--src') + 1] = join(ex.root, 'nope');
    expectError(await runCli(args), 'ErrPathNotExist', 1);
  });

  it('a config file that is not JSON: ErrInvalidConfig, exit 1', async () => {
    writeFileSync(ex.m4.configFile, '{"nodeHostDir": ');
    expectError(await runCli(importArgs(ex, ex.m4, '--json')), 'ErrInvalidConfig', 1);
  });

  it.skipIf(!hasPython3)('a NodeHost holding its directory lock: ErrDirLocked, exit 1, nothing written', async () => {
    const lockFile = join(ex.m1.config.nodeHostDir, 'LOCK');
    writeFileSync(lockFile, '');
    const holder = await holdFcntlLock(lockFile);
    try {
      const before = await treeHash(ex.root);
      const run = await runCli(importArgs(ex, ex.m1, '--json'));
      const err = expectError(run, 'ErrDirLocked', 1);
      expect(err.message).toMatch(/lock/i);
      expect(await treeHash(ex.root)).toBe(before);
    } finally {
      await holder.release();
    }
  });

  describe('progress (stderr is not a terminal here)', () => {
    const progressLines = (stderr: string): string[] => stderr.split('\n').filter((l) => /^copy: /.test(l));

    it('human mode: plain progress lines on stderr, no bar, nothing on stdout', async () => {
      const run = await runCli(importArgs(ex, ex.m4));
      expect(run.status, run.stderr).toBe(0);
      const lines = progressLines(run.stderr);
      expect(lines.length).toBeGreaterThan(0);
      expect(lines.at(-1)).toMatch(/^copy: done, 65\.\d KiB in \d+\.\d s/);
      expect(run.stderr).not.toContain('\r');
      expect(run.stderr).not.toContain('\x1b[');
      expect(run.stderr).not.toMatch(/\b0 B\/s/);
      expect(run.stdout).not.toMatch(/^copy/m);
    });

    it('--json: no progress unless asked', async () => {
      const run = await runCli(importArgs(ex, ex.m4, '--json'));
      expectOk(run);
      expect(progressLines(run.stderr)).toEqual([]);
    });

    it('--json --progress: lines on stderr, and the last stdout line is still the JSON result', async () => {
      const run = await runCli(importArgs(ex, ex.m4, '--json', '--progress'));
      expect(lastJson(run.stdout).ok).toBe(true);
      expect(run.stdout.trimEnd().split('\n')).toHaveLength(1);
      expect(progressLines(run.stderr).length).toBeGreaterThan(0);
    });

    it('--no-progress: none, and a dry run labels its pass "verify"', async () => {
      const quiet = await runCli(importArgs(ex, ex.m4, '--no-progress'));
      expect(quiet.status, quiet.stderr).toBe(0);
      expect(progressLines(quiet.stderr)).toEqual([]);
      const dry = await runCli(importArgs(ex, ex.m5, '--dry-run'));
      expect(dry.status, dry.stderr).toBe(0);
      expect(dry.stderr).toMatch(/^verify: done/m);
      expect(progressLines(dry.stderr)).toEqual([]);
    });
  });
});
