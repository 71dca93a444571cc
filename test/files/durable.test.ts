import * as fs from 'node:fs';
import * as fsp from 'node:fs/promises';
import * as os from 'node:os';
import * as path from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { ErrAborted, ErrIO } from '../../src/errors.js';
import { copyFileDurable, fsyncDir, mkdirDurable, removeTreeDurable, renameDurable, writeFileDurable } from '../../src/files/durable.js';

let dir: string;
beforeEach(() => {
  dir = fs.mkdtempSync(path.join(os.tmpdir(), 'nht-files-'));
});
afterEach(() => {
  fs.rmSync(dir, { recursive: true, force: true });
});

const bytes = (s: string): Uint8Array => new TextEncoder().encode(s);

describe('writeFileDurable', () => {
  it('creates a file with the given bytes and mode, leaving no temporary file', async () => {
    const f = path.join(dir, 'a.bin');
    await writeFileDurable(f, bytes('hello'), 0o600);
    expect(fs.readFileSync(f, 'utf8')).toBe('hello');
    expect(fs.statSync(f).mode & 0o777).toBe(0o600);
    expect(fs.readdirSync(dir)).toEqual(['a.bin']);
  });

  it('replaces an existing file', async () => {
    const f = path.join(dir, 'a.bin');
    fs.writeFileSync(f, 'old contents');
    await writeFileDurable(f, bytes('new'));
    expect(fs.readFileSync(f, 'utf8')).toBe('new');
    expect(fs.readdirSync(dir)).toEqual(['a.bin']);
  });

  it('fails with ErrIO naming the file when the directory is missing', async () => {
    const f = path.join(dir, 'missing', 'a.bin');
    const err = await writeFileDurable(f, bytes('x')).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(ErrIO);
    expect((err as ErrIO).details.path).toBe(f);
  });

  it('leaves the old file intact when the rename cannot happen', async () => {
    const f = path.join(dir, 'target');
    fs.mkdirSync(f); // a directory in the way: rename of a file over it fails
    fs.writeFileSync(path.join(f, 'inner'), 'keep');
    await expect(writeFileDurable(f, bytes('x'))).rejects.toBeInstanceOf(ErrIO);
    expect(fs.readFileSync(path.join(f, 'inner'), 'utf8')).toBe('keep');
    expect(fs.readdirSync(dir)).toEqual(['target']);
  });
});

describe('copyFileDurable', () => {
  it('copies bytes and preserves the permission bits', async () => {
    const src = path.join(dir, 'src');
    const data = Buffer.alloc(5 * 1024 * 1024 + 17, 0);
    for (let i = 0; i < data.length; i += 4096) data[i] = i & 0xff;
    fs.writeFileSync(src, data);
    fs.chmodSync(src, 0o751);
    const dst = path.join(dir, 'dst');
    const progress: number[] = [];
    await copyFileDurable(src, dst, { onProgress: (c) => progress.push(c) });
    expect(fs.readFileSync(dst).equals(data)).toBe(true);
    expect(fs.statSync(dst).mode & 0o7777).toBe(0o751);
    expect(progress.at(-1)).toBe(data.length);
    expect(progress.length).toBeGreaterThan(1);
  });

  it('copies an empty file', async () => {
    const src = path.join(dir, 'empty');
    fs.writeFileSync(src, '');
    await copyFileDurable(src, path.join(dir, 'copy'));
    expect(fs.statSync(path.join(dir, 'copy')).size).toBe(0);
  });

  it('refuses an existing destination when exclusive', async () => {
    const src = path.join(dir, 'src');
    fs.writeFileSync(src, 'a');
    fs.writeFileSync(path.join(dir, 'dst'), 'b');
    const err = await copyFileDurable(src, path.join(dir, 'dst'), { exclusive: true }).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(ErrIO);
    expect((err as ErrIO).details.errno).toBe('EEXIST');
    expect(fs.readFileSync(path.join(dir, 'dst'), 'utf8')).toBe('b');
  });

  it('removes the partial destination when aborted', async () => {
    const src = path.join(dir, 'src');
    fs.writeFileSync(src, Buffer.alloc(9 * 1024 * 1024, 1));
    const ac = new AbortController();
    const dst = path.join(dir, 'dst');
    const err = await copyFileDurable(src, dst, { signal: ac.signal, onProgress: () => ac.abort() }).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(ErrAborted);
    expect(fs.existsSync(dst)).toBe(false);
  });

  it('fails with ErrIO for a missing source or a directory', async () => {
    const missing = path.join(dir, 'nope');
    const e1 = await copyFileDurable(missing, path.join(dir, 'x')).catch((e: unknown) => e);
    expect(e1).toBeInstanceOf(ErrIO);
    expect((e1 as ErrIO).details.path).toBe(missing);
    fs.mkdirSync(path.join(dir, 'sub'));
    const e2 = await copyFileDurable(path.join(dir, 'sub'), path.join(dir, 'y')).catch((e: unknown) => e);
    expect(e2).toBeInstanceOf(ErrIO);
    expect(fs.existsSync(path.join(dir, 'y'))).toBe(false);
  });
});

describe('directories', () => {
  it('removeTreeDurable removes a tree and ignores a missing path', async () => {
    fs.mkdirSync(path.join(dir, 't/a/b'), { recursive: true });
    fs.writeFileSync(path.join(dir, 't/a/b/f'), 'x');
    await removeTreeDurable(path.join(dir, 't'));
    expect(fs.existsSync(path.join(dir, 't'))).toBe(false);
    await removeTreeDurable(path.join(dir, 't'));
  });

  it('mkdirDurable creates missing parents and reports them', async () => {
    const target = path.join(dir, 'x', 'y', 'z');
    expect(await mkdirDurable(target)).toEqual([path.join(dir, 'x'), path.join(dir, 'x', 'y'), target]);
    expect(fs.statSync(target).isDirectory()).toBe(true);
    expect(await mkdirDurable(target)).toEqual([]);
  });

  it('mkdirDurable refuses a file in the way', async () => {
    fs.writeFileSync(path.join(dir, 'file'), '');
    await expect(mkdirDurable(path.join(dir, 'file', 'sub'))).rejects.toBeInstanceOf(ErrIO);
  });

  it('renameDurable moves a directory', async () => {
    fs.mkdirSync(path.join(dir, 'a'));
    fs.writeFileSync(path.join(dir, 'a', 'f'), '1');
    await renameDurable(path.join(dir, 'a'), path.join(dir, 'b'));
    expect(fs.readFileSync(path.join(dir, 'b', 'f'), 'utf8')).toBe('1');
    await expect(renameDurable(path.join(dir, 'a'), path.join(dir, 'c'))).rejects.toBeInstanceOf(ErrIO);
  });

  it('fsyncDir fails with ErrIO for a missing directory', async () => {
    await fsyncDir(dir);
    await expect(fsyncDir(path.join(dir, 'none'))).rejects.toBeInstanceOf(ErrIO);
    await fsp.access(dir);
  });
});
