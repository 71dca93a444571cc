/**
 * A bad log suffix is refused before anything is written (docs/log-suffix.md):
 * a coded error naming the check, and every byte under the test root (both
 * NodeHost directories and every export) as it was.
 */
import { copyFileSync } from 'node:fs';
import * as fsp from 'node:fs/promises';
import * as path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ErrLogSuffix, ErrManifestMismatch, type NodeHostToolsError } from '../../src/errors.js';
import type { NodeHostConfig } from '../../src/nodehost/config.js';
import { importSnapshot } from '../../src/ops/import.js';
import { MANIFEST_FILENAME } from '../../src/ops/manifest.js';
import { LOG_SUFFIX_FILENAME } from '../../src/records/log-suffix.js';
import { StateMachineType } from '../../src/records/types.js';
import { makeEntry, makeTempDir, type RunningNode } from '../helpers/nodehost.js';
import { treeHash } from '../helpers/tree.js';
import { expectCodedRejection, freshConfig, makeExport, nodeState } from './fixtures.js';
import { M4, workedMembers } from '../helpers/worked-example.js';
import { exportWithSuffix, makeSurvivor, suffixEntry, type SuffixSpec } from './import-log-fixtures.js';

let root: string;
let m1: RunningNode;
let m4: NodeHostConfig;
let n = 0;

beforeAll(async () => {
  root = await makeTempDir('nht-ops-log-errors-');
  m1 = await makeSurvivor({ root: path.join(root, 'm1') });
  m4 = freshConfig(path.join(root, 'm4'), M4);
});

afterAll(async () => {
  await fsp.rm(root, { recursive: true, force: true });
});

async function exportDir(spec: SuffixSpec = {}): Promise<string> {
  return (await exportWithSuffix(path.join(root, `exports-${++n}`), m1.config, spec)).dir;
}

/** Imports on m1 and on m4: each refused with `cls`, nothing under root changed. */
async function refused<T extends NodeHostToolsError>(cls: abstract new (...a: never[]) => T, src: string): Promise<T[]> {
  const before = await treeHash(root);
  const errs = [
    await expectCodedRejection(importSnapshot(m1.config, src, workedMembers(), 1n), cls),
    await expectCodedRejection(importSnapshot(m4, src, workedMembers(), 4n), cls),
    await expectCodedRejection(importSnapshot(m1.config, src, workedMembers(), 1n, { dryRun: true }), cls),
  ];
  expect(await treeHash(root)).toBe(before);
  return errs;
}

