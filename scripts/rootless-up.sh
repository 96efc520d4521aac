#!/usr/bin/env bash
# Starts a ROOTLESS dockerd next to the main (rootful) one, so the tests can prove Berth works
# against it: socket unix:///tmp/berth-rootless/run/docker.sock. Idempotent; prints what it did.
# Run scripts/engine-up.sh first: the test images are copied from the main dockerd.
#
# 1. As root with apt: install Debian's uidmap (newuidmap/newgidmap), rootlesskit and slirp4netns
#    when missing. dockerd-rootless.sh comes with docker.io (/usr/share/docker.io/contrib).
# 2. A system user berth-rootless (home /var/lib/berth-rootless) with 65536 subordinate uids
#    and gids in /etc/subuid and /etc/subgid (a range no other entry uses).
# 3. Unless the pid file names a live daemon that answers: as that user, with
#    XDG_RUNTIME_DIR=$DIR/run (mode 700), run dockerd-rootless.sh in the background (setsid,
#    no systemd): rootlesskit makes the user/mount/network namespaces (slirp4netns, or
#    $BERTH_ROOTLESS_NET), dockerd keeps its data in $DIR/data, logs to $DIR/dockerd.log and its
#    pid (rootlesskit's) in $DIR/rootlesskit.pid. The main daemon, its docker0 bridge and its
#    iptables rules are not touched: the rootless daemon has its own network namespace.
# 4. Copy berth-test/busybox:latest and berth-test/python:3.11 into it (docker save | docker load)
#    when it lacks them.
#
# Then: docker -H unix:///tmp/berth-rootless/run/docker.sock info
#       npx vitest run --project integration test/integration/rootless.test.ts
# scripts/rootless-down.sh stops it and removes $DIR.
set -euo pipefail

DIR=${BERTH_ROOTLESS_DIR:-/tmp/berth-rootless}
ROOTLESS_USER=${BERTH_ROOTLESS_USER:-berth-rootless}
NET=${BERTH_ROOTLESS_NET:-slirp4netns}
STORAGE=${BERTH_ROOTLESS_STORAGE:-}
BUSYBOX_IMAGE=${BERTH_BUSYBOX_IMAGE:-berth-test/busybox:latest}
PYTHON_IMAGE=${BERTH_PYTHON_IMAGE:-berth-test/python:3.11}
SOCK=$DIR/run/docker.sock
HOST=unix://$SOCK
LOG=$DIR/dockerd.log
PIDFILE=$DIR/rootlesskit.pid
started=$(date +%s)

say() { printf 'rootless-up: %s\n' "$*"; }
fail() {
  say "$*"
  if [ -f "$LOG" ]; then say "last lines of $LOG:"; tail -n 40 "$LOG" | sed 's/^/  /'; fi
  exit 1
}

# The main dockerd, whatever DOCKER_HOST names; and the rootless one.
dockerd_() { env -u DOCKER_HOST -u DOCKER_CONTEXT docker "$@"; }
rootless_() { env -u DOCKER_CONTEXT docker -H "$HOST" "$@"; }
rootless_version() { rootless_ version --format '{{.Server.Version}}' 2>/dev/null; }

[ "$(id -u)" = 0 ] || { say "run as root (creates a user, writes /etc/subuid)"; exit 1; }

