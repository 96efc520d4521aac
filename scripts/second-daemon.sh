#!/usr/bin/env bash
# A second, private dockerd for the fault tests (test/faults), which kill and restart it: the
# daemon that the test set-up (scripts/engine-up.sh) started, and anyone else's, are never touched.
#
#   bash scripts/second-daemon.sh up       start it (idempotent) and load the test images into it
#   bash scripts/second-daemon.sh kill     SIGKILL it (what a crash looks like); prints what survived
#   bash scripts/second-daemon.sh restart  stop it if it runs (SIGTERM), then `up` (after `kill`: just `up`)
#   bash scripts/second-daemon.sh down     stop it (SIGTERM, wait) and remove its bridge
#   bash scripts/second-daemon.sh status   prints `up` or `down`; exit 0 when it answers
#
# Everything of it is separate (see /work/shared/ENGINE.md, "A second daemon"): its socket, data
# root, exec root (which holds its own containerd, runc state and network namespaces), pid file,
# and its own bridge br-berthf. It runs with --iptables=false --ip-masq=false and never with
# --bridge none: a daemon started with --bridge none deletes docker0 and breaks the first
# daemon's containers. Like the main daemon, it has the GPU stand-in hook on its PATH.
#
# Environment: BERTH_FAULTS_DIR (default /run/berth-faults) for socket, pid file, exec root and log;
# BERTH_FAULTS_DATA (default /var/lib/berth-faults) for the data root; BERTH_MAIN_HOST (default
# unix:///var/run/docker.sock) is where the test images are copied from.
set -euo pipefail

