import { connect as netConnect, type Socket } from 'node:net';
import { type ConnectionOptions, connect as tlsConnect } from 'node:tls';
import { Pool } from 'undici';
import { DockerArgumentError, DockerConnectionError, DockerError, DockerStreamError, osCodeOf } from '../errors.js';
import type { HijackedConnection, Transport, TransportRequest, TransportResponseBody } from './types.js';

/** TLS material for a TCP engine, as PEM contents. */
export interface TlsMaterial {
  ca?: string | Uint8Array | undefined;
  cert?: string | Uint8Array | undefined;
  key?: string | Uint8Array | undefined;
  /** Verify the server certificate against `ca` (default true). */
  verify?: boolean | undefined;
}

/** Where a Node transport connects: a unix socket, or TCP with optional TLS. */
export type NodeEndpoint =
  | { kind: 'unix'; socketPath: string }
  | { kind: 'tcp'; host: string; port: number; tls?: TlsMaterial | undefined };

/** Options of {@link createNodeTransport}. */
export interface NodeTransportOptions {
  /** Milliseconds to establish a connection. Default 5000. */
  connectTimeout?: number;
  /** Default milliseconds to wait for response headers, when a request sets none. Default 60000. */
  headersTimeout?: number;
  /** Most connections kept to the engine at once. Default 64. */
  connections?: number;
}

/** Describes an endpoint as an address: `unix:///var/run/docker.sock` or `tcp://host:port`. */
export function endpointAddress(endpoint: NodeEndpoint): string {
  return endpoint.kind === 'unix' ? `unix://${endpoint.socketPath}` : `tcp://${endpoint.host}:${endpoint.port}`;
}

/**
 * The Node transport: undici's connection pool for plain requests (keep-alive, streaming bodies,
 * close-delimited bodies such as exec output) and a raw `net`/`tls` socket for hijacked
 * connections, so that an engine that refuses to upgrade still gives us its error body.
 */
export function createNodeTransport(endpoint: NodeEndpoint, options: NodeTransportOptions = {}): Transport {
  checkEndpoint(endpoint);
  const address = endpointAddress(endpoint);
  const connectTimeout = options.connectTimeout ?? 5000;
  const defaultHeadersTimeout = options.headersTimeout ?? 60_000;
  const tls = endpoint.kind === 'tcp' ? endpoint.tls : undefined;
  const origin =
    endpoint.kind === 'unix' ? 'http://localhost' : `${tls ? 'https' : 'http'}://${hostForUrl(endpoint.host)}:${endpoint.port}`;
  const pool = new Pool(origin, {
    connections: options.connections ?? 64,
    pipelining: 1,
    connectTimeout,
    keepAliveTimeout: 10_000,
    connect:
      endpoint.kind === 'unix'
        ? { socketPath: endpoint.socketPath }
        : tls
          ? {
              ca: pemOf(tls.ca),
              cert: pemOf(tls.cert),
              key: pemOf(tls.key),
              rejectUnauthorized: tls.verify !== false,
              servername: servername(endpoint.host),
            }
          : {},
  });

  const fail = (error: unknown, request: TransportRequest): never => {
    if (request.signal?.aborted) throw request.signal.reason;
    throw connectionError(address, error);
  };

  return {
    address,
    async request(request) {
      let response: Awaited<ReturnType<Pool['request']>>;
      try {
        response = await pool.request({
          method: request.method,
          path: request.path,
          headers: request.headers,
          body: request.body ?? null,
          signal: request.signal ?? null,
          headersTimeout: request.headersTimeout ?? defaultHeadersTimeout,
          bodyTimeout: request.bodyTimeout ?? 0,
        } as Parameters<Pool['request']>[0]);
      } catch (error) {
        return fail(error, request);
      }
      const headers = flattenHeaders(response.headers);
      const raw = response.body;
      // Destroying an unfinished body emits 'error' (RequestAbortedError); cancelling is deliberate.
      raw.on('error', () => {});
      const body: TransportResponseBody = {
        async *[Symbol.asyncIterator]() {
          try {
            for await (const chunk of raw) yield chunk as Uint8Array;
          } catch (error) {
            if (request.signal?.aborted) throw request.signal.reason;
            throw connectionError(address, error, 'the connection to the engine failed while reading the response');
          } finally {
            if (!raw.destroyed) raw.destroy();
          }
        },
        async cancel() {
          if (!raw.destroyed) raw.destroy();
        },
      };
      return { status: response.statusCode, headers, body };
    },
    hijack(request) {
      return hijack(endpoint, address, connectTimeout, defaultHeadersTimeout, request);
    },
    async close() {
      await pool.close();
    },
  };
}

