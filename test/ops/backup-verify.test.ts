/**
 * A backup is verified before restore-backup writes anything (issue 10 #5,
 * #9): it carries the SHA-256 and size of every file in it and the counts of
 * its log store pairs, names read from it are single path components of the
 * snapshot directory pattern, its keys must all belong to its own replica,
 * and symlinks are refused. A tampered backup fails with ErrBackupMismatch
 * naming the check, the node and the backup unchanged.
 *
 * The replica's log store keys are kept store-neutral: `logstore.kv`, framed
 * pairs (u32 key length, key, u32 value length, value; big-endian), with the
 * pair count and digest in nodehost-backup.json.
 */
import { createHash } from 'node:crypto';
import {
  appendFileSync,
  mkdirSync,
  readFileSync,
  readdirSync,
  renameSync,
  rmSync,
  symlinkSync,
  truncateSync,
  writeFileSync,
} from 'node:fs';
import { rm } from 'node:fs/promises';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { ErrBackupMismatch } from '../../src/errors.js';
import { decodeKey } from '../../src/logdb/keys.js';
import { BACKUP_META_FILENAME, restoreBackup } from '../../src/ops/backup.js';
import { exportSnapshot } from '../../src/ops/export.js';
import { importSnapshot } from '../../src/ops/import.js';
import { makeRunningNode, makeTempDir, type RunningNode } from '../helpers/nodehost.js';
import { treeHash } from '../helpers/tree.js';
import { expectCodedRejection, nodeState } from './fixtures.js';
import { workedMembers } from '../helpers/worked-example.js';

const cleanups: (() => Promise<void>)[] = [];
afterEach(async () => {
  for (const c of cleanups.splice(0)) await c();
});

async function tmp(): Promise<string> {
  const d = await makeTempDir('nht-bverify-');
  cleanups.push(() => rm(d, { recursive: true, force: true }));
  return d;
}

const MEMBERS = workedMembers();
const SNAP_DIR = 'snapshot-000000000000000A';
const GBSNAP = `snapshots/${SNAP_DIR}/snapshot-000000000000000A.gbsnap`;

/** m1 (snapshot 10, entries 1..30) imported from m2's newer snapshot (25), with a backup. */
async function imported(): Promise<{ m1: RunningNode; backupDir: string; before: Awaited<ReturnType<typeof nodeState>> }> {
  const m1 = await makeRunningNode({ entries: 30, snapshotIndex: 10n });
  cleanups.push(m1.cleanup);
  const m2 = await makeRunningNode({ entries: 30, snapshotIndex: 25n, replicaId: 2n, config: { raftAddress: 'm2:63001' } });
  cleanups.push(m2.cleanup);
  const before = await nodeState(m1.root, m1.config);
  const { exportDir } = await exportSnapshot(m2.config, 100n, 2n, await tmp(), { engine: 'js' });
  const backupDir = join(await tmp(), 'undo-m1');
  await importSnapshot(m1.config, exportDir, MEMBERS, 1, { engine: 'js', backupDir });
  return { m1, backupDir, before };
}

function meta(backupDir: string): Record<string, any> {
  return JSON.parse(readFileSync(join(backupDir, BACKUP_META_FILENAME), 'utf8')) as Record<string, any>;
}

function editMeta(backupDir: string, edit: (j: Record<string, any>) => void): void {
  const j = meta(backupDir);
  edit(j);
  writeFileSync(join(backupDir, BACKUP_META_FILENAME), JSON.stringify(j, null, 2));
}

/** Parses logstore.kv's frames. */
function frames(bytes: Buffer): [Buffer, Buffer][] {
  const out: [Buffer, Buffer][] = [];
  for (let o = 0; o < bytes.length; ) {
    const kl = bytes.readUInt32BE(o);
    const k = bytes.subarray(o + 4, o + 4 + kl);
    o += 4 + kl;
    const vl = bytes.readUInt32BE(o);
    out.push([k, bytes.subarray(o + 4, o + 4 + vl)]);
    o += 4 + vl;
  }
  return out;
}

describe('the backup format', () => {
  it('holds logstore.kv (framed pairs, counted and digested in the description) and digests of every file', async () => {
    const { backupDir } = await imported();
    expect(readdirSync(backupDir).sort()).toEqual(['logstore.kv', BACKUP_META_FILENAME, 'snapshots']);
    const j = meta(backupDir);
    const kv = readFileSync(join(backupDir, 'logstore.kv'));
    expect(j.logStore).toEqual({
      file: 'logstore.kv',
      pairs: 34,
      bytes: kv.length,
      sha256: createHash('sha256').update(kv).digest('hex'),
    });
    const pairs = frames(kv);
    expect(pairs.length).toBe(34); // 30 entries, raft state, max index, bootstrap, snapshot
    for (const [k] of pairs) expect(decodeKey(k)).toMatchObject({ shardId: 100n, replicaId: 1n });
    expect(pairs.filter(([k]) => decodeKey(k)!.kind === 'entry').length).toBe(30);
    const gbsnap = readFileSync(join(backupDir, GBSNAP));
    expect(j.files).toContainEqual({
      path: GBSNAP,
      size: gbsnap.length,
      sha256: createHash('sha256').update(gbsnap).digest('hex'),
      mode: expect.any(Number),
    });
  });
});

