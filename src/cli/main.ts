/**
 * CLI entry: dispatches `nodehost <command> ...` to a command module and maps
 * every outcome to an exit status: 0 success, 1 a failed check or operation,
 * 2 a usage error. With `--json` the last stdout line is always one JSON
 * object, errors included.
 */
import { readFileSync } from 'node:fs';
import { ErrUsage, NodeHostToolsError } from '../errors.js';
import { CommandContext, helpText, parseInvocation, type CliIO, type Command } from './command.js';
import { commands } from './commands/index.js';
import { plainJson } from './present.js';
import { installInterruptHandlers } from './interrupt.js';

/** The package's version, from its package.json (read only for --version). */
function version(): string {
  return (JSON.parse(readFileSync(new URL('../../package.json', import.meta.url), 'utf8')) as { version: string }).version;
}

function topHelp(): string {
  const width = Math.max(...commands.map((c) => c.name.length));
  return [
    'Usage: nodehost <command> [options]',
    '',
    'Repair a Dragonboat shard that lost its quorum by importing an exported snapshot.',
    '',
    'Commands:',
    ...commands.map((c) => `  ${c.name.padEnd(width)}  ${c.summary}`),
    '',
    "Run `nodehost <command> --help` for a command's options; `nodehost --version` prints the version.",
    '',
  ].join('\n');
}

/** Runs the CLI with `argv` (without node and script) and returns the exit status. */
export async function main(argv: string[], io: CliIO = processIO()): Promise<number> {
  const [name, ...rest] = argv;
  const json = argv.includes('--json');
  if (name === undefined) {
    // A usage error: help goes to stderr, and --json callers (none here) get nothing on stdout.
    io.stderr.write(topHelp());
    return 2;
  }
  if (name === '--help' || name === '-h' || (name === 'help' && rest.length === 0)) {
    io.stdout.write(topHelp());
    return 0;
  }
  if (name === 'help') return main([rest[0]!, '--help', ...rest.slice(1)], io);
  if (name === '--version' || name === '-V') {
    io.stdout.write(`${version()}\n`);
    return 0;
  }
  const cmd: Command | undefined = commands.find((c) => c.name === name);
  try {
    const list = `commands: ${commands.map((c) => c.name).join(', ')}; run \`nodehost --help\` for more`;
    if (!cmd && name.startsWith('-')) throw new ErrUsage(`unknown option "${name}": the command comes first (${list})`);
    if (!cmd) throw new ErrUsage(`unknown command "${name}" (${list})`);
    const inv = parseInvocation(cmd, rest);
    if (inv.help) {
      io.stdout.write(helpText(cmd));
      return 0;
    }
    return await withInterrupts(io, json, () => cmd.run(inv, new CommandContext(io, inv.json)));
  } catch (err) {
    return reportError(err, io, json);
  }
}

/**
 * SIGINT / SIGTERM (./interrupt.ts): a writing command stops at its
 * next safe point, a read-only one at once (its clones removed, the --json
 * line printed); exit 130 / 143. In-process callers keep their own signals.
 */
async function withInterrupts(io: CliIO, json: boolean, run: () => Promise<number>): Promise<number> {
  if (io.stdout !== process.stdout) return run();
  const interrupts = installInterruptHandlers((err) => void reportError(err, io, json));
  try {
    let status: number;
    try {
      status = await run();
    } catch (err) {
      status = reportError(err, io, json);
    }
    return interrupts.exitStatus ?? status;
  } finally {
    interrupts.dispose();
  }
}

function reportError(err: unknown, io: CliIO, json: boolean): number {
  const status = err instanceof ErrUsage ? 2 : 1;
  const known = err instanceof NodeHostToolsError;
  const code = known ? err.code : 'ErrInternal';
  const message = err instanceof Error ? err.message : String(err);
  if (json) {
    const error: Record<string, unknown> = { code, message };
    if (known && Object.keys(err.details).length > 0) error.details = plainJson(err.details);
    io.stdout.write(JSON.stringify({ ok: false, error }) + '\n');
  }
  io.stderr.write(`nodehost: ${code}: ${message}\n`);
  if (!known && err instanceof Error && err.stack) io.stderr.write(`${err.stack}\n`);
  return status;
}

function processIO(): CliIO {
  return {
    stdout: process.stdout,
    stderr: process.stderr,
    // Node makes process.stdin (a stream over fd 0) on first access: only the commands that ask a question pay for it.
    get stdin() {
      return process.stdin;
    },
    env: process.env,
  };
}
