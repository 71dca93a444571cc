/**
 * Engine choice: `auto` prefers the native addon, then WebAssembly, then
 * Node's `zlib.crc32`. Engines are created once per process and reused: the
 * WebAssembly module is compiled once and the addon loaded once.
 */
import { ErrEngineUnavailable, ErrInvalidConfig } from '../errors.js';
import { createJsEngine } from './js.js';
import { loadNative, nativeLoadError } from '../native/binding.js';
import { createNativeEngine } from './native.js';
import type { ChecksumEngine, EngineName } from './types.js';
import { createWasmEngine } from './wasm.js';

/** What the caller asked for: a concrete engine, or `auto`. */
export type EngineChoice = EngineName | 'auto';

const cache = new Map<EngineName, ChecksumEngine>();

const factories: Record<EngineName, () => ChecksumEngine> = {
  native: createNativeEngine,
  wasm: createWasmEngine,
  js: createJsEngine,
};

/** Returns the engine `name`, creating it once; throws {@link ErrEngineUnavailable} when it cannot load. */
export function getEngine(name: EngineName): ChecksumEngine {
  // The addon can be switched off at any time (NODEHOST_TOOLS_DISABLE_NATIVE): ask before using the cache.
  if (name === 'native' && !loadNative()) return createNativeEngine();
  let engine = cache.get(name);
  if (!engine) {
    engine = factories[name]();
    cache.set(name, engine);
  }
  return engine;
}

/** Result of {@link selectEngine}: the engine and, when `auto` fell back, why. */
export interface EngineSelection {
  engine: ChecksumEngine;
  /** Set when `auto` could not use the native engine: the reason and how to enable it. */
  degraded?: string;
}

/**
 * Resolves an engine choice. An explicit name that cannot load throws; `auto`
 * falls back (native → wasm → js) and says why in `degraded`.
 */
export function selectEngine(choice: EngineChoice | ChecksumEngine = 'auto'): EngineSelection {
  if (typeof choice === 'object') return { engine: choice };
  if (choice !== 'auto') {
    if (!(choice in factories)) {
      throw new ErrInvalidConfig(`unknown engine "${String(choice)}"; use native, wasm, js or auto`, { engine: choice });
    }
    return { engine: getEngine(choice) };
  }
  const failures: string[] = [];
  for (const name of ['native', 'wasm', 'js'] as const) {
    try {
      const engine = getEngine(name);
      if (name === 'native') return { engine };
      return { engine, degraded: nativeHint(failures) };
    } catch (err) {
      if (!(err instanceof ErrEngineUnavailable)) throw err;
      failures.push(`${name}: ${err.message}`);
    }
  }
  throw new ErrEngineUnavailable(`no checksum engine could load (${failures.join('; ')})`);
}

function nativeHint(failures: string[]): string {
  const why = nativeLoadError() ?? failures[0] ?? 'not built';
  return (
    `native engine unavailable (${why}); using a slower portable engine. ` +
    'To enable it, build the addon (needs a C++ compiler, make and python3): `npm run build:native` in a checkout, ' +
    'or `npm rebuild nodehost-tools --foreground-scripts` where it is installed as a dependency.'
  );
}
