import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { ErrDirLocked, ErrLogDB } from '../../src/errors.js';
import { LogDBPartition, databaseExists, removeLiveClonesSync } from '../../src/logdb/leveldb-partition.js';
import { holdFcntlLock, type LockHolder } from '../helpers/lock-holders.js';
import { treeSnapshot } from '../helpers/tree.js';

const k = (...b: number[]): Uint8Array => new Uint8Array(b);

let dir: string;
const holders: LockHolder[] = [];
beforeEach(() => {
  dir = fs.mkdtempSync(path.join(os.tmpdir(), 'nht-part-'));
});
afterEach(async () => {
  for (const h of holders.splice(0)) await h.release();
  fs.rmSync(dir, { recursive: true, force: true });
});

async function withPartition<T>(p: LogDBPartition, fn: (p: LogDBPartition) => Promise<T>): Promise<T> {
  try {
    return await fn(p);
  } finally {
    await p.close();
  }
}

async function fill(dbDir: string): Promise<void> {
  await withPartition(new LogDBPartition(dbDir), async (p) => {
    await p.write([
      { type: 'put', key: k(1, 1), value: k(10) },
      { type: 'put', key: k(1, 2), value: k(20) },
      { type: 'put', key: k(2, 1), value: k(30) },
    ]);
  });
}

