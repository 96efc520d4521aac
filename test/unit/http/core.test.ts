import { describe, expect, it } from 'vitest';
import { DockerClient } from '../../../src/engine/client.js';
import { DockerApiError, DockerConnectionError, DockerStreamError, isDockerError } from '../../../src/engine/errors.js';
import { clampVersion, HttpCore, MAX_API_VERSION, MIN_API_VERSION } from '../../../src/engine/http/core.js';
import { encodeQuery } from '../../../src/engine/http/query.js';
import { createFetchTransport } from '../../../src/engine/transport/fetch.js';

interface Call {
  method: string;
  url: URL;
  headers: Record<string, string>;
  body: string | undefined;
}

type Handler = (call: Call, signal: AbortSignal | undefined) => Response | Promise<Response>;

/** A fetch that records every call and answers with `handler`, honouring the signal like a real fetch. */
function fakeFetch(handler: Handler): { fetch: typeof globalThis.fetch; calls: Call[]; pings: () => number } {
  const calls: Call[] = [];
  const fetch = (async (input: RequestInfo | URL, init?: RequestInit) => {
    const signal = init?.signal ?? undefined;
    signal?.throwIfAborted();
    const headers: Record<string, string> = {};
    new Headers(init?.headers).forEach((value, name) => {
      headers[name] = value;
    });
    const body = typeof init?.body === 'string' ? init.body : init?.body ? '<binary>' : undefined;
    const call: Call = { method: init?.method ?? 'GET', url: new URL(String(input)), headers, body };
    calls.push(call);
    const answer = Promise.resolve(handler(call, signal));
    if (!signal) return answer;
    return new Promise<Response>((resolve, reject) => {
      const onAbort = () => reject(signal.reason);
      signal.addEventListener('abort', onAbort, { once: true });
      answer.then(resolve, reject).finally(() => signal.removeEventListener('abort', onAbort));
    });
  }) as typeof globalThis.fetch;
  return { fetch, calls, pings: () => calls.filter((c) => c.url.pathname === '/_ping').length };
}

const json = (value: unknown, status = 200, headers: Record<string, string> = {}): Response =>
  new Response(JSON.stringify(value), { status, headers: { 'content-type': 'application/json', ...headers } });

const ping = (apiVersion: string | undefined): Response =>
  new Response('OK', { status: 200, headers: apiVersion ? { 'api-version': apiVersion } : {} });

/** An engine that answers `/_ping` with `apiVersion` and any other path with `[]`. */
function engine(apiVersion: string | undefined) {
  return fakeFetch((call) => (call.url.pathname === '/_ping' ? ping(apiVersion) : json([])));
}

function deferred<T>(): { promise: Promise<T>; resolve: (value: T) => void } {
  let resolve!: (value: T) => void;
  const promise = new Promise<T>((r) => {
    resolve = r;
  });
  return { promise, resolve };
}

async function rejection(promise: Promise<unknown>): Promise<unknown> {
  try {
    await promise;
  } catch (error) {
    return error;
  }
  throw new Error('expected a rejection, but the promise resolved');
}

const paths = (calls: readonly Call[]) => calls.map((c) => c.url.pathname);

