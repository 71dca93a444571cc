/**
 * CRC-32C (Castagnoli, reflected polynomial 0x82F63B78), the checksum of every
 * Pebble log chunk and sstable block, plus the rotate-and-add "mask" Pebble
 * stores instead of the raw value (a CRC of data that itself embeds CRCs is
 * otherwise prone to collisions). Table-driven, slicing-by-8. Pure.
 */

const POLY = 0x82f63b78;

// Eight 256-entry tables: T[k][b] is the CRC contribution of byte b followed by k zero bytes.
const TABLES: Uint32Array = (() => {
  const t = new Uint32Array(8 * 256);
  for (let i = 0; i < 256; i++) {
    let c = i;
    for (let k = 0; k < 8; k++) c = c & 1 ? (c >>> 1) ^ POLY : c >>> 1;
    t[i] = c >>> 0;
  }
  for (let i = 0; i < 256; i++) {
    let c = t[i]!;
    for (let k = 1; k < 8; k++) {
      c = t[c & 0xff]! ^ (c >>> 8);
      t[k * 256 + i] = c >>> 0;
    }
  }
  return t;
})();

/**
 * Continues a CRC-32C over `data[start, end)`. `crc` is a previous result of
 * this function (0 to begin), so checksums can be computed over pieces.
 */
export function crc32cUpdate(crc: number, data: Uint8Array, start = 0, end = data.length): number {
  const t = TABLES;
  let c = ~crc >>> 0;
  let i = start;
  // Align nothing: byte-wise loads keep this independent of the view's offset.
  for (; i + 8 <= end; i += 8) {
    const lo = (c ^ (data[i]! | (data[i + 1]! << 8) | (data[i + 2]! << 16) | (data[i + 3]! << 24))) >>> 0;
    c =
      t[7 * 256 + (lo & 0xff)]! ^
      t[6 * 256 + ((lo >>> 8) & 0xff)]! ^
      t[5 * 256 + ((lo >>> 16) & 0xff)]! ^
      t[4 * 256 + (lo >>> 24)]! ^
      t[3 * 256 + data[i + 4]!]! ^
      t[2 * 256 + data[i + 5]!]! ^
      t[256 + data[i + 6]!]! ^
      t[data[i + 7]!]!;
  }
  for (; i < end; i++) c = t[(c ^ data[i]!) & 0xff]! ^ (c >>> 8);
  return ~c >>> 0;
}

/** CRC-32C of `data[start, end)`. */
export function crc32c(data: Uint8Array, start = 0, end = data.length): number {
  return crc32cUpdate(0, data, start, end);
}

const MASK_DELTA = 0xa282ead8;

/** Pebble's stored form of a CRC: rotate right by 15 bits, add a constant (mod 2^32). */
export function maskCrc(crc: number): number {
  return ((((crc >>> 15) | (crc << 17)) >>> 0) + MASK_DELTA) >>> 0;
}

/** Inverse of {@link maskCrc}. */
export function unmaskCrc(masked: number): number {
  const rot = (masked - MASK_DELTA) >>> 0;
  return ((rot >>> 17) | (rot << 15)) >>> 0;
}
