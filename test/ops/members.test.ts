/**
 * The pure member rules of the import (docs/import-contract.md steps 2, 6 and 9) and the
 * imported snapshot record.
 */
import { describe, expect, it } from 'vitest';
import { ErrInvalidMembers } from '../../src/errors.js';
import { importedSnapshotRecord } from '../../src/ops/imported-record.js';
import {
  checkLocalMember,
  checkMembersAgainstSnapshot,
  chooseConfigChangeId,
  newMembership,
  normalizeMembers,
  parseMemberList,
  removedByImport,
  toReplicaId,
} from '../../src/ops/members.js';
import { emptyMembership, emptySnapshot } from '../../src/records/codec.js';
import { StateMachineType, type Membership, type Snapshot } from '../../src/records/types.js';

const MAX = (1n << 64n) - 1n;

function invalid(fn: () => unknown): ErrInvalidMembers {
  let err: unknown;
  try {
    fn();
  } catch (e) {
    err = e;
  }
  expect(err).toBeInstanceOf(ErrInvalidMembers);
  const e = err as ErrInvalidMembers;
  expect(e.code).toBe('ErrInvalidMembers');
  expect(e.code).toBe(e.constructor.name);
  expect(e.message.length).toBeGreaterThan(10);
  return e;
}

function membership(init: {
  ccid?: bigint;
  addresses?: [bigint, string][];
  removed?: bigint[];
  nonVotings?: [bigint, string][];
  witnesses?: [bigint, string][];
}): Membership {
  return {
    ...emptyMembership(),
    configChangeId: init.ccid ?? 0n,
    addresses: new Map(init.addresses ?? []),
    removed: new Map((init.removed ?? []).map((id) => [id, true])),
    nonVotings: new Map(init.nonVotings ?? []),
    witnesses: new Map(init.witnesses ?? []),
  };
}

describe('normalizeMembers', () => {
  it('accepts a Map with bigint, number and string keys and returns Map<bigint,string> sorted by ID', () => {
    const out = normalizeMembers(
      new Map<bigint | number | string, string>([
        [5n, 'm5:1'],
        [1, 'm1:1'],
        ['4', 'm4:1'],
      ]),
    );
    expect([...out]).toEqual([
      [1n, 'm1:1'],
      [4n, 'm4:1'],
      [5n, 'm5:1'],
    ]);
    for (const k of out.keys()) expect(typeof k).toBe('bigint');
  });

  it('accepts a plain object keyed by decimal IDs', () => {
    const out = normalizeMembers({ '5': 'm5:1', '1': 'm1:1', '10': 'm10:1' });
    expect([...out]).toEqual([
      [1n, 'm1:1'],
      [5n, 'm5:1'],
      [10n, 'm10:1'],
    ]);
  });

  it('accepts the largest uint64 ID and refuses one beyond it', () => {
    expect([...normalizeMembers(new Map([[MAX, 'a:1']]))]).toEqual([[MAX, 'a:1']]);
    expect([...normalizeMembers({ [MAX.toString()]: 'a:1' })]).toEqual([[MAX, 'a:1']]);
    invalid(() => normalizeMembers(new Map([[MAX + 1n, 'a']])));
    invalid(() => normalizeMembers({ [(MAX + 1n).toString()]: 'a' }));
  });

  it('refuses replica ID 0', () => {
    const e = invalid(() => normalizeMembers({ '0': 'm0', '1': 'm1' }));
    expect(e.details.replicaId).toBe(0n);
    invalid(() => normalizeMembers(new Map([[0n, 'm0']])));
    invalid(() => normalizeMembers(new Map([[0, 'm0']])));
  });

  it('refuses the same ID given twice in different spellings', () => {
    const e = invalid(() =>
      normalizeMembers(
        new Map<bigint | number | string, string>([
          [1n, 'a'],
          ['1', 'b'],
        ]),
      ),
    );
    expect(e.details.replicaId).toBe(1n);
    invalid(() =>
      normalizeMembers(
        new Map<bigint | number | string, string>([
          [2, 'a'],
          [2n, 'b'],
        ]),
      ),
    );
    invalid(() =>
      normalizeMembers(
        new Map<bigint | number | string, string>([
          ['007', 'a'],
          [7, 'b'],
        ]),
      ),
    );
  });

  it('refuses empty and blank addresses', () => {
    expect(invalid(() => normalizeMembers({ '1': '' })).details.replicaId).toBe(1n);
    invalid(() => normalizeMembers({ '1': '   ' }));
    invalid(() => normalizeMembers(new Map([[3n, undefined as unknown as string]])));
  });

  it('refuses an empty map, negative, fractional, unsafe and non-decimal IDs', () => {
    invalid(() => normalizeMembers({}));
    invalid(() => normalizeMembers(new Map()));
    invalid(() => normalizeMembers(new Map([[-1n, 'a']])));
    invalid(() => normalizeMembers(new Map([[-1, 'a']])));
    invalid(() => normalizeMembers(new Map([[1.5, 'a']])));
    invalid(() => normalizeMembers(new Map([[2 ** 60, 'a']])));
    invalid(() => normalizeMembers({ '0x10': 'a' }));
    invalid(() => normalizeMembers({ abc: 'a' }));
    invalid(() => normalizeMembers({ '-3': 'a' }));
  });

  it('toReplicaId parses the three spellings', () => {
    expect(toReplicaId(4)).toBe(4n);
    expect(toReplicaId('4')).toBe(4n);
    expect(toReplicaId(' 4 ')).toBe(4n);
    expect(toReplicaId(4n)).toBe(4n);
    invalid(() => toReplicaId('four'));
    invalid(() => toReplicaId(MAX + 1n));
  });
});

