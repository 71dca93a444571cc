/** `nodehost restore-backup <dir> --config <file>` */
import { restoreBackup } from '../../ops/backup.js';
import { asWriter, interruptSignal } from '../interrupt.js';
import type { CommandContext, Invocation } from '../command.js';
import { plainJson } from '../present.js';
import { configPath, loadConfig } from './shared.js';

/** Runs `nodehost restore-backup` (its options: the command table in ./index.ts). */
export async function run(inv: Invocation, ctx: CommandContext): Promise<number> {
  const config = await loadConfig(configPath(inv, 'restore-backup'));
  const signal = interruptSignal();
  const res = await asWriter(() => restoreBackup(inv.positionals[0]!, config, signal ? { signal } : {}));
  ctx.print(`Restored shard ${res.backup.shardId} replica ${res.backup.replicaId} from ${res.backup.dir} (taken ${res.backup.createdAt}).`);
  ctx.print(
    `  snapshot index ${res.fromSnapshotIndex} -> ${res.toSnapshotIndex}; ${res.backup.plainEntries} entries, ` +
      `${res.backup.entryBatches} entry batches, ${res.backup.snapshotDirs.length} snapshot director${res.backup.snapshotDirs.length === 1 ? 'y' : 'ies'}`,
  );
  ctx.result({ restored: plainJson(res) as Record<string, unknown> });
  return 0;
}
