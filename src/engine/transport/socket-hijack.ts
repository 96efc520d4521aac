/**
 * The runtime-neutral half of a hijacked connection (`Upgrade: tcp`: attach, exec with stdin):
 * writing the request head, reading and parsing the response head within a time limit, then
 * either handing over the raw duplex stream (101) or reading the engine's error answer, bounded
 * by its `Content-Length` or de-chunked. The Node, Bun and Deno adapters only open the socket and
 * wrap it as a {@link RawSocket}.
 *
 * Pure web-standard code (no `node:` imports, no `Buffer`): runs on Node, Bun and Deno.
 *
 * @module
 */

import { DockerArgumentError, DockerError, DockerStreamError } from '../errors.js';
import { connectionError } from './connection-error.js';
import type { HijackedConnection, TransportRequest } from './types.js';

/** A connected byte stream, as each runtime's adapter presents it. */
export interface RawSocket {
  /** The next bytes received, or `undefined` at the end of the stream. Rejects when the connection fails, or was destroyed with an error. */
  read(): Promise<Uint8Array | undefined>;
  /** Sends bytes, in order with earlier writes; resolves once they are handed to the OS. */
  write(data: Uint8Array): Promise<void>;
  /** Half-closes: sends FIN once earlier writes are out; reading goes on. Resolves at once on a closed socket. */
  closeWrite(): Promise<void>;
  /** Closes both directions now. A pending or later `read` rejects with `error`, or ends when there is none. */
  destroy(error?: Error): void;
}

/** Largest response head accepted. */
const MAX_HEAD = 64 * 1024;
/** Longest chunk-size line accepted (size, extensions and CRLF). */
const MAX_CHUNK_LINE = 4096;

const encoder = new TextEncoder();

/**
 * The body of a hijack request as bytes, checked before any connection is opened, so that a
 * wrong body never leaves a socket open.
 *
 * @param request The request.
 * @throws DockerArgumentError for a streamed body.
 */
export function hijackBody(request: TransportRequest): Uint8Array | undefined {
  if (typeof request.body === 'string') return encoder.encode(request.body);
  if (request.body instanceof Uint8Array) return request.body;
  if (request.body !== undefined) throw new DockerArgumentError('body', 'a hijacked request takes its body as bytes or text, not a stream');
  return undefined;
}

/**
 * Opens a connection with a time limit and the request's abort signal: the one connect helper of
 * every runtime's adapter. When the call gives up (time limit or abort), `cancel` aborts, so a
 * connector that can stop an attempt in progress does (Node destroys its socket); a connection
 * that still comes after that is closed at once.
 *
 * @param connect Opens the connection (a runtime's `connect`); `cancel` aborts when the call gave up.
 * @param dispose Closes a connection that came too late.
 * @param options `address` for messages, `timeout` in milliseconds, the request's `signal`.
 * @throws DockerConnectionError when the connection fails or times out; the signal's reason when aborted.
 */
export function connectWithin<T>(
  connect: (cancel: AbortSignal) => Promise<T>,
  dispose: (connection: T) => void,
  options: { address: string; timeout: number; signal?: AbortSignal | undefined },
): Promise<T> {
  const { address, timeout, signal } = options;
  return new Promise<T>((resolve, reject) => {
    let settled = false;
    const cancel = new AbortController();
    const settle = (): boolean => {
      if (settled) return false;
      settled = true;
      clearTimeout(timer);
      signal?.removeEventListener('abort', onAbort);
      return true;
    };
    const giveUp = (reason: unknown) => {
      if (!settle()) return;
      cancel.abort(reason);
      reject(reason);
    };
    const onAbort = () => giveUp(signal?.reason);
    const timer = setTimeout(
      () => giveUp(connectionError(address, Object.assign(new Error('connect timed out'), { code: 'UND_ERR_CONNECT_TIMEOUT' }))),
      timeout,
    );
    signal?.addEventListener('abort', onAbort, { once: true });
    if (signal?.aborted) onAbort();
    let pending: Promise<T>;
    try {
      pending = connect(cancel.signal);
    } catch (error) {
      if (settle()) reject(connectionError(address, error));
      return;
    }
    pending.then(
      (connection) => {
        if (settle()) resolve(connection);
        else dispose(connection);
      },
      (error: unknown) => {
        if (settle()) reject(connectionError(address, error));
      },
    );
  });
}

