/**
 * Names read from an export's snapshot record are checked in validation
 * (issue 10 #5): each external file is one path component, not a name the
 * snapshot directory itself uses (`snapshot.metadata`,
 * `dragonboat.snapshot.message`, the .gbsnap's), and not another external
 * file's. Found before anything is written: ErrIncompleteSnapshot
 * `external-file-name`, nothing changed.
 */
import { rm } from 'node:fs/promises';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { mkdir, writeFile } from 'node:fs/promises';
import { ErrIncompleteSnapshot, ErrLogSuffix } from '../../src/errors.js';
import { writeFlagFile } from '../../src/files/flagfile.js';
import { readExportDir } from '../../src/ops/export-dir.js';
import { importSnapshot } from '../../src/ops/import.js';
import { verifySnapshot } from '../../src/ops/verify.js';
import { encodeSnapshot } from '../../src/records/codec.js';
import { StateMachineType } from '../../src/records/types.js';
import { makeRunningNode, makeTempDir } from '../helpers/nodehost.js';
import { treeHash } from '../helpers/tree.js';
import { expectCodedRejection, makeExport } from './fixtures.js';
import { workedMembers } from '../helpers/worked-example.js';

const cleanups: (() => Promise<void>)[] = [];
afterEach(async () => {
  for (const c of cleanups.splice(0)) await c();
});

describe('external file names in an export record', () => {
  it.each([
    ['..', (dir: string) => `${dir}/..`],
    ['the flag file name', (dir: string) => join(dir, 'dragonboat.snapshot.message')],
    ['snapshot.metadata', (dir: string) => join(dir, 'snapshot.metadata')],
    ['the .gbsnap name', (dir: string) => join(dir, 'snapshot-0000000000000014.gbsnap')],
    ["another external file's name", (dir: string) => join(dir, 'ext-a')],
    ['an empty name', () => ''],
  ])('%s: refused by readExportDir, verify and import before any write', async (_what, second) => {
    const root = await makeTempDir('nht-exportdir-');
    cleanups.push(() => rm(root, { recursive: true, force: true }));
    const exp = await makeExport(join(root, 'export'), {
      type: StateMachineType.OnDisk,
      externals: [
        { name: 'ext-a', bytes: new Uint8Array([1, 2, 3]) },
        { name: 'ext-b', bytes: new Uint8Array([4, 5]) },
      ],
    });
    const record = { ...exp.record, files: [exp.record.files[0]!, { ...exp.record.files[1]!, filepath: second(exp.dir) }] };
    await writeFlagFile(join(exp.dir, 'snapshot.metadata'), encodeSnapshot(record));
    const e = await expectCodedRejection(readExportDir(exp.dir), ErrIncompleteSnapshot);
    expect(e.details.check).toBe('external-file-name');
    await expectCodedRejection(verifySnapshot(exp.dir, { engine: 'js' }), ErrIncompleteSnapshot);

    const m1 = await makeRunningNode({ entries: 20, snapshotIndex: 10n });
    cleanups.push(m1.cleanup);
    const before = await treeHash(m1.root);
    const exportBefore = await treeHash(root);
    for (const dryRun of [true, false]) {
      const err = await expectCodedRejection(
        importSnapshot(m1.config, exp.dir, workedMembers(), 1, { engine: 'js', dryRun, backupDir: join(root, `undo-${dryRun}`) }),
        ErrIncompleteSnapshot,
      );
      expect(err.details.check).toBe('external-file-name');
    }
    expect(await treeHash(m1.root)).toBe(before);
    expect(await treeHash(root)).toBe(exportBefore);
  });
});

describe('the log suffix file in an export', () => {
  it("is named when present, absent from Dragonboat's exports, and an external file of that name stays an external file", async () => {
    const root = await makeTempDir('nht-exportdir-');
    cleanups.push(() => rm(root, { recursive: true, force: true }));
    const plain = await makeExport(join(root, 'plain'));
    expect((await readExportDir(plain.dir)).logSuffixFile).toBeUndefined();

    await writeFile(join(plain.dir, 'log-suffix.nhlog'), 'x');
    expect((await readExportDir(plain.dir)).logSuffixFile).toBe(join(plain.dir, 'log-suffix.nhlog'));

    const ext = await makeExport(join(root, 'ext'), { externals: [{ name: 'log-suffix.nhlog', bytes: new Uint8Array([1, 2]) }] });
    const read = await readExportDir(ext.dir);
    expect(read.logSuffixFile).toBeUndefined();
    expect(read.externalFiles.map((f) => f.name)).toEqual(['log-suffix.nhlog']);
    // verify of that export checks the external file as before, and reads no suffix.
    expect((await verifySnapshot(ext.dir, { engine: 'js' })).logSuffix).toBeUndefined();
  });

  it('refuses a suffix that is not a regular file', async () => {
    const root = await makeTempDir('nht-exportdir-');
    cleanups.push(() => rm(root, { recursive: true, force: true }));
    const exp = await makeExport(join(root, 'export'));
    await mkdir(join(exp.dir, 'log-suffix.nhlog'));
    const e = await expectCodedRejection(readExportDir(exp.dir), ErrLogSuffix);
    expect(e.details).toMatchObject({ check: 'file-type', path: join(exp.dir, 'log-suffix.nhlog') });
  });
});
