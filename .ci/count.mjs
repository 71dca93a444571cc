// Prints "N passed, N failed" from vitest's JSON reports and, when present,
// `go test -json` output of the interop harness. Exits 1 when a report is
// missing or empty, so "no tests ran" can never look green.
import { existsSync, readFileSync } from 'node:fs';
import { relative } from 'node:path';
import { stripVTControlCharacters } from 'node:util';

/** The first lines of a failure, ANSI colours removed, on one line. */
function firstLines(messages) {
  const text = stripVTControlCharacters((messages ?? []).join('\n'));
  return text
    .split('\n')
    .slice(0, 4)
    .map((l) => l.trim())
    .filter(Boolean)
    .join(' | ')
    .slice(0, 600);
}

// Usage: count.mjs VITEST_JSON [GO_JSON] [MORE_VITEST_JSON ...]. Every vitest
// report named is required (the sanitizer run's too); the Go report is optional.
const [vitestPath, goPath, ...moreVitest] = process.argv.slice(2);
let passed = 0;
let failed = 0;
let ok = true;
/** What failed, printed above the summary line: CI shows only its output's tail. */
const failures = [];

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
    const name = relative(process.cwd(), file.name ?? '');
    const failedTests = (file.assertionResults ?? []).filter((a) => a.status === 'failed');
    for (const a of failedTests) failures.push(`${name} > ${a.fullName ?? a.title}: ${firstLines(a.failureMessages)}`);
    if (file.status === 'failed' && failedTests.length === 0) {
      failed++;
      failures.push(`${name} (did not run): ${firstLines([file.message ?? ''])}`);
    }
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
    else if (ev.Action === 'fail') {
      failed++;
      failures.push(`interop ${ev.Package ?? ''} ${ev.Test}`);
    }
  }
}

if (failures.length > 0) {
  console.log(`failed (${failures.length}):`);
  for (const f of failures) console.log(`  ${f}`);
}
console.log(`${passed} passed, ${failed} failed`);
process.exit(ok && failed === 0 ? 0 : 1);
