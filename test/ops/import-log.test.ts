/**
 * The import carries the export's log suffix (docs/log-suffix.md,
 * docs/import-contract.md step 11): in the same commit as the snapshot
 * records, the survivor's entries past the snapshot under the importing
 * replica's keys in the host's own format, membership changes replaced by
 * empty entries. Read back as a restarting Dragonboat reads them, on the
 * survivor (plain and batched logs) and on a fresh host.
 */
import * as fsp from 'node:fs/promises';
import * as path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { readFlagFile } from '../../src/files/flagfile.js';
import { LogDB } from '../../src/logdb/logdb.js';
import { resolveNodeHostConfig } from '../../src/nodehost/config.js';
import { dataStatusPath } from '../../src/nodehost/paths.js';
import { restoreBackup } from '../../src/ops/backup.js';
import { exportSnapshot } from '../../src/ops/export.js';
import { importMany } from '../../src/ops/import-many.js';
import { importSnapshot } from '../../src/ops/import.js';
import { LOG_SUFFIX_FILENAME } from '../../src/records/log-suffix.js';
import { decodeRaftDataStatus } from '../../src/records/codec.js';
import { makeEntries, makeRunningNode, makeTempDir } from '../helpers/nodehost.js';
import { treeHash } from '../helpers/tree.js';
import { freshConfig, makeExport, nodeState } from './fixtures.js';
import { M4, SHARD, workedMembers } from '../helpers/worked-example.js';
import {
  CONFIG_CHANGE_AT,
  EXPORT_TERM,
  LAST,
  LAST_TERM,
  expectCarriedOn,
  exportWithLog,
  exportWithSuffix,
  makeSurvivor,
  writeManifest,
} from './import-log-fixtures.js';

let root: string;
let n = 0;

beforeAll(async () => {
  root = await makeTempDir('nht-ops-import-log-');
});

afterAll(async () => {
  await fsp.rm(root, { recursive: true, force: true });
});

function scratch(): string {
  return path.join(root, `case-${++n}`);
}

async function binVerOf(nodeHostDir: string): Promise<number> {
  return (await readFlagFile(dataStatusPath(nodeHostDir), decodeRaftDataStatus)).binVer;
}

