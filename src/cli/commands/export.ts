/** `nodehost export --config <file> --shard-id N --replica-id N --dest <dir> [--with-log [--snapshot-from <export>]]` */
import { ErrUsage } from '../../errors.js';
import { exportSnapshot } from '../../ops/export.js';
import { asWriter, interruptSignal } from '../interrupt.js';
import { parseId, requireString, type Command, type CommandContext, type Invocation } from '../command.js';
import { plainJson, snapshotJson } from '../present.js';
import { logSuffixJson, logSuffixLines } from './log-suffix.js';
import { formatBytes } from '../progress.js';
import { configPath, engineChoice, loadConfig, noteDegraded, progressFor } from './shared.js';

/** Runs `nodehost export` (its options: the command table in ./index.ts). */
export async function run(inv: Invocation, ctx: CommandContext, cmd: Command): Promise<number> {
  const config = await loadConfig(configPath(inv, 'export'));
  const shardId = parseId(requireString(inv, 'shard-id', cmd), '--shard-id');
  const replicaId = parseId(requireString(inv, 'replica-id', cmd), '--replica-id');
  const dest = requireString(inv, 'dest', cmd);
  const withLog = inv.values['with-log'] === true;
  const snapshotFrom = inv.values['snapshot-from'] as string | undefined;
  if (snapshotFrom !== undefined && !withLog) {
    throw new ErrUsage(`export: --snapshot-from takes the snapshot from another export to carry this node's log: it needs --with-log`);
  }
  const progress = progressFor(inv, ctx);
  const signal = interruptSignal();
  const res = await asWriter(() =>
    exportSnapshot(config, shardId, replicaId, dest, {
      engine: engineChoice(inv),
      ...(withLog ? { withLog } : {}),
      ...(snapshotFrom !== undefined ? { snapshotFrom } : {}),
      ...(signal ? { signal } : {}),
      onProgress: (phase, d, t) => progress.update(phase, d, t),
    }),
  );
  progress.finishLine();
  noteDegraded(ctx, res.degraded);
  ctx.print(`Exported shard ${res.shardId} replica ${res.replicaId}: snapshot index ${res.index}, term ${res.term}`);
  if (res.snapshotFrom) ctx.print(`  snapshot taken from ${res.snapshotFrom}`);
  ctx.print(`  ${res.exportDir}`);
  for (const f of res.files)
    ctx.print(`    ${f.name.padEnd(40)} ${formatBytes(Number(f.size)).padStart(10)}  sha256 ${f.sha256.slice(0, 16)}…`);
  if (res.logSuffix) for (const line of logSuffixLines(res.logSuffix)) ctx.print(`  ${line}`);
  else if (res.logSuffixNote) ctx.print(`  ${res.logSuffixNote}`);
  ctx.result({
    shardId: res.shardId.toString(),
    replicaId: res.replicaId.toString(),
    index: res.index.toString(),
    term: res.term.toString(),
    exportDir: res.exportDir,
    engine: res.engine,
    record: snapshotJson(res.record),
    files: plainJson(res.files),
    ...(res.snapshotFrom ? { snapshotFrom: res.snapshotFrom } : {}),
    ...(withLog ? { logSuffix: res.logSuffix ? logSuffixJson(res.logSuffix) : null } : {}),
    ...(res.logSuffixNote ? { logSuffixNote: res.logSuffixNote } : {}),
  });
  return 0;
}
