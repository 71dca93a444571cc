// Crash-injection child of the interop suite (scenario/pebble_crash_test.go):
// one importSnapshot with the compiled library (dist/), in its own process.
// argv[2] is a JSON spec {config, srcDir, members, replicaId, crashStep?}.
// Prints "step <name>" at every step boundary (onStep: after the step is
// durable) and, at the end, one JSON line. At crashStep the process SIGKILLs
// itself, like a power cut at that boundary. Same contract as
// test/ops/import-child.mjs (the TypeScript suite's child), kept separate so
// the Go suite does not depend on a file other sessions edit.
import { importSnapshot, IMPORT_STEPS } from '../../../dist/index.js';

const spec = JSON.parse(process.argv[2]);
if (spec.listSteps) {
  process.stdout.write(`${JSON.stringify({ ok: true, steps: IMPORT_STEPS ?? null })}\n`);
  process.exit(0);
}
const options = {
  onStep: (s) => {
    process.stdout.write(`step ${s}\n`);
    if (s === spec.crashStep) process.kill(process.pid, 'SIGKILL');
  },
};
try {
  const result = await importSnapshot(spec.config, spec.srcDir, spec.members, spec.replicaId, options);
  const idx = result?.after?.snapshot?.index;
  process.stdout.write(`${JSON.stringify({ ok: true, index: idx === undefined ? null : String(idx) })}\n`);
} catch (err) {
  process.stdout.write(`${JSON.stringify({ ok: false, code: err?.code ?? null, message: String(err?.message ?? err) })}\n`);
  process.exitCode = 1;
}
