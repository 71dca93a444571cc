/**
 * Bulk log-entry work of a carried log suffix (docs/log-suffix.md) in the
 * addon: the entry frames of a piece of `log-suffix.nhlog` checked by every
 * rule an entry frame must follow and, in the write pass, emitted as the
 * batch's put operations under the importing replica's keys — no
 * JavaScript per entry. The kernel stops before the first frame it does not
 * take; the caller's reader handles that frame itself, so a refusal is
 * always reported by the one JavaScript implementation of the rules.
 *
 * {@link encodePut} is the same put in JavaScript, byte for byte: the
 * encoding of LevelDB's and Pebble's batches alike.
 */
import { putUvarintAt, uvarintSize } from '../pebble/varint.js';
import { loadNative, type NativeBinding, type NativeSha256Stream, type RawSuffixFrames } from '../native/binding.js';

/** Why a kernel call stopped. */
export const SuffixStop = { More: 0, Frame: 1, Full: 2 } as const;

/** Where the entries stand (the suffix validator's state) and how many were taken: advanced by each call. */
export interface SuffixCursor {
  next: bigint;
  lastTerm: bigint;
  lastIndex: bigint;
  count: number;
}

/** The addon's entry-frame kernel. */
export interface SuffixFrameKernel {
  /**
   * Validating pass: takes the entry frames at the front of `piece`,
   * recording each one's term, frame CRC and whether it changes membership
   * (1 in `changes`) at `cursor.count`.
   */
  validate(piece: Uint8Array, cursor: SuffixCursor, crcs: Uint32Array, changes: Uint8Array, terms: BigUint64Array): RawSuffixFrames;
  /**
   * Writing pass: takes the entry frames at the front of `piece` whose frame
   * CRC is the one recorded at their position (then their bytes are the ones
   * validated, and `changes` says which to neutralise), emitting each as a
   * put of key `keyPrefix` + index (big-endian) into `out`.
   */
  write(
    piece: Uint8Array,
    cursor: SuffixCursor,
    crcs: Uint32Array,
    changes: Uint8Array,
    out: Uint8Array,
    keyPrefix: Uint8Array,
  ): RawSuffixFrames;
  /**
   * A SHA-256 whose updates run on the thread pool: the first pass hashes
   * each chunk as it is read while the kernel checks the one before.
   */
  sha256(): NativeSha256Stream;
}

/**
 * The kernel, or `undefined` without the addon (or with
 * `NODEHOST_TOOLS_DISABLE_NATIVE=1`): the caller then takes the portable
 * path. Asked once per import, so both passes take the same path.
 */
export function suffixFrameKernel(): SuffixFrameKernel | undefined {
  const b = loadNative();
  if (!b || typeof b.suffixFrames !== 'function' || typeof b.Sha256Stream !== 'function') return undefined;
  return kernelOf(b);
}

function kernelOf(b: NativeBinding): SuffixFrameKernel {
  const state = new BigUint64Array(4);
  const call = (
    piece: Uint8Array,
    c: SuffixCursor,
    crcs: Uint32Array,
    changes: Uint8Array,
    terms: BigUint64Array | null,
    out: Uint8Array | null,
    prefix: Uint8Array | null,
  ): RawSuffixFrames => {
    state[0] = c.next;
    state[1] = c.lastTerm;
    state[2] = c.lastIndex;
    state[3] = BigInt(c.count);
    const r = b.suffixFrames(piece, state, crcs, changes, terms, out, prefix);
    c.next = state[0]!;
    c.lastTerm = state[1]!;
    c.count = Number(state[3]);
    return r;
  };
  return {
    validate: (piece, c, crcs, changes, terms) => call(piece, c, crcs, changes, terms, null, null),
    write: (piece, c, crcs, changes, out, prefix) => call(piece, c, crcs, changes, null, out, prefix),
    sha256: () => new b.Sha256Stream(),
  };
}

/** Bytes of the put of `key`, `value` in a batch: kind, then each with its length as a uvarint. */
export function putSize(keyLength: number, valueLength: number): number {
  return 1 + uvarintSize(keyLength) + keyLength + uvarintSize(valueLength) + valueLength;
}

/** Writes the put of `key` = `keyPrefix` + `index` (big-endian), `value` at `o` in `buf`; returns the offset after it. */
export function encodePut(buf: Uint8Array, o: number, keyPrefix: Uint8Array, index: bigint, value: Uint8Array): number {
  buf[o++] = 1;
  o = putUvarintAt(buf, o, keyPrefix.length + 8);
  buf.set(keyPrefix, o);
  o += keyPrefix.length;
  new DataView(buf.buffer, buf.byteOffset, buf.byteLength).setBigUint64(o, index, false);
  o += 8;
  o = putUvarintAt(buf, o, value.length);
  buf.set(value, o);
  return o + value.length;
}