# --- 1. packages --------------------------------------------------------------------------
apt_install() {
  local missing=()
  for pkg in "$@"; do dpkg -s "$pkg" >/dev/null 2>&1 || missing+=("$pkg"); done
  [ ${#missing[@]} -gt 0 ] || return 0
  command -v apt-get >/dev/null || { say "missing ${missing[*]} and no apt-get; install them yourself"; exit 1; }
  say "installing Debian packages: ${missing[*]}"
  mkdir -p "$DIR"
  DEBIAN_FRONTEND=noninteractive apt-get install -y -q "${missing[@]}" >"$DIR/apt.log" 2>&1 ||
    { apt-get update -q >>"$DIR/apt.log" 2>&1 &&
      DEBIAN_FRONTEND=noninteractive apt-get install -y -q "${missing[@]}" >>"$DIR/apt.log" 2>&1; } ||
    { cat "$DIR/apt.log"; exit 1; }
}
apt_install uidmap rootlesskit slirp4netns
command -v dockerd >/dev/null || { say "no dockerd on PATH (Debian package docker.io)"; exit 1; }
ROOTLESS_SH=/usr/share/docker.io/contrib/dockerd-rootless.sh
[ -x "$ROOTLESS_SH" ] || ROOTLESS_SH=$(command -v dockerd-rootless.sh || dpkg -L docker.io 2>/dev/null | grep -m1 '/dockerd-rootless\.sh$' || true)
[ -n "$ROOTLESS_SH" ] && [ -x "$ROOTLESS_SH" ] || { say "dockerd-rootless.sh not found (dpkg -L docker.io)"; exit 1; }

# --- 2. user and subordinate ids ----------------------------------------------------------
HOME_DIR=/var/lib/$ROOTLESS_USER
if ! id "$ROOTLESS_USER" >/dev/null 2>&1; then
  useradd --system --create-home --home-dir "$HOME_DIR" --shell /usr/sbin/nologin "$ROOTLESS_USER"
  say "created system user $ROOTLESS_USER (home $HOME_DIR)"
fi
HOME_DIR=$(getent passwd "$ROOTLESS_USER" | cut -d: -f6)
UID_=$(id -u "$ROOTLESS_USER")
GID_=$(id -g "$ROOTLESS_USER")
# First id after every range in both files, at least 100000: a range nobody else uses.
free_start() {
  cat /etc/subuid /etc/subgid 2>/dev/null |
    awk -F: 'NF >= 3 { end = $2 + $3; if (end > max) max = end } END { s = (max > 100000 ? max : 100000); print s }'
}
for f in /etc/subuid /etc/subgid; do
  touch "$f"
  if ! grep -Eq "^($ROOTLESS_USER|$UID_):" "$f"; then
    start=$(free_start)
    printf '%s:%s:65536\n' "$ROOTLESS_USER" "$start" >>"$f"
    say "added $ROOTLESS_USER:$start:65536 to $f"
  fi
done
SUBUID_START=$(grep -E "^($ROOTLESS_USER|$UID_):" /etc/subuid | head -n1 | cut -d: -f2)

# --- 3. the rootless daemon ---------------------------------------------------------------
running_pid() {
  [ -f "$PIDFILE" ] || return 1
  local pid; pid=$(cat "$PIDFILE")
  # Alive and still rootlesskit (not a recycled pid).
  [ -n "$pid" ] && kill -0 "$pid" 2>/dev/null && tr '\0' ' ' <"/proc/$pid/cmdline" 2>/dev/null | grep -q rootlesskit && echo "$pid"
}

if pid=$(running_pid) && rootless_version >/dev/null; then
  say "rootless dockerd already running (rootlesskit pid $pid) at $HOST"
else
  if pid=$(running_pid); then
    say "pid $pid from $PIDFILE does not answer; stopping it first"
    kill "$pid" 2>/dev/null || true
    for _ in $(seq 1 50); do kill -0 "$pid" 2>/dev/null || break; sleep 0.2; done
    kill -9 "$pid" 2>/dev/null || true
  fi
  mkdir -p "$DIR"
  chmod 755 "$DIR"
  install -d -m 700 -o "$ROOTLESS_USER" -g "$GID_" "$DIR/run" "$DIR/data" "$DIR/exec"
  rm -f "$SOCK" "$PIDFILE"
  : >"$LOG"
  chown "$ROOTLESS_USER" "$LOG"

  # Checks that explain a failure better than dockerd's log would.
  userns_max=$(cat /proc/sys/user/max_user_namespaces 2>/dev/null || echo '?')
  [ "$userns_max" != 0 ] || fail "user namespaces are disabled (/proc/sys/user/max_user_namespaces = 0)"
  if [ -r /proc/sys/kernel/unprivileged_userns_clone ] && [ "$(cat /proc/sys/kernel/unprivileged_userns_clone)" = 0 ]; then
    fail "kernel.unprivileged_userns_clone = 0: unprivileged users cannot make user namespaces"
  fi
  if [ "$NET" = slirp4netns ]; then
    [ -c /dev/net/tun ] || fail "no /dev/net/tun (slirp4netns needs it)"
    # slirp4netns opens /dev/net/tun as the user. udev makes it 0666 on a normal Debian; in this
    # VM it is 0600 root, and rootlesskit fails with "open: Permission denied … ip tuntap add
    # name tap0". Give it udev's mode (opening it lets a user make tap devices only in network
    # namespaces that user owns).
    if ! setpriv --reuid="$UID_" --regid="$GID_" --init-groups -- sh -c ': <>/dev/net/tun' 2>/dev/null; then
      say "/dev/net/tun is $(stat -c '%a %U:%G' /dev/net/tun); chmod 0666 (Debian udev's default) so slirp4netns can open it"
      chmod 0666 /dev/net/tun
    fi
  fi

  # dockerd flags: its own exec-root and pid file under $DIR (the defaults under XDG_RUNTIME_DIR
  # are fine too, but this keeps everything together).
  flags=(--data-root "$DIR/data" --exec-root "$DIR/exec" --pidfile "$DIR/run/dockerd.pid" --host "$HOST")
  [ -n "$STORAGE" ] && flags+=(--storage-driver "$STORAGE")
  env_=(
    "HOME=$HOME_DIR" "USER=$ROOTLESS_USER" "LOGNAME=$ROOTLESS_USER"
    "PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin"
    "XDG_RUNTIME_DIR=$DIR/run"
    "DOCKERD_ROOTLESS_ROOTLESSKIT_NET=$NET"
    # The script picks 65520 (faster) for slirp4netns only when it chooses the driver itself.
    "DOCKERD_ROOTLESS_ROOTLESSKIT_MTU=$([ "$NET" = slirp4netns ] && echo 65520 || echo 1500)"
    "DOCKERD_ROOTLESS_ROOTLESSKIT_FLAGS=--state-dir=$DIR/run/rootlesskit"
  )
  say "starting rootless dockerd as $ROOTLESS_USER (uid $UID_, subuids from $SUBUID_START; net $NET${STORAGE:+, storage $STORAGE}); log $LOG"
  # setsid: its own session, so it outlives this script and a Ctrl-C in the caller's terminal.
  # setpriv (unlike runuser) execs instead of forking, and dockerd-rootless.sh execs rootlesskit:
  # $! is rootlesskit's pid, whose child (in the namespaces) runs dockerd.
  cd "$DIR"
  setsid setpriv --reuid="$UID_" --regid="$GID_" --init-groups -- \
    env -i "${env_[@]}" "$ROOTLESS_SH" "${flags[@]}" >>"$LOG" 2>&1 </dev/null &
  launcher=$!
  echo "$launcher" >"$PIDFILE"
  ok=
  for _ in $(seq 1 120); do
    if rootless_version >/dev/null; then ok=1; break; fi
    kill -0 "$launcher" 2>/dev/null || break
    sleep 0.5
  done
  if [ -z "$ok" ]; then
    if kill -0 "$launcher" 2>/dev/null; then
      kill "$launcher" 2>/dev/null || true
      fail "rootless dockerd did not answer at $HOST within 60 s (stopped it)"
    fi
    fail "rootless dockerd exited (rootlesskit pid $launcher)"
  fi
  say "rootless dockerd started (rootlesskit pid $(cat "$PIDFILE" 2>/dev/null || echo '?'))"
fi

# root reaches the socket anyway; others in the socket's group could too, but the run dir is 700.
info=$(rootless_ info --format '{{.SecurityOptions}} driver={{.Driver}} cgroup={{.CgroupDriver}}/v{{.CgroupVersion}}' 2>&1) ||
  fail "docker info failed: $info"
case "$info" in *rootless*) ;; *) fail "the daemon at $HOST is not rootless: $info" ;; esac
say "engine info: $info"

# --- 4. test images -----------------------------------------------------------------------
missing=()
for image in "$BUSYBOX_IMAGE" "$PYTHON_IMAGE"; do
  rootless_ image inspect "$image" >/dev/null 2>&1 || missing+=("$image")
done
if [ ${#missing[@]} -gt 0 ]; then
  for image in "${missing[@]}"; do
    dockerd_ image inspect "$image" >/dev/null 2>&1 || { say "the main dockerd lacks $image: run scripts/engine-up.sh first"; exit 1; }
  done
  say "loading ${missing[*]} from the main dockerd"
  dockerd_ save "${missing[@]}" | rootless_ load -q >"$DIR/load.log" 2>&1 || { cat "$DIR/load.log"; fail "docker load failed"; }
else
  say "images already loaded: $BUSYBOX_IMAGE $PYTHON_IMAGE"
fi

say "ready: rootless engine $(rootless_version) at $HOST ($(($(date +%s) - started)) s)"
