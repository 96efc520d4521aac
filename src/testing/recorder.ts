/**
 * A transport that records what goes over the wire: every request it passes to an inner transport
 * is reported, with its response, once the response body has been read to the end or cancelled.
 * Hijacked connections (attach, exec with stdin) are recorded too, with every byte written to them.
 * The exchanges are raw (not yet normalised); the recording session normalises and writes them.
 *
 * Pure web-standard code: runs on Node, Bun and Deno.
 *
 * @module
 */

import { concatBytes } from '../engine/stream/collect.js';
import type {
  HijackedConnection,
  Transport,
  TransportRequest,
  TransportRequestBody,
  TransportResponse,
  TransportResponseBody,
} from '../engine/transport/types.js';
import {
  encodeRequestBody,
  encodeResponseBody,
  isMultiplexed,
  type RecordedBody,
  type RecordedExchange,
  type RecordedResponse,
  recordedBodyChunks,
  VOLATILE_RESPONSE_HEADERS,
} from './format.js';

/** One recorded exchange with where it sits in the sequence of requests. */
export interface RawExchange {
  exchange: RecordedExchange;
  /** The order in which its request was sent (0, 1, 2, … across every client of the session). */
  sequence: number;
  /** The sequence number of the last request sent before its body ended. */
  lastSequenceAtEnd: number;
}

/** Hands out request sequence numbers; shared by every client recording into one folder. */
export interface SequenceCounter {
  /** Takes the next number. */
  next(): number;
  /** The last number taken (-1 before the first). */
  current(): number;
}

/** A new sequence counter starting at 0. */
export function createSequenceCounter(): SequenceCounter {
  let value = -1;
  return {
    next: () => ++value,
    current: () => value,
  };
}

/**
 * Wraps a transport so that every exchange is reported to `onExchange` once its response body has
 * been read to the end or cancelled (a hijacked connection: once its output ends or it is closed).
 * Requests, responses and bodies pass through unchanged; the recorder keeps a copy of the bytes.
 * When the client cancels a body that announced its `Content-Length`, the rest is read so that the
 * recording is complete; a stream without a length is recorded as far as it got (`truncated`).
 *
 * @param inner The transport that talks to the engine.
 * @param onExchange Receives each exchange.
 * @param counter Sequence numbers (share one between clients that record into one folder).
 */
export function createRecordingTransport(
  inner: Transport,
  onExchange: (raw: RawExchange) => void,
  counter: SequenceCounter = createSequenceCounter(),
): Transport {
  const requestOf = (request: TransportRequest, sent: Uint8Array) => ({
    method: request.method,
    path: request.path,
    headers: request.headers['content-type'] !== undefined ? { 'content-type': request.headers['content-type'] } : {},
    body: encodeRequestBody(sent, request.headers['content-type']),
  });
  const responseOf = (request: TransportRequest, sent: Uint8Array, status: number, headers: Record<string, string>, bytes: Uint8Array) => {
    const requestText = request.headers['content-type']?.includes('json') ? new TextDecoder().decode(sent) : undefined;
    const multiplexed = isMultiplexed(request.path, requestText, headers);
    return {
      status,
      headers: recordResponseHeaders(headers),
      body: encodeResponseBody(bytes, request.path, status, headers, multiplexed),
    } satisfies RecordedResponse as RecordedResponse;
  };
  return {
    get address() {
      return inner.address;
    },
    async request(request: TransportRequest): Promise<TransportResponse> {
      const sequence = counter.next();
      const sent = copyRequestBody(request.body);
      const response = await inner.request({ ...request, body: sent.body });
      const headers = response.headers;
      const length = headers['content-length'] !== undefined ? Number(headers['content-length']) : undefined;
      const body = recordBody(response.body, length, (bytes, complete) => {
        const recorded = responseOf(request, sent.bytes(), response.status, headers, bytes);
        if (!complete) recorded.truncated = true;
        onExchange({
          exchange: { request: requestOf(request, sent.bytes()), response: recorded },
          sequence,
          lastSequenceAtEnd: counter.current(),
        });
      });
      return { status: response.status, headers, body };
    },
    async hijack(request: TransportRequest): Promise<HijackedConnection> {
      const sequence = counter.next();
      const sent = copyRequestBody(request.body);
      const connection = await inner.hijack({ ...request, body: sent.body });
      const written: Uint8Array[] = [];
      let writtenLength = 0;
      // How much stdin had been written when the output reached each length (for interleaving).
      const marks: Array<{ end: number; stdin: number }> = [];
      const encoder = new TextEncoder();
      const onChunk = (end: number) => marks.push({ end, stdin: writtenLength });
      const body = recordBody(
        connection.body,
        undefined,
        (bytes, complete) => {
          const recorded = responseOf(request, sent.bytes(), connection.status, connection.headers, bytes);
          if (!complete) recorded.truncated = true;
          const stdin = concatBytes(written);
          const before = stdinBefore(recorded.body, marks, stdin.length);
          if (before) recorded.stdinBefore = before;
          onExchange({
            exchange: {
              request: { ...requestOf(request, sent.bytes()), stdin: encodeRequestBody(stdin, undefined) },
              response: recorded,
              hijacked: true,
            },
            sequence,
            lastSequenceAtEnd: counter.current(),
          });
        },
        onChunk,
      );
      return {
        status: connection.status,
        headers: connection.headers,
        body,
        async write(data) {
          const bytes = typeof data === 'string' ? encoder.encode(data) : data.slice();
          written.push(bytes);
          writtenLength += bytes.length;
          await connection.write(data);
        },
        closeWrite: () => connection.closeWrite(),
        close() {
          connection.close();
          void body.cancel().catch(() => {});
        },
      };
    },
    close() {
      return inner.close();
    },
  };
}

