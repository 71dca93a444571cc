/**
 * `exportSnapshot(..., { withLog })` and `verify` of its suffix: real nodes
 * laid out through our LogDB (plain and batched logs, on the store the suite
 * runs on), real export directories, every refusal leaving nothing behind.
 */
import { existsSync, readFileSync, readdirSync, writeFileSync } from 'node:fs';
import { rm } from 'node:fs/promises';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import {
  ErrAborted,
  ErrInvalidConfig,
  ErrLogDiverged,
  ErrLogSuffix,
  ErrManifestMismatch,
  ErrIncompleteSnapshot,
  type NodeHostToolsError,
} from '../../src/errors.js';
import { LogDB } from '../../src/logdb/logdb.js';
import { encodeMaxIndex, entryKey, maxIndexKey } from '../../src/logdb/keys.js';
import { exportSnapshot } from '../../src/ops/export.js';
import { importSnapshot } from '../../src/ops/import.js';
import { readExportDir } from '../../src/ops/export-dir.js';
import { NOTHING_PAST_SNAPSHOT } from '../../src/ops/export-log.js';
import { MANIFEST_FILENAME, readManifest } from '../../src/ops/manifest.js';
import { verifySnapshot } from '../../src/ops/verify.js';
import { decodeEntry, encodeEntry } from '../../src/records/codec.js';
import { LOG_SUFFIX_FILENAME, type LogSuffixEntry, type LogSuffixHeader } from '../../src/records/log-suffix.js';
import { endOf, readSuffix, suffixBytes } from '../helpers/log-suffix.js';
import { EntryType, StateMachineType, type Entry } from '../../src/records/types.js';
import { makeEntries, makeEntry, makeRunningNode, makeTempDir, type RunningNode, type RunningNodeOptions } from '../helpers/nodehost.js';
import { flipByte } from '../helpers/snapshots.js';
import { treeHash } from '../helpers/tree.js';
import { expectCodedRejection, freshConfig, makeExport } from './fixtures.js';
import { M4, workedMembers } from '../helpers/worked-example.js';

const cleanups: (() => Promise<void>)[] = [];
afterEach(async () => {
  for (const c of cleanups.splice(0)) await c();
});

async function node(opts: RunningNodeOptions = {}): Promise<RunningNode> {
  const n = await makeRunningNode(opts);
  cleanups.push(n.cleanup);
  return n;
}

async function dest(prefix = 'nht-export-log-'): Promise<string> {
  const d = await makeTempDir(prefix);
  cleanups.push(() => rm(d, { recursive: true, force: true }));
  return d;
}

/** Appends `entries` to the node's log (and its max index) as a running node would. */
/** `export --with-log` of `n` into `out`, refused with `cls`; nothing is left at the destination. Returns the error. */
async function refusedExport<T extends NodeHostToolsError>(
  n: RunningNode,
  out: string,
  cls: abstract new (...a: never[]) => T,
): Promise<T> {
  const err = await expectCodedRejection(exportSnapshot(n.config, n.shardId, n.replicaId, out, { engine: 'js', withLog: true }), cls);
  expect(readdirSync(out)).toEqual([]);
  return err;
}

async function append(n: RunningNode, entries: Entry[]): Promise<void> {
  const db = await LogDB.open(n.cfg);
  try {
    await db.saveRaftState([{ shardId: n.shardId, replicaId: n.replicaId, entries }]);
  } finally {
    await db.close();
  }
}

/** Puts one raw plain-entry value under the key of `index`. */
async function putRawEntry(n: RunningNode, index: bigint, value: Uint8Array): Promise<void> {
  const db = await LogDB.open(n.cfg);
  try {
    await db.partition(db.partitionOf(n.shardId)).write([{ type: 'put', key: entryKey(n.shardId, n.replicaId, index), value }]);
  } finally {
    await db.close();
  }
}

/** Every frame of a suffix file, decoded. */

