import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { batchOpSize, encodeBatch, encodeBatchHeader, encodeBatchOpInto, type BatchOp } from '../../src/pebble/batch.js';
import { Kind } from '../../src/pebble/internal-key.js';
import { frameLogRecord, LOG_BLOCK_SIZE, readLog, RECYCLABLE_HEADER_SIZE, RecordStreamFramer } from '../../src/pebble/record.js';
import { patternBytes } from '../helpers/payload.js';

function concat(parts: Uint8Array[]): Uint8Array {
  return new Uint8Array(Buffer.concat(parts));
}

function framedInPieces(payload: Uint8Array, cuts: number[], recyclable: boolean): Uint8Array {
  const f = new RecordStreamFramer({ recyclable, logNum: 7 }, payload.length);
  const out: Uint8Array[] = [];
  let at = 0;
  for (const c of [...cuts.map((x) => x % (payload.length + 1))].sort((a, b) => a - b)) {
    out.push(...f.push(payload.subarray(at, Math.max(at, c))));
    at = Math.max(at, c);
  }
  out.push(...f.push(payload.subarray(at)), ...f.finish());
  return concat(out);
}

describe('RecordStreamFramer', () => {
  it('frames exactly as the whole-record writer, for any payload size and any way of cutting it', () => {
    fc.assert(
      fc.property(
        fc.integer({ min: 0, max: 3 * LOG_BLOCK_SIZE + 100 }),
        fc.array(fc.nat(), { maxLength: 6 }),
        fc.boolean(),
        (size, cuts, recyclable) => {
          const payload = patternBytes(size, 31, 7);
          const streamed = framedInPieces(payload, cuts, recyclable);
          expect(Buffer.compare(streamed, frameLogRecord(payload, { recyclable, logNum: 7 }))).toBe(0);
        },
      ),
      { numRuns: 100 },
    );
  });

  it('handles the block tails where a header just fits, or does not', () => {
    // Sizes that leave 0, 1..headerSize-1, exactly headerSize bytes at a block's end.
    for (let tail = 0; tail <= RECYCLABLE_HEADER_SIZE + 1; tail++) {
      const size = LOG_BLOCK_SIZE - RECYCLABLE_HEADER_SIZE - tail + 5;
      const payload = new Uint8Array(size).fill(tail);
      const framed = framedInPieces(payload, [1, size - 1], true);
      expect(Buffer.compare(framed, frameLogRecord(payload, { recyclable: true, logNum: 7 }))).toBe(0);
      const log = readLog(framed, 7);
      expect(log.records.map((r) => r.payload.length)).toEqual([size]);
      expect(log.ending.kind).toBe('clean');
    }
  });

  it('refuses more or fewer bytes than announced', () => {
    const f = new RecordStreamFramer({ recyclable: true, logNum: 1 }, 10);
    expect(() => f.push(new Uint8Array(11))).toThrow(RangeError);
    f.push(new Uint8Array(9));
    expect(() => f.finish()).toThrow(RangeError);
  });
});

describe('batch pieces', () => {
  it('header + ops encoded one by one equal the whole batch', () => {
    const ops: BatchOp[] = [
      { kind: Kind.RangeDelete, key: Uint8Array.of(1, 1), value: Uint8Array.of(1, 2) },
      { kind: Kind.Delete, key: Uint8Array.of(2, 2, 0, 0) },
      { kind: Kind.Set, key: Uint8Array.of(3), value: new Uint8Array(300).fill(9) },
      { kind: Kind.Set, key: new Uint8Array(200), value: new Uint8Array(0) },
    ];
    const size = ops.reduce((n, op) => n + batchOpSize(op), 0);
    const body = new Uint8Array(size);
    let o = 0;
    for (const op of ops) o = encodeBatchOpInto(op, body, o);
    expect(o).toBe(size);
    expect(concat([encodeBatchHeader(2 ** 40 + 3, ops.length), body])).toEqual(encodeBatch(2 ** 40 + 3, ops));
  });
});
