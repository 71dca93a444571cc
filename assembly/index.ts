// nodehost-tools WebAssembly module. Loaded as a raw binary (no bindings) by
// src/engines/wasm-loader.ts; its exports are:
//
//   memory                      the module's linear memory
//   scratch(size) -> ptr        ensure a scratch region of `size` bytes, return its start (0: out of memory)
//   crc32(ptr, len, crc) -> u32 CRC-32/IEEE of memory[ptr, ptr+len) continuing from crc (0 to start),
//                               the same value as zlib.crc32(bytes, crc)
//
// i32 results reach JavaScript as signed numbers: callers apply >>> 0.
import { initTables } from './crc32/tables';
import { crc32Update, initUpdate } from './crc32/update';

initTables();
initUpdate();

export { scratch } from './scratch';

/** CRC-32/IEEE of the `len` bytes at `ptr`, continuing from `crc`. */
export function crc32(ptr: usize, len: usize, crc: u32): u32 {
  return ~crc32Update(ptr, len, ~crc);
}
