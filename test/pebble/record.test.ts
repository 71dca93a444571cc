import { describe, expect, it } from 'vitest';
import { LOG_BLOCK_SIZE, LogWriter, frameLogRecord, readLog } from '../../src/pebble/record.js';
import { crc32cUpdate, maskCrc } from '../../src/pebble/crc32c.js';
import { patternBytes } from '../helpers/payload.js';

const payload = (n: number, seed = 1): Uint8Array => patternBytes(n, 7, seed);

function eofTrailer(logNum: number): Uint8Array {
  const t = new Uint8Array(11);
  t[6] = 5;
  new DataView(t.buffer).setUint32(7, logNum + 1, true);
  return t;
}

function concat(...parts: Uint8Array[]): Uint8Array {
  const out = new Uint8Array(parts.reduce((a, p) => a + p.length, 0));
  let o = 0;
  for (const p of parts) {
    out.set(p, o);
    o += p.length;
  }
  return out;
}

describe('log framing', () => {
  it('records spanning blocks round-trip, with the block-tail padding Pebble writes', () => {
    const w = new LogWriter({ recyclable: true, logNum: 12 });
    const sizes = [10, 100_000, 32768 - 11 - 10 - 11 - 5, 0, 40_000];
    for (const [i, n] of sizes.entries()) w.append(payload(n, i));
    const file = w.bytes();
    const r = readLog(file, 12);
    expect(r.records.map((x) => x.payload.length)).toEqual(sizes);
    r.records.forEach((x, i) => {
      expect(x.payload).toEqual(payload(sizes[i]!, i));
    });
    expect(r.ending).toMatchObject({ kind: 'clean', reason: 'end-of-file' });
    expect(r.goodEnd).toBe(file.length);
    // Another log number: the first chunk ends the log cleanly, as a reused file's stale data.
    expect(readLog(file, 13)).toMatchObject({ records: [], ending: { kind: 'clean', reason: 'other-lognum' } });
  });

  it('legacy chunks (MANIFEST) read with any log number', () => {
    const f = frameLogRecord(payload(70_000), { recyclable: false });
    expect(f[6]).toBe(2);
    expect(readLog(f, 0).records[0]!.payload).toEqual(payload(70_000));
  });

  it('an EOF trailer ends the log; what follows is never read', () => {
    const f = concat(
      frameLogRecord(payload(50), { recyclable: true, logNum: 7 }),
      eofTrailer(7),
      frameLogRecord(payload(9), { recyclable: true, logNum: 7 }),
    );
    const r = readLog(f, 7);
    expect(r.records.length).toBe(1);
    expect(r.ending).toMatchObject({ kind: 'clean', reason: 'eof-trailer', foundLogNum: 8 });
  });

  it('torn endings: cut mid-record, zeroed header, bad CRC, stray bytes; goodEnd is the last complete record', () => {
    const two = concat(
      frameLogRecord(payload(50), { recyclable: true, logNum: 3 }),
      frameLogRecord(payload(60), { recyclable: true, logNum: 3 }),
    );
    const first = 50 + 11;
    expect(readLog(two.subarray(0, first + 30), 3)).toMatchObject({ ending: { kind: 'torn', reason: 'chunk-past-block' }, goodEnd: first });
    expect(readLog(concat(two.subarray(0, first), new Uint8Array(40)), 3)).toMatchObject({
      ending: { kind: 'torn', reason: 'zeroed-chunk' },
      goodEnd: first,
    });
    const bad = two.slice();
    bad[first + 20]! ^= 1;
    expect(readLog(bad, 3)).toMatchObject({ records: [{}], ending: { kind: 'torn', reason: 'chunk-crc', offset: first } });
    expect(readLog(concat(two.subarray(0, first), Uint8Array.of(1, 2, 3)), 3)).toMatchObject({
      ending: { kind: 'torn', reason: 'stray-bytes' },
    });
    // Zero padding shorter than a header at a full block's end is skipped.
    const w = new LogWriter({ recyclable: true, logNum: 3 });
    w.append(payload(LOG_BLOCK_SIZE - 11 - 5));
    w.append(payload(5));
    expect(readLog(w.bytes(), 3).records.length).toBe(2);
    // Cut exactly at a block boundary inside a record: unexpected end.
    const big = frameLogRecord(payload(40_000), { recyclable: true, logNum: 3 });
    expect(readLog(big.subarray(0, LOG_BLOCK_SIZE), 3)).toMatchObject({
      records: [],
      ending: { kind: 'torn', reason: 'unexpected-eof' },
      goodEnd: 0,
    });
  });

  it('valid-CRC chunks Pebble would skip or mis-join are reported as damage', () => {
    // A "last" chunk where a record starts.
    const chunk = new Uint8Array(11 + 4);
    chunk[4] = 4;
    chunk[6] = 8;
    new DataView(chunk.buffer).setUint32(7, 3, true);
    new DataView(chunk.buffer).setUint32(0, maskCrc(crc32cUpdate(0, chunk, 6)), true);
    expect(readLog(chunk, 3).ending).toMatchObject({ kind: 'damaged', reason: 'orphan-chunk' });
    const odd = new Uint8Array(7 + 2);
    odd[4] = 2;
    odd[6] = 9;
    new DataView(odd.buffer).setUint32(0, maskCrc(crc32cUpdate(0, odd, 6)), true);
    expect(readLog(odd, 3).ending).toMatchObject({ kind: 'damaged', reason: 'chunk-type' });
  });

  it('every single-byte flip of a framed log gives a prefix of its records, never a wrong one', () => {
    const w = new LogWriter({ recyclable: true, logNum: 5 });
    const sizes = [3, 500, 33_000, 1, 200];
    sizes.forEach((n, i) => {
      w.append(payload(n, i));
    });
    const file = concat(w.bytes(), eofTrailer(5));
    const expected = sizes.map((n, i) => payload(n, i));
    for (let o = 0; o < file.length; o += o < 2000 || o > file.length - 2000 ? 1 : 13) {
      const f = file.slice();
      f[o]! ^= 0xff;
      const r = readLog(f, 5);
      r.records.forEach((x, i) => {
        if (Buffer.compare(x.payload, expected[i]!) !== 0) expect.fail(`flip at ${o}: record ${i} differs`);
      });
    }
  });
});
