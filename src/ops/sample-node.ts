/**
 * Sample NodeHost data: a node that had been running (dragonboat.ds,
 * bootstrap, a log of entries, a snapshot in its snapshot directory, raft
 * state) and an exported snapshot in Dragonboat's export layout. Used by the
 * demo and the benchmarks, and handy for trying the tool without a cluster.
 */
import { mkdir, readdir, rm, writeFile } from 'node:fs/promises';
import { join, resolve } from 'node:path';
import type { EngineChoice } from '../engines/select.js';
import { ErrAlreadyExists } from '../errors.js';
import { statOrUndefined } from '../files/fsutil.js';
import type { LogDBType } from '../nodehost/settings.js';
import { exportSnapshot } from './export.js';
import { writeFlagFile } from '../files/flagfile.js';
import { LogDB } from '../logdb/logdb.js';
import { resolveNodeHostConfig, type NodeHostConfig } from '../nodehost/config.js';
import { BIN_VER_PLAIN, checkOrCreateDataStatusFiles } from '../nodehost/datastatus.js';
import { snapshotDirName, snapshotFileName, snapshotPaths, SNAPSHOT_METADATA_FILENAME } from '../nodehost/paths.js';
import { emptySnapshot, encodeSnapshot } from '../records/codec.js';
import { EntryType, StateMachineType, type Entry, type Membership, type Snapshot } from '../records/types.js';
import { writeV2SnapshotFile } from '../snapshot/writer.js';

/** What a sample node looks like. */
export interface SampleNodeSpec {
  config: NodeHostConfig;
  shardId: bigint;
  replicaId: bigint;
  /** The initial members (bootstrap addresses). */
  members: Map<bigint, string>;
  /** Entries 1..lastIndex are in the log (those after the snapshot, at least). */
  lastIndex: bigint;
  /** Index of the node's latest snapshot (0: none). */
  snapshotIndex: bigint;
  term: bigint;
  /** Membership change ID recorded in the snapshot (the index of the last config change). */
  configChangeId?: bigint;
  /** The state machine's snapshot payload. */
  payload: Uint8Array;
  type?: StateMachineType;
  /** Bytes of each entry's command. */
  entrySize?: number;
}

function membership(members: Map<bigint, string>, configChangeId: bigint): Membership {
  return { configChangeId, addresses: new Map(members), removed: new Map(), nonVotings: new Map(), witnesses: new Map() };
}

function entry(index: bigint, term: bigint, size: number): Entry {
  const cmd = new Uint8Array(size);
  const text = new TextEncoder().encode(`set key-${index} value-${index};`);
  cmd.set(text.subarray(0, size));
  return { term, index, type: EntryType.Application, key: index, clientId: 0n, seriesId: 0n, respondedTo: 0n, cmd };
}

/**
 * Lays out a node that had been running: its `dragonboat.ds`, bootstrap,
 * entries 1..lastIndex (plain format), a snapshot at `snapshotIndex` with its
 * directory, and raft state {term, vote: replicaId's first member, commit: lastIndex}.
 * Returns the node's snapshot record.
 */
