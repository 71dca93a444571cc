/**
 * The member-map rules of the import (docs/import-contract.md steps 2, 6 and 9), pure.
 */
import { isIPv6 } from 'node:net';
import { ErrInvalidMembers } from '../errors.js';
import type { Membership, Snapshot } from '../records/types.js';

/** Replica ID → RaftAddress, as a Map or a plain object keyed by decimal IDs. */
export type MemberNodes = Map<bigint | number | string, string> | Record<string, string>;

/** How the new membership's config_change_id is chosen (docs/import-contract.md step 9). */
export type ConfigChangeIdPolicy = 'preserve' | 'snapshot-index';

const MAX_U64 = (1n << 64n) - 1n;

/**
 * `details.check` of the member-map errors that mean "the text or the IDs do
 * not parse" (the CLI reports these as usage errors); every other check is a
 * rule the parsed membership breaks.
 */
export const MEMBER_SYNTAX_CHECKS: ReadonlySet<string> = new Set(['member-list', 'replica-id', 'duplicate-replica-id']);

/** Parses a replica ID given as bigint, number or decimal string. */
export function toReplicaId(v: bigint | number | string, what = 'replica ID'): bigint {
  let id: bigint;
  if (typeof v === 'bigint') id = v;
  else if (typeof v === 'number') {
    if (!Number.isSafeInteger(v)) {
      throw new ErrInvalidMembers(`${what} ${v} is not a safe integer; pass it as a bigint`, { id: String(v), check: 'replica-id' });
    }
    id = BigInt(v);
  } else {
    if (!/^\d+$/.test(v.trim())) throw new ErrInvalidMembers(`${what} "${v}" is not a decimal integer`, { id: v, check: 'replica-id' });
    id = BigInt(v.trim());
  }
  if (id < 0n || id > MAX_U64) throw new ErrInvalidMembers(`${what} ${id} is out of the uint64 range`, { id, check: 'replica-id' });
  return id;
}

// Dragonboat's stringutil.HostnameRegex: dot-separated labels that start with a letter.
const HOSTNAME = /^(([a-zA-Z]|[a-zA-Z][a-zA-Z0-9-]*[a-zA-Z0-9])\.)*([A-Za-z]|[A-Za-z][A-Za-z0-9-]*[A-Za-z0-9])$/;
const IPV4 = /^(([0-9]|[1-9][0-9]|1[0-9]{2}|2[0-4][0-9]|25[0-5])\.){3}([0-9]|[1-9][0-9]|1[0-9]{2}|2[0-4][0-9]|25[0-5])$/;

/**
 * Why `address` is not a usable RaftAddress, or undefined when it is. The
 * rules are Dragonboat's `stringutil.IsValidAddress` (host:port, port
 * 1..65535 in decimal, a hostname or an IPv4 address), plus an IPv6 address
 * in brackets as `net.SplitHostPort` reads it. An address a NodeHost would
 * refuse at start-up must not reach a membership record: the shard would
 * wait forever for a replica nobody can run.
 */
export function raftAddressProblem(address: string): string | undefined {
  if (/\s/.test(address)) return 'it contains whitespace';
  if (address === '') return 'it is empty';
  const colon = address.lastIndexOf(':');
  if (colon < 0) return 'it has no port (expected host:port, e.g. "m4:63001")';
  const host = address.slice(0, colon);
  const port = address.slice(colon + 1);
  if (!/^\d+$/.test(port) || Number(port) < 1 || Number(port) > 65535) {
    return `its port "${port}" is not a decimal number from 1 to 65535`;
  }
  if (host === '') return 'its host is empty';
  if (host.startsWith('[') || host.endsWith(']')) {
    const inner = host.startsWith('[') && host.endsWith(']') ? host.slice(1, -1) : '';
    return isIPv6(inner) ? undefined : `its host "${host}" is not an IPv6 address in brackets`;
  }
  if (host.includes(':')) return `its host "${host}" has a colon (an IPv6 address goes in brackets: "[::1]:63001")`;
  if (HOSTNAME.test(host) || IPV4.test(host)) return undefined;
  return `its host "${host}" is neither a host name (letters, digits, hyphens; labels start with a letter) nor an IPv4 address`;
}

