/**
 * Streaming `.gbsnap` writers. The v2 writer follows Dragonboat's order: a
 * zeroed header area, then blocks (`data || CRC32 BE`) as 2 MiB fill up, the
 * tail, and last the real header area at offset 0, then fsync of the file
 * and its directory. The file is
 * created exclusively (an existing file is never overwritten) and removed if
 * writing fails or is abandoned.
 *
 * An empty payload is refused (`empty-payload`): Dragonboat's writer never
 * produces one (a snapshot always starts with its session table) and its
 * import check rejects a v2 file with no block, so such a file is never
 * a valid snapshot.
 */
import { open, unlink, type FileHandle } from 'node:fs/promises';
import { dirname, resolve } from 'node:path';
import { ErrIncompleteSnapshot, ErrInvalidConfig, ioError } from '../errors.js';
import { emptySnapshotHeader } from '../records/codec.js';
import { ChecksumType, CompressionType, type SnapshotHeader } from '../records/types.js';
import { crc32, u32be } from './crc.js';
import { buildHeaderArea } from './header.js';
import { BLOCK_CRC_SIZE, HEADER_AREA_SIZE, V2_BLOCK_SIZE, encodeV2Tail, v2FileSize } from './layout.js';

/** Header fields a writer lets the caller choose. */
export interface SnapshotWriterOptions {
  sessionSize?: bigint;
  dataStoreSize?: bigint;
  /** Describes the payload (the writer stores bytes as given, it never compresses). */
  compressionType?: CompressionType;
  /** Nanoseconds since the epoch; default now. */
  unreliableTime?: bigint;
  gitVersion?: string;
  /** Permission bits of the new file; default 0o644 (minus umask). */
  mode?: number;
}

/** What a finished writer produced. */
export interface SnapshotWriteResult {
  path: string;
  fileSize: bigint;
  payloadBytes: number;
  /** v2: number of blocks; v1: 0. */
  blocks: number;
  /** v2: CRC of the block CRCs; v1: CRC of the payload. 4 bytes big-endian; also the snapshot record's `checksum`. */
  payloadChecksum: Uint8Array;
  header: SnapshotHeader;
}

function headerFor(version: 1n | 2n, opts: SnapshotWriterOptions, payloadChecksum: Uint8Array): SnapshotHeader {
  return {
    ...emptySnapshotHeader(),
    sessionSize: opts.sessionSize ?? 0n,
    dataStoreSize: opts.dataStoreSize ?? 0n,
    unreliableTime: opts.unreliableTime ?? BigInt(Date.now()) * 1_000_000n,
    gitVersion: opts.gitVersion ?? '',
    payloadChecksum,
    checksumType: ChecksumType.CRC32IEEE,
    version,
    compressionType: opts.compressionType ?? CompressionType.None,
  };
}

function emptyPayload(path: string): ErrIncompleteSnapshot {
  return new ErrIncompleteSnapshot(
    `${path}: refusing to write a snapshot with an empty payload (a snapshot holds at least its session table)`,
    { path, check: 'empty-payload' },
  );
}

/** Base of both writers: exclusive create, positioned writes, cleanup. */
abstract class FileWriter {
  protected position = HEADER_AREA_SIZE;
  private done = false;

  protected constructor(
    readonly path: string,
    protected readonly fh: FileHandle,
    protected readonly opts: SnapshotWriterOptions,
  ) {}

  protected static async openExclusive(path: string, version: 1n | 2n, opts: SnapshotWriterOptions): Promise<FileHandle> {
    // Fail on an oversized header before creating anything.
    buildHeaderArea(headerFor(version, opts, new Uint8Array(4)));
    let fh: FileHandle;
    try {
      fh = await open(path, 'wx', opts.mode ?? 0o644);
    } catch (err) {
      throw ioError(err, 'creating', path);
    }
    try {
      // Dragonboat writes a zeroed header area first; the real one comes last.
      await fh.write(new Uint8Array(HEADER_AREA_SIZE), 0, HEADER_AREA_SIZE, 0);
      return fh;
    } catch (err) {
      await fh.close().catch(() => undefined);
      await unlink(path).catch(() => undefined);
      throw ioError(err, 'writing', path);
    }
  }

  /** Writes all of `bytes` at `position` (a write may be partial). */
  private async writeAt(bytes: Uint8Array, position: number): Promise<void> {
    for (let off = 0; off < bytes.length; ) {
      const { bytesWritten } = await this.fh.write(bytes, off, bytes.length - off, position + off);
      off += bytesWritten;
    }
  }

  protected async put(bytes: Uint8Array): Promise<void> {
    try {
      await this.writeAt(bytes, this.position);
    } catch (err) {
      await this.abort();
      throw ioError(err, 'writing', this.path);
    }
    this.position += bytes.length;
  }

  protected assertOpen(): void {
    if (this.done) throw new ErrInvalidConfig(`snapshot writer for ${this.path} is already finished or aborted`, { path: this.path });
  }

  /** Writes the header area, fsyncs and closes. */
  protected async seal(header: SnapshotHeader): Promise<void> {
    try {
      await this.writeAt(buildHeaderArea(header), 0);
      await this.fh.sync();
      await this.fh.close();
      this.done = true;
    } catch (err) {
      await this.abort();
      throw ioError(err, 'writing', this.path);
    }
    // Like Dragonboat's writer: make the new directory entry durable too.
    const dir = dirname(this.path);
    try {
      const dh = await open(dir, 'r');
      try {
        await dh.sync();
      } finally {
        await dh.close();
      }
    } catch (err) {
      throw ioError(err, 'syncing', dir);
    }
  }

