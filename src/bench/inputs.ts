/**
 * Benchmark inputs: a v2 export of a given size, written in Dragonboat's
 * export layout without ever holding the payload in memory, and cheap
 * identical copies of a LevelDB store for each removal run.
 */
import { randomBytes } from 'node:crypto';
import { copyFile, link, lstat, mkdir, open, readdir, statfs } from 'node:fs/promises';
import { join } from 'node:path';
import { ErrInvalidConfig, ioError } from '../errors.js';
import { writeFlagFile } from '../files/flagfile.js';
import { snapshotDirName, snapshotFileName, SNAPSHOT_METADATA_FILENAME } from '../nodehost/paths.js';
import { emptySnapshot, encodeSnapshot } from '../records/codec.js';
import { StateMachineType, type Snapshot } from '../records/types.js';
import { writeV2SnapshotFile } from '../snapshot/writer.js';

/** The exported snapshot's identity; the import puts replica 1 at this address. */
export const EXPORT_SHARD = 100n;
export const EXPORT_INDEX = 1000n;
export const EXPORT_TERM = 5n;
export const EXPORT_REPLICA = 1;
export const EXPORT_ADDRESS = 'bench-1:63001';

/** Bytes handed to the writer per chunk. */
const CHUNK = 8 * 1024 * 1024;
/** Size of the empty session table that starts every payload (every snapshot holds at least that). */
const SESSION_TABLE = 16;

/** A written export. */
export interface BenchExport {
  /** The export directory (`snapshot-<INDEX>`). */
  dir: string;
  /** Its `.gbsnap` file. */
  file: string;
  fileSize: number;
  payloadBytes: number;
  blocks: number;
}

/**
 * Payload of `size` bytes: an empty session table, then pseudo-random data.
 * Chunks are views into one pool taken at shifting offsets, so every block
 * differs without generating gigabytes of randomness.
 */
async function* payloadChunks(size: number): AsyncGenerator<Uint8Array> {
  yield new Uint8Array(Math.min(SESSION_TABLE, size));
  const pool = randomBytes(CHUNK + (1 << 20));
  let i = 0;
  for (let left = size - SESSION_TABLE; left > 0; i++) {
    const n = Math.min(CHUNK, left);
    const shift = (i * 65_537) % (1 << 20);
    yield pool.subarray(shift, shift + n);
    left -= n;
  }
}

/**
 * Writes an export of a Regular state machine snapshot with a `size`-byte
 * payload under `root` (`root/snapshot-<INDEX>/snapshot-<INDEX>.gbsnap` and
 * `snapshot.metadata`), as Dragonboat's ExportSnapshot lays it out.
 */
export async function writeBenchExport(root: string, size: number): Promise<BenchExport> {
  if (!Number.isSafeInteger(size) || size < SESSION_TABLE + 1) {
    throw new ErrInvalidConfig(`benchmark size must be an integer of at least ${SESSION_TABLE + 1} bytes, not ${size}`, { size });
  }
  const dir = join(root, snapshotDirName(EXPORT_INDEX));
  await mkdir(dir, { recursive: true });
  const file = join(dir, snapshotFileName(EXPORT_INDEX));
  const written = await writeV2SnapshotFile(file, payloadChunks(size), {
    sessionSize: BigInt(SESSION_TABLE),
    dataStoreSize: BigInt(size - SESSION_TABLE),
  });
  const record: Snapshot = {
    ...emptySnapshot(),
    filepath: file,
    fileSize: written.fileSize,
    index: EXPORT_INDEX,
    term: EXPORT_TERM,
    membership: {
      configChangeId: 3n,
      addresses: new Map([[BigInt(EXPORT_REPLICA), EXPORT_ADDRESS]]),
      removed: new Map(),
      nonVotings: new Map(),
      witnesses: new Map(),
    },
    checksum: written.payloadChecksum,
    shardId: EXPORT_SHARD,
    type: StateMachineType.Regular,
  };
  await writeFlagFile(join(dir, SNAPSHOT_METADATA_FILENAME), encodeSnapshot(record));
  return { dir, file, fileSize: Number(written.fileSize), payloadBytes: written.payloadBytes, blocks: written.blocks };
}

/** Reads a file once, so a warm-cache run does not pay for the first read. */
export async function readThrough(file: string): Promise<void> {
  const fh = await open(file, 'r');
  try {
    const buf = Buffer.allocUnsafe(CHUNK);
    for (let pos = 0; ; ) {
      const { bytesRead } = await fh.read(buf, 0, CHUNK, pos);
      if (bytesRead === 0) break;
      pos += bytesRead;
    }
  } finally {
    await fh.close();
  }
}

const TABLE_FILE = /\.(ldb|sst)$/;

/**
 * Makes `dst` an identical copy of the LevelDB database in `src`: table files
 * are hard links (LevelDB never changes a table file, it only deletes it),
 * everything else is copied. Each run thus starts from the same bytes, at
 * almost no cost in time or disk.
 */
export async function cloneStore(src: string, dst: string): Promise<void> {
  await mkdir(dst, { recursive: true });
  for (const name of await readdir(src)) {
    const from = join(src, name);
    if (name === 'LOCK' || !(await lstat(from)).isFile()) continue;
    const to = join(dst, name);
    if (TABLE_FILE.test(name)) {
      try {
        await link(from, to);
        continue;
      } catch {
        // Another file system: copy instead.
      }
    }
    await copyFile(from, to);
  }
}

/** Free bytes for an unprivileged writer on the file system holding `dir`. */
export async function freeBytes(dir: string): Promise<number> {
  try {
    const s = await statfs(dir);
    return s.bavail * s.bsize;
  } catch (err) {
    throw ioError(err, 'cannot read free space of', dir);
  }
}
