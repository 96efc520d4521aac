import { DockerApiError, DockerArgumentError, DockerError, DockerStreamError } from '../errors.js';
import type { HijackedConnection, Transport, TransportRequest, TransportRequestBody, TransportResponse } from '../transport/types.js';
import { encodeQuery, type QueryValue } from './query.js';

/** The oldest Engine API version Berth speaks (Debian's dockerd 20.10). */
export const MIN_API_VERSION = '1.41';
/** The newest Engine API version whose fields Berth types. */
export const MAX_API_VERSION = '1.47';

/** Options of one request through the core. */
export interface CoreRequestOptions {
  query?: Record<string, QueryValue> | undefined;
  /** A JSON body (serialised here). */
  json?: unknown;
  /** A raw body with its content type. */
  body?: TransportRequestBody | undefined;
  contentType?: string | undefined;
  headers?: Record<string, string> | undefined;
  signal?: AbortSignal | undefined;
  /** Statuses other than 2xx that are not errors (e.g. 304 for start/stop). */
  okStatuses?: readonly number[] | undefined;
  /** Milliseconds to wait for headers; 0 waits forever (long polls such as wait). */
  headersTimeout?: number | undefined;
  /** Leave the path unversioned (`/_ping`). */
  unversioned?: boolean | undefined;
}

/** Largest error body read; the rest is cancelled. */
const MAX_ERROR_BODY = 64 * 1024;
/** Largest JSON success body read (image lists of big hosts stay far below this). */
const MAX_JSON_BODY = 256 * 1024 * 1024;

/** Compares two `major.minor` API versions. */
export function compareVersions(a: string, b: string): number {
  const [am = 0, an = 0] = a.split('.').map(Number);
  const [bm = 0, bn = 0] = b.split('.').map(Number);
  return am !== bm ? am - bm : an - bn;
}

/**
 * The API version to speak with an engine whose newest is `version`: at most {@link MAX_API_VERSION}
 * (newer engines speak older versions too). An engine older than {@link MIN_API_VERSION} is not
 * raised to it (it would refuse every call): that is the caller's error to report.
 */
export function clampVersion(version: string): string {
  if (!/^\d+\.\d+$/.test(version)) return MIN_API_VERSION;
  if (compareVersions(version, MAX_API_VERSION) > 0) return MAX_API_VERSION;
  return version;
}

/** The error for an engine whose newest API version is older than {@link MIN_API_VERSION}. */
export function unsupportedEngine(address: string, apiVersion: string, server: string | undefined): DockerError {
  return new DockerError(
    `the engine at ${address}${server ? ` (${server})` : ''} speaks Engine API ${apiVersion} at most; Berth needs ${MIN_API_VERSION} or newer ` +
      '(Docker Engine 20.10 or later, Podman 4 or later): upgrade the engine',
    { code: 'BERTH_ERR_UNSUPPORTED_ENGINE' },
  );
}

/**
 * The request core: versioned paths, query and JSON encoding, one place that maps an error status
 * to a {@link DockerApiError}, and lazy API version negotiation (one `/_ping` per client, shared by
 * concurrent first calls; a failed negotiation is retried by the next call).
 */
export class HttpCore {
  readonly #getTransport: () => Transport;
  readonly #pinned: string | undefined;
  #negotiation: Promise<string> | undefined;
  #version: string | undefined;

  constructor(getTransport: () => Transport, apiVersion?: string) {
    if (apiVersion !== undefined && !/^\d+\.\d+$/.test(apiVersion)) {
      throw new DockerArgumentError('apiVersion', `expected major.minor such as 1.41, got ${JSON.stringify(apiVersion)}`);
    }
    if (apiVersion !== undefined && compareVersions(apiVersion, MIN_API_VERSION) < 0) {
      throw new DockerArgumentError('apiVersion', `Berth speaks Engine API ${MIN_API_VERSION} or newer, got ${apiVersion}`);
    }
    this.#getTransport = getTransport;
    this.#pinned = apiVersion;
    this.#version = apiVersion;
  }