describe.each([
  ['plain', false],
  ['batched', true],
])('export --with-log (%s log)', (_name, batched) => {
  it('writes the entries past the snapshot, listed in the manifest; verify checks them; the node is untouched', async () => {
    const n = await node({ entries: 30, snapshotIndex: 10n, batched });
    const cc: Entry = { ...makeEntry(33n, 4n), type: EntryType.ConfigChange };
    await append(n, [...makeEntries(31n, 32n, 4n), cc, ...makeEntries(34n, 40n, 4n)]);
    const before = await treeHash(n.root);
    const out = await dest();
    const res = await exportSnapshot(n.config, n.shardId, n.replicaId, out, { engine: 'js', withLog: true });
    expect(await treeHash(n.root)).toBe(before);
    const file = join(res.exportDir, LOG_SUFFIX_FILENAME);
    expect(res.logSuffix).toMatchObject({
      file,
      firstIndex: 11n,
      lastIndex: 40n,
      entryCount: 30n,
      firstTerm: 3n,
      lastTerm: 4n,
      configChanges: [33n],
    });
    expect(res.logSuffixNote).toBeUndefined();
    expect(readdirSync(res.exportDir).sort()).toEqual([
      LOG_SUFFIX_FILENAME,
      MANIFEST_FILENAME,
      'snapshot-000000000000000A.gbsnap',
      'snapshot.metadata',
    ]);
    const manifest = await readManifest(res.exportDir);
    const listed = manifest!.files.find((f) => f.name === LOG_SUFFIX_FILENAME);
    expect(listed).toEqual({ name: LOG_SUFFIX_FILENAME, size: BigInt(readFileSync(file).length), sha256: res.logSuffix!.sha256 });

    // The file holds exactly the node's entries 11..40, each as Dragonboat stores an Entry.
    const { header, entries } = await readSuffix(file);
    expect(header).toMatchObject({ shardId: 100n, replicaId: 1n, snapshotIndex: 10n, snapshotTerm: 3n, firstIndex: 11n, lastIndex: 40n });
    expect(header.survivor).toEqual({ raftAddress: 'm1:63001', nodeHostDir: n.cfg.nodeHostDir, term: 3n, commit: 30n });
    expect(entries.map((e) => e.index)).toEqual(Array.from({ length: 30 }, (_, i) => BigInt(11 + i)));
    const expected = [...makeEntries(11n, 30n, 3n), ...makeEntries(31n, 32n, 4n), cc, ...makeEntries(34n, 40n, 4n)];
    expect(entries.map((e) => decodeEntry(e.value))).toEqual(expected);
    expect(entries.map((e) => e.term)).toEqual(expected.map((e) => e.term));

    // readExportDir sees the suffix as the suffix, not as a stray or external file.
    const exp = await readExportDir(res.exportDir);
    expect(exp.logSuffixFile).toBe(file);
    expect(exp.externalFiles).toEqual([]);

    const v = await verifySnapshot(res.exportDir, { engine: 'js' });
    expect(v.manifest?.hashed).toContain(LOG_SUFFIX_FILENAME);
    expect(v.manifest?.sizeOnly).toEqual([]);
    expect(v.logSuffix).toMatchObject({
      file,
      firstIndex: 11n,
      lastIndex: 40n,
      entryCount: 30n,
      firstTerm: 3n,
      lastTerm: 4n,
      configChanges: [33n],
      snapshotIndex: 10n,
      snapshotTerm: 3n,
      survivorReplicaId: 1n,
      sha256: res.logSuffix!.sha256,
    });
  });

  it('what it writes is what import carries: same range, terms, digest, membership changes neutralised', async () => {
    const n = await node({ entries: 30, snapshotIndex: 10n, batched });
    await append(n, [{ ...makeEntry(31n, 4n), type: EntryType.ConfigChange }, ...makeEntries(32n, 35n, 4n)]);
    const out = await dest();
    const res = await exportSnapshot(n.config, n.shardId, n.replicaId, out, { engine: 'js', withLog: true });
    const m4 = await dest('nht-export-log-m4-');
    const imp = await importSnapshot(freshConfig(m4, M4), res.exportDir, workedMembers(), 4, { engine: 'js' });
    expect(imp.logSuffix).toMatchObject({
      firstIndex: 11n,
      lastIndex: 35n,
      entryCount: 25n,
      lastTerm: 4n,
      sha256: res.logSuffix!.sha256,
      survivor: { replicaId: 1n, raftAddress: 'm1:63001', nodeHostDir: n.cfg.nodeHostDir },
      neutralized: [{ index: 31n, term: 4n }],
    });
  });

  it('refuses a log with a gap past the snapshot and leaves nothing at the destination', async () => {
    const n = await node({ entries: 20, snapshotIndex: 10n, batched });
    await append(n, makeEntries(25n, 30n)); // 21..24 never written; max index 30
    const out = await dest();
    const err = await refusedExport(n, out, ErrLogSuffix);
    expect(err.details).toMatchObject({ check: 'gap', expected: 21n, actual: 25n });
  });

  it('refuses a log whose entries end before its max index', async () => {
    const n = await node({ entries: 20, snapshotIndex: 10n, batched });
    await append(n, makeEntries(21n, 22n));
    await putRawMaxIndex(n, 25n);
    const out = await dest();
    const err = await refusedExport(n, out, ErrLogSuffix);
    expect(err.details).toMatchObject({ check: 'gap', expected: 25n, actual: 22n });
  });

  it('refuses terms going back', async () => {
    const n = await node({ entries: 20, snapshotIndex: 10n, batched, term: 3n });
    await append(n, makeEntries(21n, 22n, 2n));
    const out = await dest();
    const err = await refusedExport(n, out, ErrLogSuffix);
    expect(err.details).toMatchObject({ check: 'term-order', actual: 2n });
  });

  it('writes no suffix when the node holds nothing past the snapshot, and says so', async () => {
    const n = await node({ entries: 10, snapshotIndex: 10n, batched });
    const out = await dest();
    const res = await exportSnapshot(n.config, n.shardId, n.replicaId, out, { engine: 'js', withLog: true });
    expect(res.logSuffix).toBeUndefined();
    expect(res.logSuffixNote).toBe(NOTHING_PAST_SNAPSHOT);
    expect(readdirSync(res.exportDir)).not.toContain(LOG_SUFFIX_FILENAME);
    expect((await verifySnapshot(res.exportDir, { engine: 'js' })).logSuffix).toBeUndefined();
  });

  it('an abort while the suffix is written leaves nothing at the destination and the node as it was', async () => {
    const n = await node({ entries: 20_000, snapshotIndex: 10n, batched });
    const before = await treeHash(n.root);
    const out = await dest();
    const partial = join(out, '.snapshot-000000000000000A.exporting', LOG_SUFFIX_FILENAME);
    // Aborted exactly once the suffix file exists: the writer's next check (every 4096 entries) stops it mid-stream.
    const c = new AbortController();
    Object.defineProperty(c.signal, 'aborted', { get: () => existsSync(partial) });
    const err = await expectCodedRejection(
      exportSnapshot(n.config, n.shardId, n.replicaId, out, { engine: 'js', withLog: true, signal: c.signal }),
      ErrAborted,
    );
    expect(err.details.phase).toBe('writing the log suffix');
    expect(readdirSync(out)).toEqual([]);
    expect(await treeHash(n.root)).toBe(before);
  });

  it('streams a long log (200k entries) into a file that verifies', async () => {
    const n = await node({ entries: 200_000, snapshotIndex: 10n, batched });
    const out = await dest();
    const res = await exportSnapshot(n.config, n.shardId, n.replicaId, out, { engine: 'js', withLog: true });
    expect(res.logSuffix).toMatchObject({ firstIndex: 11n, lastIndex: 200_000n, entryCount: 199_990n });
    const v = await verifySnapshot(res.exportDir, { engine: 'js' });
    expect(v.logSuffix?.entryCount).toBe(199_990n);
  });
});

