import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { ErrCorruptFlagFile } from '../../src/errors.js';
import { writeFlagFile } from '../../src/files/flagfile.js';
import {
  isMarkedDeleted,
  listSnapshotDirs,
  parseSnapshotDirName,
  restartFate,
  type SnapshotDirEntry,
} from '../../src/nodehost/snapshotdirs.js';
import { emptyRaftDataStatus, emptySnapshot, encodeRaftDataStatus, encodeSnapshot } from '../../src/records/codec.js';

describe('parseSnapshotDirName', () => {
  it('classifies names exactly as Dragonboat does', () => {
    expect(parseSnapshotDirName('snapshot-0000000000000010')).toEqual({ kind: 'final', index: 16n });
    expect(parseSnapshotDirName('snapshot-1A')).toEqual({ kind: 'final', index: 26n });
    expect(parseSnapshotDirName('snapshot-FFFFFFFFFFFFFFFF')).toEqual({ kind: 'final', index: 2n ** 64n - 1n });
    expect(parseSnapshotDirName('snapshot-0000000000000010-3.generating')).toEqual({ kind: 'generating', index: 16n, from: 3n });
    expect(parseSnapshotDirName('snapshot-0000000000000010-12.receiving')).toEqual({ kind: 'receiving', index: 16n, from: 12n });
    expect(parseSnapshotDirName('snapshot-10-AB.receiving')).toEqual({ kind: 'receiving', index: 16n, from: undefined });
    for (const other of [
      'snapshot-000000000000001a', // lower case is not Dragonboat's
      'snapshot-part-3',
      'snapshot-',
      'snapshot-10.generating',
      'snapshot-10-3.generating.old',
      'DELETED.dragonboat',
      'xsnapshot-10',
    ]) {
      expect(parseSnapshotDirName(other)).toEqual({ kind: 'other' });
    }
  });
});

describe('listSnapshotDirs and restartFate', () => {
  let root: string;
  beforeEach(() => {
    root = fs.mkdtempSync(path.join(os.tmpdir(), 'nht-ssroot-'));
  });
  afterEach(() => {
    fs.rmSync(root, { recursive: true, force: true });
  });

  const flag = async (dir: string, index: bigint): Promise<void> => {
    fs.mkdirSync(dir, { recursive: true });
    await writeFlagFile(path.join(dir, 'dragonboat.snapshot.message'), encodeSnapshot({ ...emptySnapshot(), index }));
  };

  it('lists a missing root as empty', async () => {
    expect(await listSnapshotDirs(path.join(root, 'none'))).toEqual([]);
  });

  it('lists and classifies every entry, reading flag files on request', async () => {
    fs.mkdirSync(path.join(root, 'snapshot-0000000000000005'));
    await flag(path.join(root, 'snapshot-0000000000000010'), 16n);
    await flag(path.join(root, 'snapshot-0000000000000020'), 32n);
    fs.mkdirSync(path.join(root, 'snapshot-0000000000000030-2.generating'));
    fs.mkdirSync(path.join(root, 'snapshot-0000000000000031-4.receiving'));
    fs.mkdirSync(path.join(root, 'unrelated'));
    fs.writeFileSync(path.join(root, 'snapshot-0000000000000040'), 'a file, not a directory');
    fs.mkdirSync(path.join(root, 'snapshot-0000000000000050'));
    fs.writeFileSync(path.join(root, 'snapshot-0000000000000050', 'dragonboat.snapshot.message'), 'garbage!!');

    const entries = await listSnapshotDirs(root, { readFlags: true });
    const byName = Object.fromEntries(entries.map((e) => [e.name, e]));
    expect(entries.map((e) => e.name)).toEqual([...entries.map((e) => e.name)].sort());
    expect(byName['snapshot-0000000000000005']).toMatchObject({ kind: 'final', index: 5n, hasFlagFile: false });
    expect(byName['snapshot-0000000000000010']).toMatchObject({ kind: 'final', index: 16n, hasFlagFile: true, flagIndex: 16n });
    expect(byName['snapshot-0000000000000030-2.generating']).toMatchObject({ kind: 'generating', index: 48n, from: 2n });
    expect(byName['snapshot-0000000000000031-4.receiving']).toMatchObject({ kind: 'receiving', index: 49n, from: 4n });
    expect(byName['unrelated']).toMatchObject({ kind: 'other', isDirectory: true });
    expect(byName['snapshot-0000000000000040']).toMatchObject({ kind: 'other', isDirectory: false });
    expect(byName['snapshot-0000000000000050']!.flagError).toBeInstanceOf(ErrCorruptFlagFile);

    const fates = (recorded: bigint | undefined): Record<string, string> =>
      Object.fromEntries(entries.map((e) => [e.name, restartFate(e, recorded)]));
    expect(fates(16n)).toEqual({
      'snapshot-0000000000000005': 'delete',
      'snapshot-0000000000000010': 'remove-flag',
      'snapshot-0000000000000020': 'delete',
      'snapshot-0000000000000030-2.generating': 'delete',
      'snapshot-0000000000000031-4.receiving': 'delete',
      'snapshot-0000000000000040': 'ignore',
      'snapshot-0000000000000050': 'delete',
      unrelated: 'ignore',
    });
    expect(fates(5n)['snapshot-0000000000000005']).toBe('keep');
    expect(fates(undefined)['snapshot-0000000000000005']).toBe('delete');
    expect(fates(undefined)['snapshot-0000000000000010']).toBe('delete');
  });

  it('judges a flagged directory by the index in its flag file', () => {
    const e: SnapshotDirEntry = {
      name: 'snapshot-10',
      path: '/x',
      kind: 'final',
      isDirectory: true,
      index: 16n,
      hasFlagFile: true,
      flagIndex: 17n,
    };
    expect(restartFate(e, 16n)).toBe('delete');
    expect(restartFate(e, 17n)).toBe('remove-flag');
  });

  it('detects DELETED.dragonboat', async () => {
    expect(await isMarkedDeleted(root)).toBe(false);
    await writeFlagFile(path.join(root, 'DELETED.dragonboat'), encodeRaftDataStatus(emptyRaftDataStatus()));
    expect(await isMarkedDeleted(root)).toBe(true);
    expect(await isMarkedDeleted(path.join(root, 'none'))).toBe(false);
  });
});
