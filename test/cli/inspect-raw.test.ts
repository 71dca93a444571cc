/**
 * A log store written by a plain LevelDB client, byte by byte as docs/formats.md
 * §5 lays it out (hand-encoded protobuf values, opaque entry values as
 * Dragonboat v4 stores them), reads back correctly through `inspect`.
 */
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { ClassicLevel } from 'classic-level';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { resolveNodeHostConfig } from '../../src/nodehost/config.js';
import { logdbPartitionDir } from '../../src/nodehost/paths.js';
import { lastJson, runCli } from './run.js';

const hex = (h: string): Buffer => Buffer.from(h.replace(/\s+/g, ''), 'hex');
const u64 = (v: bigint): string => v.toString(16).padStart(16, '0');
/** A key: 2-byte header, 2 zero bytes, shard, replica (big-endian), optional suffix. */
const key = (hdr: string, s: bigint, r: bigint, suffix?: bigint): Buffer =>
  hex(`${hdr} 0000 ${u64(s)} ${u64(r)}${suffix === undefined ? '' : u64(suffix)}`);

let root: string;
beforeEach(() => {
  root = mkdtempSync(join(tmpdir(), 'nht-rawcli-'));
});
afterEach(() => rmSync(root, { recursive: true, force: true }));

describe('inspect over a store written by a plain LevelDB client', () => {
  it('shows the records, the entry range and the membership exactly', async () => {
    const config = { nodeHostDir: join(root, 'nh'), raftAddress: 'm1:63001', hostname: 'h', logdbType: 'sharded-leveldb' as const };
    const configFile = join(root, 'm1.json');
    writeFileSync(configFile, JSON.stringify(config));
    const dir = logdbPartitionDir(resolveNodeHostConfig(config), 100n);
    mkdirSync(dir, { recursive: true });
    const db = new ClassicLevel<Buffer, Buffer>(dir, { keyEncoding: 'buffer', valueEncoding: 'buffer' });
    await db.open();
    const s = 100n;
    const r = 1n;
    // State {term 7, vote 2, commit 30}: fields 1, 2, 3 as varints.
    await db.put(key('0202', s, r), hex('0807 1002 181e'));
    // Max index 30.
    await db.put(key('0303', s, r), hex(u64(30n)));
    // Bootstrap {addresses {1: "a:1"}, join false, type Regular}.
    await db.put(key('0606', s, r), hex('0a07 0801 1203 613a31 1000 1801'));
    // Snapshot at 20: filepath "f", file_size 1100, index 20, term 6,
    // membership {config_change_id 5, addresses {1: "a:1", 2: "b:1"}, removed {3: true}}, checksum 01020304, shard 100, type Regular.
    const membership = '0805 1207 0801 1203 613a31 1207 0802 1203 623a31 1a04 0803 1001';
    const snap = `1201 66 18cc08 2014 2806 321a ${membership} 4204 01020304 5064 5801`;
    await db.put(key('0505', s, r, 20n), hex(snap));
    // Entries 20..30, values opaque (not protobuf): inspect must not decode them.
    for (let i = 20n; i <= 30n; i++) await db.put(key('0101', s, r, i), hex('ffffffff' + u64(i)));
    // A stale entry below the snapshot index and another replica's record.
    await db.put(key('0101', s, r, 5n), hex('00'));
    await db.put(key('0202', s, 2n), hex('0801 1000 1800'));
    await db.close();

    // The record names a snapshot file that was never written: the view is complete, and says a restart would fail (exit 1).
    const run = await runCli(['inspect', '--config', configFile, '--shard-id', '100', '--replica-id', '1', '--json']);
    expect(run.status).toBe(1);
    const v = lastJson(run.stdout, run.stderr);
    expect(v.problems.map((p: { code: string }) => p.code)).toEqual(['snapshot-file-missing']);
    expect(v.raftState).toEqual({ term: '7', vote: '2', commit: '30' });
    expect(v.maxIndex).toBe('30');
    expect(v.bootstrap).toEqual({ addresses: { 1: 'a:1' }, join: false, type: 'RegularStateMachine' });
    expect(v.snapshot.index).toBe('20');
    expect(v.snapshot.term).toBe('6');
    expect(v.snapshot.fileSize).toBe('1100');
    expect(v.snapshot.checksum).toBe('01020304');
    expect(v.snapshot.shardId).toBe('100');
    expect(v.membership).toEqual({
      configChangeId: '5',
      addresses: { 1: 'a:1', 2: 'b:1' },
      removed: { 3: true },
      nonVotings: {},
      witnesses: {},
    });
    expect(v.entries).toEqual({ firstIndex: '20', count: '11', lastIndex: '30' });
    expect(v.entryFormat).toBe(100);
    expect(v.malformed).toEqual([]);
  });
});
