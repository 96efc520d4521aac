#!/usr/bin/env bash
# Stops the sshd that scripts/sshd-up.sh started (its pid file), and leaves everything else alone.
set -uo pipefail
DIR=${BERTH_SSH_DIR:-/tmp/berth-sshd}
if [ -f "$DIR/sshd.pid" ] && kill "$(cat "$DIR/sshd.pid")" 2>/dev/null; then
  printf 'sshd-down: stopped sshd (pid %s)\n' "$(cat "$DIR/sshd.pid")"
fi
rm -f "$DIR/sshd.pid"
