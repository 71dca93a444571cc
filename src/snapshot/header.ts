/**
 * The 1024-byte header area of a `.gbsnap` file (docs/formats.md §3): parse and
 * check it, or build it for the writer. Pure.
 *
 * Layout: bytes 0..7 little-endian length N of the marshaled SnapshotHeader,
 * bytes 8..8+N the header, the 4 bytes after it an optional CRC32 of the
 * header bytes (Go's `hash.Sum`, big-endian, as Dragonboat's `validateHeader`
 * compares it; all zeros = not set), zeros to byte 1024.
 */
import { ErrIncompleteSnapshot, ErrInvalidConfig, ErrMalformedRecord } from '../errors.js';
// The protobuf-free codec: verify reads headers without loading the protobuf runtime (records/lite.ts).
import { decodeSnapshotHeaderLite as decodeSnapshotHeader, encodeSnapshotHeaderLite as encodeSnapshotHeader } from '../records/lite.js';
import { ChecksumType, type SnapshotHeader } from '../records/types.js';
import { scanFields } from '../records/wire.js';
import { bytesEqual, crc32, hex, readU32be, u32be } from './crc.js';
import { HEADER_AREA_SIZE, MAX_HEADER_LENGTH } from './layout.js';

/** Field number of `header_checksum` in SnapshotHeader. */
const HEADER_CHECKSUM_FIELD = 5;

/** A parsed and checked header area. */
export interface ParsedHeaderArea {
  header: SnapshotHeader;
  /** N: length of the marshaled header. */
  headerLength: number;
  /** The marshaled header exactly as stored (a copy of bytes 8..8+N). */
  rawHeader: Uint8Array;
  /** Whether `header_checksum` is set; always true once parsed, since it is required and verified. */
  headerChecksumPresent: boolean;
  /** Whether the 4-byte header CRC after the header is set (and so was verified). */
  headerAreaCrcSet: boolean;
  version: 1 | 2;
  /** Names of the checks performed, in order. */
  checks: string[];
}

function fail(message: string, path: string | undefined, check: string, extra: Record<string, unknown> = {}, cause?: unknown): never {
  throw new ErrIncompleteSnapshot(message, { path, check, ...extra }, cause === undefined ? undefined : { cause });
}

/**
 * The CRC32 `header_checksum` should hold: over the raw header bytes with
 * every field-5 occurrence (tag, length and value) spliced out. Splicing the
 * stored bytes instead of re-encoding keeps this right for writers that emit
 * fewer fields than we do (the golden file has no compression_type).
 */
export function headerChecksumOf(rawHeader: Uint8Array): number {
  let crc = 0;
  let from = 0;
  for (const f of scanFields(rawHeader, 'SnapshotHeader')) {
    if (f.fieldNumber !== HEADER_CHECKSUM_FIELD) continue;
    crc = crc32(rawHeader.subarray(from, f.start), crc);
    from = f.end;
  }
  return crc32(rawHeader.subarray(from), crc);
}

/**
 * Parses and checks the header area (`area` = the file's first bytes, at
 * least 1024 if the file has them). Throws {@link ErrIncompleteSnapshot} with
 * `details.check`, in this order: `header-length` (file shorter than 1024, N
 * = 0, or N > 1012 so the header CRC slot would spill into the payload —
 * Dragonboat's reader fails there too), `header-area-crc`, `header-decode`,
 * `header-checksum` (required, and must match), `checksum-type` (must be CRC32IEEE), `version` (1 or 2),
 * `header-padding` (bytes after the CRC slot must be zero, as Dragonboat
 * writes them).
 */
