import { DockerArgumentError, DockerError, isDockerConnectionError, isDockerStreamError } from './errors.js';
import type { AttachedStream } from './frames.js';
import { attachedStream, isMultiplexed, outputStream } from './frames.js';
import type { HttpCore } from './http/core.js';
import type { CallOptions } from './options.js';
import { concatBytes } from './stream/collect.js';
import type { StdFrame } from './stream/demux.js';
import type { ExecCreateBody, ExecInspect } from './types.js';
import { checkCommand, checkContainerId, checkExecId, checkWholeNumber } from './validate.js';

/** Options of {@link ExecApi.start}. */
export interface ExecStartOptions extends CallOptions {
  /** Must match the exec's `Tty`: raw bytes instead of demultiplexed frames. Default false. */
  tty?: boolean | undefined;
  /** Hijack the connection so that stdin can be written (the exec must have `AttachStdin`). Default false. */
  stdin?: boolean | undefined;
  /** Start the process and return at once, without its output (see the `detach: true` overload). Default false. */
  detach?: boolean | undefined;
}

/** Options of {@link ExecApi.run}. */
export interface ExecRunOptions extends CallOptions {
  /** Environment as `KEY=value` strings or an object. */
  env?: readonly string[] | Record<string, string> | undefined;
  /** Working directory inside the container. Default: the container's. */
  workingDir?: string | undefined;
  /** User (`name`, `uid`, `uid:gid`). Default: the container's. */
  user?: string | undefined;
  privileged?: boolean | undefined;
  /** Run with a TTY: one merged raw stream, reported as stdout. Default false. */
  tty?: boolean | undefined;
  /**
   * Bytes to write to the process's stdin, which is then closed. Written while the output is read,
   * so any size works; a process that exits without reading all of it is not an error.
   */
  stdin?: string | Uint8Array | undefined;
  /** Called with every piece of output as it arrives. */
  onOutput?: ((frame: StdFrame) => void) | undefined;
  /** Most bytes kept per stream; past it output is read and dropped, and `truncated` is set. Default unlimited. */
  maxOutputBytes?: number | undefined;
}

/** The result of {@link ExecApi.run}: known only once both outputs are drained and the exit code is final. */
export interface ExecRunResult {
  execId: string;
  exitCode: number;
  /** Standard output, decoded as UTF-8 (invalid bytes become U+FFFD). */
  stdout: string;
  /** Standard error, decoded as UTF-8 (invalid bytes become U+FFFD). */
  stderr: string;
  /** Standard output, byte-exact. */
  stdoutBytes: Uint8Array;
  /** Standard error, byte-exact. */
  stderrBytes: Uint8Array;
  /** True when `maxOutputBytes` dropped some output. */
  truncated: boolean;
}

/** Exec endpoints: run commands in a running container. */
export class ExecApi {
  readonly #core: HttpCore;
  /** @internal */
  constructor(core: HttpCore) {
    this.#core = core;
  }

  /** `POST /containers/{id}/exec`: creates an exec instance; returns its ID. */
  async create(containerId: string, body: ExecCreateBody, options: CallOptions = {}): Promise<{ Id: string }> {
    checkContainerId(containerId, 'containerId');
    checkCommand((body as ExecCreateBody | undefined)?.Cmd, 'body.Cmd');
    return this.#core.json('POST', `/containers/${encodeURIComponent(containerId)}/exec`, { signal: options.signal, json: body });
  }