describe('API version negotiation', () => {
  it('pings once for concurrent first calls and versions every path with the answer', async () => {
    const gate = deferred<void>();
    const fake = fakeFetch(async (call) => {
      if (call.url.pathname === '/_ping') {
        await gate.promise;
        return ping('1.45');
      }
      return json([]);
    });
    const docker = new DockerClient({ transport: createFetchTransport({ fetch: fake.fetch }) });
    const all = Promise.all([docker.containers.list(), docker.images.list(), docker.system.info(), docker.apiVersion()]);
    // Let every call reach the negotiation before the engine answers.
    for (let i = 0; i < 5; i++) await new Promise((resolve) => setImmediate(resolve));
    gate.resolve();
    const [, , , version] = await all;
    expect(version).toBe('1.45');
    expect(fake.pings()).toBe(1);
    expect(paths(fake.calls).filter((p) => p !== '/_ping')).toEqual(['/v1.45/containers/json', '/v1.45/images/json', '/v1.45/info']);
    await docker.containers.list();
    expect(fake.pings()).toBe(1);
  });

  it.each([
    ['1.52', '/v1.47/containers/json'],
    ['1.43', '/v1.43/containers/json'],
    ['garbage', '/v1.41/containers/json'],
    [undefined, '/v1.41/containers/json'],
  ])('clamps an engine answering API-Version %s to the supported range (%s)', async (answer, expected) => {
    const fake = engine(answer);
    const docker = new DockerClient({ transport: createFetchTransport({ fetch: fake.fetch }) });
    await docker.containers.list();
    expect(paths(fake.calls)).toEqual(['/_ping', expected]);
  });

  it('exposes the clamp bounds as 1.41 and 1.47', () => {
    expect([MIN_API_VERSION, MAX_API_VERSION]).toEqual(['1.41', '1.47']);
    expect(clampVersion('1.100')).toBe('1.47');
    expect(clampVersion('2.0')).toBe('1.47');
    expect(clampVersion('1.9')).toBe('1.9');
  });

  it('refuses an engine older than API 1.41 at negotiation, naming its version and what Berth needs', async () => {
    const fake = fakeFetch((call) =>
      call.url.pathname === '/_ping'
        ? new Response('OK', { headers: { 'api-version': '1.40', server: 'Docker/19.03.15 (linux)' } })
        : json([]),
    );
    const docker = new DockerClient({ transport: createFetchTransport({ fetch: fake.fetch, address: 'unix:///old.sock' }) });
    const error = await rejection(docker.containers.list());
    expect(error).toMatchObject({ code: 'BERTH_ERR_UNSUPPORTED_ENGINE' });
    expect((error as Error).message).toBe(
      'the engine at unix:///old.sock (Docker/19.03.15 (linux)) speaks Engine API 1.40 at most; Berth needs 1.41 or newer ' +
        '(Docker Engine 20.10 or later, Podman 4 or later): upgrade the engine',
    );
    // Nothing but the ping was sent: no call went out with a version the engine does not speak.
    expect(paths(fake.calls)).toEqual(['/_ping']);
    await expect(docker.apiVersion()).rejects.toMatchObject({ code: 'BERTH_ERR_UNSUPPORTED_ENGINE' });
  });

  it('refuses a pinned apiVersion older than 1.41', () => {
    expect(() => new DockerClient({ transport: createFetchTransport(), apiVersion: '1.40' })).toThrow(
      /apiVersion: Berth speaks Engine API 1.41 or newer/,
    );
  });

  it('refuses stopSignal below API 1.42 without sending the stop, and sends it from 1.42', async () => {
    const old = engine('1.41');
    const docker = new DockerClient({ transport: createFetchTransport({ fetch: old.fetch }) });
    await expect(docker.containers.stop('abc', { stopSignal: 'SIGINT' })).rejects.toMatchObject({
      code: 'BERTH_ERR_UNSUPPORTED_ENGINE',
      message: 'stopSignal needs Engine API 1.42 or newer; the engine speaks 1.41',
    });
    expect(paths(old.calls)).toEqual(['/_ping']);
    const newer = fakeFetch((call) => (call.url.pathname === '/_ping' ? ping('1.43') : new Response(null, { status: 204 })));
    const current = new DockerClient({ transport: createFetchTransport({ fetch: newer.fetch }) });
    await current.containers.stop('abc', { stopSignal: 'SIGINT', timeout: 1 });
    expect(newer.calls[1]?.url.search).toBe('?t=1&signal=SIGINT');
  });

  it('skips /_ping entirely with a pinned apiVersion', async () => {
    const fake = engine('1.45');
    const docker = new DockerClient({ transport: createFetchTransport({ fetch: fake.fetch }), apiVersion: '1.43' });
    await docker.containers.list();
    await docker.images.list();
    expect(await docker.apiVersion()).toBe('1.43');
    expect(paths(fake.calls)).toEqual(['/v1.43/containers/json', '/v1.43/images/json']);
  });

  it('rejects a malformed pinned apiVersion before any I/O', () => {
    expect(() => new HttpCore(() => createFetchTransport(), 'v1.41')).toThrow(/apiVersion/);
  });

  it('retries a failed negotiation on the next call', async () => {
    let failPing = true;
    const fake = fakeFetch((call) => {
      if (call.url.pathname === '/_ping') {
        if (failPing) throw new TypeError('fetch failed');
        return ping('1.44');
      }
      return json([]);
    });
    const docker = new DockerClient({ transport: createFetchTransport({ fetch: fake.fetch }) });
    const error = await rejection(docker.containers.list());
    expect(error).toBeInstanceOf(DockerConnectionError);
    expect((error as DockerConnectionError).tried).toEqual(['http://docker.invalid']);
    failPing = false;
    await docker.containers.list();
    expect(paths(fake.calls)).toEqual(['/_ping', '/_ping', '/v1.44/containers/json']);
  });

  it('retries a negotiation answered by an error status without API-Version instead of caching 1.41', async () => {
    let unhealthy = true;
    const fake = fakeFetch((call) => {
      if (call.url.pathname === '/_ping') return unhealthy ? new Response('starting up', { status: 503 }) : ping('1.46');
      return json([]);
    });
    const docker = new DockerClient({ transport: createFetchTransport({ fetch: fake.fetch }) });
    const error = await rejection(docker.containers.list());
    expect(error).toBeInstanceOf(DockerApiError);
    expect(error).toMatchObject({ reason: 'unavailable', daemonMessage: 'starting up', path: '/_ping' });
    unhealthy = false;
    await docker.containers.list();
    expect(paths(fake.calls)).toEqual(['/_ping', '/_ping', '/v1.46/containers/json']);
  });

  it('uses the API-Version header of a /_ping error answer when there is one', async () => {
    const fake = fakeFetch((call) =>
      call.url.pathname === '/_ping' ? new Response('', { status: 500, headers: { 'api-version': '1.44' } }) : json([]),
    );
    const docker = new DockerClient({ transport: createFetchTransport({ fetch: fake.fetch }) });
    await docker.containers.list();
    expect(paths(fake.calls)).toEqual(['/_ping', '/v1.44/containers/json']);
  });

  it("does not let the first caller's abort fail the negotiation other callers share", async () => {
    const gate = deferred<void>();
    const fake = fakeFetch(async (call) => {
      if (call.url.pathname === '/_ping') {
        await gate.promise;
        return ping('1.44');
      }
      return json([]);
    });
    const docker = new DockerClient({ transport: createFetchTransport({ fetch: fake.fetch }) });
    const controller = new AbortController();
    const first = docker.containers.list({ signal: controller.signal });
    const second = docker.images.list();
    for (let i = 0; i < 5; i++) await new Promise((resolve) => setImmediate(resolve));
    const reason = new Error('first caller gave up');
    controller.abort(reason);
    expect(await rejection(first)).toBe(reason);
    gate.resolve();
    await expect(second).resolves.toEqual([]);
    expect(fake.pings()).toBe(1);
    expect(paths(fake.calls)).toEqual(['/_ping', '/v1.44/images/json']);
  });
});