describe('checkLocalMember (docs/import-contract.md step 2)', () => {
  const members = new Map([
    [1n, 'm1:63001'],
    [4n, 'm4:63001'],
  ]);

  it('passes when the local replica is present at this RaftAddress', () => {
    expect(() => checkLocalMember(members, 1n, 'm1:63001')).not.toThrow();
    expect(() => checkLocalMember(members, 4n, 'm4:63001')).not.toThrow();
  });

  it('refuses a missing local replica', () => {
    const e = invalid(() => checkLocalMember(members, 5n, 'm5:63001'));
    expect(e.details.replicaId).toBe(5n);
    expect(e.message).toContain('5');
  });

  it('refuses another address, compared exactly like the reference', () => {
    const e = invalid(() => checkLocalMember(members, 1n, 'm9:63001'));
    expect(e.details.expected).toBe('m9:63001');
    expect(e.details.actual).toBe('m1:63001');
    invalid(() => checkLocalMember(members, 1n, 'M1:63001'));
    invalid(() => checkLocalMember(members, 1n, ' m1:63001'));
  });
});

describe('checkMembersAgainstSnapshot (docs/import-contract.md step 6)', () => {
  const old = membership({
    ccid: 7n,
    addresses: [
      [1n, 'm1'],
      [2n, 'm2'],
      [3n, 'm3'],
    ],
    removed: [6n],
    nonVotings: [[7n, 'm7']],
    witnesses: [[8n, 'm8']],
  });

  function rule(members: [bigint, string][]): ErrInvalidMembers {
    return invalid(() => checkMembersAgainstSnapshot(new Map(members), old));
  }

  it('accepts surviving voters at their address and new IDs', () => {
    expect(() =>
      checkMembersAgainstSnapshot(
        new Map([
          [1n, 'm1'],
          [4n, 'm4'],
          [5n, 'm5'],
        ]),
        old,
      ),
    ).not.toThrow();
    expect(() => checkMembersAgainstSnapshot(new Map([[9n, 'm9']]), old)).not.toThrow();
  });

  it('node address changed: a voter with another address', () => {
    const e = rule([
      [1n, 'm1'],
      [2n, 'm2-new'],
    ]);
    expect(e.details.rule).toBe('node-address-changed');
    expect(e.details.replicaId).toBe(2n);
    expect(e.details.expected).toBe('m2');
    expect(e.details.actual).toBe('m2-new');
    expect(e.message).toContain('node address changed');
  });

  it('node address changed: a non-voting with another address', () => {
    const e = rule([[7n, 'm7-new']]);
    expect(e.details.rule).toBe('node-address-changed');
    expect(e.details.replicaId).toBe(7n);
    expect(e.message).toContain('node address changed');
  });

  it('adding a non-voting node as a regular node', () => {
    const e = rule([
      [1n, 'm1'],
      [7n, 'm7'],
    ]);
    expect(e.details.rule).toBe('non-voting-as-regular');
    expect(e.details.replicaId).toBe(7n);
    expect(e.message).toContain('adding a non-voting node as a regular node');
  });

  it('node address changed: a witness with another address', () => {
    const e = rule([[8n, 'm8-new']]);
    expect(e.details.rule).toBe('node-address-changed');
    expect(e.details.replicaId).toBe(8n);
  });

  it('adding a witness as a regular node', () => {
    const e = rule([[8n, 'm8']]);
    expect(e.details.rule).toBe('witness-as-regular');
    expect(e.details.replicaId).toBe(8n);
    expect(e.message).toContain('adding a witness as a regular node');
  });

  it('adding a removed node, whatever its address', () => {
    for (const addr of ['m6', 'anything']) {
      const e = rule([
        [1n, 'm1'],
        [6n, addr],
      ]);
      expect(e.details.rule).toBe('removed-node');
      expect(e.details.replicaId).toBe(6n);
      expect(e.message).toContain('adding a removed node');
    }
  });

  it('an empty old membership accepts anything', () => {
    expect(() =>
      checkMembersAgainstSnapshot(
        new Map([
          [1n, 'x'],
          [2n, 'y'],
        ]),
        emptyMembership(),
      ),
    ).not.toThrow();
  });
});

