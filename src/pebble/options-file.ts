/**
 * The OPTIONS-NNNNNN file: INI-like text Pebble rewrites at every read-write
 * open. Pebble itself only checks the comparer, the merger and reads
 * strict_wal_tail from it; this tool also refuses any content that says the
 * store was written by another engine, version or configuration than
 * Dragonboat v4's (another format major version, compression, filters,
 * property collectors, an unknown section or key). Tuning values (sizes,
 * thresholds, the recorded wal_dir) are reported, never refused. Pure.
 */
import { corrupt, unsupported, type Where } from './fail.js';
import { BYTEWISE_COMPARATOR, CONCATENATE_MERGER } from './sstable-meta.js';

const OPTIONS_KEYS = new Set([
  'bytes_per_sync',
  'cache_size',
  'cleaner',
  'compaction_debt_concurrency',
  'comparer',
  'disable_wal',
  'flush_delay_delete_range',
  'flush_delay_range_key',
  'flush_split_bytes',
  'format_major_version',
  'l0_compaction_concurrency',
  'l0_compaction_file_threshold',
  'l0_compaction_threshold',
  'l0_stop_writes_threshold',
  'lbase_max_bytes',
  'level_multiplier',
  'max_concurrent_compactions',
  'max_manifest_file_size',
  'max_open_files',
  'mem_table_size',
  'mem_table_stop_writes_threshold',
  'min_deletion_rate',
  'merger',
  'point_tombstone_weight',
  'read_compaction_rate',
  'read_sampling_multiplier',
  'strict_wal_tail',
  'table_cache_shards',
  'table_property_collectors',
  'validate_on_ingest',
  'wal_dir',
  'wal_bytes_per_sync',
  'max_writer_concurrency',
  'force_writer_parallelism',
  'disable_delete_only_compactions',
  'disable_elision_only_compactions',
  'disable_lazy_combined_iteration',
]);
const LEVEL_KEYS = new Set([
  'block_restart_interval',
  'block_size',
  'compression',
  'filter_policy',
  'filter_type',
  'index_block_size',
  'target_file_size',
]);

/** What an OPTIONS file says. */
export interface PebbleOptions {
  /** Whether WALs other than the last are replayed strictly. */
  strictWalTail: boolean;
  formatMajorVersion: number;
  comparer: string;
  merger: string;
  /** The WAL dir recorded at the last open (may be stale after a copy). */
  walDir?: string;
  /** `[Options]` key → value, as written. */
  options: Record<string, string>;
  /** Level number → its key → value. */
  levels: Record<string, Record<string, string>>;
}

