import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { entryKey, MAX_U64 } from '../../src/logdb/keys.js';
import { LogDBPartition } from '../../src/logdb/leveldb-partition.js';
import { PebblePartition } from '../../src/logdb/pebble/partition.js';
import type { KvOp, PartitionStore, PutMany } from '../../src/logdb/store.js';

const dirs: string[] = [];
afterEach(() => {
  for (const d of dirs.splice(0)) fs.rmSync(d, { recursive: true, force: true });
});
function tmp(): string {
  const d = fs.mkdtempSync(path.join(os.tmpdir(), 'nht-putmany-'));
  dirs.push(d);
  return d;
}

const hex = (b: Uint8Array): string => Buffer.from(b).toString('hex');
const value = (i: number): Uint8Array => new Uint8Array(10 + (i % 300)).fill(i & 0xff);
const uvarint = (n: number): number => (n < 0x80 ? 1 : n < 0x4000 ? 2 : 3);

/** `n` entries of replica 2 from index 1, produced on demand; counts how often they were produced. */
function many(n: number, opts: { withBytes: boolean; shorterSecondTime?: boolean }): PutMany & { passes: number } {
  let bytes = 0;
  for (let i = 1; i <= n; i++) bytes += 1 + 28 + uvarint(value(i).length) + value(i).length;
  const op = {
    type: 'putMany' as const,
    count: n,
    ...(opts.withBytes ? { bytes } : {}),
    passes: 0,
    async *pairs(): AsyncGenerator<readonly (readonly [Uint8Array, Uint8Array])[]> {
      op.passes++;
      const last = opts.shorterSecondTime && op.passes > 1 ? n - 1 : n;
      // Pieces of 128 pairs, as a producer reading a file would hand them over.
      for (let from = 1; from <= last; from += 128) {
        const piece: (readonly [Uint8Array, Uint8Array])[] = [];
        for (let i = from; i < from + 128 && i <= last; i++) piece.push([entryKey(100, 2, i), value(i)]);
        yield piece;
      }
    },
  };
  return op;
}

const stores: [string, (dir: string) => PartitionStore][] = [
  ['LevelDB', (dir) => new LogDBPartition(path.join(dir, 'logdb-0'))],
  ['Pebble', (dir) => new PebblePartition({ dataDir: path.join(dir, 'logdb-0'), walDir: path.join(dir, 'logdb-0') })],
];

async function all(p: PartitionStore): Promise<Map<string, string>> {
  const out = new Map<string, string>();
  for await (const [k, v] of p.iterate({ gte: new Uint8Array(0), lte: new Uint8Array(40).fill(0xff) })) out.set(hex(k), hex(v));
  return out;
}

describe.each(stores)('putMany on %s', (_name, open) => {
  it('writes its pairs in the same atomic batch, after the operations before it', async () => {
    const dir = tmp();
    const p = open(dir);
    try {
      await p.write([
        { type: 'put', key: entryKey(100, 2, 5), value: Uint8Array.of(1) },
        { type: 'put', key: entryKey(100, 2, 9000), value: Uint8Array.of(2) },
      ]);
      const op = many(3000, { withBytes: true });
      const ops: KvOp[] = [
        { type: 'delRange', start: entryKey(100, 2, 0), end: entryKey(100, 2, MAX_U64) },
        { type: 'put', key: entryKey(100, 1, 1), value: Uint8Array.of(9) },
        op,
      ];
      await p.write(ops);
      const got = await all(p);
      expect(got.size).toBe(3001);
      for (let i = 1; i <= 3000; i++) expect(got.get(hex(entryKey(100, 2, i))), `entry ${i}`).toBe(hex(value(i)));
      expect(got.has(hex(entryKey(100, 2, 9000)))).toBe(false);
      expect(got.get(hex(entryKey(100, 1, 1)))).toBe('09');
      expect(op.passes).toBe(1);
    } finally {
      await p.close();
    }
  });
});

describe('putMany on Pebble', () => {
  it('without the size, sizes the batch in a first pass and writes the same WAL', async () => {
    const a = tmp();
    const b = tmp();
    const pa = new PebblePartition({ dataDir: path.join(a, 'logdb-0'), walDir: path.join(a, 'logdb-0') });
    const pb = new PebblePartition({ dataDir: path.join(b, 'logdb-0'), walDir: path.join(b, 'logdb-0') });
    try {
      const sized = many(2000, { withBytes: true });
      const unsized = many(2000, { withBytes: false });
      const ra = await pa.writeWithReport([sized]);
      const rb = await pb.writeWithReport([unsized]);
      expect(sized.passes).toBe(1);
      expect(unsized.passes).toBe(2);
      expect(Buffer.compare(fs.readFileSync(ra.walPath), fs.readFileSync(rb.walPath))).toBe(0);
    } finally {
      await pa.close();
      await pb.close();
    }
  });

  it('refuses a producer that yields other pairs the second time, and places no WAL', async () => {
    const dir = tmp();
    const p = new PebblePartition({ dataDir: path.join(dir, 'logdb-0'), walDir: path.join(dir, 'logdb-0') });
    try {
      await p.write([{ type: 'put', key: entryKey(100, 2, 5), value: Uint8Array.of(1) }]);
      const before = fs.readdirSync(path.join(dir, 'logdb-0')).sort();
      await expect(p.write([many(500, { withBytes: false, shorterSecondTime: true })])).rejects.toMatchObject({ code: 'ErrLogDB' });
      await expect(
        p.write([many(500, { withBytes: true, shorterSecondTime: false, ...{} }), many(10, { withBytes: false })]),
      ).resolves.toBeUndefined();
      expect(fs.readdirSync(path.join(dir, 'logdb-0')).length).toBe(before.length + 1);
    } finally {
      await p.close();
    }
  });
});
