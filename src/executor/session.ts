/**
 * What one started executor has made: the engine client (when it made its own), the workspace,
 * the container and its block backend; how they are made, restarted and removed (the hooks of
 * {@link Lifecycle}), and how one block runs in them. The public class wires it to the lifecycle.
 *
 * @module
 */

import { existsSync } from 'node:fs';
import { rm } from 'node:fs/promises';
import { hostname } from 'node:os';
import { DockerClient, isDockerApiError, isDockerConnectionError } from '../engine/index.js';
import { type BlockBackend, openBlockBackend } from './block-backend.js';
import {
  checkDeviceRequestsKept,
  connect,
  createAndStart,
  diagnoseFailure,
  ensureImage,
  killContainer,
  removeContainer,
  removeOwnStray,
  restartInPlace,
  runInitCommand,
} from './container.js';
import { buildContainerSpec, codeEnv, codeUser, sandboxOf } from './container-spec.js';
import { ExecutorError } from './errors.js';
import type { OutputBudget } from './execute.js';
import { NOT_RUNNING } from './lifecycle.js';
import type { ResolvedOptions } from './options.js';
import type { BlockOutcome } from './run-block.js';
import type { ExecuteOptions } from './types.js';
import { chooseWorkspaceMode, openWorkspace, type Workspace } from './workspace.js';

/** See the module's comment. */
export class Session {
  readonly #o: ResolvedOptions;
  readonly #containerName: string;
  readonly #instanceId: string;
  #docker: DockerClient | undefined;
  #ownsDocker = false;
  /** A temp workspace folder as soon as it exists (before the workspace object does). */
  #tempDir: string | undefined;
  #workspace: Workspace | undefined;
  #containerId: string | undefined;
  #backend: BlockBackend | undefined;
  /** False while the functions module is not (yet) in this container: set up by the next call. */
  functionsReady = false;

  constructor(options: ResolvedOptions, containerName: string, instanceId: string) {
    this.#o = options;
    this.#containerName = containerName;
    this.#instanceId = instanceId;
    if (options.raw.docker) this.#docker = options.raw.docker;
  }

  /** The workspace, once `bringUp` made it. */
  get workspace(): Workspace | undefined {
    return this.#workspace;
  }

  /** The container's ID, once created. */
  get containerId(): string | undefined {
    return this.#containerId;
  }

