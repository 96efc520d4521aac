#!/usr/bin/env bash
# Starts two container registries on loopback for the build, push and pull tests (Debian's
# docker-registry package, distribution 2.8), and a fake credential helper. Idempotent; prints
# what it did.
#   - 127.0.0.1:$BERTH_REGISTRY_PORT (default 5510): no authentication.
#   - 127.0.0.1:$BERTH_REGISTRY_AUTH_PORT (default 5511): htpasswd (bcrypt) with the user
#     $BERTH_REGISTRY_USER / $BERTH_REGISTRY_PASSWORD (default berth / berth-secret).
# dockerd treats registries on 127.0.0.0/8 as insecure, so both speak plain HTTP.
#
# 1. As root with apt: install docker-registry and apache2-utils (htpasswd) when missing; the
#    package's own service is not started (this script runs its own registries).
# 2. In $BERTH_STATE_DIR/registry (default /tmp/berth-engine/registry): a config, storage folder,
#    log and pid file per registry, and the htpasswd file.
# 3. Start each registry unless its pid file names a live one; wait until /v2/ answers.
# scripts/registry-down.sh stops them and removes their storage.
set -euo pipefail

STATE=${BERTH_STATE_DIR:-/tmp/berth-engine}
DIR=$STATE/registry
PORT=${BERTH_REGISTRY_PORT:-5510}
AUTH_PORT=${BERTH_REGISTRY_AUTH_PORT:-5511}
USER_NAME=${BERTH_REGISTRY_USER:-berth}
PASSWORD=${BERTH_REGISTRY_PASSWORD:-berth-secret}
say() { printf 'registry-up: %s\n' "$*"; }

if ! command -v docker-registry >/dev/null || ! command -v htpasswd >/dev/null || ! command -v curl >/dev/null; then
  if [ "$(id -u)" = 0 ] && command -v apt-get >/dev/null; then
    say "installing Debian packages: docker-registry apache2-utils curl"
    # The package would start its own registry on port 5000; that one is not needed here.
    printf '#!/bin/sh\nexit 101\n' >/usr/sbin/policy-rc.d && chmod +x /usr/sbin/policy-rc.d
    DEBIAN_FRONTEND=noninteractive apt-get install -y -q docker-registry apache2-utils curl >/dev/null ||
      { apt-get update -q >/dev/null && DEBIAN_FRONTEND=noninteractive apt-get install -y -q docker-registry apache2-utils curl >/dev/null; }
    rm -f /usr/sbin/policy-rc.d
  else
    say "docker-registry or htpasswd is missing, and this is not root with apt: install docker-registry apache2-utils"; exit 1
  fi
fi

mkdir -p "$DIR"
# Written each time, so a changed BERTH_REGISTRY_USER or _PASSWORD takes effect (at the registry's next start).
htpasswd -Bbc "$DIR/htpasswd" "$USER_NAME" "$PASSWORD" 2>/dev/null

start() { # name port auth(yes|no)
  local name=$1 port=$2 auth=$3 conf="$DIR/$1.yml" pidfile="$DIR/$1.pid"
  mkdir -p "$DIR/$name-data"
  {
    printf 'version: 0.1\nlog:\n  level: warn\n  accesslog:\n    disabled: true\n'
    printf 'storage:\n  filesystem:\n    rootdirectory: %s\n  delete:\n    enabled: true\n' "$DIR/$name-data"
    printf 'http:\n  addr: 127.0.0.1:%s\n  secret: berth-test-%s\n' "$port" "$name"
    if [ "$auth" = yes ]; then printf 'auth:\n  htpasswd:\n    realm: berth-test\n    path: %s\n' "$DIR/htpasswd"; fi
  } >"$conf"
  if [ -f "$pidfile" ] && kill -0 "$(cat "$pidfile")" 2>/dev/null; then
    say "$name registry already running (pid $(cat "$pidfile")) on 127.0.0.1:$port"
  else
    nohup docker-registry serve "$conf" >"$DIR/$name.log" 2>&1 &
    echo $! >"$pidfile"
    say "$name registry started (pid $!) on 127.0.0.1:$port"
  fi
  local code=''
  for _ in $(seq 1 100); do
    code=$(curl -s -o /dev/null -w '%{http_code}' "http://127.0.0.1:$port/v2/" || true)
    case "$code" in 200 | 401) break ;; esac
    sleep 0.1
  done
  case "$code" in
    200 | 401) say "ready: http://127.0.0.1:$port/v2/ answers $code" ;;
    *) say "the $name registry does not answer on 127.0.0.1:$port; its log:"; cat "$DIR/$name.log"; exit 1 ;;
  esac
}

start open "$PORT" no
start auth "$AUTH_PORT" yes