RUN=${BERTH_FAULTS_DIR:-/run/berth-faults}
DATA=${BERTH_FAULTS_DATA:-/var/lib/berth-faults}
SOCK="$RUN/docker.sock"
HOST="unix://$SOCK"
PIDFILE="$RUN/docker.pid"
EXEC_ROOT="$RUN/exec"
LOG="$RUN/dockerd.log"
BRIDGE=br-berthf
BRIDGE_CIDR=172.31.250.1/24
MAIN_HOST=${BERTH_MAIN_HOST:-unix:///var/run/docker.sock}
IMAGES=("${BERTH_BUSYBOX_IMAGE:-berth-test/busybox:latest}" "${BERTH_PYTHON_IMAGE:-berth-test/python:3.11}")

say() { printf 'second-daemon: %s\n' "$*" >&2; }

answers() { curl -fsS --max-time 3 --unix-socket "$SOCK" http://localhost/_ping >/dev/null 2>&1; }

daemon_pid() {
  # The pid of our dockerd when it is alive, from its pid file; nothing otherwise.
  local pid
  [ -s "$PIDFILE" ] || return 0
  pid=$(cat "$PIDFILE")
  if [ -n "$pid" ] && kill -0 "$pid" 2>/dev/null && tr '\0' ' ' <"/proc/$pid/cmdline" 2>/dev/null | grep -q -- "--pidfile $PIDFILE"; then
    echo "$pid"
  fi
}

# Processes (containerd, its shims) that belong to this daemon: they name our exec root.
own_processes() {
  local f pid cmd
  # One grep over every command line, then a closer look at the few that match.
  for f in $(grep -las -- "$EXEC_ROOT/" /proc/[0-9]*/cmdline); do
    pid=${f#/proc/}
    pid=${pid%/cmdline}
    cmd=$({ tr '\0' ' ' <"$f"; } 2>/dev/null) || continue
    case $cmd in
      *containerd*"$EXEC_ROOT/"*) echo "$pid $cmd" ;;
    esac
  done
}

ensure_bridge() {
  if ! ip link show "$BRIDGE" >/dev/null 2>&1; then
    ip link add "$BRIDGE" type bridge
    ip addr add "$BRIDGE_CIDR" dev "$BRIDGE"
    say "created bridge $BRIDGE ($BRIDGE_CIDR)"
  fi
  ip link set "$BRIDGE" up
}

# True while pid $1 runs (a zombie does not count: it has exited, only its parent has not reaped it).
running() {
  local state
  state=$({ awk '/^State:/ {print $2}' "/proc/$1/status"; } 2>/dev/null) || return 1
  [ -n "$state" ] && [ "$state" != Z ]
}

wait_gone() {
  # Waits up to $2 seconds for pid $1 to exit; returns 1 if it still runs.
  local pid=$1 tries=$(($2 * 10))
  for _ in $(seq 1 "$tries"); do
    running "$pid" || return 0
    sleep 0.1
  done
  ! running "$pid"
}

# The containerd that our dockerd started dies with it (parent-death signal), but not at once, and
# this machine's init may be slow to reap it: a dockerd started meanwhile sees containerd's pid file
# and a live pid (or a zombie), waits for it in vain, and gives up ("timeout waiting for containerd
# to start"). Wait for it to go, kill it if it lingers, and drop the stale pid file.
settle_containerd() {
  local file="$EXEC_ROOT/containerd/containerd.pid" pid
  [ -s "$file" ] || return 0
  pid=$(cat "$file")
  if [ -n "$pid" ] && running "$pid" && { tr '\0' ' ' <"/proc/$pid/cmdline"; } 2>/dev/null | grep -q -- "$EXEC_ROOT/"; then
    if ! wait_gone "$pid" 5; then
      say "containerd $pid outlived its dockerd; killing it"
      kill -KILL "$pid" 2>/dev/null || true
      wait_gone "$pid" 5 || true
    fi
  fi
  rm -f "$file"
}

load_images() {
  local missing=() image
  for image in "${IMAGES[@]}"; do
    docker -H "$HOST" image inspect "$image" >/dev/null 2>&1 || missing+=("$image")
  done
  [ ${#missing[@]} -eq 0 ] && return 0
  say "copying ${missing[*]} from $MAIN_HOST"
  docker -H "$MAIN_HOST" save "${missing[@]}" | docker -H "$HOST" load -q >/dev/null
}

up() {
  [ "$(id -u)" = 0 ] || { say "needs root (it starts dockerd)"; exit 1; }
  command -v dockerd >/dev/null || { say "dockerd is not installed: run scripts/engine-up.sh first"; exit 1; }
  if ! command -v ip >/dev/null; then
    command -v apt-get >/dev/null || { say "needs the ip command (iproute2)"; exit 1; }
    say "installing iproute2 (for the bridge)"
    DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends iproute2 >/dev/null 2>&1 \
      || { apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends iproute2 >/dev/null; }
  fi
  mkdir -p "$RUN" "$DATA" "$EXEC_ROOT" "$RUN/gpu-bin"
  if answers; then
    load_images
    say "up at $HOST"
    return 0
  fi
  local pid
  pid=$(daemon_pid)
  if [ -n "$pid" ]; then
    # Alive but not answering yet (starting, or restoring after a crash): wait for it below.
    say "dockerd $pid is running but does not answer yet; waiting"
  else
    # A pid file of a dead daemon would keep the new one from starting; so would its containerd's.
    rm -f "$PIDFILE"
    settle_containerd
    ensure_bridge
    cat >"$RUN/gpu-bin/nvidia-container-runtime-hook" <<'HOOK'
#!/bin/sh
# GPU stand-in (see scripts/engine-up.sh): dockerd registers its NVIDIA driver only when this is on PATH.
cat >/dev/null
exit 0
HOOK
    chmod +x "$RUN/gpu-bin/nvidia-container-runtime-hook"
    PATH="$RUN/gpu-bin:$PATH" nohup dockerd --host "$HOST" --data-root "$DATA" --exec-root "$EXEC_ROOT" \
      --pidfile "$PIDFILE" --bridge "$BRIDGE" --iptables=false --ip-masq=false \
      >>"$LOG" 2>&1 </dev/null &
    pid=$!
    say "started dockerd $pid (log: $LOG)"
  fi
  for _ in $(seq 1 240); do
    answers && break
    if ! kill -0 "$pid" 2>/dev/null; then
      say "dockerd exited while starting:"
      tail -n 30 "$LOG" >&2
      exit 1
    fi
    sleep 0.25
  done
  answers || { say "dockerd did not answer within 60 s"; tail -n 30 "$LOG" >&2; exit 1; }
  load_images
  say "up at $HOST"
}

kill_daemon() {
  local pid
  pid=$(daemon_pid)
  if [ -z "$pid" ]; then
    say "not running"
    return 0
  fi
  kill -KILL "$pid"
  wait_gone "$pid" 10 || { say "dockerd $pid survived SIGKILL?"; exit 1; }
  # containerd follows its parent (dockerd starts it with a parent-death signal), a moment later.
  local cpid
  cpid=$({ cat "$EXEC_ROOT/containerd/containerd.pid"; } 2>/dev/null) || true
  [ -z "$cpid" ] || wait_gone "$cpid" 5 || true
  local left
  left=$(own_processes)
  if [ -n "$left" ]; then
    say "killed dockerd $pid; still running:"
    printf '  %s\n' "$left" >&2
  else
    say "killed dockerd $pid; nothing of it survived"
  fi
}

stop_daemon() {
  local pid
  pid=$(daemon_pid)
  if [ -z "$pid" ] && [ -n "$(own_processes)" ]; then
    # Killed earlier and never restarted: its containers' shims still run. Start it once, so that it
    # cleans them up the way it does after a crash, then stop it properly.
    say "shims of a killed daemon are still running: starting it once to clean up"
    up
    pid=$(daemon_pid)
  fi
  if [ -n "$pid" ]; then
    kill -TERM "$pid"
    # dockerd gives running containers 10 s to stop before it exits.
    wait_gone "$pid" 40 || {
      say "dockerd $pid did not stop in 40 s; killing it"
      kill -KILL "$pid" 2>/dev/null || true
      wait_gone "$pid" 5 || true
    }
    say "stopped dockerd $pid"
  fi
  rm -f "$PIDFILE"
}

down() {
  stop_daemon
  local left
  left=$(own_processes)
  [ -z "$left" ] || { say "still running after stop:"; printf '  %s\n' "$left" >&2; }
  if ip link show "$BRIDGE" >/dev/null 2>&1; then
    ip link del "$BRIDGE"
    say "removed bridge $BRIDGE"
  fi
}

case "${1:-}" in
  up) up ;;
  kill) kill_daemon ;;
  restart)
    # After `kill` nothing runs: just start it (it cleans up after the crash itself).
    [ -z "$(daemon_pid)" ] || stop_daemon
    up
    ;;
  down) down ;;
  status)
    if answers; then
      echo up
    else
      echo down
      exit 1
    fi
    ;;
  pid) daemon_pid ;;
  *)
    echo "usage: $0 up|kill|restart|down|status|pid" >&2
    exit 2
    ;;
esac