describe('restore-backup verifies the whole backup before its first write', () => {
  const cases: [string, string, (b: string) => void][] = [
    ['the .gbsnap deleted', 'missing-file', (b) => rmSync(join(b, GBSNAP))],
    ['the .gbsnap truncated', 'file-size', (b) => truncateSync(join(b, GBSNAP), 100)],
    [
      'a bit flipped in the .gbsnap',
      'file-sha256',
      (b) => {
        const p = join(b, GBSNAP);
        const bytes = readFileSync(p);
        bytes[500] = bytes[500]! ^ 0x10;
        writeFileSync(p, bytes);
      },
    ],
    ['a file added to a snapshot directory', 'extra-file', (b) => writeFileSync(join(b, 'snapshots', SNAP_DIR, 'extra'), 'x')],
    ['logstore.kv truncated (a lost tail of entries)', 'logstore-size', (b) => truncateSync(join(b, 'logstore.kv'), 200)],
    ['logstore.kv with a pair appended', 'logstore-size', (b) => appendFileSync(join(b, 'logstore.kv'), Buffer.alloc(8))],
    [
      'a bit flipped in logstore.kv',
      'logstore-sha256',
      (b) => {
        const p = join(b, 'logstore.kv');
        const bytes = readFileSync(p);
        bytes[bytes.length - 3] = bytes[bytes.length - 3]! ^ 1;
        writeFileSync(p, bytes);
      },
    ],
    [
      'snapshotDirs set to []',
      'snapshot-dirs',
      (b) =>
        editMeta(b, (j) => {
          j.snapshotDirs = [];
        }),
    ],
    [
      'snapshotDirs set to [".."]',
      'snapshot-dir-name',
      (b) =>
        editMeta(b, (j) => {
          j.snapshotDirs = ['..'];
        }),
    ],
    [
      'snapshotDirs set to ["../../x"]',
      'snapshot-dir-name',
      (b) =>
        editMeta(b, (j) => {
          j.snapshotDirs = ['../../x'];
        }),
    ],
    [
      'a file path escaping the backup',
      'file-path',
      (b) =>
        editMeta(b, (j) => {
          j.files[0].path = 'snapshots/../../../etc/passwd';
        }),
    ],
    [
      'replicaId edited',
      'logstore-key',
      (b) =>
        editMeta(b, (j) => {
          j.replicaId = '4';
        }),
    ],
    [
      'shardId edited',
      'logstore-key',
      (b) =>
        editMeta(b, (j) => {
          j.shardId = '101';
        }),
    ],
    [
      'the entry count edited',
      'logstore-count',
      (b) =>
        editMeta(b, (j) => {
          j.plainEntries = 100000;
        }),
    ],
    [
      'the .gbsnap replaced by a symlink to a copy',
      'symlink',
      (b) => {
        const p = join(b, GBSNAP);
        renameSync(p, `${b}-copy.gbsnap`);
        symlinkSync(`${b}-copy.gbsnap`, p);
      },
    ],
  ];

  it.each(cases)('%s: ErrBackupMismatch %s, node and backup unchanged', async (_what, check, tamper) => {
    const { m1, backupDir } = await imported();
    tamper(backupDir);
    const node = await treeHash(m1.root);
    const backup = await treeHash(backupDir);
    const e = await expectCodedRejection(restoreBackup(backupDir, m1.config), ErrBackupMismatch);
    expect(e.details.check).toBe(check);
    expect(await treeHash(m1.root)).toBe(node);
    expect(await treeHash(backupDir)).toBe(backup);
  });

  it('the backup directory replaced by a symlink: refused, nothing changed', async () => {
    const { m1, backupDir } = await imported();
    const real = `${backupDir}-real`;
    renameSync(backupDir, real);
    symlinkSync(real, backupDir);
    const node = await treeHash(m1.root);
    const e = await expectCodedRejection(restoreBackup(backupDir, m1.config), ErrBackupMismatch);
    expect(e.details.check).toBe('symlink');
    expect(await treeHash(m1.root)).toBe(node);
  });

  it('a backup of the previous format (a LevelDB database inside) is refused by name', async () => {
    const { m1, backupDir } = await imported();
    mkdirSync(join(backupDir, 'logdb'));
    editMeta(backupDir, (j) => {
      j.version = 1;
    });
    const node = await treeHash(m1.root);
    const e = await expectCodedRejection(restoreBackup(backupDir, m1.config), ErrBackupMismatch);
    expect(e.details.check).toBe('backup-format');
    expect(await treeHash(m1.root)).toBe(node);
  });

  it('an untouched backup restores exactly', async () => {
    const { m1, backupDir, before } = await imported();
    await restoreBackup(backupDir, m1.config);
    expect(await nodeState(m1.root, m1.config)).toEqual(before);
  });
});
