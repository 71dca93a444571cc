// SIMD CRC-32 without carry-less multiply (WebAssembly SIMD has none).
//
// A chunk of 16*S bytes is cut into 16 consecutive streams of S bytes, one
// per byte lane. Each 16x16-byte block (16 bytes of every stream) is
// transposed so that vector j holds byte j of every stream; then one
// byte-at-a-time CRC step runs on all 16 lanes at once. The 32-bit register
// of each lane is kept as four byte vectors c0..c3 (c0 = low byte), so the
// ">> 8" of the byte step is a renaming and the table lookup T0[i] is split
// into two 16-entry nibble lookups per output byte (T0 is GF(2)-linear),
// i.e. eight i8x16.swizzle per step. Afterwards the 16 lane registers are
// joined: crc(A || B) = crc(A) * x^(8|B|) mod P  ^  crc_from_zero(B).
import { NIBBLE, mulmod } from './tables';

/** 16 transposed vectors of the current block. */
const TBUF: usize = memory.data(256, 64);
/** The four register byte vectors, spilled for the join. */
const SAVE: usize = memory.data(64, 16);

@inline function lo8(a: v128, b: v128): v128 { return i8x16.shuffle(a, b, 0, 16, 1, 17, 2, 18, 3, 19, 4, 20, 5, 21, 6, 22, 7, 23); }
@inline function hi8(a: v128, b: v128): v128 { return i8x16.shuffle(a, b, 8, 24, 9, 25, 10, 26, 11, 27, 12, 28, 13, 29, 14, 30, 15, 31); }
@inline function lo16(a: v128, b: v128): v128 { return i16x8.shuffle(a, b, 0, 8, 1, 9, 2, 10, 3, 11); }
@inline function hi16(a: v128, b: v128): v128 { return i16x8.shuffle(a, b, 4, 12, 5, 13, 6, 14, 7, 15); }
@inline function lo32(a: v128, b: v128): v128 { return i32x4.shuffle(a, b, 0, 4, 1, 5); }
@inline function hi32(a: v128, b: v128): v128 { return i32x4.shuffle(a, b, 2, 6, 3, 7); }

/**
 * Transposes 8 rows of 16 bytes (rows at q, q+s, ..., q+7s): column j (byte
 * j of every row, row order) becomes the u64 at out + 8*j.
 */
@inline function transposeHalf(q: usize, s: usize, out: usize): void {
  const v0 = v128.load(q), v1 = v128.load(q + s), v2 = v128.load(q + 2 * s), v3 = v128.load(q + 3 * s);
  const v4 = v128.load(q + 4 * s), v5 = v128.load(q + 5 * s), v6 = v128.load(q + 6 * s), v7 = v128.load(q + 7 * s);
  // a*: 16-bit units = (row 2i, row 2i+1) bytes of one column
  const a0 = lo8(v0, v1), a1 = hi8(v0, v1), a2 = lo8(v2, v3), a3 = hi8(v2, v3);
  const a4 = lo8(v4, v5), a5 = hi8(v4, v5), a6 = lo8(v6, v7), a7 = hi8(v6, v7);
  // b*: 32-bit units = rows 0..3 or 4..7 of one column
  const b0 = lo16(a0, a2), b1 = hi16(a0, a2), b2 = lo16(a1, a3), b3 = hi16(a1, a3);
  const b4 = lo16(a4, a6), b5 = hi16(a4, a6), b6 = lo16(a5, a7), b7 = hi16(a5, a7);
  // 64-bit units = rows 0..7 of one column, columns in order
  v128.store(out, lo32(b0, b4), 0);
  v128.store(out, hi32(b0, b4), 16);
  v128.store(out, lo32(b1, b5), 32);
  v128.store(out, hi32(b1, b5), 48);
  v128.store(out, lo32(b2, b6), 64);
  v128.store(out, hi32(b2, b6), 80);
  v128.store(out, lo32(b3, b7), 96);
  v128.store(out, hi32(b3, b7), 112);
}

/**
 * Advances raw register `c` over the 16*s bytes at p, where s is a positive
 * multiple of 16 and xs = x^(8s) mod P (see xpow8n).
 */
