/**
 * Every single-byte corruption (xor 0xff) of the files a read depends on:
 * the read either fails with ErrCorruptLogStore / ErrUnsupportedLogStore
 * naming the flipped file, or returns exactly what Pebble's rules give for the
 * damaged bytes; and the partition is byte-identical afterwards.
 */
import * as fsp from 'node:fs/promises';
import * as path from 'node:path';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ErrCorruptLogStore, ErrUnsupportedLogStore } from '../../../src/errors.js';
import { PebblePartition } from '../../../src/logdb/pebble/partition.js';
import { entryKey, raftStateKey } from '../../../src/logdb/keys.js';
import { readLog } from '../../../src/pebble/record.js';
import { treeSnapshot } from '../../helpers/tree.js';
import { copyPartition, hex, scratch } from './fixture.js';

const tmp = scratch();

type Outcome = { records: string } | { error: unknown };

async function readAll(dir: string): Promise<Outcome> {
  const p = new PebblePartition({ dataDir: dir, walDir: dir }, { readOnly: true });
  try {
    const parts: string[] = [];
    for await (const [k, v] of p.iterate({ gte: new Uint8Array(0) })) parts.push(`${hex(k)}=${hex(v)}`);
    return { records: parts.join('\n') };
  } catch (error) {
    return { error };
  } finally {
    await p.close();
  }
}

function expectNamedFailure(error: unknown, file: string, offset: number): void {
  const ok = error instanceof ErrCorruptLogStore || error instanceof ErrUnsupportedLogStore;
  expect(ok, `offset ${offset}: ${String(error)}`).toBe(true);
  expect((error as ErrCorruptLogStore).details.path, `offset ${offset}: ${String(error)}`).toBe(file);
}

/**
 * Flips each byte of `offsets` in `file` in turn, reads the partition and
 * judges the outcome with `judge`; restores the byte after each read.
 */
async function flipEach(
  dir: string,
  file: string,
  offsets: Iterable<number>,
  judge: (offset: number, outcome: Outcome) => Promise<void> | void,
): Promise<number> {
  const original = new Uint8Array(await fsp.readFile(file));
  const fh = await fsp.open(file, 'r+');
  let n = 0;
  try {
    for (const o of offsets) {
      await fh.write(Uint8Array.of(original[o]! ^ 0xff), 0, 1, o);
      const outcome = await readAll(dir);
      await fh.write(original, o, 1, o);
      await judge(o, outcome);
      n++;
    }
  } finally {
    await fh.close();
  }
  return n;
}

function range(a: number, b: number): number[] {
  return Array.from({ length: Math.max(0, b - a) }, (_, i) => a + i);
}

/** A dense sample of a large WAL: every header byte of every 8th record, every byte near block edges and the ends, a stride elsewhere. */
function walSample(bytes: Uint8Array, logNum: number): number[] {
  const set = new Set<number>();
  const log = readLog(bytes, logNum);
  log.records.forEach((r, i) => {
    if (i % 8 === 0 || i >= log.records.length - 3) for (let o = r.offset; o < Math.min(r.offset + 12, r.end); o++) set.add(o);
  });
  for (const o of range(0, 1024)) set.add(o);
  for (const o of range(bytes.length - 600, bytes.length)) set.add(o);
  for (let b = 32768; b < bytes.length; b += 32768) for (const o of range(b - 48, b + 48)) set.add(o);
  for (let o = 0; o < bytes.length; o += 61) set.add(o);
  return [...set].filter((o) => o >= 0 && o < bytes.length).sort((a, b) => a - b);
}

