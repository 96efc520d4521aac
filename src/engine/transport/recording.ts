/**
 * A transport that records what goes over the wire: every request it passes to an inner transport
 * is reported, with its response, as a {@link RecordedExchange} once the response body has been
 * read to the end or cancelled. The exchange is plain JSON (bodies decoded into readable
 * encodings: JSON, JSON lines, text, multiplexed frames or base64), which is what the fixtures
 * in `fixtures/` are made of; {@link recordedBodyBytes} turns a recorded body back into the bytes
 * the engine sent, to replay it (with msw, or a fake transport).
 *
 * Hijacked connections (`Upgrade: tcp`: attach, exec with stdin) pass through unrecorded: they
 * are a duplex byte stream, not a request and a response, and a `fetch`-based transport cannot
 * replay them anyway.
 *
 * Pure web-standard code (no `node:` imports, no `Buffer`): runs on Node, Bun and Deno.
 *
 * @module
 */

import { encodeFrame } from '../stream/demux.js';
import type {
  HijackedConnection,
  Transport,
  TransportRequest,
  TransportRequestBody,
  TransportResponse,
  TransportResponseBody,
} from './types.js';

/** The stream a recorded frame belongs to (the frame header's first byte: 0, 1, 2 or 3). */
export type RecordedFrameStream = 'stdin' | 'stdout' | 'stderr' | 'system';

/**
 * One frame of a multiplexed stdout/stderr body. The payload is `text` when it is valid UTF-8,
 * `base64` otherwise. Frame boundaries are kept as the engine sent them.
 */
export type RecordedFrame = { stream: RecordedFrameStream; text: string } | { stream: RecordedFrameStream; base64: string };

/**
 * A request or response body in readable form. Exactly one key:
 * - `json`: a JSON document (re-serialised on replay; byte layout is not kept);
 * - `jsonLines`: newline-delimited JSON (pull/import progress, events), one value per line;
 * - `text`: UTF-8 text;
 * - `frames`: a multiplexed stdout/stderr stream (exec start, logs, attach without a TTY);
 * - `base64`: anything else (tar archives, bytes that are not UTF-8).
 *
 * An empty body is recorded as `null` instead.
 */
export type RecordedBody =
  | { json: unknown }
  | { jsonLines: unknown[] }
  | { text: string }
  | { frames: RecordedFrame[] }
  | { base64: string };

/** The request half of a {@link RecordedExchange}. */
export interface RecordedRequest {
  /** HTTP method. */
  method: TransportRequest['method'];
  /** Path and query exactly as the client sent them, e.g. `/v1.41/containers/json?all=1`. */
  path: string;
  /** Only `content-type`, when the request had one (other headers, such as registry auth, are never recorded). */
  headers: Record<string, string>;
  /** The body the client sent, or `null`. */
  body: RecordedBody | null;
}

/** The response half of a {@link RecordedExchange}. */
export interface RecordedResponse {
  /** HTTP status. */
  status: number;
  /** Response headers (lower-case names, sorted), without the volatile ones ({@link VOLATILE_RESPONSE_HEADERS}). */
  headers: Record<string, string>;
  /** The body as far as it was received, or `null` when empty. */
  body: RecordedBody | null;
  /**
   * Present (and true) when the client cancelled the body before its end and the rest could not be
   * read cheaply (no `Content-Length`): `body` holds only what had arrived.
   */
  truncated?: boolean;
}

/** One request and its response, as recorded by {@link createRecordingTransport}. */
export interface RecordedExchange {
  /** What the client sent. */
  request: RecordedRequest;
  /** What the engine answered. */
  response: RecordedResponse;
}

/**
 * Response headers that are never recorded: they change from one run to the next (`date`), depend
 * on how the body was framed rather than what it says (`content-length`, `transfer-encoding`,
 * `connection`, `keep-alive`), or name the engine build (`server`; a fixture's `meta.json` says
 * which engine it came from).
 */
