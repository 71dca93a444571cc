/**
 * Issue 10 #11 and #6: what the import installs is what the export's
 * manifest digests: the `.gbsnap`'s SHA-256 is computed in the copy's single
 * pass (every engine, the native one included) and compared before the
 * commit; external files are hashed while they are copied and their copied
 * size checked against the record; the survivor (reuse in place) and a dry
 * run check the export's digests too. A mismatch is a coded error and the
 * NodeHost directory is byte-for-byte unchanged.
 */
import * as fsp from 'node:fs/promises';
import * as path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ErrIncompleteSnapshot, ErrManifestMismatch } from '../../src/errors.js';
import { loadNative } from '../../src/native/binding.js';
import { exportSnapshot } from '../../src/ops/export.js';
import { importSnapshot } from '../../src/ops/import.js';
import { MANIFEST_FILENAME, buildManifest, encodeManifest } from '../../src/ops/manifest.js';
import { makeRunningNode, makeTempDir } from '../helpers/nodehost.js';
import { treeHash } from '../helpers/tree.js';
import { INDEX, expectCodedRejection, freshConfig, makeExport } from './fixtures.js';
import { M4, SHARD, workedMembers } from '../helpers/worked-example.js';
import { statePayload } from '../helpers/payload.js';

let root: string;
let n = 0;
beforeAll(async () => {
  root = await makeTempDir('nht-digest-');
});
afterAll(async () => {
  await fsp.rm(root, { recursive: true, force: true });
});

const ENGINES: ('js' | 'wasm' | 'native')[] = ['js', 'wasm', ...(loadNative() ? (['native'] as const) : [])];

/** An export (with externals when asked) and a manifest over its files, as exportSnapshot writes one. */
async function exportWithManifest(externals = false): Promise<{ dir: string; gbsnap: string }> {
  const made = await makeExport(path.join(root, `exp-${++n}`), {
    payload: statePayload(5 * 1024 * 1024 + 123),
    ...(externals
      ? {
          externals: [
            { name: 'ext-a.bin', bytes: statePayload(70_000, 3) },
            { name: 'ext-b.bin', bytes: statePayload(1000, 5) },
          ],
        }
      : {}),
  });
  const names = (await fsp.readdir(made.dir)).sort();
  const m = await buildManifest(made.dir, names, { shardId: SHARD, replicaId: 1n, index: INDEX });
  await fsp.writeFile(path.join(made.dir, MANIFEST_FILENAME), encodeManifest(m));
  return { dir: made.dir, gbsnap: made.file };
}

async function setDigest(dir: string, name: string, sha256: string): Promise<void> {
  const p = path.join(dir, MANIFEST_FILENAME);
  const j = JSON.parse(await fsp.readFile(p, 'utf8')) as { files: { name: string; sha256: string }[] };
  j.files.find((f) => f.name === name)!.sha256 = sha256;
  await fsp.writeFile(p, JSON.stringify(j));
}

describe('import checks the manifest SHA-256 of the .gbsnap', () => {
  for (const engine of ENGINES) {
    it(`a fresh host refuses a zeroed .gbsnap digest (${engine}), nothing changed`, async () => {
      const { dir, gbsnap } = await exportWithManifest();
      await setDigest(dir, path.basename(gbsnap), '0'.repeat(64));
      const cfg = freshConfig(path.join(root, `m4-${++n}`), M4);
      await fsp.mkdir(path.dirname(cfg.nodeHostDir), { recursive: true });
      const before = await treeHash(path.dirname(cfg.nodeHostDir));
      const err = await expectCodedRejection(importSnapshot(cfg, dir, workedMembers(), 4, { engine }), ErrManifestMismatch);
      expect(err.details.check).toBe('manifest-sha256');
      expect(err.details.path).toBe(gbsnap);
      expect(await treeHash(path.dirname(cfg.nodeHostDir))).toBe(before);
      // The dry run reads every block: it refuses too.
      await expectCodedRejection(importSnapshot(cfg, dir, workedMembers(), 4, { engine, dryRun: true }), ErrManifestMismatch);
      // With the right digest the same export imports.
      const { dir: good } = await exportWithManifest();
      const res = await importSnapshot(cfg, good, workedMembers(), 4, { engine });
      expect(res.after.snapshot.index).toBe(INDEX);
    });
  }

  it('the survivor (its own snapshot directory kept in place) checks the export digest', async () => {
    const node = await makeRunningNode({
      root: path.join(root, `m1-${++n}`),
      entries: 30,
      snapshotIndex: 10n,
      payloadBytes: 3 * 1024 * 1024,
    });
    const out = path.join(root, `out-${n}`);
    const exp = await exportSnapshot(node.config, node.shardId, node.replicaId, out, { engine: 'js' });
    const gbsnap = exp.record.filepath;
    await setDigest(exp.exportDir, path.basename(gbsnap), 'f'.repeat(64));
    const before = await treeHash(node.root);
    for (const engine of ENGINES) {
      const err = await expectCodedRejection(
        importSnapshot(node.config, exp.exportDir, workedMembers(), 1, { engine }),
        ErrManifestMismatch,
      );
      expect(err.details.check).toBe('manifest-sha256');
      expect(err.details.path).toBe(gbsnap);
      expect(await treeHash(node.root)).toBe(before);
    }
  });
});

