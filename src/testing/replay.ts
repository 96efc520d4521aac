/**
 * Replay: a transport that answers every request from a recording folder, with no socket and no
 * network. Requests are normalised as they arrive (see `normalise.ts`) and matched to a recorded
 * exchange; the recorded answer comes back with this run's values restored, and stream bodies
 * come chunk by chunk.
 *
 * @module
 */

import { DockerArgumentError } from '../engine/errors.js';
import { concatBytes } from '../engine/stream/collect.js';
import type {
  HijackedConnection,
  Transport,
  TransportRequest,
  TransportResponse,
  TransportResponseBody,
} from '../engine/transport/types.js';
import { FixtureMismatchError, type NearestExchange } from './errors.js';
import {
  encodeRequestBody,
  type RecordedBody,
  type RecordedExchange,
  type RecordedRequest,
  type RecordedResponse,
  readRequestBody,
  recordedBodyBytes,
  recordedBodyChunks,
  utf8,
} from './format.js';
import type { Normaliser } from './normalise.js';
import type { Recording } from './store.js';

/** Options of a replay. */
export interface ReplayOptions {
  /**
   * `strict` (the default): requests must come in recorded order (requests the code makes while
   * another of its requests is still being answered may come in any order among themselves, as
   * they may on a real engine). `any`: each request is matched to the first unused recorded
   * exchange with the same method, path and body, wherever it is.
   */
  order?: 'strict' | 'any' | undefined;
}

/** How long a strict replay holds an early answer for the exchanges recorded before it (milliseconds). */
const TURN_WAIT_MS = 2000;

/** Marks the transports of `berth/testing`, so that `BERTH_RECORD` / `BERTH_REPLAY` leave them alone. */
export const TESTING_TRANSPORT = Symbol.for('berth.testing.transport');

/** One replay: which exchanges were used, the normaliser's state, what is in flight. */
export class ReplaySession {
  readonly recording: Recording;
  readonly #normaliser: Normaliser;
  readonly #order: 'strict' | 'any';
  readonly #used: boolean[];
  readonly #finished: boolean[];
  #inFlight = 0;
  #received = 0;
  #lastServed: { index: number; request: RecordedRequest } | undefined;
  readonly #waiters: Array<{ done: () => boolean; resolve: () => void }> = [];

  constructor(recording: Recording, normaliser: Normaliser, options: ReplayOptions = {}) {
    const order = options.order ?? 'strict';
    if (order !== 'strict' && order !== 'any') {
      throw new DockerArgumentError('order', `must be 'strict' or 'any', got ${JSON.stringify(order)}`);
    }
    this.recording = recording;
    this.#normaliser = normaliser;
    this.#order = order;
    this.#used = recording.exchanges.map(() => false);
    this.#finished = recording.exchanges.map(() => false);
  }

  /** Indexes of the exchanges no request has used yet. */
  unused(): number[] {
    return this.#used.flatMap((used, i) => (used ? [] : [i]));
  }

