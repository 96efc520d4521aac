import { randomUUID } from 'node:crypto';
import { existsSync, mkdirSync } from 'node:fs';
import { chmod, chown, mkdir, mkdtemp, realpath, rm, stat, unlink } from 'node:fs/promises';
import { hostname, tmpdir } from 'node:os';
import { dirname, isAbsolute, join, resolve } from 'node:path';
import {
  type ContainerCreateBody,
  type DeviceRequest,
  DockerClient,
  DockerConnectionError,
  type HostConfig,
  isDockerApiError,
  isDockerConnectionError,
} from '../engine/index.js';
import {
  declaredFilename,
  defaultFilename,
  languageSpec,
  normaliseLanguage,
  OutsideWorkspaceError,
  resolveInWorkspace,
  SUPPORTED_LANGUAGES,
  silencePip,
} from './blocks.js';
import { type CancellationLike, signalOf } from './cancellation.js';
import { type ComponentModel, type DockerCommandLineCodeExecutorConfig, fromComponent, toComponent } from './config.js';
import { ExecutorError } from './errors.js';
import { registerExitHook } from './exit-hooks.js';
import {
  buildFunctionsModule,
  FUNCTION_PROMPT_TEMPLATE,
  type FunctionWithRequirements,
  formatFunctionsForPrompt,
  isValidModuleName,
  requiredPackages,
} from './functions.js';
import { readRegularFile, writeRegularFile } from './host-files.js';
import { type BlockOutcome, runBlock } from './run-block.js';
import type {
  CodeBlock,
  CommandLineCodeResult,
  DockerCommandLineCodeExecutorOptions,
  ExecuteOptions,
  SandboxOptions,
  VolumeBinding,
  WorkspaceMode,
} from './types.js';

/** Label on every container an executor creates (value `1`); `berth prune` finds strays by it. */
export const EXECUTOR_LABEL = 'berth.executor';
/** Default cap of output kept per call and stream, in bytes (1 MiB). */
export const DEFAULT_MAX_OUTPUT_BYTES = 1024 * 1024;
/** Default pids limit: a fork bomb stays inside the container. */
export const DEFAULT_PIDS_LIMIT = 4096;

const CONTAINER_PREFIX = 'autogen-code-exec-';
const NOT_RUNNING = 'Container is not running. Must first be started with either start or a context manager.';

/** What the executor needs to know about an engine, asked once per client (`GET /info`). */
interface EngineFacts {
  /** `SecurityOptions`: `name=rootless`, `name=userns`, … */
  security: readonly string[];
  /** Podman's Docker-compatible API (its /info carries `BuildahVersion`). */
  podman: boolean;
}
const factsCache = new WeakMap<DockerClient, Promise<EngineFacts>>();
function engineFacts(docker: DockerClient): Promise<EngineFacts> {
  let known = factsCache.get(docker);
  if (!known) {
    // An engine that will not say (a socket proxy refusing /info) is taken as a dockerd without
    // user namespaces, and asked again next time.
    known = docker.system.info({ signal: AbortSignal.timeout(30_000) }).then(
      (info) => ({ security: info.SecurityOptions ?? [], podman: 'BuildahVersion' in info }),
      () => {
        factsCache.delete(docker);
        return { security: [], podman: false };
      },
    );
    factsCache.set(docker, known);
  }
  return known;
}

/** The longest timeout a timer can hold: 2^31-1 ms, in whole seconds. */
const MAX_TIMEOUT_SECONDS = 2_147_483;

/**
 * Whether a failed restart means the auto-remove container is gone or on its way out: dockerd
 * says 404 or "marked for removal" / "removal in progress"; Podman, whose restart lets its cleanup
 * process remove an auto-remove container between the stop and the start, says 500 "container has
 * already been removed".
 */
function containerGone(error: unknown): boolean {
  return (
    isDockerApiError(error) &&
    (error.reason === 'notFound' || /marked for removal|removal .*in progress|already been removed/i.test(error.daemonMessage))
  );
}

/**
 * Removes a container (force), and makes sure it is gone when the engine answers that its removal
 * is already under way. After the restart race (see `#removalPending`) dockerd's own removal waits
 * up to 10 s on a kill that went to the previous process while the container runs on: a kill
 * ends that wait, and the removal finishes at once.
 */
async function removeContainer(docker: DockerClient, id: string): Promise<void> {
  try {
    await docker.containers.remove(id, { force: true, volumes: true });
    return;
  } catch (error) {
    if (isDockerApiError(error) && error.reason === 'notFound') return;
    if (!(isDockerApiError(error) && error.reason === 'conflict')) throw error;
  }
  await docker.containers.kill(id).catch(() => {});
  await docker.containers.wait(id, { condition: 'removed', signal: AbortSignal.timeout(10_000) }).catch(() => {});
  await docker.containers.remove(id, { force: true, volumes: true }).catch(() => {});
}

/**
 * Runs code blocks in one long-lived Docker container: a TypeScript port of autogen-ext's
 * `DockerCommandLineCodeExecutor`, with the same options, results and messages, and its bugs
 * fixed: cancellation and timeouts really kill the process tree, `stop()` is fast, `start()` is
 * idempotent, nothing leaks, bad input gets a clear error.
 *
 * Calls of {@link DockerCommandLineCodeExecutor.executeCodeBlocks} on one executor run **in turn**
 * (a queue), never in parallel: blocks share one workspace, and kills are scoped to one run.
 *
 * @example
 * ```ts
 * await using executor = new DockerCommandLineCodeExecutor({ timeout: 30 });
 * await executor.start();
 * const result = await executor.executeCodeBlocks([{ language: 'python', code: "print('hi')" }]);
 * ```
 */
export class DockerCommandLineCodeExecutor {
  /** Languages autogen lists as supported. */
  static readonly SUPPORTED_LANGUAGES: readonly string[] = SUPPORTED_LANGUAGES;
  /** The prompt template of autogen, with `$module_name` and `$functions`. */
  static readonly FUNCTION_PROMPT_TEMPLATE: string = FUNCTION_PROMPT_TEMPLATE;

