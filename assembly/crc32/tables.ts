// Constant data for CRC-32/IEEE (reflected polynomial 0xEDB88320, the one
// zlib and Go's hash/crc32.IEEE use). Every table lives at a fixed address in
// static memory and is filled by initTables() when the module starts, so the
// binary stays small and no table can drift from the polynomial.
//
// Values here are "raw" CRC registers: no pre/post inversion. In the reflected
// representation the coefficient of x^0 is bit 31 and multiplying by x is a
// right shift (reducing by POLY when a bit falls off).

/** Reflected CRC-32/IEEE polynomial. */
export const POLY: u32 = 0xEDB88320;

/**
 * Slicing tables: SLICE + 1024*k + 4*b holds the register contribution of
 * byte b followed by k zero bytes (k = 0..15). Table 0 is the classic
 * byte-at-a-time table.
 */
export const SLICE: usize = memory.data(16 * 256 * 4, 64);

/**
 * Nibble tables for i8x16.swizzle, 8 vectors of 16 bytes: vector m (0..3)
 * holds byte m of T0[n] for n = 0..15 (low nibble), vector 4+m holds byte m
 * of T0[n << 4] (high nibble). T0 is linear over GF(2), so
 * T0[i] = T0[i & 15] ^ T0[i & 0xF0].
 */
export const NIBBLE: usize = memory.data(8 * 16, 16);

/** X2N + 4*k holds x^(2^k) mod P, k = 0..31. */
const X2N: usize = memory.data(32 * 4, 16);

/** Register after one zero byte from register `c`, bit by bit (table-free; init only). */
function byteStep(c: u32): u32 {
  for (let k = 0; k < 8; k++) c = (c >>> 1) ^ (POLY & (0 - (c & 1)));
  return c;
}

/** Fills every table. Runs once, from the module's start function. */
export function initTables(): void {
  for (let b: u32 = 0; b < 256; b++) store<u32>(SLICE + (b << 2), byteStep(b));
  for (let k: u32 = 1; k < 16; k++) {
    for (let b: u32 = 0; b < 256; b++) {
      const prev = load<u32>(SLICE + ((k - 1) << 10) + (b << 2));
      store<u32>(SLICE + (k << 10) + (b << 2), (prev >>> 8) ^ load<u32>(SLICE + ((prev & 0xff) << 2)));
    }
  }
  for (let m: u32 = 0; m < 4; m++) {
    for (let n: u32 = 0; n < 16; n++) {
      store<u8>(NIBBLE + (m << 4) + n, <u8>(load<u32>(SLICE + (n << 2)) >>> (m << 3)));
      store<u8>(NIBBLE + ((m + 4) << 4) + n, <u8>(load<u32>(SLICE + (n << 6)) >>> (m << 3)));
    }
  }
  let p: u32 = 1 << 30; // x^1
  for (let k: u32 = 0; k < 32; k++) {
    store<u32>(X2N + (k << 2), p);
    p = mulmod(p, p);
  }
}

/** a * b mod P (reflected GF(2) polynomials). */
export function mulmod(a: u32, b: u32): u32 {
  let prod: u32 = 0;
  let m: u32 = 1 << 31;
  while (a != 0) {
    if (a & m) {
      prod ^= b;
      a ^= m;
    }
    m >>>= 1;
    b = (b >>> 1) ^ (POLY & (0 - (b & 1)));
  }
  return prod;
}

/** x^(8n) mod P: what a register is multiplied by when n zero bytes follow. */
export function xpow8n(n: usize): u32 {
  let p: u32 = 1 << 31; // x^0
  let k: usize = 3; // 8n = n << 3
  while (n != 0) {
    if (n & 1) p = mulmod(load<u32>(X2N + ((k & 31) << 2)), p);
    n >>>= 1;
    k++;
  }
  return p;
}
