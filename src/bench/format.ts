/** Number formatting for benchmark output, pure. */

const UNITS = ['B', 'KiB', 'MiB', 'GiB', 'TiB'];

/** `1073741824` → `1.00 GiB`; whole bytes below 1 KiB. */
export function formatBytes(n: number): string {
  let v = n;
  let u = 0;
  while (Math.abs(v) >= 1024 && u < UNITS.length - 1) {
    v /= 1024;
    u++;
  }
  return u === 0 ? `${Math.round(v)} B` : `${v.toFixed(v >= 100 ? 0 : v >= 10 ? 1 : 2)} ${UNITS[u]}`;
}

/** `10000000` → `10,000,000`. */
export function formatCount(n: number): string {
  return n.toLocaleString('en-US');
}

/** Seconds with about three significant digits: `0.0123 s`, `1.23 s`, `123 s`. */
export function formatSeconds(s: number): string {
  if (s >= 100) return `${s.toFixed(0)} s`;
  if (s >= 10) return `${s.toFixed(1)} s`;
  if (s >= 1) return `${s.toFixed(2)} s`;
  return `${s.toPrecision(3)} s`;
}

/** A ratio as `1.23×`. */
export function formatRatio(r: number): string {
  return `${r >= 10 ? r.toFixed(1) : r.toFixed(2)}×`;
}

/**
 * Parses a size into bytes: a plain number is bytes; `K`, `M`, `G`, `T`,
 * with or without `iB` (`1GiB`, `512m`, `4G`), are powers of 1024; `KB`,
 * `MB`, `GB`, `TB` are powers of 1000. Undefined when unreadable or not a
 * positive safe integer.
 */
export function parseSize(text: string): number | undefined {
  const m = /^\s*(\d+(?:\.\d+)?)\s*(?:([kmgt])(i)?(b)?|(b))?\s*$/i.exec(text);
  if (!m) return undefined;
  const power = m[2] ? 'kmgt'.indexOf(m[2].toLowerCase()) + 1 : 0;
  const base = m[4] && !m[3] ? 1000 : 1024;
  const v = Math.round(Number(m[1]) * base ** power);
  return Number.isSafeInteger(v) && v > 0 ? v : undefined;
}