describe('a suffix is carried', () => {
  for (const batched of [false, true]) {
    const format = batched ? 'batched' : 'plain';
    for (const index of batched ? [20n, 47n] : [20n]) {
      it(`${format} survivor, export at ${index}: m1 keeps its format, a fresh m4 gets the default (plain)`, async () => {
        const dir = scratch();
        const m1 = await makeSurvivor({ root: path.join(dir, 'm1'), batched });
        const exp = await exportWithLog(path.join(dir, 'export'), m1.config, { index });
        const m4 = freshConfig(path.join(dir, 'm4'), M4);

        const r1 = await importSnapshot(m1.config, exp.dir, workedMembers(), 1n);
        const r4 = await importSnapshot(m4, exp.dir, workedMembers(), 4n);

        for (const r of [r1, r4]) {
          expect(r.logSuffix).toMatchObject({
            firstIndex: index + 1n,
            lastIndex: LAST,
            entryCount: LAST - index,
            lastTerm: LAST_TERM,
            survivor: { replicaId: 1n, raftAddress: 'm1:63001', nodeHostDir: m1.cfg.nodeHostDir },
            neutralized: [{ index: CONFIG_CHANGE_AT, term: LAST_TERM }],
          });
          expect(r.logSuffix!.sha256).toMatch(/^[0-9a-f]{64}$/);
          expect(r.after.maxIndex).toBe(LAST);
          expect(r.after.raftState).toEqual({ term: LAST_TERM, vote: 0n, commit: index });
          // The survivor's log is carried whole: nothing of it is reported lost.
          expect(r.warnings.map((w) => w.code)).not.toContain('entries-discarded');
        }
        expect(r1.fingerprint).toBe(r4.fingerprint);

        await expectCarriedOn(m1.config, 1n, index, format);
        await expectCarriedOn(m4, 4n, index, 'plain');
        expect(await binVerOf(m1.cfg.nodeHostDir)).toBe(batched ? 210 : 100);
        expect(await binVerOf(resolveNodeHostConfig(m4).nodeHostDir)).toBe(100);
      });
    }
  }

  it('a survivor whose log runs past the suffix: the warning names what is lost, the rest is carried', async () => {
    const dir = scratch();
    const m1 = await makeSurvivor({ root: path.join(dir, 'm1') });
    const exp = await exportWithSuffix(path.join(dir, 'export'), m1.config, { last: 60n });
    const res = await importSnapshot(m1.config, exp.dir, workedMembers(), 1n);
    const w = res.warnings.filter((x) => x.code === 'entries-discarded');
    expect(w).toHaveLength(1);
    expect(w[0]!.message).toContain('log entries 61..70 of replica 1');
    expect(w[0]!.message).not.toContain('21..');
    await expectCarriedOn(m1.config, 1n, 20n, 'plain', 60n);
  });

  it('a host whose log differs from the suffix: the warning names the entries replaced', async () => {
    const dir = scratch();
    const m1 = await makeSurvivor({ root: path.join(dir, 'm1') });
    const exp = await exportWithSuffix(path.join(dir, 'export'), m1.config);
    // Another replica 1 whose entries 41..70 are of term 3 (another history than the survivor's term 5).
    const other = await makeSurvivor({ root: path.join(dir, 'other'), entries: 70, snapshotIndex: 10n });
    const db = await LogDB.open(other.cfg);
    try {
      await db.saveRaftState([{ shardId: SHARD, replicaId: 1n, entries: makeEntries(41n, 75n, 3n) }]);
    } finally {
      await db.close();
    }
    const res = await importSnapshot(other.config, exp.dir, workedMembers(), 1n);
    const msg = res.warnings.find((x) => x.code === 'entries-discarded')!.message;
    expect(msg).toContain('30 log entries of replica 1 between 41 and 70 differ');
    expect(msg).toContain('log entries 71..75 of replica 1');
    await expectCarriedOn(other.config, 1n, 20n, 'plain');
  });

  it('a dry run reports the suffix and the records, and writes nothing', async () => {
    const dir = scratch();
    const m1 = await makeSurvivor({ root: path.join(dir, 'm1') });
    const exp = await exportWithSuffix(path.join(dir, 'export'), m1.config);
    const before = await treeHash(dir);
    const progress: [string, number, number][] = [];
    const res = await importSnapshot(m1.config, exp.dir, workedMembers(), 1n, {
      dryRun: true,
      onProgress: (phase, d, t) => progress.push([phase, d, t]),
    });
    expect(await treeHash(dir)).toBe(before);
    // Reading the suffix is reported as verification of its bytes, ending at the file's size.
    const size = (await fsp.stat(path.join(exp.dir, LOG_SUFFIX_FILENAME))).size;
    expect(progress).toContainEqual(['verify', size, size]);
    expect(res.logSuffix?.neutralized).toEqual([{ index: CONFIG_CHANGE_AT, term: LAST_TERM }]);
    expect(res.after.maxIndex).toBe(LAST);
    expect(res.after.raftState.term).toBe(LAST_TERM);
    const real = await importSnapshot(m1.config, exp.dir, workedMembers(), 1n);
    expect(real.fingerprint).toBe(res.fingerprint);
    expect(real.after).toEqual(res.after);
    expect(real.logSuffix).toEqual(res.logSuffix);
  });

  it('the raft state term never goes below the snapshot term', async () => {
    const dir = scratch();
    const m1 = await makeSurvivor({ root: path.join(dir, 'm1') });
    // Index 20 in term 3, suffix 21..30 in term 3 as well.
    const exp = await exportWithSuffix(path.join(dir, 'export'), m1.config, { last: 30n });
    const res = await importSnapshot(m1.config, exp.dir, workedMembers(), 1n);
    expect(res.after.raftState).toEqual({ term: EXPORT_TERM, vote: 0n, commit: 20n });
    expect(res.logSuffix?.neutralized).toEqual([]);
  });
});

describe("the survivor's own snapshot exported with its log", () => {
  for (const batched of [false, true]) {
    it(`${batched ? 'batched' : 'plain'}: m1 keeps its snapshot directory in place and gets its entries back re-keyed; m4 gets the same`, async () => {
      const dir = scratch();
      const m1 = await makeSurvivor({ root: path.join(dir, 'm1'), batched });
      const exp = await exportSnapshot(m1.config, SHARD, 1n, path.join(dir, 'export'), { withLog: true });
      expect(exp.index).toBe(10n);
      const m4 = freshConfig(path.join(dir, 'm4'), M4);
      const r1 = await importSnapshot(m1.config, exp.exportDir, workedMembers(), 1n);
      const r4 = await importSnapshot(m4, exp.exportDir, workedMembers(), 4n);
      expect(r1.files.map((f) => f.how)).toEqual(['reused']);
      expect(r1.logSuffix).toMatchObject({ firstIndex: 11n, lastIndex: LAST, neutralized: [{ index: CONFIG_CHANGE_AT, term: LAST_TERM }] });
      expect(r1.fingerprint).toBe(r4.fingerprint);
      await expectCarriedOn(m1.config, 1n, 10n, batched ? 'batched' : 'plain');
      await expectCarriedOn(m4, 4n, 10n, 'plain');
    });
  }
});

describe('--ignore-log', () => {
  it('equals the import of the same export without its suffix, record for record (and warns what it leaves out)', async () => {
    const work = path.join(root, 'ignore-work');
    const states = [];
    for (const variant of ['ignore', 'none'] as const) {
      await fsp.rm(work, { recursive: true, force: true });
      const m1 = await makeSurvivor({ root: path.join(work, 'm1') });
      const exp = await exportWithSuffix(path.join(work, 'export'), m1.config);
      if (variant === 'none') {
        await fsp.rm(path.join(exp.dir, LOG_SUFFIX_FILENAME));
        await writeManifest(exp.dir, exp.record.index);
      }
      const res = await importSnapshot(m1.config, exp.dir, workedMembers(), 1n, variant === 'ignore' ? { ignoreLog: true } : {});
      expect(res.logSuffix).toBeUndefined();
      expect(res.after.maxIndex).toBe(20n);
      const codes = res.warnings.map((w) => w.code);
      expect(codes.includes('log-suffix-ignored')).toBe(variant === 'ignore');
      expect(codes).toContain('entries-discarded');
      states.push({ state: await nodeState(path.join(work, 'm1'), m1.config), fingerprint: res.fingerprint });
    }
    expect(states[0]).toEqual(states[1]);
  });
});

