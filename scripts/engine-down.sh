#!/usr/bin/env bash
# Stops the dockerd that scripts/engine-up.sh started, and nothing else. Idempotent.
set -uo pipefail
STATE=${BERTH_STATE_DIR:-/tmp/berth-engine}
say() { printf 'engine-down: %s\n' "$*"; }
pidfile="$STATE/dockerd.pid"
if [ ! -f "$pidfile" ]; then
  say "no daemon was started by engine-up; leaving the engine alone."
  exit 0
fi
pid=$(cat "$pidfile")
if kill -0 "$pid" 2>/dev/null; then
  say "stopping dockerd (pid $pid)"
  kill -TERM "$pid"
  for _ in $(seq 1 120); do kill -0 "$pid" 2>/dev/null || break; sleep 0.25; done
  if kill -0 "$pid" 2>/dev/null; then say "dockerd still running after 30 s; sending SIGKILL"; kill -KILL "$pid"; fi
fi
# containerd was started by dockerd as its child and exits with it.
rm -f "$pidfile"
say "stopped"
