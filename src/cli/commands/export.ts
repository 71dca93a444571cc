/** `nodehost export --config <file> --shard-id N --replica-id N --dest <dir>` */
import { exportSnapshot } from '../../ops/export.js';
import { parseId, requireString, type Command } from '../command.js';
import { plainJson, snapshotJson } from '../present.js';
import { formatBytes } from '../progress.js';
import { configPath, configOption, engineChoice, engineOption, loadConfig, noteDegraded, progressFor, progressOptions, nodeIdOptions } from './shared.js';

export const exportCommand: Command = {
  name: 'export',
  summary: 'export a stopped node\'s latest snapshot, offline, in Dragonboat\'s export layout (+ SHA-256 manifest)',
  usage: 'nodehost export --config <file> --shard-id N --replica-id N --dest <dir> [--json]',
  description:
    'Takes the latest snapshot the node\'s log store records, verifies every block while copying it, and writes ' +
    '<dest>/snapshot-<INDEX>/ with the .gbsnap, external files, snapshot.metadata and nodehost.manifest.json. ' +
    'The NodeHost must be stopped. The result is what `import --src` takes.',
  options: {
    ...configOption,
    ...nodeIdOptions,
    dest: { type: 'string', arg: '<dir>', help: 'directory to create snapshot-<INDEX>/ in' },
    ...engineOption,
    ...progressOptions,
  },
  async run(inv, ctx) {
    const config = await loadConfig(configPath(inv, 'export'));
    const shardId = parseId(requireString(inv, 'shard-id', this), '--shard-id');
    const replicaId = parseId(requireString(inv, 'replica-id', this), '--replica-id');
    const dest = requireString(inv, 'dest', this);
    const progress = progressFor(inv, ctx);
    const res = await exportSnapshot(config, shardId, replicaId, dest, {
      engine: engineChoice(inv),
      onProgress: (phase, d, t) => progress.update(phase, d, t),
    });
    progress.finishLine();
    noteDegraded(ctx, res.degraded);
    ctx.print(`Exported shard ${res.shardId} replica ${res.replicaId}: snapshot index ${res.index}, term ${res.term}`);
    ctx.print(`  ${res.exportDir}`);
    for (const f of res.files) ctx.print(`    ${f.name.padEnd(40)} ${formatBytes(Number(f.size)).padStart(10)}  sha256 ${f.sha256.slice(0, 16)}…`);
    ctx.result({
      shardId: res.shardId.toString(), replicaId: res.replicaId.toString(), index: res.index.toString(), term: res.term.toString(),
      exportDir: res.exportDir, engine: res.engine, record: snapshotJson(res.record), files: plainJson(res.files),
    });
    return 0;
  },
};
