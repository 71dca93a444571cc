// Runs one restore-backup with the compiled library (dist/) in its own
// process, for the crash-injection tests. argv[2] is a JSON spec:
// { backupDir, config, crashStep? }. Prints every step boundary as
// "step <name>" and one JSON line at the end; with crashStep the process
// SIGKILLs itself at that boundary, like a power cut.
import { restoreBackup } from '../../dist/index.js';

const spec = JSON.parse(process.argv[2]);
try {
  await restoreBackup(spec.backupDir, spec.config, {
    onStep: (s) => {
      process.stdout.write(`step ${s}\n`);
      if (s === spec.crashStep) process.kill(process.pid, 'SIGKILL');
    },
  });
  process.stdout.write(`${JSON.stringify({ ok: true })}\n`);
} catch (err) {
  process.stdout.write(`${JSON.stringify({ ok: false, code: err?.code, message: err?.message })}\n`);
  process.exitCode = 1;
}
