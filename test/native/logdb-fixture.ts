/** Log-store keys (docs/formats.md §5) and a classic-level database to run the addon against. */
import crypto from 'node:crypto';

import { ClassicLevel } from 'classic-level';

export const H = { entry: 0x01, state: 0x02, maxIndex: 0x03, snapshot: 0x05, bootstrap: 0x06, batch: 0x07 } as const;

/** header header 00 00 || shardID || replicaID [|| suffix], all big-endian. */
export function key(header: number, shard: bigint, replica: bigint, suffix?: bigint): Uint8Array {
  const k = Buffer.alloc(suffix === undefined ? 20 : 28);
  k[0] = header;
  k[1] = header;
  k.writeBigUInt64BE(shard, 4);
  k.writeBigUInt64BE(replica, 12);
  if (suffix !== undefined) k.writeBigUInt64BE(suffix, 20);
  return k;
}

export const hex = (b: Uint8Array) => Buffer.from(b).toString('hex');

export type Db = ClassicLevel<Uint8Array, Uint8Array>;

export function openDb(dir: string): Db {
  return new ClassicLevel<Uint8Array, Uint8Array>(dir, { keyEncoding: 'view', valueEncoding: 'view' });
}

/** Every key/value of the database, as hex, read through classic-level (then closed). */
export async function dump(dir: string): Promise<Map<string, string>> {
  const db = openDb(dir);
  await db.open({ createIfMissing: false });
  try {
    const out = new Map<string, string>();
    for (const [k, v] of await db.iterator().all()) out.set(hex(k), hex(v));
    return out;
  } finally {
    await db.close();
  }
}

export interface Replica {
  shard: bigint;
  replica: bigint;
  plain: bigint[];
  batches: bigint[];
}

/**
 * Writes the replicas' plain entries and batches, plus the other records a
 * node has (state, max index, snapshot, bootstrap), then closes the database.
 */
export async function seed(dir: string, replicas: Replica[], valueSize = 32): Promise<void> {
  const db = openDb(dir);
  await db.open();
  try {
    const ops: Array<{ type: 'put'; key: Uint8Array; value: Uint8Array }> = [];
    const put = (k: Uint8Array) => ops.push({ type: 'put', key: k, value: valueFor(valueSize) });
    for (const r of replicas) {
      for (const i of r.plain) put(key(H.entry, r.shard, r.replica, i));
      for (const b of r.batches) put(key(H.batch, r.shard, r.replica, b));
      put(key(H.state, r.shard, r.replica));
      put(key(H.maxIndex, r.shard, r.replica));
      put(key(H.bootstrap, r.shard, r.replica));
      put(key(H.snapshot, r.shard, r.replica, 100n));
    }
    for (let i = 0; i < ops.length; i += 5000) await db.batch(ops.slice(i, i + 5000));
  } finally {
    await db.close();
  }
}

/** Random, so incompressible (Snappy must not shrink them away); tests compare dumps, not values. */
export function valueFor(size: number): Uint8Array {
  return crypto.randomBytes(size);
}

export const range = (from: number, to: number) => Array.from({ length: to - from }, (_, i) => BigInt(from + i));
