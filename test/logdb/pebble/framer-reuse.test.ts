/**
 * The streaming WAL framer reuses the blocks its chunks are carved from once
 * the writer says they are written (`mark`/`release`, src/pebble/record.ts),
 * as `placeWal` does with one write in flight: chunks handed out after a
 * mark must survive that mark's release untouched, and the whole stream must
 * still be exactly the whole-record framing.
 */
import { describe, expect, it } from 'vitest';
import { frameLogRecord, RecordStreamFramer } from '../../../src/pebble/record.js';
import { patternBytes } from '../../helpers/payload.js';

describe('RecordStreamFramer block reuse', () => {
  for (const piece of [1000, 300_000, 1 << 20, 3 << 20]) {
    it(`pieces of ${piece} bytes, one batch in flight: every chunk intact until its own release, the stream byte-exact`, () => {
      const payload = patternBytes(9 << 20, piece);
      const f = new RecordStreamFramer({ recyclable: true, logNum: 3 }, payload.length);
      const written: Uint8Array[] = [];
      // The batch "in flight": its chunks are held as views, checked when its write completes.
      let inflight: { chunks: Uint8Array[]; copies: Uint8Array[]; mark: number } | undefined;
      const complete = () => {
        if (!inflight) return;
        inflight.chunks.forEach((c, i) => {
          expect(Buffer.from(c).equals(Buffer.from(inflight!.copies[i]!))).toBe(true);
        });
        written.push(...inflight.copies);
        f.release(inflight.mark);
        inflight = undefined;
      };
      const submit = (chunks: Uint8Array[]) => {
        complete();
        inflight = { chunks, copies: chunks.map((c) => c.slice()), mark: f.mark() };
      };
      for (let at = 0; at < payload.length; at += piece) submit(f.push(payload.subarray(at, Math.min(payload.length, at + piece))));
      submit(f.finish());
      complete();
      expect(Buffer.concat(written).equals(Buffer.from(frameLogRecord(payload, { recyclable: true, logNum: 3 })))).toBe(true);
    });
  }

  it('without a release nothing is reused: every chunk handed out stays as it was', () => {
    const payload = patternBytes(5 << 20, 7);
    const f = new RecordStreamFramer({ recyclable: false }, payload.length);
    const chunks: Uint8Array[] = [];
    for (let at = 0; at < payload.length; at += 1 << 19) chunks.push(...f.push(payload.subarray(at, at + (1 << 19))));
    chunks.push(...f.finish());
    expect(Buffer.concat(chunks).equals(Buffer.from(frameLogRecord(payload, { recyclable: false })))).toBe(true);
  });
});