describe('newMembership (docs/import-contract.md step 9)', () => {
  it('the worked example: voters exactly the members, 2 and 3 removed, config change ID as given', () => {
    const old = membership({
      ccid: 7n,
      addresses: [
        [1n, 'm1'],
        [2n, 'm2'],
        [3n, 'm3'],
      ],
    });
    const members = new Map([
      [1n, 'm1'],
      [4n, 'm4'],
      [5n, 'm5'],
    ]);
    const m = newMembership(old, members, 7n);
    expect(m.configChangeId).toBe(7n);
    expect([...m.addresses]).toEqual([
      [1n, 'm1'],
      [4n, 'm4'],
      [5n, 'm5'],
    ]);
    expect([...m.removed]).toEqual([
      [2n, true],
      [3n, true],
    ]);
    expect(m.nonVotings.size).toBe(0);
    expect(m.witnesses.size).toBe(0);
    expect(m.addresses).not.toBe(members);
    expect(newMembership(old, members, 20n).configChangeId).toBe(20n);
  });

  it('removed = old voters, non-votings and witnesses not kept, plus every old removed ID, sorted', () => {
    const old = membership({
      addresses: [
        [3n, 'm3'],
        [1n, 'm1'],
        [2n, 'm2'],
      ],
      removed: [12n, 6n],
      nonVotings: [
        [7n, 'm7'],
        [10n, 'm10'],
      ],
      witnesses: [[8n, 'm8']],
    });
    const m = newMembership(
      old,
      new Map([
        [1n, 'm1'],
        [10n, 'm10'],
        [20n, 'm20'],
      ]),
      3n,
    );
    expect([...m.removed]).toEqual([
      [2n, true],
      [3n, true],
      [6n, true],
      [7n, true],
      [8n, true],
      [12n, true],
    ]);
    expect([...m.addresses.keys()]).toEqual([1n, 10n, 20n]);
    expect(m.nonVotings.size).toBe(0);
    expect(m.witnesses.size).toBe(0);
    expect(
      removedByImport(
        old,
        new Map([
          [1n, 'm1'],
          [10n, 'm10'],
        ]),
      ),
    ).toEqual([2n, 3n, 7n, 8n]);
  });

  it('does not modify the old membership', () => {
    const old = membership({
      addresses: [
        [1n, 'm1'],
        [2n, 'm2'],
      ],
      removed: [5n],
    });
    newMembership(old, new Map([[1n, 'm1']]), 1n);
    expect([...old.addresses.keys()]).toEqual([1n, 2n]);
    expect([...old.removed.keys()]).toEqual([5n]);
  });
});

describe('chooseConfigChangeId', () => {
  const source: Snapshot = { ...emptySnapshot(), index: 20n, membership: membership({ ccid: 7n }) };
  it('preserve keeps the source value (Dragonboat issue 414)', () => {
    expect(chooseConfigChangeId(source, 'preserve')).toBe(7n);
  });
  it('snapshot-index reproduces the reference', () => {
    expect(chooseConfigChangeId(source, 'snapshot-index')).toBe(20n);
  });
});

