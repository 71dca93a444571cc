// Prints "N passed, N failed" from vitest's JSON reports and, when present,
// `go test -json` output of the interop harness. Exits 1 when a report is
// missing or empty, so "no tests ran" can never look green.
import { existsSync, readFileSync } from 'node:fs';

// Usage: count.mjs VITEST_JSON [GO_JSON] [MORE_VITEST_JSON ...]. Every vitest
// report named is required (the sanitizer run's too); the Go report is optional.
const [vitestPath, goPath, ...moreVitest] = process.argv.slice(2);
let passed = 0;
let failed = 0;
let ok = true;

function countVitest(path) {
  if (!path || !existsSync(path)) {
    console.error(`no vitest report at ${path}`);
    ok = false;
    return;
  }
  const r = JSON.parse(readFileSync(path, 'utf8'));
  passed += r.numPassedTests ?? 0;
  failed += r.numFailedTests ?? 0;
  // A file that fails to load has no failed test of its own; count it once.
  for (const file of r.testResults ?? []) {
    const anyFailed = (file.assertionResults ?? []).some((a) => a.status === 'failed');
    if (file.status === 'failed' && !anyFailed) failed++;
  }
  if ((r.numTotalTests ?? 0) === 0) {
    console.error(`no tests in ${path}`);
    ok = false;
  }
}

countVitest(vitestPath);
for (const p of moreVitest) countVitest(p);

if (goPath && existsSync(goPath)) {
  for (const line of readFileSync(goPath, 'utf8').split('\n')) {
    if (!line.startsWith('{')) continue;
    let ev;
    try {
      ev = JSON.parse(line);
    } catch {
      continue;
    }
    // Count leaf tests only (sub-tests have a "/" in their name; their parents summarize them).
    if (!ev.Test || ev.Test.includes('/')) continue;
    if (ev.Action === 'pass') passed++;
    else if (ev.Action === 'fail') failed++;
  }
}

console.log(`${passed} passed, ${failed} failed`);
process.exit(ok && failed === 0 ? 0 : 1);
