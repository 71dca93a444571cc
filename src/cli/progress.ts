/**
 * Progress display on stderr: a redrawn bar (bytes, rate, time left) when
 * stderr is a TTY, otherwise a plain line at most every few seconds, so logs
 * of a multi-GB import stay readable.
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

function formatDuration(seconds: number): string {
  if (!Number.isFinite(seconds)) return '--:--';
  const s = Math.max(0, Math.round(seconds));
  const h = Math.floor(s / 3600);
  const m = Math.floor((s % 3600) / 60);
  const r = s % 60;
  const mm = String(m).padStart(2, '0');
  const ss = String(r).padStart(2, '0');
  return h > 0 ? `${h}:${mm}:${ss}` : `${mm}:${ss}`;
}

/** A progress sink for one command run. */
export class ProgressDisplay {
  private phase = '';
  private phaseStart = 0;
  private lastDraw = 0;
  private drawn = false;
  private readonly tty: boolean;

  constructor(private readonly io: CliIO, private readonly enabled: boolean, private readonly plainEveryMs = 5000) {
    this.tty = io.stderr.isTTY === true;
  }

  /** Reports `done` of `total` bytes in `phase`. */
  update(phase: string, done: number, total: number): void {
    if (!this.enabled) return;
    const now = Date.now();
    if (phase !== this.phase) {
      this.finishLine();
      this.phase = phase;
      this.phaseStart = now;
      this.lastDraw = 0;
    }
    const complete = total > 0 && done >= total;
    const interval = this.tty ? 100 : this.plainEveryMs;
    if (!complete && now - this.lastDraw < interval) return;
    this.lastDraw = now;
    const elapsed = (now - this.phaseStart) / 1000;
    const rate = elapsed > 0 ? done / elapsed : 0;
    const left = rate > 0 ? (total - done) / rate : Infinity;
    const pct = total > 0 ? Math.min(100, (done / total) * 100) : 100;
    const stats = `${formatBytes(done)}/${formatBytes(total)}  ${formatBytes(rate)}/s  ${complete ? 'done' : `${formatDuration(left)} left`}`;
    if (this.tty) {
      const width = Math.max(10, Math.min(40, (this.io.stderr.columns ?? 80) - phase.length - stats.length - 12));
      const filled = Math.round((pct / 100) * width);
      this.io.stderr.write(`\r${phase} [${'#'.repeat(filled)}${'.'.repeat(width - filled)}] ${pct.toFixed(0).padStart(3)}%  ${stats}\x1b[K`);
      this.drawn = true;
      if (complete) this.finishLine();
    } else {
      this.io.stderr.write(`${phase}: ${pct.toFixed(1)}%  ${stats}\n`);
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
