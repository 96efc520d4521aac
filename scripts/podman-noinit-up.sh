#!/usr/bin/env bash
# A second Podman Docker-API service that has no init binary, as on a stock Debian install
# (apt picks tini for podman's "catatonit | tini | dumb-init" Recommends, and Podman looks for
# catatonit): HostConfig.Init fails with "container-init binary not found". It shares Podman's
# store with scripts/podman-up.sh's service (run that first: it installs Podman and the images).
# The service runs in a private mount namespace where /usr/libexec/podman (catatonit's folder) is
# an empty tmpfs, and reads a private CONTAINERS_CONF whose init_path points nowhere (Podman 4.3's
# CLI honours that key, but its API service found catatonit regardless). Idempotent.
#   socket: unix://$BERTH_PODMAN_NOINIT_SOCK (default /run/podman/podman-noinit.sock)
#   stop it: kill "$(cat "$BERTH_STATE_DIR/podman-noinit.pid")" (only this service)
set -euo pipefail

STATE=${BERTH_STATE_DIR:-/tmp/berth-engine}
SOCK=${BERTH_PODMAN_NOINIT_SOCK:-/run/podman/podman-noinit.sock}
CONF="$STATE/containers-noinit.conf"
mkdir -p "$STATE" "$(dirname "$SOCK")"
say() { printf 'podman-noinit-up: %s\n' "$*"; }
ping_() { [ -S "$SOCK" ] && curl -fsS --max-time 5 --unix-socket "$SOCK" http://d/_ping 2>/dev/null || true; }

command -v podman >/dev/null || { say "podman is missing: run scripts/podman-up.sh first"; exit 1; }
cat >"$CONF" <<'CONF'
# Written by Berth scripts/podman-noinit-up.sh: Podman as a stock install runs it, without an init binary.
[containers]
default_ulimits = ["nofile=1024:1024","nproc=1024:1024"]
init_path = "/nonexistent/berth-no-init/catatonit"
CONF

if [ "$(ping_)" = OK ]; then
  say "a service answers at unix://$SOCK; not starting another"
  exit 0
fi
if [ -f "$STATE/podman-noinit.pid" ] && kill -0 "$(cat "$STATE/podman-noinit.pid")" 2>/dev/null; then
  kill -TERM "$(cat "$STATE/podman-noinit.pid")" || true
  sleep 1
fi
rm -f "$SOCK"
say "starting podman system service with init_path pointing nowhere (log: $STATE/podman-noinit.log)"
# From $STATE: conmon writes an `oom` file into its working folder when a container is OOM-killed,
# which was the repository's folder.
CONTAINERS_CONF="$CONF" nohup env -C "$STATE" unshare -m sh -c \
  'mount -t tmpfs berth-no-init /usr/libexec/podman && exec podman system service --time=0 "unix://$0"' "$SOCK" \
  >"$STATE/podman-noinit.log" 2>&1 </dev/null &
echo $! >"$STATE/podman-noinit.pid"
for _ in $(seq 1 120); do
  [ "$(ping_)" = OK ] && break
  kill -0 "$(cat "$STATE/podman-noinit.pid")" 2>/dev/null || { tail -n 30 "$STATE/podman-noinit.log"; exit 1; }
  sleep 0.25
done
[ "$(ping_)" = OK ] || { say "no answer within 30 s"; tail -n 30 "$STATE/podman-noinit.log"; exit 1; }
say "started (pid $(cat "$STATE/podman-noinit.pid")) at unix://$SOCK"
