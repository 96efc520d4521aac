#!/usr/bin/env bash
# Stops the sshd that scripts/sshd-up.sh started (its pid file), and leaves everything else alone.
set -uo pipefail
DIR=${BERTH_SSH_DIR:-/tmp/berth-sshd}
# Read the pid first: sshd removes its pid file as it exits.
pid=$(cat "$DIR/sshd.pid" 2>/dev/null || true)
if [ -n "$pid" ] && kill "$pid" 2>/dev/null; then
  printf 'sshd-down: stopped sshd (pid %s)\n' "$pid"
fi
rm -f "$DIR/sshd.pid"
