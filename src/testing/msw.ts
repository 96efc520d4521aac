/**
 * msw request handlers over a recording, for code that already mocks with msw. msw is an optional
 * peer dependency: it is imported when {@link mswHandlers} is called, never before.
 *
 * @module
 */

import { createRequire } from 'node:module';
import type { HttpHandler } from 'msw';
import type { TransportRequest } from '../engine/transport/types.js';
import { isFixtureMismatchError } from './errors.js';
import type { ReplayOptions } from './replay.js';
import { newReplaySession } from './sessions.js';

/** Options of {@link mswHandlers}. */
export interface MswHandlersOptions extends ReplayOptions {
  /** The base URL the client's fetch transport sends to. Default `http://docker.invalid`. */
  baseUrl?: string | undefined;
}

/**
 * msw handlers that answer requests under `baseUrl` from the recording in `dir`, with the same
 * matching, normalisation and chunk-by-chunk streams as {@link replayClient}. Point Berth's fetch
 * transport at the same base URL:
 * `new DockerClient({ transport: createFetchTransport({ baseUrl: 'http://docker.invalid' }) })`.
 *
 * A request that matches nothing is answered with status 500 and the {@link FixtureMismatchError}
 * message as the engine's `message` (so the call fails with a `DockerApiError` that says what
 * differed); the response has the header `x-berth-fixture-mismatch: 1`. Hijacked connections
 * (attach, exec with stdin) cannot go through `fetch`: replay those with `replayClient`.
 *
 * @param dir A recording folder.
 * @param options The base URL and the order (`strict` by default).
 * @returns The handlers, for `setupServer(...mswHandlers(dir))` or `server.use(...mswHandlers(dir))`
 *   (an array, so `await mswHandlers(dir)` works as well).
 * @throws Error when msw is not installed (`npm install -D msw`).
 * @throws DockerArgumentError when `dir` holds no recording.
 */
export function mswHandlers(dir: string, options: MswHandlersOptions = {}): HttpHandler[] {
  const msw = loadMsw();
  const session = newReplaySession(dir, options);
  const base = new URL(options.baseUrl ?? 'http://docker.invalid');
  const prefix = base.pathname.replace(/\/$/, '');
  const handler = msw.http.all(`${base.origin}${prefix}/*`, async ({ request }) => {
    const url = new URL(request.url);
    const headers: Record<string, string> = {};
    const type = request.headers.get('content-type');
    if (type !== null) headers['content-type'] = type;
    const transportRequest: TransportRequest = {
      method: request.method as TransportRequest['method'],
      path: url.pathname.slice(prefix.length) + url.search,
      headers,
      body: new Uint8Array(await request.arrayBuffer()),
    };
    let answer: Awaited<ReturnType<typeof session.answer>>;
    try {
      answer = await session.answer(transportRequest, false);
    } catch (error) {
      if (!isFixtureMismatchError(error)) throw error;
      return msw.HttpResponse.json({ message: error.message }, { status: 500, headers: { 'x-berth-fixture-mismatch': '1' } });
    }
    const { response, index } = answer;
    const body = session.body(response, index, request.signal);
    const empty = response.status === 204 || response.status === 304 || request.method === 'HEAD' || response.body === null;
    if (empty) await body.cancel();
    const iterator = empty ? undefined : body[Symbol.asyncIterator]();
    const stream = iterator
      ? new ReadableStream<Uint8Array>({
          async pull(controller) {
            const next = await iterator.next();
            if (next.done) controller.close();
            else controller.enqueue(next.value);
          },
          async cancel() {
            await body.cancel();
          },
        })
      : null;
    return new msw.HttpResponse(stream, { status: response.status, headers: response.headers });
  });
  return [handler];
}

/**
 * msw, loaded synchronously on first use, so that {@link mswHandlers} can return its handlers at once
 * and importing `berth/testing` never needs msw. `require` resolves the ESM build where the runtime
 * loads ESM synchronously (msw's `module-sync` condition) and its CommonJS build elsewhere; msw
 * recognises handlers by their `kind`, so handlers from either build work with the user's server.
 */
function loadMsw(): typeof import('msw') {
  try {
    return createRequire(import.meta.url)('msw') as typeof import('msw');
  } catch (cause) {
    throw new Error('mswHandlers needs msw, an optional peer dependency of berth: npm install -D msw', { cause });
  }
}