describe('error status mapping', () => {
  it.each([
    [304, 'notModified'],
    [400, 'invalidArgument'],
    [401, 'unauthorized'],
    [403, 'forbidden'],
    [404, 'notFound'],
    [409, 'conflict'],
    [500, 'internal'],
    [503, 'unavailable'],
    [418, 'unknown'],
    [502, 'unknown'],
  ] as const)('maps %i to reason %s with the daemon message, method and path', async (status, reason) => {
    const hasBody = status !== 304;
    const fake = fakeFetch(() =>
      hasBody ? json({ message: `daemon says ${status}` }, status) : new Response(null, { status, headers: { 'x-why': 'same' } }),
    );
    const core = new HttpCore(() => createFetchTransport({ fetch: fake.fetch }), '1.41');
    const error = await rejection(core.request('POST', '/containers/abc/start', { query: { detachKeys: 'ctrl-p' } }));
    expect(error).toBeInstanceOf(DockerApiError);
    expect(error).toMatchObject({
      name: 'DockerApiError',
      code: 'BERTH_ERR_API',
      statusCode: status,
      reason,
      method: 'POST',
      path: '/v1.41/containers/abc/start?detachKeys=ctrl-p',
      daemonMessage: hasBody ? `daemon says ${status}` : '',
    });
    expect((error as Error).message).toContain(hasBody ? `daemon says ${status}` : `HTTP ${status}`);
    expect((error as Error).message).toContain(`${status} ${reason}`);
  });

  it('treats a status listed in okStatuses as success (304 from start)', async () => {
    const fake = fakeFetch(() => new Response(null, { status: 304 }));
    const docker = new DockerClient({ transport: createFetchTransport({ fetch: fake.fetch }), apiVersion: '1.41' });
    await expect(docker.containers.start('abc')).resolves.toBeUndefined();
    await expect(docker.containers.remove('abc')).rejects.toMatchObject({ reason: 'notModified' });
  });

  it('keeps a non-JSON error body as the message, trimmed', async () => {
    const fake = fakeFetch(() => new Response('  plain text failure: disk full\n', { status: 500 }));
    const core = new HttpCore(() => createFetchTransport({ fetch: fake.fetch }), '1.41');
    const error = await rejection(core.json('GET', '/info'));
    expect(error).toMatchObject({ reason: 'internal', daemonMessage: 'plain text failure: disk full' });
  });

  it('keeps a JSON error body without a message field verbatim', async () => {
    const fake = fakeFetch(() => json({ error: 'no message field' }, 400));
    const core = new HttpCore(() => createFetchTransport({ fetch: fake.fetch }), '1.41');
    const error = await rejection(core.json('GET', '/info'));
    expect(error).toMatchObject({ reason: 'invalidArgument', daemonMessage: '{"error":"no message field"}' });
  });

  it('bounds an error body to 64 KiB', async () => {
    const fake = fakeFetch(() => new Response('y'.repeat(1024 * 1024), { status: 500 }));
    const core = new HttpCore(() => createFetchTransport({ fetch: fake.fetch }), '1.41');
    const error = (await rejection(core.json('GET', '/info'))) as DockerApiError;
    expect(error.daemonMessage).toBe('y'.repeat(64 * 1024));
  });

  it('rejects an invalid JSON success body with DockerStreamError', async () => {
    const fake = fakeFetch(() => new Response('{"Id": ', { status: 200 }));
    const core = new HttpCore(() => createFetchTransport({ fetch: fake.fetch }), '1.41');
    const error = await rejection(core.json('GET', '/info'));
    expect(error).toBeInstanceOf(DockerStreamError);
    expect((error as Error).message).toMatch(/invalid JSON from GET \/info/);
  });

  it('returns undefined for an empty success body', async () => {
    const fake = fakeFetch(() => new Response(null, { status: 204 }));
    const core = new HttpCore(() => createFetchTransport({ fetch: fake.fetch }), '1.41');
    await expect(core.json('POST', '/containers/abc/pause')).resolves.toBeUndefined();
  });
});

