import { createHash } from 'node:crypto';
import fc from 'fast-check';
import { describe, expect, test } from 'vitest';
import { ErrCorruptFlagFile } from '../../src/errors.js';
import { encodeRaftDataStatus, emptyRaftDataStatus } from '../../src/records/codec.js';
import { decodeFlagFile, encodeFlagFile, flagFileHash } from '../../src/records/flagfile.js';
import { expectCoded } from '../helpers/snapshots.js';

describe('flag files', () => {
  test('the hash is the second half of MD5(payload), then the payload', () => {
    const payload = encodeRaftDataStatus({ ...emptyRaftDataStatus(), address: 'm1:9000', binVer: 210 });
    const md5 = createHash('md5').update(payload).digest();
    const file = encodeFlagFile(payload);
    expect(Buffer.from(file.subarray(0, 8))).toEqual(md5.subarray(8, 16));
    expect(file.subarray(8)).toEqual(payload);
    expect(flagFileHash(payload)).toEqual(new Uint8Array(md5.subarray(8, 16)));
  });

  test('known vector: empty payload', () => {
    // MD5("") = d41d8cd98f00b204 e9800998ecf8427e
    expect(Buffer.from(encodeFlagFile(new Uint8Array(0))).toString('hex')).toBe('e9800998ecf8427e');
  });

  test('round-trips any payload, returning a copy', () => {
    fc.assert(
      fc.property(fc.uint8Array({ maxLength: 200 }), (p) => {
        const file = encodeFlagFile(p);
        const back = decodeFlagFile(Buffer.from(file));
        expect(back).toEqual(p);
        expect(Buffer.isBuffer(back)).toBe(false);
      }),
      { seed: 7, numRuns: 200 },
    );
  });

  test('any flipped bit is a flag-hash failure naming the path', () => {
    const file = encodeFlagFile(Uint8Array.of(1, 2, 3, 4, 5));
    for (let i = 0; i < file.length; i++) {
      for (let bit = 0; bit < 8; bit++) {
        const bad = file.slice();
        bad[i]! ^= 1 << bit;
        const e = expectCoded(() => decodeFlagFile(bad, '/x/dragonboat.ds'), ErrCorruptFlagFile, 'flag-hash');
        expect(e.details.path).toBe('/x/dragonboat.ds');
      }
    }
  });

  test('shorter than the hash is a flag-length failure', () => {
    for (let n = 0; n < 8; n++) expectCoded(() => decodeFlagFile(new Uint8Array(n), '/p'), ErrCorruptFlagFile, 'flag-length');
  });

  test('a truncated or extended file fails the hash', () => {
    const file = encodeFlagFile(Uint8Array.of(9, 8, 7));
    expectCoded(() => decodeFlagFile(file.subarray(0, file.length - 1)), ErrCorruptFlagFile, 'flag-hash');
    expectCoded(() => decodeFlagFile(Uint8Array.of(...file, 0)), ErrCorruptFlagFile, 'flag-hash');
  });
});
