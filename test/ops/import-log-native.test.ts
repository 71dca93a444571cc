/**
 * The addon's entry-frame kernel against the portable path (docs/log-suffix.md,
 * "Two passes"): the same export with a suffix (a membership change at 50)
 * imported onto the same host once with the addon and once without must
 * leave exactly the same store — the same files byte for byte on Pebble (the
 * kernel's puts go into the WAL as they are), the same keys and values on
 * LevelDB — on a plain and on a batched host. The kernel is spied on, so a
 * run that silently took the portable path fails; on LevelDB so is the
 * addon's write batch (a plain host's commit is written by the addon's
 * LevelDB, the encoded puts appended as they are).
 */
import * as fsp from 'node:fs/promises';
import * as path from 'node:path';
import { ClassicLevel } from 'classic-level';
import { afterAll, afterEach, beforeAll, describe, expect, it, vi } from 'vitest';
import { createHash } from 'node:crypto';
import { writeLogSuffixFile } from '../../src/files/log-suffix-file.js';
import { DISABLE_NATIVE_ENV, loadNative } from '../../src/native/binding.js';
import type { ExportDir } from '../../src/ops/export-dir.js';
import { readCarriedLogSuffix } from '../../src/ops/import-log.js';
import { encodeEntry } from '../../src/records/codec.js';
import { EntryType, StateMachineType, type Snapshot } from '../../src/records/types.js';
import { encodePut } from '../../src/logdb/native-suffix.js';
import { NativeLevelBatch } from '../../src/logdb/native-batch.js';
import type { NodeHostConfig } from '../../src/nodehost/config.js';
import { importSnapshot, type ImportResult } from '../../src/ops/import.js';
import { makeTempDir } from '../helpers/nodehost.js';
import { TEST_LOGDB_TYPE } from '../helpers/store.js';
import { treeSnapshot, type TreeSnapshot } from '../helpers/tree.js';
import { M4, SHARD, workedMembers } from '../helpers/worked-example.js';
import { entryKey } from '../../src/logdb/keys.js';
import { freshConfig } from './fixtures.js';
import {
  CONFIG_CHANGE_AT,
  expectCarriedOn,
  exportWithLog,
  exportWithSuffix,
  LAST,
  LAST_TERM,
  makeSurvivor,
  suffixEntry,
  survivorEntries,
} from './import-log-fixtures.js';
import { suffixHeader } from '../helpers/log-suffix.js';

let root: string;
let n = 0;

beforeAll(async () => {
  root = await makeTempDir('nht-ops-import-log-native-');
});

afterAll(async () => {
  await fsp.rm(root, { recursive: true, force: true });
});

afterEach(() => {
  delete process.env[DISABLE_NATIVE_ENV];
  vi.restoreAllMocks();
});

/** Every key and value of every LevelDB partition under `nodeHostDir`, hex, by partition. */
async function levelDump(nodeHostDir: string): Promise<Record<string, string[]>> {
  const out: Record<string, string[]> = {};
  const walk = async (dir: string): Promise<void> => {
    for (const ent of await fsp.readdir(dir, { withFileTypes: true })) {
      if (!ent.isDirectory()) continue;
      const p = path.join(dir, ent.name);
      if (ent.name.startsWith('logdb-')) {
        const db = new ClassicLevel<Uint8Array, Uint8Array>(p, { keyEncoding: 'view', valueEncoding: 'view', createIfMissing: false });
        const pairs: string[] = [];
        try {
          for await (const [k, v] of db.iterator()) pairs.push(`${Buffer.from(k).toString('hex')}=${Buffer.from(v).toString('hex')}`);
        } finally {
          await db.close();
        }
        out[path.relative(nodeHostDir, p)] = pairs;
      } else await walk(p);
    }
  };
  await walk(nodeHostDir);
  return out;
}

/** What the store holds: Pebble's files byte for byte; LevelDB's pairs (its own files carry timestamps in LOG). */
async function storeState(cfg: NodeHostConfig): Promise<TreeSnapshot | Record<string, string[]>> {
  return TEST_LOGDB_TYPE === 'sharded-pebble' ? treeSnapshot(cfg.nodeHostDir) : levelDump(cfg.nodeHostDir);
}

/**
 * Imports `exp` onto the host at `cfg` twice from the same starting bytes
 * (`hostRoot` copied aside first): with the addon, then without; returns
 * both results, stores and the kernel's calls in each.
 */