  /**
   * `POST /exec/{id}/start`: resolves to an async iterable of `{ stream, data }` frames (raw bytes,
   * all `stdout`, in TTY mode). Without `stdin` this is a plain request whose body the engine closes
   * when the process ends; with `stdin` the connection is hijacked and `write`/`end` feed it.
   */
  async start(execId: string, options?: ExecStartOptions & { detach?: false | undefined }): Promise<AttachedStream>;
  /**
   * `POST /exec/{id}/start` with `Detach`: starts the process and resolves once the engine has
   * started it, without its output (the process runs on; {@link ExecApi.inspect} tells when it ends).
   */
  async start(execId: string, options: ExecStartOptions & { detach: true }): Promise<void>;
  // biome-ignore lint/suspicious/noConfusingVoidType: the implementation of the two overloads above (stream, or nothing when detached)
  async start(execId: string, options: ExecStartOptions = {}): Promise<AttachedStream | void> {
    checkExecId(execId);
    const tty = options.tty ?? false;
    const path = `/exec/${encodeURIComponent(execId)}/start`;
    if (options.detach) {
      if (options.stdin) throw new DockerArgumentError('stdin', 'a detached exec has no stdin to write (leave out stdin or detach)');
      await this.#core.empty('POST', path, { signal: options.signal, json: { Detach: true, Tty: tty } });
      return;
    }
    if (options.stdin) {
      const connection = await this.#core.hijack('POST', path, {
        signal: options.signal,
        headersTimeout: 0,
        json: { Detach: false, Tty: tty },
      });
      return attachedStream(connection, await isMultiplexed(this.#core, connection, tty));
    }
    const response = await this.#core.request('POST', path, {
      signal: options.signal,
      headersTimeout: 0,
      json: { Detach: false, Tty: tty },
    });
    const stream = outputStream(response, await isMultiplexed(this.#core, response, tty));
    return {
      [Symbol.asyncIterator]: () => stream[Symbol.asyncIterator](),
      cancel: () => stream.cancel(),
      write: () =>
        Promise.reject(new DockerArgumentError('stdin', 'exec.start was called without { stdin: true }: there is no stdin to write to')),
      end: async () => {},
    };
  }

  /** `GET /exec/{id}/json`: state and exit code of an exec instance. */
  async inspect(execId: string, options: CallOptions = {}): Promise<ExecInspect> {
    checkExecId(execId);
    return this.#core.json('GET', `/exec/${encodeURIComponent(execId)}/json`, { signal: options.signal });
  }

  /** `POST /exec/{id}/resize`: resizes the TTY of an exec instance (rows `h`, columns `w`). */
  async resize(execId: string, options: CallOptions & { h: number; w: number }): Promise<void> {
    checkExecId(execId);
    checkWholeNumber(options?.h, 'h', 1);
    checkWholeNumber(options?.w, 'w', 1);
    await this.#core.empty('POST', `/exec/${encodeURIComponent(execId)}/resize`, {
      signal: options.signal,
      query: { h: options.h, w: options.w },
    });
  }

  /**
   * Runs `cmd` in a running container and resolves once both outputs are drained and the exit code
   * is known (create, start, read to the end, inspect until the engine reports the exit code).
   * Aborting stops reading; note that the engine cannot kill an exec, so the process itself may
   * run on (the executor kills it by PID).
   *
   * @throws DockerConnectionError if the engine goes away, DockerStreamError if the stream breaks; output that arrived before is on their `partialOutput`.
   */
  async run(containerId: string, cmd: readonly string[], options: ExecRunOptions = {}): Promise<ExecRunResult> {
    checkContainerId(containerId, 'containerId');
    checkCommand(cmd, 'cmd');
    checkWholeNumber(options.maxOutputBytes, 'maxOutputBytes');
    const env =
      options.env === undefined
        ? undefined
        : Array.isArray(options.env)
          ? [...options.env]
          : Object.entries(options.env).map(([k, v]) => `${k}=${v}`);
    const stdin = stdinBytes(options.stdin);
    const hasStdin = stdin !== undefined;
    const tty = options.tty ?? false;
    const body: ExecCreateBody = { Cmd: [...cmd], AttachStdout: true, AttachStderr: true, AttachStdin: hasStdin, Tty: tty };
    if (env) body.Env = env;
    if (options.workingDir !== undefined) body.WorkingDir = options.workingDir;
    if (options.user !== undefined) body.User = options.user;
    if (options.privileged !== undefined) body.Privileged = options.privileged;
    const { Id: execId } = await this.create(containerId, body, options);
    const stream = await this.start(execId, { signal: options.signal, tty, stdin: hasStdin });
    const limit = options.maxOutputBytes ?? Number.POSITIVE_INFINITY;
    const out = { stdout: [] as Uint8Array[], stderr: [] as Uint8Array[] };
    const sizes = { stdout: 0, stderr: 0 };
    let truncated = false;
    // Stdin is written while the output is read: a process such as `cat` stops reading its input
    // while its output is not drained, so writing everything first would wait forever.
    let outputEnded = false;
    let stdinDone = stdin === undefined;
    // Its failure is looked at only after the output (see below): caught here so it is never unhandled.
    const writing =
      stdin === undefined
        ? undefined
        : feedStdin(stream, stdin, () => outputEnded).then(
            () => {
              stdinDone = true;
            },
            () => {},
          );
    // Podman resets the connection when the process ends with stdin left unread (its socket still
    // holds our bytes): the output ends there, and the exit code says whether the process did.
    let reset: unknown;
    try {
      for await (const frame of stream) {
        options.onOutput?.(frame);
        const room = limit - sizes[frame.stream];
        if (room <= 0) {
          truncated = true;
          continue;
        }
        const data = frame.data.length > room ? frame.data.slice(0, room) : frame.data;
        if (data.length < frame.data.length) truncated = true;
        out[frame.stream].push(data);
        sizes[frame.stream] += data.length;
      }
    } catch (error) {
      const cutUnderStdin =
        !stdinDone && !options.signal?.aborted && isDockerConnectionError(error) && ['ECONNRESET', 'EPIPE'].includes(error.osCode ?? '');
      if (cutUnderStdin) reset = error;
      // Keep what arrived before the engine went away or the stream broke.
      else if (isDockerConnectionError(error) || isDockerStreamError(error)) {
        error.partialOutput = { stdout: concatBytes(out.stdout), stderr: concatBytes(out.stderr) };
      }
      if (!cutUnderStdin) throw error;
    } finally {
      outputEnded = true;
      await stream.cancel();
      // A process that exits without reading all of its stdin closes the connection under our
      // writes (EPIPE, ECONNRESET): its output and exit code are the result, not that failure.
      await writing;
    }
    const stdoutBytes = concatBytes(out.stdout, sizes.stdout);
    const stderrBytes = concatBytes(out.stderr, sizes.stderr);
    let exitCode: number;
    try {
      if (reset !== undefined && (await this.inspect(execId, { signal: options.signal })).Running) throw reset;
      exitCode = await this.#exitCode(execId, options.signal);
    } catch (error) {
      // A daemon that dies closes the (close-delimited) output cleanly: the failure shows only
      // here, when the exit code is asked for. Keep the output on that error too.
      if (isDockerConnectionError(error) || isDockerStreamError(error)) {
        error.partialOutput = { stdout: stdoutBytes, stderr: stderrBytes };
      }
      throw error;
    }
    const decoder = new TextDecoder();
    return {
      execId,
      exitCode,
      stdout: decoder.decode(stdoutBytes),
      stderr: decoder.decode(stderrBytes),
      stdoutBytes,
      stderrBytes,
      truncated,
    };
  }

  /** The engine may report `Running` for a moment after the output ends: poll briefly until the exit code is final. */
  async #exitCode(execId: string, signal: AbortSignal | undefined): Promise<number> {
    let delay = 1;
    for (let waited = 0; ; ) {
      const info = await this.inspect(execId, { signal });
      if (!info.Running && typeof info.ExitCode === 'number') return info.ExitCode;
      if (waited > 10_000) throw new DockerError(`exec ${execId} output ended but the engine reports no exit code after 10 s`);
      await new Promise((resolve) => setTimeout(resolve, delay));
      waited += delay;
      delay = Math.min(delay * 2, 50);
    }
  }
}

/** Bytes of stdin written per write: small enough to stop soon after the output ends. */
const STDIN_CHUNK = 256 * 1024;

function stdinBytes(stdin: unknown): Uint8Array | undefined {
  if (stdin === undefined) return undefined;
  if (typeof stdin === 'string') return new TextEncoder().encode(stdin);
  if (stdin instanceof Uint8Array) return stdin;
  throw new DockerArgumentError('stdin', `expected a string or a Uint8Array, got ${typeof stdin}`);
}

/** Writes `data` to the stream's stdin in pieces, then half-closes it; stops once the output has ended. */
async function feedStdin(stream: AttachedStream, data: Uint8Array, outputEnded: () => boolean): Promise<void> {
  for (let offset = 0; offset < data.length && !outputEnded(); offset += STDIN_CHUNK) {
    await stream.write(data.subarray(offset, offset + STDIN_CHUNK));
  }
  if (!outputEnded()) await stream.end();
}
