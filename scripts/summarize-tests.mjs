// Prints the plain `N passed, N failed` line over one or more vitest JSON reports (one per Node
// version), and the name of every skipped test: a skip is never silent.
import { readFileSync } from 'node:fs';

let passed = 0;
let failed = 0;
let skipped = 0;
for (const file of process.argv.slice(2)) {
  let report;
  try {
    report = JSON.parse(readFileSync(file, 'utf8'));
  } catch (error) {
    console.log(`no test report at ${file} (${error.message})`);
    failed++;
    continue;
  }
  let filePassed = 0;
  let fileFailed = 0;
  for (const suite of report.testResults ?? []) {
    for (const test of suite.assertionResults ?? []) {
      if (test.status === 'passed') filePassed++;
      else if (test.status === 'failed') fileFailed++;
      else {
        skipped++;
        console.log(`skipped: ${test.fullName} (${suite.name})`);
      }
    }
    // A file that failed to load has no assertion results but counts as a failure.
    if ((suite.assertionResults ?? []).length === 0 && suite.status === 'failed') {
      fileFailed++;
      console.log(`failed to run: ${suite.name}: ${suite.message ?? ''}`);
    }
  }
  console.log(`report ${file}: passed=${filePassed} failed=${fileFailed}`);
  passed += filePassed;
  failed += fileFailed;
}
console.log(`${passed} passed, ${failed} failed${skipped ? `, ${skipped} skipped` : ''}`);
process.exit(failed > 0 || passed === 0 ? 1 : 0);