describe('single-byte corruption of nh1 logdb-4', () => {
  let dir: string;
  let baseline: string;
  let before: Record<string, string>;
  let root: string;
  beforeAll(async () => {
    // One copy for the whole block (scratch() dirs go after each test).
    root = mkdtempSync(path.join(tmpdir(), 'nht-pebble-flip-'));
    dir = await copyPartition('nh1', 4, root);
    const out = await readAll(dir);
    if (!('records' in out)) throw out.error;
    baseline = out.records;
    before = await treeSnapshot(dir);
  });
  afterAll(() => rmSync(root, { recursive: true, force: true }));

  // The store-level files: every byte either fails the read, naming the file, or changes nothing Pebble reads.
  for (const name of ['MANIFEST-000008', 'CURRENT', '000006.sst', '000011.sst', 'OPTIONS-000009']) {
    it(`${name}: every byte`, async () => {
      const file = path.join(dir, name);
      const size = (await fsp.stat(file)).size;
      let failed = 0;
      await flipEach(dir, file, range(0, size), (o, outcome) => {
        if ('error' in outcome) {
          expectNamedFailure(outcome.error, file, o);
          failed++;
        } else {
          expect(outcome.records === baseline, `offset ${o}: read succeeded with other records`).toBe(true);
        }
      });
      // Checksums cover every byte of the MANIFEST and the tables but a footer's padding; a chunk
      // length grown past the end of the MANIFEST reads as a crash-cut tail, as in Pebble (here two
      // such flips drop edits whose content the remaining WALs still hold).
      if (name === 'CURRENT') expect(failed).toBe(size);
      if (name === 'MANIFEST-000008') expect(failed).toBeGreaterThanOrEqual(size - 4);
      if (name.endsWith('.sst')) expect(failed).toBeGreaterThan(size - 40);
      expect(await treeSnapshot(dir)).toEqual(before);
    }, 120_000);
  }

  it("000010.log as the newest WAL: a flip ends the replay at the damaged record, as Pebble's tolerant replay does", async () => {
    const file = path.join(dir, '000010.log');
    const bytes = new Uint8Array(await fsp.readFile(file));
    const records = readLog(bytes, 10).records;
    const cutViews = new Map<number, string>();
    // What Pebble reads when the WAL stops before record k: the WAL truncated at its start.
    const cutView = async (k: number): Promise<string> => {
      let v = cutViews.get(k);
      if (v === undefined) {
        const cut = k < records.length ? records[k]!.offset : bytes.length;
        await fsp.writeFile(file, bytes.subarray(0, cut));
        const out = await readAll(dir);
        await fsp.writeFile(file, bytes);
        if (!('records' in out)) throw out.error;
        v = out.records;
        cutViews.set(k, v);
      }
      return v;
    };
    const n = await flipEach(dir, file, walSample(bytes, 10), async (o, outcome) => {
      if ('error' in outcome) throw new Error(`offset ${o}: ${String(outcome.error)}`);
      if (outcome.records === baseline) return;
      // The first record whose bytes (or the padding before it) hold the flip.
      const k = records.findIndex((r) => o < r.end);
      expect(outcome.records === (await cutView(k)), `offset ${o}: not the view cut before record ${k}`).toBe(true);
    });
    expect(n).toBeGreaterThan(2000);
    expect(await treeSnapshot(dir)).toEqual(before);
  }, 300_000);
});

describe('single-byte corruption of a WAL that is no longer the newest', () => {
  it("000010.log after a drop-in: a flip fails the read naming it, or ends it where Pebble's strict replay accepts the end", async () => {
    const dir = await copyPartition('nh1', 4, tmp.make());
    const p = new PebblePartition({ dataDir: dir, walDir: dir });
    await p.write([{ type: 'put', key: raftStateKey(100, 1), value: Uint8Array.of(7) }]);
    await p.close();
    const out = await readAll(dir);
    if (!('records' in out)) throw out.error;
    const baseline = out.records;
    const before = await treeSnapshot(dir);
    const file = path.join(dir, '000010.log');
    const bytes = new Uint8Array(await fsp.readFile(file));
    const records = readLog(bytes, 10).records;
    let failed = 0;
    let accepted = 0;
    await flipEach(dir, file, walSample(bytes, 10), async (o, outcome) => {
      if ('error' in outcome) {
        expectNamedFailure(outcome.error, file, o);
        failed++;
        return;
      }
      if (outcome.records === baseline) return;
      // Only a flip of a record-start chunk's log number ends a log cleanly (as a reused file's stale data does).
      const k = records.findIndex((r) => o < r.end);
      const start = records[k]!.offset;
      expect(o >= start + 7 && o < start + 11, `offset ${o}: read succeeded with other records`).toBe(true);
      accepted++;
    });
    expect(failed).toBeGreaterThan(1500);
    expect(accepted).toBeGreaterThan(0);
    expect(await treeSnapshot(dir)).toEqual(before);
    // Sanity: the flip-free store still holds the write on top.
    const q = new PebblePartition({ dataDir: dir, walDir: dir }, { readOnly: true });
    expect(hex((await q.get(raftStateKey(100, 1)))!)).toBe('07');
    expect(await q.get(entryKey(100, 1, 300))).toBeDefined();
    await q.close();
  }, 300_000);
});
