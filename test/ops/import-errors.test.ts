/**
 * Every bad input of importSnapshot fails with its own error class and leaves
 * the whole NodeHost directory and the export byte-for-byte unchanged
 * (docs/import-contract.md "Validated first").
 */
import * as fsp from 'node:fs/promises';
import * as path from 'node:path';
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import {
  ErrCorruptFlagFile,
  ErrDirMarkedAsDeleted,
  ErrIncompleteSnapshot,
  ErrInvalidMembers,
  ErrNotOwner,
  ErrPathNotExist,
  ErrSnapshotOutOfDate,
  ErrUnknownStateMachineType,
  type NodeHostToolsError,
} from '../../src/errors.js';
import { writeFlagFile } from '../../src/files/flagfile.js';
import type { NodeHostConfig } from '../../src/nodehost/config.js';
import { importSnapshot } from '../../src/ops/import.js';
import { emptyRaftDataStatus, encodeRaftDataStatus } from '../../src/records/codec.js';
import { StateMachineType } from '../../src/records/types.js';
import { V2_BLOCK_SIZE, V2_FULL_BLOCK_SIZE } from '../../src/snapshot/layout.js';
import { makeRunningNode, makeTempDir, type RunningNode } from '../helpers/nodehost.js';
import { treeHash } from '../helpers/tree.js';
import { flipByte, truncateBy } from '../helpers/snapshots.js';
import { expectCodedRejection, freshConfig, makeExport, type ExportSpec } from './fixtures.js';
import { M1, M4, M5, sourceMembership, workedMembers } from '../helpers/worked-example.js';
import { statePayload } from '../helpers/payload.js';

let root: string;
let m1: RunningNode;
let m4: NodeHostConfig;
let n = 0;

beforeAll(async () => {
  root = await makeTempDir('nht-ops-errors-');
  m1 = await makeRunningNode({ root: path.join(root, 'm1'), entries: 30, snapshotIndex: 10n });
  m4 = freshConfig(path.join(root, 'm4'), M4);
});

afterAll(async () => {
  await fsp.rm(root, { recursive: true, force: true });
});

/** A new export under root/backups-<n> (each case its own). */
async function exportDir(spec: ExportSpec = {}): Promise<string> {
  return (await makeExport(path.join(root, `backups-${++n}`), spec)).dir;
}

/**
 * Runs the import, expects `cls`, and checks that nothing under root (both
 * NodeHost directories and every export) changed by a single byte.
 */
async function refused<T extends NodeHostToolsError>(cls: abstract new (...a: never[]) => T, run: () => Promise<unknown>): Promise<T> {
  const before = await treeHash(root);
  const err = await expectCodedRejection(run(), cls);
  expect(await treeHash(root)).toBe(before);
  return err;
}

describe('member map (docs/import-contract.md step 2)', () => {
  it('wrong RaftAddress for the local replica → ErrInvalidMembers', async () => {
    const src = await exportDir();
    const e = await refused(ErrInvalidMembers, () => importSnapshot(m1.config, src, { 1: 'm1:9999', 4: M4, 5: M5 }, 1n));
    expect(e.details.expected).toBe(M1);
    expect(e.details.actual).toBe('m1:9999');
  });

  it('local replica missing from the map → ErrInvalidMembers', async () => {
    const src = await exportDir();
    const e = await refused(ErrInvalidMembers, () => importSnapshot(m1.config, src, { 4: M4, 5: M5 }, 1n));
    expect(e.details.replicaId).toBe(1n);
  });

  it('a bad map (zero ID) → ErrInvalidMembers, also on a fresh host', async () => {
    const src = await exportDir();
    await refused(ErrInvalidMembers, () => importSnapshot(m4, src, { 0: 'm0:1', 4: M4 }, 4n));
  });
});

