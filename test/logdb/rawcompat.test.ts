/**
 * The log store's bytes, checked from outside: keys our LogDB writes are read
 * back raw through a plain classic-level client, and a store written raw by
 * such a client (as Dragonboat would lay it out) is read back by our LogDB.
 */
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { ClassicLevel } from 'classic-level';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { LogDB } from '../../src/logdb/logdb.js';
import { resolveNodeHostConfig, type ResolvedNodeHostConfig } from '../../src/nodehost/config.js';
import { logdbPartitionDir } from '../../src/nodehost/paths.js';
import { StateMachineType } from '../../src/records/types.js';
import { makeEntries } from '../helpers/nodehost.js';

const hexBuf = (h: string): Buffer => Buffer.from(h.replace(/\s+/g, ''), 'hex');
const u64 = (v: bigint): string => v.toString(16).padStart(16, '0');

let root: string;
let cfg: ResolvedNodeHostConfig;
beforeEach(() => {
  root = fs.mkdtempSync(path.join(os.tmpdir(), 'nht-raw-'));
  cfg = resolveNodeHostConfig({ nodeHostDir: path.join(root, 'nh'), raftAddress: 'a:1', hostname: 'h', logdbType: 'sharded-leveldb' });
});
afterEach(() => {
  fs.rmSync(root, { recursive: true, force: true });
});

async function rawEntries(dir: string): Promise<[string, string][]> {
  const db = new ClassicLevel<Buffer, Buffer>(dir, { keyEncoding: 'buffer', valueEncoding: 'buffer' });
  await db.open({ createIfMissing: false });
  const out: [string, string][] = [];
  for await (const [k, v] of db.iterator()) out.push([k.toString('hex'), v.toString('hex')]);
  await db.close();
  return out;
}

describe('LogDB bytes seen by a plain classic-level client', () => {
  it('writes exactly the docs/formats.md §5 keys and values', async () => {
    const shard = 100n;
    const rep = 2n;
    const db = await LogDB.open(cfg);
    try {
      await db.saveBootstrap(shard, rep, { addresses: new Map([[1n, 'a']]), join: true, type: StateMachineType.OnDisk });
      await db.saveRaftState([{ shardId: shard, replicaId: rep, state: { term: 5n, vote: 2n, commit: 3n }, entries: makeEntries(1n, 3n) }]);
    } finally {
      await db.close();
    }
    const SR = u64(shard) + u64(rep);
    const raw = await rawEntries(logdbPartitionDir(cfg, shard));
    expect(raw.map(([k]) => k)).toEqual([
      '01010000' + SR + u64(1n),
      '01010000' + SR + u64(2n),
      '01010000' + SR + u64(3n),
      '02020000' + SR,
      '03030000' + SR,
      '06060000' + SR,
    ]);
    const val = Object.fromEntries(raw);
    expect(val['02020000' + SR]).toBe('080510021803'); // State{term 5, vote 2, commit 3}
    expect(val['03030000' + SR]).toBe(u64(3n)); // max index, 8 bytes big-endian
    // Bootstrap{addresses {1: "a"}, join true, type OnDisk}
    expect(val['06060000' + SR]).toBe('0a050801120161' + '1001' + '1803');
    // Entry 1: term 3, index 1, type 0, key 10, client 77, series 1, responded 0, cmd "cmd-1", in Colfer
    // (docs/formats.md §1): a header byte per non-zero field, varints, the command, then 0x7f.
    expect(val['01010000' + SR + u64(1n)]).toBe(
      '0003' + '0101' + '030a' + '044d' + '0501' + '0705' + Buffer.from('cmd-1').toString('hex') + '7f',
    );
  });
});

describe('a store written raw by a plain classic-level client', () => {
  it('reads back through LogDB, entry values treated as opaque', async () => {
    const shard = 7n;
    const rep = 3n;
    const SR = u64(shard) + u64(rep);
    const dir = logdbPartitionDir(cfg, shard);
    const raw = new ClassicLevel<Buffer, Buffer>(dir, { keyEncoding: 'buffer', valueEncoding: 'buffer' });
    await raw.open();
    const ops: { type: 'put'; key: Buffer; value: Buffer }[] = [
      // Bootstrap {addresses {1: "a"}, join true, type Regular}
      { type: 'put', key: hexBuf('06060000' + SR), value: hexBuf('0a050801120161 1001 1801') },
      // State {term 5, vote 2, commit 9}
      { type: 'put', key: hexBuf('02020000' + SR), value: hexBuf('080510021809') },
      // Snapshot {index 4, term 2, shard_id 7, type Regular}: the minimal encoding
      { type: 'put', key: hexBuf('05050000' + SR + u64(4n)), value: hexBuf('2004 2802 5007 5801') },
      { type: 'put', key: hexBuf('03030000' + SR), value: hexBuf(u64(9n)) },
      // Dragonboat v4's own entry encoding is not protobuf: opaque bytes here.
      ...[4n, 5n, 6n, 7n, 8n, 9n].map((i) => ({
        type: 'put' as const,
        key: hexBuf('01010000' + SR + u64(i)),
        value: Buffer.from([0xff, 0xfe, Number(i)]),
      })),
      // another node in the same partition
      { type: 'put', key: hexBuf('06060000' + u64(shard) + u64(9n)), value: hexBuf('1000') },
    ];
    await raw.batch(ops);
    await raw.close();

    const db = await LogDB.open(cfg, { readOnly: true });
    try {
      expect(await db.getBootstrap(shard, rep)).toEqual({
        addresses: new Map([[1n, 'a']]),
        join: true,
        type: StateMachineType.Regular,
      });
      const ss = await db.getSnapshot(shard, rep);
      expect(ss).toMatchObject({ index: 4n, term: 2n, shardId: 7n, type: StateMachineType.Regular });
      expect(await db.readRaftState(shard, rep, 4n)).toEqual({
        state: { term: 5n, vote: 2n, commit: 9n },
        firstIndex: 4n,
        entryCount: 6n,
      });
      const read = await db.iterateEntries(shard, rep, 5n, 100n);
      expect(read.entries.map((e) => e.index)).toEqual([5n, 6n, 7n, 8n, 9n]);
      expect(read.entries[0]!.value).toEqual(new Uint8Array([0xff, 0xfe, 5]));
      expect(read.entries[0]!.entry).toBeUndefined();
      expect(read.size).toBe(15n);
      expect(await db.listNodeInfo()).toEqual([
        { shardId: 7n, replicaId: 3n },
        { shardId: 7n, replicaId: 9n },
      ]);
      expect(await db.binaryFormat()).toBe(100);
    } finally {
      await db.close();
    }
  });
});