  /**
   * Resolves once every exchange in `sent` has been asked for, and every one in `read` has also
   * been read to its end: where the code stood when the stream ended while recording.
   */
  #reached(sent: readonly number[], read: readonly number[]): Promise<void> {
    const done = () => sent.every((i) => this.#used[i] === true) && read.every((i) => this.#finished[i] === true);
    if (done()) return Promise.resolve();
    return new Promise((resolve) => this.#waiters.push({ done, resolve }));
  }

  /** Matches a request; returns the exchange and its answer with this run's values restored. */
  async answer(
    request: TransportRequest,
    hijacked: boolean,
  ): Promise<{ exchange: RecordedExchange; response: RecordedResponse; index: number }> {
    const bytes = await readRequestBody(request.body);
    const contentType = request.headers['content-type'];
    const got = this.#normaliser.request({
      method: request.method,
      path: request.path,
      headers: contentType !== undefined ? { 'content-type': contentType } : {},
      body: encodeRequestBody(bytes, contentType),
    });
    const arrived = ++this.#received;
    const index = this.#select(got, hijacked, arrived);
    this.#used[index] = true;
    this.#wakeTurns();
    this.#wakeHolds();
    const exchange = this.recording.exchanges[index] as RecordedExchange;
    this.#lastServed = { index, request: got };
    // Strict order, a request that came early (concurrent code): answer it in its recorded turn,
    // so that what the code does with the answer happens in the recorded order too.
    if (this.#order === 'strict') await this.#turn(index);
    return { exchange, response: this.#normaliser.restore(exchange.response), index };
  }

  readonly #turnWaiters: Array<{ index: number; resolve: () => void }> = [];

  /** Whether every exchange before `index` has been used (recorded pings aside: they may be skipped). */
  #isTurn(index: number): boolean {
    for (let i = 0; i < index; i++) {
      if (!this.#used[i] && !isPing(this.recording.exchanges[i] as RecordedExchange)) return false;
    }
    return true;
  }

  /**
   * Resolves when exchange `index` has its turn. The exchanges before it were sent before it when
   * recording, so they do not wait for its answer; should the code take another path, the answer
   * comes anyway after {@link TURN_WAIT_MS}.
   */
  #turn(index: number): Promise<void> {
    if (this.#isTurn(index)) return Promise.resolve();
    return new Promise((resolve) => {
      const waiter = { index, resolve };
      const timer = setTimeout(() => {
        const at = this.#turnWaiters.indexOf(waiter);
        if (at >= 0) this.#turnWaiters.splice(at, 1);
        resolve();
      }, TURN_WAIT_MS);
      waiter.resolve = () => {
        clearTimeout(timer);
        resolve();
      };
      this.#turnWaiters.push(waiter);
    });
  }

  #wakeHolds(): void {
    for (let i = this.#waiters.length - 1; i >= 0; i--) {
      const waiter = this.#waiters[i] as { done: () => boolean; resolve: () => void };
      if (waiter.done()) {
        this.#waiters.splice(i, 1);
        waiter.resolve();
      }
    }
  }

