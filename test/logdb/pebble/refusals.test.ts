/** Stores this tool must not read or write: refused, naming the file, and left byte-identical. */
import * as fsp from 'node:fs/promises';
import * as path from 'node:path';
import { describe, expect, it } from 'vitest';
import { PebblePartition } from '../../../src/logdb/pebble/partition.js';
import { raftStateKey } from '../../../src/logdb/keys.js';
import { treeSnapshot } from '../../helpers/tree.js';
import { copyPartition, scratch } from './fixture.js';

const tmp = scratch();

async function expectRefused(dir: string, code: string, check: string, file: string): Promise<void> {
  const before = await treeSnapshot(dir);
  const p = new PebblePartition({ dataDir: dir, walDir: dir });
  const shape = { code, details: expect.objectContaining({ check, path: path.join(dir, file) }) };
  await expect(p.get(raftStateKey(100, 1))).rejects.toMatchObject(shape);
  await expect(p.write([{ type: 'put', key: raftStateKey(100, 1), value: Uint8Array.of(1) }])).rejects.toMatchObject(shape);
  await p.close();
  expect(await treeSnapshot(dir)).toEqual(before);
}

describe('refusals', () => {
  const cases: [string, (dir: string) => Promise<void>, string, string, string][] = [
    ['a LevelDB LOG file', (d) => fsp.writeFile(path.join(d, 'LOG'), 'x'), 'ErrUnsupportedLogStore', 'leveldb-file', 'LOG'],
    ['a LevelDB table', (d) => fsp.writeFile(path.join(d, '000005.ldb'), 'x'), 'ErrUnsupportedLogStore', 'leveldb-file', '000005.ldb'],
    [
      'a format-version marker',
      (d) => fsp.writeFile(path.join(d, 'marker.format-version.000001.005'), ''),
      'ErrUnsupportedLogStore',
      'marker-file',
      'marker.format-version.000001.005',
    ],
    ['a missing live table', (d) => fsp.rm(path.join(d, '000011.sst')), 'ErrCorruptLogStore', 'missing-table', '000011.sst'],
    [
      'a live table of another size',
      (d) => fsp.appendFile(path.join(d, '000006.sst'), 'x'),
      'ErrCorruptLogStore',
      'table-size',
      '000006.sst',
    ],
    [
      'no CURRENT but a MANIFEST (a half-made store)',
      (d) => fsp.rm(path.join(d, 'CURRENT')),
      'ErrUnsupportedLogStore',
      'no-current',
      '000006.sst',
    ],
    [
      'OPTIONS of format major version 2',
      async (d) => {
        const f = path.join(d, 'OPTIONS-000009');
        await fsp.writeFile(f, (await fsp.readFile(f, 'utf8')).replace('format_major_version=1', 'format_major_version=2'));
      },
      'ErrUnsupportedLogStore',
      'format-major-version',
      'OPTIONS-000009',
    ],
    [
      'OPTIONS with compression',
      async (d) => {
        const f = path.join(d, 'OPTIONS-000009');
        await fsp.writeFile(f, (await fsp.readFile(f, 'utf8')).replace('compression=NoCompression', 'compression=Snappy'));
      },
      'ErrUnsupportedLogStore',
      'compression',
      'OPTIONS-000009',
    ],
  ];
  for (const [what, damage, code, check, file] of cases) {
    it(what, async () => {
      const dir = await copyPartition('nh1', 4, tmp.make());
      await damage(dir);
      await expectRefused(dir, code, check, file);
    });
  }

  it('a WAL that is not the newest and does not end cleanly', async () => {
    const dir = await copyPartition('nh1', 4, tmp.make());
    const p = new PebblePartition({ dataDir: dir, walDir: dir });
    await p.write([{ type: 'put', key: raftStateKey(100, 1), value: Uint8Array.of(1) }]);
    await p.close();
    await fsp.truncate(path.join(dir, '000010.log'), 700);
    await expectRefused(dir, 'ErrCorruptLogStore', 'wal-chunk-past-block', '000010.log');
  });
});
