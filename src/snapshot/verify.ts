/**
 * Full verification of a `.gbsnap` file (docs/formats.md §3, "Stricter here"),
 * alone or while copying it. Each byte is read once; cheap checks run first:
 *
 * 0. `file-type`: the path must be a regular file;
 * 1. the header area (`header-length`, `header-area-crc`, `header-decode`,
 *    `header-checksum`, `checksum-type`, `version`, `header-padding`);
 * 2. `file-size`: the file's size against the record's `file_size`;
 * 3. `record-checksum`: the record's `checksum` against the header's
 *    `payload_checksum` (both are the payload checksum Dragonboat computed);
 * 4. `empty-payload`: a payload with no byte at all is refused (a snapshot
 *    always holds its session table; Dragonboat's import check rejects a v2
 *    file with no block);
 * 5. the engine's scan: v2 `tail-size`, `tail-magic`, `tail-total`,
 *    `block-layout`, `block-crc` (every block), then `file-changed`;
 *    v1 `file-changed`;
 * 6. `payload-checksum` (v2: CRC of the block CRCs) or `v1-payload-checksum`
 *    (v1: CRC of the payload) against the header.
 *
 * Every failure is {@link ErrIncompleteSnapshot} with `details.check`, `path`,
 * and where known `offset`, `block`, `expected` and `actual` (checksums as
 * 8-digit hex strings).
 */
import { open, unlink, type FileHandle } from 'node:fs/promises';
import { resolve } from 'node:path';
import { ErrIncompleteSnapshot, ioError, throwIfAborted } from '../errors.js';
import type { ChecksumEngine, PayloadCheck, PayloadLayout, PayloadScanFailure, ProgressFn } from '../engines/types.js';
import type { SnapshotHeader } from '../records/types.js';
import { bytesEqual, crcHex, hex, u32be } from './crc.js';
import { parseHeaderArea, type ParsedHeaderArea } from './header.js';
import { HEADER_AREA_SIZE, V2_TAIL_MAGIC, V2_TAIL_SIZE, checkV2Geometry } from './layout.js';

/** Options of {@link verifySnapshotFile}. */
export interface VerifyOptions {
  engine: ChecksumEngine;
  /** The snapshot record's `file_size`; checked against the file's size when given. */
  expectedFileSize?: bigint;
  /** The snapshot record's `checksum`; checked against the header and the payload when given. */
  expectedChecksum?: Uint8Array;
  signal?: AbortSignal;
  onProgress?: ProgressFn;
  /** Also compute the whole file's SHA-256 in the same pass (`report.sha256`): the bytes hashed are the bytes checked (and copied). */
  sha256?: boolean;
}

/** Options of {@link precheckSnapshotFile}: like {@link VerifyOptions}; no engine is needed. */
export interface PrecheckOptions {
  engine?: ChecksumEngine;
  expectedFileSize?: bigint;
  expectedChecksum?: Uint8Array;
  signal?: AbortSignal;
}

/** What {@link precheckSnapshotFile} found: the file's shape, before any block is read. */
export interface SnapshotPrecheck {
  path: string;
  fileSize: bigint;
  version: 1 | 2;
  header: SnapshotHeader;
  headerLength: number;
  /** Data bytes (v2: from the tail; v1: everything after the header area). */
  payloadBytes: number;
  /** v2: number of blocks; v1: 0. */
  blocks: number;
  /** Names of the checks performed, in order. */
  checks: string[];
}

/** Options of {@link copySnapshotFile}. */
export interface CopyOptions extends VerifyOptions {
  /** Permission bits of the copy (set exactly, regardless of umask). */
  mode: number;
}

/** What a successful verification found. */
export interface SnapshotFileReport {
  /** Absolute path of the verified file. */
  path: string;
  fileSize: bigint;
  version: 1 | 2;
  header: SnapshotHeader;
  headerLength: number;
  /** Data bytes (v2: without block CRCs and tail). */
  payloadBytes: number;
  /** v2: number of blocks; v1: 0. */
  blocks: number;
  /** v2: CRC of the block CRCs; v1: CRC of the payload. 4 bytes, big-endian. */
  payloadChecksum: Uint8Array;
  /** Names of the checks performed, in order. */
  checks: string[];
  /** For {@link copySnapshotFile}: the absolute path of the verified copy. */
  copiedTo?: string;
  /** With {@link VerifyOptions.sha256}: lowercase hex SHA-256 of the whole file, of the bytes read by the scan. */
  sha256?: string;
}

