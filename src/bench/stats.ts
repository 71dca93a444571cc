/**
 * Small statistics for benchmarks, pure: medians, ratios, and the order in
 * which the cases of a group are run.
 */

/** Median of `values` (mean of the two middle ones for an even count); NaN for none. */
export function median(values: readonly number[]): number {
  if (values.length === 0) return Number.NaN;
  const s = [...values].sort((a, b) => a - b);
  const mid = s.length >> 1;
  return s.length % 2 === 1 ? s[mid]! : (s[mid - 1]! + s[mid]!) / 2;
}

/**
 * The order of runs for `cases` over `rounds` rounds: every round runs each
 * case once, and every other round runs them backwards (A B C, C B A, A B C,
 * ...), so a machine that slows down or speeds up during the run (other
 * load, thermal, page cache) touches every case alike.
 */
export function alternatingSchedule<T>(cases: readonly T[], rounds: number): { round: number; item: T }[] {
  const out: { round: number; item: T }[] = [];
  for (let round = 0; round < rounds; round++) {
    const order = round % 2 === 0 ? cases : [...cases].reverse();
    for (const item of order) out.push({ round, item });
  }
  return out;
}

/** Bytes per second as decimal GB/s. */
export function gbPerSecond(bytes: number, seconds: number): number {
  return bytes / seconds / 1e9;
}

/** True for a finite number greater than zero. */
export function isPositiveFinite(v: unknown): v is number {
  return typeof v === 'number' && Number.isFinite(v) && v > 0;
}
