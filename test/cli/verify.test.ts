/** `nodehost verify` as a user runs it: a child process, real files. */
import { join } from 'node:path';
import { beforeAll, describe, expect, it } from 'vitest';
import { loadNative } from '../../src/native/binding.js';
import { samplePayload, writeSampleExport } from '../../src/ops/sample-node.js';
import { emptySnapshot } from '../../src/records/codec.js';
import { StateMachineType } from '../../src/records/types.js';
import { GOLDEN_V1_PATH, V2_BLOCK_SIZE, blockDataOffset, copyGolden, flipByte, sizeOf, tempDirs } from '../helpers/snapshots.js';
import { treeHash } from '../helpers/tree.js';
import { expectError, expectOk, lastJson, runCli, runInProcess } from './run.js';

const dirs = tempDirs('nht-cli-verify-');

/** An export of shard 100 at index 400 whose payload spans two v2 blocks. */
async function makeExport(root: string): Promise<string> {
  const record = {
    ...emptySnapshot(),
    index: 400n,
    term: 5n,
    shardId: 100n,
    type: StateMachineType.Regular,
    membership: {
      configChangeId: 3n,
      addresses: new Map([
        [1n, 'm1:63001'],
        [2n, 'm2:63001'],
        [3n, 'm3:63001'],
      ]),
      removed: new Map(),
      nonVotings: new Map(),
      witnesses: new Map(),
    },
  };
  return writeSampleExport(join(root, 'backup'), record, samplePayload(V2_BLOCK_SIZE + 4321));
}

