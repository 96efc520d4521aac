/**
 * Errors thrown by the engine client. A few classes with stable `code` strings, not one class per
 * status. Use the `is…` guards rather than `instanceof`: they recognise errors from another copy
 * of the package (two versions in one `node_modules`, or a bundled copy).
 *
 * @module
 */

import type { ContainerPathType } from './archive.js';

const BRAND = Symbol.for('berth.error');

/** Stable error codes. A new code may be added in a minor release; existing ones never change. */
export type DockerErrorCode =
  | 'BERTH_ERR'
  | 'BERTH_ERR_CONNECTION'
  | 'BERTH_ERR_API'
  | 'BERTH_ERR_STREAM'
  | 'BERTH_ERR_INVALID_ARGUMENT'
  | 'BERTH_ERR_NOT_A_FILE'
  | 'BERTH_ERR_CLOSED'
  | 'BERTH_ERR_UNSUPPORTED_ENGINE'
  | 'BERTH_ERR_EXECUTOR'
  | 'BERTH_ERR_BUILD'
  | 'BERTH_ERR_CREDENTIALS'
  | 'BERTH_ERR_FIXTURE_MISMATCH';

/** Base class of every error Berth throws. `code` is stable; `message` is for people. */
export class DockerError extends Error {
  /** Stable, machine-readable error code. */
  readonly code: DockerErrorCode;
  override name = 'DockerError';
  constructor(message: string, options?: { cause?: unknown; code?: DockerErrorCode }) {
    super(message, options?.cause === undefined ? undefined : { cause: options.cause });
    this.code = options?.code ?? 'BERTH_ERR';
    Object.defineProperty(this, BRAND, { value: this.code, enumerable: false });
  }
}

/**
 * The engine could not be reached: no socket, refused, permission denied, TLS failure, a timeout
 * before the response headers, or the connection dropped mid-response. `tried` lists every
 * address that was attempted and `osCode` is the operating system's error code when there is one.
 */
export class DockerConnectionError extends DockerError {
  override name = 'DockerConnectionError';
  /** Every engine address that was tried, in order (e.g. `unix:///var/run/docker.sock`). */
  readonly tried: readonly string[];
  /** The OS error code (`ENOENT`, `ECONNREFUSED`, `EACCES`, …) when one caused this error. */
  readonly osCode: string | undefined;
  /** Output that arrived before the connection failed, when the failure interrupted a stream. */
  partialOutput?: { stdout: Uint8Array; stderr: Uint8Array } | undefined;
  constructor(message: string, options: { tried: readonly string[]; cause?: unknown; osCode?: string | undefined }) {
    super(message, { cause: options.cause, code: 'BERTH_ERR_CONNECTION' });
    this.tried = options.tried;
    this.osCode = options.osCode ?? osCodeOf(options.cause);
  }
}

/** Why the engine refused a request, derived from the HTTP status. */
export type DockerApiErrorReason =
  | 'notModified'
  | 'invalidArgument'
  | 'unauthorized'
  | 'forbidden'
  | 'notFound'
  | 'conflict'
  | 'internal'
  | 'unavailable'
  | 'unknown';

/** Maps an HTTP status of the Engine API to a {@link DockerApiErrorReason}. */
export function reasonForStatus(status: number): DockerApiErrorReason {
  switch (status) {
    case 304:
      return 'notModified';
    case 400:
      return 'invalidArgument';
    case 401:
      return 'unauthorized';
    case 403:
      return 'forbidden';
    case 404:
      return 'notFound';
    case 409:
      return 'conflict';
    case 500:
      return 'internal';
    case 503:
      return 'unavailable';
    default:
      return 'unknown';
  }
}

/**
 * What a `notFound` error is about, read from the engine's message (Docker's and Podman's
 * wordings): `container`, `image`, `exec` (an exec instance), `path` (inside a container),
 * `network` or `volume`. Undefined when the message does not say.
 */
export type DockerApiErrorResource = 'container' | 'image' | 'exec' | 'path' | 'network' | 'volume';

const RESOURCE_MESSAGES: readonly [RegExp, DockerApiErrorResource][] = [
  [/no such exec/i, 'exec'],
  [/no such container|no container with name or id/i, 'container'],
  [/no such image|image not known|reference does not exist|repository .* not found|manifest unknown/i, 'image'],
  [/could not find the file|no such file or directory/i, 'path'],
  [/no such network|network .* not found|unable to find network/i, 'network'],
  [/no such volume|volume .* not found|no volume with name/i, 'volume'],
];

/** The resource a `notFound` message names, if it names one. */
export function resourceOfMessage(message: string): DockerApiErrorResource | undefined {
  return RESOURCE_MESSAGES.find(([pattern]) => pattern.test(message))?.[1];
}

