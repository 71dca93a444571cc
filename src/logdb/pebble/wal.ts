/**
 * Replaying the WALs as Pebble does at open: every `NNNNNN.log` numbered at
 * or above MinUnflushedLogNum, in number order, each record one batch. WALs
 * other than the newest are read strictly when the OPTIONS file says
 * strict_wal_tail (an invalid record fails the open); the newest one always
 * tolerantly (its first invalid record ends it, as after a crash mid-write).
 */
import * as path from 'node:path';
import { ErrCorruptLogStore } from '../../errors.js';
import { decodeBatch, type Batch } from '../../pebble/batch.js';
import { readLog, type LogEnding } from '../../pebble/record.js';
import { readFileOrThrow } from '../../files/fsutil.js';

/** One batch with where it is. */
export interface WalBatch extends Batch {
  /** File offset of its record. */
  offset: number;
  end: number;
}

/** One replayed WAL. */
export interface ReplayedWal {
  name: string;
  path: string;
  fileNum: number;
  size: number;
  /** Replayed last (tolerantly). */
  newest: boolean;
  /** Read strictly (an invalid record would have failed). */
  strict: boolean;
  batches: WalBatch[];
  ending: LogEnding;
  /** End of the last complete record: the cut point of a torn tail. */
  goodEnd: number;
}

/** Reads and decodes one WAL. */
export async function replayWal(walPath: string, fileNum: number, opts: { newest: boolean; strict: boolean }): Promise<ReplayedWal> {
  const file = await readFileOrThrow(walPath);
  const log = readLog(file, fileNum);
  const name = path.basename(walPath);
  if (log.ending.kind === 'damaged') {
    throw new ErrCorruptLogStore(`${walPath}: damaged WAL chunk at offset ${log.ending.offset} (${log.ending.reason})`, {
      path: walPath,
      offset: log.ending.offset,
      check: `wal-${log.ending.reason}`,
    });
  }
  if (log.ending.kind === 'torn' && opts.strict) {
    throw new ErrCorruptLogStore(
      `${walPath}: invalid record at offset ${log.ending.offset} (${log.ending.reason}) in a WAL that is not the newest; Pebble would refuse to open the store`,
      { path: walPath, offset: log.ending.offset, check: `wal-${log.ending.reason}` },
    );
  }
  const batches: WalBatch[] = [];
  for (const rec of log.records) {
    const b = decodeBatch(rec.payload, { path: walPath, base: rec.offset });
    batches.push({ ...b, offset: rec.offset, end: rec.end });
  }
  return {
    name,
    path: walPath,
    fileNum,
    size: file.length,
    newest: opts.newest,
    strict: opts.strict,
    batches,
    ending: log.ending,
    goodEnd: log.goodEnd,
  };
}