export async function writeSampleNode(spec: SampleNodeSpec): Promise<Snapshot | undefined> {
  const cfg = resolveNodeHostConfig(spec.config);
  await checkOrCreateDataStatusFiles(cfg, BIN_VER_PLAIN);
  const type = spec.type ?? StateMachineType.Regular;
  const db = await LogDB.open(cfg);
  try {
    await db.saveBootstrap(spec.shardId, spec.replicaId, { addresses: new Map(spec.members), join: false, type });
    let snapshot: Snapshot | undefined;
    if (spec.snapshotIndex > 0n) {
      const paths = snapshotPaths(cfg, spec.shardId, spec.replicaId, spec.snapshotIndex);
      await mkdir(paths.finalDir, { recursive: true });
      const written = await writeV2SnapshotFile(paths.file, spec.payload, {
        sessionSize: 16n,
        dataStoreSize: BigInt(spec.payload.length - 16),
      });
      snapshot = {
        ...emptySnapshot(),
        filepath: paths.file,
        fileSize: written.fileSize,
        index: spec.snapshotIndex,
        term: spec.term,
        membership: membership(spec.members, spec.configChangeId ?? 3n),
        checksum: written.payloadChecksum,
        shardId: spec.shardId,
        type,
      };
    }
    // Written in slices so that large logs never sit in memory at once.
    const first = 1n;
    const slice = 10_000n;
    for (let lo = first; lo <= spec.lastIndex; lo += slice) {
      const hi = lo + slice - 1n < spec.lastIndex ? lo + slice - 1n : spec.lastIndex;
      const entries: Entry[] = [];
      for (let i = lo; i <= hi; i++) entries.push(entry(i, spec.term, spec.entrySize ?? 32));
      const last = hi === spec.lastIndex;
      await db.saveRaftState([
        {
          shardId: spec.shardId,
          replicaId: spec.replicaId,
          entries,
          ...(last ? { state: { term: spec.term, vote: [...spec.members.keys()][0] ?? spec.replicaId, commit: spec.lastIndex } } : {}),
          ...(last && snapshot ? { snapshot } : {}),
        },
      ]);
    }
    if (spec.lastIndex === 0n && snapshot) {
      await db.saveRaftState([
        { shardId: spec.shardId, replicaId: spec.replicaId, snapshot, state: { term: spec.term, vote: 0n, commit: snapshot.index } },
      ]);
    }
    return snapshot;
  } finally {
    await db.close();
  }
}

/**
 * Writes an exported snapshot the way Dragonboat's ExportSnapshot lays it out:
 * `<exportRoot>/snapshot-<INDEX>/snapshot-<INDEX>.gbsnap` and
 * `snapshot.metadata` (a flag file holding the record, its paths pointing into
 * that directory). Returns the export directory.
 */
export async function writeSampleExport(exportRoot: string, record: Snapshot, payload: Uint8Array): Promise<string> {
  const dir = join(exportRoot, snapshotDirName(record.index));
  await mkdir(dir, { recursive: true });
  const file = join(dir, snapshotFileName(record.index));
  const written = await writeV2SnapshotFile(file, payload, { sessionSize: 16n, dataStoreSize: BigInt(payload.length - 16) });
  const exported: Snapshot = { ...record, filepath: file, fileSize: written.fileSize, checksum: written.payloadChecksum };
  await writeFlagFile(join(dir, SNAPSHOT_METADATA_FILENAME), encodeSnapshot(exported));
  return dir;
}

/** A deterministic state-machine payload of `size` bytes (at least 16: an empty session table). */
export function samplePayload(size: number, seed = 1): Uint8Array {
  const out = new Uint8Array(Math.max(16, size));
  // Session table header: size 0, count 0 (little-endian u64s), then data.
  let x = seed >>> 0 || 1;
  for (let i = 16; i < out.length; i++) {
    x ^= x << 13;
    x ^= x >>> 17;
    x ^= x << 5;
    out[i] = x & 0xff;
  }
  return out;
}

/**
 * The worked example of the README's guide: shard 100 ran replicas 1, 2, 3 on
 * m1, m2, m3 (entries 1..620, a snapshot at index 400, term 5); m2 and m3 are
 * lost; replicas 4 and 5 on the fresh hosts m4 and m5 replace them.
 */
export const WORKED_EXAMPLE = {
  shardId: 100n,
  snapshotIndex: 400n,
  lastIndex: 620n,
  term: 5n,
  /** The state machine's snapshot payload size: a few MiB, enough for a progress bar to move. */
  payloadSize: 3 * 1024 * 1024 + 12345,
  /** The shard's members before the loss. */
  initialMembers: new Map([
    [1n, 'm1:63001'],
    [2n, 'm2:63001'],
    [3n, 'm3:63001'],
  ]),
  /** The new membership, as `--members` takes it. */
  newMembers: '1=m1:63001,4=m4:63001,5=m5:63001',
  /** The hosts of the new membership and their replicas. */
  newHosts: [
    ['m1', 1n],
    ['m4', 4n],
    ['m5', 5n],
  ] as const,
} as const;

