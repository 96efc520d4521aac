/**
 * The transport over the WHATWG `fetch`: the Bun and Deno adapters' plain requests (their `fetch`
 * reaches a unix socket with Bun's `unix` option or Deno's `client`), and the unit tests' (msw
 * intercepts `globalThis.fetch`). It gives what the Node transport gives too: a time limit for
 * the response headers, a silence limit between body chunks, the caller's abort reason as the
 * rejection, and {@link connectionError} for everything else. Pure web-standard code: runs on
 * Node, Bun and Deno.
 *
 * @module
 */

import { DockerError } from '../errors.js';
import { toReadableStream } from '../stream/collect.js';
import { connectionError } from './connection-error.js';
import type { HijackedConnection, Transport, TransportRequest, TransportResponse } from './types.js';

/** Options of {@link createFetchTransport}. */
export interface FetchTransportOptions {
  /** Base URL the request path is appended to. Default `http://docker.invalid` (never resolved by msw). */
  baseUrl?: string | undefined;
  /** The fetch to use. Default: `globalThis.fetch` at call time, so msw can intercept it. */
  fetch?: typeof globalThis.fetch | undefined;
  /** Extra `RequestInit` fields per request (Bun's `unix` and `tls`, Deno's `client`). */
  init?: Record<string, unknown> | undefined;
  /** Address shown in error messages. Default: the base URL. */
  address?: string | undefined;
  /** Milliseconds to wait for response headers when a request sets none; 0 waits forever. Default 60000. */
  headersTimeout?: number | undefined;
}

/**
 * Creates a transport over `fetch`. It cannot hijack a connection: attach and exec with stdin
 * need a socket transport (the Bun and Deno adapters add theirs). `close()` has nothing to close:
 * the fetch owns its connections.
 */
export function createFetchTransport(options: FetchTransportOptions = {}): Transport {
  const origin = (options.baseUrl ?? 'http://docker.invalid').replace(/\/$/, '');
  const address = options.address ?? origin;
  const settings = { origin, address, headersTimeout: options.headersTimeout ?? 60_000, init: options.init ?? {} };
  // Read at call time, not here: msw replaces `globalThis.fetch` after the transport may be made.
  const doFetch = (url: string, init: Record<string, unknown>) => (options.fetch ?? globalThis.fetch)(url, init as RequestInit);
  return {
    address,
    request: (request) => fetchRequest(doFetch, settings, request),
    async hijack(): Promise<HijackedConnection> {
      throw new DockerError(
        `the fetch transport (${address}) cannot hijack a connection: attach and exec with stdin need a socket transport`,
      );
    },
    async close() {},
  };
}

/**
 * Sends one request with a runtime's fetch and adapts the answer to the transport contract.
 *
 * @param doFetch The runtime's fetch, with its socket options already bound or passed in `init`.
 * @param options `origin` the path is appended to, `address` for messages, the default
 * `headersTimeout` (0 waits forever) and extra `init` fields (Bun's `unix`, `tls`, `timeout`).
 * @param request The request.
 * @throws DockerConnectionError when the engine cannot be reached or does not answer in time; the signal's reason when aborted.
 */
async function fetchRequest(
  doFetch: (url: string, init: Record<string, unknown>) => Promise<Response>,
  options: { origin: string; address: string; headersTimeout: number; init: Record<string, unknown> },
  request: TransportRequest,
): Promise<TransportResponse> {
  const { address } = options;
  const signal = request.signal;
  signal?.throwIfAborted();
  // Our own controller: it carries the caller's abort, and the header and body time limits.
  const controller = new AbortController();
  let timedOut: Error | undefined;
  const onAbort = () => controller.abort(signal?.reason);
  signal?.addEventListener('abort', onAbort, { once: true });
  const expire = (error: Error) => {
    timedOut = error;
    controller.abort(error);
  };
  const headersTimeout = request.headersTimeout ?? options.headersTimeout;
  let timer: ReturnType<typeof setTimeout> | undefined;
  if (headersTimeout > 0) {
    timer = setTimeout(
      () => expire(Object.assign(new Error(`no response headers within ${headersTimeout} ms`), { code: 'UND_ERR_HEADERS_TIMEOUT' })),
      headersTimeout,
    );
  }
  const release = () => {
    clearTimeout(timer);
    signal?.removeEventListener('abort', onAbort);
  };
  const failure = (error: unknown, what?: string): unknown => {
    if (signal?.aborted) return signal.reason;
    return connectionError(address, timedOut ?? error, what);
  };

  let body: BodyInit | null = null;
  if (typeof request.body === 'string' || request.body instanceof Uint8Array) body = request.body as BodyInit;
  else if (request.body !== undefined) body = toReadableStream(request.body);
  let response: Response;
  try {
    response = await doFetch(options.origin + request.path, {
      ...options.init,
      method: request.method,
      headers: request.headers,
      body,
      signal: controller.signal,
      redirect: 'manual',
      ...(body instanceof ReadableStream ? { duplex: 'half' } : {}),
    });
  } catch (error) {
    release();
    throw failure(error);
  }
  clearTimeout(timer);
  const headers: Record<string, string> = {};
  response.headers.forEach((value, name) => {
    headers[name.toLowerCase()] = value;
  });
  const stream = response.body;
  const bodyTimeout = request.bodyTimeout ?? 0;
  let started = false;
  let done = false;
  let cancelled = false;
  return {
    status: response.status,
    headers,
    body: {
      async *[Symbol.asyncIterator]() {
        if (started || done || !stream) {
          release();
          return;
        }
        started = true;
        // Each read races our controller's abort (the caller's signal, a time limit, cancel()):
        // a runtime's fetch does not always error a body read that is pending when the request is
        // aborted (Deno, now and then, on a followed log stream), and the iteration must end then.
        const aborted = new Promise<never>((_, reject) => {
          const own = controller.signal;
          if (own.aborted) reject(own.reason);
          else own.addEventListener('abort', () => reject(own.reason), { once: true });
        });
        aborted.catch(() => {});
        const reader = stream.getReader();
        let finished = false;
        try {
          for (;;) {
            if (bodyTimeout > 0) {
              timer = setTimeout(
                () => expire(Object.assign(new Error(`no body data for ${bodyTimeout} ms`), { code: 'UND_ERR_BODY_TIMEOUT' })),
                bodyTimeout,
              );
            }
            let next: ReadableStreamReadResult<Uint8Array>;
            try {
              next = await Promise.race([reader.read(), aborted]);
            } catch (error) {
              // Cancelled while a read was pending: the end the caller asked for, not a failure.
              if (cancelled) return;
              throw failure(error, 'the connection to the engine failed while reading the response');
            } finally {
              clearTimeout(timer);
            }
            if (next.done) {
              finished = true;
              return;
            }
            yield next.value;
          }
        } finally {
          done = true;
          release();
          // Not awaited: the cancel of a tee'd body (msw's clone) settles only with its twin.
          if (!finished) void reader.cancel().catch(() => {});
          try {
            reader.releaseLock();
          } catch {
            // A runtime that refuses to release a reader with a read pending: the abort ends it.
          }
        }
      },
      async cancel(reason?: unknown) {
        if (done) return;
        done = true;
        cancelled = true;
        release();
        // A body being read is cancelled through its reader (the iterator's `return`); one never
        // read is cancelled here. The abort makes sure the connection goes either way.
        if (stream && !stream.locked) void stream.cancel(reason).catch(() => {});
        controller.abort(reason);
      },
    },
  };
}
