#!/usr/bin/env bash
# Stops the registries that scripts/registry-up.sh started (their pid files) and removes their
# storage; leaves everything else alone. Idempotent.
set -uo pipefail
STATE=${BERTH_STATE_DIR:-/tmp/berth-engine}
DIR=$STATE/registry
for name in open auth; do
  pid=$(cat "$DIR/$name.pid" 2>/dev/null || true)
  if [ -n "$pid" ] && kill "$pid" 2>/dev/null; then
    for _ in $(seq 1 50); do kill -0 "$pid" 2>/dev/null || break; sleep 0.1; done
    printf 'registry-down: stopped the %s registry (pid %s)\n' "$name" "$pid"
  fi
  rm -rf "$DIR/$name.pid" "$DIR/$name-data"
done
