/**
 * The CLI on the NodeHost directories a real default-config Dragonboat v4
 * cluster wrote (Pebble): every command reads them with no configuration of
 * the store, and refuses, before opening a partition and changing nothing, a
 * configuration that says the host runs LevelDB.
 */
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { copyPebbleHost, PEBBLE_FIXTURE_EXPORT, type PebbleHostCopy } from '../helpers/pebble-fixture.js';
import { treeSnapshot } from '../helpers/tree.js';
import { expectError, lastJson, runCli } from './run.js';

const copies: PebbleHostCopy[] = [];
afterEach(async () => {
  for (const c of copies.splice(0)) await c.cleanup();
});

async function host(): Promise<{ h: PebbleHostCopy; config: string; wrong: string }> {
  const h = await copyPebbleHost(1);
  copies.push(h);
  const config = join(h.root, 'nh1.json');
  writeFileSync(config, JSON.stringify(h.config));
  const wrong = join(h.root, 'nh1-leveldb.json');
  writeFileSync(wrong, JSON.stringify({ ...h.config, logdbType: 'sharded-leveldb' }));
  return { h, config, wrong };
}

describe('the CLI on a Dragonboat v4 (Pebble) host', () => {
  it('inspect reads the records Dragonboat wrote', async () => {
    const { config } = await host();
    const run = await runCli(['inspect', '--config', config, '--shard-id', '100', '--replica-id', '1', '--json']);
    const v = lastJson(run.stdout, run.stderr);
    expect(v.raftState, run.stderr).toEqual({ term: '3', vote: '1', commit: '620' });
    expect(v.maxIndex).toBe('620');
    expect(v.snapshot.index).toBe('200');
    expect(v.entries).toMatchObject({ firstIndex: '200', count: '421', lastIndex: '620' });
    expect(v.bootstrap).toMatchObject({ join: false, type: 'RegularStateMachine' });
  });

  it.each([
    ['inspect', (c: string) => ['inspect', '--config', c, '--shard-id', '100', '--replica-id', '1', '--json']],
    ['export', (c: string, out: string) => ['export', '--config', c, '--shard-id', '100', '--replica-id', '1', '--dest', out, '--json']],
    [
      'import',
      (c: string) => [
        'import',
        '--config',
        c,
        '--src',
        PEBBLE_FIXTURE_EXPORT,
        '--members',
        '1=127.0.0.1:26101,4=127.0.0.1:26104,5=127.0.0.1:26105',
        '--replica-id',
        '1',
        '--yes',
        '--json',
      ],
    ],
    [
      'plan',
      (c: string) => [
        'plan',
        '--src',
        PEBBLE_FIXTURE_EXPORT,
        '--members',
        '1=127.0.0.1:26101,4=127.0.0.1:26104,5=127.0.0.1:26105',
        '--config',
        c,
        '--json',
      ],
    ],
  ] as const)('%s with a configuration saying LevelDB: refused (ErrLogDBType), nothing changed', async (_name, args) => {
    const { h, wrong } = await host();
    const before = await treeSnapshot(h.nodeHostDir);
    const run = await runCli(args(wrong, join(h.root, 'out')));
    if (_name === 'plan') {
      // plan reports each host's blocker instead of failing as a whole.
      expect(run.status).toBe(1);
      expect(JSON.stringify(lastJson(run.stdout, run.stderr))).toContain('ErrLogDBType');
    } else {
      const e = expectError(run, 'ErrLogDBType', 1);
      expect(e.details).toMatchObject({ check: 'logdb-type', expected: 'sharded-leveldb', actual: 'sharded-pebble' });
    }
    expect(await treeSnapshot(h.nodeHostDir)).toEqual(before);
  });
});
