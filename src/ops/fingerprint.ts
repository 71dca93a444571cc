/**
 * The recovery fingerprint: one short digest of what a repair imports — the
 * shard, the snapshot (index and checksum), the member map and, when the
 * repair carries a log suffix, that file's SHA-256. `plan` prints
 * it, `import` returns it, and `inspect` recomputes it from an imported
 * node's snapshot record, so operators can confirm that every host was
 * repaired from the same snapshot with the same map.
 */
import { createHash } from 'node:crypto';

/** Inputs of the fingerprint. */
export interface FingerprintInput {
  shardId: bigint;
  index: bigint;
  checksum: Uint8Array;
  members: Map<bigint, string>;
  /** SHA-256 (hex) of the log suffix file the repair carries, if any; without one the fingerprint is the snapshot-only one. */
  logSuffixSha256?: string;
}

/** `nhr1-` followed by 16 hex digits of a SHA-256 over a canonical text of the inputs. */
export function recoveryFingerprint(f: FingerprintInput): string {
  const members = [...f.members].sort((a, b) => (a[0] < b[0] ? -1 : a[0] > b[0] ? 1 : 0)).map(([id, addr]) => `${id}=${addr}`);
  const text = [
    'nodehost-recovery-v1',
    f.shardId,
    f.index,
    Buffer.from(f.checksum).toString('hex'),
    ...members,
    ...(f.logSuffixSha256 !== undefined ? [`log-suffix=${f.logSuffixSha256}`] : []),
  ].join('\n');
  return `nhr1-${createHash('sha256').update(text).digest('hex').slice(0, 16)}`;
}
