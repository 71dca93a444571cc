/**
 * The addon's log suffix kernel (native/src/suffix_frames.cc through
 * src/logdb/native-suffix.ts) held to the portable code on real file bytes:
 * the same terms, frame CRCs, neutralised entries and value bytes as the
 * JavaScript reader and import find; the same puts, byte for byte, as
 * `encodePut` of the carried values; every piece boundary resumed; and never
 * a frame taken that the JavaScript reader would refuse.
 */
import { createHash, randomBytes } from 'node:crypto';
import { describe, expect, it } from 'vitest';
import { encodePut, putSize, suffixFrameKernel, SuffixStop, type SuffixCursor } from '../../src/logdb/native-suffix.js';
import { emptyEntry } from '../../src/ops/import-log.js';
import { encodeEntry } from '../../src/records/codec.js';
import {
  encodeEndFrame,
  encodeEntryFrame,
  encodeHeaderFrame,
  LOG_SUFFIX_MAGIC,
  type LogSuffixEntry,
  type LogSuffixHeader,
} from '../../src/records/log-suffix.js';
import { EntryType, type Entry } from '../../src/records/types.js';
import { crc32c } from '../../src/pebble/crc32c.js';
import { suffixHeader } from '../helpers/log-suffix.js';

const kernel = suffixFrameKernel();
const PREFIX = Uint8Array.from({ length: 20 }, (_, i) => 0x10 + i);

function entry(index: bigint, term: bigint, over: Partial<Entry> = {}): Entry {
  return {
    term,
    index,
    type: EntryType.Application,
    key: 7n,
    clientId: 9n,
    seriesId: 11n,
    respondedTo: 10n,
    cmd: new TextEncoder().encode(`cmd ${index}`),
    ...over,
  };
}

/** Entries `first..first+n-1`: terms rising, a membership change every 7th, some large ones. */
function makeEntries(first: bigint, n: number): { entries: Entry[]; suffix: LogSuffixEntry[] } {
  const entries: Entry[] = [];
  for (let i = 0; i < n; i++) {
    const index = first + BigInt(i);
    const term = 3n + BigInt(Math.floor(i / 5));
    if (i % 7 === 3) entries.push(entry(index, term, { type: EntryType.ConfigChange, cmd: Uint8Array.of(1, 2, 3) }));
    else if (i % 11 === 5) entries.push(entry(index, term, { cmd: new Uint8Array(300).fill(i) }));
    else entries.push(entry(index, term));
  }
  return { entries, suffix: entries.map((e) => ({ index: e.index, term: e.term, value: encodeEntry(e) })) };
}

function header(first: bigint, last: bigint): LogSuffixHeader {
  return suffixHeader(first, last);
}

/** The entry frames alone (what the kernel is handed), and where each starts. */
function framesOf(suffix: LogSuffixEntry[]): { bytes: Uint8Array; starts: number[] } {
  const frames = suffix.map(encodeEntryFrame);
  const starts: number[] = [];
  let at = 0;
  for (const f of frames) {
    starts.push(at);
    at += f.length;
  }
  return { bytes: Buffer.concat(frames), starts };
}

/** What the portable import carries for an entry: its bytes, or the empty entry of its index and term. */
function carried(e: Entry): Uint8Array {
  return e.type === EntryType.ConfigChange ? encodeEntry(emptyEntry(e.index, e.term)) : encodeEntry(e);
}

function cursor(first: bigint, last: bigint): SuffixCursor {
  return { next: first, lastTerm: 3n, lastIndex: last, count: 0 };
}

/** Runs the validating kernel over `bytes` in pieces of at most `piece` bytes, resuming as a reader does. */
function validateInPieces(bytes: Uint8Array, first: bigint, last: bigint, piece: number) {
  const n = Number(last - first + 1n);
  const crcs = new Uint32Array(n);
  const changes = new Uint8Array(n);
  const terms = new BigUint64Array(n);
  const c = cursor(first, last);
  let at = 0;
  let end = Math.min(piece, bytes.length);
  let valueBytes = 0;
  const neutralized: bigint[] = [];
  for (;;) {
    const r = kernel!.validate(bytes.subarray(at, end), c, crcs, changes, terms);
    at += r.consumed;
    valueBytes += r.valueBytes;
    if (r.neutralized) neutralized.push(...r.neutralized);
    if (r.stop !== SuffixStop.More || end === bytes.length) return { stop: r.stop, at, c, crcs, changes, terms, valueBytes, neutralized };
    end = Math.min(bytes.length, Math.max(end, at) + piece);
  }
}