  #wakeTurns(): void {
    for (let i = this.#turnWaiters.length - 1; i >= 0; i--) {
      const waiter = this.#turnWaiters[i] as { index: number; resolve: () => void };
      if (this.#isTurn(waiter.index)) {
        this.#turnWaiters.splice(i, 1);
        waiter.resolve();
      }
    }
  }

  #select(got: RecordedRequest, hijacked: boolean, arrived: number): number {
    const exchanges = this.recording.exchanges;
    const unused = this.unused();
    const matches = (i: number) => {
      const exchange = exchanges[i] as RecordedExchange;
      return Boolean(exchange.hijacked) === hijacked && difference(exchange.request, got) === undefined;
    };
    const first = unused[0];
    if (this.#order === 'strict') {
      // A recorded `GET /_ping` may be skipped: it was the client negotiating its API version,
      // which a client with a pinned version does not do.
      for (const i of unused) {
        if (matches(i)) return i;
        if (!isPing(exchanges[i] as RecordedExchange)) break;
      }
    }
    // `any`, or a request made while another is in flight (concurrent requests have no fixed order).
    if (this.#order === 'any' || this.#inFlight > 0) {
      const found = unused.find(matches);
      if (found !== undefined) return found;
    }
    // Polling: the same GET again gets the same answer again.
    const last = this.#lastServed;
    if (got.method === 'GET' && last !== undefined && difference(last.request, got) === undefined) return last.index;
    throw this.#mismatch(got, arrived, first);
  }

  #mismatch(got: RecordedRequest, arrived: number, expected: number | undefined): FixtureMismatchError {
    const { exchanges, files, dir } = this.recording;
    const unused = this.unused();
    const pathname = (path: string) => path.split('?')[0] ?? '';
    const shape = (path: string) => pathname(path).replace(/[0-9a-f]{12,}/g, 'id');
    const all = exchanges.map((_, i) => i);
    const pick = (test: (e: RecordedExchange) => boolean, among = unused) => among.find((i) => test(exchanges[i] as RecordedExchange));
    const samePath = (e: RecordedExchange) => e.request.method === got.method && pathname(e.request.path) === pathname(got.path);
    const sameShape = (e: RecordedExchange) => e.request.method === got.method && shape(e.request.path) === shape(got.path);
    const strictFirst = this.#order === 'strict' ? expected : undefined;
    const near =
      (strictFirst !== undefined && sameShape(exchanges[strictFirst] as RecordedExchange) ? strictFirst : undefined) ??
      pick(samePath) ??
      pick(sameShape) ??
      // An exchange for this endpoint that an earlier request already used (each answers once).
      pick(samePath, all) ??
      pick(sameShape, all) ??
      strictFirst ??
      pick((e) => e.request.method === got.method) ??
      unused[0];
    let nearest: NearestExchange | undefined;
    if (near !== undefined) {
      const exchange = exchanges[near] as RecordedExchange;
      const used = this.#used[near] === true;
      const why = difference(exchange.request, got);
      nearest = {
        file: files[near] ?? `#${near + 1}`,
        method: exchange.request.method,
        path: exchange.request.path,
        difference:
          why === undefined
            ? used
              ? 'the same request, but that exchange already answered an earlier one (each recorded exchange answers once)'
              : 'the same request, but it is not next in strict order'
            : used
              ? `${why} (and that exchange already answered an earlier request)`
              : why,
      };
    }
    const lines = [`no recorded exchange matches request ${arrived} of this replay: ${got.method} ${got.path}`];
    if (this.#order === 'strict' && expected !== undefined) lines.push(`  strict order expects next: ${files[expected]}`);
    if (nearest) {
      lines.push(`  nearest recorded: ${nearest.file} ${nearest.method} ${nearest.path}`);
      lines.push(`  difference: ${nearest.difference}`);
    } else {
      lines.push(`  every recorded exchange (${exchanges.length}) has been used`);
    }
    lines.push(`  recording: ${dir} (re-record it if the change is intended)`);
    return new FixtureMismatchError(lines.join('\n'), { request: { method: got.method, path: got.path }, nearest, dir });
  }

  /** A stream body of a recorded response: chunk by chunk, its end held as recorded. */
  body(
    response: RecordedResponse,
    index: number,
    signal: AbortSignal | undefined,
    gate?: (chunk: number) => Promise<void>,
  ): TransportResponseBody {
    this.#inFlight++;
    let finished = false;
    const finish = () => {
      if (finished) return;
      finished = true;
      this.#inFlight--;
      this.#finished[index] = true;
      this.#wakeHolds();
    };
    let cancel!: () => void;
    const cancelled = new Promise<void>((resolve) => {
      cancel = resolve;
    });
    let isCancelled = false;
    const aborted = new Promise<void>((resolve) => {
      if (signal?.aborted) resolve();
      signal?.addEventListener('abort', () => resolve(), { once: true });
    });
    const chunks = recordedBodyChunks(response.body);
    const streamed = chunks.length > 1 || response.endsAfter !== undefined || response.truncated === true;
    // The requests that were sent before this stream ended when recording (the next ones in the
    // recording): its end waits until they have been sent again.
    const hold =
      response.endsAfter !== undefined
        ? this.#reached(
            Array.from({ length: response.endsAfter }, (_, k) => index + 1 + k),
            (response.endsAfterRead ?? []).map((k) => index + k),
          )
        : undefined;
    const stop = () => isCancelled || signal?.aborted === true;
    return {
      async *[Symbol.asyncIterator]() {
        try {
          for (const [i, chunk] of chunks.entries()) {
            if (gate) await Promise.race([gate(i), cancelled, aborted]);
            if (stop()) break;
            // A stream comes chunk by chunk: let the reader act on one before the next arrives.
            if (streamed) await new Promise((resolve) => setTimeout(resolve, 0));
            if (stop()) break;
            yield chunk;
          }
          if (hold && !stop()) {
            await Promise.race([hold, cancelled, aborted]);
            // Let the code that read those answers act on them (it had, before this body ended).
            if (response.endsAfterRead?.length) await new Promise((resolve) => setTimeout(resolve, 0));
          }
          // A stream the client stopped reading while recording has no recorded end.
          if (response.truncated && !stop()) await Promise.race([cancelled, aborted]);
          if (signal?.aborted && !isCancelled) throw signal.reason;
        } finally {
          finish();
        }
      },
      async cancel() {
        isCancelled = true;
        cancel();
        finish();
      },
    };
  }

  /** Normalises what a client wrote to a hijacked connection, to compare it with the recording. */
  normaliseStdin(bytes: Uint8Array): RecordedBody | null {
    const body = encodeRequestBody(bytes, undefined);
    if (body !== null && 'text' in body) return { text: this.#normaliser.text(body.text) };
    return body;
  }
}

