/**
 * Import of the benchmark export, run in a child process: `importSnapshot`
 * with its defaults (engine `auto`) onto a NodeHost directory that does not
 * exist yet, the whole operation timed (validation, verified copy with
 * fsync, log store commit, cleanup).
 */
import { importSnapshot } from '../ops/import.js';

/** Runs one import; returns what the child reports. */
export async function runImport(
  exportDir: string,
  nodeHostDir: string,
  raftAddress: string,
  replicaId: number,
): Promise<{ engine: string; warnings: number; staleEntriesRemoved: number }> {
  const result = await importSnapshot(
    { nodeHostDir, raftAddress, hostname: 'bench-host' },
    exportDir,
    new Map([[BigInt(replicaId), raftAddress]]),
    BigInt(replicaId),
  );
  return {
    engine: result.engine,
    warnings: result.warnings.length,
    staleEntriesRemoved: result.staleEntries?.plainEntriesRemoved ?? 0,
  };
}