describe('requests', () => {
  it('sends a JSON body with content-type application/json', async () => {
    const fake = fakeFetch(() => json({ Id: 'abc', Warnings: [] }, 201));
    const docker = new DockerClient({ transport: createFetchTransport({ fetch: fake.fetch }), apiVersion: '1.41' });
    await docker.containers.create({ Image: 'busybox', Cmd: ['true'] }, { name: 'berth-1' });
    const call = fake.calls[0]!;
    expect(call.method).toBe('POST');
    expect(call.url.pathname + call.url.search).toBe('/v1.41/containers/create?name=berth-1');
    expect(call.headers['content-type']).toBe('application/json');
    expect(JSON.parse(call.body ?? '')).toEqual({ Image: 'busybox', Cmd: ['true'] });
  });

  it('encodes the query of a real call: booleans as 1, filters as JSON, undefined left out', async () => {
    const fake = fakeFetch(() => json([]));
    const docker = new DockerClient({ transport: createFetchTransport({ fetch: fake.fetch }), apiVersion: '1.41' });
    await docker.containers.list({ all: true, size: false, limit: undefined, filters: { label: ['berth.executor', 'a=b c'] } });
    const url = fake.calls[0]!.url;
    expect([...url.searchParams.keys()]).toEqual(['all', 'size', 'filters']);
    expect(url.searchParams.get('all')).toBe('1');
    expect(url.searchParams.get('size')).toBe('0');
    expect(JSON.parse(url.searchParams.get('filters') ?? '')).toEqual({ label: ['berth.executor', 'a=b c'] });
  });

  it('rejects with the raw signal reason when aborted before the answer', async () => {
    const fake = fakeFetch(() => new Promise<Response>(() => {}));
    const docker = new DockerClient({ transport: createFetchTransport({ fetch: fake.fetch }), apiVersion: '1.41' });
    const controller = new AbortController();
    const call = docker.system.info({ signal: controller.signal });
    await new Promise((resolve) => setImmediate(resolve));
    const reason = { custom: 'reason' };
    controller.abort(reason);
    expect(await rejection(call)).toBe(reason);
  });

  it('turns a body that fails mid-stream into DockerConnectionError, never a raw error', async () => {
    const fake = fakeFetch(() => {
      let sent = false;
      const body = new ReadableStream<Uint8Array>({
        pull(controller) {
          if (!sent) {
            sent = true;
            controller.enqueue(new TextEncoder().encode('[{"Id":'));
          } else controller.error(new TypeError('terminated'));
        },
      });
      return new Response(body, { status: 200 });
    });
    const docker = new DockerClient({ transport: createFetchTransport({ fetch: fake.fetch }), apiVersion: '1.41' });
    const error = await rejection(docker.containers.list());
    expect(isDockerError(error)).toBe(true);
    expect(error).toBeInstanceOf(DockerConnectionError);
    expect((error as DockerConnectionError).tried).toEqual(['http://docker.invalid']);
    expect((error as Error).cause).toBeInstanceOf(TypeError);
  });

  it('rejects hijack on the fetch transport with a DockerError that says why', async () => {
    const docker = new DockerClient({ transport: createFetchTransport({ fetch: fakeFetch(() => json({})).fetch }), apiVersion: '1.41' });
    const error = await rejection(docker.exec.start('ab12', { stdin: true }));
    expect(isDockerError(error)).toBe(true);
    expect((error as Error).message).toMatch(/cannot hijack/);
  });
});