/** Dragonboat's stringutil.CleanAddress: how two RaftAddresses are compared. */
export function cleanAddress(address: string): string {
  return address.trim().toLowerCase();
}

/**
 * Normalizes a member map to `Map<bigint, string>`, sorted by ID, with
 * addresses trimmed. Refuses an empty map, bad or zero IDs, duplicate IDs,
 * addresses that are not a RaftAddress ({@link raftAddressProblem}) and two
 * replicas on one address: one NodeHost holds at most one replica of a shard,
 * so such a membership loses quorum with a single host.
 */
export function normalizeMembers(members: MemberNodes): Map<bigint, string> {
  const entries: [bigint | number | string, string][] = members instanceof Map ? [...members] : Object.entries(members);
  if (entries.length === 0) throw new ErrInvalidMembers('the member map is empty', { check: 'member-list' });
  const out = new Map<bigint, string>();
  for (const [k, address] of entries) {
    const id = toReplicaId(k);
    if (id === 0n) {
      throw new ErrInvalidMembers('replica ID 0 is not valid: Dragonboat replica IDs start at 1', { replicaId: id, check: 'replica-id' });
    }
    if (out.has(id)) {
      throw new ErrInvalidMembers(`replica ${id} appears twice in the member map`, { replicaId: id, check: 'duplicate-replica-id' });
    }
    out.set(id, address);
  }
  const byAddress = new Map<string, bigint>();
  for (const [id, raw] of out) {
    if (typeof raw !== 'string') {
      throw new ErrInvalidMembers(`replica ${id} has no address`, { replicaId: id, check: 'address', address: raw });
    }
    const address = raw.trim();
    const problem = raftAddressProblem(address);
    if (problem !== undefined) {
      throw new ErrInvalidMembers(`replica ${id} has address "${raw}", which is not a RaftAddress: ${problem}`, {
        replicaId: id,
        check: 'address',
        address: raw,
      });
    }
    const other = byAddress.get(cleanAddress(address));
    if (other !== undefined) {
      const ids = [other, id].sort((a, b) => (a < b ? -1 : 1));
      throw new ErrInvalidMembers(
        `replicas ${ids[0]} and ${ids[1]} have the same address "${out.get(other)!}"${out.get(other) === address ? '' : ` / "${address}"`} (compared as Dragonboat does, trimmed and case-insensitive): ` +
          'one NodeHost holds at most one replica of a shard; give each replica its own host',
        { check: 'duplicate-address', replicaIds: ids, address },
      );
    }
    byAddress.set(cleanAddress(address), id);
    out.set(id, address);
  }
  return new Map([...out].sort((a, b) => (a[0] < b[0] ? -1 : 1)));
}

/**
 * Parses the textual member list `"1=m1:7001,4=m4:7001"` (the CLI's
 * `--members`, a manifest's string form) into a normalized map. Throws
 * {@link ErrInvalidMembers} naming the bad item.
 */
export function parseMemberList(text: string): Map<bigint, string> {
  const entries: [string, string][] = [];
  const seen = new Set<string>();
  for (const part of text
    .split(',')
    .map((p) => p.trim())
    .filter((p) => p !== '')) {
    const eq = part.indexOf('=');
    if (eq <= 0 || eq === part.length - 1) {
      throw new ErrInvalidMembers(`"${part}" is not <replicaID>=<address>; example: "1=m1:7001,4=m4:7001,5=m5:7001"`, {
        item: part,
        check: 'member-list',
      });
    }
    const id = part.slice(0, eq).trim();
    const key = /^\d+$/.test(id) ? BigInt(id).toString() : id;
    if (seen.has(key)) throw new ErrInvalidMembers(`replica ${key} appears twice`, { replicaId: key, check: 'duplicate-replica-id' });
    seen.add(key);
    entries.push([id, part.slice(eq + 1).trim()]);
  }
  if (entries.length === 0) {
    throw new ErrInvalidMembers(`the member list "${text}" is empty; example: "1=m1:7001,4=m4:7001,5=m5:7001"`, { check: 'member-list' });
  }
  return normalizeMembers(new Map(entries));
}

/**
 * docs/import-contract.md step 2: the local replica must be a member, at this NodeHost's
 * RaftAddress. (The reference compares the strings exactly; so do we.)
 */
