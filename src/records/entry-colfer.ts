/**
 * How Dragonboat v4 stores a Raft entry (docs/formats.md §1): not protobuf,
 * although `raft.proto` declares Entry, but Colfer — Dragonboat replaces the
 * generated Entry methods with Colfer's (`raftpb/raft_optimized.go`). An
 * EntryBatch stays protobuf (field 1, length-delimited), each element one
 * Colfer-encoded entry. Pure.
 *
 * Colfer: fields in declaration order, each omitted when zero, each led by
 * its index as a header byte; a uint64 below 2^49 is a varint after the
 * header, anything larger is 8 big-endian bytes after the header with bit 7
 * set; the int32 type is a varint of its magnitude, bit 7 of the header set
 * when negative; the command is a varint length and its bytes; 0x7f ends
 * the struct.
 */
import { ErrMalformedRecord } from '../errors.js';
import type { Entry, EntryBatch, EntryType } from './types.js';

const END = 0x7f;
const FLAG = 0x80;
const BIG = 1n << 49n;
const U64_MAX = (1n << 64n) - 1n;

function malformed(what: string, offset: number): ErrMalformedRecord {
  return new ErrMalformedRecord(`Entry (Colfer): ${what} at byte ${offset}`, { record: 'Entry', offset, check: 'colfer' });
}

/** Bytes of `e` in Dragonboat's encoding. */
export function encodeEntryColfer(e: Entry): Uint8Array {
  const out: number[] = [];
  const varint = (x: bigint): void => {
    while (x >= 0x80n) {
      out.push(Number(x & 0x7fn) | 0x80);
      x >>= 7n;
    }
    out.push(Number(x));
  };
  const u64 = (field: number, x: bigint): void => {
    if (x < 0n || x > U64_MAX) throw new RangeError(`Entry field ${field}: ${x} is not a uint64`);
    if (x === 0n) return;
    if (x >= BIG) {
      out.push(field | FLAG);
      for (let s = 56n; s >= 0n; s -= 8n) out.push(Number((x >> s) & 0xffn));
      return;
    }
    out.push(field);
    varint(x);
  };
  u64(0, e.term);
  u64(1, e.index);
  const type = e.type as number;
  if (!Number.isInteger(type) || type < -(2 ** 31) || type >= 2 ** 31) throw new RangeError(`Entry type ${type} is not an int32`);
  if (type !== 0) {
    out.push(type > 0 ? 2 : 2 | FLAG);
    varint(BigInt(Math.abs(type)));
  }
  u64(3, e.key);
  u64(4, e.clientId);
  u64(5, e.seriesId);
  u64(6, e.respondedTo);
  const head = Uint8Array.from(out);
  const cmd = e.cmd;
  if (cmd.length === 0) return concat(head, Uint8Array.of(END));
  const len: number[] = [7];
  for (let x = cmd.length; ; x = Math.floor(x / 128)) {
    if (x < 0x80) {
      len.push(x);
      break;
    }
    len.push((x & 0x7f) | 0x80);
  }
  const res = new Uint8Array(head.length + len.length + cmd.length + 1);
  res.set(head);
  res.set(len, head.length);
  res.set(cmd, head.length + len.length);
  res[res.length - 1] = END;
  return res;
}

function concat(a: Uint8Array, b: Uint8Array): Uint8Array {
  const out = new Uint8Array(a.length + b.length);
  out.set(a);
  out.set(b, a.length);
  return out;
}

/**
 * Decodes one entry spanning exactly `bytes` (stricter than Dragonboat,
 * which ignores bytes after the end marker: none of its writers leaves any).
 * Throws {@link ErrMalformedRecord} with the offset.
 */
export function decodeEntryColfer(bytes: Uint8Array): Entry {
  let i = 0;
  const byte = (what: string): number => {
    if (i >= bytes.length) throw malformed(`ends inside ${what}`, i);
    return bytes[i++]!;
  };
  // Colfer's uint64 varint: 7 bits a byte, the ninth byte (shift 56) whole.
  const varint = (what: string): bigint => {
    let x = 0n;
    for (let shift = 0n; ; shift += 7n) {
      const b = BigInt(byte(what));
      if (b < 0x80n || shift === 56n) return x | (b << shift);
      x |= (b & 0x7fn) << shift;
    }
  };
  const e: Entry = {
    term: 0n,
    index: 0n,
    type: 0 as EntryType,
    key: 0n,
    clientId: 0n,
    seriesId: 0n,
    respondedTo: 0n,
    cmd: new Uint8Array(0),
  };
  const u64Fields: [number, 'term' | 'index' | 'key' | 'clientId' | 'seriesId' | 'respondedTo'][] = [
    [0, 'term'],
    [1, 'index'],
    [3, 'key'],
    [4, 'clientId'],
    [5, 'seriesId'],
    [6, 'respondedTo'],
  ];
  let header = byte('the first header');
  for (const field of [0, 1, 2, 3, 4, 5, 6]) {
    if (field === 2) {
      if (header === 2 || header === (2 | FLAG)) {
        const v = varint('the type');
        if (v > 0xffffffffn) throw malformed('a type wider than 32 bits', i);
        const n = Number(v);
        e.type = (header === 2 ? n | 0 : -n | 0) as EntryType;
        header = byte('the header after the type');
      }
      continue;
    }
    const name = u64Fields.find(([f]) => f === field)![1];
    if (header === field) {
      e[name] = varint(name);
      header = byte(`the header after ${name}`);
    } else if (header === (field | FLAG)) {
      let x = 0n;
      for (let k = 0; k < 8; k++) x = (x << 8n) | BigInt(byte(name));
      e[name] = x;
      header = byte(`the header after ${name}`);
    }
  }
  if (header === 7) {
    const len = varint('the command length');
    if (len > BigInt(bytes.length - i)) throw malformed(`a command of ${len} bytes past the end`, i);
    e.cmd = bytes.slice(i, i + Number(len));
    i += Number(len);
    header = byte('the end marker');
  }
  if (header !== END) throw malformed(`unexpected header 0x${header.toString(16)}`, i - 1);
  if (i !== bytes.length) throw malformed(`${bytes.length - i} bytes after the end marker`, i);
  return e;
}

