import { randomBytes } from 'node:crypto';
import { readFile } from 'node:fs/promises';
import type { AttachedStream, DockerClient } from '../../engine/index.js';
import { DockerError, isDockerApiError, isDockerError } from '../../engine/index.js';
import type { BlockBackend } from '../block-backend.js';
import { languageSpec } from '../blocks.js';
import { type BlockContext, type BlockOutcome, KILLER, OOM_NOTE, oomKilledSince, stoppedWithin } from '../run-block.js';
import type { CodeImage } from '../types.js';
import { encodeMessage, HOST, jsonPayload, MessageReader, payloadOf, RUNNER, type RunnerMessage } from './protocol.js';

/** What a block run by the runner reports beyond {@link BlockOutcome}. */
export interface RunnerOutcome extends BlockOutcome {
  /** Figures the block showed or left open, in order. */
  images: CodeImage[];
  /** Persistent mode: the session's interpreter was killed (timeout, cancel) or ended; its state is gone. */
  stateLost: boolean;
}

/** Options of {@link createRunnerBackend}. */
export interface RunnerBackendOptions {
  /** The code's user (`uid:gid` or name); default the image's. */
  user: string | undefined;
  /** Environment of the runner and its blocks, `KEY=value`. */
  env: readonly string[];
  /** Python blocks share one interpreter, shell blocks their folder and exported variables. Default false. */
  persistent?: boolean | undefined;
  /** Milliseconds to wait for the runner to say hello. Default 30 s (a loaded engine is slow to start an exec). */
  helloTimeoutMs?: number | undefined;
}

/** Milliseconds between SIGTERM and SIGKILL on timeout (the exec path's grace). */
const TERM_GRACE_MS = 500;
/** Milliseconds to wait for the engine to say the container stopped, when the runner's stream ended under a block. */
const ENGINE_CHECK_MS = 300;
/**
 * Milliseconds past the block's deadline (and the grace) before the host takes the runner for
 * stuck and kills it from outside, and past a cancel before it does the same.
 */
const HOST_SLACK_MS = 3000;
/** Milliseconds to wait for the runner to end once its stdin is closed. */
const DISPOSE_WAIT_MS = 2000;
/** Bytes of the runner's own stderr kept for messages. */
const STDERR_TAIL = 4096;

const PWSH_MISSING = 'Powershell or pwsh is not installed. Please install one of them.\n';

/**
 * Reads the runner's source (its size in bytes is the argument) from stdin and runs it: the
 * command line stays short, and says `berth-runner` to whoever lists the container's processes.
 */
const LOADER =
  'import os,sys;n=int(sys.argv[2]);b=b"";exec("while len(b)<n:\\n c=os.read(0,n-len(b))\\n if not c:sys.exit(3)\\n b+=c");exec(compile(b,"berth-runner","exec"))';

/**
 * Starts the loader with the first of `python`, `python3` the image has (the interpreter the
 * exec path would pick), or exits 127 when there is none.
 */
const BOOT = `for p in python python3; do command -v "$p" >/dev/null 2>&1 && exec "$p" -c '${LOADER}' berth-runner "$1"; done; echo "berth-runner: no python" >&2; exit 127`;

let source: Promise<string> | undefined;
/** The runner's source, shipped beside this module (src/ in development, dist/ when built). */
function runnerSource(): Promise<string> {
  source ??= readFile(new URL('./runner.py', import.meta.url), 'utf8').catch((error: unknown) => {
    source = undefined;
    throw error;
  });
  return source;
}

/** A block the runner is running: collects its messages until the exit message or the runner's end. */
interface Pending {
  nonce: string;
  ctx: BlockContext;
  decoders: { stdout: TextDecoder; stderr: TextDecoder };
  parts: string[];
  texts: { stdout: string[]; stderr: string[] };
  images: CodeImage[];
  /** The block's main process and its start (clock ticks), for the host's backstop. */
  started: { pid: number; t0: number } | undefined;
  /** The onOutput callback threw: kill the block, then reject with this. */
  callbackError: { error: unknown } | undefined;
  finish: (exit: ExitMessage | undefined) => void;
}

