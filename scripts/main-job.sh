#!/usr/bin/env bash
# The README's "main job" (`npm run main`) on a fresh machine: set up the engine and its images,
# build if needed, check the engine with `berth doctor`, then run the examples: a model-style
# markdown message with a python and a bash block, and a python file. Exits non-zero at the
# first step that fails.
set -euo pipefail
cd "$(dirname "$0")/.."

step() { printf '\n== %s\n' "$*"; }

step "engine: bash scripts/engine-up.sh"
bash scripts/engine-up.sh

# Build when the CLI is missing or any source is newer than it.
if [ ! -f dist/cli/main.js ] || [ -n "$(find src package.json tsconfig.json tsconfig.build.json -newer dist/cli/main.js -print -quit)" ]; then
  step "build: npm run build"
  npm run --silent build
else
  step "build: dist/ is up to date"
fi

step "berth doctor"
node dist/cli/main.js doctor

step "berth run --markdown examples/hello.md"
node dist/cli/main.js run --markdown examples/hello.md

step "berth run examples/hello.py"
node dist/cli/main.js run examples/hello.py

printf '\nmain job: every step passed\n'