function putVarint(out: number[], x: number): void {
  while (x >= 0x80) {
    out.push((x & 0x7f) | 0x80);
    x = Math.floor(x / 128);
  }
  out.push(x);
}

/** An EntryBatch as Dragonboat stores it: protobuf field 1 per entry, each a Colfer entry. */
export function encodeEntryBatchColfer(b: EntryBatch): Uint8Array {
  const parts: Uint8Array[] = [];
  let size = 0;
  for (const e of b.entries) {
    const enc = encodeEntryColfer(e);
    const head: number[] = [0x0a];
    putVarint(head, enc.length);
    parts.push(Uint8Array.from(head), enc);
    size += head.length + enc.length;
  }
  const out = new Uint8Array(size);
  let o = 0;
  for (const p of parts) {
    out.set(p, o);
    o += p.length;
  }
  return out;
}

/** Decodes an EntryBatch; only field 1 (length-delimited) is accepted. Throws {@link ErrMalformedRecord}. */
export function decodeEntryBatchColfer(bytes: Uint8Array): EntryBatch {
  const entries: Entry[] = [];
  let i = 0;
  const fail = (what: string, at: number): ErrMalformedRecord =>
    new ErrMalformedRecord(`EntryBatch: ${what} at byte ${at}`, { record: 'EntryBatch', offset: at, check: 'wire' });
  while (i < bytes.length) {
    const at = i;
    if (bytes[i++] !== 0x0a) throw fail(`field tag 0x${bytes[at]!.toString(16)} where only entries (0x0a) belong`, at);
    let len = 0;
    for (let mul = 1; ; mul *= 128) {
      if (i >= bytes.length) throw fail('ends inside a length', i);
      const b = bytes[i++]!;
      len += (b & 0x7f) * mul;
      if (b < 0x80) break;
      if (mul > 2 ** 35) throw fail('a length varint too long', at);
    }
    if (i + len > bytes.length) throw fail(`an entry of ${len} bytes past the end`, at);
    try {
      entries.push(decodeEntryColfer(bytes.subarray(i, i + len)));
    } catch (err) {
      if (err instanceof ErrMalformedRecord) throw fail(`entry ${entries.length}: ${err.message}`, i);
      throw err;
    }
    i += len;
  }
  return { entries };
}

/** What {@link scanEntryColfer} reads of an entry. */
export interface EntryHead {
  index: bigint;
  term: bigint;
  type: number;
}

/**
 * Checks that `bytes[start, end)` is exactly one well-formed entry, as
 * {@link decodeEntryColfer} would accept it, and reads its index, term and
 * type into `out` — without decoding the rest: a million-entry log suffix
 * is checked at memory speed. Returns false where the decoder would throw.
 */
export function scanEntryColfer(bytes: Uint8Array, start: number, end: number, out: EntryHead): boolean {
  let i = start;
  out.index = 0n;
  out.term = 0n;
  out.type = 0;
  if (i >= end) return false;
  let header = bytes[i++]!;
  // Varints below 2^49 (at most 7 bytes) are what Dragonboat writes; longer ones take the exact path.
  const varint = (): number | bigint | undefined => {
    let x = 0;
    let mul = 1;
    for (let n = 0; n < 7; n++) {
      if (i >= end) return undefined;
      const b = bytes[i++]!;
      if (b < 0x80) return x + b * mul;
      x += (b & 0x7f) * mul;
      mul *= 128;
    }
    let big = BigInt(x);
    for (let shift = 49n; ; shift += 7n) {
      if (i >= end) return undefined;
      const b = BigInt(bytes[i++]!);
      if (b < 0x80n || shift === 56n) return big | (b << shift);
      big |= (b & 0x7fn) << shift;
    }
  };
  const next = (): boolean => {
    if (i >= end) return false;
    header = bytes[i++]!;
    return true;
  };
  for (let field = 0; field <= 6; field++) {
    if (field === 2) {
      if (header === 2 || header === (2 | FLAG)) {
        const v = varint();
        if (v === undefined || (typeof v === 'bigint' ? v > 0xffffffffn : v > 0xffffffff)) return false;
        const n = Number(v);
        out.type = header === 2 ? n | 0 : -n | 0;
        if (!next()) return false;
      }
      continue;
    }
    const wanted = field <= 1;
    let value: bigint | undefined;
    if (header === field) {
      const v = varint();
      if (v === undefined) return false;
      if (wanted) value = BigInt(v);
      if (!next()) return false;
    } else if (header === (field | FLAG)) {
      if (i + 8 > end) return false;
      if (wanted) value = new DataView(bytes.buffer, bytes.byteOffset + i, 8).getBigUint64(0, false);
      i += 8;
      if (!next()) return false;
    }
    if (value !== undefined) {
      if (field === 0) out.term = value;
      else out.index = value;
    }
  }
  if (header === 7) {
    const len = varint();
    if (len === undefined || Number(len) > end - i) return false;
    i += Number(len);
    if (!next()) return false;
  }
  return header === END && i === end;
}
