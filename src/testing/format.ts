/**
 * The `berth-fixtures/1` format: one JSON file per exchange (request and response) plus a
 * `meta.json`, in a folder. Bodies are stored in readable encodings (JSON, JSON lines, text,
 * multiplexed frames, base64); {@link recordedBodyBytes} turns one back into the bytes the engine
 * sent. The format is documented in `fixtures/README.md`.
 *
 * Pure web-standard code (no `node:` imports, no `Buffer`): runs on Node, Bun and Deno.
 *
 * @module
 */

import { concatBytes } from '../engine/stream/collect.js';
import { encodeFrame } from '../engine/stream/demux.js';
import type { TransportRequest } from '../engine/transport/types.js';

/** The format name written into every `meta.json`. */
export const FIXTURE_FORMAT = 'berth-fixtures/1';

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
 * - `text`: UTF-8 text (also a TTY stream, replayed line by line);
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
  /** Path and query as the client sent them (after normalisation), e.g. `/v1.41/containers/json?all=1`. */
  path: string;
  /** Only `content-type`, when the request had one (other headers, such as registry auth, are never recorded). */
  headers: Record<string, string>;
  /** The body the client sent, or `null`. */
  body: RecordedBody | null;
  /** Hijacked connections only: every byte the client wrote to the connection (stdin), or `null` for none. */
  stdin?: RecordedBody | null;
}

/** The response half of a {@link RecordedExchange}. */
export interface RecordedResponse {
  /** HTTP status (101 for a hijacked connection that the engine upgraded). */
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
  /**
   * The body ended after the client had sent the next this-many recorded requests (the output of
   * a block that timed out ends when the kill arrives; an answer read while concurrent code went on). A replay holds the end of
   * the body until those requests have been sent again (see `endsAfterRead`), so code that reacts
   * to a silent stream sees the same order of events.
   */
  endsAfter?: number;
  /**
   * With `endsAfter`: which of those requests (1 = the first after this one) had also been
   * answered and read to their end when this stream ended. A replay waits for those to be read,
   * and for the others only to be sent, as it was when recording.
   */
  endsAfterRead?: number[];
  /**
   * Hijacked connections whose output interleaved with stdin only: for each chunk of the body (a
   * frame, a line of TTY text), how many bytes of stdin had been written when it arrived. A replay
   * sends each chunk once that much has been written again. Without it, the output comes once all
   * of `request.stdin` has been written (or the client closed its side).
   */
  stdinBefore?: number[];
}

/** One request and its response. */
export interface RecordedExchange {
  /** What the client sent. */
  request: RecordedRequest;
  /** What the engine answered. */
  response: RecordedResponse;
  /** Present (and true) for a hijacked connection (`Upgrade: tcp`: attach, exec with stdin). */
  hijacked?: boolean;
}

/** The `meta.json` of a recording folder. */
export interface FixtureMeta {
  /** Always {@link FIXTURE_FORMAT}. */
  format: string;
  /** The folder's name, or a name the recorder was given. */
  scenario: string;
  /** What the recording shows (optional). */
  description?: string;
  /** The API version of the versioned paths (`1.41`), when there were any. */
  apiVersion?: string;
  /** The engine that answered (from `GET /version`), when the recording asked for it. */
  engine?: Record<string, unknown>;
  /** Where the recording client sent its requests (`unix:///var/run/docker.sock`); a replay reports the same address. */
  address?: string;
  /** The date the exchanges last changed (Berth's own fixtures only). */
  recorded?: string;
  /** How the recording was made. */
  recordedWith?: string;
  /** The exchange files, in order. */
  exchanges: string[];
}

/**
 * Response headers that are never recorded: they change from one run to the next (`date`), depend
 * on how the body was framed rather than what it says (`content-length`, `transfer-encoding`,
 * `content-encoding`: Bun's fetch asks for gzip and hands over the body decoded, which is what is
 * recorded; `connection`, `keep-alive`), or name the engine build (`server`).
 */
export const VOLATILE_RESPONSE_HEADERS: readonly string[] = [
  'date',
  'content-length',
  'transfer-encoding',
  'content-encoding',
  'connection',
  'keep-alive',
  'server',
];

const STREAM_NAMES: readonly RecordedFrameStream[] = ['stdin', 'stdout', 'stderr', 'system'];

