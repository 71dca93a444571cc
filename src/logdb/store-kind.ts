/**
 * Which engine holds a NodeHost's log store, decided before anything opens a
 * partition. LevelDB 1.20 "succeeds" in opening an empty Pebble partition or
 * one whose data is only in its WAL, then rewrites the MANIFEST and deletes
 * the WAL: so the kind comes from what the directory records (`dragonboat.ds`
 * `logdb_type`), then each partition's own files are checked against it before
 * its engine reads a byte (LevelDB: {@link checkLevelDBPartitionFiles}; the
 * Pebble reader refuses LevelDB's files itself).
 */
import { readdir } from 'node:fs/promises';
import { ErrUnsupportedLogStore, ioError } from '../errors.js';
import { readFlagFileIfExists } from '../files/flagfile.js';
import { isNotFound } from '../files/fsutil.js';
import type { ResolvedNodeHostConfig } from '../nodehost/config.js';
import { dataStatusPath } from '../nodehost/paths.js';
import { DEFAULT_LOGDB_TYPE, logStoreEngineOf } from '../nodehost/settings.js';
import { decodeRaftDataStatus } from '../records/codec.js';
import { checkLogDBType } from '../nodehost/datastatus.js';
import type { LogStoreKind } from './store.js';

/** The log store of a NodeHost directory and where that answer came from. */
export interface LogStoreChoice {
  kind: LogStoreKind;
  /** The `logdb_type` name. */
  logdbType: string;
  /** `dragonboat.ds` (an existing host), `config` (a fresh host, `logdbType` given) or `default` (a fresh host, Dragonboat v4's default). */
  source: 'dragonboat.ds' | 'config' | 'default';
}

/**
 * The log store of `cfg`'s NodeHost: what NodeHostDir's `dragonboat.ds`
 * records (a configured `logdbType` that contradicts it is refused with
 * ErrLogDBType, an unknown type too), else the configured type, else
 * Dragonboat v4's default (`sharded-pebble`). Reads one small file.
 */
export async function resolveLogStore(cfg: ResolvedNodeHostConfig): Promise<LogStoreChoice> {
  const file = dataStatusPath(cfg.nodeHostDir);
  const status = await readFlagFileIfExists(file, decodeRaftDataStatus);
  if (status !== undefined) {
    // The rest of dragonboat.ds is checked where the operation checks the directory.
    checkLogDBType(status, cfg, file);
    return { kind: logStoreEngineOf(status.logdbType)!, logdbType: status.logdbType, source: 'dragonboat.ds' };
  }
  const logdbType = cfg.logdbType ?? DEFAULT_LOGDB_TYPE;
  return { kind: logStoreEngineOf(logdbType)!, logdbType, source: cfg.logdbType === undefined ? 'default' : 'config' };
}

// Files Pebble (and RocksDB) write and LevelDB never does: OPTIONS files, format
// markers, .sst tables, temporary files. (The Pebble reader refuses LevelDB's own
// files, LOG and *.ldb, itself: src/logdb/pebble/names.ts.)
const PEBBLE_ONLY = [/^OPTIONS-\d+$/, /^marker\./, /\.sst$/, /^temporary\.\d+\.dbtmp$/];

/**
 * Refuses with ErrUnsupportedLogStore a partition directory LevelDB must not
 * open: one holding a file only Pebble writes, or files but no CURRENT (a
 * Pebble store whose data is only in its WAL looks like that; LevelDB would
 * "recover" it by deleting the WAL). A missing directory passes (nothing to
 * confuse).
 */
export async function checkLevelDBPartitionFiles(dir: string): Promise<void> {
  let names: string[];
  try {
    names = await readdir(dir);
  } catch (err) {
    if (isNotFound(err)) return;
    throw ioError(err, 'cannot list log store partition', dir);
  }
  const hit = names.find((n) => PEBBLE_ONLY.some((re) => re.test(n)));
  if (hit !== undefined) {
    throw new ErrUnsupportedLogStore(
      `log store partition ${dir} holds ${hit}, a file Pebble writes, but the NodeHost directory records a LevelDB store: ` +
        'the partition was written by another engine than dragonboat.ds says; nothing was opened or changed. Check logdbType and dragonboat.ds',
      { path: `${dir}/${hit}`, check: 'foreign-engine-file', expected: 'leveldb', actual: 'pebble' },
    );
  }
  if (!names.includes('CURRENT') && names.some((n) => n !== 'LOCK' && n !== 'LOG' && n !== 'LOG.old')) {
    throw new ErrUnsupportedLogStore(
      `log store partition ${dir} has files but no CURRENT: it is not a LevelDB database (a Pebble store whose data is only in its WAL looks like this), ` +
        'and opening it with LevelDB would delete that WAL; nothing was opened or changed',
      { path: dir, check: 'no-current', expected: 'CURRENT', actual: names.slice(0, 8) },
    );
  }
}