const ENGINE_CHECKS_V2: PayloadCheck[] = ['tail-size', 'tail-magic', 'tail-total', 'block-layout', 'block-crc', 'file-changed'];
const ENGINE_CHECKS_V1: PayloadCheck[] = ['file-changed'];

const what: Record<PayloadCheck, string> = {
  'tail-size': 'the file is too short to hold the v2 tail: it is truncated',
  'tail-magic': `the v2 tail magic is not ${hex(V2_TAIL_MAGIC)}: the file is truncated, extended or corrupt`,
  'tail-total': 'the v2 tail total does not match the bytes between header area and tail: the file is truncated or extended',
  'block-layout': 'the payload cannot be split into 2 MiB blocks with a non-empty last block: the file is truncated or extended',
  'block-crc': 'a block does not match its CRC: the payload is corrupt',
  'file-changed': 'the file changed size while it was read: something is writing it',
};

/** Reads up to `length` bytes at `position` (fewer only at end of file). */
async function readAt(fh: FileHandle, length: number, position: number): Promise<Uint8Array> {
  const buf = new Uint8Array(length);
  let got = 0;
  while (got < length) {
    const { bytesRead } = await fh.read(buf, got, length - got, position + got);
    if (bytesRead === 0) break;
    got += bytesRead;
  }
  return buf.subarray(0, got);
}

function fail(path: string, check: string, message: string, extra: Record<string, unknown> = {}): never {
  throw new ErrIncompleteSnapshot(`${path}: ${message}`, { path, check, ...extra });
}

function engineFailure(path: string, f: PayloadScanFailure): never {
  const crcCheck = f.check === 'block-crc';
  const value = (v: number | undefined): unknown => (v === undefined ? undefined : crcCheck ? crcHex(v) : v);
  const where = f.block === undefined ? `at byte ${f.offset}` : `in block ${f.block} (byte ${f.offset})`;
  fail(path, f.check, `${what[f.check]} (${where})`, {
    offset: f.offset,
    ...(f.block === undefined ? {} : { block: f.block }),
    ...(f.expected === undefined ? {} : { expected: value(f.expected) }),
    ...(f.actual === undefined ? {} : { actual: value(f.actual) }),
    ...(f.check === 'tail-magic' ? { expected: hex(V2_TAIL_MAGIC) } : {}),
  });
}

/** The cheap part: header, sizes, record vs header. Returns the engine's layout. */
async function precheck(
  fh: FileHandle,
  path: string,
  options: PrecheckOptions,
  checks: string[],
): Promise<{ parsed: ParsedHeaderArea; area: Uint8Array; layout: PayloadLayout }> {
  let size: number;
  let isFile: boolean;
  try {
    const st = await fh.stat();
    size = st.size;
    isFile = st.isFile();
  } catch (err) {
    throw ioError(err, 'checking', path);
  }
  if (!isFile) fail(path, 'file-type', 'is not a regular file');
  let area: Uint8Array;
  try {
    area = await readAt(fh, Math.min(HEADER_AREA_SIZE, size), 0);
  } catch (err) {
    throw ioError(err, 'reading', path);
  }

  const parsed = parseHeaderArea(area, path);
  checks.push(...parsed.checks);

  if (options.expectedFileSize !== undefined) {
    checks.push('file-size');
    if (BigInt(size) !== options.expectedFileSize) {
      fail(
        path,
        'file-size',
        `the file is ${size} bytes but the snapshot record says ${options.expectedFileSize}: the file is truncated, extended or not the recorded one`,
        { offset: size, expected: options.expectedFileSize, actual: BigInt(size) },
      );
    }
  }

  if (options.expectedChecksum !== undefined) {
    checks.push('record-checksum');
    if (!bytesEqual(options.expectedChecksum, parsed.header.payloadChecksum)) {
      fail(
        path,
        'record-checksum',
        "the snapshot record's checksum differs from the file header's payload checksum: the file is not the recorded one",
        { offset: 8, expected: hex(options.expectedChecksum), actual: hex(parsed.header.payloadChecksum) },
      );
    }
  }

  checks.push('empty-payload');
  const emptySize = parsed.version === 2 ? HEADER_AREA_SIZE + V2_TAIL_SIZE : HEADER_AREA_SIZE;
  if (size === emptySize) {
    fail(path, 'empty-payload', 'the snapshot holds no payload byte (not even a session table): it is incomplete', {
      offset: HEADER_AREA_SIZE,
    });
  }

  return { parsed, area, layout: { path, version: parsed.version, payloadOffset: HEADER_AREA_SIZE, fileSize: size } };
}