  /** The transport requests go through (created on first use). */
  get transport(): Transport {
    return this.#getTransport();
  }

  /** The negotiated (or pinned) API version, negotiating on first call. */
  async apiVersion(signal?: AbortSignal): Promise<string> {
    if (this.#version) return this.#version;
    if (!this.#negotiation) {
      // The negotiation is shared: it must not end because the caller that started it gave up.
      this.#negotiation = this.#negotiate().then(
        (version) => {
          this.#version = version;
          return version;
        },
        (error: unknown) => {
          this.#negotiation = undefined;
          throw error;
        },
      );
    }
    if (!signal) return this.#negotiation;
    // A caller's abort ends its own wait, not the shared negotiation.
    signal.throwIfAborted();
    return new Promise<string>((resolve, reject) => {
      const onAbort = () => reject(signal.reason);
      signal.addEventListener('abort', onAbort, { once: true });
      (this.#negotiation as Promise<string>).then(resolve, reject).finally(() => signal.removeEventListener('abort', onAbort));
    });
  }

  /** True when the API version in use is at least `version` (negotiating if needed). */
  async atLeast(version: string, signal?: AbortSignal): Promise<boolean> {
    return compareVersions(await this.apiVersion(signal), version) >= 0;
  }

  async #negotiate(): Promise<string> {
    if (this.#pinned) return this.#pinned;
    const response = await this.transport.request({ method: 'GET', path: '/_ping', headers: {}, headersTimeout: 30_000 });
    const header = response.headers['api-version'];
    // An engine that is starting or failing may answer /_ping with an error and no version: that
    // is a failed negotiation (retried by the next call), not a reason to settle on 1.41 for good.
    if (!header && !isOk(response.status, undefined)) throw await apiError(response, 'GET', '/_ping');
    await response.body.cancel();
    if (!header) return MIN_API_VERSION;
    const version = clampVersion(header);
    if (compareVersions(version, MIN_API_VERSION) < 0) throw unsupportedEngine(this.transport.address, version, response.headers.server);
    return version;
  }

  /**
   * Refuses an option the API version in use does not have, rather than sending it to an engine
   * that would ignore it or refuse the whole call.
   * @throws DockerError `BERTH_ERR_UNSUPPORTED_ENGINE` naming the option and both versions.
   */
  async requireVersion(version: string, option: string, signal?: AbortSignal): Promise<void> {
    const inUse = await this.apiVersion(signal);
    if (compareVersions(inUse, version) >= 0) return;
    throw new DockerError(`${option} needs Engine API ${version} or newer; the engine speaks ${inUse}`, {
      code: 'BERTH_ERR_UNSUPPORTED_ENGINE',
    });
  }

  async #path(path: string, options: CoreRequestOptions): Promise<string> {
    const prefix = options.unversioned ? '' : `/v${await this.apiVersion(options.signal)}`;
    return `${prefix}${path}${encodeQuery(options.query)}`;
  }

