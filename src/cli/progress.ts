/**
 * Progress display on stderr: a redrawn bar (bytes, rate, time left) when
 * stderr is a TTY, otherwise a plain line at most every few seconds plus one
 * when a phase completes, so logs of a multi-GB import stay readable.
 */
import type { CliIO } from './command.js';

/** Human byte count, binary units. */
export function formatBytes(n: number): string {
  const units = ['B', 'KiB', 'MiB', 'GiB', 'TiB'];
  let v = n;
  let u = 0;
  while (v >= 1024 && u < units.length - 1) {
    v /= 1024;
    u++;
  }
  return `${u === 0 ? v.toFixed(0) : v.toFixed(1)} ${units[u]}`;
}

/** `mm:ss` or `h:mm:ss`; `--:--` when unknown. */
export function formatDuration(seconds: number): string {
  if (!Number.isFinite(seconds) || seconds < 0) return '--:--';
  const s = Math.round(seconds);
  const h = Math.floor(s / 3600);
  const m = Math.floor((s % 3600) / 60);
  const r = s % 60;
  const mm = String(m).padStart(2, '0');
  const ss = String(r).padStart(2, '0');
  return h > 0 ? `${h}:${mm}:${ss}` : `${mm}:${ss}`;
}

/**
 * Below this much elapsed time a rate is mostly timer noise (and at 0 it is
 * undefined), so the display shows no rate and no time left until then.
 */
const MIN_RATE_SECONDS = 0.2;

/** Options of {@link ProgressDisplay}. */
export interface ProgressDisplayOptions {
  /** Minimum time between plain (non-TTY) lines, ms. Default 5000. */
  plainEveryMs?: number;
  /** Minimum time between bar redraws on a TTY, ms. Default 100. */
  redrawEveryMs?: number;
  /** Clock in ms (injectable so tests need not depend on time). */
  now?: () => number;
}

/** A progress sink for one command run. */
export class ProgressDisplay {
  private phase = '';
  private phaseStart = 0;
  private lastDraw = 0;
  private drawn = false;
  private completed = false;
  private readonly tty: boolean;
  private readonly plainEveryMs: number;
  private readonly redrawEveryMs: number;
  private readonly now: () => number;

  constructor(
    private readonly io: CliIO,
    /** Whether anything is shown: a caller need not report progress (nor have it computed) when not. */
    readonly enabled: boolean,
    options: ProgressDisplayOptions = {},
  ) {
    this.tty = io.stderr.isTTY === true;
    this.plainEveryMs = options.plainEveryMs ?? 5000;
    this.redrawEveryMs = options.redrawEveryMs ?? 100;
    this.now = options.now ?? Date.now;
  }

  /** Reports `done` of `total` bytes in `phase`. */
  update(phase: string, done: number, total: number): void {
    if (!this.enabled || total <= 0) return;
    const now = this.now();
    if (phase !== this.phase) {
      this.finishLine();
      this.phase = phase;
      this.phaseStart = now;
      this.lastDraw = now;
      this.completed = false;
      // The bar appears at once; plain logs get their first line after one interval (or on completion).
      if (this.tty || done >= total) this.draw(done, total, now);
      return;
    }
    if (this.completed) return;
    const complete = done >= total;
    if (!complete && now - this.lastDraw < (this.tty ? this.redrawEveryMs : this.plainEveryMs)) return;
    this.lastDraw = now;
    this.draw(done, total, now);
  }

  private draw(done: number, total: number, now: number): void {
    const complete = done >= total;
    const elapsed = (now - this.phaseStart) / 1000;
    const rate = elapsed >= MIN_RATE_SECONDS ? done / elapsed : undefined;
    const pct = Math.min(100, (done / total) * 100);
    // No rate (nor time left) before there is one to show: a bar reads "0 B/100.0 MiB", not "-- B/s --:-- left".
    const rateText = rate === undefined ? '' : `${formatBytes(rate)}/s`;
    if (complete) this.completed = true;
    if (this.tty) {
      const tail = complete ? `done in ${formatDuration(elapsed)}` : rate ? `${formatDuration((total - done) / rate)} left` : '';
      const stats = [`${formatBytes(done)}/${formatBytes(total)}`, rateText, tail].filter(Boolean).join('  ');
      const width = Math.max(10, Math.min(40, (this.io.stderr.columns ?? 80) - this.phase.length - stats.length - 12));
      const filled = Math.round((pct / 100) * width);
      this.io.stderr.write(
        `\r${this.phase} [${'#'.repeat(filled)}${'.'.repeat(width - filled)}] ${pct.toFixed(0).padStart(3)}%  ${stats}\x1b[K`,
      );
      this.drawn = true;
      if (complete) this.finishLine();
    } else if (complete) {
      this.io.stderr.write(
        `${this.phase}: done, ${formatBytes(total)} in ${elapsed.toFixed(1)} s` + `${rate === undefined ? '' : ` (${rateText})`}\n`,
      );
    } else {
      const tail = rate ? `${formatDuration((total - done) / rate)} left` : '';
      this.io.stderr.write(
        `${[`${this.phase}: ${pct.toFixed(1)}%`, `${formatBytes(done)}/${formatBytes(total)}`, rateText, tail].filter(Boolean).join('  ')}\n`,
      );
    }
  }

  /** Ends the current bar line (before other output). */
  finishLine(): void {
    if (this.tty && this.drawn) {
      this.io.stderr.write('\n');
      this.drawn = false;
    }
  }
}