/**
 * The engine answered with an error status. `message` is the daemon's own message (from its
 * `{"message": "..."}` body); `reason` is the category of `statusCode`.
 */
export class DockerApiError extends DockerError {
  override name = 'DockerApiError';
  /** The HTTP status code. */
  readonly statusCode: number;
  /** The category of the status code: `notFound`, `conflict`, … */
  readonly reason: DockerApiErrorReason;
  /** HTTP method of the failed request. */
  readonly method: string;
  /** Path of the failed request, with its API version prefix and query. */
  readonly path: string;
  /** The daemon's message, verbatim. */
  readonly daemonMessage: string;
  /** For `notFound`: what was missing (`container`, `image`, `path`, …) when the engine's message says; else undefined. */
  readonly resource: DockerApiErrorResource | undefined;
  /**
   * @param options The answer; `hint` (what to do about it) is added to the message; `resource`
   * says what was not found when the message cannot (a HEAD answer has no body).
   */
  constructor(options: {
    statusCode: number;
    method: string;
    path: string;
    daemonMessage: string;
    cause?: unknown;
    hint?: string | undefined;
    resource?: DockerApiErrorResource | undefined;
  }) {
    // Podman answers 500 `…: container state improper` where Docker answers 409 (removing a running
    // container, killing or exec'ing into a stopped one): the same conflict, so the same reason.
    // `statusCode` stays the one on the wire.
    const reason =
      options.statusCode === 500 && /container state improper$/.test(options.daemonMessage)
        ? 'conflict'
        : reasonForStatus(options.statusCode);
    super(
      `${options.daemonMessage || `HTTP ${options.statusCode}`} (${options.statusCode} ${reason} from ${options.method} ${options.path})${options.hint ? `; ${options.hint}` : ''}`,
      { cause: options.cause, code: 'BERTH_ERR_API' },
    );
    this.statusCode = options.statusCode;
    this.reason = reason;
    this.method = options.method;
    this.path = options.path;
    this.daemonMessage = options.daemonMessage;
    this.resource = reason === 'notFound' ? (options.resource ?? resourceOfMessage(options.daemonMessage)) : undefined;
  }
}

/**
 * A stream from the engine could not be decoded: an unknown stream type, a frame cut off at the
 * end, invalid JSON in a JSON-lines stream, a line or frame over the size bound, or an error
 * the engine reported inside a stream (stream type 3, or an `error` field in pull progress).
 */
export class DockerStreamError extends DockerError {
  override name = 'DockerStreamError';
  /** Output that was decoded before the stream broke, when the failure interrupted an exec. */
  partialOutput?: { stdout: Uint8Array; stderr: Uint8Array } | undefined;
  constructor(message: string, options?: { cause?: unknown }) {
    super(message, { cause: options?.cause, code: 'BERTH_ERR_STREAM' });
  }
}

/** An argument was rejected before any I/O: an empty or malformed ID, reference or option. */
export class DockerArgumentError extends DockerError {
  override name = 'DockerArgumentError';
  /** The name of the argument that was wrong. */
  readonly argument: string;
  constructor(argument: string, message: string) {
    super(`${argument}: ${message}`, { code: 'BERTH_ERR_INVALID_ARGUMENT' });
    this.argument = argument;
  }
}

/**
 * A path in a container is not a regular file where one is needed (`containers.readFile` of a
 * folder, a symbolic link or a device). `pathType` says what it is.
 */
export class DockerNotAFileError extends DockerError {
  override name = 'DockerNotAFileError';
  /** The container. */
  readonly containerId: string;
  /** The path inside the container. */
  readonly path: string;
  /** What the path is. */
  readonly pathType: ContainerPathType;
  constructor(options: { containerId: string; path: string; pathType: ContainerPathType; linkTarget?: string | undefined }) {
    const what = PATH_TYPE_WORDS[options.pathType];
    const target = options.pathType === 'symlink' && options.linkTarget ? ` to ${options.linkTarget}` : '';
    super(`${options.path} in container ${options.containerId} is ${what}${target}, not a regular file`, { code: 'BERTH_ERR_NOT_A_FILE' });
    this.containerId = options.containerId;
    this.path = options.path;
    this.pathType = options.pathType;
  }
}

const PATH_TYPE_WORDS: Record<ContainerPathType, string> = {
  file: 'a regular file',
  directory: 'a directory',
  symlink: 'a symbolic link',
  blockDevice: 'a block device',
  characterDevice: 'a character device',
  fifo: 'a named pipe (FIFO)',
  socket: 'a socket',
  irregular: 'an irregular file',
};

/**
 * An image build failed: a step's command exited non-zero, the Dockerfile was refused, a base
 * image was missing. `step` is the failing step as the engine printed it (`Step 2/3 : RUN make`)
 * and `output` what that step printed before it failed.
 */