function indexOfHeadEnd(bytes: Uint8Array, from: number): number {
  for (let i = Math.max(0, from); i + 3 < bytes.length; i++) {
    if (bytes[i] === 13 && bytes[i + 1] === 10 && bytes[i + 2] === 13 && bytes[i + 3] === 10) return i;
  }
  return -1;
}

function concat(a: Uint8Array, b: Uint8Array): Uint8Array {
  if (a.length === 0) return b;
  const out = new Uint8Array(a.length + b.length);
  out.set(a, 0);
  out.set(b, a.length);
  return out;
}

function latin1(bytes: Uint8Array): string {
  let text = '';
  for (let i = 0; i < bytes.length; i += 0x8000) text += String.fromCharCode(...bytes.subarray(i, i + 0x8000));
  return text;
}

/**
 * Sends a request with `Connection: Upgrade` / `Upgrade: tcp` over a connected socket and parses
 * the answer. The engine answers 101 (or 200 on old engines) and the connection then carries the
 * stream; any other answer is the body of the returned connection, and writing to it fails.
 *
 * @param socket The connected socket; owned by the returned connection from now on.
 * @param options `address` for messages, the `host` header, the `request`, its body as bytes, and
 * the `headersTimeout` used when the request sets none (0 waits forever).
 * @throws DockerConnectionError when no valid response head comes; the signal's reason when aborted.
 */
export async function hijackOverSocket(
  socket: RawSocket,
  options: { address: string; host: string; request: TransportRequest; body: Uint8Array | undefined; headersTimeout: number },
): Promise<HijackedConnection> {
  const { address, request, body: bodyBytes } = options;
  const signal = request.signal;
  const onAbort = () => socket.destroy(signal?.reason instanceof Error ? signal.reason : undefined);
  signal?.addEventListener('abort', onAbort, { once: true });
  if (signal?.aborted) onAbort();

  const headers: Record<string, string> = { ...request.headers, host: options.host, connection: 'Upgrade', upgrade: 'tcp' };
  headers['content-length'] = String(bodyBytes?.length ?? 0);
  let head = `${request.method} ${request.path} HTTP/1.1\r\n`;
  for (const [name, value] of Object.entries(headers)) head += `${name}: ${value}\r\n`;
  const headBytes = encoder.encode(`${head}\r\n`);
  // A failed write shows up as a failed read below.
  socket.write(bodyBytes?.length ? concat(headBytes, bodyBytes) : headBytes).catch(() => {});

  let buffered: Uint8Array = new Uint8Array(0);
  let headEnd = -1;
  // Like plain requests: wait at most `headersTimeout` for the response head (0 waits forever).
  const headersTimeout = request.headersTimeout ?? options.headersTimeout;
  let headersTimer: ReturnType<typeof setTimeout> | undefined;
  if (headersTimeout > 0) {
    headersTimer = setTimeout(() => {
      socket.destroy(Object.assign(new Error(`no response head within ${headersTimeout} ms`), { code: 'UND_ERR_HEADERS_TIMEOUT' }));
    }, headersTimeout);
  }
  try {
    while (headEnd < 0) {
      const next = await socket.read();
      if (next === undefined) throw Object.assign(new Error('the engine closed the connection before answering'), { code: 'ECONNRESET' });
      const searchFrom = buffered.length - 3;
      buffered = concat(buffered, next);
      headEnd = indexOfHeadEnd(buffered, searchFrom);
      if (headEnd < 0 && buffered.length > MAX_HEAD) throw new Error('response head over 64 KiB');
    }
  } catch (error) {
    signal?.removeEventListener('abort', onAbort);
    socket.destroy();
    if (signal?.aborted) throw signal.reason;
    throw connectionError(address, error);
  } finally {
    clearTimeout(headersTimer);
  }
  const lines = latin1(buffered.subarray(0, headEnd)).split('\r\n');
  const statusMatch = /^HTTP\/1\.[01] (\d{3})/.exec(lines[0] ?? '');
  if (!statusMatch) {
    signal?.removeEventListener('abort', onAbort);
    socket.destroy();
    throw connectionError(
      address,
      Object.assign(new Error(`invalid HTTP status line ${JSON.stringify(lines[0])}`), { code: 'HPE_INVALID' }),
    );
  }
  const status = Number(statusMatch[1]);
  const responseHeaders: Record<string, string> = {};
  for (const line of lines.slice(1)) {
    const colon = line.indexOf(':');
    if (colon > 0) responseHeaders[line.slice(0, colon).trim().toLowerCase()] = line.slice(colon + 1).trim();
  }
  const rest = buffered.subarray(headEnd + 4);
  const upgraded =
    status === 101 || (status === 200 && !('content-length' in responseHeaders) && !('transfer-encoding' in responseHeaders));
  // An error answer (not upgraded) ends at its Content-Length; chunked or close-delimited bodies
  // are read until the engine closes. Callers read error bodies with a size bound.
  const limit =
    !upgraded && responseHeaders['content-length'] !== undefined ? Number(responseHeaders['content-length']) : Number.POSITIVE_INFINITY;
  const chunked = !upgraded && /chunked/i.test(responseHeaders['transfer-encoding'] ?? '');
  let finished = false;
  // Set when the caller closes or cancels: the read that was pending then fails (premature close),
  // and that is the end the caller asked for, not a broken connection.
  let closedByCaller = false;
  const finish = () => {
    if (finished) return;
    finished = true;
    signal?.removeEventListener('abort', onAbort);
    socket.destroy();
  };
  async function* raw(): AsyncGenerator<Uint8Array> {
    try {
      let remaining = limit;
      if (rest.length) {
        const piece = rest.subarray(0, Math.min(rest.length, remaining));
        remaining -= piece.length;
        yield piece;
      }
      while (remaining > 0) {
        const next = await socket.read();
        if (next === undefined) break;
        const piece = next.length > remaining ? next.subarray(0, remaining) : next;
        remaining -= piece.length;
        yield piece;
      }
    } catch (error) {
      if (signal?.aborted) throw signal.reason;
      if (closedByCaller) return;
      throw connectionError(address, error, 'the connection to the engine failed while reading the stream');
    } finally {
      finish();
    }
  }
  const source = chunked ? dechunk(raw()) : raw();
  return {
    status,
    headers: responseHeaders,
    body: {
      [Symbol.asyncIterator]: () => source,
      async cancel() {
        closedByCaller = true;
        finish();
        await source.return(undefined);
      },
    },
    write(data) {
      if (!upgraded) return Promise.reject(new DockerError(`the engine did not upgrade the connection (HTTP ${status})`));
      return socket.write(typeof data === 'string' ? encoder.encode(data) : data).catch((error: unknown) => {
        throw connectionError(address, error);
      });
    },
    closeWrite: () => socket.closeWrite(),
    close() {
      closedByCaller = true;
      finish();
    },
  };
}

