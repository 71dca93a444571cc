/**
 * Lays out "a node that had been running" in a temp NodeHost directory, with
 * real LevelDB partitions written through our LogDB and a real v2 snapshot
 * file: `dragonboat.ds` and an unlocked LOCK (NodeHostDir and WALDir),
 * bootstrap, raft state, entries 1..N (plain or batched), a snapshot record
 * and its final snapshot directory.
 *
 * ```ts
 * const node = await makeRunningNode({ entries: 30, snapshotIndex: 20n });
 * try { ... node.cfg, node.snapshotDir, node.snapshot ... } finally { await node.cleanup(); }
 * ```
 */
import { TEST_LOGDB_TYPE } from './store.js';
import * as fsp from 'node:fs/promises';
import * as os from 'node:os';
import * as path from 'node:path';
import { encodeSnapshot, emptySnapshot } from '../../src/records/codec.js';
import { EntryType, StateMachineType, type Entry, type Membership, type Snapshot } from '../../src/records/types.js';
import { writeFlagFile } from '../../src/files/flagfile.js';
import { resolveNodeHostConfig, type NodeHostConfig, type ResolvedNodeHostConfig } from '../../src/nodehost/config.js';
import { checkOrCreateDataStatusFiles } from '../../src/nodehost/datastatus.js';
import { ensureNodeHostDirs } from '../../src/nodehost/layout.js';
import { dataDirs, lockFilePath, SNAPSHOT_METADATA_FILENAME, snapshotPaths } from '../../src/nodehost/paths.js';
import { BIN_VER_BATCHED, BIN_VER_PLAIN } from '../../src/nodehost/settings.js';
import { LogDB } from '../../src/logdb/logdb.js';
import { writeV2SnapshotFile } from '../../src/snapshot/writer.js';
import { patternBytes } from './payload.js';
import { HOST, M1, SHARD, sourceMembership } from './worked-example.js';

/** Options of {@link makeRunningNode}. */
export interface RunningNodeOptions {
  /** Write `snapshot.metadata` into the snapshot directory, as Dragonboat does (default true). */
  snapshotMetadata?: boolean;
  /** Existing directory to lay the NodeHost out in (default: a fresh temp dir, removed by cleanup()). */
  root?: string;
  /** NodeHost config overrides (nodeHostDir defaults to `<root>/nodehost`). */
  config?: Partial<NodeHostConfig>;
  /** Also use a WALDir at `<root>/wal`. */
  walDir?: boolean;
  shardId?: bigint;
  replicaId?: bigint;
  /** Number of entries 1..N (default 20); 0 for none. */
  entries?: number;
  /** Term of every entry (default 3). */
  term?: bigint;
  /** Store entries batched (format 210) instead of plain (100). */
  batched?: boolean;
  /** Index of the recorded snapshot (default 10; 0 for none). Must be <= entries. */
  snapshotIndex?: bigint;
  /** Snapshot state machine type (default Regular). */
  type?: StateMachineType;
  /** Membership recorded in the snapshot (default {1: m1, 2: m2, 3: m3}, config change ID 7). */
  membership?: Membership;
  /** Payload bytes of the snapshot file (default 1000). */
  payloadBytes?: number;
  /** Leave the snapshot's `dragonboat.snapshot.message` in place (a not yet recorded snapshot). */
  keepSnapshotFlag?: boolean;
}

/** What {@link makeRunningNode} laid out. */
export interface RunningNode {
  root: string;
  config: NodeHostConfig;
  cfg: ResolvedNodeHostConfig;
  shardId: bigint;
  replicaId: bigint;
  entries: Entry[];
  /** The recorded snapshot (undefined with snapshotIndex 0). */
  snapshot: Snapshot | undefined;
  /** Its final directory and file. */
  snapshotDir: string | undefined;
  snapshotFile: string | undefined;
  /** Removes the temp root (no-op for a caller-given root). */
  cleanup(): Promise<void>;
}

/** A fresh temp directory. */
export async function makeTempDir(prefix = 'nht-node-'): Promise<string> {
  return fsp.mkdtemp(path.join(os.tmpdir(), prefix));
}

