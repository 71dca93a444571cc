/**
 * The shape every CLI command has, and the small runtime they share: parsed
 * options, where output goes, and the JSON/human split. Commands are thin:
 * they parse, call one library function, and present its result.
 */
import { parseArgs } from 'node:util';
import { ErrUsage } from '../errors.js';

/** One option of a command, as node:util parseArgs wants it plus help text. */
export interface OptionSpec {
  type: 'string' | 'boolean';
  multiple?: boolean;
  short?: string;
  /** Placeholder shown in help, e.g. `<file>`. */
  arg?: string;
  help: string;
}

/** Streams and environment a command runs with (injectable for tests). */
export interface CliIO {
  stdout: NodeJS.WritableStream & { isTTY?: boolean };
  stderr: NodeJS.WritableStream & { isTTY?: boolean; columns?: number };
  stdin: { isTTY?: boolean; read?: () => unknown } & NodeJS.ReadableStream;
  env: NodeJS.ProcessEnv;
  /**
   * Notes already shown on stderr during this run. Nested runs (the demo runs
   * the CLI in-process) share the set, so a note such as "the native engine
   * is unavailable" is said once per process invocation.
   */
  notes?: Set<string>;
}

/** A parsed invocation. */
export interface Invocation {
  values: Record<string, string | boolean | string[] | boolean[] | undefined>;
  positionals: string[];
  json: boolean;
}

export interface Command {
  name: string;
  summary: string;
  usage: string;
  /** Extra paragraphs for `--help`. */
  description?: string;
  options: Record<string, OptionSpec>;
  /** Number of positionals accepted: [min, max]. */
  positionals?: [number, number];
  run(inv: Invocation, ctx: CommandContext): Promise<number>;
}

/** What a running command writes to. */
export class CommandContext {
  /** Notes said so far (shared with nested runs through {@link CliIO.notes}). */
  readonly notes: Set<string>;

  constructor(
    readonly io: CliIO,
    readonly json: boolean,
  ) {
    this.notes = io.notes ?? new Set();
  }

  /** Human-readable text to stdout (suppressed in --json mode). */
  print(text = ''): void {
    if (!this.json) this.io.stdout.write(text.endsWith('\n') ? text : text + '\n');
  }

  /** A note to stderr (always; never pollutes --json stdout). */
  warn(text: string): void {
    this.io.stderr.write(text.endsWith('\n') ? text : text + '\n');
  }

  /** A note to stderr, said at most once per run however often it is asked for. */
  noteOnce(text: string): void {
    if (this.notes.has(text)) return;
    this.notes.add(text);
    this.warn(text);
  }

  /** The final JSON object, one line, last on stdout (only in --json mode). */
  result(obj: Record<string, unknown>): void {
    if (this.json) this.io.stdout.write(JSON.stringify({ ok: true, ...obj }) + '\n');
  }
}

const COMMON: Record<string, OptionSpec> = {
  json: { type: 'boolean', help: 'print one JSON object as the last line of stdout' },
  help: { type: 'boolean', short: 'h', help: 'show this help' },
};

/** Parses argv for `cmd`, throwing {@link ErrUsage} on anything unknown or missing. */
export function parseInvocation(cmd: Command, argv: string[]): Invocation & { help: boolean } {
  const options: Record<string, { type: 'string' | 'boolean'; multiple?: boolean; short?: string }> = {};
  for (const [name, spec] of Object.entries({ ...COMMON, ...cmd.options })) {
    options[name] = { type: spec.type, ...(spec.multiple ? { multiple: true } : {}), ...(spec.short ? { short: spec.short } : {}) };
  }
  let parsed;
  try {
    parsed = parseArgs({ args: argv, options, allowPositionals: true, strict: true });
  } catch (err) {
    throw new ErrUsage(`${(err as Error).message}\nRun \`nodehost ${cmd.name} --help\` for usage.`);
  }
  const values = parsed.values as Invocation['values'];
  const help = values.help === true;
  const [min, max] = cmd.positionals ?? [0, 0];
  if (!help && (parsed.positionals.length < min || parsed.positionals.length > max)) {
    throw new ErrUsage(
      `${cmd.name}: expected ${min === max ? min : `${min} to ${max}`} argument(s), got ${parsed.positionals.length}\nUsage: ${cmd.usage}`,
    );
  }
  return { values, positionals: parsed.positionals, json: values.json === true, help };
}

/** Renders `--help` for a command. */
export function helpText(cmd: Command): string {
  const rows = Object.entries({ ...cmd.options, ...COMMON }).map(([name, spec]) => {
    const flag = `${spec.short ? `-${spec.short}, ` : ''}--${name}${spec.arg ? ` ${spec.arg}` : ''}`;
    return `  ${flag.padEnd(30)} ${spec.help}`;
  });
  return [`Usage: ${cmd.usage}`, '', cmd.summary, ...(cmd.description ? ['', cmd.description] : []), '', 'Options:', ...rows, ''].join(
    '\n',
  );
}

/** Returns a required string option or throws {@link ErrUsage}. */
export function requireString(inv: Invocation, name: string, cmd: Command): string {
  const v = inv.values[name];
  if (typeof v !== 'string' || v === '') throw new ErrUsage(`${cmd.name}: --${name} is required\nUsage: ${cmd.usage}`);
  return v;
}

/** Parses a decimal 64-bit unsigned ID option (shard or replica ID). */
export function parseId(text: string, what: string): bigint {
  if (!/^\d+$/.test(text)) throw new ErrUsage(`${what} must be a decimal integer, got "${text}"`);
  const v = BigInt(text);
  if (v >= 1n << 64n) throw new ErrUsage(`${what} does not fit in 64 bits: ${text}`);
  return v;
}

/** What a command's module exports: its `run`, given the command it runs for. */
export interface CommandModule {
  run(inv: Invocation, ctx: CommandContext, cmd: Command): Promise<number>;
}

/**
 * A command's `run` that loads the command's module on first use: the table of
 * commands (names, help, options) stays free of the library, so `--help`,
 * `--version` and usage errors start in the time Node itself takes.
 */
export function lazyRun(load: () => Promise<CommandModule>): Command['run'] {
  return async function run(this: Command, inv: Invocation, ctx: CommandContext): Promise<number> {
    return (await load()).run(inv, ctx, this);
  };
}