/**
 * Decodes an HTTP/1.1 chunked body (only error answers of hijack requests use it). Streaming: the
 * data of a chunk is yielded as it arrives, so a single huge chunk is never buffered; only a
 * chunk-size line (bounded) is. Ends at the last chunk (trailers are not read).
 *
 * @param source The raw body bytes.
 * @throws DockerStreamError for a malformed chunk-size line.
 */
export async function* dechunk(source: AsyncIterable<Uint8Array>): AsyncGenerator<Uint8Array> {
  let line: Uint8Array = new Uint8Array(0);
  /** Data bytes of the current chunk still to come; -1 while reading a size line. */
  let remaining = -1;
  /** CRLF bytes after a chunk's data still to skip. */
  let crlf = 0;
  for await (const chunk of source) {
    let pos = 0;
    while (pos < chunk.length) {
      if (crlf > 0) {
        const skip = Math.min(crlf, chunk.length - pos);
        crlf -= skip;
        pos += skip;
        continue;
      }
      if (remaining > 0) {
        const take = Math.min(remaining, chunk.length - pos);
        yield chunk.subarray(pos, pos + take);
        remaining -= take;
        pos += take;
        if (remaining === 0) {
          remaining = -1;
          crlf = 2;
        }
        continue;
      }
      const newline = chunk.indexOf(0x0a, pos);
      const end = newline < 0 ? chunk.length : newline + 1;
      line = concat(line, chunk.subarray(pos, end));
      pos = end;
      if (newline < 0) {
        if (line.length > MAX_CHUNK_LINE) throw new DockerStreamError('invalid chunked encoding: chunk-size line too long');
        continue;
      }
      const size = Number.parseInt(latin1(line), 16);
      line = new Uint8Array(0);
      if (!Number.isFinite(size) || size < 0) throw new DockerStreamError('invalid chunked encoding: bad chunk size');
      if (size === 0) return;
      remaining = size;
    }
  }
}
