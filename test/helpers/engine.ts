import { existsSync } from 'node:fs';
import { connect } from 'node:net';
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
