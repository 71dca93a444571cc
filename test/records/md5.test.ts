import { createHash } from 'node:crypto';
import { describe, expect, it } from 'vitest';
import { md5 } from '../../src/records/md5.js';
import { rng } from '../helpers/rng.js';

const hex = (b: Uint8Array): string => Buffer.from(b).toString('hex');
const text = (s: string): Uint8Array => new TextEncoder().encode(s);

describe('md5', () => {
  it("gives RFC 1321's test suite digests", () => {
    const suite: [string, string][] = [
      ['', 'd41d8cd98f00b204e9800998ecf8427e'],
      ['a', '0cc175b9c0f1b6a831c399e269772661'],
      ['abc', '900150983cd24fb0d6963f7d28e17f72'],
      ['message digest', 'f96b697d7cb7938d525a2f31aaf161d0'],
      ['abcdefghijklmnopqrstuvwxyz', 'c3fcd3d76192e4007dfb496cca67e13b'],
      ['ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789', 'd174ab98d277d9f5a5611c2c9f419d9f'],
      ['1234567890'.repeat(8), '57edf4a22be3c955ac49da2e2107b67a'],
    ];
    for (const [input, digest] of suite) expect(hex(md5(text(input))), JSON.stringify(input)).toBe(digest);
  });

  it('equals OpenSSL (node:crypto) at every length across the padding boundaries and on larger inputs', () => {
    const rand = rng(0x6d35);
    const lengths = [...Array.from({ length: 300 }, (_, i) => i), 1000, 4095, 4096, 65_537, 1 << 20];
    for (const n of lengths) {
      const data = Uint8Array.from({ length: n }, () => Math.floor(rand() * 256));
      expect(hex(md5(data)), `length ${n}`).toBe(createHash('md5').update(data).digest('hex'));
    }
  });

  it('reads only the view it is given (a subarray of a larger buffer)', () => {
    const whole = text('xxabcxx');
    expect(hex(md5(whole.subarray(2, 5)))).toBe('900150983cd24fb0d6963f7d28e17f72');
  });
});
