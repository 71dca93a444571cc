/** Options and helpers several commands share. */
import { ErrUsage } from '../../errors.js';
import type { EngineChoice } from '../../engines/select.js';
import { loadNodeHostConfigFile } from '../../nodehost/config.js';
import type { NodeHostConfig } from '../../nodehost/config.js';
import type { CommandContext, Invocation, OptionSpec } from '../command.js';
import { ProgressDisplay } from '../progress.js';

export const engineOption: Record<string, OptionSpec> = {
  engine: { type: 'string', arg: '<name>', help: 'checksum engine: auto (default), native, wasm, js' },
};

export const progressOptions: Record<string, OptionSpec> = {
  progress: { type: 'boolean', help: 'show progress on stderr even with --json' },
  'no-progress': { type: 'boolean', help: 'never show progress' },
};

export const configOption: Record<string, OptionSpec> = {
  config: {
    type: 'string',
    arg: '<file>',
    help: 'NodeHost configuration (JSON: nodeHostDir, walDir?, raftAddress, deploymentId?, logDBShards?, execShards?, hostname?); ' +
      'relative paths resolve against the working directory, as in the NodeHost',
  },
};

/** --shard-id and --replica-id: which node of this host. */
export const nodeIdOptions: Record<string, OptionSpec> = {
  'shard-id': { type: 'string', arg: '<N>', help: 'shard ID' },
  'replica-id': { type: 'string', arg: '<N>', help: 'replica ID on this host' },
};

/** The --engine value, validated. */
export function engineChoice(inv: Invocation): EngineChoice {
  const v = inv.values.engine;
  if (v === undefined) return 'auto';
  if (v === 'auto' || v === 'native' || v === 'wasm' || v === 'js') return v;
  throw new ErrUsage(`--engine must be auto, native, wasm or js, got "${String(v)}"`);
}

/** Progress is shown unless --json (without --progress) or --no-progress. */
export function progressFor(inv: Invocation, ctx: CommandContext): ProgressDisplay {
  const enabled = inv.values['no-progress'] !== true && (!inv.json || inv.values.progress === true);
  return new ProgressDisplay(ctx.io, enabled);
}

/** Says once, on stderr, that the native engine is missing and how to enable it. */
export function noteDegraded(ctx: CommandContext, degraded: string | undefined): void {
  if (degraded) ctx.noteOnce(`note: ${degraded}`);
}

/** The --config path (required: a usage error when missing). */
export function configPath(inv: Invocation, command: string): string {
  const file = inv.values.config;
  if (typeof file !== 'string' || file === '') {
    throw new ErrUsage(`${command}: --config <file> is required (the NodeHost configuration as JSON: ` +
      '{"nodeHostDir": "...", "raftAddress": "host:port", ...})');
  }
  return file;
}

/** Loads a NodeHost configuration file. */
export async function loadConfig(file: string): Promise<NodeHostConfig> {
  return loadNodeHostConfigFile(file);
}