/** Paths whose bodies are output streams (frames, or raw with a TTY). */
export const OUTPUT_PATH = /^(?:\/v(\d+)\.(\d+))?\/(?:exec\/[^/?]+\/start|containers\/[^/?]+\/(?:logs|attach))(?:\?|$)/;
/** Paths whose bodies are JSON lines. */
export const JSON_LINES_PATH =
  /^(?:\/v\d+\.\d+)?\/(?:images\/create|images\/.+\/push|images\/load|events|build|containers\/[^/?]+\/stats)(?:\?|$)/;

/** Whether a response body is a stream the client reads incrementally (output, JSON lines). */
export function isStreamPath(path: string): boolean {
  return OUTPUT_PATH.test(path) || JSON_LINES_PATH.test(path);
}

/**
 * Whether the body of a response to `request` is a multiplexed stdout/stderr stream:
 * `application/vnd.docker.multiplexed-stream` always is; on exec start, logs and attach paths a
 * body is too unless the exec asked for a TTY (or, on API >= 1.42, the engine labels it `raw-stream`).
 */
export function isMultiplexed(path: string, requestBody: string | undefined, headers: Record<string, string>): boolean {
  const type = headers['content-type'] ?? '';
  if (type.includes('application/vnd.docker.multiplexed-stream')) return true;
  const match = OUTPUT_PATH.exec(path);
  if (!match) return false;
  // From API 1.42 the engine labels a TTY (unframed) stream raw-stream and a framed one multiplexed-stream.
  if (type.includes('application/vnd.docker.raw-stream') && match[1] !== undefined && (Number(match[1]) > 1 || Number(match[2]) >= 42)) {
    return false;
  }
  if (requestBody !== undefined) {
    try {
      return (JSON.parse(requestBody) as { Tty?: unknown }).Tty !== true;
    } catch {
      return true;
    }
  }
  return true;
}

/** Encodes a request body: JSON when the content type says so, else text or base64. `null` when empty. */
export function encodeRequestBody(bytes: Uint8Array, contentType: string | undefined): RecordedBody | null {
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

/** Encodes a response body in the most readable encoding that keeps its meaning. `null` when empty. */
export function encodeResponseBody(
  bytes: Uint8Array,
  path: string,
  status: number,
  headers: Record<string, string>,
  multiplexed: boolean,
): RecordedBody | null {
  if (bytes.length === 0) return null;
  const type = headers['content-type'] ?? '';
  if (multiplexed && (status < 400 || status === 101)) {
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
      if (status < 400 && JSON_LINES_PATH.test(path)) {
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
  return concatBytes(recordedBodyChunks(body));
}

/**
 * A recorded body as the chunks a replay sends: one per frame, one per JSON line, one per line of
 * text (a TTY stream), the whole body otherwise.
 *
 * @param body A recorded body.
 */
export function recordedBodyChunks(body: RecordedBody | null): Uint8Array[] {
  if (body === null) return [];
  const encoder = new TextEncoder();
  if ('json' in body) return [encoder.encode(`${JSON.stringify(body.json)}\n`)];
  if ('jsonLines' in body) return body.jsonLines.map((value) => encoder.encode(`${JSON.stringify(value)}\n`));
  if ('text' in body) return (body.text.match(/[^\n]*\n|[^\n]+$/g) ?? []).map((line) => encoder.encode(line));
  if ('base64' in body) return [base64ToBytes(body.base64)];
  return body.frames.map((frame) =>
    encodeFrame(
      STREAM_NAMES.indexOf(frame.stream) as 0 | 1 | 2 | 3,
      'text' in frame ? encoder.encode(frame.text) : base64ToBytes(frame.base64),
    ),
  );
}

/** Decodes UTF-8 strictly; `undefined` when the bytes are not valid UTF-8. */
export function utf8(bytes: Uint8Array): string | undefined {
  try {
    return new TextDecoder('utf-8', { fatal: true, ignoreBOM: true }).decode(bytes);
  } catch {
    return undefined;
  }
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

/** Reads a request body (bytes, text or a stream) into bytes. */
export async function readRequestBody(body: TransportRequest['body']): Promise<Uint8Array> {
  if (body === undefined) return new Uint8Array(0);
  if (typeof body === 'string') return new TextEncoder().encode(body);
  if (body instanceof Uint8Array) return body;
  const chunks: Uint8Array[] = [];
  for await (const chunk of body) chunks.push(chunk);
  return concatBytes(chunks);
}