export function crc32Streams(p: usize, s: usize, c: u32, xs: u32): u32 {
  const L0 = v128.load(NIBBLE, 0), L1 = v128.load(NIBBLE, 16), L2 = v128.load(NIBBLE, 32), L3 = v128.load(NIBBLE, 48);
  const H0 = v128.load(NIBBLE, 64), H1 = v128.load(NIBBLE, 80), H2 = v128.load(NIBBLE, 96), H3 = v128.load(NIBBLE, 112);
  const MASK = i8x16.splat(0x0f);
  // Stream 0 continues from c; streams 1..15 start from a zero register.
  let c0 = i32x4.replace_lane(i32x4.splat(0), 0, c & 0xff);
  let c1 = i32x4.replace_lane(i32x4.splat(0), 0, (c >>> 8) & 0xff);
  let c2 = i32x4.replace_lane(i32x4.splat(0), 0, (c >>> 16) & 0xff);
  let c3 = i32x4.replace_lane(i32x4.splat(0), 0, c >>> 24);
  const s8 = s << 3;
  for (let off: usize = 0; off < s; off += 16) {
    transposeHalf(p + off, s, TBUF);
    transposeHalf(p + off + s8, s, TBUF + 128);
    // Unrolled by four: one step per column j, lanes = streams 0..15.
    for (let j: usize = 0; j < 128; j += 32) {
      {
        // column j+0: low half from streams 0..7, high half from 8..15
        const w = v128.load64_lane(TBUF + 128 + j + 0, i64x2.splat(load<u64>(TBUF + j + 0)), 1);
        const idx = v128.xor(c0, w);
        const lo = v128.and(idx, MASK);
        const hi = v128.and(i16x8.shr_u(idx, 4), MASK);
        c0 = v128.xor(v128.xor(c1, i8x16.swizzle(L0, lo)), i8x16.swizzle(H0, hi));
        c1 = v128.xor(v128.xor(c2, i8x16.swizzle(L1, lo)), i8x16.swizzle(H1, hi));
        c2 = v128.xor(v128.xor(c3, i8x16.swizzle(L2, lo)), i8x16.swizzle(H2, hi));
        c3 = v128.xor(i8x16.swizzle(L3, lo), i8x16.swizzle(H3, hi));
      }
      {
        // column j+1: low half from streams 0..7, high half from 8..15
        const w = v128.load64_lane(TBUF + 128 + j + 8, i64x2.splat(load<u64>(TBUF + j + 8)), 1);
        const idx = v128.xor(c0, w);
        const lo = v128.and(idx, MASK);
        const hi = v128.and(i16x8.shr_u(idx, 4), MASK);
        c0 = v128.xor(v128.xor(c1, i8x16.swizzle(L0, lo)), i8x16.swizzle(H0, hi));
        c1 = v128.xor(v128.xor(c2, i8x16.swizzle(L1, lo)), i8x16.swizzle(H1, hi));
        c2 = v128.xor(v128.xor(c3, i8x16.swizzle(L2, lo)), i8x16.swizzle(H2, hi));
        c3 = v128.xor(i8x16.swizzle(L3, lo), i8x16.swizzle(H3, hi));
      }
      {
        // column j+2: low half from streams 0..7, high half from 8..15
        const w = v128.load64_lane(TBUF + 128 + j + 16, i64x2.splat(load<u64>(TBUF + j + 16)), 1);
        const idx = v128.xor(c0, w);
        const lo = v128.and(idx, MASK);
        const hi = v128.and(i16x8.shr_u(idx, 4), MASK);
        c0 = v128.xor(v128.xor(c1, i8x16.swizzle(L0, lo)), i8x16.swizzle(H0, hi));
        c1 = v128.xor(v128.xor(c2, i8x16.swizzle(L1, lo)), i8x16.swizzle(H1, hi));
        c2 = v128.xor(v128.xor(c3, i8x16.swizzle(L2, lo)), i8x16.swizzle(H2, hi));
        c3 = v128.xor(i8x16.swizzle(L3, lo), i8x16.swizzle(H3, hi));
      }
      {
        // column j+3: low half from streams 0..7, high half from 8..15
        const w = v128.load64_lane(TBUF + 128 + j + 24, i64x2.splat(load<u64>(TBUF + j + 24)), 1);
        const idx = v128.xor(c0, w);
        const lo = v128.and(idx, MASK);
        const hi = v128.and(i16x8.shr_u(idx, 4), MASK);
        c0 = v128.xor(v128.xor(c1, i8x16.swizzle(L0, lo)), i8x16.swizzle(H0, hi));
        c1 = v128.xor(v128.xor(c2, i8x16.swizzle(L1, lo)), i8x16.swizzle(H1, hi));
        c2 = v128.xor(v128.xor(c3, i8x16.swizzle(L2, lo)), i8x16.swizzle(H2, hi));
        c3 = v128.xor(i8x16.swizzle(L3, lo), i8x16.swizzle(H3, hi));
      }
    }
  }
  v128.store(SAVE, c0, 0);
  v128.store(SAVE, c1, 16);
  v128.store(SAVE, c2, 32);
  v128.store(SAVE, c3, 48);
  let acc: u32 = 0;
  for (let i: usize = 0; i < 16; i++) {
    // acc = crc of streams 0..i-1; shift it past stream i and add stream i.
    const lane = <u32>load<u8>(SAVE + i)
      | (<u32>load<u8>(SAVE + 16 + i) << 8)
      | (<u32>load<u8>(SAVE + 32 + i) << 16)
      | (<u32>load<u8>(SAVE + 48 + i) << 24);
    acc = mulmod(xs, acc) ^ lane;
  }
  return acc;
}
