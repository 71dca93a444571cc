/**
 * The CLI on a terminal, under a pseudo-terminal from util-linux `script`:
 * the import's confirmation rule (stdin a TTY + existing state → --yes is
 * required, after showing what would be lost) and the progress bar.
 */
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { treeHash } from '../helpers/tree.js';
import { LAST_INDEX, importArgs, workedExample, type WorkedExample } from './fixture.js';
import { SNAPSHOT_INDEX } from '../helpers/worked-example.js';
import { hasScript, lastJson, runInPty, shq } from './run.js';

describe.skipIf(!hasScript())('nodehost import on a terminal', () => {
  let ex: WorkedExample;
  beforeEach(async () => {
    ex = await workedExample(256 * 1024);
  });
  afterEach(() => ex.cleanup());

  /** Runs with stdin a terminal and stdout/stderr redirected to files. */
  async function onTerminalStdin(args: string[]): Promise<{ status: number; stdout: string; stderr: string }> {
    const out = join(ex.root, 'out.txt');
    const err = join(ex.root, 'err.txt');
    const { status } = await runInPty(args, `> ${shq(out)} 2> ${shq(err)}`);
    const res = { status, stdout: readFileSync(out, 'utf8'), stderr: readFileSync(err, 'utf8') };
    // Outside the data directories: the tree hashes below do not see them.
    return res;
  }

  it('refuses to overwrite existing state without --yes: exit 2, the loss shown on stderr, nothing written', async () => {
    const m1 = join(ex.root, 'm1');
    const before = await treeHash(m1);
    const run = await onTerminalStdin(importArgs(ex, ex.m1));
    expect(run.status, run.stderr).toBe(2);
    expect(run.stderr).toContain('has state that the import overwrites');
    expect(run.stderr).toContain(`raft state   term 5, vote 1, commit ${LAST_INDEX}`);
    expect(run.stderr).toContain(`entries      stored 1..${LAST_INDEX}`);
    expect(run.stderr).toContain(`log entries ${SNAPSHOT_INDEX + 1n}..${LAST_INDEX} of replica 1 are discarded`);
    expect(run.stderr).toMatch(/ErrUsage: refusing to overwrite .*--yes/);
    expect(run.stdout).not.toContain('Imported.');
    expect(await treeHash(m1)).toBe(before);
  });

  it('with --json the refusal is the JSON error, code ErrUsage', async () => {
    const run = await onTerminalStdin(importArgs(ex, ex.m1, '--json'));
    expect(run.status).toBe(2);
    const res = lastJson(run.stdout, run.stderr);
    expect(res.ok).toBe(false);
    expect(res.error.code).toBe('ErrUsage');
  });

  it('on a terminal, asks (y/N): y imports, anything else (or no answer) refuses with nothing written', async () => {
    const m1 = join(ex.root, 'm1');
    const before = await treeHash(m1);
    const out = join(ex.root, 'out.txt');
    const no = await runInPty(importArgs(ex, ex.m1), `> ${shq(out)}`, { input: 'n\n' });
    expect(no.status, no.output).toBe(2);
    expect(no.output).toContain('has state that the import overwrites');
    expect(no.output).toMatch(/Overwrite shard 100 replica 1 on this host\? \[y\/N\]/);
    expect(no.output).toMatch(/refusing to overwrite .*answer y, or rerun with --yes/);
    expect(await treeHash(m1)).toBe(before);
    const silent = await runInPty(importArgs(ex, ex.m1), `> ${shq(out)}`);
    expect(silent.status, silent.output).toBe(2);
    expect(await treeHash(m1)).toBe(before);
    const yes = await runInPty(importArgs(ex, ex.m1), `> ${shq(out)}`, { input: 'y\n' });
    expect(yes.status, yes.output).toBe(0);
    expect(readFileSync(out, 'utf8')).toContain('Imported.');
  });

  it('goes ahead with --yes (or -y)', async () => {
    const run = await onTerminalStdin(importArgs(ex, ex.m1, '--yes', '--json'));
    expect(run.status, run.stderr).toBe(0);
    expect(lastJson(run.stdout, run.stderr).after.snapshot.imported).toBe(true);
    const short = await onTerminalStdin(importArgs(ex, ex.m4, '-y'));
    expect(short.status, short.stderr).toBe(0);
  });

  it('asks nothing of a node with no state: an empty host imports without --yes', async () => {
    const run = await onTerminalStdin(importArgs(ex, ex.m4, '--json'));
    expect(run.status, run.stderr).toBe(0);
    expect(lastJson(run.stdout, run.stderr).ok).toBe(true);
  });

  it('a dry run never needs --yes', async () => {
    const run = await onTerminalStdin(importArgs(ex, ex.m1, '--dry-run'));
    expect(run.status, run.stderr).toBe(0);
    expect(run.stdout).toContain('DRY RUN');
  });

  it('stderr a terminal: a redrawn bar with bytes, rate and time, ending on its own line', async () => {
    const out = join(ex.root, 'out.txt');
    const { status, output } = await runInPty(importArgs(ex, ex.m4), `> ${shq(out)}`);
    expect(status, output).toBe(0);
    // The bar: carriage returns, a [###] gauge, percent, bytes done/total, then "done in" on completion.
    expect(output).toContain('\r');
    // The rate shows once there is one (a copy this small may end before: then no "-- B/s" placeholder).
    expect(output).toMatch(/\rcopy \[#+\] 100% {2}257\.0 KiB\/257\.0 KiB {2}(?:\S+ \S+\/s {2})?done in \d\d:\d\d\x1b\[K\n/);
    expect(output).not.toContain('-- B/s');
    // stdin is a terminal too: the node has no state, so the confirmation preview (a verification pass) just goes on.
    expect(output).toMatch(/^verify \[#+\] 100%/m);
    expect(output).not.toMatch(/\b0 B\/s/);
    // Human output went to stdout (the file), not the terminal.
    expect(readFileSync(out, 'utf8')).toContain('Imported.');
    expect(output).not.toContain('Imported.');
  });

  it('stderr a terminal with --json: no bar unless --progress', async () => {
    const out = join(ex.root, 'out.txt');
    const quiet = await runInPty(importArgs(ex, ex.m4, '--json'), `> ${shq(out)}`);
    expect(quiet.status, quiet.output).toBe(0);
    expect(quiet.output).not.toContain('copy [');
    const loud = await runInPty(importArgs(ex, ex.m5, '--json', '--progress'), `> ${shq(out)}`);
    expect(loud.status, loud.output).toBe(0);
    expect(loud.output).toContain('copy [');
    expect(lastJson(readFileSync(out, 'utf8')).ok).toBe(true);
  });
});