  readonly #image: string;
  readonly #containerName: string;
  readonly #generatedName: boolean;
  readonly #timeout: number;
  readonly #userWorkDir: string | undefined;
  readonly #userBindDir: string | undefined;
  readonly #autoRemove: boolean;
  readonly #stopContainer: boolean;
  readonly #deviceRequests: DeviceRequest[] | undefined;
  readonly #functions: readonly FunctionWithRequirements[];
  readonly #functionsModule: string;
  readonly #extraVolumes: Record<string, VolumeBinding>;
  readonly #extraHosts: Record<string, string>;
  readonly #initCommand: string | undefined;
  readonly #deleteTmpFiles: boolean;
  readonly #options: DockerCommandLineCodeExecutorOptions;
  readonly #maxOutputBytes: number;
  readonly #instanceId = randomUUID();

  #docker: DockerClient | undefined;
  #ownsDocker = false;
  #tempDir: string | undefined;
  #containerId: string | undefined;
  #running = false;
  #dead: string | undefined;
  #functionsReady: boolean;
  #lifecycle: Promise<unknown> = Promise.resolve();
  #queue: Promise<unknown> = Promise.resolve();
  #runs = new Set<AbortController>();
  #unregisterExit: (() => void) | undefined;
  #mode: WorkspaceMode = 'bind';
  /** The interpreters found in the current container, by language (see runBlock); emptied on every (re)start. */
  readonly #interpreters = new Map<string, string>();

