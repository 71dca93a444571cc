import fc from 'fast-check';
import { describe, expect, test } from 'vitest';
import { ErrMalformedRecord } from '../../src/errors.js';
import { decodeEntry, decodeEntryBatch, emptyEntry, encodeEntry, encodeEntryBatch } from '../../src/records/codec.js';
import { scanEntryColfer, type EntryHead } from '../../src/records/entry-colfer.js';
import { EntryType, type Entry } from '../../src/records/types.js';

const hex = (b: Uint8Array): string => Buffer.from(b).toString('hex');
const unhex = (h: string): Uint8Array => new Uint8Array(Buffer.from(h.replace(/\s+/g, ''), 'hex'));
const u64 = fc.bigInt({ min: 0n, max: (1n << 64n) - 1n });
/** Values near Colfer's switch from varint to 8 fixed bytes (2^49) and the varint byte edges. */
const edgy = fc.oneof(u64, fc.constantFrom(0n, 1n, 127n, 128n, (1n << 49n) - 1n, 1n << 49n, (1n << 56n) - 1n, (1n << 64n) - 1n));
const entry: fc.Arbitrary<Entry> = fc.record({
  term: edgy,
  index: edgy,
  type: fc.constantFrom(EntryType.Application, EntryType.ConfigChange, EntryType.Encoded, EntryType.Metadata),
  key: edgy,
  clientId: edgy,
  seriesId: edgy,
  respondedTo: edgy,
  cmd: fc.uint8Array({ maxLength: 300 }),
});

describe('Entry as Dragonboat v4 stores it (Colfer)', () => {
  // Values a real default-config Dragonboat v4 wrote (the pebble-v4 fixture's README lists them).
  test.each([
    [
      'entry 200: term 2, EncodedEntry, key and client ID past 2^49',
      '000201c8010202835e12b719524312ef84be532575cacea191070c006b303139363d76303139367f',
      { term: 2n, index: 200n, type: EntryType.Encoded, key: 0x5e12b719524312efn, clientId: 0xbe532575cacea191n, cmd: '\x00k0196=v0196' },
    ],
    ['entry 201: the leader no-op', '000301c9017f', { term: 3n, index: 201n, type: EntryType.Application, key: 0n, clientId: 0n, cmd: '' }],
    [
      'entry 620',
      '000301ec04020283cbbd2f210b7f0324841c18fd8ae86ea5b2070c006b303631353d76303631357f',
      { term: 3n, index: 620n, type: EntryType.Encoded, key: 0xcbbd2f210b7f0324n, clientId: 0x1c18fd8ae86ea5b2n, cmd: '\x00k0615=v0615' },
    ],
  ])('%s: decoded exactly, re-encoded to the same bytes', (_name, bytes, want) => {
    const e = decodeEntry(unhex(bytes));
    expect(e).toEqual({ ...emptyEntry(), ...want, cmd: new TextEncoder().encode(want.cmd) });
    expect(hex(encodeEntry(e))).toBe(bytes);
  });

  test('an empty entry is the end marker alone; a negative type sets the header flag', () => {
    expect(hex(encodeEntry(emptyEntry()))).toBe('7f');
    expect(hex(encodeEntry({ ...emptyEntry(), term: 5n, index: 512n }))).toBe('0005' + '018004' + '7f');
    expect(decodeEntry(unhex('82 05 7f')).type).toBe(-5);
  });

  test('round-trips and re-encodes byte for byte', () => {
    fc.assert(
      fc.property(entry, (e) => {
        const b = encodeEntry(e);
        expect(decodeEntry(b)).toEqual(e);
        expect(hex(encodeEntry(decodeEntry(b)))).toBe(hex(b));
      }),
      { seed: 7, numRuns: 300 },
    );
  });

  test('an EntryBatch is protobuf field 1 around each Colfer entry', () => {
    const a = { ...emptyEntry(), term: 3n, index: 201n };
    const b = { ...emptyEntry(), term: 3n, index: 202n, cmd: Uint8Array.of(1, 2) };
    expect(hex(encodeEntryBatch({ entries: [a, b] }))).toBe('0a06' + '000301c9017f' + '0a0a' + '000301ca01070201027f');
    fc.assert(
      fc.property(fc.array(entry, { maxLength: 5 }), (entries) => {
        expect(decodeEntryBatch(encodeEntryBatch({ entries }))).toEqual({ entries });
      }),
      { seed: 8, numRuns: 100 },
    );
  });

  test.each([
    ['nothing at all', ''],
    ['no end marker', '0003'],
    ['fields out of order', '0103 0005 7f'],
    ['a command past the end', '07 05 6162 7f'],
    ['bytes after the end marker', '7f 00'],
    ['an unknown header', '08 01 7f'],
    ['a truncated fixed 8-byte value', '80 0102030405 7f'],
  ])('refuses %s with ErrMalformedRecord and an offset', (_name, h) => {
    const err = (() => {
      try {
        decodeEntry(unhex(h));
      } catch (e) {
        return e;
      }
      return undefined;
    })() as ErrMalformedRecord;
    expect(err).toBeInstanceOf(ErrMalformedRecord);
    expect(typeof err.details.offset).toBe('number');
  });

  test.each([
    ['another field in a batch', '12 01 7f'],
    ['a protobuf Entry inside a batch', '0a 04 0803 1001'],
    ['an entry length past the end', '0a 09 7f'],
  ])('refuses a batch with %s', (_name, h) => {
    expect(() => decodeEntryBatch(unhex(h))).toThrow(ErrMalformedRecord);
  });

  test('the fast scan accepts exactly what the decoder accepts, and reads the same index, term and type', () => {
    const head: EntryHead = { index: 0n, term: 0n, type: 0 };
    const agree = (b: Uint8Array): void => {
      let decoded: ReturnType<typeof decodeEntry> | undefined;
      try {
        decoded = decodeEntry(b);
      } catch {
        decoded = undefined;
      }
      const ok = scanEntryColfer(b, 0, b.length, head);
      expect(ok).toBe(decoded !== undefined);
      if (decoded) expect(head).toEqual({ index: decoded.index, term: decoded.term, type: decoded.type });
    };
    fc.assert(
      fc.property(entry, fc.nat(), fc.integer({ min: 0, max: 255 }), fc.nat(), (e, at, byte, cut) => {
        const b = encodeEntry(e);
        agree(b);
        const flipped = b.slice();
        flipped[at % b.length] = byte;
        agree(flipped);
        agree(b.subarray(0, cut % (b.length + 1)));
      }),
      { seed: 9, numRuns: 400 },
    );
  });
});