describe('importedSnapshotRecord (docs/import-contract.md step 9)', () => {
  it('re-points paths into the final dir, copies the listed fields, sets imported, drops on_disk_index and witness', () => {
    const source: Snapshot = {
      filepath: '/backup/snapshot-0000000000000014/snapshot-0000000000000014.gbsnap',
      fileSize: 1234n,
      index: 20n,
      term: 4n,
      membership: membership({ ccid: 7n, addresses: [[1n, 'm1']] }),
      files: [{ filepath: '/elsewhere/data-1.ext', fileSize: 9n, fileId: 3n, metadata: Uint8Array.of(1, 2) }],
      checksum: Uint8Array.of(9, 8, 7, 6),
      dummy: true,
      shardId: 100n,
      type: StateMachineType.OnDisk,
      imported: false,
      onDiskIndex: 15n,
      witness: true,
    };
    const m = membership({
      ccid: 7n,
      addresses: [
        [1n, 'm1'],
        [4n, 'm4'],
      ],
      removed: [2n],
    });
    const rec = importedSnapshotRecord(source, '/nh/root/snapshot-0000000000000014', m);
    expect(rec).toEqual({
      filepath: '/nh/root/snapshot-0000000000000014/snapshot-0000000000000014.gbsnap',
      fileSize: 1234n,
      index: 20n,
      term: 4n,
      membership: m,
      files: [{ filepath: '/nh/root/snapshot-0000000000000014/data-1.ext', fileSize: 9n, fileId: 3n, metadata: Uint8Array.of(1, 2) }],
      checksum: Uint8Array.of(9, 8, 7, 6),
      dummy: true,
      shardId: 100n,
      type: StateMachineType.OnDisk,
      imported: true,
      onDiskIndex: 0n,
      witness: false,
    });
  });
});

describe('parseMemberList', () => {
  it('parses the textual list into a normalized map', () => {
    expect(parseMemberList(' 4 = m4:1 , 1=m1:1,')).toEqual(
      new Map([
        [1n, 'm1:1'],
        [4n, 'm4:1'],
      ]),
    );
  });

  it.each([
    ['', 'empty'],
    ['1=m1:1,01=m1:2', 'twice'],
    ['1=', '<replicaID>=<address>'],
    ['=a', '<replicaID>=<address>'],
    ['x=a', 'decimal'],
    ['0=a', '0'],
  ])('refuses %j with ErrInvalidMembers', (text, words) => {
    expect(() => parseMemberList(text)).toThrow(ErrInvalidMembers);
    expect(() => parseMemberList(text)).toThrow(words);
  });
});

describe('member addresses, validated like a Dragonboat RaftAddress (issue 10 #7, #13)', () => {
  it('refuses two replicas on one address, compared trimmed and case-insensitive as Dragonboat does', () => {
    const e = invalid(() => normalizeMembers({ '1': 'm1:63001', '4': 'm4:63001', '5': 'm4:63001' }));
    expect(e.details.check).toBe('duplicate-address');
    expect(e.details.replicaIds).toEqual([4n, 5n]);
    expect(e.message).toContain('m4:63001');
    expect(invalid(() => normalizeMembers({ '1': 'M4:63001', '4': ' m4:63001 ' })).details.check).toBe('duplicate-address');
    expect(invalid(() => parseMemberList('1=m1:63001,4=m4:63001,5=M4:63001')).details.check).toBe('duplicate-address');
  });

  it.each([
    ['noport', 'no port'],
    ['m 4:63001', 'whitespace'],
    ['m4:\t63001', 'whitespace'],
    [':63001', 'host'],
    ['m4:', 'port'],
    ['m4:99999', 'port'],
    ['m4:0', 'port'],
    ['m4:-1', 'port'],
    ['m4:+80', 'port'],
    ['m4:80a', 'port'],
    ['m4:63001:1', 'host'],
    ['::1:63001', 'host'],
    ['[::1:63001', 'host'],
    ['[m4]:63001', 'host'],
    ['-m4:63001', 'host'],
    ['m4_x:63001', 'host'],
    ['256.1.1.1:63001', 'host'],
    ['http://m4:63001', 'host'],
  ])('refuses the address %j (%s)', (address, words) => {
    const e = invalid(() => normalizeMembers({ '1': 'm1:63001', '4': address }));
    expect(e.details.check).toBe('address');
    expect(e.details.replicaId).toBe(4n);
    expect(e.details.address).toBe(address);
    expect(e.message).toContain(words);
    expect(() => parseMemberList(`1=m1:63001,4=${address}`)).toThrow(ErrInvalidMembers);
  });

  it.each([
    'm4:63001',
    'M4.example.com:1',
    '10.0.0.4:65535',
    'host-4.internal:7001',
    '[::1]:7001',
    '[fe80::1]:63001',
    '[2001:db8::4]:80',
    'localhost:1',
  ])('accepts %j', (address) => {
    expect(normalizeMembers({ '4': address }).get(4n)).toBe(address);
  });

  it('keeps the address trimmed (the one spelling every later comparison sees)', () => {
    expect(normalizeMembers({ '4': '  m4:63001 ' }).get(4n)).toBe('m4:63001');
  });
});
