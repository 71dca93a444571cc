/**
 * The contents of a node's snapshot root, classified the way Dragonboat's
 * snapshotter classifies them when a node restarts (processOrphans).
 */
import * as fsp from 'node:fs/promises';
import * as path from 'node:path';
import { NodeHostToolsError, ioError } from '../errors.js';
import { isNotFound, lstatOrUndefined, statOrUndefined } from '../files/fsutil.js';
import { readFlagFile } from '../files/flagfile.js';
import { decodeSnapshot } from '../records/codec.js';
import { DELETED_FLAG_FILENAME, GENERATING_SUFFIX, RECEIVING_SUFFIX, SNAPSHOT_FLAG_FILENAME } from './paths.js';

/** What a name in a snapshot root is, by Dragonboat's name patterns. */
export type SnapshotDirKind = 'final' | 'generating' | 'receiving' | 'other';

/** A parsed snapshot-root entry name. */
export type ParsedSnapshotDirName =
  | { kind: 'final'; index: bigint }
  | { kind: 'generating' | 'receiving'; index: bigint /** Decimal replica ID when the name holds one. */; from: bigint | undefined }
  | { kind: 'other' };

// Dragonboat's own patterns (SnapshotDirNameRe, GenSnapshotDirNameRe, RecvSnapshotDirNameRe):
// upper-case hex only, any length; FROM is matched as hex even though it is written in decimal.
const FINAL_RE = /^snapshot-([0-9A-F]+)$/;
const TEMP_RE = new RegExp(`^snapshot-([0-9A-F]+)-([0-9A-F]+)\\.(${GENERATING_SUFFIX}|${RECEIVING_SUFFIX})$`);

/** Classifies a name found in a snapshot root (pure). */
export function parseSnapshotDirName(name: string): ParsedSnapshotDirName {
  const f = FINAL_RE.exec(name);
  if (f) return { kind: 'final', index: BigInt(`0x${f[1]}`) };
  const t = TEMP_RE.exec(name);
  if (t) {
    const from = /^[0-9]+$/.test(t[2]!) ? BigInt(t[2]!) : undefined;
    return { kind: t[3] === GENERATING_SUFFIX ? 'generating' : 'receiving', index: BigInt(`0x${t[1]}`), from };
  }
  return { kind: 'other' };
}

/** One entry of a snapshot root. */
export interface SnapshotDirEntry {
  name: string;
  path: string;
  kind: SnapshotDirKind;
  /** True for directories (symlinks followed, as Dragonboat does). Only directories count as snapshots. */
  isDirectory: boolean;
  /** Index from the name (final, generating, receiving). */
  index?: bigint;
  /** Replica ID from a temporary directory's name. */
  from?: bigint;
  /** A final directory holds `dragonboat.snapshot.message` (not yet recorded, or an orphan). */
  hasFlagFile: boolean;
  /** Index recorded in that flag file (read only with `readFlags`). */
  flagIndex?: bigint;
  /** Why the flag file could not be read (with `readFlags`). A restarting node would fail on it. */
  flagError?: NodeHostToolsError;
}

/** Options of {@link listSnapshotDirs}. */
export interface ListSnapshotDirsOptions {
  /** Read each flag file's snapshot record to fill `flagIndex` (default false). */
  readFlags?: boolean;
}

/**
 * Lists a snapshot root, sorted by name. A missing root lists as empty.
 * Only directories are classified as final/generating/receiving; everything
 * else is `other`.
 */
export async function listSnapshotDirs(root: string, opts: ListSnapshotDirsOptions = {}): Promise<SnapshotDirEntry[]> {
  let names: string[];
  try {
    names = await fsp.readdir(root);
  } catch (err) {
    if (isNotFound(err)) return [];
    throw ioError(err, 'cannot list snapshot directory', root);
  }
  names.sort();
  const out: SnapshotDirEntry[] = [];
  for (const name of names) {
    const p = path.join(root, name);
    const st = await statOrUndefined(p);
    const isDirectory = st?.isDirectory() ?? false;
    const parsed = isDirectory ? parseSnapshotDirName(name) : ({ kind: 'other' } as const);
    const entry: SnapshotDirEntry = { name, path: p, kind: parsed.kind, isDirectory, hasFlagFile: false };
    if (parsed.kind !== 'other') entry.index = parsed.index;
    if (parsed.kind === 'generating' || parsed.kind === 'receiving') {
      if (parsed.from !== undefined) entry.from = parsed.from;
    }
    if (parsed.kind === 'final') {
      const flag = path.join(p, SNAPSHOT_FLAG_FILENAME);
      entry.hasFlagFile = (await lstatOrUndefined(flag)) !== undefined;
      if (entry.hasFlagFile && opts.readFlags) {
        try {
          entry.flagIndex = (await readFlagFile(flag, decodeSnapshot)).index;
        } catch (err) {
          if (!(err instanceof NodeHostToolsError)) throw err;
          entry.flagError = err;
        }
      }
    }
    out.push(entry);
  }
  return out;
}

/** What a restarting Dragonboat node does with an entry of its snapshot root. */
export type RestartFate = 'keep' | 'remove-flag' | 'delete' | 'ignore';

/**
 * What a restarting node does with `entry`, given the snapshot index its log
 * store records (undefined: no snapshot record). Mirrors Dragonboat v4's
 * processOrphans: temporary directories are deleted; a flagged final directory
 * keeps (and loses its flag) only when its flag file's index is the recorded
 * one; an unflagged final directory survives only when it is the recorded one;
 * anything else is ignored. A flagged entry read without `readFlags` is judged
 * by its name's index.
 */
export function restartFate(entry: SnapshotDirEntry, recordedIndex: bigint | undefined): RestartFate {
  switch (entry.kind) {
    case 'generating':
    case 'receiving':
      return 'delete';
    case 'final': {
      if (entry.hasFlagFile) {
        const idx = entry.flagIndex ?? entry.index;
        return recordedIndex !== undefined && idx === recordedIndex ? 'remove-flag' : 'delete';
      }
      return recordedIndex !== undefined && entry.index === recordedIndex ? 'keep' : 'delete';
    }
    default:
      return 'ignore';
  }
}

/** True when the snapshot root holds `DELETED.dragonboat` (the node was removed and must never be reused). */
export async function isMarkedDeleted(root: string): Promise<boolean> {
  return (await lstatOrUndefined(path.join(root, DELETED_FLAG_FILENAME))) !== undefined;
}
