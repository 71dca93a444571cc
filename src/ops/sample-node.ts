/**
 * Sample NodeHost data: a node that had been running (dragonboat.ds,
 * bootstrap, a log of entries, a snapshot in its snapshot directory, raft
 * state) and an exported snapshot in Dragonboat's export layout. Used by the
 * demo and the benchmarks, and handy for trying the tool without a cluster.
 */
import { mkdir } from 'node:fs/promises';
import { join } from 'node:path';
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
