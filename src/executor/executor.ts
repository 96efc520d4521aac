import { randomUUID } from 'node:crypto';
import { SUPPORTED_LANGUAGES } from './blocks.js';
import { type CancellationLike, signalOf } from './cancellation.js';
import { type ComponentModel, configSourceOf, type DockerCommandLineCodeExecutorConfig, fromComponent, toComponent } from './config.js';
import { ExecutorError } from './errors.js';
import { type CallEnv, executeBlocks, installFunctions } from './execute.js';
import { registerExitHook } from './exit-hooks.js';
import { FUNCTION_PROMPT_TEMPLATE, type FunctionWithRequirements, formatFunctionsForPrompt } from './functions.js';
import { type ExecutorState, Lifecycle, NOT_RUNNING } from './lifecycle.js';
import { type ResolvedOptions, resolveOptions } from './options.js';
import { Session } from './session.js';
import type {
  CodeBlock,
  CommandLineCodeResult,
  DockerCommandLineCodeExecutorOptions,
  ExecuteOptions,
  StartOptions,
  WorkspaceMode,
} from './types.js';
import type { Workspace } from './workspace.js';

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
  readonly #session: Session;

  /**
   * Validates the options (nothing touches the engine until `start()`).
   * @throws ExecutorError `Timeout must be greater than or equal to 1.`, `Module name must be a valid Python identifier`,
   *   `functions[0] has no func…`, and others naming the bad option.
   */
  constructor(options: DockerCommandLineCodeExecutorOptions = {}) {
    this.#o = resolveOptions(options);
    this.#containerName = options.containerName ?? `${CONTAINER_PREFIX}${randomUUID()}`;
    const session = new Session(this.#o, this.#containerName, this.#instanceId);
    this.#session = session;
    this.#lifecycle = new Lifecycle({
      bringUp: (signal) => session.bringUp(signal),
      restart: (signal) => session.restart(signal),
      tearDown: () => session.tearDown(),
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
    const dir = this.#o.raw.workDir ?? this.#session.workspace?.hostDir;
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
    return this.#session.containerId;
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

  /** How the workspace reaches the container (`bind` or `copy`); decided by `start()`. */
  get workspaceMode(): WorkspaceMode {
    return this.#session.workspace?.mode ?? 'bind';
  }

  /** Fills {@link DockerCommandLineCodeExecutor.FUNCTION_PROMPT_TEMPLATE} (or `template`) with stubs of the functions. */
  formatFunctionsForPrompt(template: string = FUNCTION_PROMPT_TEMPLATE): string {
    return formatFunctionsForPrompt(this.#o.functions, this.#o.functionsModule, template);
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
        if (!this.#session.functionsReady) {
          await installFunctions(env, this.#o.functions, this.#o.functionsModule, this.#o.timeout, signal);
          this.#session.functionsReady = true;
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
    const session = this.#session;
    return {
      workspace: session.workspace as Workspace,
      maxOutputBytes: this.#o.maxOutputBytes,
      run: (language, file, signal, budget, options, timeout) => session.run(language, file, signal, budget, options, timeout),
      reset: (own) => this.#lifecycle.reset(own),
      diagnose: (failure) => session.diagnose(failure, (why) => this.#lifecycle.markDead(why)),
    };
  }

  /**
   * Reads a regular file of the workspace, by its path relative to `/workspace` (or absolute under
   * it): how to fetch what the code wrote, in both workspace modes.
   * @throws WorkspaceFileError (an ExecutorError) for a path that is missing, outside the workspace,
   *   or not a regular file (its `kind` says what it is: `folder`, `symlink`, `fifo`, `device`,
   *   `socket`); ExecutorError when not started.
   */
  async readFile(path: string): Promise<Uint8Array> {
    const workspace = this.#session.workspace;
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
    return toComponent(configSourceOf(this.#o, this.#containerName), (message) => process.emitWarning(message));
  }

  /**
   * Builds an executor from component JSON (an object or a string), as autogen's
   * `load_component()` writes it. `overrides` adds what JSON cannot carry (a `docker` client, functions).
   */
  static loadComponent(json: unknown, overrides: Partial<DockerCommandLineCodeExecutorOptions> = {}): DockerCommandLineCodeExecutor {
    return new DockerCommandLineCodeExecutor({ ...fromComponent(json), ...overrides });
  }
}
