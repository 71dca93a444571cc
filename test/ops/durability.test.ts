/**
 * Issue 10 #8: a new `logdb-<p>` directory is made durable (its parent is
 * fsynced once it exists) on both log stores; `export` holds NodeHostDir/LOCK
 * while it reads (a NodeHost, another process, cannot lock it meanwhile); a
 * `.gbsnap` over 2 GiB imports (every read of snapshot files is streamed).
 */
import { spawnSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import * as fsp from 'node:fs/promises';
import * as path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';

import { loadNative } from '../../src/native/binding.js';
import { resolveNodeHostConfig } from '../../src/nodehost/config.js';
import { deploymentDir, lockFilePath } from '../../src/nodehost/paths.js';
import { exportSnapshot } from '../../src/ops/export.js';
import { importSnapshot } from '../../src/ops/import.js';
import { createV2SnapshotWriter } from '../../src/snapshot/writer.js';
import { makeRunningNode, makeTempDir } from '../helpers/nodehost.js';
import { TEST_LOGDB_TYPE } from '../helpers/store.js';
import { OPS_DIR, freshConfig, makeExport } from './fixtures.js';
import { M4, PARTITION, workedMembers } from '../helpers/worked-example.js';
import { writeFlagFile } from '../../src/files/flagfile.js';
import { encodeSnapshot } from '../../src/records/codec.js';
import { patternBytes } from '../helpers/payload.js';
import { probeLock } from '../helpers/lock-holders.js';

let root: string;
beforeAll(async () => {
  root = await makeTempDir('nht-durable-');
});
afterAll(async () => {
  await fsp.rm(root, { recursive: true, force: true });
});

const HAS_STRACE = spawnSync('strace', ['-f', '-e', 'trace=none', 'true']).status === 0;

describe.skipIf(!HAS_STRACE)('a new logdb-<p> directory is durable (observed with strace: needs strace and ptrace)', () => {
  it(`an import on a fresh host fsyncs the partition directory's parent after creating it (${TEST_LOGDB_TYPE})`, async () => {
    const exp = await makeExport(path.join(root, 'exp-fresh'));
    const cfg = freshConfig(path.join(root, 'm4'), M4);
    const trace = path.join(root, 'strace.txt');
    const spec = { config: cfg, srcDir: exp.dir, members: workedMembers(), replicaId: '4', options: { engine: 'js' } };
    const run = spawnSync(
      'strace',
      [
        '-f',
        '-y',
        '-e',
        'trace=mkdir,mkdirat,fsync',
        '-o',
        trace,
        process.execPath,
        path.join(OPS_DIR, 'import-child.mjs'),
        JSON.stringify(spec),
      ],
      { encoding: 'utf8' },
    );
    expect(run.status, run.stdout + run.stderr).toBe(0);
    const dep = deploymentDir(resolveNodeHostConfig(cfg));
    const part = path.join(dep, `logdb-${PARTITION}`);
    const lines = readFileSync(trace, 'utf8').split('\n');
    const made = lines.findIndex((l) => /mkdir(at)?\(/.test(l) && l.includes(`"${part}"`) && / = 0$/.test(l));
    expect(made, 'logdb-<p> created').toBeGreaterThanOrEqual(0);
    const synced = lines.slice(made + 1).some((l) => l.includes('fsync(') && l.includes(`<${dep}>`) && / = 0$/.test(l));
    expect(synced, `fsync of ${dep} after creating ${part}`).toBe(true);
  });
});

describe.skipIf(!loadNative())('export holds NodeHostDir/LOCK while it reads (needs the addon: fcntl locks)', () => {
  it('another process cannot lock NodeHostDir/LOCK during the export, and can after it', async () => {
    const node = await makeRunningNode({ root: path.join(root, 'm1'), entries: 30, snapshotIndex: 10n, payloadBytes: 3 * 1024 * 1024 });
    const lock = lockFilePath(node.cfg.nodeHostDir);
    let during: string | undefined;
    await exportSnapshot(node.config, node.shardId, node.replicaId, path.join(root, 'out'), {
      engine: 'js',
      onProgress: (phase) => {
        if (phase === 'copy' && during === undefined) during = probeLock(lock);
      },
    });
    expect(during).toBe('locked');
    expect(probeLock(lock)).toBe('free');
  });
});

describe.skipIf(TEST_LOGDB_TYPE !== 'sharded-leveldb')('a .gbsnap over 2 GiB (store-neutral: run once, in the leveldb project)', () => {
  it('imports on a fresh host and a rerun keeps it in place (every read streamed)', async () => {
    const exp = await makeExport(path.join(root, 'exp-big'));
    // Replace the export's small file with one of 2 GiB + 3 MiB (written block by block, never whole in memory).
    const big = exp.file;
    await fsp.rm(big);
    const w = await createV2SnapshotWriter(big, { sessionSize: 16n, dataStoreSize: (2n << 30n) + (3n << 20n) - 16n, unreliableTime: 1n });
    const piece = patternBytes(8 << 20, 131);
    let left = 2 * 2 ** 30 + 3 * 2 ** 20;
    while (left > 0) {
      const n = Math.min(piece.length, left);
      await w.write(piece.subarray(0, n));
      left -= n;
    }
    const written = await w.finish();
    await fsp.chmod(big, 0o640);
    await writeFlagFile(
      path.join(exp.dir, 'snapshot.metadata'),
      encodeSnapshot({ ...exp.record, fileSize: written.fileSize, checksum: written.payloadChecksum }),
    );
    expect(written.fileSize > 2n ** 31n).toBe(true);

    const cfg = freshConfig(path.join(root, 'm4-big'), M4);
    const engine = loadNative() ? 'native' : 'js';
    const res = await importSnapshot(cfg, exp.dir, workedMembers(), 4, { engine });
    expect(res.files[0]!.bytes).toBe(written.fileSize);
    const again = await importSnapshot(cfg, exp.dir, workedMembers(), 4, { engine });
    expect(again.files.every((f) => f.how === 'reused')).toBe(true);
  }, 300_000);
});
