/**
 * The addon's entry-frame kernel against the portable path (docs/log-suffix.md,
 * "Two passes"): the same export with a suffix (a membership change at 50)
 * imported onto the same host once with the addon and once without must
 * leave exactly the same store — the same files byte for byte on Pebble (the
 * kernel's puts go into the WAL as they are), the same keys and values on
 * LevelDB — on a plain and on a batched host. The kernel is spied on, so a
 * run that silently took the portable path fails.
 */
import * as fsp from 'node:fs/promises';
import * as path from 'node:path';
import { ClassicLevel } from 'classic-level';
import { afterAll, afterEach, beforeAll, describe, expect, it, vi } from 'vitest';
import { DISABLE_NATIVE_ENV, loadNative } from '../../src/native/binding.js';
import type { NodeHostConfig } from '../../src/nodehost/config.js';
import { importSnapshot, type ImportResult } from '../../src/ops/import.js';
import { makeTempDir } from '../helpers/nodehost.js';
import { TEST_LOGDB_TYPE } from '../helpers/store.js';
import { treeSnapshot, type TreeSnapshot } from '../helpers/tree.js';
import { M4, workedMembers } from '../helpers/worked-example.js';
import { freshConfig } from './fixtures.js';
import { CONFIG_CHANGE_AT, expectCarriedOn, exportWithLog, LAST, LAST_TERM, makeSurvivor } from './import-log-fixtures.js';

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
  const pristine = `${hostRoot}.pristine`;
  await fsp.cp(hostRoot, pristine, { recursive: true });

  const nativeResult = await importSnapshot(cfg, expDir, workedMembers(), replicaId);
  const nativeStore = await storeState(cfg);
  const nativeCalls = spy.mock.calls.map((c) => (c[5] === null ? 'validate' : 'write'));
  spy.mockClear();

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
  return { nativeResult, nativeStore, nativeCalls, portableResult, portableStore, portableCalls: spy.mock.calls.length };
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
      // Only a plain Pebble host takes the kernel's puts as they are; LevelDB and a batched log take the pairs.
      const encoded = TEST_LOGDB_TYPE === 'sharded-pebble' && !batched;
      expect(r.nativeCalls.includes('write')).toBe(encoded);
    });
  }
});