describe('the export (docs/import-contract.md steps 3-5)', () => {
  it('srcDir missing → ErrPathNotExist', async () => {
    const e = await refused(ErrPathNotExist, () => importSnapshot(m1.config, path.join(root, 'no-such-export'), workedMembers(), 1n));
    expect(e.details.path).toBe(path.join(root, 'no-such-export'));
  });

  it('srcDir is a file → ErrPathNotExist', async () => {
    const src = await exportDir();
    await refused(ErrPathNotExist, () => importSnapshot(m1.config, path.join(src, 'snapshot.metadata'), workedMembers(), 1n));
  });

  it('two .gbsnap files → ErrIncompleteSnapshot (snapshot-file-count)', async () => {
    const src = await exportDir();
    await fsp.copyFile(path.join(src, 'snapshot-0000000000000014.gbsnap'), path.join(src, 'snapshot-0000000000000013.gbsnap'));
    const e = await refused(ErrIncompleteSnapshot, () => importSnapshot(m1.config, src, workedMembers(), 1n));
    expect(e.details.check).toBe('snapshot-file-count');
    expect(e.details.actual).toBe(2);
  });

  it('no .gbsnap file → ErrIncompleteSnapshot (snapshot-file-count)', async () => {
    const src = await exportDir();
    await fsp.rm(path.join(src, 'snapshot-0000000000000014.gbsnap'));
    const e = await refused(ErrIncompleteSnapshot, () => importSnapshot(m4, src, workedMembers(), 4n));
    expect(e.details.check).toBe('snapshot-file-count');
    expect(e.details.actual).toBe(0);
  });

  it('missing snapshot.metadata → an error naming the file', async () => {
    const src = await exportDir();
    await fsp.rm(path.join(src, 'snapshot.metadata'));
    const e = await refused(ErrCorruptFlagFile, () => importSnapshot(m1.config, src, workedMembers(), 1n));
    expect(e.details.check).toBe('missing');
    expect(e.details.path).toBe(path.join(src, 'snapshot.metadata'));
    expect(e.message).toContain('snapshot.metadata');
  });

  it('corrupt snapshot.metadata (one byte flipped) → ErrCorruptFlagFile naming the file', async () => {
    const src = await exportDir();
    const meta = path.join(src, 'snapshot.metadata');
    flipByte(meta, (await fsp.stat(meta)).size - 3, 0x01);
    const e = await refused(ErrCorruptFlagFile, () => importSnapshot(m1.config, src, workedMembers(), 1n));
    expect(e.details.path).toBe(meta);
    expect(e.message).toContain('snapshot.metadata');
  });

  it('a truncated snapshot → ErrIncompleteSnapshot (file-size)', async () => {
    const src = await exportDir();
    truncateBy(path.join(src, 'snapshot-0000000000000014.gbsnap'), 1);
    const e = await refused(ErrIncompleteSnapshot, () => importSnapshot(m1.config, src, workedMembers(), 1n));
    expect(e.details.check).toBe('file-size');
  });

  describe('a flipped data byte in a middle block, CRCs intact (found only while copying: proves the rollback)', () => {
    let src: string;
    beforeAll(async () => {
      // Three blocks; block 1's data is corrupted, its stored CRC left as written.
      src = await exportDir({ payload: statePayload(2 * V2_BLOCK_SIZE + 100_000, 11) });
      flipByte(path.join(src, 'snapshot-0000000000000014.gbsnap'), 1024 + V2_FULL_BLOCK_SIZE + 777);
    });

    it('on m1 (history): ErrIncompleteSnapshot block-crc, block 1, tree unchanged', async () => {
      const e = await refused(ErrIncompleteSnapshot, () => importSnapshot(m1.config, src, workedMembers(), 1n));
      expect(e.details.check).toBe('block-crc');
      expect(e.details.block).toBe(1);
    });

    it('on fresh m4 (the import created the directories): every one removed again', async () => {
      const steps: string[] = [];
      const e = await refused(ErrIncompleteSnapshot, () => importSnapshot(m4, src, workedMembers(), 4n, { onStep: (s) => steps.push(s) }));
      expect(e.details.check).toBe('block-crc');
      // It really got as far as creating the temporary directory.
      expect(steps).toEqual(['validated', 'temp-created']);
      await expect(fsp.stat(m4.nodeHostDir)).rejects.toThrow(/ENOENT/);
    });

    it('a dry run reports it too, writing nothing', async () => {
      const e = await refused(ErrIncompleteSnapshot, () => importSnapshot(m4, src, workedMembers(), 4n, { dryRun: true }));
      expect(e.details.check).toBe('block-crc');
    });
  });

  it('an external file missing → ErrIncompleteSnapshot (external-file-missing)', async () => {
    const src = await exportDir({ type: StateMachineType.OnDisk, externals: [{ name: 'ext-1', bytes: new Uint8Array(10).fill(1) }] });
    await fsp.rm(path.join(src, 'ext-1'));
    const e = await refused(ErrIncompleteSnapshot, () => importSnapshot(m4, src, workedMembers(), 4n));
    expect(e.details.check).toBe('external-file-missing');
  });

  it('an external file of the wrong size → ErrIncompleteSnapshot (external-file-size)', async () => {
    const src = await exportDir({ type: StateMachineType.OnDisk, externals: [{ name: 'ext-1', bytes: new Uint8Array(10).fill(1) }] });
    await fsp.appendFile(path.join(src, 'ext-1'), 'x');
    const e = await refused(ErrIncompleteSnapshot, () => importSnapshot(m1.config, src, workedMembers(), 1n));
    expect(e.details.check).toBe('external-file-size');
    expect(e.details.expected).toBe(10n);
    expect(e.details.actual).toBe(11n);
  });

  it('unknown state machine type → ErrUnknownStateMachineType', async () => {
    const src = await exportDir({ type: StateMachineType.Unknown });
    await refused(ErrUnknownStateMachineType, () => importSnapshot(m1.config, src, workedMembers(), 1n));
    await refused(ErrUnknownStateMachineType, () => importSnapshot(m4, src, workedMembers(), 4n));
  });

  it('snapshot index 0 → ErrIncompleteSnapshot', async () => {
    const src = await exportDir({ index: 0n });
    const e = await refused(ErrIncompleteSnapshot, () => importSnapshot(m4, src, workedMembers(), 4n));
    expect(e.details.check).toBe('index');
  });
});