describe('backup and restore', () => {
  it('restore-backup undoes a suffix import (the backup records what the commit wrote)', async () => {
    const dir = scratch();
    const m1 = await makeSurvivor({ root: path.join(dir, 'm1'), batched: true });
    const exp = await exportWithSuffix(path.join(dir, 'export'), m1.config);
    const before = await nodeState(path.join(dir, 'm1'), m1.config);
    const backupDir = path.join(dir, 'backup');
    await importSnapshot(m1.config, exp.dir, workedMembers(), 1n, { backupDir });
    await expectCarriedOn(m1.config, 1n, 20n, 'batched');
    await restoreBackup(backupDir, m1.config);
    const after = await nodeState(path.join(dir, 'm1'), m1.config);
    expect(after.kv).toEqual(before.kv);
  });
});

describe('import --manifest', () => {
  it('carries each job’s suffix (one batch per partition)', async () => {
    const dir = scratch();
    const m1 = await makeSurvivor({ root: path.join(dir, 'm1') });
    const exp = await exportWithSuffix(path.join(dir, 'export'), m1.config);
    const res = await importMany(m1.config, [{ src: exp.dir, members: workedMembers(), replicaId: 1n }]);
    expect(res.ok).toBe(true);
    expect(res.outcomes[0]!.result!.logSuffix?.lastIndex).toBe(LAST);
    await expectCarriedOn(m1.config, 1n, 20n, 'plain');
  });

  it('two shards of one partition, each with its suffix, commit together', async () => {
    const dir = scratch();
    const m1 = await makeSurvivor({ root: path.join(dir, 'm1') });
    // Shard 116 lives in the same partition as 100 (116 % 16 = 100 % 16): entries 1..40 in term 3, a snapshot at 10.
    await makeRunningNode({ root: path.join(dir, 'm1'), shardId: 116n, entries: 40, snapshotIndex: 10n });
    const e100 = await exportSnapshot(m1.config, SHARD, 1n, path.join(dir, 'export-100'), { withLog: true });
    const e116 = await exportSnapshot(m1.config, 116n, 1n, path.join(dir, 'export-116'), { withLog: true });
    const res = await importMany(m1.config, [
      { src: e100.exportDir, members: workedMembers(), replicaId: 1n },
      { src: e116.exportDir, members: workedMembers(), replicaId: 1n },
    ]);
    expect(res.ok).toBe(true);
    expect(res.outcomes.map((o) => o.result!.partitionDir)).toEqual([
      res.outcomes[0]!.result!.partitionDir,
      res.outcomes[0]!.result!.partitionDir,
    ]);
    expect(res.outcomes.map((o) => o.result!.logSuffix?.lastIndex)).toEqual([LAST, 40n]);
    await expectCarriedOn(m1.config, 1n, 10n, 'plain');
    const db = await LogDB.open(m1.cfg, { readOnly: true });
    try {
      expect(await db.readRaftState(116n, 1n, 10n)).toEqual({
        state: { term: 3n, vote: 0n, commit: 10n },
        firstIndex: 11n,
        entryCount: 30n,
      });
      expect((await db.iterateEntries(116n, 1n, 11n, 41n)).entries.map((e) => e.entry)).toEqual(makeEntries(11n, 40n, 3n));
    } finally {
      await db.close();
    }
  });

  it('ignoreLog per job imports the snapshot alone', async () => {
    const dir = scratch();
    const m1 = await makeSurvivor({ root: path.join(dir, 'm1') });
    const exp = await exportWithSuffix(path.join(dir, 'export'), m1.config);
    const res = await importMany(m1.config, [{ src: exp.dir, members: workedMembers(), replicaId: 1n, ignoreLog: true }]);
    expect(res.ok).toBe(true);
    expect(res.outcomes[0]!.result!.logSuffix).toBeUndefined();
    expect(res.outcomes[0]!.result!.after.maxIndex).toBe(20n);
  });
});

describe('an export without a suffix', () => {
  it('imports exactly as before (no logSuffix, the snapshot-only fingerprint)', async () => {
    const dir = scratch();
    const m1 = await makeSurvivor({ root: path.join(dir, 'm1') });
    const exp = await makeExport(path.join(dir, 'export'), { term: EXPORT_TERM });
    const res = await importSnapshot(m1.config, exp.dir, workedMembers(), 1n);
    expect(res.logSuffix).toBeUndefined();
    expect(res.after.maxIndex).toBe(20n);
  });
});