async function bothWays(hostRoot: string, cfg: NodeHostConfig, expDir: string, replicaId: bigint) {
  const binding = loadNative();
  expect(binding, 'the addon must be built for this suite').toBeDefined();
  const spy = vi.spyOn(binding!, 'suffixFrames');
  const appended = vi.spyOn(NativeLevelBatch.prototype, 'appendEncoded');
  const pristine = `${hostRoot}.pristine`;
  await fsp.cp(hostRoot, pristine, { recursive: true });

  const nativeResult = await importSnapshot(cfg, expDir, workedMembers(), replicaId);
  const nativeStore = await storeState(cfg);
  const nativeCalls = spy.mock.calls.map((c) => (c[5] === null ? 'validate' : 'write'));
  const nativeAppends = appended.mock.calls.length;
  spy.mockClear();
  appended.mockClear();

  await fsp.rm(hostRoot, { recursive: true, force: true });
  await fsp.cp(pristine, hostRoot, { recursive: true });
  process.env[DISABLE_NATIVE_ENV] = '1';
  let portableResult: ImportResult;
  try {
    portableResult = await importSnapshot(cfg, expDir, workedMembers(), replicaId);
  } finally {
    delete process.env[DISABLE_NATIVE_ENV];
  }
  const portableStore = await storeState(cfg);
  return {
    nativeResult,
    nativeStore,
    nativeCalls,
    nativeAppends,
    portableResult,
    portableStore,
    portableCalls: spy.mock.calls.length + appended.mock.calls.length,
  };
}

describe(`native and portable carry the same suffix (${TEST_LOGDB_TYPE})`, () => {
  for (const batched of [false, true]) {
    const format = batched ? 'batched' : 'plain';
    it(`${format} host: the same store, the same report; the kernel ran both passes natively`, async () => {
      const dir = path.join(root, `case-${++n}`);
      const m1 = await makeSurvivor({ root: path.join(dir, 'm1'), batched });
      const exp = await exportWithLog(path.join(dir, 'export'), m1.config, { index: 20n });
      // A plain host: a fresh m4 (the default format); a batched one: the survivor itself, which keeps its format.
      const host = batched ? { root: path.join(dir, 'm1'), cfg: m1.config, replica: 1n } : { root: path.join(dir, 'm4'), replica: 4n };
      const cfg = 'cfg' in host ? host.cfg! : freshConfig(host.root, M4);
      if (!batched) await fsp.mkdir(host.root, { recursive: true });

      const r = await bothWays(host.root, cfg, exp.dir, host.replica);

      expect(r.nativeStore).toEqual(r.portableStore);
      const report = (x: ImportResult) => ({ logSuffix: x.logSuffix, maxIndex: x.after.maxIndex, raftState: x.after.raftState });
      expect(report(r.nativeResult)).toEqual(report(r.portableResult));
      expect(r.nativeResult.logSuffix).toMatchObject({ neutralized: [{ index: CONFIG_CHANGE_AT, term: LAST_TERM }], lastIndex: LAST });
      await expectCarriedOn(cfg, host.replica, 20n, format);
      expect(r.portableCalls).toBe(0);
      expect(r.nativeCalls).toContain('validate');
      // A plain host takes the kernel's puts as they are (Pebble's WAL, the addon's LevelDB batch); a batched log takes the pairs.
      expect(r.nativeCalls.includes('write')).toBe(!batched);
      expect(r.nativeAppends > 0).toBe(TEST_LOGDB_TYPE !== 'sharded-pebble' && !batched);
    });
  }

  it('plain host holding the replica already (its stored entries deleted in the same batch), and a 5 MiB entry', async () => {
    const dir = path.join(root, `case-${++n}`);
    const m1 = await makeSurvivor({ root: path.join(dir, 'm1') });
    const big = survivorEntries().find((e) => e.index === 60n)!;
    const exp = await exportWithSuffix(path.join(dir, 'export'), m1.config, {
      index: 20n,
      entries: (es) => es.map((e) => (e.index === big.index ? suffixEntry({ ...big, cmd: new Uint8Array(5 << 20).fill(0x5a) }) : e)),
    });

    const r = await bothWays(path.join(dir, 'm1'), m1.config, exp.dir, 1n);

    expect(r.nativeStore).toEqual(r.portableStore);
    expect(r.nativeResult.logSuffix).toEqual(r.portableResult.logSuffix);
    expect(r.nativeResult.logSuffix).toMatchObject({ neutralized: [{ index: CONFIG_CHANGE_AT, term: LAST_TERM }], lastIndex: LAST });
    expect(r.portableCalls).toBe(0);
    expect(r.nativeCalls).toContain('write');
    expect(r.nativeAppends > 0).toBe(TEST_LOGDB_TYPE !== 'sharded-pebble');
    if (TEST_LOGDB_TYPE !== 'sharded-pebble') {
      // The big entry whole under m1's key for 60; none of m1's entries at or below the snapshot left.
      const stored = new Map(
        Object.values(r.nativeStore as Record<string, string[]>)
          .flat()
          .map((p) => p.split('=') as [string, string]),
      );
      const keyHexOf = (i: bigint) => Buffer.from(entryKey(SHARD, 1n, i)).toString('hex');
      expect(stored.get(keyHexOf(60n))?.length).toBeGreaterThan(10 << 20);
      for (let i = 1n; i <= 20n; i++) expect(stored.has(keyHexOf(i)), `entry ${i}`).toBe(false);
      for (let i = 21n; i <= LAST; i++) expect(stored.has(keyHexOf(i)), `entry ${i}`).toBe(true);
    }
  });
});