/** Keeps a copy of the request body as it is sent (streams are copied chunk by chunk as they are read). */
function copyRequestBody(body: TransportRequestBody | undefined): { body: TransportRequestBody | undefined; bytes(): Uint8Array } {
  if (body === undefined) return { body, bytes: () => new Uint8Array(0) };
  if (typeof body === 'string') return { body, bytes: () => new TextEncoder().encode(body) };
  if (body instanceof Uint8Array) {
    const copy = body.slice();
    return { body, bytes: () => copy };
  }
  const chunks: Uint8Array[] = [];
  async function* tee(): AsyncGenerator<Uint8Array> {
    for await (const chunk of body as AsyncIterable<Uint8Array>) {
      chunks.push(chunk.slice());
      yield chunk;
    }
  }
  return { body: tee(), bytes: () => concatBytes(chunks) };
}

/**
 * Wraps a response body: copies the chunks the client reads and calls `done` once, when the body
 * ends or is cancelled (after reading the rest of a body whose length is known).
 */
function recordBody(
  inner: TransportResponseBody,
  length: number | undefined,
  done: (bytes: Uint8Array, complete: boolean) => void,
  onChunk?: (sizeSoFar: number) => void,
): TransportResponseBody {
  const chunks: Uint8Array[] = [];
  let size = 0;
  let ended = false;
  let reported = false;
  let iterator: AsyncIterator<Uint8Array> | undefined;
  let finishing: Promise<void> | undefined;
  const source = () => {
    iterator ??= inner[Symbol.asyncIterator]();
    return iterator;
  };
  const report = () => {
    if (reported) return;
    reported = true;
    done(concatBytes(chunks), ended);
  };
  const take = (chunk: Uint8Array) => {
    chunks.push(chunk.slice());
    size += chunk.length;
    onChunk?.(size);
  };
  // The client stopped early: read what is left of a body of known length, then report.
  const finish = (): Promise<void> => {
    finishing ??= (async () => {
      if (!ended && length !== undefined && Number.isFinite(length)) {
        try {
          const it = source();
          while (size < length) {
            const next = await it.next();
            if (next.done) break;
            take(next.value);
          }
          if (size >= length) ended = true;
        } catch {
          // the rest could not be read: record what there is
        }
      }
      report();
    })();
    return finishing;
  };
  return {
    async *[Symbol.asyncIterator]() {
      const it = source();
      let failed = false;
      try {
        for (;;) {
          let next: IteratorResult<Uint8Array>;
          try {
            next = await it.next();
          } catch (error) {
            failed = true;
            throw error;
          }
          if (next.done) {
            ended = true;
            break;
          }
          take(next.value);
          yield next.value;
        }
      } finally {
        if (ended || failed) report();
        else await finish();
      }
    },
    async cancel(reason?: unknown) {
      await finish();
      await inner.cancel(reason);
    },
  };
}

/**
 * For each chunk a replay sends of a hijacked connection's output (see `recordedBodyChunks`), how
 * many bytes of stdin had been written when it arrived; `undefined` when all of it came after all
 * of stdin (the replay's default), as with `exec.run(…, { stdin })`.
 */
function stdinBefore(body: RecordedBody | null, marks: readonly { end: number; stdin: number }[], total: number): number[] | undefined {
  if (total === 0 || marks.length === 0) return undefined;
  let end = 0;
  const counts = recordedBodyChunks(body).map((chunk) => {
    end += chunk.length;
    return (marks.find((mark) => mark.end >= end) ?? marks[marks.length - 1])?.stdin ?? total;
  });
  return counts.some((count) => count < total) ? counts : undefined;
}

/** Response headers without the volatile ones, sorted by name. */
function recordResponseHeaders(headers: Record<string, string>): Record<string, string> {
  const out: Record<string, string> = {};
  for (const name of Object.keys(headers).sort()) {
    const lower = name.toLowerCase();
    if (!VOLATILE_RESPONSE_HEADERS.includes(lower)) out[lower] = headers[name] as string;
  }
  return out;
}
