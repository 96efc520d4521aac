#!/usr/bin/env bash
# Makes sure Podman's Docker-compatible service answers at unix:///run/podman/podman.sock with the
# test images in Podman's own store. Idempotent; prints what it did. Run scripts/engine-up.sh
# first: the test images are exported from dockerd (Podman has no registry to pull from either).
#
# 1. As root with apt: install Debian's podman (4.3) and catatonit (the init binary Podman needs
#    for HostConfig.Init) when missing.
# 2. /etc/containers/containers.conf: set [containers] default_ulimits to
#    ["nofile=1024:1024","nproc=1024:1024"] unless the file already sets default_ulimits (without
#    it every container fails with "error setting rlimit type 7"). Other settings are kept.
# 3. Start `podman system service --time=0 unix:///run/podman/podman.sock` in the background when
#    that socket does not answer (pid file and log in $BERTH_STATE_DIR, default /tmp/berth-engine).
#    scripts/podman-down.sh stops only a service this script started.
# 4. Import berth-test/busybox:latest, berth-test/python:3.11 and python:3-slim (the executor's
#    default image) into Podman's store with `docker save … | podman load` when Podman lacks them.
#
# Then: DOCKER_HOST=unix:///run/podman/podman.sock npx vitest run --project integration …
set -euo pipefail

STATE=${BERTH_STATE_DIR:-/tmp/berth-engine}
PODMAN_SOCK=${BERTH_PODMAN_SOCK:-/run/podman/podman.sock}
BUSYBOX_IMAGE=${BERTH_BUSYBOX_IMAGE:-berth-test/busybox:latest}
PYTHON_IMAGE=${BERTH_PYTHON_IMAGE:-berth-test/python:3.11}
DEFAULT_IMAGE=python:3-slim
CONF=/etc/containers/containers.conf
mkdir -p "$STATE"

say() { printf 'podman-up: %s\n' "$*"; }

podman_ping() {
  [ -S "$PODMAN_SOCK" ] && curl -fsS --max-time 5 --unix-socket "$PODMAN_SOCK" http://d/_ping 2>/dev/null || true
}

# The images come from dockerd, not from whatever DOCKER_HOST names (it may name Podman itself).
dockerd_() { env -u DOCKER_HOST -u DOCKER_CONTEXT docker "$@"; }

# True when Podman's Docker API resolves NAME the way Berth will ask for it.
podman_has_image() {
  curl -fsS --max-time 10 --unix-socket "$PODMAN_SOCK" -o /dev/null "http://d/v1.41/images/$1/json" 2>/dev/null
}

