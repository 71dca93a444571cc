/**
 * File names in a Pebble partition, parsed exactly as Pebble parses them: a
 * single counter numbers WALs, MANIFESTs, tables, OPTIONS files and temporary
 * files, and Pebble moves its counter past every name it can parse, so a new
 * file must be numbered above all of them. Names Pebble cannot parse are
 * ignored, except those that say another engine or format wrote the
 * directory (LevelDB's `LOG`/`*.ldb`, the markers of format major versions ≥ 2).
 */
import * as path from 'node:path';
import { ErrUnsupportedLogStore } from '../../errors.js';

export type PebbleFileType = 'current' | 'lock' | 'manifest' | 'options' | 'table' | 'log' | 'temp' | 'old-temp';

/** A parsed name. `num` is 0 for CURRENT and LOCK. */
export interface ParsedName {
  name: string;
  type: PebbleFileType;
  num: number;
}

// Go's strconv.ParseUint(s, 10, 64): ASCII digits only, at most 2^64 − 1.
function parseFileNum(s: string, dir: string, name: string): number | undefined {
  if (!/^[0-9]+$/.test(s)) return undefined;
  const big = BigInt(s);
  if (big >= 1n << 64n) return undefined;
  if (big > BigInt(Number.MAX_SAFE_INTEGER)) {
    throw new ErrUnsupportedLogStore(`${path.join(dir, name)}: file number ${s} is 2^53 or larger`, {
      path: path.join(dir, name),
      check: 'file-number-range',
    });
  }
  return Number(big);
}

/** Parses a name like Pebble's `base.ParseFilename`; undefined when Pebble would ignore it. */
export function parsePebbleName(name: string, dir: string): ParsedName | undefined {
  if (name === 'CURRENT') return { name, type: 'current', num: 0 };
  if (name === 'LOCK') return { name, type: 'lock', num: 0 };
  let num: number | undefined;
  if (name.startsWith('MANIFEST-')) {
    num = parseFileNum(name.slice(9), dir, name);
    return num === undefined ? undefined : { name, type: 'manifest', num };
  }
  if (name.startsWith('OPTIONS-')) {
    num = parseFileNum(name.slice(8), dir, name);
    return num === undefined ? undefined : { name, type: 'options', num };
  }
  if (name.startsWith('CURRENT.') && name.endsWith('.dbtmp')) {
    num = parseFileNum(name.slice(8, -6), dir, name);
    return num === undefined ? undefined : { name, type: 'old-temp', num };
  }
  if (name.startsWith('temporary.') && name.endsWith('.dbtmp')) {
    num = parseFileNum(name.slice(10, -6), dir, name);
    return num === undefined ? undefined : { name, type: 'temp', num };
  }
  const dot = name.indexOf('.');
  if (dot < 0) return undefined;
  const ext = name.slice(dot + 1);
  if (ext !== 'sst' && ext !== 'log') return undefined;
  num = parseFileNum(name.slice(0, dot), dir, name);
  if (num === undefined) return undefined;
  return { name, type: ext === 'sst' ? 'table' : 'log', num };
}

/** `%06d` (longer when larger), Pebble's number format in names. */
export function fileNumString(num: number): string {
  return String(num).padStart(6, '0');
}

export const walName = (num: number): string => `${fileNumString(num)}.log`;
export const tableName = (num: number): string => `${fileNumString(num)}.sst`;
export const manifestName = (num: number): string => `MANIFEST-${fileNumString(num)}`;
/** Pebble's own temporary name: a leftover is deleted by Pebble's next read-write open (from the data dir). */
export const pebbleTempName = (num: number): string => `temporary.${fileNumString(num)}.dbtmp`;
/** Our temporary name for the WAL dir: Pebble does not parse it, so it neither counts nor deletes it. */
export const toolTempName = (num: number): string => `nodehost-tools.${fileNumString(num)}.tmp`;
/** True for a temporary name this tool uses in a WAL dir. */
export const isToolTempName = (name: string): boolean => /^nodehost-tools\.[0-9]+\.tmp$/.test(name);

/** Refuses names that say the directory is not a format-major-version-1 Pebble store. */
export function checkForeignName(name: string, dir: string): void {
  const p = path.join(dir, name);
  if (name === 'LOG' || name === 'LOG.old' || name.startsWith('LOG.old.') || name.endsWith('.ldb')) {
    throw new ErrUnsupportedLogStore(`${p}: a LevelDB file in a Pebble partition (${name})`, { path: p, check: 'leveldb-file' });
  }
  if (name.startsWith('marker.')) {
    throw new ErrUnsupportedLogStore(`${p}: a Pebble marker file, written only at format major version 2 or later`, {
      path: p,
      check: 'marker-file',
    });
  }
}
