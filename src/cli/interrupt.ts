/**
 * SIGINT and SIGTERM for the CLI process. The library never installs signal
 * handlers and never reads process state: the CLI calls
 * {@link installInterruptHandlers} around one command, and each command
 * hands {@link interruptSignal} to the library as an ordinary AbortSignal
 * (a writing one inside {@link asWriter}).
 *
 * - While an operation that writes (import, export, restore-backup) runs,
 *   the first signal aborts it through {@link interruptSignal}: it stops at
 *   its next safe point, as an AbortSignal would (an import before its
 *   commit removes what it created; after it, the node holds the import and
 *   a rerun finishes), the error says which, and the process exits
 *   128 + signal number (130, 143). A second signal ends the process at once
 *   (the operations are crash-safe; a rerun converges).
 * - Otherwise (a read-only command: inspect, plan, verify, a dry run) the
 *   process ends at once: its temporary clones are removed, `--json` still
 *   prints its one JSON line (`ErrAborted`), exit 130 / 143.
 *
 * Clones a SIGKILL leaves behind are removed by a later run (their names
 * carry the pid: src/logdb/leveldb-partition.ts).
 */
import { ErrAborted } from '../errors.js';
import { removeLiveClonesSync } from '../files/live-clones.js';

const SIGNALS = { SIGINT: 2, SIGTERM: 15 } as const;
type Handled = keyof typeof SIGNALS;

let controller: AbortController | undefined;
let writers = 0;

/** The process's interruption signal while the CLI's handlers are installed; undefined otherwise. */
export function interruptSignal(): AbortSignal | undefined {
  return controller?.signal;
}

/** `signal` combined with the process's interruption signal (either aborts). */
export function withInterrupt(signal: AbortSignal | undefined): AbortSignal | undefined {
  const own = interruptSignal();
  if (!own) return signal;
  return signal ? AbortSignal.any([signal, own]) : own;
}

/**
 * Runs a writing operation: while it runs, a first SIGINT/SIGTERM aborts it
 * at its next safe point instead of ending the process.
 */
export async function asWriter<T>(run: () => Promise<T>): Promise<T> {
  writers++;
  try {
    return await run();
  } finally {
    writers--;
  }
}

/** What {@link installInterruptHandlers} returns. */
export interface InterruptHandlers {
  /** The signal received, if any. */
  readonly received: Handled | undefined;
  /** The exit status for the signal received (130, 143), or undefined. */
  readonly exitStatus: number | undefined;
  /** Removes the handlers. */
  dispose(): void;
}

/**
 * Installs SIGINT and SIGTERM handlers for one CLI command. `onExit` writes
 * the last words (the JSON line, the stderr line) before an immediate exit.
 */
export function installInterruptHandlers(onExit: (err: ErrAborted) => void): InterruptHandlers {
  const ac = new AbortController();
  controller = ac;
  let received: Handled | undefined;
  const exitNow = (sig: Handled, why: string): never => {
    removeLiveClonesSync();
    onExit(new ErrAborted(`interrupted by ${sig}: ${why}`, { signal: sig, phase: 'interrupted' }));
    process.exit(128 + SIGNALS[sig]);
  };
  const handler = (sig: Handled): void => {
    if (received !== undefined || writers === 0) {
      exitNow(sig, writers === 0 ? 'nothing was written' : 'stopped at once (second signal); rerun the command to converge');
    }
    received = sig;
    ac.abort(new ErrAborted(`interrupted by ${sig}`, { signal: sig }));
  };
  const onInt = (): void => handler('SIGINT');
  const onTerm = (): void => handler('SIGTERM');
  process.on('SIGINT', onInt);
  process.on('SIGTERM', onTerm);
  return {
    get received() {
      return received;
    },
    get exitStatus() {
      return received === undefined ? undefined : 128 + SIGNALS[received];
    },
    dispose() {
      process.off('SIGINT', onInt);
      process.off('SIGTERM', onTerm);
      if (controller === ac) controller = undefined;
    },
  };
}
