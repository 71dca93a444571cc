/**
 * Fast generation of log store entries for the removal benchmarks, pure.
 * Millions of keys and values are needed; the general codecs (bigint based)
 * spend microseconds per record, so these write the same bytes straight into
 * one buffer per batch. The tests hold them to `entryKey` and `encodeEntry`.
 */

/** Plain entry key header (docs/formats.md §5). */
const ENTRY_HEADER = 0x01;
/** Entry key size: header(2) + 00 00 + shard(8) + replica(8) + index(8). */
export const ENTRY_KEY_SIZE = 28;

/** Protobuf tags of Entry (field << 3 | wire type). */
// Colfer field headers of an Entry (docs/formats.md §1) and its end marker.
const H_TERM = 0;
const H_INDEX = 1;
const H_KEY = 3;
const H_CMD = 7;
const END = 0x7f;

function checkU32(v: number, what: string): void {
  if (!Number.isInteger(v) || v < 0 || v > 0xffff_ffff) throw new RangeError(`${what} ${v} is not a uint32`);
}

function putU64(out: Uint8Array, at: number, v: number): void {
  // Values here are < 2^53: split into two 32-bit halves, big-endian.
  const hi = Math.floor(v / 0x1_0000_0000);
  const lo = v >>> 0;
  out[at] = hi >>> 24;
  out[at + 1] = hi >>> 16;
  out[at + 2] = hi >>> 8;
  out[at + 3] = hi;
  out[at + 4] = lo >>> 24;
  out[at + 5] = lo >>> 16;
  out[at + 6] = lo >>> 8;
  out[at + 7] = lo;
}

/** Writes the plain entry key of (shard, replica, index) at `at`; returns the end offset. */
export function writeEntryKey(out: Uint8Array, at: number, shard: number, replica: number, index: number): number {
  out[at] = ENTRY_HEADER;
  out[at + 1] = ENTRY_HEADER;
  out[at + 2] = 0;
  out[at + 3] = 0;
  putU64(out, at + 4, shard);
  putU64(out, at + 12, replica);
  putU64(out, at + 20, index);
  return at + ENTRY_KEY_SIZE;
}

function putVarint(out: Uint8Array, at: number, v: number): number {
  while (v >= 0x80) {
    out[at++] = (v & 0x7f) | 0x80;
    v >>>= 7;
  }
  out[at++] = v;
  return at;
}

/** Bytes of an encoded entry with this index, term and command length. */
export function entrySize(index: number, term: number, cmdLength: number): number {
  const varint = (v: number): number => (v < 0x80 ? 1 : v < 0x4000 ? 2 : v < 0x20_0000 ? 3 : v < 0x1000_0000 ? 4 : 5);
  const field = (v: number): number => (v === 0 ? 0 : 1 + varint(v));
  return field(term) + 2 * field(index) + (cmdLength > 0 ? 1 + varint(cmdLength) + cmdLength : 0) + 1;
}

/**
 * Writes an Entry `{term, index, type Application, key: index, client_id 0,
 * series_id 0, responded_to 0, cmd}` at `at` in Dragonboat's Colfer encoding
 * (zero fields left out; the bytes `encodeEntry` writes). Index and term
 * must be below 2^32 and `cmd` below 2 MiB. Returns the end offset.
 */
export function writeEntryValue(out: Uint8Array, at: number, index: number, term: number, cmd: Uint8Array): number {
  checkU32(index, 'index');
  checkU32(term, 'term');
  const field = (header: number, v: number): void => {
    if (v === 0) return;
    out[at++] = header;
    at = putVarint(out, at, v);
  };
  field(H_TERM, term);
  field(H_INDEX, index);
  field(H_KEY, index);
  if (cmd.length > 0) {
    out[at++] = H_CMD;
    at = putVarint(out, at, cmd.length);
    out.set(cmd, at);
    at += cmd.length;
  }
  out[at++] = END;
  return at;
}

/**
 * Command bytes for entry `index`: a short text (`set key-<i> value-<i>;`)
 * then bytes taken from `noise` at an offset that jumps around, so values
 * compress about as little as real application data.
 */
export function fillCommand(cmd: Uint8Array, index: number, noise: Uint8Array): void {
  const text = `set key-${index} value-${index};`;
  let i = 0;
  for (; i < text.length && i < cmd.length; i++) cmd[i] = text.charCodeAt(i);
  const rest = cmd.length - i;
  if (rest <= 0) return;
  const span = noise.length - rest;
  const from = span > 0 ? (index * 104_729) % span : 0;
  cmd.set(noise.subarray(from, from + rest), i);
}

/**
 * The noise the log-store inputs draw command bytes from: deterministic
 * (xorshift32 from a fixed seed), so a LevelDB store and a Pebble store
 * built with the same counts hold exactly the same keys and values.
 */
export function benchNoise(size = 1 << 20): Uint8Array {
  const out = new Uint8Array(size);
  let x = 0x9e3779b9;
  for (let i = 0; i < size; i += 4) {
    x ^= x << 13;
    x ^= x >>> 17;
    x ^= x << 5;
    out[i] = x & 0xff;
    out[i + 1] = (x >>> 8) & 0xff;
    out[i + 2] = (x >>> 16) & 0xff;
    out[i + 3] = (x >>> 24) & 0xff;
  }
  return out;
}
