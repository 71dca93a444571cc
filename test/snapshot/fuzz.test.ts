import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, test } from 'vitest';
import { createJsEngine } from '../../src/engines/js.js';
import { ErrIncompleteSnapshot, NodeHostToolsError } from '../../src/errors.js';
import { parseHeaderArea } from '../../src/snapshot/header.js';
import { verifySnapshotFile } from '../../src/snapshot/verify.js';
import { GOLDEN_V1_PATH, readAll, tempDirs, writeV2 } from '../helpers/snapshots.js';
import { payload } from '../helpers/payload.js';
import { rng } from '../helpers/rng.js';

const engine = createJsEngine();
const dirs = tempDirs('nht-fuzz-');

/** Mutates bytes mostly where it matters: the first 64 bytes and the last 32. */
function mutate(src: Uint8Array, r: () => number): Uint8Array {
  let b = src.slice();
  const pick = (): number => (r() < 0.7 ? Math.floor(r() * Math.min(64, b.length)) : Math.max(0, b.length - 1 - Math.floor(r() * 32)));
  for (let k = 1 + Math.floor(r() * 3); k > 0; k--) {
    switch (Math.floor(r() * 5)) {
      case 0:
        b[pick()]! ^= 1 << Math.floor(r() * 8);
        break;
      case 1:
        b[pick()] = Math.floor(r() * 256);
        break;
      case 2:
        b = b.subarray(0, Math.max(0, b.length - 1 - Math.floor(r() * 40))).slice();
        break;
      case 3:
        b = Uint8Array.from([...b, ...Array.from({ length: 1 + Math.floor(r() * 20) }, () => Math.floor(r() * 256))]);
        break;
      default:
        new DataView(b.buffer).setUint32(0, Math.floor(r() * 1100), true);
        break;
    }
  }
  return b;
}

async function onlyCoded(p: Promise<unknown>): Promise<'ok' | 'error'> {
  try {
    await p;
    return 'ok';
  } catch (err) {
    if (!(err instanceof NodeHostToolsError)) throw err;
    return 'error';
  }
}

describe('seeded fuzz of the snapshot layer', () => {
  test('the header parser throws only ErrIncompleteSnapshot', () => {
    const r = rng(1234);
    const golden = readAll(GOLDEN_V1_PATH).subarray(0, 1024);
    let errors = 0;
    for (let i = 0; i < 3000; i++) {
      const area = i % 4 === 0 ? Uint8Array.from({ length: 1024 }, () => Math.floor(r() * 256)) : mutate(golden, r);
      try {
        parseHeaderArea(area, '/fuzz');
      } catch (err) {
        expect(err).toBeInstanceOf(ErrIncompleteSnapshot);
        errors++;
      }
    }
    expect(errors).toBeGreaterThan(0);
  });

  test('the verifier on mutated v1 and v2 files throws only coded errors', async () => {
    const r = rng(4321);
    const dir = dirs.make();
    const v2 = readAll((await writeV2(dir, payload(300, 2), 'v2.gbsnap')).path);
    const v1 = readAll(GOLDEN_V1_PATH);
    const seen = { ok: 0, error: 0 };
    for (let i = 0; i < 400; i++) {
      const path = join(dir, `m${i}.gbsnap`);
      writeFileSync(path, mutate(i % 2 ? v1 : v2, r));
      seen[await onlyCoded(verifySnapshotFile(path, { engine }))]++;
    }
    expect(seen.error).toBeGreaterThan(300);
  });
});
