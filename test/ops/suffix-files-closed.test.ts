/**
 * Every reader of a log suffix closes the file when it stops early: a
 * refusal (import, verify), the header read alone, an iteration the caller
 * breaks off. A reader left suspended keeps its descriptor until garbage
 * collection closes it (Node warns, and will throw in a future version); an
 * operator's tool embedding the library and refusing many exports in a loop
 * would run out of descriptors. Checked on /proc/self/fd right after each
 * call, before any collection could run.
 */
import { readdirSync, readlinkSync } from 'node:fs';
import * as fsp from 'node:fs/promises';
import * as path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ErrLogSuffix } from '../../src/errors.js';
import { readLogSuffix, readLogSuffixHeader } from '../../src/files/log-suffix-file.js';
import { importSnapshot } from '../../src/ops/import.js';
import { verifySnapshot } from '../../src/ops/verify.js';
import { LOG_SUFFIX_FILENAME } from '../../src/records/log-suffix.js';
import { makeEntry, makeTempDir, type RunningNode } from '../helpers/nodehost.js';
import { workedMembers } from '../helpers/worked-example.js';
import { expectCodedRejection } from './fixtures.js';
import { exportWithSuffix, makeSurvivor, suffixEntry, type SuffixSpec } from './import-log-fixtures.js';

let root: string;
let m1: RunningNode;
let n = 0;

beforeAll(async () => {
  root = await makeTempDir('nht-suffix-fds-');
  m1 = await makeSurvivor({ root: path.join(root, 'm1') });
});

afterAll(async () => {
  await fsp.rm(root, { recursive: true, force: true });
});

async function suffixOf(spec: SuffixSpec = {}): Promise<{ dir: string; file: string }> {
  const dir = (await exportWithSuffix(path.join(root, `exports-${++n}`), m1.config, spec)).dir;
  return { dir, file: path.join(dir, LOG_SUFFIX_FILENAME) };
}

/** The descriptors this process holds open on `file`. */
function openOn(file: string): string[] {
  const fds: string[] = [];
  for (const fd of readdirSync('/proc/self/fd')) {
    try {
      if (readlinkSync(`/proc/self/fd/${fd}`) === file) fds.push(fd);
    } catch {
      // The descriptor readdir itself used, gone by now.
    }
  }
  return fds;
}

const mismatchAt25: SuffixSpec = {
  noManifest: true,
  entries: (es) => es.map((e) => (e.index === 25n ? { ...suffixEntry(makeEntry(26n, 3n)), index: 25n } : e)),
};

describe.skipIf(process.platform !== 'linux')('log suffix readers close the file when they stop early', () => {
  it('an import refused for an entry in the middle of the suffix', async () => {
    const x = await suffixOf(mismatchAt25);
    const err = await expectCodedRejection(importSnapshot(m1.config, x.dir, workedMembers(), 1n, { dryRun: true }), ErrLogSuffix);
    expect(err.details.check).toBe('entry-mismatch');
    expect(openOn(x.file)).toEqual([]);
  });

  it('an import refused at the header (another snapshot)', async () => {
    const x = await suffixOf({ noManifest: true, header: (h) => ({ ...h, snapshotTerm: 2n }) });
    const err = await expectCodedRejection(importSnapshot(m1.config, x.dir, workedMembers(), 1n, { dryRun: true }), ErrLogSuffix);
    expect(err.details.check).toBe('anchor');
    expect(openOn(x.file)).toEqual([]);
  });

  it('a verify refused for an entry in the middle of the suffix', async () => {
    const x = await suffixOf(mismatchAt25);
    const err = await expectCodedRejection(verifySnapshot(x.dir, { engine: 'js' }), ErrLogSuffix);
    expect(err.details.check).toBe('entry-mismatch');
    expect(openOn(x.file)).toEqual([]);
  });

  it('the header read alone, and an iteration broken off after the header', async () => {
    const x = await suffixOf();
    expect((await readLogSuffixHeader(x.file)).firstIndex).toBeGreaterThan(0n);
    expect(openOn(x.file)).toEqual([]);
    for await (const item of readLogSuffix(x.file)) {
      expect('header' in item).toBe(true);
      break;
    }
    expect(openOn(x.file)).toEqual([]);
  });
});
