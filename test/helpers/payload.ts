/**
 * The deterministic byte generators of the tests, each once. They differ on
 * purpose: a snapshot file's payload wants every block distinct
 * ({@link payload}), a state machine's payload starts with an empty session
 * table ({@link statePayload}, the demo's own generator), a checksum fuzz
 * wants raw xorshift bytes ({@link xorshiftBytes}), and a format test wants a
 * short pattern it can reason about ({@link patternBytes}).
 */
import { samplePayload } from '../../src/ops/sample-node.js';

/**
 * `size` deterministic pseudo-random bytes (xorshift32 from `seed`, a word at
 * a time): every block differs, so a block swapped or shifted is a detectable
 * corruption.
 */
export function payload(size: number, seed = 1): Uint8Array {
  const out = new Uint8Array(size);
  const words = new Uint32Array(out.buffer, 0, Math.floor(size / 4));
  let x = seed >>> 0 || 0x9e3779b9;
  for (let i = 0; i < words.length; i++) {
    x ^= x << 13;
    x >>>= 0;
    x ^= x >>> 17;
    x ^= x << 5;
    x >>>= 0;
    words[i] = x;
  }
  for (let i = words.length * 4; i < size; i++) out[i] = (i * 31 + seed) & 0xff;
  return out;
}

/**
 * A state machine's snapshot payload of `size` (at least 16) bytes: an empty
 * session table, then xorshift bytes from `seed`. The sample node's (and so
 * the demo's) generator, with the seed the import suites have always used.
 */
export function statePayload(size: number, seed = 7): Uint8Array {
  return samplePayload(size, seed);
}

/** `size` bytes from xorshift32 seeded with `seed`, one byte a step (reproducible when fast-check shrinks). */
export function xorshiftBytes(size: number, seed: number): Uint8Array {
  const out = new Uint8Array(size);
  let x = seed >>> 0 || 1;
  for (let i = 0; i < size; i++) {
    x ^= x << 13;
    x ^= x >>> 17;
    x ^= x << 5;
    out[i] = x & 0xff;
  }
  return out;
}

/** `size` bytes of the pattern `(i * mul + add) & 0xff`. */
export function patternBytes(size: number, mul: number, add = 0): Uint8Array {
  return new Uint8Array(size).map((_, i) => (i * mul + add) & 0xff);
}
