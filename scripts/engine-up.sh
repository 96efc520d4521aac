#!/usr/bin/env bash
# Makes sure a Docker engine answers and the test images exist. Idempotent; prints what it did.
#
# 1. If an engine answers (DOCKER_HOST, else /var/run/docker.sock), use it and install nothing.
# 2. Otherwise, as root where apt exists: install Debian's docker.io and start dockerd with the
#    GPU stand-in hook (nvidia-container-runtime-hook) on its PATH, so device requests work
#    without a GPU (dockerd 20.10 registers its NVIDIA driver only when that hook is on PATH).
# 3. Make sure the test images exist, built offline from Debian's packages when no registry
#    answers: busybox (fast engine tests) and a python image for the executor. The default
#    executor image python:3-slim is tagged from the offline build only when it is missing.
#
# Environment: BERTH_STATE_DIR (default /tmp/berth-engine) holds the pid file of a daemon this
# script started, its log and the image caches; scripts/engine-down.sh reads it.
set -euo pipefail

STATE=${BERTH_STATE_DIR:-/tmp/berth-engine}
SOCK=/var/run/docker.sock
BUSYBOX_IMAGE=${BERTH_BUSYBOX_IMAGE:-berth-test/busybox:latest}
PYTHON_IMAGE=${BERTH_PYTHON_IMAGE:-berth-test/python:3.11}
DEFAULT_IMAGE=python:3-slim
mkdir -p "$STATE"

say() { printf 'engine-up: %s\n' "$*"; }

api_ping() {
  # Prints OK when the engine at DOCKER_HOST (or the default socket) answers /_ping.
  if [ -n "${DOCKER_HOST:-}" ]; then
    timeout 10 docker version --format '{{.Server.APIVersion}}' >/dev/null 2>&1 && echo OK
  elif [ -S "$SOCK" ]; then
    curl -fsS --max-time 5 --unix-socket "$SOCK" http://localhost/_ping 2>/dev/null || true
  fi
}

need_root_apt() {
  if [ "$(id -u)" != 0 ] || ! command -v apt-get >/dev/null; then
    say "no engine answers and I cannot install one (need root and apt-get)."
    say "start Docker yourself, or set DOCKER_HOST to an engine that answers."
    exit 1
  fi
}