/** Rejects an endpoint that cannot be connected to, before any I/O. */
function checkEndpoint(endpoint: NodeEndpoint): void {
  if (endpoint.kind === 'unix') {
    if (typeof endpoint.socketPath !== 'string' || endpoint.socketPath === '' || endpoint.socketPath.includes('\0')) {
      throw new DockerArgumentError('endpoint.socketPath', `expected a socket path, got ${JSON.stringify(endpoint.socketPath)}`);
    }
    return;
  }
  if (typeof endpoint.host !== 'string' || endpoint.host === '' || /[\s/]/.test(endpoint.host)) {
    throw new DockerArgumentError('endpoint.host', `expected a host name or IP address, got ${JSON.stringify(endpoint.host)}`);
  }
  if (!Number.isInteger(endpoint.port) || endpoint.port < 1 || endpoint.port > 65535) {
    throw new DockerArgumentError('endpoint.port', `expected a port from 1 to 65535, got ${endpoint.port}`);
  }
}

function hostForUrl(host: string): string {
  return host.includes(':') && !host.startsWith('[') ? `[${host}]` : host;
}

function servername(host: string): string | undefined {
  // SNI takes host names only, never IP addresses.
  return /^[\d.]+$/.test(host) || host.includes(':') ? undefined : host;
}

function pemOf(value: string | Uint8Array | undefined): string | Buffer | undefined {
  if (value === undefined) return undefined;
  return typeof value === 'string' ? value : Buffer.from(value);
}

function flattenHeaders(headers: Record<string, string | string[] | undefined>): Record<string, string> {
  const out: Record<string, string> = {};
  for (const [name, value] of Object.entries(headers)) {
    if (value !== undefined) out[name.toLowerCase()] = Array.isArray(value) ? value.join(', ') : value;
  }
  return out;
}

const HINTS: Record<string, string> = {
  ENOENT: 'no socket there: is the engine running? Start dockerd, or set DOCKER_HOST',
  ECONNREFUSED: 'nothing listens there: the engine is not running, or it is the wrong address',
  EACCES: 'permission denied: add your user to the docker group, or use rootless Docker',
  EPERM: 'permission denied: add your user to the docker group, or use rootless Docker',
  ENOTSOCK: 'that path is not a socket: check DOCKER_HOST or the socketPath option',
  UND_ERR_CONNECT_TIMEOUT: 'the connection timed out: is the engine overloaded, or the address wrong?',
  UND_ERR_HEADERS_TIMEOUT: 'the engine accepted the connection but did not answer in time',
  ECONNRESET: 'the engine closed the connection',
  UND_ERR_SOCKET: 'the engine closed the connection',
  EPROTO: 'TLS handshake failed: is this a TLS port, and is the certificate right?',
};