/** Overwrites the replica's max index record (a log store whose entries end before it). */
async function putRawMaxIndex(n: RunningNode, index: bigint): Promise<void> {
  const db = await LogDB.open(n.cfg);
  try {
    await db
      .partition(db.partitionOf(n.shardId))
      .write([{ type: 'put', key: maxIndexKey(n.shardId, n.replicaId), value: encodeMaxIndex(index) }]);
  } finally {
    await db.close();
  }
}

describe('export --with-log refusals', () => {
  it('refuses an entry whose value is not the Entry its key says (plain log)', async () => {
    const n = await node({ entries: 20, snapshotIndex: 10n });
    await putRawEntry(n, 15n, encodeEntry(makeEntry(99n)));
    const out = await dest();
    const err = await refusedExport(n, out, ErrLogSuffix);
    expect(err.details).toMatchObject({ check: 'entry-mismatch', index: 15n, expected: 15n, actual: 99n });

    const m = await node({ entries: 20, snapshotIndex: 10n });
    await putRawEntry(m, 12n, Uint8Array.of(0xff, 0xff, 0xff, 0xff));
    const err2 = await refusedExport(m, out, ErrLogSuffix);
    expect(err2.details).toMatchObject({ check: 'entry-mismatch', index: 12n });
  });

  it('refuses an on-disk state machine before copying anything', async () => {
    const n = await node({ entries: 20, snapshotIndex: 10n, type: StateMachineType.OnDisk });
    const out = await dest();
    const err = await refusedExport(n, out, ErrLogSuffix);
    expect(err.details.check).toBe('state-machine-type');
    // Without the log, the same node exports as before.
    await exportSnapshot(n.config, n.shardId, n.replicaId, out, { engine: 'js' });
  });

  it('refuses a log whose own entry at the snapshot index has another term (diverged)', async () => {
    const n = await node({ entries: 20, snapshotIndex: 10n });
    await putRawEntry(n, 10n, encodeEntry(makeEntry(10n, 2n)));
    const out = await dest();
    const err = await refusedExport(n, out, ErrLogDiverged);
    expect(err.details).toMatchObject({ check: 'anchor-term', expected: 3n, actual: 2n });
  });

  it('snapshotFrom needs withLog', async () => {
    const n = await node({ entries: 20, snapshotIndex: 10n });
    const out = await dest();
    await expectCodedRejection(
      exportSnapshot(n.config, n.shardId, n.replicaId, out, { engine: 'js', snapshotFrom: out }),
      ErrInvalidConfig,
    );
  });
});

