/** Options and helpers several commands share. */
import { ErrUsage } from '../../errors.js';
import type { EngineChoice } from '../../engines/select.js';
import type { NodeHostConfig } from '../../nodehost/config.js';
import type { CommandContext, Invocation } from '../command.js';
import { ProgressDisplay } from '../progress.js';

export { configOption, engineOption, nodeIdOptions, progressOptions } from './options.js';

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
    throw new ErrUsage(
      `${command}: --config <file> is required (the NodeHost configuration as JSON: ` +
        '{"nodeHostDir": "...", "raftAddress": "host:port", ...})',
    );
  }
  return file;
}

/** Loads a NodeHost configuration file (the config code is loaded here: verify, which needs none, shares this module). */
export async function loadConfig(file: string): Promise<NodeHostConfig> {
  const { loadNodeHostConfigFile } = await import('../../nodehost/config.js');
  return loadNodeHostConfigFile(file);
}