describe('a bad suffix file', () => {
  it('a corrupt frame → ErrLogSuffix frame-crc', async () => {
    const src = await exportDir({ noManifest: true });
    const file = path.join(src, LOG_SUFFIX_FILENAME);
    const bytes = await fsp.readFile(file);
    bytes[bytes.length - 100]! ^= 0x40;
    await fsp.writeFile(file, bytes);
    const [e] = await refused(ErrLogSuffix, src);
    expect(e!.details.check).toBe('frame-crc');
    expect(e!.details.path).toBe(file);
  });

  it('a truncated file → ErrLogSuffix truncated', async () => {
    const src = await exportDir({ noManifest: true });
    const file = path.join(src, LOG_SUFFIX_FILENAME);
    const bytes = await fsp.readFile(file);
    await fsp.writeFile(file, bytes.subarray(0, bytes.length - 30));
    const [e] = await refused(ErrLogSuffix, src);
    expect(e!.details.check).toBe('truncated');
  });

  it('bytes that are not the manifest’s → ErrManifestMismatch manifest-sha256', async () => {
    const src = await exportDir();
    const mpath = path.join(src, MANIFEST_FILENAME);
    const m = JSON.parse(await fsp.readFile(mpath, 'utf8')) as { files: { name: string; sha256: string }[] };
    m.files.find((f) => f.name === LOG_SUFFIX_FILENAME)!.sha256 = '0'.repeat(64);
    await fsp.writeFile(mpath, JSON.stringify(m));
    const [e] = await refused(ErrManifestMismatch, src);
    expect(e!.details.check).toBe('manifest-sha256');
  });

  it('a suffix of another snapshot (index) → ErrLogSuffix anchor', async () => {
    const src = await exportDir({
      header: (h) => ({ ...h, snapshotIndex: 21n, firstIndex: 22n, entryCount: h.entryCount - 1n }),
      entries: (es) => es.slice(1),
    });
    const [e] = await refused(ErrLogSuffix, src);
    expect(e!.details.check).toBe('anchor');
    expect(e!.message).toContain('--ignore-log');
  });

  it('a suffix of another snapshot (term) → ErrLogSuffix anchor', async () => {
    const src = await exportDir({ header: (h) => ({ ...h, snapshotTerm: 2n }) });
    const [e] = await refused(ErrLogSuffix, src);
    expect(e!.details.check).toBe('anchor');
  });

  it('a suffix of another shard → ErrLogSuffix shard-id', async () => {
    const src = await exportDir({ header: (h) => ({ ...h, shardId: 101n }) });
    const [e] = await refused(ErrLogSuffix, src);
    expect(e!.details.check).toBe('shard-id');
  });

  it('an entry whose protobuf names another index → ErrLogSuffix entry-mismatch', async () => {
    const src = await exportDir({
      entries: (es) => es.map((e) => (e.index === 25n ? { ...suffixEntry(makeEntry(26n, 3n)), index: 25n } : e)),
    });
    const [e] = await refused(ErrLogSuffix, src);
    expect(e!.details.check).toBe('entry-mismatch');
    expect(e!.details.index).toBe(25n);
  });

  it('an entry whose protobuf names another term → ErrLogSuffix entry-mismatch', async () => {
    const src = await exportDir({
      entries: (es) => es.map((e) => (e.index === 60n ? { ...e, value: suffixEntry(makeEntry(60n, 4n)).value } : e)),
    });
    const [e] = await refused(ErrLogSuffix, src);
    expect(e!.details.check).toBe('entry-mismatch');
  });

  it('an entry that is not a protobuf Entry → ErrLogSuffix entry-mismatch', async () => {
    const src = await exportDir({
      entries: (es) => es.map((e) => (e.index === 30n ? { ...e, value: new Uint8Array([0xff, 0xff, 0xff, 0xff]) } : e)),
    });
    const [e] = await refused(ErrLogSuffix, src);
    expect(e!.details.check).toBe('entry-mismatch');
    expect(e!.details.index).toBe(30n);
  });

  it('an on-disk state machine → ErrLogSuffix state-machine-type, saying to use --ignore-log', async () => {
    const src = await exportDir({ type: StateMachineType.OnDisk });
    const [e] = await refused(ErrLogSuffix, src);
    expect(e!.details.check).toBe('state-machine-type');
    expect(e!.message).toContain('--ignore-log');
  });

  it("an on-disk state machine's external file named log-suffix.nhlog is no suffix: imported as an external file", async () => {
    const made = await makeExport(path.join(root, `exports-${++n}`), {
      type: StateMachineType.OnDisk,
      externals: [{ name: LOG_SUFFIX_FILENAME, bytes: new TextEncoder().encode('not a log') }],
    });
    const res = await importSnapshot(m4, made.dir, workedMembers(), 4n, { dryRun: true });
    expect(res.logSuffix).toBeUndefined();
    expect(res.files.map((f) => f.name)).toContain(LOG_SUFFIX_FILENAME);
  });

  it('a suffix changed between validation and the commit fails the commit (ErrLogSuffix changed): the node is as it was', async () => {
    const src = await exportDir();
    // The same indexes and terms, other bytes: only the second pass's frame CRCs (against the first's) can tell.
    const other = await exportDir({
      noManifest: true,
      entries: (es) => es.map((e) => (e.index === 69n ? suffixEntry({ ...makeEntry(69n, 5n), cmd: new Uint8Array([1, 2, 3]) }) : e)),
    });
    const before = await nodeState(path.join(root, 'm1'), m1.config);
    const run = importSnapshot(m1.config, src, workedMembers(), 1n, {
      onStep: (step) => {
        if (step === 'finalized') copyFileSync(path.join(other, LOG_SUFFIX_FILENAME), path.join(src, LOG_SUFFIX_FILENAME));
      },
    });
    const e = await expectCodedRejection(run, ErrLogSuffix);
    expect(e.details.check).toBe('changed');
    expect(await nodeState(path.join(root, 'm1'), m1.config)).toEqual(before);
  });

  it('with ignoreLog the file is not read: the snapshot alone is imported', async () => {
    const src = await exportDir({ type: StateMachineType.OnDisk });
    const res = await importSnapshot(m4, src, workedMembers(), 4n, { ignoreLog: true, dryRun: true });
    expect(res.logSuffix).toBeUndefined();
    expect(res.warnings.map((w) => w.code)).toContain('log-suffix-ignored');
  });
});
