/**
 * `nodehost export --with-log [--snapshot-from]` and `verify` of the result as
 * a user runs them: child processes, the worked example (m1 holds entries
 * 1..460, its snapshot at 400, term 5).
 */
import { existsSync, readFileSync, readdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { readExportDir } from '../../src/ops/export-dir.js';
import { samplePayload, writeSampleExport } from '../../src/ops/sample-node.js';
import { LOG_SUFFIX_FILENAME } from '../../src/records/log-suffix.js';
import { endOf, readSuffix, suffixBytes } from '../helpers/log-suffix.js';
import { treeHash } from '../helpers/tree.js';
import { LAST_INDEX, workedExample, type WorkedExample } from './fixture.js';
import { SHARD, SNAPSHOT_INDEX, TERM } from '../helpers/worked-example.js';
import { expectError, expectOk, runCli } from './run.js';

function exportArgs(ex: WorkedExample, dest: string, ...extra: string[]): string[] {
  return ['export', '--config', ex.m1.configFile, '--shard-id', String(SHARD), '--replica-id', '1', '--dest', dest, ...extra];
}

describe('nodehost export --with-log', () => {
  let ex: WorkedExample;
  beforeAll(async () => {
    ex = await workedExample(64 * 1024);
  });
  afterAll(async () => {
    await ex.cleanup();
  });

  it('writes the suffix 401..460 beside the snapshot, lists it (JSON and human), and verify checks it', async () => {
    const m1Tree = await treeHash(ex.m1.dir);
    const res = expectOk(await runCli(exportArgs(ex, join(ex.root, 'exp-json'), '--with-log', '--json')));
    expect(await treeHash(ex.m1.dir)).toBe(m1Tree);
    const file = join(res.exportDir, LOG_SUFFIX_FILENAME);
    expect(res.logSuffix).toMatchObject({
      file,
      firstIndex: String(SNAPSHOT_INDEX + 1n),
      lastIndex: String(LAST_INDEX),
      entryCount: String(LAST_INDEX - SNAPSHOT_INDEX),
      firstTerm: String(TERM),
      lastTerm: String(TERM),
      configChanges: [],
      size: String(readFileSync(file).length),
    });
    expect(res.logSuffix.sha256).toMatch(/^[0-9a-f]{64}$/);
    expect(res.files.map((f: { name: string }) => f.name)).toContain(LOG_SUFFIX_FILENAME);

    const v = expectOk(await runCli(['verify', res.exportDir, '--json']));
    expect(v.logSuffix).toMatchObject({
      firstIndex: '401',
      lastIndex: '460',
      entryCount: '60',
      lastTerm: '5',
      snapshotIndex: '400',
      snapshotTerm: '5',
      survivorReplicaId: '1',
      sha256: res.logSuffix.sha256,
    });
    expect(v.manifest.hashed).toContain(LOG_SUFFIX_FILENAME);

    const human = await runCli(['verify', res.exportDir]);
    expect(human.status).toBe(0);
    expect(human.stdout).toContain('log suffix: entries 401..460 (60), terms 5..5');
    expect(human.stdout).toContain('membership changes: none');

    const out = await runCli(exportArgs(ex, join(ex.root, 'exp-human'), '--with-log'));
    expect(out.status, out.stderr).toBe(0);
    expect(out.stdout).toContain('log suffix: entries 401..460 (60), terms 5..5');
  });

  it('--snapshot-from takes the snapshot from an export and the log after its index from this host', async () => {
    const res = expectOk(await runCli(exportArgs(ex, join(ex.root, 'exp-from'), '--with-log', '--snapshot-from', ex.exportDir, '--json')));
    expect(res.snapshotFrom).toBe(ex.exportDir);
    expect(res.index).toBe(String(SNAPSHOT_INDEX));
    expect(res.logSuffix.firstIndex).toBe('401');
    const gbsnap = readdirSync(ex.exportDir).find((n) => n.endsWith('.gbsnap'))!;
    expect(readFileSync(join(res.exportDir, gbsnap))).toEqual(readFileSync(join(ex.exportDir, gbsnap)));
    expectOk(await runCli(['verify', res.exportDir, '--json']));
  });

  it('--snapshot-from without --with-log is a usage error; nothing is written', async () => {
    const dest = join(ex.root, 'exp-usage');
    const err = expectError(await runCli(exportArgs(ex, dest, '--snapshot-from', ex.exportDir, '--json')), 'ErrUsage', 2);
    expect(err.message).toContain('--with-log');
    expect(existsSync(dest)).toBe(false);
  });

  it('verify of a damaged suffix: exit 1, ErrLogSuffix naming the file and the check', async () => {
    const res = expectOk(await runCli(exportArgs(ex, join(ex.root, 'exp-damaged'), '--with-log', '--json')));
    const file = join(res.exportDir, LOG_SUFFIX_FILENAME);
    const bytes = readFileSync(file);
    writeFileSync(file, bytes.subarray(0, bytes.length - 10));
    const run = await runCli(['verify', res.exportDir, '--json']);
    const err = expectError(run, 'ErrLogSuffix', 1);
    expect(err.details).toMatchObject({ path: file, check: 'truncated' });
    const human = await runCli(['verify', res.exportDir]);
    expect(human.status).toBe(1);
    expect(human.stderr).toContain(file);
  });

  it("--snapshot-from an export whose term at its index is not this host's: exit 1 ErrLogDiverged, nothing written", async () => {
    const { record } = await readExportDir(ex.exportDir);
    const other = await writeSampleExport(join(ex.root, 'term4'), { ...record, term: TERM - 1n }, samplePayload(4096));
    const dest = join(ex.root, 'exp-diverged');
    const err = expectError(await runCli(exportArgs(ex, dest, '--with-log', '--snapshot-from', other, '--json')), 'ErrLogDiverged', 1);
    expect(err.details).toMatchObject({ check: 'anchor-term', expected: String(TERM - 1n), actual: String(TERM) });
    expect(existsSync(dest) ? readdirSync(dest) : []).toEqual([]);
  });

  it('verify of a suffix that continues another snapshot: exit 1, ErrLogSuffix anchor, the values as decimal strings', async () => {
    const res = expectOk(await runCli(exportArgs(ex, join(ex.root, 'exp-anchor'), '--with-log', '--json')));
    const file = join(res.exportDir, LOG_SUFFIX_FILENAME);
    const { header, entries } = await readSuffix(file);
    writeFileSync(file, suffixBytes({ ...header, snapshotTerm: TERM - 1n }, entries, endOf(entries)));
    const err = expectError(await runCli(['verify', res.exportDir, '--json']), 'ErrLogSuffix', 1);
    expect(err.details).toMatchObject({
      path: file,
      check: 'anchor',
      expected: { index: String(SNAPSHOT_INDEX), term: String(TERM) },
      actual: { index: String(SNAPSHOT_INDEX), term: String(TERM - 1n) },
    });
  });
});
