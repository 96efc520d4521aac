import { type SpawnSyncReturns, spawnSync } from 'node:child_process';
import { existsSync } from 'node:fs';
import { connect } from 'node:net';
import { join } from 'node:path';
import { DockerClient } from '../../src/engine/index.js';

/** Label put on every container the tests create, so the run can find and remove strays. */
export const TEST_LABEL = 'berth.test';
/** The busybox image built by scripts/engine-up.sh. */
export const BUSYBOX = process.env.BERTH_BUSYBOX_IMAGE ?? 'berth-test/busybox:latest';
/** The python image built by scripts/engine-up.sh (Debian python3, no pip, no procps). */
export const PYTHON = process.env.BERTH_PYTHON_IMAGE ?? 'berth-test/python:3.11';

/** A client for the engine the test set-up started (or found). */
export function testClient(): DockerClient {
  return new DockerClient();
}

/** Creates and starts a labelled busybox container that sleeps; returns its ID. */
export async function startSleeper(docker: DockerClient, extra: Record<string, unknown> = {}): Promise<string> {
  const { Id } = await docker.containers.create({
    Image: BUSYBOX,
    Cmd: ['sleep', '3600'],
    Labels: { [TEST_LABEL]: '1' },
    HostConfig: { Init: true, AutoRemove: false },
    ...extra,
  });
  await docker.containers.start(Id);
  return Id;
}

/** Removes a container, ignoring one that is already gone. */
export async function removeQuietly(docker: DockerClient, id: string | undefined): Promise<void> {
  if (!id) return;
  await docker.containers.remove(id, { force: true }).catch(() => {});
}

/** True when `file` exists and something accepts TCP connections on 127.0.0.1:`port` (the TLS listener, the test sshd). */
export async function loopbackListening(port: number, file: string): Promise<boolean> {
  if (!existsSync(file)) return false;
  return new Promise((resolve) => {
    const socket = connect({ host: '127.0.0.1', port }, () => {
      socket.destroy();
      resolve(true);
    });
    socket.on('error', () => resolve(false));
  });
}

/**
 * Processes in a container other than PID 1 (init), the keeper shell (or the idle sleep of the
 * executor's own PID 1 where the engine has no init) and the probe itself, read
 * from /proc because the test image has no procps.
 */
export async function strayProcesses(docker: DockerClient, containerId: string): Promise<string[]> {
  const script = [
    'me=$$',
    'for d in /proc/[0-9]*; do',
    '  p=${d#/proc/}; [ "$p" = 1 ] && continue; [ "$p" = "$me" ] && continue',
    '  read -r st < "$d/stat" 2>/dev/null || continue; st=${st##*) }; set -- $st; [ "$2" = "$me" ] && continue',
    '  c=$(tr "\\0" " " < "$d/cmdline" 2>/dev/null); [ "$c" = "/bin/sh " ] && continue',
    // The idle child of the executor's own PID 1 on engines without an init binary (OWN_INIT_SCRIPT).
    '  [ "$2" = 1 ] && [ "$c" = "sleep 3600 " ] && continue',
    '  echo "$p $c"',
    'done',
  ].join('\n');
  // Under load runc now and then fails to start an exec ("read init-p: connection reset"): retry the probe.
  for (let attempt = 1; ; attempt++) {
    const result = await docker.exec.run(containerId, ['sh', '-c', script]);
    if (result.exitCode === 0 || attempt === 3) return result.stdout.split('\n').filter((line) => line.trim() !== '');
    await new Promise((r) => setTimeout(r, 200));
  }
}

/**
 * Runs `script` (an ES module) with this Node in a private mount namespace where a dead socket
 * (made in `dir`) is bind-mounted over /var/run/docker.sock: what engine discovery sees on a
 * machine whose Docker socket is left behind. Needs root and `unshare`.
 */
export function withDeadDockerSocket(dir: string, script: string, env: Record<string, string>): SpawnSyncReturns<string> {
  const stale = join(dir, 'stale.sock');
  // Listen, then exit without closing: the socket file stays, and connecting to it is refused.
  const made = spawnSync(process.execPath, ['-e', `require('net').createServer().listen(${JSON.stringify(stale)}, () => process.exit(0))`]);
  if (made.status !== 0) throw new Error(`could not make a dead socket at ${stale}: ${made.stderr}`);
  return spawnSync(
    'unshare',
    [
      '-m',
      '--propagation',
      'private',
      'sh',
      '-c',
      'mount --bind "$1" /var/run/docker.sock && exec "$2" --input-type=module -e "$3"',
      'sh',
      stale,
      process.execPath,
      script,
    ],
    { encoding: 'utf8', env, timeout: 60_000 },
  );
}
