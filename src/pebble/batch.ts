/**
 * Write batches, the payload of every WAL record: `u64le seqnum, u32le count`,
 * then operations `kind, bytes(varint32) key [, bytes(varint32) value]`. The
 * i-th operation takes sequence number `seqnum + i`. Only the kinds Dragonboat
 * writes are accepted (DEL, SET, RANGEDEL); the other kinds Pebble defines are
 * refused as unsupported, anything else (which makes Pebble's own decoder fail
 * its count check) as corruption. Pure.
 */
import { Cursor, putUvarintAt, uvarintSize } from './varint.js';
import { corrupt, unsupported, type Where } from './fail.js';
import { Kind, MAX_KIND, isKnownForeignKind, kindName } from './internal-key.js';

/** Size of the batch header. */
export const BATCH_HEADER_SIZE = 12;
/** Sequence numbers are 56 bits; ours must also stay exact as numbers. */
export const MAX_SEQ = Number.MAX_SAFE_INTEGER;

/** One operation. For RANGEDEL `key` is the inclusive start and `value` the exclusive end. */
export interface BatchOp {
  kind: typeof Kind.Delete | typeof Kind.Set | typeof Kind.RangeDelete;
  key: Uint8Array;
  value?: Uint8Array;
}

/** A decoded batch. */
export interface Batch {
  seq: number;
  count: number;
  ops: BatchOp[];
}

/** Decodes a batch (a whole WAL record); `where.base` is the record's file offset. */
export function decodeBatch(payload: Uint8Array, where: Where): Batch {
  if (payload.length < BATCH_HEADER_SIZE) {
    throw corrupt(where, 0, 'batch-size', `batch of ${payload.length} bytes is shorter than its ${BATCH_HEADER_SIZE}-byte header`);
  }
  const dv = new DataView(payload.buffer, payload.byteOffset, payload.byteLength);
  const seqLo = dv.getUint32(0, true);
  const seqHi = dv.getUint32(4, true);
  const count = dv.getUint32(8, true);
  if (seqHi >= 0x200000 || seqHi * 0x100000000 + seqLo + count > MAX_SEQ) {
    throw unsupported(where, 0, 'seqnum-range', 'batch sequence numbers reach 2^53');
  }
  const seq = seqHi * 0x100000000 + seqLo;
  const c = new Cursor(payload, BATCH_HEADER_SIZE);
  const ops: BatchOp[] = [];
  const str = (what: string): Uint8Array => {
    const at = c.pos;
    const n = c.uvarint32();
    const b = n < 0 ? undefined : c.bytes(n);
    if (b === undefined) throw corrupt(where, at, 'batch-op', `batch operation ${ops.length}: ${what} runs past the batch`);
    return b;
  };
  while (c.remaining > 0) {
    const at = c.pos;
    const kind = payload[c.pos++]!;
    if (kind !== Kind.Delete && kind !== Kind.Set && kind !== Kind.RangeDelete) {
      if (kind <= MAX_KIND && isKnownForeignKind(kind)) {
        throw unsupported(where, at, 'batch-kind', `batch operation ${ops.length} is ${kindName(kind)}, which Dragonboat never writes`);
      }
      throw corrupt(where, at, 'batch-kind', `batch operation ${ops.length} has invalid kind ${kind}`);
    }
    const key = str('key');
    if (kind === Kind.Delete) {
      ops.push({ kind, key });
    } else {
      ops.push({ kind, key, value: str('value') });
    }
  }
  if (ops.length !== count) {
    throw corrupt(where, 8, 'batch-count', `inconsistent batch count: header says ${count}, ${ops.length} operations present`, {
      expected: count,
      actual: ops.length,
    });
  }
  return { seq, count, ops };
}

/** Bytes one operation takes in a batch. */
export function batchOpSize(op: BatchOp): number {
  const v = op.kind === Kind.Delete ? undefined : (op.value ?? new Uint8Array(0));
  return 1 + uvarintSize(op.key.length) + op.key.length + (v === undefined ? 0 : uvarintSize(v.length) + v.length);
}

/** The 12-byte header of a batch of `count` operations, the first taking sequence number `seq`. */
export function encodeBatchHeader(seq: number, count: number): Uint8Array {
  if (!Number.isSafeInteger(seq) || seq < 0 || seq + count > MAX_SEQ) {
    throw new RangeError(`batch sequence number ${seq} out of range`);
  }
  const buf = new Uint8Array(BATCH_HEADER_SIZE);
  const dv = new DataView(buf.buffer);
  dv.setUint32(0, seq % 0x100000000, true);
  dv.setUint32(4, Math.floor(seq / 0x100000000), true);
  dv.setUint32(8, count, true);
  return buf;
}

/** Writes one operation into `buf` at `o` (room: {@link batchOpSize}); returns the offset after it. */
export function encodeBatchOpInto(op: BatchOp, buf: Uint8Array, o: number): number {
  buf[o++] = op.kind;
  o = putBytes(buf, o, op.key);
  if (op.kind !== Kind.Delete) o = putBytes(buf, o, op.value ?? EMPTY);
  return o;
}

const EMPTY = new Uint8Array(0);

/** `b` preceded by its length as a uvarint, at `o`; returns the offset after it (no allocation: a WAL holds millions). */
function putBytes(buf: Uint8Array, o: number, b: Uint8Array): number {
  o = putUvarintAt(buf, o, b.length);
  buf.set(b, o);
  return o + b.length;
}

/** Encodes a batch whose first operation takes sequence number `seq`. */
export function encodeBatch(seq: number, ops: readonly BatchOp[]): Uint8Array {
  let size = BATCH_HEADER_SIZE;
  for (const op of ops) size += batchOpSize(op);
  const buf = new Uint8Array(size);
  buf.set(encodeBatchHeader(seq, ops.length));
  let o = BATCH_HEADER_SIZE;
  for (const op of ops) o = encodeBatchOpInto(op, buf, o);
  return buf;
}
