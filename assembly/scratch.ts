// The one dynamic region of this module's memory. JavaScript owns its
// layout (it places I/O buffers there so file reads land in wasm memory);
// the module only guarantees the region exists and starts on a cache line.

/** First cache-line-aligned byte after static data. */
const BASE: usize = (__heap_base + 63) & ~(<usize>63);

/**
 * Makes the scratch region at least `size` bytes long, growing memory when
 * needed, and returns its start (always the same address). Returns 0 when
 * memory cannot grow that far. Growing detaches every JavaScript view of the
 * old memory buffer.
 */
export function scratch(size: usize): usize {
  const need: u64 = <u64>BASE + <u64>size;
  const have: u64 = <u64>memory.size() << 16;
  if (need > have) {
    const pages = <i32>((need - have + 0xffff) >> 16);
    if (memory.grow(pages) < 0) return 0;
  }
  return BASE;
}
