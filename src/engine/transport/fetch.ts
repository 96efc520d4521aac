import { DockerConnectionError, DockerError } from '../errors.js';
import { iterateReadable, toReadableStream } from '../stream/collect.js';
import type { HijackedConnection, Transport, TransportRequest, TransportResponse } from './types.js';

/** Options of {@link createFetchTransport}. */
export interface FetchTransportOptions {
  /** Base URL the request path is appended to. Default `http://docker.invalid` (never resolved by msw). */
  baseUrl?: string;
  /** The fetch to use. Default: `globalThis.fetch` at call time, so msw can intercept it. */
  fetch?: typeof globalThis.fetch;
  /** Extra `RequestInit` fields per request (Bun's `unix`, Deno's `client`). */
  init?: Record<string, unknown>;
  /** Address shown in error messages. Default: the base URL. */
  address?: string;
}

/**
 * A transport over the WHATWG `fetch`. It powers the unit tests (msw intercepts `globalThis.fetch`)
 * and the Bun and Deno adapters. It cannot hijack a connection: attach and exec with stdin need
 * the runtime's own socket adapter.
 */
export function createFetchTransport(options: FetchTransportOptions = {}): Transport {
  const baseUrl = (options.baseUrl ?? 'http://docker.invalid').replace(/\/$/, '');
  const address = options.address ?? baseUrl;
  return {
    address,
    async request(request: TransportRequest): Promise<TransportResponse> {
      const doFetch = options.fetch ?? globalThis.fetch;
      let body: BodyInit | undefined;
      if (typeof request.body === 'string' || request.body instanceof Uint8Array) body = request.body as BodyInit;
      else if (request.body !== undefined) body = toReadableStream(request.body);
      let response: Response;
      try {
        response = await doFetch(baseUrl + request.path, {
          ...options.init,
          method: request.method,
          headers: request.headers,
          body: body ?? null,
          signal: request.signal ?? null,
          ...(body instanceof ReadableStream ? { duplex: 'half' } : {}),
        } as RequestInit);
      } catch (error) {
        if (request.signal?.aborted) throw request.signal.reason;
        throw new DockerConnectionError(`cannot reach the engine at ${address}: ${(error as Error).message}`, {
          tried: [address],
          cause: error,
        });
      }
      const headers: Record<string, string> = {};
      response.headers.forEach((value, name) => {
        headers[name.toLowerCase()] = value;
      });
      const stream = response.body;
      let done = false;
      return {
        status: response.status,
        headers,
        body: {
          async *[Symbol.asyncIterator]() {
            if (!stream || done) return;
            done = true;
            try {
              yield* iterateReadable(stream);
            } catch (error) {
              if (request.signal?.aborted) throw request.signal.reason;
              throw new DockerConnectionError(
                `the connection to the engine at ${address} failed while reading the response: ${(error as Error)?.message ?? String(error)}`,
                { tried: [address], cause: error },
              );
            }
          },
          async cancel(reason?: unknown) {
            if (done || !stream) return;
            done = true;
            // Start the cancel without waiting for it: a tee'd body (msw clones every response)
            // only settles its cancel once the other branch is cancelled too.
            void stream.cancel(reason).catch(() => {});
          },
        },
      };
    },
    async hijack(): Promise<HijackedConnection> {
      throw new DockerError(
        `the fetch transport (${address}) cannot hijack a connection: attach and exec with stdin need a socket transport`,
      );
    },
    async close() {},
  };
}
