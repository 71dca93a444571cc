/**
 * Fixtures of the import suites: the worked example (../helpers/worked-example.ts)
 * exported at index 20, term 4, exports in Dragonboat's layout, raw LevelDB dumps, the
 * `nodeState` fingerprint, and the import child (crash injection; lock holders are
 * in ../helpers/lock-holders.ts).
 */
import { TEST_LOGDB_TYPE } from '../helpers/store.js';
import { spawn } from 'node:child_process';
import { createHash } from 'node:crypto';
import * as fsp from 'node:fs/promises';
import * as path from 'node:path';
import { fileURLToPath } from 'node:url';
import { ClassicLevel } from 'classic-level';
import { PebblePartition } from '../../src/logdb/pebble/partition.js';
import { expect } from 'vitest';
import type { NodeHostToolsError } from '../../src/errors.js';
import { writeFlagFile } from '../../src/files/flagfile.js';
import { resolveNodeHostConfig, type NodeHostConfig, type ResolvedNodeHostConfig } from '../../src/nodehost/config.js';
import { deploymentDir, snapshotDirName, snapshotFileName } from '../../src/nodehost/paths.js';
import { emptySnapshot, encodeSnapshot } from '../../src/records/codec.js';
import { StateMachineType, type Membership, type Snapshot } from '../../src/records/types.js';
import { writeV2SnapshotFile } from '../../src/snapshot/writer.js';
import { statePayload } from '../helpers/payload.js';
import { treeSnapshot, type TreeSnapshot } from '../helpers/tree.js';
import { HOST, PARTITION, SHARD, sourceMembership } from '../helpers/worked-example.js';

export const OPS_DIR = path.dirname(fileURLToPath(import.meta.url));
/** The exported snapshot's index and term (m1's own snapshot is at 10, term 3). */
export const INDEX = 20n;
export const TERM = 4n;

/** The NodeHost configuration of a fresh host (nothing on disk). */
export function freshConfig(root: string, raftAddress: string, name = 'nodehost'): NodeHostConfig {
  return { nodeHostDir: path.join(root, name), raftAddress, hostname: HOST, deploymentId: 0, logdbType: TEST_LOGDB_TYPE };
}

/** An external file of an on-disk state machine export. */
export interface ExternalSpec {
  name: string;
  bytes: Uint8Array;
  mode?: number;
}

/** Options of {@link makeExport}. */
export interface ExportSpec {
  index?: bigint;
  term?: bigint;
  membership?: Membership;
  type?: StateMachineType;
  payload?: Uint8Array;
  externals?: ExternalSpec[];
  /** Permission bits of the .gbsnap in the export (default 0o640, to prove the mode is preserved). */
  mode?: number;
  shardId?: bigint;
  /** The export's on_disk_index (never copied by the import). */
  onDiskIndex?: bigint;
}

/** What {@link makeExport} wrote. */
export interface ExportMade {
  dir: string;
  file: string;
  /** The record in `snapshot.metadata`. */
  record: Snapshot;
  payload: Uint8Array;
}

/**
 * Writes an export in Dragonboat's layout under `exportRoot`:
 * `snapshot-<INDEX>/snapshot-<INDEX>.gbsnap`, the external files, and
 * `snapshot.metadata` holding the record with paths into that directory.
 */
export async function makeExport(exportRoot: string, spec: ExportSpec = {}): Promise<ExportMade> {
  const index = spec.index ?? INDEX;
  const dir = path.join(exportRoot, snapshotDirName(index));
  await fsp.mkdir(dir, { recursive: true });
  const file = path.join(dir, snapshotFileName(index));
  const payload = spec.payload ?? statePayload(3000);
  const written = await writeV2SnapshotFile(file, payload, {
    sessionSize: 16n,
    dataStoreSize: BigInt(payload.length - 16),
    unreliableTime: 1n,
    mode: spec.mode ?? 0o640,
  });
  await fsp.chmod(file, spec.mode ?? 0o640);
  const files = [];
  for (const [i, e] of (spec.externals ?? []).entries()) {
    const p = path.join(dir, e.name);
    await fsp.writeFile(p, e.bytes);
    await fsp.chmod(p, e.mode ?? 0o644);
    files.push({
      filepath: p,
      fileSize: BigInt(e.bytes.length),
      fileId: BigInt(i + 1),
      metadata: new TextEncoder().encode(`meta-${e.name}`),
    });
  }
  const record: Snapshot = {
    ...emptySnapshot(),
    filepath: file,
    fileSize: written.fileSize,
    index,
    term: spec.term ?? TERM,
    membership: spec.membership ?? sourceMembership(),
    files,
    checksum: written.payloadChecksum,
    dummy: false,
    shardId: spec.shardId ?? SHARD,
    type: spec.type ?? StateMachineType.Regular,
    imported: false,
    onDiskIndex: spec.onDiskIndex ?? 15n,
    witness: false,
  };
  await writeFlagFile(path.join(dir, 'snapshot.metadata'), encodeSnapshot(record));
  return { dir, file, record, payload };
}