describe.skipIf(!kernel)('log suffix kernel', () => {
  const first = 1001n;
  const { entries, suffix } = makeEntries(first, 60);
  const last = first + 59n;
  const { bytes, starts } = framesOf(suffix);

  it('validating: the terms, frame CRCs, value bytes and membership changes the portable code finds, at every piece size', () => {
    const crcsWant = suffix.map((_, i) => new DataView(bytes.buffer, bytes.byteOffset + starts[i]! + 4, 4).getUint32(0, true));
    const valueBytesWant = entries.reduce((s, e) => s + putSize(0, carried(e).length) - 2, 0);
    const nzWant = entries.filter((e) => e.type === EntryType.ConfigChange).flatMap((e) => [e.index, e.term]);
    for (const piece of [9, 10, 25, 64, 100, 333, 1000, bytes.length]) {
      const r = validateInPieces(bytes, first, last, piece);
      expect(r.stop, `piece ${piece}`).toBe(SuffixStop.More);
      expect(r.at).toBe(bytes.length);
      expect(r.c).toEqual({ next: last + 1n, lastTerm: entries.at(-1)!.term, lastIndex: last, count: 60 });
      expect([...r.crcs]).toEqual(crcsWant);
      expect([...r.terms]).toEqual(entries.map((e) => e.term));
      expect([...r.changes]).toEqual(entries.map((e) => (e.type === EntryType.ConfigChange ? 1 : 0)));
      expect(r.valueBytes).toBe(valueBytesWant);
      expect(r.neutralized).toEqual(nzWant);
    }
  });

  it('writing: the puts encodePut makes of the carried values, byte for byte, resumed when the output is full', () => {
    const v = validateInPieces(bytes, first, last, bytes.length);
    const want: number[] = [];
    for (const e of entries) {
      const value = carried(e);
      const buf = new Uint8Array(putSize(PREFIX.length + 8, value.length));
      encodePut(buf, 0, PREFIX, e.index, value);
      want.push(...buf);
    }
    for (const outSize of [600, 4096, 1 << 16]) {
      const c = cursor(first, last);
      const got: number[] = [];
      let at = 0;
      for (;;) {
        const out = new Uint8Array(outSize);
        const r = kernel!.write(bytes.subarray(at), c, v.crcs, v.changes, out, PREFIX);
        got.push(...out.subarray(0, r.outBytes));
        at += r.consumed;
        if (r.stop === SuffixStop.Full) continue;
        expect(r.stop).toBe(SuffixStop.More);
        break;
      }
      expect(c.count).toBe(60);
      expect(Buffer.from(got).equals(Buffer.from(want)), `out ${outSize}`).toBe(true);
    }
  });

  it('writing: stops before a frame whose CRC is not the one the first pass recorded', () => {
    const v = validateInPieces(bytes, first, last, bytes.length);
    v.crcs[17] = v.crcs[17]! ^ 1;
    const c = cursor(first, last);
    const r = kernel!.write(bytes, c, v.crcs, v.changes, new Uint8Array(1 << 16), PREFIX);
    expect(r.stop).toBe(SuffixStop.Frame);
    expect(r.consumed).toBe(starts[17]);
    expect(c.count).toBe(17);
  });

  it('validating: stops at a full ledger, and resumes where it stopped', () => {
    const crcs = new Uint32Array(10);
    const terms = new BigUint64Array(10);
    const c = cursor(first, last);
    const r = kernel!.validate(bytes, c, crcs, new Uint8Array(10), terms);
    expect(r.stop).toBe(SuffixStop.Full);
    expect(r.consumed).toBe(starts[10]);
    expect(c).toMatchObject({ next: first + 10n, count: 10 });
  });

  it('never takes a frame the reader refuses: every single-byte flip stops it at or before the flipped frame', () => {
    const n = suffix.length;
    const crcs = new Uint32Array(n);
    const terms = new BigUint64Array(n);
    for (let i = 0; i < bytes.length; i++) {
      const bad = bytes.slice();
      bad[i] = bad[i]! ^ 0x20;
      let frame = 0;
      while (frame + 1 < starts.length && starts[frame + 1]! <= i) frame++;
      const r = kernel!.validate(bad, cursor(first, last), crcs, new Uint8Array(n), terms);
      expect(r.consumed, `flip at ${i}`).toBeLessThanOrEqual(starts[frame]!);
    }
  });

  it('the rules past the CRC: another kind, a short payload, a gap, a term going back, past the last index, an entry that is not its frame', () => {
    const good = suffix.slice(0, 3);
    const third = starts[2]!;
    const cases: [string, LogSuffixEntry[], { last?: bigint; kind?: number }?][] = [
      ['gap', [good[0]!, good[1]!, { ...good[2]!, index: good[2]!.index + 1n }]],
      ['term back', [good[0]!, good[1]!, { ...good[2]!, term: 1n }]],
      ['entry holds another index', [good[0]!, good[1]!, { ...good[2]!, value: encodeEntry(entry(first + 9n, good[2]!.term)) }]],
      ['entry holds another term', [good[0]!, good[1]!, { ...good[2]!, value: encodeEntry(entry(first + 2n, 99n)) }]],
      ['not an entry', [good[0]!, good[1]!, { ...good[2]!, value: Uint8Array.of(1, 2, 3) }]],
      ['trailing bytes after the entry', [good[0]!, good[1]!, { ...good[2]!, value: Buffer.concat([good[2]!.value, Uint8Array.of(0)]) }]],
      ['past the last index', good, { last: first + 1n }],
    ];
    for (const [what, es, opt] of cases) {
      const { bytes: b } = framesOf(es);
      const r = kernel!.validate(b, cursor(first, opt?.last ?? last), new Uint32Array(8), new Uint8Array(8), new BigUint64Array(8));
      expect(r.stop, what).toBe(SuffixStop.Frame);
      expect(r.consumed, what).toBe(third);
    }
    // A header or end frame (another kind) and an entry frame shorter than its index and term.
    for (const frame of [encodeHeaderFrame(header(first, last)), encodeEndFrame({ entryCount: 1n, lastIndex: first, lastTerm: 3n })]) {
      const r = kernel!.validate(frame, cursor(first, last), new Uint32Array(8), new Uint8Array(8), new BigUint64Array(8));
      expect(r).toMatchObject({ stop: SuffixStop.Frame, consumed: 0 });
    }
    const short = new Uint8Array(9 + 8);
    const dv = new DataView(short.buffer);
    dv.setUint32(0, 8, true);
    short[8] = 2;
    dv.setUint32(4, crc32c(short, 8), true);
    expect(kernel!.validate(short, cursor(first, last), new Uint32Array(8), new Uint8Array(8), new BigUint64Array(8))).toMatchObject({
      stop: SuffixStop.Frame,
      consumed: 0,
    });
    // A length no valid file has is left to the reader, which refuses it before reading it.
    const huge = Uint8Array.of(0xff, 0xff, 0xff, 0xff, 0, 0, 0, 0, 2);
    expect(kernel!.validate(huge, cursor(first, last), new Uint32Array(8), new Uint8Array(8), new BigUint64Array(8))).toMatchObject({
      stop: SuffixStop.Frame,
      consumed: 0,
    });
    expect(LOG_SUFFIX_MAGIC.length).toBe(8);
  });

  it("a membership change at an index and term of 2^49 and above becomes Colfer's empty entry, as encodeEntry writes it", () => {
    for (const [index, term] of [
      [2n ** 49n, 3n],
      [2n ** 63n + 5n, 2n ** 50n],
      [300n, 2n ** 64n - 1n],
    ] as const) {
      const e = entry(index, term, { type: EntryType.ConfigChange });
      const { bytes: b } = framesOf([{ index, term, value: encodeEntry(e) }]);
      const c: SuffixCursor = { next: index, lastTerm: 0n, lastIndex: index, count: 0 };
      const crcs = new Uint32Array(1);
      const changes = new Uint8Array(1);
      kernel!.validate(b, { ...c }, crcs, changes, new BigUint64Array(1));
      expect(changes[0]).toBe(1);
      const out = new Uint8Array(256);
      const r = kernel!.write(b, c, crcs, changes, out, PREFIX);
      const value = encodeEntry(emptyEntry(index, term));
      const want = new Uint8Array(putSize(PREFIX.length + 8, value.length));
      encodePut(want, 0, PREFIX, index, value);
      expect(Buffer.from(out.subarray(0, r.outBytes)).toString('hex')).toBe(Buffer.from(want).toString('hex'));
      expect(r.neutralized).toEqual(BigUint64Array.of(index, term));
    }
  });

  it("SHA-256 on the thread pool: node:crypto's digest over the same pieces; one update at a time; one digest", async () => {
    const data = randomBytes(3 << 20);
    const sha = kernel!.sha256();
    for (const [a, b] of [
      [0, 1],
      [1, 4096],
      [4096, 1 << 20],
      [1 << 20, data.length],
    ] as const)
      await sha.update(data.subarray(a, b));
    await sha.update(new Uint8Array(0));
    expect(sha.digest()).toBe(createHash('sha256').update(data).digest('hex'));
    expect(() => sha.digest()).toThrow(/already taken/);
    const busy = kernel!.sha256();
    const first = busy.update(data);
    expect(() => busy.update(data)).toThrow(/already running/);
    expect(() => busy.digest()).toThrow(/still running/);
    await first;
    expect(busy.digest()).toBe(createHash('sha256').update(data).digest('hex'));
  });
});
