import { appendFileSync, readFileSync, readdirSync, writeFileSync } from 'node:fs';
import { TEST_LOGDB_TYPE } from '../helpers/store.js';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { ErrAlreadyExists, ErrIncompleteSnapshot, ErrManifestMismatch, ErrNoSnapshot } from '../../src/errors.js';
import { readFlagFile } from '../../src/files/flagfile.js';
import { exportSnapshot } from '../../src/ops/export.js';
import { importSnapshot } from '../../src/ops/import.js';
import { MANIFEST_FILENAME, readManifest } from '../../src/ops/manifest.js';
import { verifySnapshot } from '../../src/ops/verify.js';
import { decodeSnapshot } from '../../src/records/codec.js';
import { makeRunningNode, makeTempDir, type RunningNode } from '../helpers/nodehost.js';
import { flipByte, sameBytes } from '../helpers/snapshots.js';
import { treeHash } from '../helpers/tree.js';
import { rm } from 'node:fs/promises';

const cleanups: (() => Promise<void>)[] = [];
afterEach(async () => {
  for (const c of cleanups.splice(0)) await c();
});

async function node(opts: Parameters<typeof makeRunningNode>[0] = {}): Promise<RunningNode> {
  const n = await makeRunningNode({ payloadBytes: 3 * 1024 * 1024 + 7, ...opts });
  cleanups.push(n.cleanup);
  return n;
}

async function dest(): Promise<string> {
  const d = await makeTempDir('nht-export-');
  cleanups.push(() => rm(d, { recursive: true, force: true }));
  return d;
}

describe('exportSnapshot', () => {
  it("writes Dragonboat's export layout with a manifest, leaves the node untouched, and imports", async () => {
    const n = await node();
    const before = await treeHash(n.root);
    const out = await dest();
    const res = await exportSnapshot(n.config, n.shardId, n.replicaId, out, { engine: 'js' });
    expect(await treeHash(n.root)).toBe(before);
    expect(res.exportDir).toBe(join(out, 'snapshot-000000000000000A'));
    expect(readdirSync(out)).toEqual(['snapshot-000000000000000A']);
    expect(readdirSync(res.exportDir).sort()).toEqual([MANIFEST_FILENAME, 'snapshot-000000000000000A.gbsnap', 'snapshot.metadata']);
    expect(sameBytes(readFileSync(n.snapshotFile!), readFileSync(join(res.exportDir, 'snapshot-000000000000000A.gbsnap')))).toBe(true);

    const meta = await readFlagFile(join(res.exportDir, 'snapshot.metadata'), decodeSnapshot);
    expect(meta.filepath).toBe(join(res.exportDir, 'snapshot-000000000000000A.gbsnap'));
    expect(meta.index).toBe(10n);
    expect(meta.checksum).toEqual(n.snapshot!.checksum);
    expect(meta.membership.addresses).toEqual(n.snapshot!.membership.addresses);

    const manifest = await readManifest(res.exportDir);
    expect(manifest?.files.map((f) => f.name)).toEqual(['snapshot-000000000000000A.gbsnap', 'snapshot.metadata']);
    expect(manifest?.index).toBe(10n);

    const v = await verifySnapshot(res.exportDir, { engine: 'js' });
    expect(v.manifest?.hashed.sort()).toEqual(['snapshot-000000000000000A.gbsnap', 'snapshot.metadata']);

    const m4 = await dest();
    const imp = await importSnapshot(
      { nodeHostDir: join(m4, 'nh'), raftAddress: 'm4:63001', hostname: 'testhost', logdbType: TEST_LOGDB_TYPE },
      res.exportDir,
      { 1: 'm1:63001', 4: 'm4:63001', 5: 'm5:63001' },
      4,
      { engine: 'js' },
    );
    expect(imp.after.snapshot.index).toBe(10n);
  });

  it('refuses an existing export directory and a node without a snapshot', async () => {
    const n = await node();
    const out = await dest();
    await exportSnapshot(n.config, n.shardId, n.replicaId, out, { engine: 'js' });
    await expect(exportSnapshot(n.config, n.shardId, n.replicaId, out, { engine: 'js' })).rejects.toBeInstanceOf(ErrAlreadyExists);
    const bare = await node({ snapshotIndex: 0n });
    const err = await exportSnapshot(bare.config, bare.shardId, bare.replicaId, out, { engine: 'js' }).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(ErrNoSnapshot);
    expect((err as ErrNoSnapshot).code).toBe('ErrNoSnapshot');
  });

  it('refuses a corrupt node snapshot and leaves nothing behind', async () => {
    const n = await node();
    flipByte(n.snapshotFile!, 1024 + 2 * 1024 * 1024 + 4 + 100);
    const out = await dest();
    const err = await exportSnapshot(n.config, n.shardId, n.replicaId, out, { engine: 'js' }).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(ErrIncompleteSnapshot);
    expect((err as ErrIncompleteSnapshot).details.check).toBe('block-crc');
    expect((err as ErrIncompleteSnapshot).details.block).toBe(1);
    expect(readdirSync(out)).toEqual([]);
  });

  it('verify and import check the manifest', async () => {
    const n = await node();
    const out = await dest();
    const { exportDir } = await exportSnapshot(n.config, n.shardId, n.replicaId, out, { engine: 'js' });

    // A tampered digest is caught by verify (which hashes everything)...
    const mpath = join(exportDir, MANIFEST_FILENAME);
    const original = readFileSync(mpath, 'utf8');
    const j = JSON.parse(original) as { files: { name: string; sha256: string }[] };
    j.files.find((f) => f.name === 'snapshot.metadata')!.sha256 = '0'.repeat(64);
    writeFileSync(mpath, JSON.stringify(j));
    const verr = await verifySnapshot(exportDir, { engine: 'js' }).catch((e: unknown) => e);
    expect(verr).toBeInstanceOf(ErrManifestMismatch);
    expect((verr as ErrManifestMismatch).details.check).toBe('manifest-sha256');

    // ...and by import, which then changes nothing.
    const m4 = await dest();
    const cfg = { nodeHostDir: join(m4, 'nh'), raftAddress: 'm4:63001', hostname: 'testhost', logdbType: TEST_LOGDB_TYPE };
    const before = await treeHash(m4);
    const ierr = await importSnapshot(cfg, exportDir, { 1: 'm1:63001', 4: 'm4:63001' }, 4, { engine: 'js' }).catch((e: unknown) => e);
    expect(ierr).toBeInstanceOf(ErrManifestMismatch);
    expect(await treeHash(m4)).toBe(before);

    // An extra file in the export is refused too.
    writeFileSync(mpath, original);
    appendFileSync(join(exportDir, 'stray.bin'), 'x');
    const xerr = await verifySnapshot(exportDir, { engine: 'js' }).catch((e: unknown) => e);
    expect((xerr as ErrManifestMismatch).details.check).toBe('manifest-extra-file');
  });
});
