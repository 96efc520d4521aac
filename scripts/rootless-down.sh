#!/usr/bin/env bash
# Stops the rootless dockerd that scripts/rootless-up.sh started and removes its folder
# (/tmp/berth-rootless: socket, data-root, log). Idempotent; prints what it did. Never touches the
# main (rootful) dockerd: only rootlesskit's pid from the pid file, then whatever still runs as
# the berth-rootless user or one of its subordinate uids (dockerd, containerd, shims, containers).
# The user and its /etc/subuid, /etc/subgid lines are kept (rootless-up.sh reuses them).
set -euo pipefail

DIR=${BERTH_ROOTLESS_DIR:-/tmp/berth-rootless}
ROOTLESS_USER=${BERTH_ROOTLESS_USER:-berth-rootless}
PIDFILE=$DIR/rootlesskit.pid
say() { printf 'rootless-down: %s\n' "$*"; }

# Pids of processes whose real uid is the rootless user's or in its subuid range.
leftovers() {
  id "$ROOTLESS_USER" >/dev/null 2>&1 || return 0
  local uid first count
  uid=$(id -u "$ROOTLESS_USER")
  read -r first count < <(awk -F: -v u="$ROOTLESS_USER" -v n="$uid" '($1 == u || $1 == n) { print $2, $3; exit }' /etc/subuid 2>/dev/null) || true
  ps -e -o pid=,ruid= | awk -v self=$$ -v u="$uid" -v f="${first:-0}" -v c="${count:-0}" \
    '$1 != self && ($2 == u || (c > 0 && $2 >= f && $2 < f + c)) { print $1 }'
}

wait_gone() { # pid seconds
  for _ in $(seq 1 $(($2 * 5))); do kill -0 "$1" 2>/dev/null || return 0; sleep 0.2; done
  return 1
}

# Only a live rootlesskit (not whatever process got a recycled pid).
if [ -f "$PIDFILE" ] && pid=$(cat "$PIDFILE") && [ -n "$pid" ] && kill -0 "$pid" 2>/dev/null &&
  tr '\0' ' ' <"/proc/$pid/cmdline" 2>/dev/null | grep -q rootlesskit; then
  # SIGTERM to rootlesskit is passed on to dockerd, which stops its containers and containerd.
  kill -TERM "$pid" 2>/dev/null || true
  if wait_gone "$pid" 30; then
    say "stopped rootless dockerd (rootlesskit pid $pid)"
  else
    kill -KILL "$pid" 2>/dev/null || true
    say "rootlesskit pid $pid did not stop within 30 s; killed it"
  fi
else
  say "no rootless dockerd running from $PIDFILE"
fi

# Another rootless-up.sh instance (another BERTH_ROOTLESS_DIR) of the same user still runs: its
# processes are that user's too, so leave them all alone.
others=
if id "$ROOTLESS_USER" >/dev/null 2>&1; then
  others=$( { ps -u "$(id -u "$ROOTLESS_USER")" -o pid=,comm= || true; } | awk '$2 == "rootlesskit" { print $1 }')
fi
pids=
if [ -n "$others" ]; then
  say "another rootlesskit of $ROOTLESS_USER runs (pid $(echo $others)); not sweeping that user's processes"
else
  pids=$(leftovers)
fi
if [ -n "$pids" ]; then
  say "stopping leftover processes of $ROOTLESS_USER: $(echo $pids)"
  for p in $pids; do kill -TERM "$p" 2>/dev/null || true; done
  for p in $pids; do wait_gone "$p" 5 || kill -KILL "$p" 2>/dev/null || true; done
fi

if [ -e "$DIR" ]; then
  # The daemon's mounts lived in rootlesskit's mount namespace and went with it; unmount anything
  # that leaked into this one all the same before deleting.
  { grep -F " $DIR/" /proc/self/mounts || true; } | awk '{ print $2 }' | sort -r | while read -r m; do umount -l "$m" 2>/dev/null || true; done
  rm -rf "$DIR"
  say "removed $DIR"
fi
say "done"
