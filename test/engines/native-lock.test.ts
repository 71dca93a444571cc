import fs from 'node:fs';
import path from 'node:path';

import { afterAll, beforeAll, describe, expect, it } from 'vitest';

import { ErrIO } from '../../src/errors.js';
import { lockHolder } from '../../src/nodehost/native-lock.js';
import { hasPython3, holdFcntlLock, holdLevelDb } from '../helpers/lock-holders.js';
import { seed } from '../native/logdb-fixture.js';
import { tempDir } from '../native/v2file.js';

let tmp: ReturnType<typeof tempDir>;
beforeAll(() => {
  tmp = tempDir('nh-native-lock');
});
afterAll(() => tmp.cleanup());

describe('lockHolder', () => {
  it('0 for an unlocked file and for a missing one', () => {
    const file = path.join(tmp.dir, 'LOCK');
    fs.writeFileSync(file, '');
    expect(lockHolder(file)).toBe(0);
    expect(lockHolder(path.join(tmp.dir, 'missing', 'LOCK'))).toBe(0);
  });

  it("the pid of a process holding a LevelDB database's LOCK, 0 once it lets go", async () => {
    const dir = path.join(tmp.dir, 'db');
    await seed(dir, []);
    const lock = path.join(dir, 'LOCK');
    expect(lockHolder(lock)).toBe(0);
    const holder = await holdLevelDb(dir);
    try {
      expect(lockHolder(lock)).toBe(holder.pid);
    } finally {
      await holder.release();
    }
    expect(lockHolder(lock)).toBe(0);
  });

  it.skipIf(!hasPython3)('the pid of a process holding an fcntl write lock (python3 lockf)', async () => {
    const file = path.join(tmp.dir, 'NodeHostLOCK');
    fs.writeFileSync(file, '');
    const holder = await holdFcntlLock(file);
    try {
      expect(lockHolder(file)).toBe(holder.pid);
    } finally {
      await holder.release();
    }
    expect(lockHolder(file)).toBe(0);
  });

  it('an unreadable path is ErrIO with the path', () => {
    const file = path.join(tmp.dir, 'not-a-dir');
    fs.writeFileSync(file, '');
    const err = (() => {
      try {
        return lockHolder(path.join(file, 'LOCK'));
      } catch (e) {
        return e;
      }
    })();
    expect(err).toBeInstanceOf(ErrIO);
    expect((err as ErrIO).details).toMatchObject({ path: path.join(file, 'LOCK'), errno: 'ENOTDIR', syscall: 'open' });
  });
});