// --- raw log store access ----------------------------------------------------------------

export function hex(b: Uint8Array): string {
  return Buffer.from(b.buffer, b.byteOffset, b.byteLength).toString('hex');
}

function u64be(v: bigint): Buffer {
  const b = Buffer.alloc(8);
  b.writeBigUInt64BE(v);
  return b;
}

/** A log store key built from docs/formats.md §5 by hand (independent of src/logdb/keys.ts). */
export function rawKey(header: number, shardId: bigint, replicaId: bigint, suffix?: bigint): Buffer {
  return Buffer.concat([
    Buffer.from([header, header, 0, 0]),
    u64be(shardId),
    u64be(replicaId),
    ...(suffix === undefined ? [] : [u64be(suffix)]),
  ]);
}

/** Key families by header byte. */
export const K = { entry: 1, raftState: 2, maxIndex: 3, nodeInfo: 4, snapshot: 5, bootstrap: 6, entryBatch: 7 } as const;

/** A raw key/value pair. */
export interface RawKV {
  key: Buffer;
  value: Buffer;
}

/**
 * Every key/value of a log store partition, read by an engine that is not
 * the one under test where there is one: a LevelDB database with
 * classic-level directly ('view' encodings; opening rewrites LevelDB's own
 * files, so never call this between two tree fingerprints that must be
 * equal); a Pebble store with the direct reader, which changes nothing.
 */
export async function rawDump(dbDir: string): Promise<RawKV[]> {
  const names = await fsp.readdir(dbDir).catch(() => [] as string[]);
  const out: RawKV[] = [];
  if (names.some((n) => /^OPTIONS-\d+$/.test(n)) || (names.includes('CURRENT') && !names.includes('LOG'))) {
    const part = new PebblePartition({ dataDir: dbDir, walDir: dbDir }, { readOnly: true });
    try {
      for await (const [k, v] of part.iterate({ gte: new Uint8Array([0]), lt: new Uint8Array([0xff]) })) {
        out.push({ key: Buffer.from(k), value: Buffer.from(v) });
      }
    } finally {
      await part.close();
    }
    return out;
  }
  const db = new ClassicLevel<Uint8Array, Uint8Array>(dbDir, { keyEncoding: 'view', valueEncoding: 'view' });
  await db.open({ createIfMissing: false });
  try {
    for await (const [k, v] of db.iterator()) out.push({ key: Buffer.from(k), value: Buffer.from(v) });
    return out;
  } finally {
    await db.close();
  }
}

/** Parses a raw key. */
export function parseRawKey(k: Buffer): { kind: number; shardId: bigint; replicaId: bigint; suffix?: bigint } {
  return {
    kind: k[0]!,
    shardId: k.readBigUInt64BE(4),
    replicaId: k.readBigUInt64BE(12),
    ...(k.length === 28 ? { suffix: k.readBigUInt64BE(20) } : {}),
  };
}

/** The partition directory of shard 100 under `cfg`. */
export function partitionDir(cfg: ResolvedNodeHostConfig, p = PARTITION): string {
  return path.join(deploymentDir(cfg), `logdb-${p}`);
}

// --- fingerprints -----------------------------------------------------------------------

// The engines' own files: they change on every open (LevelDB) or with every write (Pebble's WALs).
const LEVELDB_OWN = /^(LOG|LOG\.old|CURRENT|LOCK|MANIFEST-\d+|OPTIONS-\d+|\d+\.(log|ldb|sst))$/;

/**
 * The state of a NodeHost as a restart sees it: the tree under `root`
 * without LevelDB's own files in logdb-* directories (they change on every
 * open), plus every raw key/value of every partition.
 */
