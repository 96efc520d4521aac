// Prints the plain `N passed, N failed` line over every report in a folder: vitest JSON reports
// (*.json), runner logs whose last count line is `N passed, N failed` (*.log), stage failures
// (*.count) and stages left out (*.skipped). Every skipped test is named: a skip is never silent.
import { readdirSync, readFileSync } from 'node:fs';
import { join, relative } from 'node:path';

const dir = process.argv[2] ?? '.test-results';
let passed = 0;
let failed = 0;
let skipped = 0;
const lines = [];
const failures = [];
for (const name of readdirSync(dir).sort()) {
  const file = join(dir, name);
  const text = readFileSync(file, 'utf8');
  let p = 0;
  let f = 0;
  if (name.endsWith('.json')) {
    let report;
    try {
      report = JSON.parse(text);
    } catch (error) {
      lines.push(`report ${name}: unreadable (${error.message})`);
      failed++;
      continue;
    }
    const perFile = [];
    for (const suite of report.testResults ?? []) {
      const before = [p, f];
      for (const test of suite.assertionResults ?? []) {
        if (test.status === 'passed') p++;
        else if (test.status === 'failed') {
          f++;
          // The failure itself, so a CI log that keeps only the summary still says what broke.
          const message = (test.failureMessages ?? []).join('\n').replace(/\x1b\[[0-9;]*m/g, '');
          failures.push(`FAILED: ${test.fullName} (${relative(process.cwd(), suite.name)})`);
          failures.push(
            ...message
              .split('\n')
              .slice(0, 25)
              .map((line) => `    | ${line.slice(0, 300)}`),
          );
        } else {
          skipped++;
          lines.push(`skipped: ${test.fullName} (${suite.name})`);
        }
      }
      // A file that failed outside its tests (it did not load, or a beforeAll/afterAll hook threw)
      // counts as one failure.
      const anyFailed = (suite.assertionResults ?? []).some((test) => test.status === 'failed');
      if (suite.status === 'failed' && !anyFailed) {
        f++;
        lines.push(`failed outside its tests: ${suite.name}: ${(suite.message ?? '').slice(0, 300)}`);
      }
      perFile.push(`    ${relative(process.cwd(), suite.name)}: passed=${p - before[0]} failed=${f - before[1]}`);
    }
    // Each file's counts under its report, so the log shows which suites ran where (e.g. the
    // copy-mode executor against the TLS listener in node-main, the suites against Podman).
    lines.push(`report ${name}: passed=${p} failed=${f}`, ...perFile.sort());
    passed += p;
    failed += f;
    continue;
  } else if (name.endsWith('.log')) {
    const counts = [...text.matchAll(/^(\d+) passed, (\d+) failed/gm)].at(-1);
    if (counts) {
      p = Number(counts[1]);
      f = Number(counts[2]);
    } else f = 1;
  } else if (name.endsWith('.count')) {
    f = 1;
  } else if (name.endsWith('.skipped')) {
    lines.push(`left out: ${text.trim()}`);
    continue;
  } else continue;
  lines.push(`report ${name}: passed=${p} failed=${f}`);
  passed += p;
  failed += f;
}
for (const line of lines) console.log(line);
for (const line of failures) console.log(line);
if (skipped) console.log(`${skipped} skipped, each named above with its file (the test prints its reason)`);
console.log(`${passed} passed, ${failed} failed`);
process.exit(failed > 0 || passed === 0 ? 1 : 0);
