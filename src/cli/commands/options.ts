/**
 * Option specs several commands share. Kept free of library imports: `--help`
 * and argument parsing load this, the command table and nothing else.
 */
import type { OptionSpec } from '../command.js';

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
    help:
      'NodeHost configuration (JSON: nodeHostDir, walDir?, raftAddress, deploymentId?, logDBShards?, execShards?, hostname?, logdbType?); ' +
      'a relative nodeHostDir or walDir resolves against the directory of the configuration file, not the working directory',
  },
};

/** --shard-id and --replica-id: which node of this host. */
export const nodeIdOptions: Record<string, OptionSpec> = {
  'shard-id': { type: 'string', arg: '<N>', help: 'shard ID' },
  'replica-id': { type: 'string', arg: '<N>', help: 'replica ID on this host' },
};
