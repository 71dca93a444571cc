/**
 * Engine choice that loads the portable engines only when they are used:
 * `auto` and `native` resolve here when the addon loads; a fallback, `wasm`,
 * `js` or an unknown name goes to ./select.ts, imported then. A command on
 * the native path (verify) so never loads the WebAssembly loader, the
 * streaming scanner or zlib's engine: each module is start-up time.
 */
import { loadNative } from '../native/binding.js';
import { createNativeEngine } from './native.js';
import type { EngineChoice, EngineSelection } from './select.js';
import type { ChecksumEngine } from './types.js';

/**
 * Resolves an engine choice as `selectEngine` in ./select.ts does (same engines, same
 * `degraded` note, same errors), loading ./select.ts only off the native path.
 */
export async function chooseEngine(choice: EngineChoice | ChecksumEngine = 'auto'): Promise<EngineSelection> {
  if (typeof choice === 'object') return { engine: choice };
  if ((choice === 'auto' || choice === 'native') && loadNative()) return { engine: createNativeEngine() };
  return (await import('./select.js')).selectEngine(choice);
}
