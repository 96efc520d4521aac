/**
 * Replays recorded fixtures (fixtures/<scenario>/). {@link useFixture} replays a scenario through
 * the public `replayClient` of `berth/testing` (the endpoint tests use it); the msw handlers
 * below replay raw exchanges (the recorder's own unit test uses them). See fixtures/README.md.
 *
 * A request is answered by the first not-yet-used exchange whose method, path, query (order of
 * parameters aside), `content-type` and body all match what the client sent. Anything else is
 * left unhandled, so that with `onUnhandledRequest: 'error'` a wrong path, query or body fails
 * the call (the fetch transport turns it into a DockerConnectionError) and is listed in
 * `tracker.misses` with the nearest exchange.
 */
import { readdirSync, readFileSync } from 'node:fs';
import { isAbsolute, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { HttpResponse, http, type RequestHandler } from 'msw';
import { afterEach, beforeEach } from 'vitest';
import type { DockerClient } from '../../src/engine/client.js';
import { type RecordedBody, type RecordedExchange, recordedBodyBytes } from '../../src/testing/format.js';
import { replayClient as publicReplayClient, type ReplayOptions } from '../../src/testing/index.js';

/** Where the committed fixtures live. */
export const FIXTURES_DIR = fileURLToPath(new URL('../../fixtures/', import.meta.url));
/** The base URL the replaying client sends to (never resolved: msw answers first). */
export const REPLAY_BASE_URL = 'http://docker.invalid';

/** The `meta.json` of a scenario. */
export interface FixtureMeta {
  format: string;
  scenario: string;
  description: string;
  apiVersion: string;
  engine: Record<string, unknown>;
  recorded: string;
  recordedWith: string;
  exchanges: string[];
}

/** A scenario read from disk: its meta and its exchanges in order. */
export interface FixtureScenario {
  name: string;
  dir: string;
  meta: FixtureMeta;
  /** File names, in order (same order as `exchanges`). */
  files: string[];
  exchanges: RecordedExchange[];
}

/**
 * Reads a scenario: a folder name under fixtures/ (`'exec'`) or a path to a folder of exchange
 * files. Files are taken in name order (`01-…`, `02-…`); `meta.json` is read separately.
 */
export function loadFixtures(scenarioDir: string): FixtureScenario {
  const dir = isAbsolute(scenarioDir) || scenarioDir.includes('/') ? scenarioDir : join(FIXTURES_DIR, scenarioDir);
  const files = readdirSync(dir)
    .filter((name) => name.endsWith('.json') && name !== 'meta.json')
    .sort();
  const read = (name: string): unknown => JSON.parse(readFileSync(join(dir, name), 'utf8'));
  const meta = read('meta.json') as FixtureMeta;
  return { name: meta.scenario, dir, meta, files, exchanges: files.map((name) => read(name) as RecordedExchange) };
}

/** A request the replay saw. */
export interface ReplayedRequest {
  method: string;
  /** Path and query as sent, e.g. `/v1.41/containers/json?all=1`. */
  path: string;
  pathname: string;
  query: URLSearchParams;
  headers: Headers;
  body: Uint8Array;
  /** The body as text (UTF-8). */
  text: string;
  /** The body parsed as JSON, or `undefined` when it is not JSON. */
  json: unknown;
  /** Index of the exchange that answered it, or `undefined` when none matched. */
  exchange: number | undefined;
}

/** Bookkeeping of a replay: which exchanges were used, every request seen, and every miss explained. */
export class ReplayTracker {
  readonly exchanges: readonly RecordedExchange[];
  /** Every request that reached the replay, in order (answered or not). */
  readonly requests: ReplayedRequest[] = [];
  /** One line per request that no exchange answered, naming the nearest exchange and what differed. */
  readonly misses: string[] = [];
  #used: boolean[];

  constructor(exchanges: readonly RecordedExchange[]) {
    this.exchanges = exchanges;
    this.#used = exchanges.map(() => false);
  }

  /** Makes every exchange available again and forgets the requests (call between tests). */
  reset(): void {
    this.#used = this.exchanges.map(() => false);
    this.requests.length = 0;
    this.misses.length = 0;
  }

  /** Whether exchange `index` has answered a request. */
  used(index: number): boolean {
    return this.#used[index] === true;
  }

  /** Indexes of the exchanges not used yet. */
  unused(): number[] {
    return this.exchanges.flatMap((_, i) => (this.#used[i] ? [] : [i]));
  }

  /** Throws unless every exchange answered a request and nothing missed. */
  assertAllUsed(): void {
    const unused = this.unused().map((i) => `#${i + 1} ${describe(this.exchanges[i] as RecordedExchange)}`);
    if (unused.length || this.misses.length) {
      throw new Error(
        `replay incomplete:\n  unused: ${unused.join('\n    ') || 'none'}\n  misses: ${this.misses.join('\n    ') || 'none'}`,
      );
    }
  }

  /** Claims the first unused exchange matching the request (or, with `repeatLast`, the last used one); `undefined` if none. */
  claim(request: ReplayedRequest, repeatLast: boolean): number | undefined {
    let last: number | undefined;
    for (let i = 0; i < this.exchanges.length; i++) {
      if (mismatch(this.exchanges[i] as RecordedExchange, request) !== undefined) continue;
      if (!this.#used[i]) {
        this.#used[i] = true;
        return i;
      }
      last = i;
    }
    return repeatLast ? last : undefined;
  }

  /** Whether some exchange would answer the request (without claiming it). */
  wouldMatch(request: ReplayedRequest, repeatLast: boolean): boolean {
    return this.exchanges.some((exchange, i) => (!this.#used[i] || repeatLast) && mismatch(exchange, request) === undefined);
  }

  /** Records why no exchange matched. */
  miss(request: ReplayedRequest): void {
    let best = `no exchange has ${request.method} ${request.pathname}`;
    for (const exchange of this.exchanges) {
      const why = mismatch(exchange, request);
      if (why !== undefined && !why.startsWith('method') && !why.startsWith('path')) {
        best = `nearest ${describe(exchange)}: ${why}`;
        break;
      }
    }
    this.misses.push(`${request.method} ${request.path}: ${best}`);
  }
}

function describe(exchange: RecordedExchange): string {
  return `${exchange.request.method} ${exchange.request.path}`;
}

/** Why an exchange does not answer a request (`undefined` when it does). */
function mismatch(exchange: RecordedExchange, request: ReplayedRequest): string | undefined {
  const recorded = exchange.request;
  if (recorded.method !== request.method) return 'method differs';
  const url = new URL(recorded.path, REPLAY_BASE_URL);
  if (url.pathname !== request.pathname) return 'path differs';
  const want = sortedPairs(url.searchParams);
  const got = sortedPairs(request.query);
  if (want !== got) return `query differs: recorded ${want}, sent ${got}`;
  const type = recorded.headers['content-type'];
  if (type !== undefined && request.headers.get('content-type') !== type) {
    return `content-type differs: recorded ${type}, sent ${request.headers.get('content-type')}`;
  }
  return bodyMismatch(recorded.body, request);
}

function sortedPairs(params: URLSearchParams): string {
  return JSON.stringify([...params].sort(([a, x], [b, y]) => (a === b ? (x < y ? -1 : x > y ? 1 : 0) : a < b ? -1 : 1)));
}

function bodyMismatch(recorded: RecordedBody | null, request: ReplayedRequest): string | undefined {
  if (recorded === null) return request.body.length === 0 ? undefined : `body differs: recorded none, sent ${request.body.length} bytes`;
  if ('json' in recorded) {
    return request.json !== undefined && canonical(request.json) === canonical(recorded.json)
      ? undefined
      : `JSON body differs: recorded ${canonical(recorded.json)}, sent ${request.text.slice(0, 500)}`;
  }
  if ('jsonLines' in recorded) {
    try {
      const lines = request.text
        .split('\n')
        .filter((line) => line.trim() !== '')
        .map((line) => JSON.parse(line) as unknown);
      if (canonical(lines) === canonical(recorded.jsonLines)) return undefined;
    } catch {
      // differs
    }
    return 'JSON-lines body differs';
  }
  const want = recordedBodyBytes(recorded);
  if (want.length === request.body.length && want.every((byte, i) => request.body[i] === byte)) return undefined;
  return `body differs: recorded ${want.length} bytes, sent ${request.body.length} bytes`;
}

/** JSON with object keys sorted, for comparison regardless of key order. */
function canonical(value: unknown): string {
  return JSON.stringify(value, (_key, v: unknown) =>
    v !== null && typeof v === 'object' && !Array.isArray(v)
      ? Object.fromEntries(Object.entries(v as Record<string, unknown>).sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0)))
      : v,
  );
}

async function snapshot(request: Request): Promise<ReplayedRequest> {
  const url = new URL(request.url);
  const body = new Uint8Array(await request.clone().arrayBuffer());
  const text = new TextDecoder().decode(body);
  let json: unknown;
  try {
    json = body.length ? (JSON.parse(text) as unknown) : undefined;
  } catch {
    json = undefined;
  }
  return {
    method: request.method,
    path: url.pathname + url.search,
    pathname: url.pathname,
    query: url.searchParams,
    headers: request.headers,
    body,
    text,
    json,
    exchange: undefined,
  };
}

/** Options of {@link fixtureHandlers}. */
export interface FixtureHandlerOptions {
  /** The base URL the client sends to. Default {@link REPLAY_BASE_URL}. */
  baseUrl?: string;
  /** Bookkeeping to use (to inspect requests or reset between tests). Default: a new one. */
  tracker?: ReplayTracker;
  /** Once every exchange of a request is used, answer it again with the last one (for polling code). Default false. */
  repeatLast?: boolean;
}

/**
 * msw handlers that answer requests under `baseUrl` from recorded exchanges: the recorded status,
 * headers and body (frames re-encoded in the multiplexed format, JSON lines joined with `\n`,
 * base64 decoded). A request that matches no unused exchange is not handled.
 */
export function fixtureHandlers(exchanges: readonly RecordedExchange[], options: FixtureHandlerOptions = {}): RequestHandler[] {
  const base = (options.baseUrl ?? REPLAY_BASE_URL).replace(/\/$/, '');
  const tracker = options.tracker ?? new ReplayTracker(exchanges);
  const repeatLast = options.repeatLast ?? false;
  const handler = http.all(
    async ({ request }) => {
      if (!request.url.startsWith(`${base}/`)) return false;
      const seen = await snapshot(request);
      if (tracker.wouldMatch(seen, repeatLast)) return true;
      tracker.requests.push(seen);
      tracker.miss(seen);
      return false;
    },
    async ({ request }) => {
      const seen = await snapshot(request);
      tracker.requests.push(seen);
      const index = tracker.claim(seen, repeatLast);
      if (index === undefined) {
        // Claimed by a concurrent identical request in the meantime.
        tracker.miss(seen);
        return HttpResponse.error();
      }
      seen.exchange = index;
      const { response } = tracker.exchanges[index] as RecordedExchange;
      const bytes = recordedBodyBytes(response.body);
      const empty = bytes.length === 0 || response.status === 204 || response.status === 304 || request.method === 'HEAD';
      return new HttpResponse(empty ? null : bytes, { status: response.status, headers: response.headers });
    },
  );
  return [handler];
}

/** The JSON of a recorded body (throws when it is not JSON). */
export function jsonOf<T = Record<string, unknown>>(body: RecordedBody | null): T {
  if (body === null || !('json' in body)) throw new Error('not a JSON body');
  return body.json as T;
}

/** One scenario replayed through the public `replayClient` of `berth/testing` (a fresh replay per test). */
export interface Fixture {
  /** The client of the current test's replay (a new `replayClient` before each test). */
  docker: DockerClient;
  /** The scenario folder. */
  dir: string;
  /** The recorded exchange `n` (1-based, as in the file names). */
  exchange(n: number): RecordedExchange;
  /**
   * The request of exchange `n`, parsed. A replayed call that was answered by exchange `n` sent
   * exactly this (method, path, query, content type and body), or the replay would have failed
   * with a FixtureMismatchError.
   */
  request(n: number): {
    method: string;
    path: string;
    pathname: string;
    query: URLSearchParams;
    contentType: string | undefined;
    json: unknown;
    bytes: Uint8Array;
  };
}

/**
 * Replays a scenario of `fixtures/` through `replayClient` (dogfood: Berth's endpoint tests use
 * what users use). Each test gets a fresh replay, `order: 'any'` by default, so tests pick the
 * exchanges they need; a request that matches none rejects with a FixtureMismatchError.
 */
export function useFixture(scenario: string, options: ReplayOptions = { order: 'any' }): Fixture {
  const dir = join(FIXTURES_DIR, scenario);
  const fixtures = loadFixtures(dir);
  let current = publicReplayClient(dir, options);
  beforeEach(() => {
    current = publicReplayClient(dir, options);
  });
  afterEach(async () => {
    await current.close();
  });
  // The tests hold one `docker` for the file; it forwards to the current test's replay client.
  const docker = new Proxy({} as DockerClient, {
    get(_target, key) {
      const value = Reflect.get(current, key) as unknown;
      return typeof value === 'function' ? (value as (...args: unknown[]) => unknown).bind(current) : value;
    },
  });
  const exchange = (n: number): RecordedExchange => {
    const found = fixtures.exchanges[n - 1];
    if (!found) throw new Error(`scenario ${scenario} has no exchange ${n}`);
    return found;
  };
  return {
    docker,
    dir,
    exchange,
    request(n) {
      const { request } = exchange(n);
      const url = new URL(request.path, REPLAY_BASE_URL);
      const bytes = recordedBodyBytes(request.body);
      return {
        method: request.method,
        path: request.path,
        pathname: url.pathname,
        query: url.searchParams,
        contentType: request.headers['content-type'],
        json: request.body !== null && 'json' in request.body ? request.body.json : undefined,
        bytes,
      };
    },
  };
}