export async function nodeState(root: string, config: NodeHostConfig): Promise<{ tree: TreeSnapshot; kv: Record<string, string[]> }> {
  const cfg = resolveNodeHostConfig(config);
  const all = await treeSnapshot(root);
  const tree: TreeSnapshot = {};
  for (const [k, v] of Object.entries(all)) {
    const parts = k.split('/');
    const inLogdb = parts.length >= 2 && /^logdb-\d+$/.test(parts[parts.length - 2]!);
    if (inLogdb && LEVELDB_OWN.test(parts[parts.length - 1]!)) continue;
    tree[k] = v;
  }
  const kv: Record<string, string[]> = {};
  const dep = deploymentDir(cfg);
  let names: string[] = [];
  try {
    names = (await fsp.readdir(dep)).filter((n) => /^logdb-\d+$/.test(n)).sort();
  } catch {
    names = [];
  }
  for (const n of names) {
    kv[n] = (await rawDump(path.join(dep, n))).map((e) => `${hex(e.key)}=${hex(e.value)}`);
  }
  return { tree, kv };
}

export async function sha256File(p: string): Promise<string> {
  return createHash('sha256')
    .update(await fsp.readFile(p))
    .digest('hex');
}

// --- errors ----------------------------------------------------------------------------

/** Awaits `p`, expects a coded error of class `cls` (code === class name, a message) and returns it. */
export async function expectCodedRejection<T extends NodeHostToolsError>(
  p: Promise<unknown>,
  cls: abstract new (...a: never[]) => T,
): Promise<T> {
  let err: unknown;
  try {
    await p;
  } catch (e) {
    err = e;
  }
  expect(err, `expected ${cls.name}`).toBeInstanceOf(cls);
  const e = err as T;
  expect(e.code).toBe(cls.name);
  expect(e.code).toBe(e.constructor.name);
  expect(e.name).toBe(cls.name);
  expect(typeof e.message).toBe('string');
  expect(e.message.length).toBeGreaterThan(10);
  return e;
}

// --- child processes -----------------------------------------------------------------------

/** What the import child was asked to do. */
export interface ChildImportSpec {
  config: NodeHostConfig;
  srcDir: string;
  members: Record<string, string>;
  replicaId: string;
  crashStep?: string;
  /** Stop at this step boundary, locks held, until the file `gate` exists. */
  pauseStep?: string;
  gate?: string;
  options?: { engine?: string; configChangeId?: string };
}

/** How the child ended. */
export interface ChildOutcome {
  code: number | null;
  signal: NodeJS.Signals | null;
  steps: string[];
  /** The parsed JSON line the child printed on success or failure. */
  out: { ok: boolean; result?: Record<string, unknown>; code?: string; message?: string } | undefined;
  stderr: string;
}

/** Runs test/ops/import-child.mjs (the compiled library from dist/) with `spec`. */
export function runImportChild(spec: ChildImportSpec, env: Record<string, string> = {}): Promise<ChildOutcome> {
  return runStepChild('import-child.mjs', spec, env);
}

/**
 * Runs the child script `script` of test/ops (one operation of the compiled
 * library, printing "step <name>" at each step boundary and one JSON line at
 * the end) with `spec`.
 */
export function runStepChild(script: string, spec: unknown, env: Record<string, string> = {}): Promise<ChildOutcome> {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, [path.join(OPS_DIR, script), JSON.stringify(spec)], {
      stdio: ['ignore', 'pipe', 'pipe'],
      env: { ...process.env, ...env },
    });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (d: Buffer) => (stdout += d.toString()));
    child.stderr.on('data', (d: Buffer) => (stderr += d.toString()));
    child.once('error', reject);
    child.once('close', (code, signal) => {
      const steps: string[] = [];
      let out: ChildOutcome['out'];
      for (const line of stdout.split('\n')) {
        if (line.startsWith('step ')) steps.push(line.slice(5));
        else if (line.startsWith('{')) out = JSON.parse(line) as ChildOutcome['out'];
      }
      resolve({ code, signal, steps, out, stderr });
    });
  });
}

/**
 * What an import reports of the stale entries it removed: LevelDB counts the
 * keys it deletes; Pebble removes the whole span with a range tombstone and
 * counts nothing (asserted by the Pebble test in stale-entries.test.ts; the
 * suites check that no entry is readable afterwards).
 */
export function staleEntriesRemoved(plain: number, batches: number): Record<string, unknown> {
  return TEST_LOGDB_TYPE === 'sharded-leveldb' ? { plainEntriesRemoved: plain, entryBatchesRemoved: batches } : {};
}