describe('nodehost verify', () => {
  it('the golden Dragonboat v1 file: exit 0, version 1, payload checksum eb500eb3, header length 33', async () => {
    const run = await runCli(['verify', GOLDEN_V1_PATH, '--json']);
    const res = expectOk(run);
    expect(res.kind).toBe('file');
    expect(res.target).toBe(GOLDEN_V1_PATH);
    expect(res.file.version).toBe(1);
    expect(res.file.payloadChecksum).toBe('eb500eb3');
    expect(res.file.headerLength).toBe(33);
    // Protobuf JSON conventions: 64-bit integers as decimal strings, hex checksums, enum names.
    expect(res.file.fileSize).toBe(String(sizeOf(GOLDEN_V1_PATH)));
    expect(res.file.header.version).toBe('1');
    expect(res.file.header.checksumType).toBe('CRC32IEEE');
    expect(res.file.header.payloadChecksum).toBe('eb500eb3');
    expect(res.file.checks).toContain('v1-payload-checksum');
    // Only the result on stdout, nothing else: one line.
    expect(run.stdout.trimEnd().split('\n')).toHaveLength(1);
  });

  it('human output by default: OK, the format and the checksum', async () => {
    const run = await runCli(['verify', GOLDEN_V1_PATH]);
    expect(run.status).toBe(0);
    expect(run.stdout).toMatch(/^OK {2}.*dragonboat-v1snapshot\.gbsnap$/m);
    expect(run.stdout).toContain('format v1');
    expect(run.stdout).toContain('payload checksum eb500eb3');
    expect(() => JSON.parse(run.stdout.trim().split('\n').pop()!)).toThrow();
  });

  it('an exported directory: ok with the record in protobuf JSON form', async () => {
    const dir = await makeExport(dirs.make());
    const res = expectOk(await runCli(['verify', dir, '--json']));
    expect(res.kind).toBe('export');
    expect(res.file.version).toBe(2);
    expect(res.file.blocks).toBe(2);
    expect(res.record.index).toBe('400');
    expect(res.record.term).toBe('5');
    expect(res.record.shardId).toBe('100');
    expect(res.record.type).toBe('RegularStateMachine');
    expect(res.record.membership.configChangeId).toBe('3');
    expect(res.record.membership.addresses).toEqual({ 1: 'm1:63001', 2: 'm2:63001', 3: 'm3:63001' });
    expect(res.record.checksum).toMatch(/^[0-9a-f]{8}$/);
    expect(res.record.checksum).toBe(res.file.payloadChecksum);
    expect(res.file.checks).toEqual(expect.arrayContaining(['block-crc', 'record-checksum', 'file-size']));
  });

  it('a corrupted golden copy: exit 1, ErrIncompleteSnapshot naming the check', async () => {
    const file = copyGolden(dirs.make());
    flipByte(file, sizeOf(file) - 10);
    const run = await runCli(['verify', file, '--json']);
    const err = expectError(run, 'ErrIncompleteSnapshot', 1);
    expect(err.details.check).toBe('v1-payload-checksum');
    expect(err.details.path).toBe(file);
    expect(err.details.expected).toBe('eb500eb3');
    expect(run.stderr).toContain('ErrIncompleteSnapshot');
  });

  it('a corrupted block in an export: exit 1, check block-crc, and the file is left as it was', async () => {
    const root = dirs.make();
    const dir = await makeExport(root);
    const file = join(dir, 'snapshot-0000000000000190.gbsnap');
    flipByte(file, blockDataOffset(1) + 7);
    const before = await treeHash(root);
    const err = expectError(await runCli(['verify', dir, '--json']), 'ErrIncompleteSnapshot', 1);
    expect(err.details.check).toBe('block-crc');
    expect(err.details.block).toBe(1);
    expect(await treeHash(root)).toBe(before);
  });

  it('a missing path: ErrPathNotExist, exit 1, also in human mode', async () => {
    const missing = join(dirs.make(), 'nope');
    const err = expectError(await runCli(['verify', missing, '--json']), 'ErrPathNotExist', 1);
    expect(err.details.path).toBe(missing);
    const human = await runCli(['verify', missing]);
    expect(human.status).toBe(1);
    expect(human.stdout).toBe('');
    expect(human.stderr).toContain('ErrPathNotExist');
  });

  it('usage errors exit 2: no argument, two arguments, --engine bogus', async () => {
    expectError(await runCli(['verify', '--json']), 'ErrUsage', 2);
    expectError(await runInProcess(['verify', GOLDEN_V1_PATH, GOLDEN_V1_PATH, '--json']), 'ErrUsage', 2);
    const bogus = await runCli(['verify', GOLDEN_V1_PATH, '--engine', 'bogus', '--json']);
    const err = expectError(bogus, 'ErrUsage', 2);
    expect(err.message).toContain('bogus');
    const human = await runCli(['verify']);
    expect(human.status).toBe(2);
    expect(human.stderr).toContain('Usage: nodehost verify');
  });

  describe('every engine gives the same verdict', () => {
    let exportDir: string;
    beforeAll(async () => {
      exportDir = await makeExport(dirs.make());
    });
    const strip = (o: Record<string, unknown>): Record<string, unknown> => {
      const { engine: _engine, degraded: _degraded, ...rest } = o;
      return rest;
    };

    // Without a built addon (a machine with no compiler) the native engine is skipped, not failed.
    const engines = loadNative() ? ['native', 'wasm', 'js', 'auto'] : ['wasm', 'js', 'auto'];

    it(`golden file and export, engines ${engines.join(', ')}`, async () => {
      for (const target of [GOLDEN_V1_PATH, () => exportDir] as const) {
        const t = typeof target === 'string' ? target : target();
        const runs = await Promise.all(engines.map((e) => runCli(['verify', t, '--engine', e, '--json'])));
        const objs = runs.map(expectOk);
        const auto = loadNative() ? 'native' : 'wasm';
        expect(objs.map((o) => o.engine)).toEqual(engines.map((e) => (e === 'auto' ? auto : e)));
        for (const o of objs.slice(1)) expect(strip(o)).toEqual(strip(objs[0]!));
      }
    });

    it('and the same failure for the same corruption', async () => {
      const file = copyGolden(dirs.make());
      flipByte(file, sizeOf(file) - 3);
      const runs = await Promise.all(engines.map((e) => runCli(['verify', file, '--engine', e, '--json'])));
      const errs = runs.map((r) => expectError(r, 'ErrIncompleteSnapshot', 1));
      for (const e of errs.slice(1)) expect(e).toEqual(errs[0]);
    });
  });

  it('--json without --progress prints nothing on stderr for a healthy file', async () => {
    // An explicit engine: no note about the native addon whether or not it is built.
    const run = await runCli(['verify', GOLDEN_V1_PATH, '--json', '--engine', 'wasm']);
    expect(run.stderr).toBe('');
    expect(lastJson(run.stdout).ok).toBe(true);
  });
});