/** Parses and checks an OPTIONS file. */
export function parseOptionsFile(text: string, where: Where): PebbleOptions {
  const options: Record<string, string> = {};
  const levels: Record<string, Record<string, string>> = {};
  const version: Record<string, string> = {};
  let section: string | undefined;
  let offset = 0;
  const refuse = (lineAt: number, check: string, msg: string): never => {
    throw unsupported(where, lineAt, check, `OPTIONS: ${msg}`);
  };
  for (const rawLine of text.split('\n')) {
    const lineAt = offset;
    offset += Buffer.byteLength(rawLine, 'utf8') + 1;
    const line = rawLine.trim();
    if (line === '' || line[0] === ';' || line[0] === '#') continue;
    if (line[0] === '[' && line[line.length - 1] === ']') {
      section = line.slice(1, -1);
      if (section !== 'Version' && section !== 'Options' && !/^Level "\d+"$/.test(section)) {
        refuse(lineAt, 'options-section', `unknown section [${section}] (not written by Pebble for Dragonboat)`);
      }
      continue;
    }
    const eq = line.indexOf('=');
    if (eq < 0) throw corrupt(where, lineAt, 'options-syntax', `OPTIONS: invalid key=value syntax: ${JSON.stringify(line)}`);
    const key = line.slice(0, eq).trim();
    const value = line.slice(eq + 1).trim();
    if (section === 'Version') {
      version[key] = value;
    } else if (section === 'Options') {
      if (!OPTIONS_KEYS.has(key)) refuse(lineAt, 'options-key', `unknown option ${key}`);
      options[key] = value;
    } else if (section !== undefined) {
      if (!LEVEL_KEYS.has(key)) refuse(lineAt, 'options-key', `unknown level option ${key}`);
      const level = /^Level "(\d+)"$/.exec(section)![1]!;
      levels[level] ??= {};
      levels[level][key] = value;
      if (key === 'compression' && value !== 'NoCompression') refuse(lineAt, 'compression', `level ${level} compression=${value}`);
      if (key === 'filter_policy' && value !== 'none') refuse(lineAt, 'filter', `level ${level} filter_policy=${value}`);
    } else {
      refuse(lineAt, 'options-section', `option ${key} outside any section`);
    }
  }
  const versionKeys = Object.keys(version);
  if (versionKeys.length !== 1 || version['pebble_version'] !== '0.1') {
    refuse(
      0,
      'options-engine',
      `[Version] is ${JSON.stringify(version)}, not pebble_version=0.1 (another engine or version wrote the store)`,
    );
  }
  const fmv = options['format_major_version'];
  if (fmv !== '1') refuse(0, 'format-major-version', `format_major_version=${fmv ?? '(missing)'} (only 1 is read and written)`);
  const comparer = options['comparer'];
  if (comparer !== BYTEWISE_COMPARATOR) refuse(0, 'comparator', `comparer=${comparer ?? '(missing)'}`);
  const merger = options['merger'];
  if (merger !== CONCATENATE_MERGER && merger !== 'nullptr') refuse(0, 'merger', `merger=${merger ?? '(missing)'}`);
  const collectors = options['table_property_collectors'];
  if (collectors !== undefined && collectors !== '[]') refuse(0, 'property-collectors', `table_property_collectors=${collectors}`);
  const strict = options['strict_wal_tail'];
  let strictWalTail = false;
  if (strict !== undefined) {
    // Go's strconv.ParseBool spellings.
    if (['1', 't', 'T', 'TRUE', 'true', 'True'].includes(strict)) strictWalTail = true;
    else if (!['0', 'f', 'F', 'FALSE', 'false', 'False'].includes(strict)) {
      throw corrupt(where, 0, 'options-syntax', `OPTIONS: strict_wal_tail=${strict} is not a boolean`);
    }
  }
  const out: PebbleOptions = { strictWalTail, formatMajorVersion: 1, comparer: comparer!, merger: merger!, options, levels };
  if (options['wal_dir'] !== undefined) out.walDir = options['wal_dir'];
  return out;
}

/**
 * The OPTIONS text Pebble writes for Dragonboat v4's default LogDB
 * configuration (docs/pebble-store.md "OPTIONS"), for a store built without Pebble.
 * `walDir` is the partition's WAL dir; `tableCacheShards` Pebble's GOMAXPROCS.
 */
export function dragonboatOptionsText(walDir: string, tableCacheShards = 2): string {
  const options: [string, string | number][] = [
    ['bytes_per_sync', 524288],
    ['cache_size', 0],
    ['cleaner', 'delete'],
    ['compaction_debt_concurrency', 1073741824],
    ['comparer', BYTEWISE_COMPARATOR],
    ['disable_wal', 'false'],
    ['flush_delay_delete_range', '0s'],
    ['flush_delay_range_key', '0s'],
    ['flush_split_bytes', 33554432],
    ['format_major_version', 1],
    ['l0_compaction_concurrency', 10],
    ['l0_compaction_file_threshold', 8],
    ['l0_compaction_threshold', 4],
    ['l0_stop_writes_threshold', 24],
    ['lbase_max_bytes', 4294967296],
    ['max_concurrent_compactions', 1],
    ['max_manifest_file_size', 134217728],
    ['max_open_files', 1000],
    ['mem_table_size', 134217728],
    ['mem_table_stop_writes_threshold', 4],
    ['min_deletion_rate', 0],
    ['merger', CONCATENATE_MERGER],
    ['point_tombstone_weight', '1.000000'],
    ['read_compaction_rate', 16000],
    ['read_sampling_multiplier', 16],
    ['strict_wal_tail', 'true'],
    ['table_cache_shards', tableCacheShards],
    ['table_property_collectors', '[]'],
    ['validate_on_ingest', 'false'],
    ['wal_dir', walDir],
    ['wal_bytes_per_sync', 0],
    ['max_writer_concurrency', 0],
    ['force_writer_parallelism', 'false'],
  ];
  let text = '[Version]\n  pebble_version=0.1\n\n[Options]\n';
  for (const [k, v] of options) text += `  ${k}=${v}\n`;
  for (let level = 0; level < 7; level++) {
    text +=
      `\n[Level "${level}"]\n  block_restart_interval=16\n  block_size=32768\n  compression=NoCompression\n  filter_policy=none\n` +
      `  filter_type=table\n  index_block_size=32768\n  target_file_size=${16777216 * 2 ** level}\n`;
  }
  return text;
}