describe('export --with-log --snapshot-from', () => {
  it("takes the snapshot from another export and this node's log after its index", async () => {
    // The source export: index 20, term 4 (Dragonboat's layout, no manifest). This node holds 1..30 in term 4.
    const src = await dest('nht-export-src-');
    const made = await makeExport(src);
    const n = await node({ entries: 30, snapshotIndex: 10n, term: 4n });
    const out = await dest();
    const res = await exportSnapshot(n.config, n.shardId, n.replicaId, out, { engine: 'js', withLog: true, snapshotFrom: made.dir });
    expect(res.snapshotFrom).toBe(made.dir);
    expect(res.index).toBe(20n);
    expect(res.term).toBe(4n);
    expect(res.logSuffix).toMatchObject({ firstIndex: 21n, lastIndex: 30n, entryCount: 10n, lastTerm: 4n });
    expect(readFileSync(join(res.exportDir, 'snapshot-0000000000000014.gbsnap'))).toEqual(readFileSync(made.file));
    expect(res.record.membership).toEqual(made.record.membership);
    const v = await verifySnapshot(res.exportDir, { engine: 'js' });
    expect(v.logSuffix).toMatchObject({ firstIndex: 21n, snapshotIndex: 20n, snapshotTerm: 4n });

    // Our own export as the source: its manifest is checked against what is copied.
    const again = await dest();
    const res2 = await exportSnapshot(n.config, n.shardId, n.replicaId, again, {
      engine: 'js',
      withLog: true,
      snapshotFrom: res.exportDir,
    });
    expect(res2.logSuffix?.sha256).toBe(res.logSuffix?.sha256);
  });

  it('refuses a host whose term at the export index differs, or that holds nothing there', async () => {
    const src = await dest('nht-export-src-');
    const made = await makeExport(src); // index 20, term 4
    const out = await dest();
    const other = await node({ entries: 30, snapshotIndex: 10n, term: 3n });
    const err = await expectCodedRejection(
      exportSnapshot(other.config, other.shardId, other.replicaId, out, { engine: 'js', withLog: true, snapshotFrom: made.dir }),
      ErrLogDiverged,
    );
    expect(err.details).toMatchObject({ check: 'anchor-term', expected: 4n, actual: 3n });
    const short = await node({ entries: 15, snapshotIndex: 10n, term: 4n });
    const err2 = await expectCodedRejection(
      exportSnapshot(short.config, short.shardId, short.replicaId, out, { engine: 'js', withLog: true, snapshotFrom: made.dir }),
      ErrLogDiverged,
    );
    expect(err2.details.check).toBe('anchor-missing');
    expect(readdirSync(out)).toEqual([]);
  });

  it('verifies the source while copying it: a corrupt source export is refused, nothing written', async () => {
    const src = await dest('nht-export-src-');
    const made = await makeExport(src);
    flipByte(made.file, 1024 + 100);
    const n = await node({ entries: 30, snapshotIndex: 10n, term: 4n });
    const out = await dest();
    await expectCodedRejection(
      exportSnapshot(n.config, n.shardId, n.replicaId, out, { engine: 'js', withLog: true, snapshotFrom: made.dir }),
      ErrIncompleteSnapshot,
    );
    expect(readdirSync(out)).toEqual([]);
  });
});

