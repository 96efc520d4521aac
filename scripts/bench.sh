#!/usr/bin/env bash
# `npm run bench`: engine set-up, build, then the benchmarks against the built package (dist/).
# Arguments go to bench/run.mjs: --quick, --out DIR, --only exec,block,…, --iterations N, --no-install, --cpu-prof DIR.
# BENCH_NODE picks the node binary that runs them (default: the `node` on PATH, which under npm
# is node_modules/.bin/node when a devDependency provides one).
set -euo pipefail
cd "$(dirname "$0")/.."

bash scripts/engine-up.sh
npm run --silent build
exec "${BENCH_NODE:-node}" bench/run.mjs "$@"