describe('external files are hashed while copied (what is verified is what is installed)', () => {
  it('an external file changed (same size) during the copy is refused, nothing changed', async () => {
    const { dir } = await exportWithManifest(true);
    const cfg = freshConfig(path.join(root, `m4-${++n}`), M4);
    await fsp.mkdir(path.dirname(cfg.nodeHostDir), { recursive: true });
    const before = await treeHash(path.dirname(cfg.nodeHostDir));
    let swapped = false;
    const { readFileSync, writeFileSync } = await import('node:fs');
    // Progress is synchronous: the rewrite lands after the .gbsnap is copied, before the external file is opened.
    const sync = (phase: string, done: number): void => {
      if (phase === 'copy' && done > 0 && !swapped) {
        swapped = true;
        const p = path.join(dir, 'ext-a.bin');
        writeFileSync(
          p,
          readFileSync(p).map((x) => x ^ 0xff),
        );
      }
    };
    const err = await expectCodedRejection(
      importSnapshot(cfg, dir, workedMembers(), 4, { engine: 'js', onProgress: sync }),
      ErrManifestMismatch,
    );
    expect(swapped).toBe(true);
    expect(err.details.check).toBe('manifest-sha256');
    expect(err.details.path).toBe(path.join(dir, 'ext-a.bin'));
    expect(await treeHash(path.dirname(cfg.nodeHostDir))).toBe(before);
  });

  it('without a manifest, an external file that grows during the copy is refused by its recorded size', async () => {
    const made = await makeExport(path.join(root, `exp-${++n}`), {
      payload: statePayload(3 * 1024 * 1024),
      externals: [{ name: 'ext-a.bin', bytes: statePayload(70_000, 3) }],
    });
    const cfg = freshConfig(path.join(root, `m4-${++n}`), M4);
    await fsp.mkdir(path.dirname(cfg.nodeHostDir), { recursive: true });
    const before = await treeHash(path.dirname(cfg.nodeHostDir));
    const { appendFileSync } = await import('node:fs');
    let grown = false;
    const onProgress = (phase: string, done: number): void => {
      if (phase === 'copy' && done > 0 && !grown) {
        grown = true;
        appendFileSync(path.join(made.dir, 'ext-a.bin'), Buffer.alloc(100, 1));
      }
    };
    const err = await expectCodedRejection(
      importSnapshot(cfg, made.dir, workedMembers(), 4, { engine: 'js', onProgress }),
      ErrIncompleteSnapshot,
    );
    expect(err.details.check).toBe('external-file-size');
    expect(await treeHash(path.dirname(cfg.nodeHostDir))).toBe(before);
  });

  it("a dry run checks the external files' digests", async () => {
    const { dir } = await exportWithManifest(true);
    await setDigest(dir, 'ext-b.bin', '1'.repeat(64));
    const cfg = freshConfig(path.join(root, `m4-${++n}`), M4);
    const err = await expectCodedRejection(
      importSnapshot(cfg, dir, workedMembers(), 4, { engine: 'js', dryRun: true }),
      ErrManifestMismatch,
    );
    expect(err.details.path).toBe(path.join(dir, 'ext-b.bin'));
  });
});

describe('every engine computes the SHA-256 in its own scan and copy pass', () => {
  it('equals node:crypto over the whole file (v1 and v2, scan and copy)', async () => {
    const { createHash } = await import('node:crypto');
    const { readFileSync } = await import('node:fs');
    const { selectEngine } = await import('../../src/engines/select.js');
    const { verifySnapshotFile, copySnapshotFile } = await import('../../src/snapshot/verify.js');
    const { writeV1, writeV2 } = await import('../helpers/snapshots.js');
    const { payload } = await import('../helpers/payload.js');
    const dir = path.join(root, `engines-${++n}`);
    await fsp.mkdir(dir);
    await writeV2(dir, payload(2 * 1024 * 1024 * 5 + 77), 'a.gbsnap');
    await writeV1(dir, payload(3 * 1024 * 1024 + 5), 'b.gbsnap');
    const files = [path.join(dir, 'a.gbsnap'), path.join(dir, 'b.gbsnap')];
    for (const file of files) {
      const want = createHash('sha256').update(readFileSync(file)).digest('hex');
      for (const name of ENGINES) {
        const { engine } = selectEngine(name);
        const v = await verifySnapshotFile(file, { engine, sha256: true });
        expect(v.sha256, `${name} scan of ${file}`).toBe(want);
        const dest = path.join(dir, `copy-${name}-${path.basename(file)}`);
        const c = await copySnapshotFile(file, dest, { engine, mode: 0o600, sha256: true });
        expect(c.sha256, `${name} copy of ${file}`).toBe(want);
        expect(createHash('sha256').update(readFileSync(dest)).digest('hex')).toBe(want);
      }
    }
  });
});