export function checkLocalMember(members: Map<bigint, string>, replicaId: bigint, raftAddress: string): void {
  const addr = members.get(replicaId);
  if (addr === undefined) {
    throw new ErrInvalidMembers(
      `replica ${replicaId} is not in the member map; the map must include the replica being imported on this host`,
      { replicaId, members: [...members.keys()] },
    );
  }
  if (addr !== raftAddress) {
    throw new ErrInvalidMembers(
      `replica ${replicaId} has address "${addr}" in the member map but this NodeHost's RaftAddress is "${raftAddress}"; ` +
        'run the import on the host that owns that address, or fix the map',
      { replicaId, expected: raftAddress, actual: addr },
    );
  }
}

/**
 * docs/import-contract.md step 6: each new member checked against the snapshot's
 * membership. Throws {@link ErrInvalidMembers} naming the replica and rule.
 */
export function checkMembersAgainstSnapshot(members: Map<bigint, string>, old: Membership): void {
  for (const [id, address] of members) {
    const current = old.addresses.get(id);
    if (current !== undefined && current !== address) {
      throw new ErrInvalidMembers(
        `node address changed: replica ${id} is "${current}" in the snapshot's membership, not "${address}"; ` +
          'a replica keeps its address for life — give the new host a new replica ID',
        { replicaId: id, rule: 'node-address-changed', expected: current, actual: address },
      );
    }
    const nonVoting = old.nonVotings.get(id);
    if (nonVoting !== undefined) {
      if (nonVoting !== address) {
        throw new ErrInvalidMembers(`node address changed: non-voting replica ${id} is "${nonVoting}" in the snapshot, not "${address}"`, {
          replicaId: id,
          rule: 'node-address-changed',
          expected: nonVoting,
          actual: address,
        });
      }
      throw new ErrInvalidMembers(
        `adding a non-voting node as a regular node: replica ${id} is non-voting in the snapshot; use a new replica ID`,
        {
          replicaId: id,
          rule: 'non-voting-as-regular',
        },
      );
    }
    const witness = old.witnesses.get(id);
    if (witness !== undefined) {
      if (witness !== address) {
        throw new ErrInvalidMembers(`node address changed: witness replica ${id} is "${witness}" in the snapshot, not "${address}"`, {
          replicaId: id,
          rule: 'node-address-changed',
          expected: witness,
          actual: address,
        });
      }
      throw new ErrInvalidMembers(`adding a witness as a regular node: replica ${id} is a witness in the snapshot; use a new replica ID`, {
        replicaId: id,
        rule: 'witness-as-regular',
      });
    }
    if (old.removed.has(id)) {
      throw new ErrInvalidMembers(
        `adding a removed node: replica ${id} was removed from the shard and must never come back; use a new replica ID`,
        {
          replicaId: id,
          rule: 'removed-node',
        },
      );
    }
  }
}

/**
 * docs/import-contract.md step 9's membership: exactly `members` as voters; every old
 * voter, non-voting and witness not in `members` joins the removed set, as
 * do all previously removed IDs.
 */
export function newMembership(old: Membership, members: Map<bigint, string>, configChangeId: bigint): Membership {
  const removed = new Map<bigint, boolean>();
  for (const id of [...old.removed.keys(), ...old.addresses.keys(), ...old.nonVotings.keys(), ...old.witnesses.keys()]) {
    if (!members.has(id)) removed.set(id, true);
  }
  return {
    configChangeId,
    addresses: new Map(members),
    removed: new Map([...removed].sort((a, b) => (a[0] < b[0] ? -1 : 1))),
    nonVotings: new Map(),
    witnesses: new Map(),
  };
}

/** The replicas that the new membership removes (for the result and the plan). */
export function removedByImport(old: Membership, members: Map<bigint, string>): bigint[] {
  const ids = new Set<bigint>([...old.addresses.keys(), ...old.nonVotings.keys(), ...old.witnesses.keys()]);
  return [...ids].filter((id) => !members.has(id)).sort((a, b) => (a < b ? -1 : 1));
}

/** Chooses config_change_id per policy. */
export function chooseConfigChangeId(source: Snapshot, policy: ConfigChangeIdPolicy): bigint {
  return policy === 'snapshot-index' ? source.index : source.membership.configChangeId;
}