export function parseHeaderArea(area: Uint8Array, path?: string): ParsedHeaderArea {
  const where = path ?? 'snapshot file';
  const checks: string[] = ['header-length'];
  if (area.length < HEADER_AREA_SIZE) {
    fail(
      `${where} is ${area.length} bytes, shorter than the ${HEADER_AREA_SIZE}-byte header area: the file is truncated`,
      path,
      'header-length',
      { offset: 0, expected: `>= ${HEADER_AREA_SIZE}`, actual: area.length },
    );
  }
  const n = new DataView(area.buffer, area.byteOffset, area.byteLength).getBigUint64(0, true);
  if (n === 0n || n > BigInt(MAX_HEADER_LENGTH)) {
    fail(
      `${where}: header length ${n} is out of range 1..${MAX_HEADER_LENGTH}: the header area is corrupt or this is not a snapshot file`,
      path,
      'header-length',
      { offset: 0, expected: `1..${MAX_HEADER_LENGTH}`, actual: n },
    );
  }
  const headerLength = Number(n);
  const rawHeader = new Uint8Array(area.subarray(8, 8 + headerLength));
  const areaCrcOffset = 8 + headerLength;
  const areaCrc = area.subarray(areaCrcOffset, areaCrcOffset + 4);
  const headerAreaCrcSet = areaCrc.some((b) => b !== 0);

  checks.push('header-area-crc');
  if (headerAreaCrcSet) {
    const want = crc32(rawHeader);
    if (readU32be(areaCrc, 0) !== want) {
      fail(`${where}: the header CRC after the header does not match the header bytes: the header is corrupt`, path, 'header-area-crc', {
        offset: areaCrcOffset,
        expected: hex(areaCrc),
        actual: hex(u32be(want)),
      });
    }
  }

  checks.push('header-decode');
  let header: SnapshotHeader;
  try {
    header = decodeSnapshotHeader(rawHeader);
  } catch (err) {
    if (!(err instanceof ErrMalformedRecord)) throw err;
    const inner = typeof err.details.offset === 'number' ? err.details.offset : 0;
    fail(
      `${where}: the snapshot header cannot be decoded (${err.message}): the header is corrupt`,
      path,
      'header-decode',
      { offset: 8 + inner },
      err,
    );
  }

  // Required, not just checked when present: every Dragonboat writer sets it
  // (saveHeader), and without it a corrupted tag that hides field 5 as an
  // unknown field would leave the header unverifiable.
  const headerChecksumPresent = header.headerChecksum.length > 0;
  checks.push('header-checksum');
  if (!headerChecksumPresent) {
    fail(
      `${where}: the snapshot header has no header_checksum (every Dragonboat writer sets one): the header is corrupt`,
      path,
      'header-checksum',
      { offset: 8, expected: 'a 4-byte CRC32', actual: '' },
    );
  }
  const want = u32be(headerChecksumOf(rawHeader));
  if (!bytesEqual(header.headerChecksum, want)) {
    fail(`${where}: header_checksum does not match the header: the header is corrupt`, path, 'header-checksum', {
      offset: 8,
      expected: hex(header.headerChecksum),
      actual: hex(want),
    });
  }

  checks.push('checksum-type');
  if (header.checksumType !== ChecksumType.CRC32IEEE) {
    fail(`${where}: checksum type ${header.checksumType} is not supported (only CRC32IEEE is ever written)`, path, 'checksum-type', {
      offset: 8,
      expected: ChecksumType.CRC32IEEE,
      actual: header.checksumType,
    });
  }

  checks.push('version');
  if (header.version !== 1n && header.version !== 2n) {
    fail(`${where}: snapshot format version ${header.version} is not 1 or 2`, path, 'version', {
      offset: 8,
      expected: '1 or 2',
      actual: header.version,
    });
  }

  checks.push('header-padding');
  for (let i = areaCrcOffset + 4; i < HEADER_AREA_SIZE; i++) {
    if (area[i] !== 0) {
      fail(`${where}: byte ${i} of the header area should be zero: the header area is corrupt`, path, 'header-padding', {
        offset: i,
        expected: 0,
        actual: area[i],
      });
    }
  }

  return {
    header,
    headerLength,
    rawHeader,
    headerChecksumPresent,
    headerAreaCrcSet,
    version: header.version === 1n ? 1 : 2,
    checks,
  };
}

/**
 * Builds the 1024-byte header area for `header` as Dragonboat does: the
 * header marshaled with `header_checksum` = CRC32 of the header without it,
 * its length before it, and the 4-byte header CRC slot left zero ("not set").
 * `header.headerChecksum` is ignored. Throws {@link ErrInvalidConfig} when
 * the header does not fit (an overlong git_version).
 */
export function buildHeaderArea(header: SnapshotHeader): Uint8Array {
  const raw = encodeSnapshotHeader({ ...header, headerChecksum: new Uint8Array(4) });
  if (raw.length > MAX_HEADER_LENGTH) {
    throw new ErrInvalidConfig(`snapshot header is ${raw.length} bytes, more than ${MAX_HEADER_LENGTH}: shorten gitVersion`, {
      expected: `<= ${MAX_HEADER_LENGTH}`,
      actual: raw.length,
    });
  }
  const field = scanFields(raw, 'SnapshotHeader').find((f) => f.fieldNumber === HEADER_CHECKSUM_FIELD)!;
  raw.set(u32be(headerChecksumOf(raw)), field.valueStart);
  const area = new Uint8Array(HEADER_AREA_SIZE);
  new DataView(area.buffer).setBigUint64(0, BigInt(raw.length), true);
  area.set(raw, 8);
  return area;
}
