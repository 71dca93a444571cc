import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { ErrLogSuffix } from '../../src/errors.js';
import { checkLogSuffixFile, readLogSuffix, readLogSuffixHeader, writeLogSuffixFile } from '../../src/files/log-suffix-file.js';
import { encodeEntryFrame, type LogSuffixEntry, type LogSuffixHeader } from '../../src/records/log-suffix.js';
import { suffixBytes, suffixHeader } from '../helpers/log-suffix.js';

let dir: string;
beforeEach(async () => {
  dir = await mkdtemp(join(tmpdir(), 'nh-suffix-'));
});
afterEach(async () => {
  await rm(dir, { recursive: true, force: true });
});

const header = suffixHeader;

function entries(first: bigint, last: bigint, termAt = (i: bigint): bigint => (i < first + 3n ? 3n : 5n)): LogSuffixEntry[] {
  const out: LogSuffixEntry[] = [];
  for (let i = first; i <= last; i++) out.push({ index: i, term: termAt(i), value: new TextEncoder().encode(`entry ${i}`) });
  return out;
}

async function readAll(path: string): Promise<{ header?: LogSuffixHeader; entries: LogSuffixEntry[] }> {
  const out: { header?: LogSuffixHeader; entries: LogSuffixEntry[] } = { entries: [] };
  for await (const f of readLogSuffix(path)) {
    if ('header' in f) out.header = f.header;
    else out.entries.push(f.entry);
  }
  return out;
}

/** A file assembled frame by frame, so that tests can write what the writer refuses to. */
function assemble(
  h: LogSuffixHeader,
  es: LogSuffixEntry[],
  end = { entryCount: h.entryCount, lastIndex: h.lastIndex, lastTerm: es.at(-1)?.term ?? 0n },
): Buffer {
  return suffixBytes(h, es, end);
}

async function refusal(bytes: Uint8Array): Promise<ErrLogSuffix> {
  const path = join(dir, `bad-${Math.random()}.nhlog`);
  await writeFile(path, bytes);
  const err = await checkLogSuffixFile(path).catch((e: unknown) => e);
  expect(err).toBeInstanceOf(ErrLogSuffix);
  return err as ErrLogSuffix;
}

describe('log suffix file', () => {
  it('round-trips header and entries, with the SHA-256 of the bytes on disk', async () => {
    const path = join(dir, 'log-suffix.nhlog');
    const es = entries(401n, 620n);
    const w = await writeLogSuffixFile(path, header(401n, 620n), es);
    expect(w).toMatchObject({ entryCount: 220n, lastTerm: 5n });
    const back = await readAll(path);
    expect(back.header).toEqual(header(401n, 620n));
    expect(back.entries).toEqual(es);
    const sum = await checkLogSuffixFile(path);
    const { createHash } = await import('node:crypto');
    expect(sum.sha256).toBe(
      createHash('sha256')
        .update(await readFile(path))
        .digest('hex'),
    );
    expect(sum.size).toBe(w.size);
    expect(await readLogSuffixHeader(path)).toEqual(header(401n, 620n));
  });

  it('refuses to write a log with a gap, a term going back, or a count the header does not say (and leaves a partial file the caller removes)', async () => {
    const gap = entries(401n, 410n).filter((e) => e.index !== 405n);
    await expect(writeLogSuffixFile(join(dir, 'a'), header(401n, 410n), gap)).rejects.toMatchObject({
      code: 'ErrLogSuffix',
      details: { check: 'gap' },
    });
    const back = entries(401n, 410n, (i) => (i === 407n ? 2n : 4n));
    await expect(writeLogSuffixFile(join(dir, 'b'), header(401n, 410n), back)).rejects.toMatchObject({ details: { check: 'term-order' } });
    await expect(writeLogSuffixFile(join(dir, 'c'), header(401n, 410n), entries(401n, 409n))).rejects.toMatchObject({
      details: { check: 'count' },
    });
    await expect(writeLogSuffixFile(join(dir, 'd'), header(401n, 410n, { firstIndex: 402n }), entries(402n, 410n))).rejects.toMatchObject({
      details: { check: 'first-index' },
    });
  });

  it('refuses every truncation, and says where', async () => {
    const bytes = assemble(header(401n, 405n), entries(401n, 405n));
    for (let n = 0; n < bytes.length; n++) {
      const err = await refusal(bytes.subarray(0, n));
      expect(['truncated', 'magic'], `cut at ${n}`).toContain(err.details.check);
    }
  });

  it('refuses every single-byte flip (CRC, magic, or a length that no longer fits)', async () => {
    const bytes = assemble(header(401n, 403n), entries(401n, 403n));
    for (let i = 0; i < bytes.length; i++) {
      const copy = Buffer.from(bytes);
      copy[i]! ^= 0x40;
      const err = await refusal(copy);
      expect(['frame-crc', 'magic', 'truncated', 'frame-length'], `flip at ${i}`).toContain(err.details.check);
    }
  });

  it('refuses reordered, duplicated and gapped entries, a term going back, a bad end frame and bytes after it', async () => {
    const h = header(401n, 404n);
    const es = entries(401n, 404n);
    expect((await refusal(assemble(h, [es[0]!, es[2]!, es[1]!, es[3]!]))).details.check).toBe('gap');
    expect((await refusal(assemble(h, [es[0]!, es[0]!, es[1]!, es[2]!]))).details.check).toBe('order');
    expect((await refusal(assemble(h, [es[0]!, { ...es[1]!, term: 1n }, es[2]!, es[3]!]))).details.check).toBe('term-order');
    expect((await refusal(assemble(h, es, { entryCount: 4n, lastIndex: 404n, lastTerm: 9n }))).details.check).toBe('count');
    expect((await refusal(Buffer.concat([assemble(h, es), encodeEntryFrame(es[0]!)]))).details.check).toBe('frame-order');
    // An entry below the snapshot's own term: the suffix cannot continue that snapshot.
    expect((await refusal(assemble(header(401n, 401n, { snapshotTerm: 6n }), [es[0]!]))).details.check).toBe('term-order');
  });
});
