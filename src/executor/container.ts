/**
 * The engine steps of the executor's container: connect, image, create and start (with or
 * without the engine's init), restart in place, remove, init command, and what a failure means.
 * Each step takes the client and an `AbortSignal`, and holds no state of its own.
 *
 * @module
 */

import {
  type ContainerCreateBody,
  type DockerClient,
  DockerConnectionError,
  isDockerApiError,
  isDockerConnectionError,
  type ProgressMessage,
} from '../engine/index.js';
import { EXECUTOR_LABEL } from './container-spec.js';
import { ExecutorError } from './errors.js';
import type { PullPolicy } from './types.js';

/** Engines found to refuse `HostConfig.Init` (Podman without catatonit): asked once per client. */
const noInitEngines = new WeakSet<DockerClient>();

/** Pings the engine, with autogen's message when it is not there. */
export async function connect(docker: DockerClient, signal: AbortSignal): Promise<void> {
  try {
    await docker.system.ping({ signal: AbortSignal.any([signal, AbortSignal.timeout(30_000)]) });
  } catch (error) {
    if (isDockerConnectionError(error)) {
      throw new DockerConnectionError(`Failed to connect to Docker. Please ensure Docker is installed and running. ${error.message}`, {
        tried: error.tried,
        cause: error,
        osCode: error.osCode,
      });
    }
    throw error;
  }
}

/** Makes the image available under `policy` (`missing` pulls only when absent). */
export async function ensureImage(
  docker: DockerClient,
  image: string,
  policy: PullPolicy,
  onProgress: ((message: ProgressMessage) => void) | undefined,
  signal: AbortSignal,
): Promise<void> {
  if (policy !== 'always') {
    try {
      await docker.images.inspect(image, { signal });
      return;
    } catch (error) {
      if (!isDockerApiError(error) || error.reason !== 'notFound') throw error;
    }
  }
  if (policy === 'never') throw new ExecutorError(`image ${image} is not on the engine and pullPolicy is 'never'`);
  try {
    await docker.images.pull(image, { onProgress, signal });
  } catch (error) {
    if (signal.aborted) throw error;
    let where = 'the engine';
    try {
      where = `the engine at ${docker.describe().address}`;
    } catch {}
    throw new ExecutorError(`Failed to pull image ${image} on ${where}: ${(error as Error).message}`, { cause: error });
  }
}

/** Autogen force-removes any container with the name; Berth removes only its own (labelled) ones. */
export async function removeOwnStray(docker: DockerClient, name: string, signal: AbortSignal): Promise<void> {
  try {
    const existing = await docker.containers.inspect(name, { signal });
    if (existing.Config?.Labels?.[EXECUTOR_LABEL] === undefined) {
      throw new ExecutorError(`a container named ${name} exists and was not created by Berth; choose another containerName`);
    }
    await docker.containers.remove(existing.Id, { force: true, signal });
  } catch (error) {
    if (isDockerApiError(error) && error.reason === 'notFound') return;
    throw error;
  }
}

/**
 * Creates the container and starts it, and waits until it runs. `spec('engine')` asks for the
 * engine's init; an engine without one (Podman without catatonit: "container-init binary not
 * found") gets `spec('own')`, with no error. `onCreated` hears the ID as soon as it exists.
 */
export async function createAndStart(
  docker: DockerClient,
  spec: (init: 'engine' | 'own') => ContainerCreateBody,
  name: string,
  signal: AbortSignal,
  onCreated: (id: string) => void,
): Promise<string> {
  // Not aborted mid-request: the engine may make the container anyway, and then nobody would know its ID.
  const create = (init: 'engine' | 'own') => docker.containers.create(spec(init), { name, signal: AbortSignal.timeout(60_000) });
  let created: { Id: string };
  try {
    created = await create(noInitEngines.has(docker) ? 'own' : 'engine');
  } catch (error) {
    if (!(isDockerApiError(error) && /container-init binary not found/.test(error.daemonMessage))) throw mapStartError(error);
    noInitEngines.add(docker);
    created = await create('own').catch((again: unknown) => {
      throw mapStartError(again);
    });
  }
  onCreated(created.Id);
  signal.throwIfAborted();
  try {
    await docker.containers.start(created.Id, { signal });
  } catch (error) {
    throw mapStartError(error);
  }
  await waitRunning(docker, created.Id, spec('engine').Image, signal);
  return created.Id;
}

function mapStartError(error: unknown): unknown {
  if (isDockerApiError(error) && /chdir to cwd \("\/workspace"\).*permission denied/.test(error.daemonMessage)) {
    return new ExecutorError(
      `The container's user cannot enter the workspace folder on this machine: the engine maps container users to other host users (a rootless engine run by another user, or userns-remap). Use workspace: 'copy', or a workDir that the engine's user can enter and write. The engine said: ${error.daemonMessage}`,
      { cause: error },
    );
  }
  if (isDockerApiError(error) && /could not select device driver/.test(error.daemonMessage)) {
    return new ExecutorError(
      `GPU device requests need the NVIDIA Container Toolkit on the engine's host: install nvidia-container-toolkit, configure the runtime (nvidia-ctk runtime configure) and restart dockerd. The engine said: ${error.daemonMessage}`,
      { cause: error },
    );
  }
  return error;
}

