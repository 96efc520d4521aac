import { randomUUID } from 'node:crypto';
import { existsSync } from 'node:fs';
import { rm } from 'node:fs/promises';
import { hostname } from 'node:os';
import { DockerClient, isDockerApiError, isDockerConnectionError } from '../engine/index.js';
import { type BlockBackend, openBlockBackend } from './block-backend.js';
import { SUPPORTED_LANGUAGES } from './blocks.js';
import { type CancellationLike, signalOf } from './cancellation.js';
import { type ComponentModel, type DockerCommandLineCodeExecutorConfig, fromComponent, toComponent } from './config.js';
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
import { type CallEnv, executeBlocks, installFunctions, type OutputBudget } from './execute.js';
import { registerExitHook } from './exit-hooks.js';
import { FUNCTION_PROMPT_TEMPLATE, type FunctionWithRequirements, formatFunctionsForPrompt } from './functions.js';
import { type ExecutorState, Lifecycle, NOT_RUNNING } from './lifecycle.js';
import { type ResolvedOptions, resolveOptions } from './options.js';
import type { BlockOutcome } from './run-block.js';
import type {
  CodeBlock,
  CommandLineCodeResult,
  DockerCommandLineCodeExecutorOptions,
  ExecuteOptions,
  ExecutionMode,
  StartOptions,
  WorkspaceMode,
} from './types.js';
import { chooseWorkspaceMode, openWorkspace, type Workspace } from './workspace.js';

export { DEFAULT_PIDS_LIMIT, EXECUTOR_LABEL } from './container-spec.js';
export { DEFAULT_MAX_OUTPUT_BYTES } from './options.js';

const CONTAINER_PREFIX = 'autogen-code-exec-';

