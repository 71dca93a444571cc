/** The progress display, in-process with a fake clock: what it prints, never how fast. */
import { PassThrough } from 'node:stream';
import { describe, expect, it } from 'vitest';
import type { CliIO } from '../../src/cli/command.js';
import { ProgressDisplay, formatBytes, formatDuration } from '../../src/cli/progress.js';

function display(tty: boolean, enabled = true): { p: ProgressDisplay; out: () => string; clock: { t: number } } {
  const stderr = Object.assign(new PassThrough(), { isTTY: tty, columns: 100 });
  let text = '';
  stderr.on('data', (c: Buffer) => (text += c.toString()));
  const io: CliIO = { stdout: new PassThrough(), stderr, stdin: new PassThrough(), env: {} };
  const clock = { t: 1_000_000 };
  const p = new ProgressDisplay(io, enabled, { now: () => clock.t });
  return { p, out: () => text, clock };
}

const MiB = 1024 * 1024;

describe('ProgressDisplay', () => {
  it('TTY: a bar at once, redrawn in place, with rate and time left once they are measurable', () => {
    const { p, out, clock } = display(true);
    p.update('copy', 0, 100 * MiB);
    // No "-- B/s" and no "--:-- left" before the first rate.
    expect(out()).toMatch(/^\rcopy \[\.+\] {3}0% {2}0 B\/100\.0 MiB\x1b\[K$/);
    clock.t += 2000;
    p.update('copy', 40 * MiB, 100 * MiB);
    expect(out()).toMatch(/\rcopy \[#+\.+\] {2}40% {2}40\.0 MiB\/100\.0 MiB {2}20\.0 MiB\/s {2}00:03 left\x1b\[K$/);
    clock.t += 3000;
    p.update('copy', 100 * MiB, 100 * MiB);
    expect(out()).toMatch(/\rcopy \[#+\] 100% {2}100\.0 MiB\/100\.0 MiB {2}20\.0 MiB\/s {2}done in 00:05\x1b\[K\n$/);
    expect(out()).not.toMatch(/\b0 B\/s/);
  });

  it('a phase done at once shows no made-up rate (no "0 B/s", no Infinity)', () => {
    for (const tty of [true, false]) {
      const { p, out } = display(tty);
      p.update('verify', 1208, 1208);
      expect(out()).not.toMatch(/\b0 B\/s|Infinity|NaN/);
      expect(out()).toMatch(tty ? /done in 00:00/ : /^verify: done, 1\.2 KiB in 0\.0 s\n$/);
    }
  });

  it('TTY: redraws at most every 100 ms', () => {
    const { p, out, clock } = display(true);
    p.update('copy', 0, 1000);
    const first = out().length;
    clock.t += 50;
    p.update('copy', 10, 1000);
    expect(out().length).toBe(first);
    clock.t += 60;
    p.update('copy', 20, 1000);
    expect(out().length).toBeGreaterThan(first);
  });

  it('not a TTY: plain lines, the first after 5 s, then every 5 s, and one on completion', () => {
    const { p, out, clock } = display(false);
    p.update('copy', 0, 10 * MiB);
    clock.t += 1000;
    p.update('copy', 1 * MiB, 10 * MiB);
    expect(out()).toBe('');
    clock.t += 4000;
    p.update('copy', 5 * MiB, 10 * MiB);
    expect(out()).toBe('copy: 50.0%  5.0 MiB/10.0 MiB  1.0 MiB/s  00:05 left\n');
    clock.t += 1000;
    p.update('copy', 6 * MiB, 10 * MiB);
    clock.t += 4000;
    p.update('copy', 10 * MiB, 10 * MiB);
    const lines = out().split('\n').filter(Boolean);
    expect(lines).toEqual(['copy: 50.0%  5.0 MiB/10.0 MiB  1.0 MiB/s  00:05 left', 'copy: done, 10.0 MiB in 10.0 s (1.0 MiB/s)']);
    expect(out()).not.toContain('\r');
  });

  it('a repeated completion is reported once; a new phase starts afresh', () => {
    const { p, out, clock } = display(false);
    p.update('verify', 10, 10);
    p.update('verify', 10, 10);
    clock.t += 500;
    p.update('copy', 10, 10);
    expect(out().split('\n').filter(Boolean)).toEqual(['verify: done, 10 B in 0.0 s', 'copy: done, 10 B in 0.0 s']);
  });

  it('disabled, or a phase with nothing to measure: silent', () => {
    const off = display(true, false);
    off.p.update('copy', 5, 10);
    off.p.finishLine();
    expect(off.out()).toBe('');
    const empty = display(true);
    empty.p.update('copy', 0, 0);
    expect(empty.out()).toBe('');
  });

  it('finishLine ends a bar in progress exactly once', () => {
    const { p, out } = display(true);
    p.update('copy', 1, 10);
    p.finishLine();
    p.finishLine();
    expect(out().endsWith('\x1b[K\n')).toBe(true);
    expect(out().match(/\n/g)).toHaveLength(1);
  });
});

describe('formatting', () => {
  it('bytes in binary units', () => {
    expect([0, 1023, 1024, 1536, MiB, 5.5 * 1024 * MiB].map(formatBytes)).toEqual([
      '0 B',
      '1023 B',
      '1.0 KiB',
      '1.5 KiB',
      '1.0 MiB',
      '5.5 GiB',
    ]);
  });
  it('durations, unknown ones as --:--', () => {
    expect([0, 59.4, 61, 3600 + 62, Infinity, NaN, -1].map(formatDuration)).toEqual([
      '00:00',
      '00:59',
      '01:01',
      '1:01:02',
      '--:--',
      '--:--',
      '--:--',
    ]);
  });
});