/** A deterministic entry. */
export function makeEntry(index: bigint, term = 3n): Entry {
  return {
    term,
    index,
    type: EntryType.Application,
    key: index * 10n,
    clientId: 77n,
    seriesId: index,
    respondedTo: index - 1n,
    cmd: new TextEncoder().encode(`cmd-${index}`),
  };
}

/** Entries `from..to` inclusive. */
export function makeEntries(from: bigint, to: bigint, term = 3n): Entry[] {
  const out: Entry[] = [];
  for (let i = from; i <= to; i++) out.push(makeEntry(i, term));
  return out;
}

/** Lays out a NodeHost directory holding one node that had been running. */
export async function makeRunningNode(opts: RunningNodeOptions = {}): Promise<RunningNode> {
  const ownRoot = opts.root === undefined;
  const root = opts.root ?? (await makeTempDir());
  const config: NodeHostConfig = {
    nodeHostDir: path.join(root, 'nodehost'),
    raftAddress: M1,
    hostname: HOST,
    deploymentId: 0,
    logdbType: TEST_LOGDB_TYPE,
    ...(opts.walDir ? { walDir: path.join(root, 'wal') } : {}),
    ...opts.config,
  };
  const cfg = resolveNodeHostConfig(config);
  const shardId = opts.shardId ?? SHARD;
  const replicaId = opts.replicaId ?? 1n;
  const term = opts.term ?? 3n;
  const n = BigInt(opts.entries ?? 20);
  const entries = n > 0n ? makeEntries(1n, n, term) : [];
  const snapshotIndex = opts.snapshotIndex ?? (n >= 10n ? 10n : 0n);
  const format = opts.batched ? BIN_VER_BATCHED : BIN_VER_PLAIN;

  await ensureNodeHostDirs(cfg);
  await checkOrCreateDataStatusFiles(cfg, format);
  // A NodeHost that ran leaves its (now unlocked) LOCK files behind.
  for (const dir of dataDirs(cfg)) await fsp.writeFile(lockFilePath(dir), '');

  let snapshot: Snapshot | undefined;
  let snapshotDir: string | undefined;
  let snapshotFile: string | undefined;
  if (snapshotIndex > 0n) {
    const paths = snapshotPaths(cfg, shardId, replicaId, snapshotIndex);
    await fsp.mkdir(paths.finalDir, { recursive: true });
    const body = patternBytes(opts.payloadBytes ?? 1000, 7, 3);
    const written = await writeV2SnapshotFile(paths.file, body, { unreliableTime: 1n });
    snapshot = {
      ...emptySnapshot(),
      filepath: paths.file,
      fileSize: written.fileSize,
      index: snapshotIndex,
      term,
      membership: opts.membership ?? sourceMembership(),
      checksum: written.payloadChecksum,
      shardId,
      type: opts.type ?? StateMachineType.Regular,
    };
    if (opts.keepSnapshotFlag) await writeFlagFile(paths.flagFile, encodeSnapshot(snapshot));
    // Dragonboat writes the record into every snapshot directory it makes (and never reads it back).
    if (opts.snapshotMetadata !== false)
      await writeFlagFile(path.join(paths.finalDir, SNAPSHOT_METADATA_FILENAME), encodeSnapshot(snapshot));
    snapshotDir = paths.finalDir;
    snapshotFile = paths.file;
  }

  const db = await LogDB.open(cfg, { entryFormat: format });
  try {
    const addresses = new Map((opts.membership ?? sourceMembership()).addresses);
    await db.saveBootstrap(shardId, replicaId, { addresses, join: false, type: opts.type ?? StateMachineType.Regular });
    await db.saveRaftState([
      {
        shardId,
        replicaId,
        state: { term, vote: replicaId, commit: n },
        entries,
        ...(snapshot ? { snapshot } : {}),
      },
    ]);
  } finally {
    await db.close();
  }

  return {
    root,
    config,
    cfg,
    shardId,
    replicaId,
    entries,
    snapshot,
    snapshotDir,
    snapshotFile,
    cleanup: async () => {
      if (ownRoot) await fsp.rm(root, { recursive: true, force: true });
    },
  };
}
