// Prints the plain `N passed, N failed, N skipped` line from vitest's JSON report, and the name of
// every skipped test (a skip is never silent).
import { readFileSync } from 'node:fs';

const file = process.argv[2];
let report;
try {
  report = JSON.parse(readFileSync(file, 'utf8'));
} catch (error) {
  console.log(`no test report at ${file} (${error.message})`);
  console.log('0 passed, 1 failed');
  process.exit(1);
}
let passed = 0;
let failed = 0;
let skipped = 0;
for (const suite of report.testResults ?? []) {
  for (const test of suite.assertionResults ?? []) {
    if (test.status === 'passed') passed++;
    else if (test.status === 'failed') failed++;
    else {
      skipped++;
      console.log(`skipped: ${test.fullName} (${suite.name})`);
    }
  }
  // A file that failed to load has no assertion results but counts as a failure.
  if ((suite.assertionResults ?? []).length === 0 && suite.status === 'failed') {
    failed++;
    console.log(`failed to run: ${suite.name}: ${suite.message ?? ''}`);
  }
}
console.log(`${passed} passed, ${failed} failed${skipped ? `, ${skipped} skipped` : ''}`);
process.exit(failed > 0 || passed === 0 ? 1 : 0);
