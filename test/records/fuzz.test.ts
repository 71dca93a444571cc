import { describe, expect, test } from 'vitest';
import { NodeHostToolsError, ErrMalformedRecord } from '../../src/errors.js';
import * as codec from '../../src/records/codec.js';
import { decodeFlagFile, encodeFlagFile } from '../../src/records/flagfile.js';
import { EntryType, StateMachineType } from '../../src/records/types.js';
import { rng } from '../helpers/rng.js';

function sampleSnapshot() {
  const s = codec.emptySnapshot();
  Object.assign(s, {
    filepath: '/d/snapshot-0000000000000010/snapshot-0000000000000010.gbsnap',
    fileSize: 4_195_384n,
    index: 16n,
    term: 3n,
    checksum: Uint8Array.of(1, 2, 3, 4),
    shardId: 100n,
    type: StateMachineType.OnDisk,
  });
  s.membership.configChangeId = 12n;
  s.membership.addresses.set(1n, 'm1:9000').set(2n ** 63n, 'm2:9000');
  s.membership.removed.set(7n, true);
  s.membership.nonVotings.set(8n, 'n:1');
  s.membership.witnesses.set(9n, 'w:1');
  s.files.push({ filepath: 'ext-1', fileSize: 10n, fileId: 1n, metadata: Uint8Array.of(5) });
  return s;
}

const decoders: [string, (b: Uint8Array) => unknown, Uint8Array][] = [
  ['Membership', codec.decodeMembership, codec.encodeMembership(sampleSnapshot().membership)],
  ['Snapshot', codec.decodeSnapshot, codec.encodeSnapshot(sampleSnapshot())],
  [
    'Bootstrap',
    codec.decodeBootstrap,
    codec.encodeBootstrap({
      addresses: new Map([
        [1n, 'a'],
        [2n, 'b'],
      ]),
      join: true,
      type: StateMachineType.Regular,
    }),
  ],
  ['RaftState', codec.decodeRaftState, codec.encodeRaftState({ term: 5n, vote: 1n, commit: 2n ** 40n })],
  [
    'Entry',
    codec.decodeEntry,
    codec.encodeEntry({ ...codec.emptyEntry(), index: 9n, type: EntryType.ConfigChange, cmd: Uint8Array.of(1, 2, 3) }),
  ],
  ['EntryBatch', codec.decodeEntryBatch, codec.encodeEntryBatch({ entries: [codec.emptyEntry(), { ...codec.emptyEntry(), index: 300n }] })],
  [
    'RaftDataStatus',
    codec.decodeRaftDataStatus,
    codec.encodeRaftDataStatus({ ...codec.emptyRaftDataStatus(), address: 'm1:9000', binVer: 210, hardHash: 2n ** 63n }),
  ],
  [
    'SnapshotHeader',
    codec.decodeSnapshotHeader,
    codec.encodeSnapshotHeader({ ...codec.emptySnapshotHeader(), version: 2n, payloadChecksum: Uint8Array.of(1, 2, 3, 4) }),
  ],
];

/** One random mutation: flip, set, insert, delete, truncate or splice bytes. */
function mutate(src: Uint8Array, r: () => number): Uint8Array {
  const b = Array.from(src);
  const n = 1 + Math.floor(r() * 4);
  for (let k = 0; k < n; k++) {
    const at = Math.floor(r() * (b.length + 1));
    switch (Math.floor(r() * 6)) {
      case 0:
        if (b.length) b[at % b.length]! ^= 1 << Math.floor(r() * 8);
        break;
      case 1:
        if (b.length) b[at % b.length] = Math.floor(r() * 256);
        break;
      case 2:
        b.splice(at, 0, Math.floor(r() * 256));
        break;
      case 3:
        b.splice(at, 1 + Math.floor(r() * 3));
        break;
      case 4:
        b.length = Math.min(b.length, at);
        break;
      default:
        b.splice(at, 0, ...[0xff, 0xff, 0xff, 0xff, 0x0f].slice(0, 1 + Math.floor(r() * 5)));
        break;
    }
  }
  return Uint8Array.from(b);
}

function expectOnlyCodedErrors(fn: () => unknown): 'ok' | 'error' {
  try {
    fn();
    return 'ok';
  } catch (err) {
    if (!(err instanceof NodeHostToolsError)) throw err;
    return 'error';
  }
}

describe('seeded fuzz of the decoders', () => {
  test.each(decoders)('%s: random bytes and mutated encodings', (_name, decode, valid) => {
    const r = rng(0xdb0a7 + valid.length);
    const seen = { ok: 0, error: 0 };
    for (let i = 0; i < 1500; i++) {
      const input = i % 3 === 0 ? Uint8Array.from({ length: Math.floor(r() * 64) }, () => Math.floor(r() * 256)) : mutate(valid, r);
      seen[expectOnlyCodedErrors(() => decode(input))]++;
    }
    // Both outcomes happen: the fuzz reaches past the first byte.
    expect(seen.ok).toBeGreaterThan(0);
    expect(seen.error).toBeGreaterThan(0);
  });

  test('errors from the decoders are ErrMalformedRecord with a record name', () => {
    const r = rng(99);
    for (let i = 0; i < 500; i++) {
      const [, decode, valid] = decoders[i % decoders.length]!;
      try {
        decode(mutate(valid, r));
      } catch (err) {
        expect(err).toBeInstanceOf(ErrMalformedRecord);
        expect(typeof (err as ErrMalformedRecord).details.record).toBe('string');
      }
    }
  });

  test('flag-file decoding of mutated files', () => {
    const r = rng(5);
    const valid = encodeFlagFile(decoders[6]![2]);
    for (let i = 0; i < 1000; i++) expectOnlyCodedErrors(() => decodeFlagFile(mutate(valid, r), '/f'));
  });
});