apt_install() {
  local missing=()
  for pkg in "$@"; do dpkg -s "$pkg" >/dev/null 2>&1 || missing+=("$pkg"); done
  [ ${#missing[@]} -gt 0 ] || return 0
  if [ "$(id -u)" != 0 ] || ! command -v apt-get >/dev/null; then
    say "missing ${missing[*]} and cannot install them (need root and apt-get); install Podman yourself."
    exit 1
  fi
  say "installing Debian packages: ${missing[*]}"
  if [ ! -f "$STATE/apt-updated" ]; then apt-get update -qq && touch "$STATE/apt-updated"; fi
  DEBIAN_FRONTEND=noninteractive apt-get install -y -qq "${missing[@]}" >"$STATE/apt-podman.log" 2>&1 \
    || { cat "$STATE/apt-podman.log"; exit 1; }
}

# --- 1. packages --------------------------------------------------------------------------
command -v curl >/dev/null || apt_install curl
if [ "$(podman_ping)" = OK ] && ! command -v podman >/dev/null; then
  say "a Podman service answers at $PODMAN_SOCK but the podman command is missing; cannot import images."
  exit 1
fi
apt_install podman catatonit
say "podman $(podman --version | awk '{print $3}'), catatonit $(dpkg -s catatonit 2>/dev/null | awk '/^Version:/ {print $2}')"

# --- 2. containers.conf -------------------------------------------------------------------
ULIMITS='default_ulimits = ["nofile=1024:1024","nproc=1024:1024"]'
if [ -f "$CONF" ] && grep -Eq '^[[:space:]]*default_ulimits[[:space:]]*=' "$CONF"; then
  say "$CONF already sets default_ulimits; leaving it alone"
elif [ -f "$CONF" ] && grep -Eq '^[[:space:]]*\[containers\][[:space:]]*(#.*)?$' "$CONF"; then
  cp "$CONF" "$STATE/containers.conf.bak"
  # Insert the key right under the existing [containers] table header; the rest stays as it was.
  awk -v line="$ULIMITS" '{ print } !done && /^[[:space:]]*\[containers\][[:space:]]*(#.*)?$/ { print line; done = 1 }' \
    "$STATE/containers.conf.bak" >"$CONF.tmp" && mv "$CONF.tmp" "$CONF"
  say "added $ULIMITS to the [containers] table of $CONF (backup: $STATE/containers.conf.bak)"
else
  mkdir -p "$(dirname "$CONF")"
  [ -f "$CONF" ] && cp "$CONF" "$STATE/containers.conf.bak"
  # A new [containers] table at the end: TOML allows a table header after other tables.
  printf '\n# Added by Berth scripts/podman-up.sh: without it containers fail with "error setting rlimit type 7".\n[containers]\n%s\n' \
    "$ULIMITS" >>"$CONF"
  say "wrote [containers] $ULIMITS to $CONF"
fi

# --- 3. the service -----------------------------------------------------------------------
if [ "$(podman_ping)" = OK ]; then
  say "Podman's service answers at unix://$PODMAN_SOCK; not starting another"
else
  if [ -f "$STATE/podman.pid" ] && kill -0 "$(cat "$STATE/podman.pid")" 2>/dev/null; then
    say "the service started earlier (pid $(cat "$STATE/podman.pid")) does not answer; stopping it"
    kill -TERM "$(cat "$STATE/podman.pid")" || true
    sleep 1
  fi
  mkdir -p "$(dirname "$PODMAN_SOCK")"
  rm -f "$PODMAN_SOCK" # a stale socket file of a service that is gone
  say "starting podman system service (log: $STATE/podman.log)"
  # From $STATE: conmon may write files (an `oom` marker) into its working folder.
  nohup env -C "$STATE" podman system service --time=0 "unix://$PODMAN_SOCK" >"$STATE/podman.log" 2>&1 </dev/null &
  echo $! >"$STATE/podman.pid"
  for _ in $(seq 1 120); do
    [ "$(podman_ping)" = OK ] && break
    if ! kill -0 "$(cat "$STATE/podman.pid")" 2>/dev/null; then
      say "podman system service exited while starting:"; tail -n 30 "$STATE/podman.log"; rm -f "$STATE/podman.pid"; exit 1
    fi
    sleep 0.25
  done
  [ "$(podman_ping)" = OK ] || { say "Podman's service did not answer within 30 s"; tail -n 30 "$STATE/podman.log"; exit 1; }
  say "Podman's service started (pid $(cat "$STATE/podman.pid")) at unix://$PODMAN_SOCK"
fi

# --- 4. images ----------------------------------------------------------------------------
missing=()
for image in "$BUSYBOX_IMAGE" "$PYTHON_IMAGE" "$DEFAULT_IMAGE"; do
  if podman_has_image "$image"; then say "image $image is in Podman's store"; else missing+=("$image"); fi
done
if [ ${#missing[@]} -gt 0 ]; then
  for image in "${missing[@]}"; do
    dockerd_ image inspect "$image" >/dev/null 2>&1 || {
      say "image $image is neither in Podman's store nor in dockerd's; run scripts/engine-up.sh first"
      exit 1
    }
  done
  say "importing from dockerd: docker save ${missing[*]} | podman load"
  dockerd_ save "${missing[@]}" | podman load -q >"$STATE/podman-load.log" 2>&1 || { cat "$STATE/podman-load.log"; exit 1; }
  for image in "${missing[@]}"; do
    podman_has_image "$image" || { say "image $image is still missing after the import"; cat "$STATE/podman-load.log"; exit 1; }
    say "imported $image into Podman's store"
  done
fi
version=$(curl -fsS --max-time 10 --unix-socket "$PODMAN_SOCK" http://d/version | sed -n 's/.*"Version":"\([^"]*\)","ApiVersion":"\([^"]*\)".*/\1 (API \2)/p' | head -n1)
say "ready: Podman ${version:-?} at unix://$PODMAN_SOCK; run the tests with DOCKER_HOST=unix://$PODMAN_SOCK"