/** Polls until the container runs; a container that exited says so, with its logs. */
export async function waitRunning(docker: DockerClient, id: string, image: string, signal: AbortSignal): Promise<void> {
  const deadline = Date.now() + 60_000;
  for (let delay = 5; ; delay = Math.min(delay * 2, 100)) {
    let info: Awaited<ReturnType<DockerClient['containers']['inspect']>>;
    try {
      info = await docker.containers.inspect(id, { signal });
    } catch (error) {
      if (isDockerApiError(error) && error.reason === 'notFound') {
        throw new ExecutorError(`Failed to start container from image ${image}. Logs: (the container was removed)`, { cause: error });
      }
      throw error;
    }
    const status = info.State.Status;
    if (status === 'running') return;
    if (status === 'exited' || status === 'dead' || status === 'stopped') {
      throw new ExecutorError(`Failed to start container from image ${image}. Logs: ${await logs(docker, id)}`);
    }
    if (Date.now() > deadline) throw new ExecutorError('Container failed to start');
    await new Promise((done) => setTimeout(done, delay));
    signal.throwIfAborted();
  }
}

async function logs(docker: DockerClient, id: string): Promise<string> {
  try {
    let text = '';
    for await (const frame of await docker.containers.logs(id, { tty: true, tail: 100 })) text += new TextDecoder().decode(frame.data);
    return text.trim();
  } catch {
    return '(no logs)';
  }
}

/**
 * Restarts the container in place (`POST /restart?t=0`) and waits until it runs. False when it is
 * gone (removed by someone else): the caller makes a new one.
 */
export async function restartInPlace(docker: DockerClient, id: string, image: string, signal: AbortSignal): Promise<boolean> {
  try {
    await docker.containers.restart(id, { timeout: 0, signal });
    await waitRunning(docker, id, image, signal);
    return true;
  } catch (error) {
    if (isDockerApiError(error) && error.reason === 'notFound') return false;
    throw error;
  }
}

/** Force-removes a container with its anonymous volumes; one already gone is fine. */
export async function removeContainer(docker: DockerClient, id: string): Promise<void> {
  try {
    await docker.containers.remove(id, { force: true, volumes: true, signal: AbortSignal.timeout(60_000) });
  } catch (error) {
    if (isDockerApiError(error) && error.reason === 'notFound') return;
    throw error;
  }
}

/** Kills a container (kept, stopped: `autoRemove: false`); one already stopped or gone is fine. */
export async function killContainer(docker: DockerClient, id: string): Promise<void> {
  try {
    await docker.containers.kill(id, { signal: AbortSignal.timeout(60_000) });
  } catch (error) {
    if (isDockerApiError(error) && (error.reason === 'notFound' || error.reason === 'conflict')) return;
    throw error;
  }
}

/** Runs `initCommand` with `sh -c` in `/workspace`. @throws ExecutorError with its output when it fails. */
export async function runInitCommand(
  docker: DockerClient,
  id: string,
  command: string,
  env: string[],
  user: string | undefined,
  timeoutSeconds: number,
  signal: AbortSignal,
): Promise<void> {
  const result = await docker.exec.run(id, ['sh', '-c', command], {
    workingDir: '/workspace',
    env,
    ...(user !== undefined ? { user } : {}),
    signal: AbortSignal.any([signal, AbortSignal.timeout(Math.max(timeoutSeconds, 60) * 1000)]),
  });
  if (result.exitCode !== 0) {
    const output = (result.stdout + result.stderr).trim();
    throw new ExecutorError(`Init command failed with exit code ${result.exitCode}: ${command}${output ? `\n${output}` : ''}`, { output });
  }
}

/**
 * Podman's Docker-compatible API (4.x) accepts `HostConfig.DeviceRequests` and drops it: the
 * container would start without its GPUs. Fail clearly instead when the created container has none.
 */
export async function checkDeviceRequestsKept(docker: DockerClient, id: string, signal: AbortSignal): Promise<void> {
  const info = await docker.containers.inspect(id, { signal });
  if (info.HostConfig?.DeviceRequests?.length) return;
  throw new ExecutorError(
    "deviceRequests: the engine accepted the device requests but dropped them (Podman's Docker-compatible API does not support HostConfig.DeviceRequests; " +
      'on Podman, GPUs are given through CDI devices, e.g. podman run --device nvidia.com/gpu=all). Use dockerd with the NVIDIA Container Toolkit for deviceRequests.',
  );
}

/**
 * After a block failed on the engine's side: whether the container died (`dead` says why) and the
 * note for the output. @throws DockerConnectionError when the engine is gone.
 */
export async function diagnoseFailure(docker: DockerClient, id: string, failure: unknown): Promise<{ note: string; dead?: string }> {
  const plain = { note: `\n${(failure as Error).message}` };
  try {
    const info = await docker.containers.inspect(id, { signal: AbortSignal.timeout(5000) });
    if (info.State.Running) return plain;
    const why = `exit code ${info.State.ExitCode}${info.State.OOMKilled ? ', killed for lack of memory (OOM)' : ''}`;
    return { note: `\nThe container died while the code ran (${why}). Call restart() to continue.`, dead: why };
  } catch (error) {
    if (isDockerApiError(error) && error.reason === 'notFound') {
      return {
        note: '\nThe container died while the code ran and was removed. Call restart() to continue.',
        dead: 'the container is gone',
      };
    }
    if (isDockerConnectionError(error)) throw error;
    return plain;
  }
}