  #build(method: TransportRequest['method'], fullPath: string, options: CoreRequestOptions): TransportRequest {
    const headers: Record<string, string> = { ...options.headers };
    let body: TransportRequestBody | undefined = options.body;
    if (options.json !== undefined) {
      body = JSON.stringify(options.json);
      headers['content-type'] = 'application/json';
    } else if (options.contentType) headers['content-type'] = options.contentType;
    return { method, path: fullPath, headers, body, signal: options.signal, headersTimeout: options.headersTimeout };
  }

  /** Sends a request; rejects with {@link DockerApiError} for an error status. The body is the caller's to consume. */
  async request(method: TransportRequest['method'], path: string, options: CoreRequestOptions = {}): Promise<TransportResponse> {
    options.signal?.throwIfAborted();
    const fullPath = await this.#path(path, options);
    const response = await this.transport.request(this.#build(method, fullPath, options));
    if (isOk(response.status, options.okStatuses)) return response;
    throw await apiError(response, method, fullPath);
  }

  /** Sends an upgrade request; rejects with {@link DockerApiError} when the engine refuses it. */
  async hijack(method: TransportRequest['method'], path: string, options: CoreRequestOptions = {}): Promise<HijackedConnection> {
    options.signal?.throwIfAborted();
    const fullPath = await this.#path(path, options);
    const connection = await this.transport.hijack(this.#build(method, fullPath, options));
    // 101 Switching Protocols is the engine's yes; old engines answer 200 and stream anyway.
    if (connection.status === 101 || isOk(connection.status, options.okStatuses)) return connection;
    const error = await apiError(connection, method, fullPath);
    connection.close();
    throw error;
  }

  /** Sends a request and parses its JSON answer. */
  async json<T>(method: TransportRequest['method'], path: string, options: CoreRequestOptions = {}): Promise<T> {
    const response = await this.request(method, path, options);
    const text = await readText(response, MAX_JSON_BODY);
    if (text.trim() === '') return undefined as T;
    try {
      return JSON.parse(text) as T;
    } catch (cause) {
      throw new DockerStreamError(`invalid JSON from ${method} ${path}: ${text.slice(0, 200)}`, { cause });
    }
  }

  /** Sends a request whose answer carries no data (204, or a body that is discarded). */
  async empty(method: TransportRequest['method'], path: string, options: CoreRequestOptions = {}): Promise<number> {
    const response = await this.request(method, path, options);
    await drain(response);
    return response.status;
  }
}

function isOk(status: number, extra: readonly number[] | undefined): boolean {
  return (status >= 200 && status < 300) || (extra?.includes(status) ?? false);
}

/** Reads a whole body as UTF-8 text, failing past `limit` bytes; the body is always consumed or cancelled. */
export async function readText(response: TransportResponse, limit: number): Promise<string> {
  const chunks: Uint8Array[] = [];
  let size = 0;
  try {
    for await (const chunk of response.body) {
      size += chunk.length;
      if (size > limit) throw new DockerStreamError(`response body over ${limit} bytes`);
      chunks.push(chunk);
    }
  } finally {
    await response.body.cancel();
  }
  const all = new Uint8Array(size);
  let offset = 0;
  for (const chunk of chunks) {
    all.set(chunk, offset);
    offset += chunk.length;
  }
  return new TextDecoder().decode(all);
}

async function drain(response: TransportResponse): Promise<void> {
  try {
    for await (const _ of response.body) {
      // discard
    }
  } finally {
    await response.body.cancel();
  }
}

/** Reads an error answer with a size bound and builds the {@link DockerApiError}. */
async function apiError(response: TransportResponse, method: string, path: string): Promise<DockerApiError> {
  const chunks: Uint8Array[] = [];
  let size = 0;
  let cause: unknown;
  try {
    for await (const chunk of response.body) {
      const room = MAX_ERROR_BODY - size;
      chunks.push(chunk.length > room ? chunk.subarray(0, room) : chunk);
      size += Math.min(room, chunk.length);
      if (size >= MAX_ERROR_BODY) break;
    }
  } catch (error) {
    cause = error;
  } finally {
    await response.body.cancel();
  }
  const bytes = new Uint8Array(size);
  let offset = 0;
  for (const chunk of chunks) {
    bytes.set(chunk, offset);
    offset += chunk.length;
  }
  const text = new TextDecoder().decode(bytes).trim();
  let message = text;
  try {
    const parsed = JSON.parse(text) as { message?: unknown };
    if (typeof parsed.message === 'string') message = parsed.message;
  } catch {
    // not JSON: keep the text (truncated bodies land here too)
  }
  return new DockerApiError({ statusCode: response.status, method, path, daemonMessage: message, cause });
}