function isPing(exchange: RecordedExchange): boolean {
  return exchange.request.method === 'GET' && exchange.request.path === '/_ping';
}

/** Why a recorded request does not answer a (normalised) request; `undefined` when it does. */
export function difference(recorded: RecordedRequest, got: RecordedRequest): string | undefined {
  if (recorded.method !== got.method) return `method: recorded ${recorded.method}, sent ${got.method}`;
  const [wantPath = '', wantQuery = ''] = splitQuery(recorded.path);
  const [gotPath = '', gotQuery = ''] = splitQuery(got.path);
  if (wantPath !== gotPath) return `path: recorded ${wantPath}, sent ${gotPath}`;
  const want = sortedQuery(wantQuery);
  const have = sortedQuery(gotQuery);
  if (want !== have) return `query: recorded ${want || '(none)'}, sent ${have || '(none)'}`;
  const type = recorded.headers['content-type'];
  if (type !== undefined && got.headers['content-type'] !== type) {
    return `content-type: recorded ${type}, sent ${got.headers['content-type'] ?? '(none)'}`;
  }
  return bodyDifference(recorded.body, got.body, 'body');
}

function splitQuery(path: string): [string, string] {
  const q = path.indexOf('?');
  return q < 0 ? [path, ''] : [path.slice(0, q), path.slice(q + 1)];
}

function sortedQuery(query: string): string {
  return query
    .split('&')
    .filter((part) => part !== '')
    .sort()
    .join('&');
}

function bodyDifference(
  recorded: RecordedBody | null | undefined,
  got: RecordedBody | null | undefined,
  where: string,
): string | undefined {
  if ((recorded ?? null) === null && (got ?? null) === null) return undefined;
  if (!recorded) return `${where}: recorded none, sent ${describeBody(got ?? null)}`;
  if (!got) return `${where}: recorded ${describeBody(recorded)}, sent none`;
  if ('json' in recorded && 'json' in got) return jsonDifference(recorded.json, got.json, where);
  if ('jsonLines' in recorded && 'jsonLines' in got) return jsonDifference(recorded.jsonLines, got.jsonLines, where);
  const want = recordedBodyBytes(recorded);
  const have = recordedBodyBytes(got);
  if (want.length === have.length && want.every((byte, i) => have[i] === byte)) return undefined;
  let at = 0;
  while (at < want.length && at < have.length && want[at] === have[at]) at++;
  const text = (bytes: Uint8Array) => {
    const slice = bytes.subarray(Math.max(0, at - 20), at + 40);
    return JSON.stringify(utf8(slice) ?? `<${slice.length} bytes>`);
  };
  return `${where}: recorded ${want.length} bytes, sent ${have.length} bytes; first difference at byte ${at}: recorded …${text(want)}…, sent …${text(have)}…`;
}

function describeBody(body: RecordedBody | null): string {
  if (body === null) return 'none';
  return `${recordedBodyBytes(body).length} bytes`;
}

function show(value: unknown): string {
  const text = JSON.stringify(value) ?? String(value);
  return text.length > 200 ? `${text.slice(0, 200)}…` : text;
}

