// Runs one import with the compiled library (dist/) in its own process, for
// the crash-injection and degraded-engine tests. argv[2] is a JSON spec:
// { config, srcDir, members, replicaId, crashStep?, pauseStep?, gate?, options? }.
// Prints every step boundary as "step <name>" and, at the end, one JSON line.
// With crashStep, the process SIGKILLs itself at that boundary, like a power
// cut. With pauseStep, it stops at that boundary (its locks held), says so by
// creating the file `gate` + ".paused", and waits until the file `gate`
// exists: the test's way to run a second process against a first one that
// certainly holds the node.
import { existsSync, writeFileSync } from 'node:fs';
import { importSnapshot } from '../../dist/index.js';

const spec = JSON.parse(process.argv[2]);
const json = (v) =>
  JSON.stringify(v, (_k, x) => {
    if (typeof x === 'bigint') return x.toString();
    if (x instanceof Map) return Object.fromEntries([...x].map(([k, y]) => [String(k), y]));
    if (x instanceof Uint8Array) return Buffer.from(x).toString('hex');
    return x;
  });

const options = {
  ...(spec.options ?? {}),
  onStep: (s) => {
    process.stdout.write(`step ${s}\n`);
    if (s === spec.crashStep) process.kill(process.pid, 'SIGKILL');
    if (s === spec.pauseStep) {
      // onStep is synchronous: the import must not go on while the test acts.
      writeFileSync(`${spec.gate}.paused`, '');
      const cell = new Int32Array(new SharedArrayBuffer(4));
      while (!existsSync(spec.gate)) Atomics.wait(cell, 0, 0, 5);
    }
  },
};
try {
  const result = await importSnapshot(spec.config, spec.srcDir, spec.members, spec.replicaId, options);
  process.stdout.write(`${json({ ok: true, result })}\n`);
} catch (err) {
  process.stdout.write(`${json({ ok: false, code: err?.code, message: err?.message })}\n`);
  process.exitCode = 1;
}
