#!/usr/bin/env bash
# The README's test command (`npm test`): engine set-up, lint, typecheck, build, then every test
# tier (unit, transport contract, integration against the real engine), and a plain summary line.
set -uo pipefail
cd "$(dirname "$0")/.."

bash scripts/engine-up.sh || { echo "engine set-up failed"; echo "0 passed, 1 failed"; exit 1; }

status=0
echo "== lint";      npx biome check . || status=1
echo "== typecheck"; npx tsc -p tsconfig.json --noEmit || status=1
echo "== build";     npm run --silent build || status=1

mkdir -p .test-results
echo "== tests (unit, contract, integration)"
npx vitest run --reporter=default --reporter=json --outputFile.json=.test-results/vitest.json "$@" || status=1
node scripts/summarize-tests.mjs .test-results/vitest.json || status=1
exit $status