  /**
   * Validates the options (nothing touches the engine until `start()`).
   * @throws ExecutorError `Timeout must be greater than or equal to 1.`, `Module name must be a valid Python identifier`, and others naming the bad option.
   */
  constructor(options: DockerCommandLineCodeExecutorOptions = {}) {
    if (typeof options !== 'object' || options === null) throw new ExecutorError('options must be an object');
    const timeout = options.timeout ?? 60;
    if (typeof timeout !== 'number' || Number.isNaN(timeout))
      throw new ExecutorError(
        `timeout must be a number of seconds, got ${typeof timeout === 'number' ? timeout : JSON.stringify(timeout)}`,
      );
    if (timeout < 1) throw new ExecutorError('Timeout must be greater than or equal to 1.');
    if (!Number.isFinite(timeout)) throw new ExecutorError('timeout must be finite');
    // Timers hold at most 2^31-1 ms; a longer one fires at once (Node's TimeoutOverflowWarning).
    if (timeout > MAX_TIMEOUT_SECONDS)
      throw new ExecutorError(`timeout must be at most ${MAX_TIMEOUT_SECONDS} seconds (about 24 days), got ${timeout}`);
    const functionsModule = options.functionsModule ?? 'functions';
    if (typeof functionsModule !== 'string' || !isValidModuleName(functionsModule))
      throw new ExecutorError('Module name must be a valid Python identifier');
    const image = options.image ?? 'python:3-slim';
    if (typeof image !== 'string' || image.trim() === '') throw new ExecutorError(`image must name an image, got ${JSON.stringify(image)}`);
    if (options.containerName !== undefined && !/^[a-zA-Z0-9][a-zA-Z0-9_.-]*$/.test(options.containerName)) {
      throw new ExecutorError(
        `containerName ${JSON.stringify(options.containerName)} is not a valid container name ([a-zA-Z0-9][a-zA-Z0-9_.-]*)`,
      );
    }
    const maxOutputBytes = options.maxOutputBytes ?? DEFAULT_MAX_OUTPUT_BYTES;
    if (!Number.isInteger(maxOutputBytes) || maxOutputBytes < 0)
      throw new ExecutorError(`maxOutputBytes must be a non-negative integer, got ${maxOutputBytes}`);
    for (const [host, binding] of Object.entries(options.extraVolumes ?? {})) {
      if (!isAbsolute(host)) throw new ExecutorError(`extraVolumes: host path ${JSON.stringify(host)} must be absolute`);
      if (!binding || typeof binding.bind !== 'string' || !binding.bind.startsWith('/')) {
        throw new ExecutorError(`extraVolumes[${JSON.stringify(host)}].bind must be an absolute container path`);
      }
      if (binding.mode !== undefined && binding.mode !== 'rw' && binding.mode !== 'ro') {
        throw new ExecutorError(`extraVolumes[${JSON.stringify(host)}].mode must be 'rw' or 'ro', got ${JSON.stringify(binding.mode)}`);
      }
    }
    for (const [name, ip] of Object.entries(options.extraHosts ?? {})) {
      if (!name || /[\s:]/.test(name) || typeof ip !== 'string' || ip === '')
        throw new ExecutorError(`extraHosts: bad entry ${JSON.stringify(name)}: ${JSON.stringify(ip)}`);
    }
    if (options.workspace !== undefined && options.workspace !== 'bind' && options.workspace !== 'copy') {
      throw new ExecutorError(`workspace must be 'bind' or 'copy', got ${JSON.stringify(options.workspace)}`);
    }
    if (options.pullPolicy !== undefined && !['missing', 'always', 'never'].includes(options.pullPolicy)) {
      throw new ExecutorError(`pullPolicy must be 'missing', 'always' or 'never', got ${JSON.stringify(options.pullPolicy)}`);
    }

    if (options.workDir !== undefined) {
      if (typeof options.workDir !== 'string' || options.workDir === '') throw new ExecutorError('workDir must be a non-empty path');
      if (resolve(options.workDir) === resolve(process.cwd())) {
        process.emitWarning('Using the current directory as work_dir is deprecated.', 'DeprecationWarning');
      }
      mkdirSync(options.workDir, { recursive: true });
    }
    this.#options = options;
    this.#image = image;
    this.#generatedName = options.containerName === undefined;
    this.#containerName = options.containerName ?? `${CONTAINER_PREFIX}${randomUUID()}`;
    this.#timeout = timeout;
    this.#userWorkDir = options.workDir;
    this.#userBindDir = options.bindDir ?? options.workDir;
    this.#autoRemove = options.autoRemove ?? true;
    this.#stopContainer = options.stopContainer ?? true;
    this.#deviceRequests = options.deviceRequests?.map((request) => ({
      Driver: request.driver ?? '',
      Count: request.count ?? (request.deviceIds?.length ? 0 : -1),
      ...(request.deviceIds ? { DeviceIDs: request.deviceIds } : {}),
      Capabilities: request.capabilities ?? [['gpu']],
      Options: request.options ?? {},
    }));
    this.#functions = [...(options.functions ?? [])];
    this.#functionsModule = functionsModule;
    this.#extraVolumes = { ...options.extraVolumes };
    this.#extraHosts = { ...options.extraHosts };
    this.#initCommand = options.initCommand;
    this.#deleteTmpFiles = options.deleteTmpFiles ?? false;
    this.#maxOutputBytes = maxOutputBytes;
    this.#functionsReady = this.#functions.length === 0;
    if (options.docker) this.#docker = options.docker;
  }

  /** Seconds a code block may run. */
  get timeout(): number {
    return this.#timeout;
  }

  /**
   * The host folder code files are written to.
   * @throws ExecutorError `Working directory not properly initialized` before `start()` when no `workDir` was given.
   */
  get workDir(): string {
    if (this.#userWorkDir !== undefined) return this.#userWorkDir;
    if (this.#tempDir !== undefined) return this.#tempDir;
    throw new ExecutorError('Working directory not properly initialized');
  }

  /** The host folder mounted at `/workspace` (`bindDir`, else `workDir`). */
  get bindDir(): string {
    return this.#userBindDir ?? this.workDir;
  }

  /** The container's name. */
  get containerName(): string {
    return this.#containerName;
  }

  /** The container's ID while started. */
  get containerId(): string | undefined {
    return this.#containerId;
  }

  /** True between a successful `start()` and `stop()`. */
  get isRunning(): boolean {
    return this.#running;
  }

  /** The functions module name. */
  get functionsModule(): string {
    return this.#functionsModule;
  }

  /** The user-defined functions. */
  get functions(): readonly FunctionWithRequirements[] {
    return this.#functions;
  }

  /** Fills {@link DockerCommandLineCodeExecutor.FUNCTION_PROMPT_TEMPLATE} (or `template`) with stubs of the functions. */
  formatFunctionsForPrompt(template: string = FUNCTION_PROMPT_TEMPLATE): string {
    return formatFunctionsForPrompt(this.#functions, this.#functionsModule, template);
  }

  #serialise<T>(task: () => Promise<T>): Promise<T> {
    const next = this.#lifecycle.then(task, task);
    this.#lifecycle = next.catch(() => {});
    return next;
  }

  #client(): DockerClient {
    if (!this.#docker) {
      this.#docker = new DockerClient();
      this.#ownsDocker = true;
    }
    return this.#docker;
  }

  /**
   * Starts the executor: finds (or pulls) the image, creates and starts one labelled container
   * with the workspace at `/workspace`, waits until it runs and runs `initCommand`. Does nothing
   * when already running. A start that fails half-way removes what it created.
   */
  start(): Promise<void> {
    return this.#serialise(async () => {
      if (this.#running) return;
      await this.#startFresh();
    });
  }

  async #startFresh(): Promise<void> {
    let createdTemp = false;
    let createdId: string | undefined;
    try {
      if (this.#userWorkDir === undefined && this.#tempDir === undefined) {
        this.#tempDir = await realpath(await mkdtemp(join(tmpdir(), 'berth-')));
        createdTemp = true;
      }
      if (createdTemp) await this.#shareWorkspace(this.#tempDir as string);
      const docker = this.#client();
      await this.#connect(docker);
      this.#mode = await this.#chooseMode(docker);
      await this.#ensureImage(docker);
      await this.#removeOwnStray(docker);
      const { Id } = await docker.containers.create(this.#createBody(), { name: this.#containerName }).catch((error: unknown) => {
        throw this.#mapStartError(error);
      });
      createdId = Id;
      this.#containerId = Id;
      this.#interpreters.clear();
      try {
        await docker.containers.start(Id);
      } catch (error) {
        throw this.#mapStartError(error);
      }
      await this.#waitRunning(docker, Id);
      if (this.#deviceRequests?.length) await this.#checkDeviceRequestsKept(docker, Id);
      if (this.#mode === 'copy') await this.#prepareCopiedWorkspace(docker, Id);
      this.#dead = undefined;
      this.#running = true;
      await this.#runInit(docker, Id);
      if (this.#stopContainer && !this.#unregisterExit) this.#unregisterExit = registerExitHook(() => this.stop());
    } catch (error) {
      this.#running = false;
      this.#containerId = undefined;
      if (createdId) await this.#docker?.containers.remove(createdId, { force: true, volumes: true }).catch(() => {});
      if (createdTemp && this.#tempDir) {
        await rm(this.#tempDir, { recursive: true, force: true }).catch(() => {});
        this.#tempDir = undefined;
      }
      throw error;
    }
  }

  /** The code's user, when it is not the image's (root): the `user` option, or the sandbox's. */
  #codeUser(): string | undefined {
    const sandbox = this.#options.sandbox;
    return this.#options.user ?? (sandbox ? ((sandbox === true ? undefined : sandbox.user) ?? '65534:65534') : undefined);
  }

  /**
   * Lets a non-root code user write into the temp workspace (mkdtemp makes it 0700): chown it to
   * that user when we are root and the user is numeric, otherwise open it up (0777).
   */
  async #shareWorkspace(dir: string): Promise<void> {
    const user = this.#codeUser();
    if (user === undefined) return;
    const numeric = /^(\d+)(?::(\d+))?$/.exec(user);
    if (numeric && process.getuid?.() === 0) await chown(dir, Number(numeric[1]), Number(numeric[2] ?? numeric[1]));
    else await chmod(dir, 0o777);
  }

  async #connect(docker: DockerClient): Promise<void> {
    try {
      await docker.system.ping({ signal: AbortSignal.timeout(30_000) });
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

  async #ensureImage(docker: DockerClient): Promise<void> {
    const policy = this.#options.pullPolicy ?? 'missing';
    let present = true;
    if (policy !== 'always') {
      try {
        await docker.images.inspect(this.#image);
      } catch (error) {
        if (!isDockerApiError(error) || error.reason !== 'notFound') throw error;
        present = false;
      }
    }
    if (present && policy !== 'always') return;
    if (policy === 'never') throw new ExecutorError(`image ${this.#image} is not on the engine and pullPolicy is 'never'`);
    try {
      await docker.images.pull(this.#image, { onProgress: this.#options.onPullProgress });
    } catch (error) {
      let where = 'the engine';
      try {
        where = `the engine at ${docker.describe().address}`;
      } catch {}
      throw new ExecutorError(`Failed to pull image ${this.#image} on ${where}: ${(error as Error).message}`, { cause: error });
    }
  }

  /** Autogen force-removes any container with the name; Berth removes only its own (labelled) ones. */
  async #removeOwnStray(docker: DockerClient): Promise<void> {
    try {
      const existing = await docker.containers.inspect(this.#containerName);
      if (existing.Config?.Labels?.[EXECUTOR_LABEL] === undefined) {
        throw new ExecutorError(
          `a container named ${this.#containerName} exists and was not created by Berth; choose another containerName`,
        );
      }
      await docker.containers.remove(existing.Id, { force: true });
    } catch (error) {
      if (isDockerApiError(error) && error.reason === 'notFound') return;
      throw error;
    }
  }

  #createBody(): ContainerCreateBody {
    const opts = this.#options;
    const sandbox: SandboxOptions | undefined = opts.sandbox === true ? {} : opts.sandbox === false ? undefined : opts.sandbox;
    for (const host of Object.keys(this.#extraVolumes)) {
      // The engine would silently create a missing bind source as an empty root-owned folder.
      if (!existsSync(host)) throw new ExecutorError(`extraVolumes: host path ${host} does not exist`);
    }
    const binds = this.#mode === 'bind' ? [`${resolve(this.bindDir)}:/workspace:rw`] : [];
    for (const [host, binding] of Object.entries(this.#extraVolumes)) binds.push(`${host}:${binding.bind}:${binding.mode ?? 'rw'}`);
    const hostConfig: HostConfig = {
      Binds: binds,
      AutoRemove: this.#autoRemove,
      // An init process as PID 1 reaps zombies and makes the container stop at once.
      Init: true,
      PidsLimit: sandbox?.pidsLimit ?? opts.pidsLimit ?? (sandbox ? 128 : DEFAULT_PIDS_LIMIT),
      SecurityOpt: ['no-new-privileges'],
      // No device nodes: in a bind-mounted workspace one would be a door to this machine's disks
      // for whatever reads the folder here (Podman leaves MKNOD out of its defaults too).
      CapDrop: ['MKNOD'],
    };
    if (Object.keys(this.#extraHosts).length) hostConfig.ExtraHosts = Object.entries(this.#extraHosts).map(([h, ip]) => `${h}:${ip}`);
    if (this.#deviceRequests) hostConfig.DeviceRequests = this.#deviceRequests;
    const networkMode = opts.networkMode ?? sandbox?.networkMode ?? (sandbox ? 'none' : undefined);
    if (networkMode) hostConfig.NetworkMode = networkMode;
    const memory = opts.memoryBytes ?? sandbox?.memoryBytes ?? (sandbox ? 512 * 1024 * 1024 : undefined);
    if (memory !== undefined) {
      hostConfig.Memory = memory;
      hostConfig.MemorySwap = memory;
    }
    const cpus = opts.cpus ?? sandbox?.cpus ?? (sandbox ? 1 : undefined);
    if (cpus !== undefined) hostConfig.NanoCpus = Math.round(cpus * 1e9);
    if (sandbox) {
      hostConfig.CapDrop = ['ALL'];
      hostConfig.ReadonlyRootfs = true;
      hostConfig.Tmpfs = { '/tmp': `rw,nosuid,nodev,size=${sandbox.tmpSize ?? '64m'}` };
    }
    const user = this.#codeUser();
    const env = ['PYTHONUNBUFFERED=1', ...Object.entries(opts.environment ?? {}).map(([k, v]) => `${k}=${v}`)];
    return {
      Image: this.#image,
      // In copy mode the workspace is an anonymous volume: writable even on a read-only root, and
      // removed with the container.
      ...(this.#mode === 'copy' ? { Volumes: { '/workspace': {} } } : {}),
      Entrypoint: ['/bin/sh'],
      Tty: true,
      OpenStdin: false,
      WorkingDir: '/workspace',
      Env: env,
      ...(user !== undefined ? { User: user } : {}),
      Labels: {
        ...opts.labels,
        [EXECUTOR_LABEL]: '1',
        'berth.executor.id': this.#instanceId,
        'berth.host.pid': String(process.pid),
        'berth.host.name': hostname(),
      },
      HostConfig: hostConfig,
    };
  }

  /**
   * Podman's Docker-compatible API (4.x) accepts `HostConfig.DeviceRequests` and drops it: the
   * container would start without its GPUs. Fail clearly instead when the created container has none.
   */
  async #checkDeviceRequestsKept(docker: DockerClient, id: string): Promise<void> {
    const info = await docker.containers.inspect(id);
    if (info.HostConfig?.DeviceRequests?.length) return;
    throw new ExecutorError(
      "deviceRequests: the engine accepted the device requests but dropped them (Podman's Docker-compatible API does not support HostConfig.DeviceRequests; " +
        'on Podman, GPUs are given through CDI devices, e.g. podman run --device nvidia.com/gpu=all). Use dockerd with the NVIDIA Container Toolkit for deviceRequests.',
    );
  }

  /**
   * `workspace`, or: `copy` for an engine that is not on this machine (its bind mounts would be of
   * its own folders), and for Berth's own temp workspace when the engine maps the container's users
   * to other host users (userns-remap, or a rootless engine run by another user than this process):
   * the container's root could not enter a 0700 folder this process owns. Else `bind`.
   */
  async #chooseMode(docker: DockerClient): Promise<WorkspaceMode> {
    if (this.#options.workspace) return this.#options.workspace;
    if (!docker.isLocal()) return 'copy';
    if (this.#userWorkDir !== undefined) return 'bind';
    const { security } = await engineFacts(docker);
    if (security.some((o) => /^name=userns(,|$)/.test(o))) return 'copy';
    if (security.some((o) => /^name=rootless(,|$)/.test(o))) {
      const socket = docker.describe().address.slice('unix://'.length);
      const owner = await stat(socket).then(
        (s) => s.uid,
        () => undefined,
      );
      if (owner !== process.getuid?.()) return 'copy';
    }
    return 'bind';
  }

  #mapStartError(error: unknown): unknown {
    if (isDockerApiError(error) && /chdir to cwd \("\/workspace"\).*permission denied/.test(error.daemonMessage)) {
      return new ExecutorError(
        `The container's user cannot enter the workspace folder ${this.#userWorkDir ?? this.#tempDir ?? ''} on this machine: the engine maps container users to other host users (a rootless engine run by another user, or userns-remap). Use workspace: 'copy', or a workDir that the engine's user can enter and write. The engine said: ${error.daemonMessage}`,
        { cause: error },
      );
    }
    // Podman refuses HostConfig.Init at create without its init binary (catatonit is only a Recommends of Debian's podman).
    if (isDockerApiError(error) && /container-init binary not found/.test(error.daemonMessage)) {
      return new ExecutorError(
        `The executor runs its container with an init process (HostConfig.Init) and the engine has no init binary: on Podman, install catatonit (apt-get install catatonit) or set init_path in containers.conf. The engine said: ${error.daemonMessage}`,
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

  async #waitRunning(docker: DockerClient, id: string): Promise<void> {
    const deadline = Date.now() + 60_000;
    for (let delay = 5; ; delay = Math.min(delay * 2, 100)) {
      let info: Awaited<ReturnType<DockerClient['containers']['inspect']>>;
      try {
        info = await docker.containers.inspect(id);
      } catch (error) {
        if (isDockerApiError(error) && error.reason === 'notFound') {
          throw new ExecutorError(`Failed to start container from image ${this.#image}. Logs: (the container exited and was removed)`, {
            cause: error,
          });
        }
        throw error;
      }
      const status = info.State.Status;
      if (status === 'running') return;
      if (status === 'exited' || status === 'dead' || status === 'stopped') {
        const logs = await this.#logs(docker, id);
        throw new ExecutorError(`Failed to start container from image ${this.#image}. Logs: ${logs}`);
      }
      if (Date.now() > deadline) throw new ExecutorError('Container failed to start');
      await new Promise((done) => setTimeout(done, delay));
    }
  }

  async #logs(docker: DockerClient, id: string): Promise<string> {
    try {
      let text = '';
      for await (const frame of await docker.containers.logs(id, { tty: true, tail: 100 })) text += new TextDecoder().decode(frame.data);
      return text.trim();
    } catch {
      return '(no logs)';
    }
  }

  async #runInit(docker: DockerClient, id: string): Promise<void> {
    if (!this.#initCommand) return;
    const result = await docker.exec.run(id, ['sh', '-c', this.#initCommand], {
      workingDir: '/workspace',
      env: ['PYTHONUNBUFFERED=1', ...Object.entries(this.#options.environment ?? {}).map(([k, v]) => `${k}=${v}`)],
      ...(this.#options.user !== undefined ? { user: this.#options.user } : {}),
      signal: AbortSignal.timeout(Math.max(this.#timeout, 60) * 1000),
    });
    if (result.exitCode !== 0) {
      const output = (result.stdout + result.stderr).trim();
      throw new ExecutorError(`Init command failed with exit code ${result.exitCode}: ${this.#initCommand}${output ? `\n${output}` : ''}`, {
        output,
      });
    }
  }

  /**
   * Restarts the container: cancels running executions, restarts it, waits until it runs and
   * re-runs `initCommand`. Files in the workspace survive.
   * @throws ExecutorError `Container is not running…` when not started.
   */
  restart(): Promise<void> {
    return this.#serialise(async () => {
      if (!this.#running && !this.#dead) throw new ExecutorError(NOT_RUNNING);
      const docker = this.#client();
      this.#cancelRuns();
      const id = this.#containerId;
      const restarted = id ? await this.#restartInPlace(docker, id) : false;
      if (!restarted) {
        // The container is gone (auto-removed after it died, or the engine's restart race): make a new one.
        if (id) await removeContainer(docker, id).catch(() => {});
        this.#running = false;
        this.#containerId = undefined;
        await this.#startFresh();
        return;
      }
      this.#dead = undefined;
      this.#running = true;
      try {
        await this.#runInit(docker, id as string);
      } catch (error) {
        throw new ExecutorError(`Failed to restart container. Logs: ${(error as Error).message}`, { cause: error });
      }
    });
  }

  /**
   * Stops the executor: cancels running executions, removes the container (kept, stopped, when
   * `autoRemove` is false) and then the temp workspace. Idempotent and fast (no 10 s stop grace).
   */
  stop(): Promise<void> {
    return this.#serialise(async () => {
      const id = this.#containerId;
      this.#cancelRuns();
      this.#unregisterExit?.();
      this.#unregisterExit = undefined;
      const wasRunning = this.#running || this.#dead !== undefined;
      this.#running = false;
      this.#dead = undefined;
      this.#containerId = undefined;
      const docker = this.#docker;
      if (wasRunning && id && docker) {
        if (this.#tempDir && process.getuid?.() !== 0) {
          // Files the container wrote may belong to its user: empty the folder from inside first.
          await docker.exec
            .run(id, ['sh', '-c', 'rm -rf /workspace/* /workspace/.[!.]* /workspace/..?*'], { signal: AbortSignal.timeout(5000) })
            .catch(() => {});
        }
      }
      try {
        if (wasRunning && id && docker) {
          if (this.#autoRemove) await removeContainer(docker, id);
          else {
            await docker.containers.kill(id).catch((error: unknown) => {
              const gone = isDockerApiError(error) && (error.reason === 'notFound' || error.reason === 'conflict');
              if (!gone) throw error;
            });
          }
        }
      } finally {
        // Even when the engine refused, the temp workspace and our client go: nothing leaks here.
        if (this.#tempDir) {
          await rm(this.#tempDir, { recursive: true, force: true, maxRetries: 3 });
          this.#tempDir = undefined;
        }
        if (this.#ownsDocker && docker) {
          await docker.close();
          this.#docker = undefined;
          this.#ownsDocker = false;
        }
      }
    });
  }

  /** Same as {@link DockerCommandLineCodeExecutor.stop}, for `await using`. */
  [Symbol.asyncDispose](): Promise<void> {
    return this.stop();
  }

  #cancelRuns(): void {
    for (const run of this.#runs) run.abort(new Error('executor stopping'));
    this.#runs.clear();
  }

  /**
   * Runs code blocks in order, stopping at the first non-zero exit code. Calls on one executor
   * run in turn. A timeout gives exit code 124 and `timedOut`; a cancellation (token or signal)
   * gives exit code 1, `Code execution was cancelled.` and `cancelled`; in both cases every
   * process the block started is killed.
   *
   * @throws ExecutorError when not started (`Container is not running…`), when `codeBlocks` is empty
   *   (`No code blocks to execute.`), when the functions set-up fails, or when the container died.
   */
  executeCodeBlocks(
    codeBlocks: readonly CodeBlock[],
    cancellation?: CancellationLike,
    options: ExecuteOptions = {},
  ): Promise<CommandLineCodeResult> {
    let signal: AbortSignal | undefined;
    try {
      signal = signalOf(cancellation);
    } catch (error) {
      return Promise.reject(error);
    }
    const task = () => this.#execute(codeBlocks, signal, options);
    const next = this.#queue.then(task, task);
    this.#queue = next.catch(() => {});
    return next;
  }

  async #execute(
    codeBlocks: readonly CodeBlock[],
    callerSignal: AbortSignal | undefined,
    options: ExecuteOptions,
  ): Promise<CommandLineCodeResult> {
    const started = performance.now();
    if (this.#dead) throw new ExecutorError(`The container stopped (${this.#dead}); call restart() to continue.`);
    if (!this.#running || !this.#containerId) throw new ExecutorError(NOT_RUNNING);
    if (!Array.isArray(codeBlocks)) throw new ExecutorError('codeBlocks must be an array of { language, code }');
    const run = new AbortController();
    this.#runs.add(run);
    const signal = callerSignal ? AbortSignal.any([callerSignal, run.signal]) : run.signal;
    const written: string[] = [];
    const writtenRelative: string[] = [];
    try {
      if (!this.#functionsReady) await this.#setupFunctions(signal);
      if (codeBlocks.length === 0) throw new ExecutorError('No code blocks to execute.');
      for (const [index, block] of codeBlocks.entries()) {
        if (typeof block?.code !== 'string' || typeof block?.language !== 'string') {
          throw new ExecutorError(`codeBlocks[${index}] must have string language and code`);
        }
      }
      const budget = { stdout: this.#maxOutputBytes, stderr: this.#maxOutputBytes };
      const result = {
        outputs: [] as string[],
        stdout: [] as string[],
        stderr: [] as string[],
        exitCode: 0,
        timedOut: false,
        cancelled: false,
        truncated: false,
      };
      for (const block of codeBlocks) {
        const lang = normaliseLanguage(block.language);
        const spec = languageSpec(lang);
        if (!spec) {
          result.outputs.push(`Unsupported language: ${lang}`);
          result.exitCode = 1;
          break;
        }
        if (signal.aborted) {
          result.outputs.push('Code execution was cancelled.');
          result.exitCode = 1;
          result.cancelled = true;
          break;
        }
        const code = silencePip(block.code, lang).replace(/\r\n/g, '\n');
        let filename: string;
        const declared = declaredFilename(code);
        if (declared !== undefined) {
          try {
            // Bind mode: missing folders are made by the engine, inside the container (see #writeWorkspaceFile).
            filename = await resolveInWorkspace(this.workDir, declared, { create: this.#mode === 'copy' });
          } catch (error) {
            if (!(error instanceof OutsideWorkspaceError)) throw error;
            result.outputs.push('Filename is not in the workspace');
            result.exitCode = 1;
            break;
          }
        } else {
          filename = defaultFilename(code, spec.extension);
        }
        const hostPath = join(this.workDir, filename);
        try {
          await this.#writeWorkspaceFile(filename, code);
        } catch (error) {
          // The code of an earlier block left a symlink, FIFO, device or folder at the name.
          if (!(error instanceof OutsideWorkspaceError)) throw error;
          result.outputs.push('Filename is not in the workspace');
          result.exitCode = 1;
          break;
        }
        written.push(hostPath);
        writtenRelative.push(filename);
        const outcome = await this.#runOne(spec.interpreter, filename, signal, budget, options);
        result.outputs.push(outcome.output);
        result.stdout.push(outcome.stdout);
        result.stderr.push(outcome.stderr);
        result.truncated ||= outcome.truncated;
        result.exitCode = outcome.exitCode;
        if (outcome.truncated) result.outputs.push('\n[output truncated: more than maxOutputBytes]');
        if (outcome.timedOut) {
          result.timedOut = true;
          result.outputs.push('\n Timeout');
        } else if (outcome.cancelled) {
          result.cancelled = true;
          result.outputs.push(`${outcome.output && !outcome.output.endsWith('\n') ? '\n' : ''}Code execution was cancelled.`);
        }
        // When stop() or restart() cancelled this run (run.signal), the killer exec fails because the
        // container is already going down (seen on Podman, whose stop/restart is slower): that is not
        // a full container, and a second restart here would race the one in progress.
        if (outcome.needsReset && !run.signal.aborted) {
          // The container is full (a fork bomb at its pids limit): a restart is the only sure kill.
          await this.#resetContainer();
          result.outputs.push('\nThe block left the container unable to start processes; the container was restarted.');
          if (result.exitCode === 0) result.exitCode = 1;
        }
        if (outcome.failure !== undefined) {
          let note: string;
          try {
            note = await this.#diagnoseFailure(outcome);
          } catch (error) {
            // The engine went away mid-call: keep this call's output on the error.
            if (isDockerConnectionError(error)) {
              const encoder = new TextEncoder();
              error.partialOutput = { stdout: encoder.encode(result.stdout.join('')), stderr: encoder.encode(result.stderr.join('')) };
            }
            throw error;
          }
          result.outputs.push(note);
          if (result.exitCode === 0) result.exitCode = 1;
        }
        if (result.exitCode !== 0) break;
      }
      return {
        exitCode: result.exitCode,
        output: result.outputs.join(''),
        codeFile: written[0],
        stdout: result.stdout.join(''),
        stderr: result.stderr.join(''),
        timedOut: result.timedOut,
        cancelled: result.cancelled,
        truncated: result.truncated,
        durationMs: performance.now() - started,
      };
    } finally {
      this.#runs.delete(run);
      if (this.#deleteTmpFiles) await this.#deleteWorkspaceFiles(writtenRelative);
    }
  }

  async #runOne(
    interpreter: string,
    file: string,
    signal: AbortSignal,
    budget: { stdout: number; stderr: number },
    options: ExecuteOptions,
    timeout = this.#timeout,
  ): Promise<BlockOutcome> {
    const docker = this.#client();
    const env = ['PYTHONUNBUFFERED=1', ...Object.entries(this.#options.environment ?? {}).map(([k, v]) => `${k}=${v}`)];
    const user = this.#codeUser();
    try {
      return await runBlock(
        {
          docker,
          containerId: this.#containerId as string,
          env,
          user,
          timeout,
          budget,
          onOutput: options.onOutput,
          reapAfterBlock: Boolean(this.#options.sandbox),
          interpreters: this.#interpreters,
        },
        interpreter,
        file,
        signal,
      );
    } catch (error) {
      // The container or the engine went away before the block even started.
      if (isDockerConnectionError(error) || isDockerApiError(error)) {
        return {
          exitCode: 1,
          output: '',
          stdout: '',
          stderr: '',
          timedOut: false,
          cancelled: signal.aborted,
          truncated: false,
          failure: error,
          needsReset: false,
        };
      }
      throw error;
    }
  }

  /** Restarts the container from inside a call (running calls are not cancelled), then re-runs the init command. */
  async #resetContainer(): Promise<void> {
    // stop() or restart() got here first: they own the container now.
    if (!this.#running || !this.#containerId) return;
    const docker = this.#client();
    const id = this.#containerId as string;
    if (!(await this.#restartInPlace(docker, id))) {
      // The container died and (AutoRemove) is gone or on its way out: make a new one.
      await removeContainer(docker, id).catch(() => {});
      this.#containerId = undefined;
      await this.#startFresh();
      return;
    }
    await this.#runInit(docker, id);
  }

  /**
   * Restarts the container in place (`POST /restart?t=0`, then waits until it runs). False when it
   * is gone or on its way out, and the caller makes a new one: auto-removed after it died, a
   * restart that did not come back up, or the engine's restart race (see `#removalPending`).
   */
  async #restartInPlace(docker: DockerClient, id: string): Promise<boolean> {
    this.#interpreters.clear();
    // Whether the engine is Podman (see #removalPending), asked while the restart runs.
    const facts = this.#autoRemove ? engineFacts(docker) : undefined;
    try {
      await docker.containers.restart(id, { timeout: 0 });
      await this.#waitRunning(docker, id);
    } catch (error) {
      const gone = containerGone(error);
      if (!gone && !(error instanceof ExecutorError)) throw error;
      if (gone) await docker.containers.wait(id, { condition: 'removed', signal: AbortSignal.timeout(10_000) }).catch(() => {});
      return false;
    }
    if (facts && !(await facts).podman && (await this.#removalPending(docker, id))) {
      // End the engine's pending removal now (a kill; see removeContainer) rather than let it kill
      // the restarted container under a running block some 10 s from now.
      await docker.containers.kill(id).catch(() => {});
      await docker.containers.wait(id, { condition: 'removed', signal: AbortSignal.timeout(10_000) }).catch(() => {});
      return false;
    }
    return true;
  }

  /**
   * True when dockerd has a removal of this just-restarted container under way. dockerd 20.10
   * races its own restart of an auto-remove container: the old process's exit can start the
   * auto-removal after the restart has put `AutoRemove` back, so the restarted container runs
   * while its removal waits on a kill that went to the old process, and some 10 s later the
   * engine kills and removes it (seen in about 1 restart in 20 on a loaded machine). An empty
   * `update` changes nothing and is refused ("marked for removal") exactly then. Podman's restart
   * has no such state (its own race fails the restart, see containerGone), and Podman 4 has no
   * update endpoint: it is not asked. The probe costs one request (~11 ms, dockerd runs
   * `runc update`), and only auto-remove containers are asked.
   */
  async #removalPending(docker: DockerClient, id: string): Promise<boolean> {
    try {
      await docker.containers.update(id, {}, { signal: AbortSignal.timeout(5_000) });
      return false;
    } catch (error) {
      return isDockerApiError(error) && /marked for removal/i.test(error.daemonMessage);
    }
  }

  /** After a block failed on the engine's side, finds out whether the container died, and says so. */
  async #diagnoseFailure(outcome: BlockOutcome): Promise<string> {
    const id = this.#containerId;
    const docker = this.#docker;
    if (!id || !docker) return `\n${(outcome.failure as Error).message}`;
    try {
      const info = await docker.containers.inspect(id, { signal: AbortSignal.timeout(5000) });
      if (info.State.Running) return `\n${(outcome.failure as Error).message}`;
      const why = `exit code ${info.State.ExitCode}${info.State.OOMKilled ? ', killed for lack of memory (OOM)' : ''}`;
      this.#dead = why;
      this.#running = false;
      return `\nThe container died while the code ran (${why}). Call restart() to continue.`;
    } catch (error) {
      if (isDockerApiError(error) && error.reason === 'notFound') {
        this.#dead = 'the container is gone';
        this.#running = false;
        return '\nThe container died while the code ran and was removed. Call restart() to continue.';
      }
      if (isDockerConnectionError(error)) {
        this.#dead = 'the engine is unreachable';
        this.#running = false;
        throw error;
      }
      return `\n${(outcome.failure as Error).message}`;
    }
  }

  async #setupFunctions(signal: AbortSignal): Promise<void> {
    await this.#writeWorkspaceFile(`${this.#functionsModule}.py`, buildFunctionsModule(this.#functions));
    const packages = requiredPackages(this.#functions);
    const budget = () => ({ stdout: this.#maxOutputBytes, stderr: this.#maxOutputBytes });
    const hidden = '.berth';
    await rm(join(this.workDir, hidden), { recursive: true, force: true });
    try {
      if (packages.length > 0) {
        const quoted = packages.map((p) => `'${p.replace(/'/g, `'\\''`)}'`).join(' ');
        const script = `${hidden}/pip_install.sh`;
        await this.#writeWorkspaceFile(script, `python -m pip install -qqq ${quoted} || python3 -m pip install -qqq ${quoted}\n`);
        // pip needs longer than a code block: at least five minutes.
        const outcome = await this.#runOne('sh', script, signal, budget(), {}, Math.max(this.#timeout, 300));
        if (outcome.exitCode !== 0) throw new ExecutorError(`Pip install failed. ${outcome.output}`, { output: outcome.output });
      }
      const check = `${hidden}/check_functions.py`;
      await this.#writeWorkspaceFile(
        check,
        `import sys\nsys.dont_write_bytecode = True\nsys.path.insert(0, '/workspace')\nimport ${this.#functionsModule}\n`,
      );
      const outcome = await this.#runOne('python', check, signal, budget(), {});
      if (outcome.exitCode !== 0) throw new ExecutorError(`Functions failed to load: ${outcome.output}`, { output: outcome.output });
      this.#functionsReady = true;
    } finally {
      await rm(join(this.workDir, hidden), { recursive: true, force: true }).catch(() => {});
      if (this.#mode === 'copy') await this.#removeInContainer([hidden]);
    }
  }

  /**
   * Writes a workspace file. In copy mode: on this machine (a folder the container cannot reach)
   * and into the container through the archive endpoint. In bind mode the folder is shared with
   * the code, which may have swapped any of its subfolders for a symlink to anywhere on this
   * machine: a file at the top is written here without following a symlink at its name (the top
   * folder is the mount point, which the code cannot swap), a file in a subfolder is written by
   * the engine, inside the container, where any symlink resolves within the container.
   * @throws OutsideWorkspaceError when something other than a regular file sits at the name.
   */
  async #writeWorkspaceFile(relative: string, content: string): Promise<void> {
    const nested = relative.includes('/');
    if (this.#mode === 'copy' || !nested) {
      if (nested) await mkdir(dirname(join(this.workDir, relative)), { recursive: true });
      await writeRegularFile(join(this.workDir, relative), content);
      if (this.#mode !== 'copy') return;
    }
    const owner = this.#numericOwner();
    await this.#client().containers.putFiles(this.#containerId as string, '/workspace', [
      { path: relative, data: content, ...(owner ? { uid: owner.uid, gid: owner.gid } : {}) },
    ]);
  }

  /**
   * Deletes the files of a call (`deleteTmpFiles`), with the same care as {@link #writeWorkspaceFile}:
   * in bind mode, files in subfolders are deleted from inside the container.
   */
  async #deleteWorkspaceFiles(relatives: readonly string[]): Promise<void> {
    const copy = this.#mode === 'copy';
    const here = copy ? relatives : relatives.filter((r) => !r.includes('/'));
    // unlink never follows a symlink at the name itself.
    await Promise.all(here.map((r) => unlink(join(this.workDir, r)).catch(() => {})));
    await this.#removeInContainer(copy ? relatives : relatives.filter((r) => r.includes('/')));
  }

  /** Removes workspace paths from inside the container: as the code's user, then as root for what the engine unpacked as root. */
  async #removeInContainer(relatives: readonly string[]): Promise<void> {
    const id = this.#containerId;
    if (relatives.length === 0 || !id) return;
    const paths = relatives.map((r) => `/workspace/${r}`);
    const remove = (user: string | undefined) =>
      this.#client()
        .exec.run(id, ['rm', '-rf', '--', ...paths], { ...(user !== undefined ? { user } : {}), signal: AbortSignal.timeout(10_000) })
        .then(
          (result) => result.exitCode === 0,
          () => true,
        );
    const user = this.#codeUser();
    if (!(await remove(user)) && user !== undefined) await remove('0');
  }

  #numericOwner(): { uid: number; gid: number } | undefined {
    const numeric = /^(\d+)(?::(\d+))?$/.exec(this.#codeUser() ?? '');
    return numeric ? { uid: Number(numeric[1]), gid: Number(numeric[2] ?? numeric[1]) } : undefined;
  }

  /**
   * Copy mode: makes `/workspace` (a fresh root-owned volume) writable by the code's user. Root
   * owns the folder, so it may chmod it even with every capability dropped.
   */
  async #prepareCopiedWorkspace(docker: DockerClient, id: string): Promise<void> {
    if (this.#codeUser() === undefined) return;
    const result = await docker.exec.run(id, ['chmod', '1777', '/workspace'], { user: '0', signal: AbortSignal.timeout(10_000) });
    if (result.exitCode !== 0) throw new ExecutorError(`could not open /workspace to user ${this.#codeUser()}: ${result.stderr.trim()}`);
  }

  /** How the workspace reaches the container (`bind` or `copy`); decided by `start()`. */
  get workspaceMode(): WorkspaceMode {
    return this.#mode;
  }

  /**
   * Reads a file of the workspace, by its path relative to `/workspace` (or absolute under it):
   * how to fetch what the code wrote when the workspace is copied to a remote engine. Works in
   * both modes: from the container in copy mode, from `workDir` in bind mode.
   * @throws ExecutorError for a path outside the workspace, something other than a regular file (bind mode), or when not started; DockerApiError (notFound) in copy mode or a Node ENOENT error in bind mode for a missing file.
   */
  async readFile(path: string): Promise<Uint8Array> {
    if (!this.#running || !this.#containerId) throw new ExecutorError(NOT_RUNNING);
    let relative = String(path).replace(/\\/g, '/');
    if (relative.startsWith('/workspace/')) relative = relative.slice('/workspace/'.length);
    const parts = relative.split('/');
    if (relative === '' || relative.startsWith('/') || parts.includes('..') || relative.includes('\0')) {
      throw new ExecutorError(`readFile: ${JSON.stringify(path)} is not a path inside the workspace`);
    }
    if (this.#mode === 'copy') return this.#client().containers.readFile(this.#containerId, `/workspace/${relative}`);
    const root = await realpath(this.workDir);
    const real = await realpath(join(root, relative));
    if (real !== root && !real.startsWith(`${root}/`))
      throw new ExecutorError(`readFile: ${JSON.stringify(path)} leads outside the workspace`);
    try {
      return await readRegularFile(real);
    } catch (error) {
      if (error instanceof OutsideWorkspaceError) throw new ExecutorError(`readFile: ${JSON.stringify(path)} is not a regular file`);
      throw error;
    }
  }

  /**
   * The executor's configuration in autogen's component JSON shape (`dump_component()`), so
   * configs round-trip with autogen and autogen-studio. An auto-generated container name is left
   * out, so a loaded copy makes its own. Functions and device requests are not serialised.
   */
  dumpComponent(): ComponentModel<DockerCommandLineCodeExecutorConfig> {
    return toComponent(
      {
        image: this.#image,
        containerName: this.#containerName,
        containerNameGenerated: this.#generatedName,
        timeout: this.#timeout,
        workDir: this.#userWorkDir,
        bindDir: this.#options.bindDir ?? this.#userWorkDir,
        autoRemove: this.#autoRemove,
        stopContainer: this.#stopContainer,
        functionsModule: this.#functionsModule,
        extraVolumes: this.#extraVolumes,
        extraHosts: this.#extraHosts,
        initCommand: this.#initCommand,
        deleteTmpFiles: this.#deleteTmpFiles,
        hasFunctions: this.#functions.length > 0,
        hasDeviceRequests: this.#deviceRequests !== undefined,
      },
      (message) => process.emitWarning(message),
    );
  }

  /**
   * Builds an executor from component JSON (an object or a string), as autogen's
   * `load_component()` writes it. `overrides` adds what JSON cannot carry (a `docker` client, functions).
   */
  static loadComponent(json: unknown, overrides: Partial<DockerCommandLineCodeExecutorOptions> = {}): DockerCommandLineCodeExecutor {
    return new DockerCommandLineCodeExecutor({ ...fromComponent(json), ...overrides });
  }
}