/** Opens `abs`, runs {@link precheck} on it and closes it again. */
async function precheckPath(
  abs: string,
  options: PrecheckOptions,
  checks: string[],
): Promise<{ parsed: ParsedHeaderArea; area: Uint8Array; layout: PayloadLayout }> {
  const fh = await openForReading(abs);
  try {
    return await precheck(fh, abs, options, checks);
  } finally {
    await fh.close().catch(() => undefined);
  }
}

async function openForReading(abs: string): Promise<FileHandle> {
  try {
    return await open(abs, 'r');
  } catch (err) {
    throw ioError(err, 'opening', abs);
  }
}

/**
 * The cheap part of {@link verifySnapshotFile}, reading only the header area
 * and (v2) the 16-byte tail: header checks, `file-size`, `record-checksum`,
 * `empty-payload`, then v2 `tail-size`, `tail-magic`, `tail-total`,
 * `block-layout`. Lets a caller refuse a bad snapshot before it touches
 * anything, then check every block while copying ({@link copySnapshotFile}).
 */
export async function precheckSnapshotFile(path: string, options: PrecheckOptions = {}): Promise<SnapshotPrecheck> {
  const abs = resolve(path);
  throwIfAborted(options.signal, `checking ${abs}`);
  const checks: string[] = [];
  const fh = await openForReading(abs);
  try {
    const { parsed, layout } = await precheck(fh, abs, options, checks);
    let payloadBytes = layout.fileSize - HEADER_AREA_SIZE;
    let blocks = 0;
    if (parsed.version === 2) {
      checks.push('tail-size', 'tail-magic', 'tail-total', 'block-layout');
      let tail: Uint8Array = new Uint8Array(0);
      if (layout.fileSize >= HEADER_AREA_SIZE + V2_TAIL_SIZE) {
        try {
          tail = await readAt(fh, V2_TAIL_SIZE, layout.fileSize - V2_TAIL_SIZE);
        } catch (err) {
          throw ioError(err, 'reading', abs);
        }
      }
      const g = checkV2Geometry(layout.fileSize, HEADER_AREA_SIZE, tail);
      if (!g.ok) engineFailure(abs, g);
      payloadBytes = g.payloadBytes;
      blocks = g.blocks;
    }
    return {
      path: abs,
      fileSize: BigInt(layout.fileSize),
      version: parsed.version,
      header: parsed.header,
      headerLength: parsed.headerLength,
      payloadBytes,
      blocks,
      checks,
    };
  } finally {
    await fh.close().catch(() => undefined);
  }
}

/** Compares the scanned payload checksum with the header's (and the record's). */
function checkPayloadChecksum(path: string, parsed: ParsedHeaderArea, crc: number, checks: string[]): Uint8Array {
  const got = u32be(crc);
  const check = parsed.version === 2 ? 'payload-checksum' : 'v1-payload-checksum';
  checks.push(check);
  if (!bytesEqual(got, parsed.header.payloadChecksum)) {
    fail(
      path,
      check,
      parsed.version === 2
        ? "the CRC of the block CRCs differs from the header's payload checksum: the file is corrupt"
        : "the payload's CRC differs from the header's payload checksum: the payload is corrupt",
      { offset: 8, expected: hex(parsed.header.payloadChecksum), actual: hex(got) },
    );
  }
  return got;
}

function report(
  path: string,
  parsed: ParsedHeaderArea,
  layout: PayloadLayout,
  payloadBytes: number,
  blocks: number,
  payloadChecksum: Uint8Array,
  checks: string[],
): SnapshotFileReport {
  return {
    path,
    fileSize: BigInt(layout.fileSize),
    version: parsed.version,
    header: parsed.header,
    headerLength: parsed.headerLength,
    payloadBytes,
    blocks,
    payloadChecksum,
    checks,
  };
}