describe('verify of an export with a log suffix', () => {
  async function exported(): Promise<{ dir: string; file: string; header: LogSuffixHeader; entries: LogSuffixEntry[] }> {
    const n = await node({ entries: 30, snapshotIndex: 10n });
    const out = await dest();
    const res = await exportSnapshot(n.config, n.shardId, n.replicaId, out, { engine: 'js', withLog: true });
    const file = join(res.exportDir, LOG_SUFFIX_FILENAME);
    return { dir: res.exportDir, file, ...(await readSuffix(file)) };
  }

  async function verifyFails(dir: string, file: string, check: string): Promise<void> {
    const err = await expectCodedRejection(verifySnapshot(dir, { engine: 'js' }), ErrLogSuffix);
    expect(err.details.check).toBe(check);
    expect(err.details.path).toBe(file);
    expect(err.message).toContain(file);
  }

  it('refuses a truncated file', async () => {
    const x = await exported();
    const bytes = readFileSync(x.file);
    writeFileSync(x.file, bytes.subarray(0, bytes.length - 40));
    await verifyFails(x.dir, x.file, 'truncated');
  });

  it('refuses a corrupted frame', async () => {
    const x = await exported();
    flipByte(x.file, 200);
    await verifyFails(x.dir, x.file, 'frame-crc');
  });

  it('refuses reordered entries, a gap, a term going back', async () => {
    const x = await exported();
    const e = x.entries;
    const swapped = [e[0]!, e[2]!, e[1]!, ...e.slice(3)];
    writeFileSync(x.file, suffixBytes(x.header, swapped, endOf(e)));
    await verifyFails(x.dir, x.file, 'gap');

    const gap = [...e.slice(0, 5), ...e.slice(6)];
    writeFileSync(x.file, suffixBytes(x.header, gap, endOf(e)));
    await verifyFails(x.dir, x.file, 'gap');

    const back = e.map((en, i) => (i === 7 ? { ...en, term: 2n, value: encodeEntry({ ...decodeEntry(en.value), term: 2n }) } : en));
    writeFileSync(x.file, suffixBytes(x.header, back, endOf(e)));
    await verifyFails(x.dir, x.file, 'term-order');
  });

  it("refuses an entry whose decoded index or term differs from its frame's", async () => {
    const x = await exported();
    const e = x.entries.map((en, i) => (i === 4 ? { ...en, value: encodeEntry({ ...decodeEntry(en.value), term: 9n }) } : en));
    writeFileSync(x.file, suffixBytes(x.header, e, endOf(e)));
    await verifyFails(x.dir, x.file, 'entry-mismatch');
  });

  it('refuses a suffix of another shard or another snapshot', async () => {
    const x = await exported();
    const shifted = (h: Partial<LogSuffixHeader>): Buffer => suffixBytes({ ...x.header, ...h }, x.entries, endOf(x.entries));
    writeFileSync(x.file, shifted({ shardId: 101n }));
    await verifyFails(x.dir, x.file, 'shard-id');
    // Same snapshot index, another term: the anchor does not hold.
    writeFileSync(x.file, shifted({ snapshotTerm: 2n }));
    await verifyFails(x.dir, x.file, 'anchor');
  });

  it('refuses a valid suffix that is not the one the manifest recorded', async () => {
    const x = await exported();
    const other = suffixBytes({ ...x.header, survivor: { ...x.header.survivor, raftAddress: 'm9:63001' } }, x.entries, endOf(x.entries));
    writeFileSync(x.file, other);
    const err = await expectCodedRejection(verifySnapshot(x.dir, { engine: 'js' }), ErrManifestMismatch);
    expect(err.details.path).toBe(x.file);
    expect(err.details.check).toBe('manifest-sha256');
  });
});