describe('LogDBPartition', () => {
  it('reads a missing database as empty without creating anything', async () => {
    const dbDir = path.join(dir, 'logdb-3');
    await withPartition(new LogDBPartition(dbDir), async (p) => {
      expect(await p.openExisting()).toBe(false);
      expect(await p.get(k(1))).toBeUndefined();
      expect(await p.any({ gte: k(0), lte: k(255) })).toBe(false);
      expect(await p.count({ gte: k(0), lte: k(255) })).toBe(0);
      await p.clear({ gte: k(0), lte: k(255) });
    });
    expect(fs.existsSync(dbDir)).toBe(false);
    expect(fs.readdirSync(dir)).toEqual([]);
  });

  it('creates the database on the first write; one batch is atomic; iterates in key order', async () => {
    const dbDir = path.join(dir, 'logdb-0');
    await fill(dbDir);
    expect(await databaseExists(dbDir)).toBe(true);
    await withPartition(new LogDBPartition(dbDir), async (p) => {
      const all: string[] = [];
      for await (const [key, v] of p.iterate({ gte: k(1), lt: k(3) })) all.push(`${key.join('.')}=${v[0]}`);
      expect(all).toEqual(['1.1=10', '1.2=20', '2.1=30']);
      expect((await p.first({ gte: k(1), lte: k(1, 255) }, true))![0]).toEqual(k(1, 2));
      await p.write([
        { type: 'del', key: k(1, 1) },
        { type: 'put', key: k(1, 1), value: k(11) }, // later op on the same key wins
      ]);
      expect(await p.get(k(1, 1))).toEqual(k(11));
      await p.clear({ gte: k(1), lt: k(2) });
      await p.compactRange(k(1), k(2));
      expect(await p.count({ gte: k(0), lte: k(255) })).toBe(1);
    });
  });

  it('read-only: inspects a clone, leaves every byte of the original unchanged, refuses writes, cleans up', async () => {
    const dbDir = path.join(dir, 'logdb-1');
    await fill(dbDir);
    const scratch = path.join(dir, 'scratch');
    fs.mkdirSync(scratch);
    const before = await treeSnapshot(dbDir);
    await withPartition(new LogDBPartition(dbDir, { readOnly: true, scratchDir: scratch }), async (p) => {
      expect(await p.get(k(2, 1))).toEqual(k(30));
      expect(fs.readdirSync(scratch).length).toBe(1);
      await expect(p.write([{ type: 'del', key: k(2, 1) }])).rejects.toBeInstanceOf(ErrLogDB);
      await expect(p.clear({ gte: k(0), lte: k(9) })).rejects.toBeInstanceOf(ErrLogDB);
    });
    expect(await treeSnapshot(dbDir)).toEqual(before);
    expect(fs.readdirSync(scratch)).toEqual([]);
  });

  it('a clone is registered for removal before it exists: a signal handler running at any moment leaves nothing', async () => {
    // The CLI's SIGINT handler removes the registered clones and exits at once. It can run between
    // any two callbacks, so a directory that exists on disk before it is registered would be left
    // behind by an interrupted inspect. The poller plays that handler on every turn of the loop
    // while ten read-only opens clone the partition.
    const dbDir = path.join(dir, 'logdb-5');
    await fill(dbDir);
    const scratch = path.join(dir, 'scratch');
    fs.mkdirSync(scratch);
    for (let round = 0; round < 10; round++) {
      let stop = false;
      const orphans: string[] = [];
      const poll = (): void => {
        const until = performance.now() + 1;
        while (!stop && performance.now() < until) {
          if (fs.readdirSync(scratch).length === 0) continue;
          removeLiveClonesSync();
          orphans.push(...fs.readdirSync(scratch));
          stop = true;
        }
        if (!stop) setImmediate(poll);
      };
      setImmediate(poll);
      const p = new LogDBPartition(dbDir, { readOnly: true, scratchDir: scratch });
      await p.openExisting().catch(() => undefined);
      await p.close();
      stop = true;
      expect(orphans).toEqual([]);
      fs.rmSync(scratch, { recursive: true, force: true });
      fs.mkdirSync(scratch);
    }
  });

  it('by contrast, a plain open of an existing database does rewrite its files', async () => {
    // Documents why read-only inspection needs the clone.
    const dbDir = path.join(dir, 'logdb-2');
    await fill(dbDir);
    const before = await treeSnapshot(dbDir);
    await withPartition(new LogDBPartition(dbDir), async (p) => {
      await p.get(k(1, 1));
    });
    expect(await treeSnapshot(dbDir)).not.toEqual(before);
  });

  it('refuses with ErrDirLocked (holder pid, LOCK path) when another process holds the LOCK, before LevelDB runs', async () => {
    const dbDir = path.join(dir, 'logdb-4');
    await fill(dbDir);
    const lock = path.join(dbDir, 'LOCK');
    const child = await holdFcntlLock(lock);
    holders.push(child);
    const before = await treeSnapshot(dbDir);
    for (const readOnly of [false, true]) {
      const p = new LogDBPartition(dbDir, { readOnly });
      const err = await p.get(k(1, 1)).catch((e: unknown) => e);
      await p.close();
      expect(err).toBeInstanceOf(ErrDirLocked);
      expect((err as ErrDirLocked).details).toMatchObject({ path: lock, pid: child.pid });
      expect((err as Error).message).toContain('stop the NodeHost');
    }
    expect(await treeSnapshot(dbDir)).toEqual(before); // LOG not rotated
  });

  it("refuses a second writable open in this process without dropping the first one's lock", async () => {
    const dbDir = path.join(dir, 'logdb-5');
    await fill(dbDir);
    const a = new LogDBPartition(dbDir);
    const b = new LogDBPartition(dbDir);
    try {
      await a.openExisting();
      const err = await b.openExisting().catch((e: unknown) => e);
      expect(err).toBeInstanceOf(ErrDirLocked);
      // LevelDB's own lock is still held: /proc/locks lists this process.
      const locks = fs.readFileSync('/proc/locks', 'utf8');
      expect(locks).toContain(` ${process.pid} `);
      // A read-only clone is still possible alongside.
      await withPartition(new LogDBPartition(dbDir, { readOnly: true }), async (ro) => {
        expect(await ro.get(k(1, 2))).toEqual(k(20));
      });
    } finally {
      await a.close();
      await b.close();
    }
    await withPartition(new LogDBPartition(dbDir), async (p) => expect(await p.get(k(1, 2))).toEqual(k(20)));
  });

  it('maps a corrupt database to ErrLogDB', async () => {
    const dbDir = path.join(dir, 'logdb-6');
    await fill(dbDir);
    fs.writeFileSync(path.join(dbDir, 'CURRENT'), 'MANIFEST-999999\n');
    const p = new LogDBPartition(dbDir);
    const err = await p.get(k(1)).catch((e: unknown) => e);
    await p.close();
    expect(err).toBeInstanceOf(ErrLogDB);
    expect((err as ErrLogDB).details.path).toBe(dbDir);
  });

  it('refuses use after close', async () => {
    const p = new LogDBPartition(path.join(dir, 'x'));
    await p.close();
    await expect(p.get(k(1))).rejects.toBeInstanceOf(ErrLogDB);
  });
});