interface ExitMessage {
  code: number;
  timedOut: boolean;
  cancelled: boolean;
  truncated: boolean;
  stateLost: boolean;
  notStarted?: boolean;
  resource?: boolean;
}

interface Hello {
  protocol: number;
  pid: number;
  python: string;
  subreaper: boolean;
}

/** One runner process in the container and its attached exec stream. */
class Channel {
  readonly stream: AttachedStream;
  readonly reader = new MessageReader();
  hello: Hello | undefined;
  pending: Pending | undefined;
  dead = false;
  stderrTail = '';
  readonly ended: Promise<void>;
  #onHello: ((hello: Hello | undefined) => void) | undefined;
  readonly helloReceived: Promise<Hello | undefined>;

  constructor(stream: AttachedStream) {
    this.stream = stream;
    this.helloReceived = new Promise((resolve) => {
      this.#onHello = resolve;
    });
    this.ended = this.#pump();
  }

  async #pump(): Promise<void> {
    const errors = new TextDecoder();
    try {
      for await (const frame of this.stream) {
        if (frame.stream === 'stderr') {
          this.stderrTail = (this.stderrTail + errors.decode(frame.data, { stream: true })).slice(-STDERR_TAIL);
          continue;
        }
        for (const message of this.reader.push(frame.data)) this.#dispatch(message);
      }
    } catch {
      // The stream broke: the runner is as good as dead.
    } finally {
      this.dead = true;
      this.#onHello?.(undefined);
      const pending = this.pending;
      this.pending = undefined;
      pending?.finish(undefined);
    }
  }

  #dispatch(message: RunnerMessage): void {
    const pending = this.pending;
    switch (message.type) {
      case RUNNER.hello:
        this.hello = jsonPayload<Hello>(message);
        this.#onHello?.(this.hello);
        this.#onHello = undefined;
        return;
      case RUNNER.started:
        if (pending) pending.started = jsonPayload(message);
        return;
      case RUNNER.stdout:
      case RUNNER.stderr:
        if (pending) for (const part of message.parts) emit(pending, message.type === RUNNER.stdout ? 'stdout' : 'stderr', part);
        return;
      case RUNNER.image:
        // The payload may be a view of a chunk that carries more: keep a copy of its own.
        pending?.images.push({ mimeType: 'image/png', data: payloadOf(message).slice() });
        return;
      case RUNNER.exit:
        this.pending = undefined;
        pending?.finish(jsonPayload<ExitMessage>(message));
        return;
      case RUNNER.fatal:
        this.stderrTail += `\n${jsonPayload<{ message: string }>(message).message}`;
        this.dead = true;
        void this.stream.cancel().catch(() => {});
        return;
      default:
        return;
    }
  }

  send(type: string, payload?: object): Promise<void> {
    return this.stream.write(encodeMessage(type, payload));
  }
}

/** Passes one piece of output on: decoded as the exec path decodes it, counted against the budget. */
function emit(pending: Pending, stream: 'stdout' | 'stderr', data: Uint8Array): void {
  const { ctx } = pending;
  ctx.budget[stream] = Math.max(0, ctx.budget[stream] - data.length);
  const text = pending.decoders[stream].decode(data, { stream: true });
  if (!text) return;
  pending.parts.push(text);
  pending.texts[stream].push(text);
  if (pending.callbackError) return;
  try {
    ctx.onOutput?.({ stream, text });
  } catch (error) {
    pending.callbackError = { error };
  }
}

/**
 * Runs blocks through Berth's runner: one Python process per container start, fed through one
 * exec whose stdin and stdout stay attached (see docs/runner-protocol.md). A runner that dies or
 * stops answering is killed from outside and replaced before the next block.
 */
export class RunnerBackend implements BlockBackend {
  readonly mode = 'runner' as const;
  readonly #docker: DockerClient;
  readonly #containerId: string;
  readonly #options: RunnerBackendOptions;
  #channel: Channel | undefined;
  #disposed = false;

