/**
 * verify of an export reads its snapshot file once: the scan that checks every
 * block also computes the SHA-256 the manifest is compared with (a second
 * read of a 1 GiB file was as long as the first).
 */
import { readFileSync, writeFileSync } from 'node:fs';
import { rm } from 'node:fs/promises';
import { join } from 'node:path';
import { afterEach, describe, expect, it, vi } from 'vitest';
import { getEngine } from '../../src/engines/select.js';
import type { ChecksumEngine, PayloadLayout, ScanOptions } from '../../src/engines/types.js';
import { ErrManifestMismatch } from '../../src/errors.js';
import { exportSnapshot } from '../../src/ops/export.js';
import { MANIFEST_FILENAME } from '../../src/ops/manifest.js';
import { verifySnapshot } from '../../src/ops/verify.js';
import { makeRunningNode, makeTempDir } from '../helpers/nodehost.js';

const hashed = vi.hoisted(() => [] as string[]);
vi.mock('../../src/files/hash.js', async (importOriginal) => {
  const real = await importOriginal<typeof import('../../src/files/hash.js')>();
  return {
    ...real,
    sha256File: (path: string, signal?: AbortSignal) => {
      hashed.push(path);
      return real.sha256File(path, signal);
    },
  };
});

const cleanups: (() => Promise<void>)[] = [];
afterEach(async () => {
  for (const c of cleanups.splice(0)) await c();
  hashed.length = 0;
});

/** The js engine, recording every scan it is asked for. */
function countingEngine(): { engine: ChecksumEngine; scans: { path: string; sha256: boolean }[] } {
  const base = getEngine('js');
  const scans: { path: string; sha256: boolean }[] = [];
  const engine: ChecksumEngine = {
    ...base,
    scanPayload: (layout: PayloadLayout, options?: ScanOptions) => {
      scans.push({ path: layout.path, sha256: options?.sha256 === true });
      return base.scanPayload(layout, options);
    },
  };
  return { engine, scans };
}

async function exported(): Promise<{ dir: string; gbsnap: string }> {
  const n = await makeRunningNode({ payloadBytes: 3 * 1024 * 1024 + 7 });
  cleanups.push(n.cleanup);
  const out = await makeTempDir('nht-verify-once-');
  cleanups.push(() => rm(out, { recursive: true, force: true }));
  const res = await exportSnapshot(n.config, n.shardId, n.replicaId, out, { engine: 'js' });
  return { dir: res.exportDir, gbsnap: join(res.exportDir, 'snapshot-000000000000000A.gbsnap') };
}

describe('verifySnapshot of an export with a manifest', () => {
  it('reads the snapshot file once: its SHA-256 comes from the block scan, the other files are hashed', async () => {
    const { dir, gbsnap } = await exported();
    const { engine, scans } = countingEngine();
    const res = await verifySnapshot(dir, { engine });
    expect(scans).toEqual([{ path: gbsnap, sha256: true }]);
    expect(hashed).toEqual([join(dir, 'snapshot.metadata')]);
    expect(res.manifest).toEqual({ hashed: ['snapshot-000000000000000A.gbsnap', 'snapshot.metadata'], sizeOnly: [] });
  });

  it("a snapshot file whose blocks are sound but whose SHA-256 is not the manifest's: ErrManifestMismatch naming it", async () => {
    const { dir, gbsnap } = await exported();
    const path = join(dir, MANIFEST_FILENAME);
    const manifest = JSON.parse(readFileSync(path, 'utf8')) as { files: { name: string; sha256: string }[] };
    const entry = manifest.files.find((f) => f.name === 'snapshot-000000000000000A.gbsnap')!;
    const real = entry.sha256;
    entry.sha256 = (real[0] === '0' ? '1' : '0') + real.slice(1);
    writeFileSync(path, JSON.stringify(manifest));
    const err = await verifySnapshot(dir, { engine: 'js' }).then(
      () => undefined,
      (e: unknown) => e,
    );
    expect(err).toBeInstanceOf(ErrManifestMismatch);
    expect((err as ErrManifestMismatch).details).toMatchObject({
      path: gbsnap,
      check: 'manifest-sha256',
      expected: entry.sha256,
      actual: real,
    });
  });
});