/**
 * Runs code blocks in one long-lived Docker container: a TypeScript port of autogen-ext's
 * `DockerCommandLineCodeExecutor`, with the same options, results and messages, and its bugs
 * fixed: cancellation and timeouts really kill the process tree, `stop()` is fast, `start()` is
 * idempotent, nothing leaks, bad input gets a clear error.
 *
 * Calls of {@link DockerCommandLineCodeExecutor.executeCodeBlocks} on one executor run **in turn**
 * (a queue), never in parallel: blocks share one workspace, and kills are scoped to one run.
 * `stop()` and `restart()` cancel the call in progress, wait for it, then act.
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

  readonly #o: ResolvedOptions;
  readonly #containerName: string;
  readonly #instanceId = randomUUID();
  readonly #lifecycle: Lifecycle;

  #docker: DockerClient | undefined;
  #ownsDocker = false;
  /** A temp workspace folder as soon as it exists (before the workspace object does). */
  #tempDir: string | undefined;
  #workspace: Workspace | undefined;
  #containerId: string | undefined;
  #backend: BlockBackend | undefined;
  #functionsReady = false;

  /**
   * Validates the options (nothing touches the engine until `start()`).
   * @throws ExecutorError `Timeout must be greater than or equal to 1.`, `Module name must be a valid Python identifier`,
   *   `functions[0] has no func…`, and others naming the bad option.
   */
  constructor(options: DockerCommandLineCodeExecutorOptions = {}) {
    this.#o = resolveOptions(options);
    this.#containerName = options.containerName ?? `${CONTAINER_PREFIX}${randomUUID()}`;
    if (options.docker) this.#docker = options.docker;
    this.#lifecycle = new Lifecycle({
      bringUp: (signal) => this.#bringUp(signal),
      restart: (signal) => this.#restartContainer(signal),
      tearDown: () => this.#tearDown(),
      registerExitHook: () => (this.#o.stopContainer ? registerExitHook(() => this.stop()) : undefined),
    });
  }

  /** Seconds a code block may run. */
  get timeout(): number {
    return this.#o.timeout;
  }

  /**
   * The host folder code files are written to.
   * @throws ExecutorError `Working directory not properly initialized` before `start()` when no `workDir` was given.
   */
  get workDir(): string {
    const dir = this.#o.raw.workDir ?? this.#workspace?.hostDir;
    if (dir === undefined) throw new ExecutorError('Working directory not properly initialized');
    return dir;
  }

  /** The host folder mounted at `/workspace` (`bindDir`, else `workDir`). */
  get bindDir(): string {
    return this.#o.raw.bindDir ?? this.workDir;
  }

  /** The container's name. */
  get containerName(): string {
    return this.#containerName;
  }

  /** The container's ID while started. */
  get containerId(): string | undefined {
    return this.#containerId;
  }

  /** True between a successful `start()` and `stop()`, while the container has not died. */
  get isRunning(): boolean {
    return this.#lifecycle.state === 'running' && this.#lifecycle.dead === undefined;
  }

  /** Where the executor is in its lifecycle: `stopped`, `starting`, `running`, `restarting` or `stopping`. */
  get state(): ExecutorState {
    return this.#lifecycle.state;
  }

  /** The functions module name. */
  get functionsModule(): string {
    return this.#o.functionsModule;
  }

  /** The user-defined functions. */
  get functions(): readonly FunctionWithRequirements[] {
    return this.#o.functions;
  }

  /**
   * How blocks run in the started container: `runner` (Berth's in-container runner) or `exec` (an
   * exec per block: `runner: 'off'`, or an image without Python 3.8+). Undefined while not started.
   */
  get executionMode(): ExecutionMode | undefined {
    return this.#backend?.mode;
  }

  /** How the workspace reaches the container (`bind` or `copy`); decided by `start()`. */
  get workspaceMode(): WorkspaceMode {
    return this.#workspace?.mode ?? 'bind';
  }

  /** Fills {@link DockerCommandLineCodeExecutor.FUNCTION_PROMPT_TEMPLATE} (or `template`) with stubs of the functions. */
  formatFunctionsForPrompt(template: string = FUNCTION_PROMPT_TEMPLATE): string {
    return formatFunctionsForPrompt(this.#o.functions, this.#o.functionsModule, template);
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
   * when already running. A start that fails, is aborted through `signal`, or is interrupted by
   * `stop()` or SIGINT/SIGTERM removes whatever it made.
   * @throws the signal's reason when aborted; ExecutorError or DockerError when a step fails.
   */
  start(options: StartOptions = {}): Promise<void> {
    return this.#lifecycle.start(options.signal);
  }

  async #bringUp(signal: AbortSignal): Promise<void> {
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
        mode: workspace.mode,
        bindSource: workspace.bindSource,
        ownerLabels,
        init,
      });
    const id = await createAndStart(docker, spec, this.#containerName, signal, (created) => {
      this.#containerId = created;
    });
    if (this.#o.raw.deviceRequests?.length) await checkDeviceRequestsKept(docker, id, signal);
    // A fresh container has no functions module (copy mode) and none of their packages.
    this.#functionsReady = this.#o.functions.length === 0;
    await this.#ready(docker, id, signal);
  }

  /** After each (re)start: the workspace, the init command, the block backend. */
  async #ready(docker: DockerClient, id: string, signal: AbortSignal): Promise<void> {
    await this.#workspace?.prepare({ docker, id });
    const raw = this.#o.raw;
    if (raw.initCommand) await runInitCommand(docker, id, raw.initCommand, codeEnv(raw), raw.user, this.#o.timeout, signal);
    signal.throwIfAborted();
    this.#backend = await openBlockBackend(docker, id, {
      env: codeEnv(raw),
      user: codeUser(raw),
      image: this.#o.image,
      runner: raw.runner,
      persistent: raw.persistent,
    });
  }

  async #restartContainer(signal: AbortSignal): Promise<void> {
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
  async #tearDown(): Promise<void> {
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

  /**
   * Restarts the container: cancels the running call (and waits for it), restarts the container,
   * waits until it runs and re-runs `initCommand`. Files in the workspace survive; a container that
   * is gone is made anew. A restart that fails stops the executor.
   * @throws ExecutorError `Container is not running…` when not started.
   */
  restart(): Promise<void> {
    return this.#lifecycle.restart();
  }

  /**
   * Stops the executor: cancels the running call and any unfinished start or restart, waits for
   * them, removes the container (kills it and keeps it when `autoRemove` is false) and the temp
   * workspace. Nothing is created after it returns. Idempotent and fast (no 10 s stop grace).
   */
  stop(): Promise<void> {
    return this.#lifecycle.stop();
  }

  /** Same as {@link DockerCommandLineCodeExecutor.stop}, for `await using`. */
  [Symbol.asyncDispose](): Promise<void> {
    return this.stop();
  }

  /**
   * Runs code blocks in order, stopping at the first non-zero exit code. Calls on one executor
   * run in turn. A timeout (per block) gives exit code 124 and `timedOut`; a cancellation (token
   * or signal) gives exit code 1, `Code execution was cancelled.` and `cancelled`; in both cases
   * every process the block started is killed. An `onOutput` callback that throws kills the
   * block, and the call rejects with the callback's error.
   *
   * @throws ExecutorError when not started (`Container is not running…`), when `codeBlocks` is empty
   *   (`No code blocks to execute.`), when the functions set-up fails, or when the container died.
   */
  executeCodeBlocks(
    codeBlocks: readonly CodeBlock[],
    cancellation?: CancellationLike,
    options: ExecuteOptions = {},
  ): Promise<CommandLineCodeResult> {
    let callerSignal: AbortSignal | undefined;
    try {
      callerSignal = signalOf(cancellation);
    } catch (error) {
      return Promise.reject(error);
    }
    return this.#lifecycle.call(async (signal, own) => {
      const started = performance.now();
      if (!Array.isArray(codeBlocks)) throw new ExecutorError('codeBlocks must be an array of { language, code }');
      const env = this.#callEnv();
      const written: string[] = [];
      try {
        if (!this.#functionsReady) {
          await installFunctions(env, this.#o.functions, this.#o.functionsModule, this.#o.timeout, signal);
          this.#functionsReady = true;
        }
        if (codeBlocks.length === 0) throw new ExecutorError('No code blocks to execute.');
        for (const [index, block] of codeBlocks.entries()) {
          if (typeof block?.code !== 'string' || typeof block?.language !== 'string') {
            throw new ExecutorError(`codeBlocks[${index}] must have string language and code`);
          }
        }
        const result = await executeBlocks(env, codeBlocks, signal, own, options, written);
        return { ...result, durationMs: performance.now() - started };
      } finally {
        if (this.#o.deleteTmpFiles) await env.workspace.deleteFiles(written).catch(() => {});
      }
    }, callerSignal);
  }

  #callEnv(): CallEnv {
    return {
      workspace: this.#workspace as Workspace,
      maxOutputBytes: this.#o.maxOutputBytes,
      run: (language, file, signal, budget, options, timeout) => this.#runOne(language, file, signal, budget, options, timeout),
      reset: (own) => this.#lifecycle.reset(own),
      diagnose: (failure) => this.#diagnose(failure),
    };
  }

  async #runOne(
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
  async #diagnose(failure: unknown): Promise<string> {
    const id = this.#containerId;
    const docker = this.#docker;
    if (!id || !docker) return `\n${(failure as Error).message}`;
    try {
      const { note, dead } = await diagnoseFailure(docker, id, failure);
      if (dead) this.#lifecycle.markDead(dead);
      return note;
    } catch (error) {
      if (isDockerConnectionError(error)) this.#lifecycle.markDead('the engine is unreachable');
      throw error;
    }
  }

  /**
   * Reads a regular file of the workspace, by its path relative to `/workspace` (or absolute under
   * it): how to fetch what the code wrote, in both workspace modes.
   * @throws WorkspaceFileError (an ExecutorError) for a path that is missing, outside the workspace,
   *   or not a regular file (its `kind` says what it is: `folder`, `symlink`, `fifo`, `device`,
   *   `socket`); ExecutorError when not started.
   */
  async readFile(path: string): Promise<Uint8Array> {
    const workspace = this.#workspace;
    if (!this.isRunning || !workspace) throw new ExecutorError(NOT_RUNNING);
    return workspace.readFile(path);
  }

  /**
   * The executor's configuration in autogen's component JSON shape (`dump_component()`), so
   * configs round-trip with autogen and autogen-studio; Berth's own settings (sandbox, user,
   * limits, environment, workspace) are added to the same `config` object (autogen ignores them).
   * An auto-generated container name is left out, so a loaded copy makes its own. Functions and
   * device requests are not serialised.
   */
  dumpComponent(): ComponentModel<DockerCommandLineCodeExecutorConfig> {
    const raw = this.#o.raw;
    return toComponent(
      {
        image: this.#o.image,
        containerName: this.#containerName,
        containerNameGenerated: raw.containerName === undefined,
        timeout: this.#o.timeout,
        workDir: raw.workDir,
        bindDir: raw.bindDir ?? raw.workDir,
        autoRemove: this.#o.autoRemove,
        stopContainer: this.#o.stopContainer,
        functionsModule: this.#o.functionsModule,
        extraVolumes: { ...raw.extraVolumes },
        extraHosts: { ...raw.extraHosts },
        initCommand: raw.initCommand,
        deleteTmpFiles: this.#o.deleteTmpFiles,
        hasFunctions: this.#o.functions.length > 0,
        hasDeviceRequests: raw.deviceRequests !== undefined,
        sandbox: raw.sandbox,
        user: raw.user,
        networkMode: raw.networkMode,
        memoryBytes: raw.memoryBytes,
        cpus: raw.cpus,
        pidsLimit: raw.pidsLimit,
        environment: raw.environment,
        workspace: raw.workspace,
        runner: raw.runner,
        persistent: raw.persistent,
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