describe('both passes over a suffix of many read chunks (about 20 MiB)', () => {
  it("the same SHA-256 as the file, the same report, and the kernel's puts are the portable values under their keys", async () => {
    const dir = path.join(root, `case-${++n}`);
    await fsp.mkdir(dir, { recursive: true });
    const file = path.join(dir, 'log-suffix.nhlog');
    const first = 1001n;
    const count = 120_000;
    const last = first + BigInt(count - 1);
    function* entries() {
      for (let i = 0; i < count; i++) {
        const index = first + BigInt(i);
        const term = 3n + BigInt(Math.floor(i / 40_000));
        // A membership change now and then, and entries of every size up to a few hundred bytes (one of 6 MiB).
        const type = i % 9973 === 17 ? EntryType.ConfigChange : EntryType.Application;
        const cmd = new Uint8Array(i === 60_000 ? 6 << 20 : 20 + ((i * 7919) % 300)).fill(i & 0xff);
        const e = { term, index, type, key: 0n, clientId: 1n, seriesId: 2n, respondedTo: 1n, cmd };
        yield { index, term, value: encodeEntry(e) };
      }
    }
    await writeLogSuffixFile(file, suffixHeader(first, last), entries());
    const exp = {
      logSuffixFile: file,
      record: { shardId: 100n, index: first - 1n, term: 3n, type: StateMachineType.Regular } as unknown as Snapshot,
    } as unknown as ExportDir;
    const sha256 = createHash('sha256')
      .update(await fsp.readFile(file))
      .digest('hex');
    const prefix = Uint8Array.from({ length: 20 }, (_, i) => i + 1);

    const native = await readCarriedLogSuffix(exp, undefined);
    expect(native!.encodedPuts).toBeDefined();
    const nativePuts = createHash('sha256');
    let nativeOps = 0;
    for await (const piece of native!.encodedPuts!(prefix)) {
      nativePuts.update(piece.bytes);
      nativeOps += piece.count;
    }

    process.env[DISABLE_NATIVE_ENV] = '1';
    const portable = await readCarriedLogSuffix(exp, undefined);
    delete process.env[DISABLE_NATIVE_ENV];
    expect(portable!.encodedPuts).toBeUndefined();
    const portablePuts = createHash('sha256');
    let index = first;
    let buf = new Uint8Array(1 << 16);
    for await (const values of portable!.values()) {
      for (const v of values) {
        if (buf.length < v.length + 64) buf = new Uint8Array(v.length + 64);
        portablePuts.update(buf.subarray(0, encodePut(buf, 0, prefix, index++, v)));
      }
    }

    for (const r of [native!, portable!]) {
      expect(r.sha256).toBe(sha256);
      expect(r.count).toBe(count);
    }
    const report = (r: typeof native) => ({ valueBytes: r!.valueBytes, lastTerm: r!.lastTerm, neutralized: r!.neutralized });
    expect(report(native)).toEqual(report(portable));
    expect(native!.neutralized.length).toBe(13);
    expect(native!.termAt(count - 1)).toBe(portable!.termAt(count - 1));
    expect(nativeOps).toBe(count);
    expect(index).toBe(last + 1n);
    expect(nativePuts.digest('hex')).toBe(portablePuts.digest('hex'));
  });
});