/** The first place where two JSON values differ, as `where.Key[2]: recorded …, sent …`. */
function jsonDifference(want: unknown, got: unknown, where: string): string | undefined {
  if (Array.isArray(want) && Array.isArray(got)) {
    for (let i = 0; i < Math.max(want.length, got.length); i++) {
      if (i >= want.length) return `${where}[${i}]: recorded nothing, sent ${show(got[i])}`;
      if (i >= got.length) return `${where}[${i}]: recorded ${show(want[i])}, sent nothing`;
      const inner = jsonDifference(want[i], got[i], `${where}[${i}]`);
      if (inner) return inner;
    }
    return undefined;
  }
  if (want !== null && got !== null && typeof want === 'object' && typeof got === 'object' && !Array.isArray(want) && !Array.isArray(got)) {
    const a = want as Record<string, unknown>;
    const b = got as Record<string, unknown>;
    for (const key of [...new Set([...Object.keys(a), ...Object.keys(b)])].sort()) {
      const path = /^[A-Za-z_$][\w$]*$/.test(key) ? `${where}.${key}` : `${where}[${JSON.stringify(key)}]`;
      if (!(key in b)) return `${path}: recorded ${show(a[key])}, sent nothing`;
      if (!(key in a)) return `${path}: recorded nothing, sent ${show(b[key])}`;
      const inner = jsonDifference(a[key], b[key], path);
      if (inner) return inner;
    }
    return undefined;
  }
  return Object.is(want, got) ? undefined : `${where}: recorded ${show(want)}, sent ${show(got)}`;
}

/** A transport answering from a replay session. */
export function createReplayTransport(session: ReplaySession, address: string): Transport {
  const transport: Transport & { [TESTING_TRANSPORT]: true } = {
    [TESTING_TRANSPORT]: true,
    address,
    async request(request: TransportRequest): Promise<TransportResponse> {
      request.signal?.throwIfAborted();
      const { response, index } = await session.answer(request, false);
      return { status: response.status, headers: { ...response.headers }, body: session.body(response, index, request.signal) };
    },
    async hijack(request: TransportRequest): Promise<HijackedConnection> {
      request.signal?.throwIfAborted();
      const { exchange, response, index } = await session.answer(request, true);
      const recordedStdin = exchange.request.stdin ?? null;
      const wantLength = recordedBodyBytes(recordedStdin).length;
      const written: Uint8Array[] = [];
      let writtenLength = 0;
      let open = true;
      let failure: FixtureMismatchError | undefined;
      // Output chunks wait for the stdin that had been written when they arrived while recording
      // (all of it, unless the recording says otherwise), or for the client to close its side.
      const waiting: Array<{ need: number; resolve: () => void; reject: (error: unknown) => void }> = [];
      const wake = () => {
        for (let i = waiting.length - 1; i >= 0; i--) {
          const waiter = waiting[i] as (typeof waiting)[number];
          if (failure) waiter.reject(failure);
          else if (!open || writtenLength >= waiter.need) waiter.resolve();
          else continue;
          waiting.splice(i, 1);
        }
      };
      const gate = (chunk: number): Promise<void> => {
        const need = response.stdinBefore?.[chunk] ?? wantLength;
        if (failure) return Promise.reject(failure);
        if (!open || writtenLength >= need) return Promise.resolve();
        return new Promise((resolve, reject) => waiting.push({ need, resolve, reject }));
      };
      let checked = false;
      // What was written is compared with the recording once it is all there (or the side is closed).
      const check = () => {
        if (checked) return;
        checked = true;
        const got = session.normaliseStdin(concatBytes(written));
        const why = bodyDifference(recordedStdin, got, 'stdin');
        if (why !== undefined) {
          const file = session.recording.files[session.recording.exchanges.indexOf(exchange)] ?? '';
          failure = new FixtureMismatchError(
            `stdin written to ${request.method} ${request.path} differs from the recording (${file}): ${why}\n  recording: ${session.recording.dir}`,
            { request: { method: request.method, path: request.path }, nearest: undefined, dir: session.recording.dir },
          );
        }
        wake();
      };
      const body = session.body(response, index, request.signal, gate);
      const encoder = new TextEncoder();
      return {
        status: response.status,
        headers: { ...response.headers },
        body,
        async write(data) {
          if (!open)
            throw new FixtureMismatchError('write after closeWrite on a replayed connection', {
              request: { method: request.method, path: request.path },
              nearest: undefined,
              dir: session.recording.dir,
            });
          const bytes = typeof data === 'string' ? encoder.encode(data) : data.slice();
          written.push(bytes);
          writtenLength += bytes.length;
          if (writtenLength >= wantLength) check();
          wake();
        },
        async closeWrite() {
          open = false;
          check();
          wake();
        },
        close() {
          open = false;
          check();
          wake();
          void body.cancel();
        },
      };
    },
    async close() {},
  };
  return transport;
}