export const VOLATILE_RESPONSE_HEADERS: readonly string[] = [
  'date',
  'content-length',
  'transfer-encoding',
  'connection',
  'keep-alive',
  'server',
];

/** Options of {@link createRecordingTransport}. */
export interface RecordingTransportOptions {
  /**
   * Decides whether a response body is a multiplexed stdout/stderr stream (recorded as `frames`).
   * Return `undefined` to use the default rule: `application/vnd.docker.multiplexed-stream`
   * always is; on exec start, logs and attach paths a body is too unless the exec asked for a TTY
   * (or, on API >= 1.42, the engine labels it `raw-stream`). A body that does not parse as frames
   * is recorded as text or base64 whatever this says.
   */
  multiplexed?:
    | ((request: TransportRequest, response: { status: number; headers: Record<string, string> }) => boolean | undefined)
    | undefined;
  /** Called when a connection is hijacked (such exchanges are not recorded). */
  onHijack?: ((request: TransportRequest) => void) | undefined;
}

/**
 * Wraps a transport so that every exchange is reported to `onExchange` once its response body has
 * been read to the end or cancelled. Requests, responses and bodies pass through unchanged; the
 * recorder keeps a copy of the bytes. When the client cancels a body that announced its
 * `Content-Length`, the rest is read (it is small and already on its way) so that the recording
 * is complete; a stream without a length is recorded as far as it got (`truncated: true`).
 *
 * Exchanges are reported in the order their bodies finish; `sequence` (0, 1, 2, …) is the order
 * in which the requests were sent. A request that fails before a response (connection error) is
 * not reported. Hijacked connections are passed through unrecorded (see `onHijack`).
 *
 * @param inner The transport that talks to the engine.
 * @param onExchange Receives each exchange and the sequence number of its request.
 * @param options See {@link RecordingTransportOptions}.
 *
 * @example
 * ```ts
 * const exchanges: RecordedExchange[] = [];
 * const transport = createRecordingTransport(createNodeTransport({ kind: 'unix', socketPath: '/var/run/docker.sock' }), (e) =>
 *   exchanges.push(e),
 * );
 * const docker = new DockerClient({ transport, apiVersion: '1.41' });
 * ```
 */
