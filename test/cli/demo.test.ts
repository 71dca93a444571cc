/** `nodehost demo`: the README's first command must work out of the box. */
import { existsSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { expectOk, runCli } from './run.js';

describe('nodehost demo', () => {
  it('--json: exit 0, the last line is the JSON result, and the temporary directories are gone', async () => {
    const run = await runCli(['demo', '--json']);
    const res = expectOk(run);
    expect(res.members).toBe('1=m1:63001,4=m4:63001,5=m5:63001');
    expect(res.root).toBeNull();
    expect(run.stdout.trimEnd().split('\n')).toHaveLength(1);
  });

  it('human output walks through the example and ends with the repaired membership; --keep keeps the data', async () => {
    const run = await runCli(['demo', '--keep']);
    expect(run.status, run.stderr).toBe(0);
    expect(run.stdout).toContain('$ nodehost verify ');
    expect(run.stdout.match(/^\$ nodehost import /gm)).toHaveLength(3);
    expect(run.stdout).toContain('The shard now has members {1=m1:63001, 4=m4:63001, 5=m5:63001}');
    expect(run.stdout).not.toContain('{(none)}');
    const kept = /^Kept: (.+)$/m.exec(run.stdout)?.[1];
    expect(kept).toBeDefined();
    expect(existsSync(kept!)).toBe(true);
    const { rm } = await import('node:fs/promises');
    await rm(kept!, { recursive: true, force: true });
  });
});
