import { createHash } from 'node:crypto';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { ErrCorruptFlagFile } from '../../src/errors.js';
import { readFlagFile, readFlagFileIfExists, writeFlagFile } from '../../src/files/flagfile.js';
import { decodeRaftDataStatus, emptyRaftDataStatus, encodeRaftDataStatus } from '../../src/records/codec.js';

let dir: string;
beforeEach(() => {
  dir = fs.mkdtempSync(path.join(os.tmpdir(), 'nht-flag-'));
});
afterEach(() => {
  fs.rmSync(dir, { recursive: true, force: true });
});

describe('flag files on disk', () => {
  it('writes md5[8:16] || payload and reads it back', async () => {
    const f = path.join(dir, 'dragonboat.ds');
    const status = { ...emptyRaftDataStatus(), address: 'a:1', binVer: 100, logdbType: 'sharded-leveldb' };
    const payload = encodeRaftDataStatus(status);
    await writeFlagFile(f, payload);
    const raw = fs.readFileSync(f);
    const md5 = createHash('md5').update(payload).digest();
    expect(raw.subarray(0, 8).equals(md5.subarray(8, 16))).toBe(true);
    expect(raw.subarray(8).equals(Buffer.from(payload))).toBe(true);
    expect(await readFlagFile(f, decodeRaftDataStatus)).toEqual(status);
  });

  it('reports a missing file as ErrCorruptFlagFile naming it', async () => {
    const f = path.join(dir, 'snapshot.metadata');
    const err = await readFlagFile(f, decodeRaftDataStatus).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(ErrCorruptFlagFile);
    expect((err as ErrCorruptFlagFile).details).toMatchObject({ path: f, check: 'missing' });
    expect((err as Error).message).toContain(f);
    expect(await readFlagFileIfExists(f, decodeRaftDataStatus)).toBeUndefined();
  });

  it('reports a hash mismatch with the path', async () => {
    const f = path.join(dir, 'dragonboat.ds');
    await writeFlagFile(f, encodeRaftDataStatus({ ...emptyRaftDataStatus(), address: 'x' }));
    const raw = fs.readFileSync(f);
    raw[raw.length - 1] = raw[raw.length - 1]! ^ 0x01;
    fs.writeFileSync(f, raw);
    const err = await readFlagFile(f, decodeRaftDataStatus).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(ErrCorruptFlagFile);
    expect((err as ErrCorruptFlagFile).details).toMatchObject({ path: f, check: 'flag-hash' });
    await expect(readFlagFileIfExists(f, decodeRaftDataStatus)).rejects.toBeInstanceOf(ErrCorruptFlagFile);
  });

  it('reports a valid hash over an undecodable payload as check "payload"', async () => {
    const f = path.join(dir, 'dragonboat.ds');
    await writeFlagFile(f, new Uint8Array([0x0a, 0x05, 0x41])); // field 1, length 5, only 1 byte
    const err = await readFlagFile(f, decodeRaftDataStatus).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(ErrCorruptFlagFile);
    expect((err as ErrCorruptFlagFile).details).toMatchObject({ path: f, check: 'payload' });
  });
});
