/**
 * The native engine against the `js` engine (the shared TypeScript scanner
 * over zlib.crc32): same verdict, same check, offset, block and values, for
 * scans and copies, on valid files, every corruption class and files whose
 * size differs from the caller's stat.
 */
import fs from 'node:fs';
import path from 'node:path';

import { afterAll, beforeAll, describe, expect, it } from 'vitest';

import { createJsEngine } from '../../src/engines/js.js';
import { createNativeEngine } from '../../src/engines/native.js';
import type { PayloadLayout } from '../../src/engines/types.js';
import { BLOCK, flip, joinParts, pseudoRandom, tempDir, v1File, v2Parts, writeSnapshot } from '../native/v2file.js';

let tmp: ReturnType<typeof tempDir>;
beforeAll(() => {
  tmp = tempDir('nh-native-diff');
});
afterAll(() => tmp.cleanup());

const payload = pseudoRandom(3 * BLOCK + 100, 5);
const good = joinParts(v2Parts(payload));

function corrupt(edit: (p: ReturnType<typeof v2Parts>) => void, data = payload): Buffer {
  const p = v2Parts(data);
  edit(p);
  return joinParts(p);
}

const cases: Array<[name: string, bytes: () => Buffer, version: 1 | 2, sizeDelta?: number]> = [
  ['valid v2', () => good, 2],
  ['valid v2, one full block', () => joinParts(v2Parts(payload.subarray(0, BLOCK))), 2],
  ['valid v1', () => v1File(payload), 1],
  ['tail-size', () => Buffer.alloc(1024 + 15), 2],
  ['no block', () => joinParts(v2Parts(Buffer.alloc(0))), 2],
  ['tail-magic', () => corrupt((p) => flip(p.tail, 12, 0x10)), 2],
  ['tail-total', () => corrupt((p) => p.tail.writeBigUInt64LE(123n, 0)), 2],
  [
    'block-layout',
    () => {
      const p = v2Parts(payload.subarray(0, 2 * BLOCK));
      p.tail.writeBigUInt64LE(BigInt(2 * (BLOCK + 4) + 2), 0);
      return Buffer.concat([p.header, ...p.blocks, Buffer.alloc(2), p.tail]);
    },
    2,
  ],
  ['block-crc in data', () => corrupt((p) => flip(p.blocks[2]!, 9999, 0x01)), 2],
  ['block-crc in the stored CRC of the last block', () => corrupt((p) => flip(p.blocks[3]!, 101, 0x80)), 2],
  ['v2 longer than stated', () => good, 2, -100],
  ['v2 shorter than stated', () => good, 2, +10],
  ['v2 much shorter than stated', () => good, 2, +5_000_000],
  ['v1 longer than stated', () => v1File(payload), 1, -100],
  ['v1 shorter than stated', () => v1File(payload), 1, +100],
];

describe('native and js engines agree', () => {
  it.each(cases)('%s', async (name, bytes, version, sizeDelta = 0) => {
    const native = createNativeEngine();
    const js = createJsEngine();
    const written = writeSnapshot(tmp.dir, `${name.replace(/\W+/g, '-')}.gbsnap`, bytes(), version);
    const layout: PayloadLayout = { ...written, fileSize: written.fileSize + sizeDelta };
    const want = await js.scanPayload(layout);
    expect(await native.scanPayload(layout)).toEqual(want);
    const jsCopy = path.join(tmp.dir, `${name}-js.copy`);
    const nativeCopy = path.join(tmp.dir, `${name}-native.copy`);
    const wantCopy = await js.copyAndScan(layout, jsCopy, 0o600);
    expect(await native.copyAndScan(layout, nativeCopy, 0o600)).toEqual(wantCopy);
    expect(wantCopy).toEqual(want);
    expect(fs.existsSync(nativeCopy)).toBe(fs.existsSync(jsCopy));
    if (want.ok) expect(fs.readFileSync(nativeCopy).equals(fs.readFileSync(jsCopy))).toBe(true);
  });
});