  /** Abandons the file: closes and removes it. Safe to call more than once. */
  async abort(): Promise<void> {
    if (this.done) return;
    this.done = true;
    await this.fh.close().catch(() => undefined);
    await unlink(this.path).catch(() => undefined);
  }
}

/** Streaming v2 writer; create it with {@link createV2SnapshotWriter}. */
export class V2SnapshotWriter extends FileWriter {
  /** Current block: data being filled, with room for its CRC. */
  private readonly block = new Uint8Array(V2_BLOCK_SIZE + BLOCK_CRC_SIZE);
  private fill = 0;
  private blocks = 0;
  private payloadBytes = 0;
  private payloadCrc = 0;

  /** Opens `path` (must not exist) for writing. */
  static async create(path: string, opts: SnapshotWriterOptions = {}): Promise<V2SnapshotWriter> {
    const abs = resolve(path);
    return new V2SnapshotWriter(abs, await FileWriter.openExclusive(abs, 2n, opts), opts);
  }

  /** Appends payload bytes; full 2 MiB blocks go to disk with their CRC. */
  async write(chunk: Uint8Array): Promise<void> {
    this.assertOpen();
    for (let at = 0; at < chunk.length; ) {
      const n = Math.min(V2_BLOCK_SIZE - this.fill, chunk.length - at);
      this.block.set(chunk.subarray(at, at + n), this.fill);
      this.fill += n;
      at += n;
      if (this.fill === V2_BLOCK_SIZE) await this.flushBlock();
    }
  }

  private async flushBlock(): Promise<void> {
    const crc = u32be(crc32(this.block.subarray(0, this.fill)));
    this.block.set(crc, this.fill);
    this.payloadCrc = crc32(crc, this.payloadCrc);
    this.payloadBytes += this.fill;
    this.blocks++;
    const len = this.fill + BLOCK_CRC_SIZE;
    this.fill = 0;
    await this.put(this.block.subarray(0, len));
  }

  /**
   * Writes the last block, the tail and the header area, fsyncs and closes.
   * Throws {@link ErrIncompleteSnapshot} (`empty-payload`) if nothing was written.
   */
  async finish(): Promise<SnapshotWriteResult> {
    this.assertOpen();
    if (this.fill > 0) await this.flushBlock();
    if (this.payloadBytes === 0) {
      await this.abort();
      throw emptyPayload(this.path);
    }
    const total = this.position - HEADER_AREA_SIZE;
    await this.put(encodeV2Tail(total));
    const payloadChecksum = u32be(this.payloadCrc);
    const header = headerFor(2n, this.opts, payloadChecksum);
    await this.seal(header);
    return {
      path: this.path,
      fileSize: BigInt(v2FileSize(this.payloadBytes)),
      payloadBytes: this.payloadBytes,
      blocks: this.blocks,
      payloadChecksum,
      header,
    };
  }
}

/** Opens a streaming v2 snapshot writer at `path` (must not exist). */
export function createV2SnapshotWriter(path: string, opts: SnapshotWriterOptions = {}): Promise<V2SnapshotWriter> {
  return V2SnapshotWriter.create(path, opts);
}

async function writeAll(
  w: { write(c: Uint8Array): Promise<void>; abort(): Promise<void> },
  data: Uint8Array | AsyncIterable<Uint8Array>,
): Promise<void> {
  try {
    if (data instanceof Uint8Array) await w.write(data);
    else for await (const chunk of data) await w.write(chunk);
  } catch (err) {
    await w.abort();
    throw err;
  }
}

/** Writes a complete v2 snapshot file from `data`. */
export async function writeV2SnapshotFile(
  path: string,
  data: Uint8Array | AsyncIterable<Uint8Array>,
  opts: SnapshotWriterOptions = {},
): Promise<SnapshotWriteResult> {
  const w = await createV2SnapshotWriter(path, opts);
  await writeAll(w, data);
  return w.finish();
}

/** Streaming v1 writer (payload after the header area, one CRC over it all). */
class V1SnapshotWriter extends FileWriter {
  private crc = 0;
  private bytes = 0;

  static async create(path: string, opts: SnapshotWriterOptions): Promise<V1SnapshotWriter> {
    const abs = resolve(path);
    return new V1SnapshotWriter(abs, await FileWriter.openExclusive(abs, 1n, opts), opts);
  }

  async write(chunk: Uint8Array): Promise<void> {
    this.assertOpen();
    this.crc = crc32(chunk, this.crc);
    this.bytes += chunk.length;
    await this.put(chunk);
  }

  async finish(): Promise<SnapshotWriteResult> {
    this.assertOpen();
    if (this.bytes === 0) {
      await this.abort();
      throw emptyPayload(this.path);
    }
    const payloadChecksum = u32be(this.crc);
    const header = headerFor(1n, this.opts, payloadChecksum);
    await this.seal(header);
    return {
      path: this.path,
      fileSize: BigInt(HEADER_AREA_SIZE + this.bytes),
      payloadBytes: this.bytes,
      blocks: 0,
      payloadChecksum,
      header,
    };
  }
}

/**
 * Writes a complete v1 snapshot file (the older format: no blocks, no tail).
 * For tests and completeness; Dragonboat v4 writes v2.
 */
export async function writeV1SnapshotFile(
  path: string,
  data: Uint8Array | AsyncIterable<Uint8Array>,
  opts: SnapshotWriterOptions = {},
): Promise<SnapshotWriteResult> {
  const w = await V1SnapshotWriter.create(path, opts);
  await writeAll(w, data);
  return w.finish();
}
