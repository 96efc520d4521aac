#!/usr/bin/env bash
# Stops the Podman service that scripts/podman-up.sh started, and nothing else. Idempotent.
# Containers labelled berth.test are removed by the test run itself; images stay in Podman's store.
set -uo pipefail
STATE=${BERTH_STATE_DIR:-/tmp/berth-engine}
say() { printf 'podman-down: %s\n' "$*"; }
pidfile="$STATE/podman.pid"
if [ ! -f "$pidfile" ]; then
  say "no Podman service was started by podman-up; leaving Podman alone."
  exit 0
fi
pid=$(cat "$pidfile")
# Only signal the pid if it still is `podman system service` (pids are reused).
if kill -0 "$pid" 2>/dev/null && tr '\0' ' ' <"/proc/$pid/cmdline" 2>/dev/null | grep -q 'podman system service'; then
  say "stopping podman system service (pid $pid)"
  kill -TERM "$pid"
  for _ in $(seq 1 80); do kill -0 "$pid" 2>/dev/null || break; sleep 0.25; done
  if kill -0 "$pid" 2>/dev/null; then say "still running after 20 s; sending SIGKILL"; kill -KILL "$pid"; fi
else
  say "the service (pid $pid) is not running any more"
fi
rm -f "$pidfile"
say "stopped"
