/** `nodehost bench --only cold-start`: the cold-start groups alone, in seconds rather than the suite's minutes. */
import { mkdtempSync, readdirSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { expectError, expectOk, runCli } from './run.js';

describe('nodehost bench --only', () => {
  const tmp = mkdtempSync(join(tmpdir(), 'nht-cli-bench-only-'));
  afterAll(() => rmSync(tmp, { recursive: true, force: true }));

  it('cold-start: startup, verify and inspect whole process, their four targets, nothing else; says which entry ran', async () => {
    const run = await runCli(['bench', '--only', 'cold-start', '--size', '4MiB', '--repetitions', '1', '--tmp', tmp, '--json']);
    const res = expectOk(run);
    const groups = res.report.groups as { id: string; input: string; cases: { id: string; seconds: number }[] }[];
    expect(groups.map((g) => g.id)).toEqual(['startup', 'verify-cli', 'inspect-cli']);
    expect((res.report.targets as { id: string }[]).map((t) => t.id).sort()).toEqual(
      ['inspect-cli', 'startup-help', 'startup-verify-help', 'verify-cli-vs-zlib'].sort(),
    );
    for (const c of groups.flatMap((g) => g.cases)) expect(c.seconds, c.id).toBeGreaterThan(0);
    expect(groups[1]!.input).toMatch(/run from (dist\/cli\/bundle-verify\.cjs|the modules of dist\/)/);
    expect(res.report.notes).toContain('only the cold-start groups ran (--only cold-start)');
    expect(readdirSync(tmp)).toEqual([]);
  }, 300_000);

  it('an unknown part is a usage error (exit 2), before anything runs', async () => {
    const run = await runCli(['bench', '--only', 'import', '--tmp', tmp, '--json']);
    expect(expectError(run, 'ErrUsage', 2).message).toContain('cold-start');
    expect(readdirSync(tmp)).toEqual([]);
  });
});