export function createRecordingTransport(
  inner: Transport,
  onExchange: (exchange: RecordedExchange, sequence: number) => void,
  options: RecordingTransportOptions = {},
): Transport {
  let sequence = 0;
  return {
    get address() {
      return inner.address;
    },
    async request(request: TransportRequest): Promise<TransportResponse> {
      const order = sequence++;
      const sent = copyRequestBody(request.body);
      const response = await inner.request({ ...request, body: sent.body });
      const headers = response.headers;
      const length = headers['content-length'] !== undefined ? Number(headers['content-length']) : undefined;
      const body = recordBody(response.body, length, (bytes, complete) => {
        const multiplexed = options.multiplexed?.(request, { status: response.status, headers }) ?? defaultMultiplexed(request, headers);
        const recorded: RecordedResponse = {
          status: response.status,
          headers: recordResponseHeaders(headers),
          body: encodeResponseBody(bytes, request, response.status, headers, multiplexed),
        };
        if (!complete) recorded.truncated = true;
        onExchange(
          {
            request: {
              method: request.method,
              path: request.path,
              headers: request.headers['content-type'] !== undefined ? { 'content-type': request.headers['content-type'] } : {},
              body: encodeRequestBody(sent.bytes(), request.headers['content-type']),
            },
            response: recorded,
          },
          order,
        );
      });
      return { status: response.status, headers, body };
    },
    hijack(request: TransportRequest): Promise<HijackedConnection> {
      options.onHijack?.(request);
      return inner.hijack(request);
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
  return { body: tee(), bytes: () => concat(chunks) };
}

/**
 * Wraps a response body: copies the chunks the client reads and calls `done` once, when the body
 * ends or is cancelled (after reading the rest of a body whose length is known).
 */
function recordBody(
  inner: TransportResponseBody,
  length: number | undefined,
  done: (bytes: Uint8Array, complete: boolean) => void,
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
    done(concat(chunks), ended);
  };
  const take = (chunk: Uint8Array) => {
    chunks.push(chunk.slice());
    size += chunk.length;
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

/** Response headers without the volatile ones, sorted by name. */
function recordResponseHeaders(headers: Record<string, string>): Record<string, string> {
  const out: Record<string, string> = {};
  for (const name of Object.keys(headers).sort()) {
    const lower = name.toLowerCase();
    if (!VOLATILE_RESPONSE_HEADERS.includes(lower)) out[lower] = headers[name] as string;
  }
  return out;
}

const OUTPUT_PATH = /^(?:\/v(\d+)\.(\d+))?\/(?:exec\/[^/?]+\/start|containers\/[^/?]+\/(?:logs|attach))(?:\?|$)/;
const JSON_LINES_PATH =
  /^(?:\/v\d+\.\d+)?\/(?:images\/create|images\/.+\/push|images\/load|events|build|containers\/[^/?]+\/stats)(?:\?|$)/;

function defaultMultiplexed(request: TransportRequest, headers: Record<string, string>): boolean {
  const type = headers['content-type'] ?? '';
  if (type.includes('application/vnd.docker.multiplexed-stream')) return true;
  const match = OUTPUT_PATH.exec(request.path);
  if (!match) return false;
  // From API 1.42 the engine labels a TTY (unframed) stream raw-stream and a framed one multiplexed-stream.
  if (type.includes('application/vnd.docker.raw-stream') && match[1] !== undefined && (Number(match[1]) > 1 || Number(match[2]) >= 42)) {
    return false;
  }
  if (typeof request.body === 'string') {
    try {
      return (JSON.parse(request.body) as { Tty?: unknown }).Tty !== true;
    } catch {
      return true;
    }
  }
  return true;
}

function encodeRequestBody(bytes: Uint8Array, contentType: string | undefined): RecordedBody | null {
  if (bytes.length === 0) return null;
  const type = contentType ?? '';
  if (/[/+]json\b/.test(type)) {
    const text = utf8(bytes);
    if (text !== undefined) {
      try {
        return { json: JSON.parse(text) };
      } catch {
        return { text };
      }
    }
  }
  return textOrBase64(bytes, type);
}

function encodeResponseBody(
  bytes: Uint8Array,
  request: TransportRequest,
  status: number,
  headers: Record<string, string>,
  multiplexed: boolean,
): RecordedBody | null {
  if (bytes.length === 0) return null;
  const type = headers['content-type'] ?? '';
  if (multiplexed && status < 400) {
    const frames = parseFrames(bytes);
    if (frames) return { frames };
  }
  if (/[/+]json\b/.test(type) || type.includes('json-seq') || type.includes('x-ndjson')) {
    const text = utf8(bytes);
    if (text !== undefined) {
      const lines = () => {
        try {
          return text
            .split('\n')
            .filter((line) => line.trim() !== '')
            .map((line) => JSON.parse(line) as unknown);
        } catch {
          return undefined;
        }
      };
      if (status < 400 && JSON_LINES_PATH.test(request.path)) {
        const values = lines();
        if (values) return { jsonLines: values };
      }
      try {
        return { json: JSON.parse(text) };
      } catch {
        const values = lines();
        return values ? { jsonLines: values } : { text };
      }
    }
  }
  return textOrBase64(bytes, type);
}

function textOrBase64(bytes: Uint8Array, type: string): RecordedBody {
  if (!/tar|octet-stream|gzip|zip/.test(type)) {
    const text = utf8(bytes);
    if (text !== undefined) return { text };
  }
  return { base64: bytesToBase64(bytes) };
}

const STREAM_NAMES: readonly RecordedFrameStream[] = ['stdin', 'stdout', 'stderr', 'system'];

/** Splits a multiplexed body into frames; `undefined` when it is not one (a TTY stream, or cut short). */
function parseFrames(bytes: Uint8Array): RecordedFrame[] | undefined {
  const frames: RecordedFrame[] = [];
  let pos = 0;
  while (pos < bytes.length) {
    if (bytes.length - pos < 8) return undefined;
    const type = bytes[pos] as number;
    if (type > 3 || bytes[pos + 1] !== 0 || bytes[pos + 2] !== 0 || bytes[pos + 3] !== 0) return undefined;
    const size =
      (bytes[pos + 4] as number) * 0x1000000 +
      (((bytes[pos + 5] as number) << 16) | ((bytes[pos + 6] as number) << 8) | (bytes[pos + 7] as number));
    if (pos + 8 + size > bytes.length) return undefined;
    const payload = bytes.subarray(pos + 8, pos + 8 + size);
    const stream = STREAM_NAMES[type] as RecordedFrameStream;
    const text = utf8(payload);
    frames.push(text !== undefined ? { stream, text } : { stream, base64: bytesToBase64(payload) });
    pos += 8 + size;
  }
  return frames;
}

/**
 * The bytes a recorded body stands for, as the engine sent them (up to JSON formatting): `json`
 * serialised with a final newline, `jsonLines` one value per line, `frames` re-encoded in the
 * multiplexed format, `text` as UTF-8, `base64` decoded. `null` gives an empty array.
 *
 * @param body A recorded body (`request.body` or `response.body` of a {@link RecordedExchange}).
 */
export function recordedBodyBytes(body: RecordedBody | null): Uint8Array {
  if (body === null) return new Uint8Array(0);
  const encoder = new TextEncoder();
  if ('json' in body) return encoder.encode(`${JSON.stringify(body.json)}\n`);
  if ('jsonLines' in body) return encoder.encode(body.jsonLines.map((value) => `${JSON.stringify(value)}\n`).join(''));
  if ('text' in body) return encoder.encode(body.text);
  if ('base64' in body) return base64ToBytes(body.base64);
  return concat(
    body.frames.map((frame) =>
      encodeFrame(
        STREAM_NAMES.indexOf(frame.stream) as 0 | 1 | 2 | 3,
        'text' in frame ? encoder.encode(frame.text) : base64ToBytes(frame.base64),
      ),
    ),
  );
}

function utf8(bytes: Uint8Array): string | undefined {
  try {
    return new TextDecoder('utf-8', { fatal: true, ignoreBOM: true }).decode(bytes);
  } catch {
    return undefined;
  }
}

function concat(chunks: readonly Uint8Array[]): Uint8Array {
  let total = 0;
  for (const chunk of chunks) total += chunk.length;
  const out = new Uint8Array(total);
  let offset = 0;
  for (const chunk of chunks) {
    out.set(chunk, offset);
    offset += chunk.length;
  }
  return out;
}

/**
 * Encodes bytes as standard base64 (with padding), with `btoa` in slices so that large bodies
 * do not overflow the call stack.
 *
 * @param bytes The bytes to encode.
 */
export function bytesToBase64(bytes: Uint8Array): string {
  let binary = '';
  for (let i = 0; i < bytes.length; i += 0x8000) binary += String.fromCharCode(...bytes.subarray(i, i + 0x8000));
  return btoa(binary);
}

/**
 * Decodes standard base64 (as written by {@link bytesToBase64}) to bytes.
 *
 * @param text The base64 text.
 */
export function base64ToBytes(text: string): Uint8Array {
  const binary = atob(text);
  const out = new Uint8Array(binary.length);
  for (let i = 0; i < binary.length; i++) out[i] = binary.charCodeAt(i);
  return out;
}
