/** How export and verify show a log suffix (docs/log-suffix.md). */
import type { LogSuffixInfo } from '../../ops/export-log.js';
import { plainJson, type Json } from '../present.js';
import { formatBytes } from '../progress.js';

/** Membership changes named one by one in the human output; the JSON lists them all. */
const SHOWN_CONFIG_CHANGES = 10;

/** The suffix in a few human lines. */
export function logSuffixLines(s: LogSuffixInfo): string[] {
  const cc = s.configChanges;
  const listed = cc.slice(0, SHOWN_CONFIG_CHANGES).join(', ') + (cc.length > SHOWN_CONFIG_CHANGES ? `, … (${cc.length} in all)` : '');
  return [
    `log suffix: entries ${s.firstIndex}..${s.lastIndex} (${s.entryCount}), terms ${s.firstTerm}..${s.lastTerm}, ` +
      `${formatBytes(Number(s.size))}, sha256 ${s.sha256.slice(0, 16)}…`,
    cc.length === 0 ? '  membership changes: none' : `  membership changes at ${listed} (the import replaces each by an empty entry)`,
  ];
}

/** The suffix in a JSON result (64-bit values as decimal strings). */
export function logSuffixJson(s: LogSuffixInfo): Json {
  return plainJson(s);
}
