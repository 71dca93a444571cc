/**
 * Without the native addon (NODEHOST_TOOLS_DISABLE_NATIVE=1, as on a machine
 * where it could not be built) the CLI says so once, on stderr, with how to
 * enable it, and still works.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { loadNative } from '../../src/native/binding.js';
import { GOLDEN_V1_PATH } from '../helpers/snapshots.js';
import { importArgs, workedExample, type WorkedExample } from './fixture.js';
import { expectError, expectOk, runCli } from './run.js';

const DISABLED = { NODEHOST_TOOLS_DISABLE_NATIVE: '1' };
const NOTE = /^note: native engine unavailable.*To enable it/gm;

describe('degraded: no native addon', () => {
  let ex: WorkedExample;
  beforeAll(async () => {
    ex = await workedExample(64 * 1024);
  });
  afterAll(() => ex.cleanup());

  it('verify: the note exactly once on stderr, the verdict unchanged', async () => {
    const run = await runCli(['verify', GOLDEN_V1_PATH, '--json'], { env: DISABLED });
    const res = expectOk(run);
    expect(res.engine).toBe('wasm');
    expect(res.degraded).toMatch(/NODEHOST_TOOLS_DISABLE_NATIVE/);
    expect(res.file.payloadChecksum).toBe('eb500eb3');
    expect(run.stderr.match(NOTE)).toHaveLength(1);
    expect(run.stdout).not.toContain('note:');
    const human = await runCli(['verify', ex.exportDir], { env: DISABLED });
    expect(human.status).toBe(0);
    expect(human.stderr.match(NOTE)).toHaveLength(1);
  });

  it('import: the note once, the import done, the warning in the JSON result', async () => {
    for (const h of [ex.m1, ex.m4]) {
      const run = await runCli(importArgs(ex, h, '--json', '--progress'), { env: DISABLED });
      const res = expectOk(run);
      expect(res.engine).not.toBe('native');
      expect(res.warnings.filter((w: { code: string }) => w.code === 'degraded-engine')).toHaveLength(1);
      expect(run.stderr.match(NOTE)).toHaveLength(1);
    }
  });

  it('demo: the note once although it runs several commands', async () => {
    const run = await runCli(['demo'], { env: DISABLED });
    expect(run.status, run.stderr).toBe(0);
    expect((run.stdout + run.stderr).match(/note: native engine unavailable/g)).toHaveLength(1);
    expect(run.stderr.match(NOTE)).toHaveLength(1);
  });

  it('asking for the native engine explicitly fails (exit 1) and says why', async () => {
    const err = expectError(
      await runCli(['verify', GOLDEN_V1_PATH, '--engine', 'native', '--json'], { env: DISABLED }),
      'ErrEngineUnavailable',
      1,
    );
    expect(err.message).toContain('NODEHOST_TOOLS_DISABLE_NATIVE');
  });

  it('no note when the native engine is there, or when another engine is asked for', async () => {
    expect((await runCli(['verify', GOLDEN_V1_PATH, '--json', '--engine', 'js'], { env: DISABLED })).stderr).toBe('');
    if (loadNative()) expect((await runCli(['verify', GOLDEN_V1_PATH, '--json'])).stderr).toBe('');
  });
});
