/**
 * Verify and import, run in a child process: the library's own entry points,
 * exactly as the CLI calls them.
 */
import { getEngine } from '../engines/select.js';
import type { EngineName } from '../engines/types.js';
import { verifySnapshotFile } from '../snapshot/verify.js';

/**
 * Loads `engine` (untimed: compiling the WebAssembly module or loading the
 * addon happens once per process), then returns the timed verification.
 */
export function prepareVerify(file: string, engine: EngineName): () => Promise<{ bytes: number; blocks: number; engine: string }> {
  const e = getEngine(engine);
  return async () => {
    const report = await verifySnapshotFile(file, { engine: e });
    return { bytes: Number(report.fileSize), blocks: report.blocks, engine: e.name };
  };
}
