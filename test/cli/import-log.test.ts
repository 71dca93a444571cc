/**
 * `nodehost import` of an export that carries a log suffix (docs/log-suffix.md):
 * the suffix and every neutralised membership change in the human output,
 * `logSuffix` in the JSON result, `--ignore-log`, a bad suffix refused.
 * Each run is a child process on real directories.
 */
import * as fsp from 'node:fs/promises';
import * as path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { LOG_SUFFIX_FILENAME } from '../../src/records/log-suffix.js';
import { makeTempDir } from '../helpers/nodehost.js';
import { treeHash } from '../helpers/tree.js';
import { freshConfig } from '../ops/fixtures.js';
import { M4 } from '../helpers/worked-example.js';
import { expectCarriedOn, exportWithSuffix, makeSurvivor } from '../ops/import-log-fixtures.js';
import { expectError, expectOk, runCli, writeConfig } from './run.js';

const MEMBERS = '1=m1:63001,4=m4:63001,5=m5:63001';
let root: string;
let n = 0;

beforeAll(async () => {
  root = await makeTempDir('nht-cli-import-log-');
});

afterAll(async () => {
  await fsp.rm(root, { recursive: true, force: true });
});

/** A survivor m1, a fresh m4 (config files) and an export at 20 with the suffix 21..70. */
async function setup(): Promise<{ dir: string; m1: string; m4: string; src: string; m1Config: Parameters<typeof expectCarriedOn>[0] }> {
  const dir = path.join(root, `case-${++n}`);
  const m1 = await makeSurvivor({ root: path.join(dir, 'm1') });
  const src = (await exportWithSuffix(path.join(dir, 'export'), m1.config)).dir;
  await fsp.mkdir(path.join(dir, 'm4'), { recursive: true });
  return {
    dir,
    m1: writeConfig(dir, m1.config, 'm1.json'),
    m4: writeConfig(dir, freshConfig(path.join(dir, 'm4'), M4), 'm4.json'),
    src,
    m1Config: m1.config,
  };
}

const importArgs = (config: string, src: string, replicaId: string, ...extra: string[]): string[] => [
  'import',
  '--config',
  config,
  '--src',
  src,
  '--members',
  MEMBERS,
  '--replica-id',
  replicaId,
  '--yes',
  ...extra,
];

describe('nodehost import with a log suffix', () => {
  it('lists the suffix and every entry neutralised; --json carries logSuffix; every host prints the same fingerprint', async () => {
    const s = await setup();
    const human = await runCli(importArgs(s.m1, s.src, '1'));
    expect(human.status, human.stderr).toBe(0);
    expect(human.stdout).toContain(
      'log suffix   entries 21..70 (50, last term 5) were written after the snapshot; from replica 1 (m1:63001',
    );
    expect(human.stdout).toContain('entry 50 (term 5): membership change replaced by an empty entry');
    expect(human.stdout).toContain('max index    70');
    // The removal line must not read as if the carried entries were gone.
    expect(human.stdout).toMatch(/^ {2}stale entries removed: .*; 21\.\.70 written again from the log suffix$/m);
    await expectCarriedOn(s.m1Config, 1n, 20n, 'plain');

    const json = expectOk(await runCli(importArgs(s.m4, s.src, '4', '--json')));
    expect(json.logSuffix).toMatchObject({
      firstIndex: '21',
      lastIndex: '70',
      entryCount: '50',
      lastTerm: '5',
      survivor: { replicaId: '1', raftAddress: 'm1:63001' },
      neutralized: [{ index: '50', term: '5' }],
    });
    expect(json.logSuffix.sha256).toMatch(/^[0-9a-f]{64}$/);
    expect(json.after.maxIndex).toBe('70');
    expect(json.after.raftState).toEqual({ term: '5', vote: '0', commit: '20' });
    expect(human.stdout).toContain(`fingerprint  ${json.fingerprint}`);
  });

  it('--ignore-log imports the snapshot alone and says what it left out', async () => {
    const s = await setup();
    const json = expectOk(await runCli(importArgs(s.m1, s.src, '1', '--ignore-log', '--json')));
    expect(json.logSuffix).toBeNull();
    expect(json.after.maxIndex).toBe('20');
    expect(json.warnings.map((w: { code: string }) => w.code)).toContain('log-suffix-ignored');
  });

  it('import --manifest carries each suffix; --ignore-log applies to every job', async () => {
    const s = await setup();
    const manifest = path.join(s.dir, 'imports.json');
    await fsp.writeFile(manifest, JSON.stringify({ imports: [{ src: s.src, members: MEMBERS, replicaId: '1' }] }));
    const dry = expectOk(await runCli(['import', '--config', s.m1, '--manifest', manifest, '--dry-run', '--ignore-log', '--json']));
    expect(dry.outcomes[0].result.logSuffix).toBeNull();
    expect(dry.outcomes[0].result.after.maxIndex).toBe('20');
    const res = expectOk(await runCli(['import', '--config', s.m1, '--manifest', manifest, '--yes', '--json']));
    expect(res.outcomes[0].result.logSuffix).toMatchObject({ firstIndex: '21', lastIndex: '70' });
    await expectCarriedOn(s.m1Config, 1n, 20n, 'plain');
  });

  it('a corrupt suffix is refused (ErrLogSuffix, exit 1) and nothing changes', async () => {
    const s = await setup();
    const file = path.join(s.src, LOG_SUFFIX_FILENAME);
    const bytes = await fsp.readFile(file);
    bytes[bytes.length - 40]! ^= 1;
    await fsp.writeFile(file, bytes);
    const before = await treeHash(s.dir);
    const err = expectError(await runCli(importArgs(s.m1, s.src, '1', '--json')), 'ErrLogSuffix', 1);
    expect(err.details.check).toBe('frame-crc');
    expect(await treeHash(s.dir)).toBe(before);
  });
});
