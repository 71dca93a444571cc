/**
 * Help, usage errors and the launcher: `--help` everywhere (exit 0), unknown
 * commands and options (exit 2), and a clear message when dist/ is missing.
 * Table-driven cases run `main(argv, io)` in-process; a few run the real binary.
 */
import { copyFileSync, mkdirSync, writeFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { parseMembers } from '../../src/cli/commands/import.js';
import { ErrUsage } from '../../src/errors.js';
import { GOLDEN_V1_PATH, tempDirs } from '../helpers/snapshots.js';
import { BIN, expectError, lastJson, runCli, runInProcess } from './run.js';

const dirs = tempDirs('nht-cli-usage-');
const COMMANDS = ['import', 'verify', 'inspect', 'demo'];

const inProcess = runInProcess;

describe('help', () => {
  it.each(COMMANDS)('%s --help: exit 0, usage and every option on stdout', async (name) => {
    for (const flag of ['--help', '-h']) {
      const run = await inProcess([name, flag]);
      expect(run.status).toBe(0);
      expect(run.stdout).toMatch(new RegExp(`^Usage: nodehost ${name}`));
      expect(run.stdout).toContain('--json');
      expect(run.stderr).toBe('');
    }
  });

  it('--help wins over missing arguments and is listed in every command', async () => {
    const run = await inProcess(['import', '--help', '--replica-id', 'x']);
    expect(run.status).toBe(0);
    expect(run.stdout).toContain('--members <list>');
    expect(run.stdout).toContain('--config-change-id <policy>');
    expect(run.stdout).toContain('--engine <name>');
  });

  it('top level: --help, -h and help list every command, exit 0; `help <command>` shows its help', async () => {
    for (const argv of [['--help'], ['-h'], ['help']]) {
      const run = await inProcess(argv);
      expect(run.status).toBe(0);
      expect(run.stdout).toMatch(/^Usage: nodehost <command>/);
      for (const c of COMMANDS) expect(run.stdout).toMatch(new RegExp(`^  ${c} `, 'm'));
    }
    const sub = await inProcess(['help', 'verify']);
    expect(sub.status).toBe(0);
    expect(sub.stdout).toMatch(/^Usage: nodehost verify/);
  });

  it('the real binary: --help exits 0 for the top level and each command', async () => {
    const runs = await Promise.all([['--help'], ...COMMANDS.map((c) => [c, '--help'])].map((a) => runCli(a)));
    for (const r of runs) {
      expect(r.status, r.stderr).toBe(0);
      expect(r.stdout).toMatch(/^Usage: nodehost /);
    }
  });

  it('--version prints the version', async () => {
    const run = await inProcess(['--version']);
    expect(run.status).toBe(0);
    expect(run.stdout).toMatch(/^\d+\.\d+\.\d+\n$/);
  });
});

describe('usage errors exit 2', () => {
  it('no command: the help on stderr, nothing on stdout', async () => {
    const run = await inProcess([]);
    expect(run.status).toBe(2);
    expect(run.stdout).toBe('');
    expect(run.stderr).toMatch(/^Usage: nodehost <command>/);
  });

  it.each([
    [['frobnicate'], /unknown command "frobnicate"/],
    [['help', 'frobnicate'], /unknown command "frobnicate"/],
    [['--bogus'], /unknown option "--bogus": the command comes first/],
    [['verify', GOLDEN_V1_PATH, '--bogus'], /Unknown option '--bogus'/],
    [['inspect', '--config', 'x.json', '--shard-id', '1', '--replica-id', '1', '--yes'], /Unknown option '--yes'/],
    [['verify', GOLDEN_V1_PATH, '--engine'], /--engine/],
    [['import', '--config', 'c.json', '--src', 'd', '--members', '1=a:1', '--replica-id', '1', 'extra'], /expected 0 argument/],
    [['demo', 'now'], /expected 0 argument/],
  ])('%j', async (argv, message) => {
    const run = await inProcess([...argv, '--json']);
    expect(run.status).toBe(2);
    const res = lastJson(run.stdout, run.stderr);
    expect(res).toMatchObject({ ok: false, error: { code: 'ErrUsage' } });
    expect(res.error.message).toMatch(message);
    expect(run.stderr).toMatch(message);
    // Without --json, stdout stays empty: the error is on stderr only.
    const human = await inProcess(argv);
    expect(human.status).toBe(2);
    expect(human.stdout).toBe('');
  });

  it('the real binary: unknown command and unknown option', async () => {
    const [cmd, opt] = await Promise.all([runCli(['frobnicate', '--json']), runCli(['verify', GOLDEN_V1_PATH, '--frob', '--json'])]);
    expectError(cmd, 'ErrUsage', 2);
    expectError(opt, 'ErrUsage', 2);
    expect(cmd.stderr).toContain('unknown command "frobnicate"');
  });
});

describe('--members parsing', () => {
  it('accepts the documented form, with spaces and a trailing comma', () => {
    expect(parseMembers('1=m1:7001,4=m4:7001,5=m5:7001')).toEqual(
      new Map([
        [1n, 'm1:7001'],
        [4n, 'm4:7001'],
        [5n, 'm5:7001'],
      ]),
    );
    expect(parseMembers(' 1 = m1:7001 , 18446744073709551615=[::1]:7001,')).toEqual(
      new Map([
        [1n, 'm1:7001'],
        [18446744073709551615n, '[::1]:7001'],
      ]),
    );
  });

  it.each(['', ',', '1', '1=', '=a', 'a=b', '1=a,1=b', '1.5=a', '0x10=a', '18446744073709551616=a'])('rejects %j', (text) => {
    expect(() => parseMembers(text)).toThrow(ErrUsage);
  });
});

describe('--members: rules of the membership (issue 10 #7, #13)', () => {
  it.each(['import', 'plan'])('%s --members "": says the list is empty, not that the option is missing', async (cmd) => {
    const argv =
      cmd === 'import'
        ? ['import', '--config', 'c.json', '--src', 'd', '--members', '', '--replica-id', '1', '--json']
        : ['plan', '--src', 'd', '--members', '', '--config', 'c.json', '--json'];
    const run = await inProcess(argv);
    expect(run.status).toBe(2);
    const res = lastJson(run.stdout, run.stderr);
    expect(res.error.code).toBe('ErrUsage');
    expect(res.error.message).toMatch(/member list "" is empty/);
    expect(res.error.message).not.toMatch(/required/);
  });

  it.each([
    ['1=m1:63001,4=m4:63001,5=m4:63001', 'duplicate-address'],
    ['1=m1:63001,4=M4:63001,5=m4:63001', 'duplicate-address'],
    ['1=m1:63001,4=m4:99999', 'address'],
    ['1=m1:63001,4=noport', 'address'],
    ['1=m1:63001,4=:63001', 'address'],
  ])('%j: ErrInvalidMembers (exit 1) naming the rule, before anything is read', async (members, check) => {
    for (const argv of [
      ['import', '--config', 'missing.json', '--src', 'd', '--members', members, '--replica-id', '1', '--json'],
      ['plan', '--src', 'd', '--members', members, '--config', 'missing.json', '--json'],
    ]) {
      const run = await inProcess(argv);
      expect(run.status).toBe(1);
      const res = lastJson(run.stdout, run.stderr);
      expect(res.error.code).toBe('ErrInvalidMembers');
      expect(res.error.details.check).toBe(check);
    }
  });
});

describe('the launcher', () => {
  it('without dist/: says to run npm install (or npm run build), exit 1, no stack trace', async () => {
    const root = dirs.make();
    mkdirSync(join(root, 'bin'));
    const bin = join(root, 'bin', 'nodehost.js');
    copyFileSync(BIN, bin);
    copyFileSync(join(dirname(BIN), 'package.json'), join(root, 'bin', 'package.json'));
    const run = await runCli(['verify', GOLDEN_V1_PATH], { bin, cwd: root });
    expect(run.status).toBe(1);
    expect(run.stderr).toContain('Run `npm install` (or `npm run build`)');
    expect(run.stderr).toContain(join(root, 'dist'));
    expect(run.stderr).not.toContain('ERR_MODULE_NOT_FOUND');
    expect(run.stderr).not.toMatch(/^\s+at /m);
    const json = await runCli(['verify', GOLDEN_V1_PATH, '--json'], { bin, cwd: root });
    expect(lastJson(json.stdout).ok).toBe(false);
  });

  it('with an incomplete dist/ (an empty main.js): says the build is incomplete, exit 1', async () => {
    const root = dirs.make();
    mkdirSync(join(root, 'bin'));
    mkdirSync(join(root, 'dist', 'cli'), { recursive: true });
    writeFileSync(join(root, 'dist', 'cli', 'main.js'), '');
    const bin = join(root, 'bin', 'nodehost.js');
    copyFileSync(BIN, bin);
    copyFileSync(join(dirname(BIN), 'package.json'), join(root, 'bin', 'package.json'));
    // The child's result is checked directly: runCli would retry a run that died loading dist/.
    const { execFileSync } = await import('node:child_process');
    let status = 0;
    let stderr = '';
    try {
      execFileSync(process.execPath, [bin, '--help'], { cwd: root, stdio: ['ignore', 'pipe', 'pipe'] });
    } catch (err) {
      status = (err as { status: number }).status;
      stderr = String((err as { stderr: Buffer }).stderr);
    }
    expect(status).toBe(1);
    expect(stderr).toContain('build of nodehost-tools is incomplete');
    expect(stderr).toContain('npm run build');
    expect(stderr).not.toContain('is not a function');
  });

  it("a closed stdout (nodehost ... | head) ends quietly, with the command's own status", async () => {
    const { spawn } = await import('node:child_process');
    const child = spawn(process.execPath, [BIN, 'demo'], { stdio: ['ignore', 'pipe', 'pipe'] });
    let stderr = '';
    child.stderr.on('data', (d: Buffer) => (stderr += d.toString()));
    // Read the first chunk, then close our end, as `head -1` does.
    await new Promise<void>((first) => child.stdout.once('data', () => first()));
    child.stdout.destroy();
    const status = await new Promise<number | null>((done) => child.once('close', (code) => done(code)));
    expect(stderr).not.toContain('EPIPE');
    expect(status).toBe(0);
  });
});
