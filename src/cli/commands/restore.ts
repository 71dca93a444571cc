/** `nodehost restore-backup <dir> --config <file>` */
import { restoreBackup } from '../../ops/backup.js';
import type { Command } from '../command.js';
import { plainJson } from '../present.js';
import { configPath, configOption, loadConfig } from './shared.js';

export const restoreCommand: Command = {
  name: 'restore-backup',
  summary: 'undo an import: put the node back exactly as `import --backup <dir>` saved it',
  usage: 'nodehost restore-backup <backup-dir> --config <file> [--json]',
  description:
    'Restores the replica\'s log store records and entries and its snapshot directories from the backup. ' +
    'Verifies the whole backup first (every file\'s SHA-256, the log store pairs\' count and digest) and refuses a tampered backup, ' +
    'a backup taken for another node, and a node that has moved on since the import, changing nothing. The NodeHost must be stopped.',
  positionals: [1, 1],
  options: { ...configOption },
  async run(inv, ctx) {
    const config = await loadConfig(configPath(inv, 'restore-backup'));
    const res = await restoreBackup(inv.positionals[0]!, config);
    ctx.print(`Restored shard ${res.backup.shardId} replica ${res.backup.replicaId} from ${res.backup.dir} (taken ${res.backup.createdAt}).`);
    ctx.print(`  snapshot index ${res.fromSnapshotIndex} -> ${res.toSnapshotIndex}; ${res.backup.plainEntries} entries, ` +
      `${res.backup.entryBatches} entry batches, ${res.backup.snapshotDirs.length} snapshot director${res.backup.snapshotDirs.length === 1 ? 'y' : 'ies'}`);
    ctx.result({ restored: plainJson(res) as Record<string, unknown> });
    return 0;
  },
};