/** Adds the scan's digest to the report; an engine that was asked for one and gave none is a bug, not a pass. */
function withDigest(r: SnapshotFileReport, path: string, options: VerifyOptions, sha256: string | undefined): SnapshotFileReport {
  if (!options.sha256) return r;
  if (typeof sha256 !== 'string' || !/^[0-9a-f]{64}$/.test(sha256)) {
    throw new ErrIncompleteSnapshot(
      `${path}: the ${options.engine.name} engine returned no SHA-256 of the file (rebuild the native addon)`,
      {
        path,
        check: 'sha256-unavailable',
        engine: options.engine.name,
      },
    );
  }
  return { ...r, sha256 };
}

/**
 * Verifies a snapshot file completely (see the module comment for the checks
 * and their order). Resolves to a report; throws {@link ErrIncompleteSnapshot}
 * naming the failed check, {@link ErrAborted}, or {@link ErrIO}.
 */
export async function verifySnapshotFile(path: string, options: VerifyOptions): Promise<SnapshotFileReport> {
  const abs = resolve(path);
  throwIfAborted(options.signal, `verifying ${abs}`);
  const checks: string[] = [];
  const pre = await precheckPath(abs, options, checks);
  const { parsed, layout } = pre;
  // Reported before the first byte, so a display times the whole scan (the engines report after each piece).
  options.onProgress?.(0, layout.fileSize);
  const scan = await options.engine.scanPayload(layout, { signal: options.signal, onProgress: options.onProgress, sha256: options.sha256 });
  checks.push(...(parsed.version === 2 ? ENGINE_CHECKS_V2 : ENGINE_CHECKS_V1));
  if (!scan.ok) engineFailure(abs, scan);
  const payloadChecksum = checkPayloadChecksum(abs, parsed, scan.payloadChecksum, checks);
  return withDigest(report(abs, parsed, layout, scan.payloadBytes, scan.blocks, payloadChecksum, checks), abs, options, scan.sha256);
}

/**
 * Copies a snapshot file to `dest` (created, must not exist, permission bits
 * `options.mode`, fsynced) while verifying it exactly as
 * {@link verifySnapshotFile} does, reading each byte once. The copy's header
 * area is re-read and compared with the one checked, so a file rewritten
 * between the two reads is caught (`file-changed`). On any failure the copy
 * is removed and nothing else is left behind.
 */
export async function copySnapshotFile(src: string, dest: string, options: CopyOptions): Promise<SnapshotFileReport> {
  const abs = resolve(src);
  const absDest = resolve(dest);
  throwIfAborted(options.signal, `copying ${abs}`);
  const checks: string[] = [];
  const pre = await precheckPath(abs, options, checks);
  const { parsed, layout, area } = pre;
  options.onProgress?.(0, layout.fileSize);
  const scan = await options.engine.copyAndScan(layout, absDest, options.mode, {
    signal: options.signal,
    onProgress: options.onProgress,
    sha256: options.sha256,
  });
  checks.push(...(parsed.version === 2 ? ENGINE_CHECKS_V2 : ENGINE_CHECKS_V1));
  if (!scan.ok) engineFailure(abs, scan);
  try {
    const payloadChecksum = checkPayloadChecksum(abs, parsed, scan.payloadChecksum, checks);
    if (!bytesEqual(await readHeaderBytes(absDest), area)) {
      fail(abs, 'file-changed', 'the header area changed while the file was copied: something is writing it', { offset: 0 });
    }
    return withDigest(
      { ...report(abs, parsed, layout, scan.payloadBytes, scan.blocks, payloadChecksum, checks), copiedTo: absDest },
      abs,
      options,
      scan.sha256,
    );
  } catch (err) {
    await unlink(absDest).catch(() => undefined);
    throw err;
  }
}

/**
 * Reads and checks only the header area of a snapshot file (for inspection
 * tools); throws like {@link parseHeaderArea}.
 */
export async function readHeaderArea(path: string): Promise<ParsedHeaderArea> {
  const abs = resolve(path);
  return parseHeaderArea(await readHeaderBytes(abs), abs);
}

/** The first {@link HEADER_AREA_SIZE} bytes of `abs` (fewer when the file is shorter). */
async function readHeaderBytes(abs: string): Promise<Uint8Array> {
  const fh = await openForReading(abs);
  try {
    return await readAt(fh, HEADER_AREA_SIZE, 0);
  } catch (err) {
    throw ioError(err, 'reading', abs);
  } finally {
    await fh.close().catch(() => undefined);
  }
}