apt_install() {
  local missing=()
  for pkg in "$@"; do dpkg -s "$pkg" >/dev/null 2>&1 || missing+=("$pkg"); done
  if [ ${#missing[@]} -gt 0 ]; then
    say "installing Debian packages: ${missing[*]}"
    if [ ! -f "$STATE/apt-updated" ]; then apt-get update -qq && touch "$STATE/apt-updated"; fi
    DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends "${missing[@]}" >"$STATE/apt.log" 2>&1 \
      || { cat "$STATE/apt.log"; exit 1; }
  fi
}

TLS_DIR="$STATE/tls"
TLS_PORT=${BERTH_TLS_PORT:-2376}

make_tls_material() {
  # A CA, a server certificate for 127.0.0.1/localhost (serverAuth) and a client certificate
  # (clientAuth); the client's are named as DOCKER_CERT_PATH expects: ca.pem, cert.pem, key.pem.
  [ -s "$TLS_DIR/cert.pem" ] && [ -s "$TLS_DIR/server-cert.pem" ] && return 0
  command -v openssl >/dev/null || apt_install openssl
  mkdir -p "$TLS_DIR" && chmod 700 "$TLS_DIR"
  (
    cd "$TLS_DIR"
    openssl req -x509 -newkey rsa:2048 -nodes -days 3650 -subj "/CN=berth test CA" -keyout ca-key.pem -out ca.pem 2>/dev/null
    openssl req -newkey rsa:2048 -nodes -subj "/CN=localhost" -keyout server-key.pem -out server.csr 2>/dev/null
    printf 'subjectAltName=IP:127.0.0.1,DNS:localhost\nextendedKeyUsage=serverAuth\n' >server.ext
    openssl x509 -req -in server.csr -CA ca.pem -CAkey ca-key.pem -CAcreateserial -days 3650 -extfile server.ext -out server-cert.pem 2>/dev/null
    openssl req -newkey rsa:2048 -nodes -subj "/CN=berth client" -keyout key.pem -out client.csr 2>/dev/null
    printf 'extendedKeyUsage=clientAuth\n' >client.ext
    openssl x509 -req -in client.csr -CA ca.pem -CAkey ca-key.pem -CAcreateserial -days 3650 -extfile client.ext -out cert.pem 2>/dev/null
    rm -f ./*.csr ./*.ext
  )
  say "made TLS certificates in $TLS_DIR"
}

command -v curl >/dev/null || { need_root_apt; apt_install curl; }
# `ip` (netns, veth): engine-networks.test.ts puts a stand-in for "the internet" in a network namespace.
if ! command -v ip >/dev/null && [ "$(id -u)" = 0 ] && command -v apt-get >/dev/null; then apt_install iproute2; fi

if [ "$(api_ping)" = OK ]; then
  say "an engine answers at ${DOCKER_HOST:-unix://$SOCK}; using it, installing nothing."
else
  if [ -n "${DOCKER_HOST:-}" ]; then
    say "DOCKER_HOST=$DOCKER_HOST is set but does not answer; refusing to start another engine."
    exit 1
  fi
  need_root_apt
  apt_install docker.io
  mkdir -p "$STATE/gpu-bin"
  cat >"$STATE/gpu-bin/nvidia-container-runtime-hook" <<'HOOK'
#!/bin/sh
# GPU stand-in: dockerd only registers its NVIDIA device driver when this hook is on its PATH.
# It is called as an OCI prestart hook with the container state on stdin; it does nothing.
cat >/dev/null
exit 0
HOOK
  chmod +x "$STATE/gpu-bin/nvidia-container-runtime-hook"
  # A stale pid file of a daemon that is gone would keep the new one from starting.
  if [ -f /var/run/docker.pid ] && ! kill -0 "$(cat /var/run/docker.pid)" 2>/dev/null; then rm -f /var/run/docker.pid; fi
  # docker0 may be missing if a second daemon deleted it; recreate it so bridge networking works.
  # A TLS listener on loopback beside the socket, with client-certificate authentication, so the
  # remote-engine tests (and copy mode) run against the real thing. Certificates are made once.
  make_tls_material
  say "starting dockerd (log: $STATE/dockerd.log; TLS listener tcp://127.0.0.1:$TLS_PORT)"
  PATH="$STATE/gpu-bin:$PATH" nohup dockerd --host "unix://$SOCK" --host "tcp://127.0.0.1:$TLS_PORT" \
    --tlsverify --tlscacert "$TLS_DIR/ca.pem" --tlscert "$TLS_DIR/server-cert.pem" --tlskey "$TLS_DIR/server-key.pem" \
    --pidfile /var/run/docker.pid >"$STATE/dockerd.log" 2>&1 </dev/null &
  echo $! >"$STATE/dockerd.pid"
  for _ in $(seq 1 120); do
    [ "$(api_ping)" = OK ] && break
    if ! kill -0 "$(cat "$STATE/dockerd.pid")" 2>/dev/null; then
      say "dockerd exited while starting:"; tail -n 30 "$STATE/dockerd.log"; rm -f "$STATE/dockerd.pid"; exit 1
    fi
    sleep 0.25
  done
  [ "$(api_ping)" = OK ] || { say "dockerd did not answer within 30 s"; tail -n 30 "$STATE/dockerd.log"; exit 1; }
  say "dockerd started (pid $(cat "$STATE/dockerd.pid")), GPU stand-in hook on its PATH"
fi

if [ -z "${DOCKER_HOST:-}" ]; then export DOCKER_HOST="unix://$SOCK"; fi
docker_() { docker "$@"; }
have_image() { docker_ image inspect "$1" >/dev/null 2>&1; }

registry_pull() {
  # One quick try; no registry answers on our machines, so fail fast.
  timeout 20 docker_ pull -q "$1" >/dev/null 2>&1
}

# --- busybox -----------------------------------------------------------------------------
if have_image "$BUSYBOX_IMAGE"; then
  say "image $BUSYBOX_IMAGE is there"
else
  if registry_pull busybox:latest; then
    docker_ tag busybox:latest "$BUSYBOX_IMAGE"
    say "pulled busybox:latest and tagged it $BUSYBOX_IMAGE"
  else
    [ "$(id -u)" = 0 ] && command -v apt-get >/dev/null && apt_install busybox-static
    BB=$(command -v busybox || true)
    [ -n "$BB" ] || { say "busybox is not installed and cannot be"; exit 1; }
    root=$(mktemp -d "$STATE/busybox-root.XXXXXX")
    mkdir -p "$root/bin" "$root/tmp" "$root/etc" "$root/proc" "$root/sys" "$root/dev" "$root/workspace"
    cp "$BB" "$root/bin/busybox"
    for applet in $("$root/bin/busybox" --list); do
      [ "$applet" = busybox ] || ln -sf busybox "$root/bin/$applet"
    done
    echo 'root:x:0:0:root:/root:/bin/sh' >"$root/etc/passwd"
    echo 'nobody:x:65534:65534:nobody:/:/bin/sh' >>"$root/etc/passwd"
    echo 'root:x:0:' >"$root/etc/group"
    chmod 1777 "$root/tmp"
    tar -C "$root" -c . | docker_ import -c 'ENV PATH=/bin' -c 'CMD ["sh"]' - "$BUSYBOX_IMAGE" >/dev/null
    rm -rf "$root"
    say "built $BUSYBOX_IMAGE offline from Debian's busybox-static"
  fi
fi

# --- python ------------------------------------------------------------------------------
if have_image "$PYTHON_IMAGE"; then
  say "image $PYTHON_IMAGE is there"
elif have_image "$DEFAULT_IMAGE"; then
  docker_ tag "$DEFAULT_IMAGE" "$PYTHON_IMAGE"
  say "tagged the existing $DEFAULT_IMAGE as $PYTHON_IMAGE"
elif registry_pull "$DEFAULT_IMAGE"; then
  docker_ tag "$DEFAULT_IMAGE" "$PYTHON_IMAGE"
  say "pulled $DEFAULT_IMAGE and tagged it $PYTHON_IMAGE"
else
  cache="$STATE/python-rootfs.tar"
  if [ ! -s "$cache" ]; then
    [ "$(id -u)" = 0 ] && command -v apt-get >/dev/null || { say "cannot build the python image offline (need root and apt)"; exit 1; }
    apt_install debootstrap
    mirror=$(awk '/^URIs:/ {print $2; exit}' /etc/apt/sources.list.d/debian.sources 2>/dev/null || true)
    [ -n "$mirror" ] || mirror=$(awk '/^deb / {print $2; exit}' /etc/apt/sources.list 2>/dev/null || true)
    [ -n "$mirror" ] || mirror=http://deb.debian.org/debian
    root=$(mktemp -d "$STATE/python-root.XXXXXX")
    say "no registry answers: building a python image with debootstrap from $mirror (about a minute)"
    debootstrap --variant=minbase --include=python3 bookworm "$root" "$mirror" >"$STATE/debootstrap.log" 2>&1 \
      || { tail -n 30 "$STATE/debootstrap.log"; rm -rf "$root"; exit 1; }
    rm -rf "$root"/usr/share/{doc,man,locale} "$root"/var/cache/apt/* "$root"/var/lib/apt/lists/*
    # The official image has a `python` command; Debian's python3 package does not.
    ln -sf python3 "$root/usr/bin/python"
    tar -C "$root" -cf "$cache.part" . && mv "$cache.part" "$cache"
    rm -rf "$root"
  fi
  docker_ import -c 'ENV PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin' \
    -c 'ENV LANG=C.UTF-8' -c 'CMD ["python3"]' "$cache" "$PYTHON_IMAGE" >/dev/null
  say "built $PYTHON_IMAGE offline (Debian bookworm minbase + python3; no pip, no procps, like python:3-slim)"
fi
if have_image "$DEFAULT_IMAGE"; then
  say "image $DEFAULT_IMAGE is there"
else
  docker_ tag "$PYTHON_IMAGE" "$DEFAULT_IMAGE"
  say "NOTE: no registry answered, so $DEFAULT_IMAGE is now a tag of the OFFLINE build $PYTHON_IMAGE (Debian python3, not the official image)"
fi
say "ready: engine $(docker_ version --format '{{.Server.Version}} (API {{.Server.APIVersion}})')"