/** Builds a {@link DockerConnectionError} that names the address, the OS error and what to check. */
export function connectionError(address: string, error: unknown, what = 'cannot reach the engine'): DockerConnectionError {
  const code = osCodeOf(error) ?? (error as { code?: string } | undefined)?.code;
  const message = (error as Error | undefined)?.message ?? String(error);
  let hint = code ? HINTS[code] : undefined;
  if (!hint && /certificate|self.signed|unable to verify|alert|ssl|tls/i.test(message)) {
    hint = 'TLS failed: check DOCKER_CERT_PATH (ca.pem, cert.pem, key.pem) and that the engine listens with TLS';
  }
  if (!hint && /HPE_|Parse Error|invalid HTTP/i.test(message)) {
    hint = 'the peer does not speak HTTP: a plain-HTTP client against a TLS port, or the wrong port';
  }
  return new DockerConnectionError(`${what} at ${address} (${code ?? 'error'}: ${message})${hint ? `; ${hint}` : ''}`, {
    tried: [address],
    cause: error,
    osCode: code,
  });
}

/**
 * Opens a raw connection, writes the request with `Upgrade: tcp`, and parses the response head.
 * The engine answers 101 (or 200 on old engines) and then the connection carries the stream.
 */
async function hijack(
  endpoint: NodeEndpoint,
  address: string,
  connectTimeout: number,
  defaultHeadersTimeout: number,
  request: TransportRequest,
): Promise<HijackedConnection> {
  const signal = request.signal;
  signal?.throwIfAborted();
  // Check the body before connecting, so that a wrong body never leaves a socket open.
  let bodyBytes: Uint8Array | undefined;
  if (typeof request.body === 'string') bodyBytes = new TextEncoder().encode(request.body);
  else if (request.body instanceof Uint8Array) bodyBytes = request.body;
  else if (request.body !== undefined) throw new DockerError('a hijacked request takes its body as bytes or text');
  const socket: Socket = await new Promise<Socket>((resolve, reject) => {
    let sock: Socket;
    const cleanup = () => {
      clearTimeout(timer);
      signal?.removeEventListener('abort', onConnectAbort);
    };
    const onError = (error: Error) => {
      cleanup();
      reject(connectionError(address, error));
    };
    // An abort while connecting ends the call at once, with the signal's reason.
    const onConnectAbort = () => {
      cleanup();
      sock.off('error', onError);
      sock.on('error', () => {});
      sock.destroy();
      reject(signal?.reason);
    };
    const timer = setTimeout(() => {
      cleanup();
      sock.destroy();
      reject(connectionError(address, Object.assign(new Error('connect timed out'), { code: 'UND_ERR_CONNECT_TIMEOUT' })));
    }, connectTimeout);
    const ready = () => {
      cleanup();
      sock.off('error', onError);
      resolve(sock);
    };
    signal?.addEventListener('abort', onConnectAbort, { once: true });
    try {
      if (endpoint.kind === 'unix') {
        sock = netConnect({ path: endpoint.socketPath, allowHalfOpen: true }, ready);
      } else if (endpoint.tls) {
        const t = endpoint.tls;
        const tlsOptions: ConnectionOptions = {
          host: endpoint.host,
          port: endpoint.port,
          ca: pemOf(t.ca),
          cert: pemOf(t.cert),
          key: pemOf(t.key),
          rejectUnauthorized: t.verify !== false,
          servername: servername(endpoint.host),
        };
        sock = tlsConnect(tlsOptions, ready);
      } else {
        sock = netConnect({ host: endpoint.host, port: endpoint.port, allowHalfOpen: true }, ready);
      }
    } catch (error) {
      // Bad options (a port out of range, an invalid PEM) throw at once: same typed error, nothing left running.
      cleanup();
      reject(connectionError(address, error));
      return;
    }
    sock.once('error', onError);
  });
  const onAbort = () => socket.destroy(signal?.reason instanceof Error ? signal.reason : undefined);
  signal?.addEventListener('abort', onAbort, { once: true });
  // Keep a listener so a late socket error never becomes an uncaught exception; reads surface it.
  socket.on('error', () => {});

  const host = endpoint.kind === 'unix' ? 'localhost' : `${endpoint.host}:${endpoint.port}`;
  const headers: Record<string, string> = { ...request.headers, host, connection: 'Upgrade', upgrade: 'tcp' };
  headers['content-length'] = String(bodyBytes?.length ?? 0);
  let head = `${request.method} ${request.path} HTTP/1.1\r\n`;
  for (const [name, value] of Object.entries(headers)) head += `${name}: ${value}\r\n`;
  socket.write(`${head}\r\n`);
  if (bodyBytes?.length) socket.write(bodyBytes);

  const iterator = socket[Symbol.asyncIterator]() as AsyncIterator<Buffer>;
  let buffered: Buffer = Buffer.alloc(0);
  let headEnd = -1;
  // Like the pooled requests: wait at most `headersTimeout` for the response head (0 waits forever).
  const headersTimeout = request.headersTimeout ?? defaultHeadersTimeout;
  let headersTimer: ReturnType<typeof setTimeout> | undefined;
  if (headersTimeout > 0) {
    headersTimer = setTimeout(() => {
      socket.destroy(Object.assign(new Error(`no response head within ${headersTimeout} ms`), { code: 'UND_ERR_HEADERS_TIMEOUT' }));
    }, headersTimeout);
  }
  try {
    while (headEnd < 0) {
      const next = await iterator.next();
      if (next.done) throw Object.assign(new Error('the engine closed the connection before answering'), { code: 'ECONNRESET' });
      buffered = buffered.length ? Buffer.concat([buffered, next.value]) : next.value;
      headEnd = buffered.indexOf('\r\n\r\n');
      if (headEnd < 0 && buffered.length > 64 * 1024) throw new Error('response head over 64 KiB');
    }
  } catch (error) {
    signal?.removeEventListener('abort', onAbort);
    socket.destroy();
    if (signal?.aborted) throw signal.reason;
    throw connectionError(address, error);
  } finally {
    clearTimeout(headersTimer);
  }
  const lines = buffered.subarray(0, headEnd).toString('latin1').split('\r\n');
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
        const next = await iterator.next();
        if (next.done) break;
        const piece = next.value.length > remaining ? next.value.subarray(0, remaining) : next.value;
        remaining -= piece.length;
        yield piece;
      }
    } catch (error) {
      if (signal?.aborted) throw signal.reason;
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
        finish();
        await source.return(undefined);
      },
    },
    write(data) {
      if (!upgraded) return Promise.reject(new DockerError(`the engine did not upgrade the connection (HTTP ${status})`));
      return new Promise<void>((resolve, reject) => {
        socket.write(data, (error) => (error ? reject(connectionError(address, error)) : resolve()));
      });
    },
    closeWrite() {
      return new Promise<void>((resolve) => {
        if (socket.writableEnded || socket.destroyed) resolve();
        else socket.end(resolve);
      });
    },
    close: finish,
  };
}

/** Longest chunk-size line accepted (size, extensions and CRLF). */
const MAX_CHUNK_LINE = 4096;

/**
 * Decodes an HTTP/1.1 chunked body (only error answers of hijack requests use it). Streaming: the
 * data of a chunk is yielded as it arrives, so a single huge chunk is never buffered; only a
 * chunk-size line (bounded) is. Ends at the last chunk (trailers are not read).
 */
async function* dechunk(source: AsyncIterable<Uint8Array>): AsyncGenerator<Uint8Array> {
  let line: Buffer = Buffer.alloc(0);
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
      line = Buffer.concat([line, chunk.subarray(pos, end)]);
      pos = end;
      if (newline < 0) {
        if (line.length > MAX_CHUNK_LINE) throw new DockerStreamError('invalid chunked encoding: chunk-size line too long');
        continue;
      }
      const size = Number.parseInt(line.toString('latin1'), 16);
      line = Buffer.alloc(0);
      if (!Number.isFinite(size) || size < 0) throw new DockerStreamError('invalid chunked encoding: bad chunk size');
      if (size === 0) return;
      remaining = size;
    }
  }
}
