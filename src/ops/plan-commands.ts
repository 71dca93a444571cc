/** The command lines `plan` prints: runnable as printed, from any directory. */
import * as path from 'node:path';

/** Quotes a command-line argument for a POSIX shell when it needs it. */
export function quote(s: string): string {
  return /^[\w./:=,-]+$/.test(s) ? s : `'${s.replace(/'/g, `'\\''`)}'`;
}

/** The `--members` argument. */
export function membersArg(m: Map<bigint, string>): string {
  return [...m].map(([id, a]) => `${id}=${a}`).join(',');
}

/**
 * What a host with state to overwrite adds to its command line: a backup
 * first (the undo, beside the export) and `--yes`, since on a terminal the
 * import would otherwise stop to ask.
 */
function overwriteFlags(exportDir: string, shardId: bigint, replicaId: bigint): string {
  return ` --backup ${quote(path.join(path.dirname(exportDir), `undo-shard-${shardId}-replica-${replicaId}`))} --yes`;
}

/** `nodehost import` of `exportDir` on one host; `configArg` is already quoted. */
export function importCommand(
  configArg: string,
  exportDir: string,
  members: Map<bigint, string>,
  shardId: bigint,
  replicaId: bigint,
  hasState: boolean,
): string {
  const line = `nodehost import --config ${configArg} --src ${quote(exportDir)} --members ${quote(membersArg(members))} --replica-id ${replicaId}`;
  return hasState ? line + overwriteFlags(exportDir, shardId, replicaId) : line;
}

/** `nodehost export --with-log` on the survivor; with `snapshotFrom`, the snapshot files come from that export. */
export function exportWithLogCommand(configArg: string, shardId: bigint, replicaId: bigint, dest: string, snapshotFrom?: string): string {
  return (
    `nodehost export --config ${configArg} --shard-id ${shardId} --replica-id ${replicaId} --dest ${quote(dest)} --with-log` +
    (snapshotFrom !== undefined ? ` --snapshot-from ${quote(snapshotFrom)}` : '')
  );
}