describe("members against the snapshot's membership (docs/import-contract.md step 6)", () => {
  let src: string;
  beforeAll(async () => {
    src = await exportDir({
      membership: sourceMembership({
        removed: new Map([[6n, true]]),
        nonVotings: new Map([[7n, 'm7:63001']]),
        witnesses: new Map([[8n, 'm8:63001']]),
      }),
    });
  });

  const cases: [string, Record<string, string>, string][] = [
    ['node address changed', { 1: M1, 2: 'm2-new:63001', 4: M4 }, 'node-address-changed'],
    ['re-adding a removed node', { 1: M1, 6: 'm6:63001' }, 'removed-node'],
    ['a non-voting node as a regular node', { 1: M1, 7: 'm7:63001' }, 'non-voting-as-regular'],
    ['a witness as a regular node', { 1: M1, 8: 'm8:63001' }, 'witness-as-regular'],
  ];
  for (const [what, members, rule] of cases) {
    it(`${what} → ErrInvalidMembers (${rule})`, async () => {
      const e = await refused(ErrInvalidMembers, () => importSnapshot(m1.config, src, members, 1n));
      expect(e.details.rule).toBe(rule);
    });
  }
});

describe('the NodeHost directory (docs/import-contract.md steps 7 and 8)', () => {
  it("another host's dragonboat.ds → ErrNotOwner", async () => {
    const src = await exportDir();
    // The member map agrees with this configuration, but the directory was written by m1.
    const cfg: NodeHostConfig = { ...m1.config, raftAddress: 'm9:63001' };
    const e = await refused(ErrNotOwner, () => importSnapshot(cfg, src, { 1: M1, 9: 'm9:63001' }, 9n));
    expect(e.details.check).toBe('address');
    expect(e.details.actual).toBe(M1);
    expect(e.details.expected).toBe('m9:63001');
  });

  describe('a removed node', () => {
    let marker: string;
    beforeEach(async () => {
      marker = path.join(path.dirname(m1.snapshotDir!), 'DELETED.dragonboat');
      await writeFlagFile(marker, encodeRaftDataStatus(emptyRaftDataStatus()));
      return async () => fsp.rm(marker, { force: true });
    });

    it('DELETED.dragonboat in the snapshot root → ErrDirMarkedAsDeleted', async () => {
      const src = await exportDir();
      const e = await refused(ErrDirMarkedAsDeleted, () => importSnapshot(m1.config, src, workedMembers(), 1n));
      expect(e.details.path).toBe(marker);
    });
  });

  it('the node already records another snapshot at the same index → ErrSnapshotOutOfDate', async () => {
    const src = await exportDir({ index: 10n, payload: statePayload(1000, 99) });
    const e = await refused(ErrSnapshotOutOfDate, () => importSnapshot(m1.config, src, workedMembers(), 1n));
    expect(e.details.check).toBe('final-dir-conflict');
  });
});
