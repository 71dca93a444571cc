// Runs one import with the compiled library (dist/) in its own process, for
// the crash-injection and degraded-engine tests. argv[2] is a JSON spec:
// { config, srcDir, members, replicaId, crashStep?, options? }. Prints every
// step boundary as "step <name>" and, at the end, one JSON line. With
// crashStep, the process SIGKILLs itself at that boundary, like a power cut.
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
  },
};
try {
  const result = await importSnapshot(spec.config, spec.srcDir, spec.members, spec.replicaId, options);
  process.stdout.write(`${json({ ok: true, result })}\n`);
} catch (err) {
  process.stdout.write(`${json({ ok: false, code: err?.code, message: err?.message })}\n`);
  process.exitCode = 1;
}
