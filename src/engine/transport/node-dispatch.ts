import type { Dispatcher, Pool } from 'undici';
import { connectionError } from './connection-error.js';
import type { TransportRequest, TransportResponse, TransportResponseBody } from './types.js';

/** Bytes queued for a slow consumer before the socket is paused, and the level that resumes it. */
const HIGH_WATER = 1024 * 1024;
const LOW_WATER = 256 * 1024;
const EMPTY = new Uint8Array(0);
const END: IteratorResult<Uint8Array> = { done: true, value: undefined };

/**
 * Sends one request through undici's `Pool#dispatch` and hands its body out as an async iterable
 * fed straight from the handler's `onResponseData`: no `BodyReadable`, no Readable async iterator,
 * and the socket is paused only when the consumer falls `HIGH_WATER` bytes behind. (With
 * `pool.request`, every Readable backpressure cycle paused the HTTP parser and unshifted the
 * socket: thousands of times per 100 MB of exec output; see bench/FINDINGS.md, throughput.)
 */
export function dispatchRequest(
  pool: Pool,
  request: TransportRequest,
  address: string,
  headersTimeout: number,
): Promise<TransportResponse> {
  const { signal } = request;
  return new Promise<TransportResponse>((resolve, reject) => {
    const queue: Uint8Array[] = [];
    let head = 0;
    let queued = 0;
    let controller: Dispatcher.DispatchController | undefined;
    let started = false;
    let ended = false;
    let cancelled = false;
    let failure: unknown;
    let paused = false;
    // The consumer waiting for the next chunk, if any: data goes straight to it.
    let waiter: { resolve: (r: IteratorResult<Uint8Array>) => void; reject: (e: unknown) => void } | undefined;
    const onAbort = () => controller?.abort(signal?.reason);
    const done = () => signal?.removeEventListener('abort', onAbort);
    const fail = (error: unknown, what?: string) => {
      if (signal?.aborted) return signal.reason;
      return connectionError(address, error, what);
    };
    const readFailure = () => fail(failure, 'the connection to the engine failed while reading the response');
    const stop = (reason: unknown) => {
      if (ended || failure !== undefined || cancelled) return;
      cancelled = true;
      queue.length = 0;
      head = 0;
      queued = 0;
      done();
      controller?.abort(reason instanceof Error ? reason : new Error(String(reason)));
      const w = waiter;
      waiter = undefined;
      w?.resolve(END);
    };
    const take = (): Uint8Array => {
      const chunk = queue[head] as Uint8Array;
      // Drop the reference at once: a consumed chunk must be garbage, not kept by the queue.
      if (++head === queue.length) {
        queue.length = 0;
        head = 0;
      } else queue[head - 1] = EMPTY;
      queued -= chunk.length;
      if (paused && queued <= LOW_WATER) {
        paused = false;
        controller?.resume();
      }
      return chunk;
    };

    // A hand-written iterator rather than an async generator: a queued chunk costs one resolved
    // promise, and a chunk that arrives while the consumer waits is handed over directly.
    const iterator: AsyncIterableIterator<Uint8Array> = {
      next(): Promise<IteratorResult<Uint8Array>> {
        if (head < queue.length) return Promise.resolve({ done: false, value: take() });
        if (failure !== undefined) return Promise.reject(readFailure());
        if (ended || cancelled) return Promise.resolve(END);
        return new Promise((resolve, reject) => {
          waiter = { resolve, reject };
        });
      },
      async return(): Promise<IteratorResult<Uint8Array>> {
        stop(new Error('response body released before its end'));
        return END;
      },
      [Symbol.asyncIterator]() {
        return iterator;
      },
    };
    const body: TransportResponseBody = {
      [Symbol.asyncIterator]: () => iterator,
      async cancel(reason?: unknown) {
        stop(reason ?? new Error('response body cancelled'));
      },
    };

    const handler: Dispatcher.DispatchHandler = {
      onRequestStart(c) {
        controller = c;
        if (signal?.aborted) c.abort(signal.reason);
      },
      onResponseStart(_c, statusCode, headers) {
        if (statusCode < 200) return;
        started = true;
        resolve({ status: statusCode, headers: flattenHeaders(headers), body });
      },
      onResponseData(c, chunk) {
        if (cancelled) return;
        const w = waiter;
        if (w && head === queue.length) {
          waiter = undefined;
          w.resolve({ done: false, value: chunk });
          return;
        }
        queue.push(chunk);
        queued += chunk.length;
        if (!paused && queued >= HIGH_WATER) {
          paused = true;
          c.pause();
        }
      },
      onResponseEnd() {
        ended = true;
        done();
        const w = waiter;
        waiter = undefined;
        w?.resolve(END);
      },
      onResponseError(_c, error) {
        done();
        if (!started) {
          reject(fail(error));
          return;
        }
        if (cancelled) return;
        failure = error;
        const w = waiter;
        waiter = undefined;
        w?.reject(readFailure());
      },
    };

    if (signal?.aborted) {
      reject(signal.reason);
      return;
    }
    signal?.addEventListener('abort', onAbort, { once: true });
    try {
      pool.dispatch(
        {
          method: request.method,
          path: request.path,
          headers: request.headers,
          body: (request.body ?? null) as Dispatcher.DispatchOptions['body'],
          headersTimeout: request.headersTimeout ?? headersTimeout,
          bodyTimeout: request.bodyTimeout ?? 0,
        } as Dispatcher.DispatchOptions,
        handler,
      );
    } catch (error) {
      done();
      reject(fail(error));
    }
  });
}

/** Header names in lower case, repeated headers joined with `, `. */
function flattenHeaders(headers: Record<string, string | string[] | undefined>): Record<string, string> {
  const out: Record<string, string> = {};
  for (const [name, value] of Object.entries(headers)) {
    if (value !== undefined) out[name.toLowerCase()] = Array.isArray(value) ? value.join(', ') : value;
  }
  return out;
}
