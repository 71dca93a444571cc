/**
 * The recovery fingerprint: one short digest of what a repair imports — the
 * shard, the snapshot (index and checksum), the member map and, when the
 * repair carries a log suffix, the log's last index and term. `plan` prints
 * it, `import` returns it, and `inspect` recomputes it from an imported
 * node (its snapshot record, and its log while it has not restarted), so
 * operators can confirm that every host was repaired the same way. The log
 * enters by its last index and term, not by the suffix file's digest: those
 * are what every host can show without the file, and by Raft's log matching
 * rule two logs with the same last index and term hold the same entries.
 */
import { createHash } from 'node:crypto';

/** Inputs of the fingerprint. */
export interface FingerprintInput {
  shardId: bigint;
  index: bigint;
  checksum: Uint8Array;
  members: Map<bigint, string>;
  /** The carried log's last index and term, if the repair carries one; without it the fingerprint is the snapshot-only one. */
  log?: { lastIndex: bigint; lastTerm: bigint };
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
    ...(f.log !== undefined ? [`log=${f.log.lastIndex}/${f.log.lastTerm}`] : []),
  ].join('\n');
  return `nhr1-${createHash('sha256').update(text).digest('hex').slice(0, 16)}`;
}