describe('encodeQuery', () => {
  it('returns an empty string for no query or only empty values', () => {
    expect(encodeQuery(undefined)).toBe('');
    expect(encodeQuery({})).toBe('');
    expect(encodeQuery({ a: undefined, b: null, filters: {} })).toBe('');
  });

  it('encodes booleans as 1 and 0', () => {
    expect(encodeQuery({ all: true, size: false })).toBe('?all=1&size=0');
  });

  it('encodes filters as JSON, percent-encoded', () => {
    const query = encodeQuery({ filters: { label: ['a=b'], dangling: { true: true } } });
    expect(query).toBe(`?filters=${encodeURIComponent('{"label":["a=b"],"dangling":{"true":true}}')}`);
  });

  it('repeats a key for every array item', () => {
    expect(encodeQuery({ cmd: ['sh', '-c', 'echo a&b'] })).toBe('?cmd=sh&cmd=-c&cmd=echo%20a%26b');
  });

  it('drops undefined and null but keeps 0 and the empty string', () => {
    expect(encodeQuery({ t: 0, signal: undefined, name: '', x: null })).toBe('?t=0&name=');
  });

  it('percent-encodes keys and values', () => {
    expect(encodeQuery({ 'a b': 'c/d?e' })).toBe('?a%20b=c%2Fd%3Fe');
  });
});
