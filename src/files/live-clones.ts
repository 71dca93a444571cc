/**
 * The temporary directories (read-only clones of log store partitions) this
 * process has open now. Kept apart from the log store code so that the CLI's
 * signal handler can remove them without loading any store.
 */
import { rmSync } from 'node:fs';

const live = new Set<string>();

/** Registers a temporary directory this process created. */
export function addLiveClone(dir: string): void {
  live.add(dir);
}

/** Unregisters it (removed, or removal attempted). */
export function deleteLiveClone(dir: string): void {
  live.delete(dir);
}

/**
 * Removes every registered directory, synchronously: for a signal handler
 * about to end the process (SIGINT, SIGTERM), which cannot wait for the
 * operations to close their partitions. Never throws.
 */
export function removeLiveClonesSync(): void {
  for (const dir of live) {
    try {
      // A copy still running on the thread pool can add a file between the removal of the
      // files and of the directory (ENOTEMPTY): retried; once the directory is gone it fails.
      rmSync(dir, { recursive: true, force: true, maxRetries: 5, retryDelay: 1 });
    } catch {
      // best effort: a later run removes it (its name carries our pid)
    }
  }
  live.clear();
}
