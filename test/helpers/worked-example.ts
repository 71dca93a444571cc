/**
 * The constants of the worked example (docs/import-contract.md, the README's
 * guide and the demo): shard 100 ran replicas 1, 2, 3 on m1, m2, m3; m2 and
 * m3 are lost; replicas 4 and 5 on m4 and m5 replace them; the snapshot is at
 * index 400, term 5. Taken from the demo's own {@link WORKED_EXAMPLE} where it
 * names them. The suites lay the example out at other sizes (test/ops/fixtures.ts:
 * an export at index 20; test/cli/fixture.ts: entries up to 460), each saying so.
 */
import { emptyMembership } from '../../src/records/codec.js';
import type { Membership } from '../../src/records/types.js';
import { WORKED_EXAMPLE } from '../../src/ops/sample-node.js';

export const SHARD = WORKED_EXAMPLE.shardId;
/** 100 % 16 % 16: the log store partition holding shard 100. */
export const PARTITION = 4;
export const M1 = WORKED_EXAMPLE.initialMembers.get(1n)!;
export const M2 = WORKED_EXAMPLE.initialMembers.get(2n)!;
export const M3 = WORKED_EXAMPLE.initialMembers.get(3n)!;
export const M4 = 'm4:63001';
export const M5 = 'm5:63001';
/** The hostname the suites' NodeHosts run under. */
export const HOST = 'testhost';
/** The snapshot's index and term. */
export const SNAPSHOT_INDEX = WORKED_EXAMPLE.snapshotIndex;
export const TERM = WORKED_EXAMPLE.term;
/** The new membership, as `--members` takes it. */
export const MEMBERS = WORKED_EXAMPLE.newMembers;
/** The config_change_id the suites record in the membership before the loss. */
export const SOURCE_CCID = 7n;

/** The new membership as the library takes it: {1: m1, 4: m4, 5: m5}. */
export function workedMembers(): Record<string, string> {
  return { '1': M1, '4': M4, '5': M5 };
}

/** The membership before the loss, {1: m1, 2: m2, 3: m3}, as the suites record it (config change {@link SOURCE_CCID}), with `extra` over it. */
export function sourceMembership(extra: Partial<Membership> = {}): Membership {
  const m = emptyMembership();
  m.configChangeId = SOURCE_CCID;
  m.addresses.set(1n, M1).set(2n, M2).set(3n, M3);
  return { ...m, ...extra };
}