  private constructor(docker: DockerClient, containerId: string, options: RunnerBackendOptions, channel: Channel) {
    this.#docker = docker;
    this.#containerId = containerId;
    this.#options = options;
    this.#channel = channel;
  }

  /** The Python version the runner runs on (e.g. `3.11.2`). */
  get python(): string | undefined {
    return this.#channel?.hello?.python;
  }

  /**
   * Starts a runner in the container. Resolves to undefined when the image cannot run one (no
   * `python`/`python3`, or one older than 3.8) or the engine refuses the exec: the caller falls
   * back to an exec per block.
   */
  static async create(docker: DockerClient, containerId: string, options: RunnerBackendOptions): Promise<RunnerBackend | undefined> {
    // An engine that refuses the exec (or an attached stdin) gets the exec path, which reports
    // what the engine says at the first block.
    const channel = await spawnRunner(docker, containerId, options).catch(() => undefined);
    return channel ? new RunnerBackend(docker, containerId, options, channel) : undefined;
  }

  async run(ctx: BlockContext, language: string, file: string, signal: AbortSignal | undefined): Promise<RunnerOutcome> {
    if (this.#disposed) throw new Error('runner backend disposed');
    let channel = this.#channel;
    if (!channel || channel.dead) {
      // The previous runner died (a block killed it) or was killed as stuck: a new one first.
      if (channel) await channel.stream.cancel().catch(() => {});
      channel = await spawnRunner(this.#docker, this.#containerId, this.#options).catch(() => undefined);
      this.#channel = channel;
      if (!channel) {
        return outcomeOf(ctx, {
          exitCode: 1,
          note: 'The runner could not be started again in the container; the container is restarted.\n',
          needsReset: true,
        });
      }
    }
    const spec = blockSpec(ctx, language, file, this.#options.persistent === true);
    return this.#runOn(channel, ctx, spec, signal);
  }

  async #runOn(channel: Channel, ctx: BlockContext, spec: BlockSpec, signal: AbortSignal | undefined): Promise<RunnerOutcome> {
    let resolveExit!: (exit: ExitMessage | undefined) => void;
    const exited = new Promise<ExitMessage | undefined>((resolve) => {
      resolveExit = resolve;
    });
    const pending: Pending = {
      nonce: spec.nonce,
      ctx,
      decoders: { stdout: new TextDecoder(), stderr: new TextDecoder() },
      parts: [],
      texts: { stdout: [], stderr: [] },
      images: [],
      started: undefined,
      callbackError: undefined,
      finish: resolveExit,
    };
    channel.pending = pending;
    const timers: ReturnType<typeof setTimeout>[] = [];
    let cancelled = false;
    let stuck = false;
    let backstopDone: Promise<boolean> | undefined;
    // The runner did not end the block in time: kill it and the block from outside, and report.
    const backstop = () => {
      if (channel.pending !== pending) return;
      stuck = true;
      backstopDone = this.#killFromOutside(channel, pending);
      channel.pending = undefined;
      resolveExit(undefined);
    };
    const cancel = () => {
      if (cancelled) return;
      cancelled = true;
      void channel.send(HOST.cancel).catch(() => {});
      timers.push(setTimeout(backstop, HOST_SLACK_MS));
    };
    timers.push(setTimeout(backstop, ctx.timeout * 1000 + TERM_GRACE_MS + HOST_SLACK_MS));
    if (signal?.aborted) cancel();
    signal?.addEventListener('abort', cancel, { once: true });
    const callbackWatch = setInterval(() => {
      if (pending.callbackError) cancel();
    }, 20);
    let exit: ExitMessage | undefined;
    const startedAt = Date.now();
    try {
      await channel.send(HOST.run, spec).catch(() => {});
      exit = await exited;
    } finally {
      clearInterval(callbackWatch);
      signal?.removeEventListener('abort', cancel);
      for (const timer of timers) clearTimeout(timer);
    }
    if (pending.callbackError) {
      if (!exit) await backstopDone;
      throw pending.callbackError.error;
    }
    for (const stream of ['stdout', 'stderr'] as const) {
      const rest = pending.decoders[stream].decode();
      if (rest) {
        pending.parts.push(rest);
        pending.texts[stream].push(rest);
        ctx.onOutput?.({ stream, text: rest });
      }
    }
    let needsReset = false;
    let note: string | undefined;
    // The stream ended with no exit message: first rule out the engine or the container going away
    // under the block (the caller diagnoses that failure: a dead container asks for restart(), a
    // gone engine rejects the call), as the exec path does.
    const failure = !exit && !stuck && !cancelled ? await this.#engineFailure() : undefined;
    if (!exit && failure === undefined) {
      // The runner ended under the block (the block killed it, or it was stuck and we did): the
      // block's processes are killed from outside, and the next block gets a new runner.
      if (!backstopDone) backstopDone = this.#killFromOutside(channel, pending);
      needsReset = !(await backstopDone);
      if (!stuck && !cancelled) {
        note = `The runner (Berth's process that runs the blocks in the container) ended while the block ran; the block was stopped and the next block gets a new runner.${
          channel.stderrTail.trim() ? ` Runner said: ${channel.stderrTail.trim()}` : ''
        }\n`;
      }
    }
    const timedOut = exit ? exit.timedOut : stuck && !cancelled;
    const wasCancelled = exit ? exit.cancelled : cancelled;
    const exitCode = timedOut ? 124 : wasCancelled ? 1 : exit ? exit.code : failure !== undefined ? 137 : 1;
    // A SIGKILL the runner did not send: the kernel's OOM killer chose the block's process.
    if (exit && exitCode === 137 && (await this.#oomKilledSince(startedAt))) note = OOM_NOTE;
    return {
      exitCode,
      output: pending.parts.join('') + (note ? `${pending.parts.length && !pending.parts.at(-1)?.endsWith('\n') ? '\n' : ''}${note}` : ''),
      stdout: pending.texts.stdout.join(''),
      stderr: pending.texts.stderr.join(''),
      timedOut,
      cancelled: wasCancelled,
      truncated: exit?.truncated ?? false,
      failure,
      needsReset: needsReset || (exit?.resource ?? false),
      images: pending.images,
      stateLost: (exit?.stateLost ?? false) || (!exit && this.#options.persistent === true),
    };
  }

  /** The engine's error, or a DockerError when the container stopped or is gone; undefined while it runs. */
  async #engineFailure(): Promise<unknown> {
    try {
      return (await stoppedWithin(this.#docker, this.#containerId, ENGINE_CHECK_MS))
        ? new DockerError('the container stopped while the block ran')
        : undefined;
    } catch (error) {
      if (isDockerError(error)) return error;
      throw error;
    }
  }

  /** True when the engine reported an OOM kill in the container since `sinceMs`; false when it cannot say. */
  async #oomKilledSince(sinceMs: number): Promise<boolean> {
    try {
      return await oomKilledSince(this.#docker, this.#containerId, sinceMs);
    } catch (error) {
      if (isDockerError(error)) return false;
      throw error;
    }
  }

  /**
   * Kills the runner and everything the block started, from a second exec: the runner first (so
   * it reaps no more), then every process that started at or after the block's main process
   * (the exec path's killer). False when the container could not start the killer (no process
   * slot left): the caller restarts the container.
   */
  async #killFromOutside(channel: Channel, pending: Pending): Promise<boolean> {
    channel.dead = true;
    const user = this.#options.user;
    const run = (cmd: string[]) =>
      this.#docker.exec.run(this.#containerId, cmd, { ...(user !== undefined ? { user } : {}), signal: AbortSignal.timeout(10_000) }).then(
        (result) => result.exitCode === 0,
        (error: unknown) => !isDockerApiError(error),
      );
    const runnerPid = channel.hello?.pid;
    let ok = true;
    if (runnerPid !== undefined) ok = await run(['sh', '-c', 'kill -KILL "$1" 2>/dev/null; exit 0', 'berth-kill', String(runnerPid)]);
    const t0 = pending.started?.t0;
    if (ok) ok = await run(['sh', '-c', KILLER, 'berth-kill', 'KILL', pending.nonce, t0 === undefined ? '' : String(t0)]);
    await channel.stream.cancel().catch(() => {});
    return ok;
  }

  async dispose(): Promise<void> {
    if (this.#disposed) return;
    this.#disposed = true;
    const channel = this.#channel;
    this.#channel = undefined;
    if (!channel) return;
    try {
      // End of stdin: the runner kills a block still running and exits.
      await channel.stream.end();
      let timer: ReturnType<typeof setTimeout> | undefined;
      await Promise.race([
        channel.ended,
        new Promise<void>((resolve) => {
          timer = setTimeout(resolve, DISPOSE_WAIT_MS);
        }),
      ]);
      clearTimeout(timer);
    } catch {
      // The stream is already gone.
    } finally {
      await channel.stream.cancel().catch(() => {});
    }
  }
}

/** The run message (docs/runner-protocol.md). */
interface BlockSpec {
  kind: 'python' | 'exec';
  file: string;
  nonce: string;
  env: string[];
  cap: [number, number];
  timeout: number;
  grace: number;
  reap: boolean;
  persistent: boolean;
  argv0?: string[];
  missing?: string;
}

function blockSpec(ctx: BlockContext, language: string, file: string, persistent: boolean): BlockSpec {
  const interpreter = languageSpec(language)?.interpreter ?? language;
  const spec: BlockSpec = {
    kind: interpreter === 'python' ? 'python' : 'exec',
    file,
    nonce: randomBytes(12).toString('hex'),
    env: [...ctx.env],
    cap: [ctx.budget.stdout, ctx.budget.stderr],
    timeout: ctx.timeout,
    grace: TERM_GRACE_MS / 1000,
    reap: ctx.reapAfterBlock,
    persistent,
  };
  if (interpreter === 'pwsh') {
    spec.argv0 = ['pwsh', 'powershell'];
    spec.missing = PWSH_MISSING;
  } else if (interpreter !== 'python') spec.argv0 = [interpreter];
  return spec;
}

/** An outcome for a block the runner never got. */
function outcomeOf(ctx: BlockContext, fields: { exitCode: number; note: string; needsReset: boolean }): RunnerOutcome {
  ctx.onOutput?.({ stream: 'stderr', text: fields.note });
  return {
    exitCode: fields.exitCode,
    output: fields.note,
    stdout: '',
    stderr: fields.note,
    timedOut: false,
    cancelled: false,
    truncated: false,
    failure: undefined,
    needsReset: fields.needsReset,
    images: [],
    stateLost: false,
  };
}

/**
 * Starts the runner: one exec with stdin and stdout attached. Undefined when it ended before its
 * hello (no python, a python too old, an image without `sh`).
 */
async function spawnRunner(docker: DockerClient, containerId: string, options: RunnerBackendOptions): Promise<Channel | undefined> {
  const code = new TextEncoder().encode(await runnerSource());
  const { Id } = await docker.exec.create(containerId, {
    Cmd: ['sh', '-c', BOOT, 'berth-runner', String(code.length)],
    AttachStdin: true,
    AttachStdout: true,
    AttachStderr: true,
    Tty: false,
    Env: [...options.env],
    WorkingDir: '/workspace',
    ...(options.user !== undefined ? { User: options.user } : {}),
  });
  const stream = await docker.exec.start(Id, { stdin: true });
  const channel = new Channel(stream);
  await stream.write(code).catch(() => {});
  let timer: ReturnType<typeof setTimeout> | undefined;
  const hello = await Promise.race([
    channel.helloReceived,
    new Promise<undefined>((resolve) => {
      timer = setTimeout(() => resolve(undefined), options.helloTimeoutMs ?? 30_000);
    }),
  ]);
  clearTimeout(timer);
  if (!hello) {
    await stream.cancel().catch(() => {});
    return undefined;
  }
  return channel;
}

/**
 * The runner backend's factory, as the executor calls it after each container (re)start:
 * undefined means "use the exec path" (no usable python in the image).
 */
export function createRunnerBackend(
  docker: DockerClient,
  containerId: string,
  options: RunnerBackendOptions,
): Promise<RunnerBackend | undefined> {
  return RunnerBackend.create(docker, containerId, options);
}
