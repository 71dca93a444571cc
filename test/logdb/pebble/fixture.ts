/**
 * The shared Pebble fixture (three real Dragonboat v4 NodeHosts, shard 100;
 * where it is: ../../helpers/pebble-fixture.ts): its facts, and copies of
 * its partitions in temp directories.
 * The fixture itself is never modified.
 */
import { createHash } from 'node:crypto';
import * as fsp from 'node:fs/promises';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import * as path from 'node:path';
import { afterEach } from 'vitest';
import { PEBBLE_FIXTURE, PEBBLE_FIXTURE_DEPLOYMENT } from '../../helpers/pebble-fixture.js';

export const NODES = ['nh1', 'nh2', 'nh3'] as const;
export type Node = (typeof NODES)[number];

/** The fixture's facts.json. */
export const FACTS = JSON.parse(readFileSync(path.join(PEBBLE_FIXTURE, 'facts.json'), 'utf8')) as {
  nodes: { dir: string; partitions: PartitionFacts[] }[];
  dropInChecks: { node: string; partition: string; wal: string; seqNum: number }[];
};

export interface PartitionFacts {
  name: string;
  files: string[];
  current: string;
  minUnflushedLogNum: number;
  nextFileNum: number;
  manifestLastSeqNum: number;
  tables: { name: string; level: number; size: number; smallestSeq: number; largestSeq: number; hasRangeDelBlock: boolean }[] | null;
  wals: { name: string; size: number; batches: number; firstSeq: number; lastSeq: number; replayed: boolean }[];
  dropInSeqNum: number;
  dropInWALNum: number;
  visibleRecords: number;
  replicas?: {
    replicaId: number;
    sampleRecords: { what: string; keyHex: string; valueHex: string }[];
  }[];
}

/** The fixture's partition directory. */
export function fixturePartition(node: Node, p: number): string {
  return path.join(PEBBLE_FIXTURE, node, PEBBLE_FIXTURE_DEPLOYMENT, `logdb-${p}`);
}

export function partitionFacts(node: Node, p: number): PartitionFacts {
  return FACTS.nodes.find((n) => n.dir === node)!.partitions.find((x) => x.name === `logdb-${p}`)!;
}

/** Temp directories removed after each test. */
export function scratch(prefix = 'nht-pebble-'): { make(): string } {
  const made: string[] = [];
  afterEach(() => {
    for (const d of made.splice(0)) rmSync(d, { recursive: true, force: true });
  });
  return {
    make() {
      const d = mkdtempSync(path.join(tmpdir(), prefix));
      made.push(d);
      return d;
    },
  };
}

/** Copies a fixture partition into `root/logdb-<p>` (writable copies) and returns its path. */
export async function copyPartition(node: Node, p: number, root: string): Promise<string> {
  const dst = path.join(root, `logdb-${p}`);
  await fsp.cp(fixturePartition(node, p), dst, { recursive: true });
  for (const name of await fsp.readdir(dst)) await fsp.chmod(path.join(dst, name), 0o644);
  await fsp.chmod(dst, 0o755);
  return dst;
}

/** Hex of bytes. */
export const hex = (b: Uint8Array): string => Buffer.from(b).toString('hex');
export const unhex = (s: string): Uint8Array => new Uint8Array(Buffer.from(s, 'hex'));

/** SHA-256 of a file. */
export async function fileHash(p: string): Promise<string> {
  return createHash('sha256')
    .update(await fsp.readFile(p))
    .digest('hex');
}
