#!/usr/bin/env bash
# Makes an SSH server answer on 127.0.0.1 (port $BERTH_SSH_PORT, default 2222) that lets the
# current user in with a throw-away key, so the ssh:// tests reach the local engine the way a
# remote one is reached: `ssh … docker system dial-stdio`. Idempotent; prints what it did.
#
# 1. As root with apt: install Debian's openssh-server when /usr/sbin/sshd is missing. (It is not
#    enabled as a system service here: this script runs its own sshd.)
# 2. In $BERTH_SSH_DIR (default /tmp/berth-sshd): a host key, a client key (ed25519, no
#    passphrase), authorized_keys, an sshd_config (keys only, loopback only) and a client config
#    `ssh_config` that pins the host key (StrictHostKeyChecking yes) and names the client key.
# 3. Start that sshd in the background unless its pid file names a live one.
#
# Then: ssh -F /tmp/berth-sshd/ssh_config berth-test docker version
# The tests pass `ssh: { args: ['-F', "$BERTH_SSH_DIR/ssh_config"] }` to the client and use
# DOCKER_HOST-style addresses ssh://$USER@127.0.0.1:$BERTH_SSH_PORT. scripts/sshd-down.sh stops it.
set -euo pipefail

DIR=${BERTH_SSH_DIR:-/tmp/berth-sshd}
PORT=${BERTH_SSH_PORT:-2222}
USER_NAME=$(id -un)
say() { printf 'sshd-up: %s\n' "$*"; }

if [ ! -x /usr/sbin/sshd ]; then
  if [ "$(id -u)" = 0 ] && command -v apt-get >/dev/null; then
    say "installing Debian packages: openssh-server openssh-client"
    # The package would start the system's sshd on port 22; that one is not needed here.
    printf '#!/bin/sh\nexit 101\n' >/usr/sbin/policy-rc.d && chmod +x /usr/sbin/policy-rc.d
    DEBIAN_FRONTEND=noninteractive apt-get install -y -q openssh-server openssh-client >/dev/null ||
      { apt-get update -q >/dev/null && DEBIAN_FRONTEND=noninteractive apt-get install -y -q openssh-server openssh-client >/dev/null; }
    rm -f /usr/sbin/policy-rc.d
  else
    say "no /usr/sbin/sshd, and this is not root with apt: install openssh-server"; exit 1
  fi
fi
command -v ssh >/dev/null || { say "no ssh client on PATH"; exit 1; }

mkdir -p "$DIR" && chmod 700 "$DIR"
[ -f "$DIR/host_key" ] || ssh-keygen -q -t ed25519 -N '' -C berth-test-host -f "$DIR/host_key"
[ -f "$DIR/client_key" ] || ssh-keygen -q -t ed25519 -N '' -C berth-test-client -f "$DIR/client_key"
cp "$DIR/client_key.pub" "$DIR/authorized_keys" && chmod 600 "$DIR/authorized_keys"

cat >"$DIR/sshd_config" <<EOF
ListenAddress 127.0.0.1
Port $PORT
HostKey $DIR/host_key
PidFile $DIR/sshd.pid
AuthorizedKeysFile $DIR/authorized_keys
AllowUsers $USER_NAME
PubkeyAuthentication yes
PasswordAuthentication no
KbdInteractiveAuthentication no
PermitRootLogin prohibit-password
UsePAM no
StrictModes no
MaxStartups 64:30:128
MaxSessions 64
LogLevel ERROR
EOF

printf '[127.0.0.1]:%s %s\n' "$PORT" "$(cut -d' ' -f1,2 "$DIR/host_key.pub")" >"$DIR/known_hosts"
cat >"$DIR/ssh_config" <<EOF
Host berth-test
  HostName 127.0.0.1
  Port $PORT
  User $USER_NAME
Host *
  IdentityFile $DIR/client_key
  IdentitiesOnly yes
  UserKnownHostsFile $DIR/known_hosts
  StrictHostKeyChecking yes
  LogLevel ERROR
EOF

if [ -f "$DIR/sshd.pid" ] && kill -0 "$(cat "$DIR/sshd.pid")" 2>/dev/null; then
  say "sshd already running (pid $(cat "$DIR/sshd.pid")) on 127.0.0.1:$PORT"
else
  mkdir -p /run/sshd
  /usr/sbin/sshd -f "$DIR/sshd_config" -E "$DIR/sshd.log"
  for _ in $(seq 1 50); do [ -f "$DIR/sshd.pid" ] && break; sleep 0.1; done
  say "sshd started (pid $(cat "$DIR/sshd.pid")) on 127.0.0.1:$PORT"
fi

if ssh -F "$DIR/ssh_config" -o BatchMode=yes berth-test docker version --format '{{.Server.Version}}' >"$DIR/check.out" 2>&1; then
  say "ready: ssh://$USER_NAME@127.0.0.1:$PORT reaches engine $(cat "$DIR/check.out")"
else
  say "sshd answers but 'docker version' over it failed:"; cat "$DIR/check.out"; exit 1
fi