/**
 * A host's NodeHost configuration in the worked example: its directory is
 * `<root>/<host>/nodehost`, given relative to `root` with `relative` (the
 * form a configuration file in `root` takes: it resolves against the file's
 * directory).
 */
export function workedExampleConfig(root: string, host: string, logdbType: LogDBType, relative = false): NodeHostConfig {
  const dir = join(host, 'nodehost');
  return { nodeHostDir: relative ? dir : join(root, dir), raftAddress: `${host}:63001`, hostname: host, logdbType };
}

/** What {@link layOutWorkedExample} laid out. */
export interface WorkedExampleLayout {
  /** The directory, absolute. */
  dir: string;
  /** Each host's NodeHost configuration file (`<dir>/<host>.json`): m1 (the survivor), m4 and m5 (fresh). */
  configFiles: { m1: string; m4: string; m5: string };
  /** The export of m1's snapshot, `<dir>/export/snapshot-<INDEX>`, as `exportSnapshot` writes it (manifest included). */
  exportDir: string;
  /** The checksum engine the export ran on, and why it is not the native one (when it is not). */
  engine: string;
  degraded?: string;
}

/**
 * Lays out the worked example as it stands before the repair, for walking the
 * README's guide by hand: `dir/m1.json`, `dir/m4.json`, `dir/m5.json`
 * (relative `nodeHostDir`s, so each file names its host's directory beside
 * it); m1's NodeHost directory with replica 1 (entries 1..620, snapshot 400,
 * term 5); m4 and m5 fresh (no directory yet); and the export of m1's snapshot
 * under `dir/export/`, made by {@link exportSnapshot} itself. m2 and m3 are
 * lost, so nothing of them is written.
 *
 * `dir` must not exist or be an empty directory, else `ErrAlreadyExists` and
 * nothing is changed. A failure part way removes what was laid out.
 */
export async function layOutWorkedExample(
  dirIn: string,
  options: { logdbType: LogDBType; engine?: EngineChoice },
): Promise<WorkedExampleLayout> {
  const dir = resolve(dirIn);
  const st = await statOrUndefined(dir);
  if (st && (!st.isDirectory() || (await readdir(dir)).length > 0)) {
    throw new ErrAlreadyExists(`${dir} already exists and is not an empty directory; name a new or empty directory`, {
      path: dir,
      check: st.isDirectory() ? 'not-empty' : 'not-a-directory',
    });
  }
  // The first directory this call creates (`dir` or a missing parent): what a failure removes.
  const created = await mkdir(dir, { recursive: true });
  try {
    const ex = WORKED_EXAMPLE;
    const configFiles = { m1: join(dir, 'm1.json'), m4: join(dir, 'm4.json'), m5: join(dir, 'm5.json') };
    for (const [host, file] of Object.entries(configFiles)) {
      await writeFile(file, `${JSON.stringify(workedExampleConfig(dir, host, options.logdbType, true), null, 2)}\n`);
    }
    await writeSampleNode({
      config: workedExampleConfig(dir, 'm1', options.logdbType),
      shardId: ex.shardId,
      replicaId: 1n,
      members: new Map(ex.initialMembers),
      lastIndex: ex.lastIndex,
      snapshotIndex: ex.snapshotIndex,
      term: ex.term,
      payload: samplePayload(ex.payloadSize),
      type: StateMachineType.Regular,
    });
    const exported = await exportSnapshot(workedExampleConfig(dir, 'm1', options.logdbType), ex.shardId, 1n, join(dir, 'export'), {
      ...(options.engine ? { engine: options.engine } : {}),
    });
    return {
      dir,
      configFiles,
      exportDir: exported.exportDir,
      engine: exported.engine,
      ...(exported.degraded ? { degraded: exported.degraded } : {}),
    };
  } catch (err) {
    // The directory was absent or empty: leave it that way (an empty one stays, as it was).
    if (created !== undefined) await rm(created, { recursive: true, force: true });
    else for (const name of await readdir(dir)) await rm(join(dir, name), { recursive: true, force: true });
    throw err;
  }
}