  #client(): DockerClient {
    if (!this.#docker) {
      this.#docker = new DockerClient();
      this.#ownsDocker = true;
    }
    return this.#docker;
  }

  /** Makes everything: connects, opens the workspace, makes the image available, creates the container. Each thing is recorded as soon as it exists, for {@link Session.tearDown}. */
  async bringUp(signal: AbortSignal): Promise<void> {
    const docker = this.#client();
    const raw = this.#o.raw;
    await connect(docker, signal);
    const mode = await chooseWorkspaceMode(docker, raw.workspace, raw.workDir);
    signal.throwIfAborted();
    this.#workspace = await openWorkspace({
      mode,
      workDir: raw.workDir,
      bindDir: raw.bindDir,
      user: codeUser(raw),
      onTemp: (dir) => {
        this.#tempDir = dir;
      },
    });
    for (const host of Object.keys(raw.extraVolumes ?? {})) {
      // The engine would silently create a missing bind source as an empty root-owned folder.
      if (!existsSync(host)) throw new ExecutorError(`extraVolumes: host path ${host} does not exist`);
    }
    await ensureImage(docker, this.#o.image, raw.pullPolicy ?? 'missing', raw.onPullProgress, signal);
    await this.#makeContainer(docker, signal);
  }

  /** Creates and starts a fresh container, then readies it. */
  async #makeContainer(docker: DockerClient, signal: AbortSignal): Promise<void> {
    const workspace = this.#workspace as Workspace;
    await removeOwnStray(docker, this.#containerName, signal);
    const ownerLabels = { 'berth.executor.id': this.#instanceId, 'berth.host.pid': String(process.pid), 'berth.host.name': hostname() };
    const spec = (init: 'engine' | 'own') =>
      buildContainerSpec({
        options: this.#o.raw,
        image: this.#o.image,
        workspace: workspace.mounts,
        ownerLabels,
        init,
      });
    const id = await createAndStart(docker, spec, this.#containerName, signal, (created) => {
      this.#containerId = created;
    });
    if (this.#o.raw.deviceRequests?.length) await checkDeviceRequestsKept(docker, id, signal);
    // A fresh container has no functions module (copy mode) and none of their packages.
    this.functionsReady = this.#o.functions.length === 0;
    await this.#ready(docker, id, signal);
  }

  /** After each (re)start: the workspace, the init command, the block backend. */
  async #ready(docker: DockerClient, id: string, signal: AbortSignal): Promise<void> {
    await this.#workspace?.prepare({ docker, id });
    const raw = this.#o.raw;
    if (raw.initCommand) await runInitCommand(docker, id, raw.initCommand, codeEnv(raw), raw.user, this.#o.timeout, signal);
    signal.throwIfAborted();
    this.#backend = await openBlockBackend(docker, id, { env: codeEnv(raw), user: codeUser(raw), image: this.#o.image });
  }

  /** Restarts the container in place, or makes a fresh one when it is gone; the backend is disposed first and opened again. */
  async restart(signal: AbortSignal): Promise<void> {
    const docker = this.#client();
    const backend = this.#backend;
    this.#backend = undefined;
    await backend?.dispose();
    const id = this.#containerId;
    if (id && (await restartInPlace(docker, id, this.#o.image, signal))) {
      try {
        await this.#ready(docker, id, signal);
      } catch (error) {
        if (signal.aborted) throw error;
        throw new ExecutorError(`Failed to restart container. Logs: ${(error as Error).message}`, { cause: error });
      }
      return;
    }
    // The container is gone (someone removed it): make a new one.
    this.#containerId = undefined;
    await this.#makeContainer(docker, signal);
  }

  /** Removes the container (kills it when `autoRemove` is false), the temp workspace and our own client. */
  async tearDown(): Promise<void> {
    const backend = this.#backend;
    const id = this.#containerId;
    const docker = this.#docker;
    const workspace = this.#workspace;
    const tempDir = this.#tempDir;
    this.#backend = undefined;
    this.#containerId = undefined;
    this.#workspace = undefined;
    this.#tempDir = undefined;
    try {
      await backend?.dispose();
      await workspace?.dispose();
      if (id && docker) await (this.#o.autoRemove ? removeContainer(docker, id) : killContainer(docker, id));
    } finally {
      // Even when the engine refused, the temp workspace and our client go: nothing leaks here.
      if (tempDir) await rm(tempDir, { recursive: true, force: true, maxRetries: 3 }).catch(() => {});
      if (this.#ownsDocker && docker) {
        this.#docker = undefined;
        this.#ownsDocker = false;
        await docker.close();
      }
    }
  }

  /** Runs one block file with the current backend; an engine failure before the block started becomes the outcome's `failure`. */
  async run(
    language: string,
    file: string,
    signal: AbortSignal,
    budget: OutputBudget,
    options: ExecuteOptions,
    timeout = this.#o.timeout,
  ): Promise<BlockOutcome> {
    const docker = this.#client();
    const raw = this.#o.raw;
    const ctx = {
      docker,
      containerId: this.#containerId as string,
      env: codeEnv(raw),
      user: codeUser(raw),
      timeout,
      budget,
      onOutput: options.onOutput,
      reapAfterBlock: sandboxOf(raw) !== undefined,
    };
    try {
      if (!this.#backend) throw new ExecutorError(NOT_RUNNING);
      return await this.#backend.run(ctx, language, file, signal);
    } catch (error) {
      if (!isDockerConnectionError(error) && !isDockerApiError(error)) throw error;
      // The container or the engine went away before the block even started.
      const cancelled = signal.aborted;
      return {
        exitCode: 1,
        output: '',
        stdout: '',
        stderr: '',
        timedOut: false,
        cancelled,
        truncated: false,
        failure: error,
        needsReset: false,
      };
    }
  }

  /** After a block failed on the engine's side, finds out whether the container died, and says so. */
  async diagnose(failure: unknown, markDead: (why: string) => void): Promise<string> {
    const id = this.#containerId;
    const docker = this.#docker;
    if (!id || !docker) return `\n${(failure as Error).message}`;
    try {
      const { note, dead } = await diagnoseFailure(docker, id, failure);
      if (dead) markDead(dead);
      return note;
    } catch (error) {
      if (isDockerConnectionError(error)) markDead('the engine is unreachable');
      throw error;
    }
  }
}