export class DockerBuildError extends DockerError {
  override name = 'DockerBuildError';
  /** The failing step as the engine printed it (`Step 2/3 : RUN make`, Podman: `STEP 2/3: RUN make`); undefined when the build failed before the first step. */
  readonly step: string | undefined;
  /** What the failing step printed (its stdout and stderr, as the engine streamed them). */
  readonly output: string;
  /** The command's exit code when a `RUN` step failed (`returned a non-zero code: N`). */
  readonly exitCode: number | undefined;
  /** The engine's error message, verbatim. */
  readonly daemonMessage: string;
  constructor(options: { daemonMessage: string; step?: string | undefined; output?: string | undefined; cause?: unknown }) {
    const where = options.step ? ` at ${options.step}` : '';
    super(`image build failed${where}: ${options.daemonMessage}`, { cause: options.cause, code: 'BERTH_ERR_BUILD' });
    this.daemonMessage = options.daemonMessage;
    this.step = options.step;
    this.output = options.output ?? '';
    const code = /returned a non-zero code: (\d+)|exit status (\d+)/.exec(options.daemonMessage);
    this.exitCode = code ? Number(code[1] ?? code[2]) : undefined;
  }
}

/**
 * Registry credentials could not be found or read: a malformed `config.json`, a credential
 * helper that is missing, failed or answered nonsense. `helper` names the helper program.
 */
export class DockerCredentialsError extends DockerError {
  override name = 'DockerCredentialsError';
  /** The credential helper program (`docker-credential-NAME`), when one was involved. */
  readonly helper: string | undefined;
  /** The registry whose credentials were looked up (`https://index.docker.io/v1/`, `localhost:5000`). */
  readonly registry: string;
  constructor(message: string, options: { registry: string; helper?: string | undefined; cause?: unknown }) {
    super(message, { cause: options.cause, code: 'BERTH_ERR_CREDENTIALS' });
    this.helper = options.helper;
    this.registry = options.registry;
  }
}

function hasCode(value: unknown, codes: readonly DockerErrorCode[]): boolean {
  if (typeof value !== 'object' || value === null) return false;
  const brand = (value as Record<symbol, unknown>)[BRAND];
  return typeof brand === 'string' && codes.includes(brand as DockerErrorCode);
}

/**
 * True for any error Berth threw, from any copy of the package: the brand holds a Berth code
 * (`BERTH_ERR…`; a newer copy may carry a code this one does not know).
 */
export function isDockerError(value: unknown): value is DockerError {
  if (typeof value !== 'object' || value === null) return false;
  const brand = (value as Record<symbol, unknown>)[BRAND];
  return typeof brand === 'string' && /^BERTH_ERR(?:_[A-Z0-9_]+)?$/.test(brand);
}
/** True for a {@link DockerConnectionError}, from any copy of the package. */
export function isDockerConnectionError(value: unknown): value is DockerConnectionError {
  return hasCode(value, ['BERTH_ERR_CONNECTION']);
}
/** True for a {@link DockerApiError}, from any copy of the package. */
export function isDockerApiError(value: unknown): value is DockerApiError {
  return hasCode(value, ['BERTH_ERR_API']);
}
/** True for a {@link DockerStreamError}, from any copy of the package. */
export function isDockerStreamError(value: unknown): value is DockerStreamError {
  return hasCode(value, ['BERTH_ERR_STREAM']);
}
/** True for a {@link DockerArgumentError}, from any copy of the package. */
export function isDockerArgumentError(value: unknown): value is DockerArgumentError {
  return hasCode(value, ['BERTH_ERR_INVALID_ARGUMENT']);
}

/** True for a {@link DockerNotAFileError}, from any copy of the package. */
export function isDockerNotAFileError(value: unknown): value is DockerNotAFileError {
  return hasCode(value, ['BERTH_ERR_NOT_A_FILE']);
}
/** True for a {@link DockerBuildError}, from any copy of the package. */
export function isDockerBuildError(value: unknown): value is DockerBuildError {
  return hasCode(value, ['BERTH_ERR_BUILD']);
}
/** True for a {@link DockerCredentialsError}, from any copy of the package. */
export function isDockerCredentialsError(value: unknown): value is DockerCredentialsError {
  return hasCode(value, ['BERTH_ERR_CREDENTIALS']);
}

/** Reads `code` (e.g. `ENOENT`) from an error or its causes. */
export function osCodeOf(error: unknown): string | undefined {
  let current: unknown = error;
  for (let depth = 0; depth < 5 && typeof current === 'object' && current !== null; depth++) {
    const code = (current as { code?: unknown }).code;
    if (typeof code === 'string' && /^E[A-Z0-9_]+$/.test(code)) return code;
    current = (current as { cause?: unknown }).cause;
  }
  return undefined;
}
