import { connect as netConnect, type Socket } from 'node:net';
import { type ConnectionOptions, connect as tlsConnect } from 'node:tls';
import type { Pool } from 'undici';
import { connectionError, explainTlsFailures } from './connection-error.js';
import { checkEndpoint, endpointAddress, endpointOrigin, type NodeEndpoint, type SocketTransportOptions, servername } from './endpoint.js';
import { dispatchRequest } from './node-dispatch.js';
import { connectWithin, hijackBody, hijackOverSocket, type RawSocket } from './socket-hijack.js';
import type { HijackedConnection, Transport, TransportRequest } from './types.js';

export type { NodeEndpoint, TlsMaterial } from './endpoint.js';

/** undici, imported on first use: importing Berth never loads it (Bun and Deno never do). */
let undici: Promise<typeof import('undici')> | undefined;

/** Options of {@link createNodeTransport}: those of every runtime's socket transport. */
export type NodeTransportOptions = SocketTransportOptions;

/**
 * The Node transport: undici's connection pool for plain requests (keep-alive, streaming bodies,
 * close-delimited bodies such as exec output) and a raw `net`/`tls` socket for hijacked
 * connections, so that an engine that refuses to upgrade still gives us its error body.
 * undici is imported by the first request, not by importing this module.
 */
export function createNodeTransport(endpoint: NodeEndpoint, options: NodeTransportOptions = {}): Transport {
  checkEndpoint(endpoint);
  const address = options.address ?? endpointAddress(endpoint);
  const connectTimeout = options.connectTimeout ?? 5000;
  const defaultHeadersTimeout = options.headersTimeout ?? 60_000;
  const tls = endpoint.kind === 'tcp' ? endpoint.tls : undefined;
  let poolPromise: Promise<Pool> | undefined;
  const getPool = (): Promise<Pool> => {
    poolPromise ??= (undici ??= import('undici')).then(
      ({ Pool }) =>
        new Pool(endpointOrigin(endpoint), {
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
        }),
      (error: unknown) => {
        // A failed import is tried again by the next request.
        undici = undefined;
        poolPromise = undefined;
        throw error;
      },
    );
    return poolPromise;
  };

  const fail = (error: unknown, request: TransportRequest): never => {
    if (request.signal?.aborted) throw request.signal.reason;
    throw connectionError(address, error);
  };

  const transport: Transport = {
    address,
    async request(request) {
      let pool: Pool;
      try {
        pool = await getPool();
      } catch (error) {
        return fail(error, request);
      }
      return dispatchRequest(pool, request, address, defaultHeadersTimeout);
    },
    hijack(request) {
      return hijack(endpoint, address, connectTimeout, defaultHeadersTimeout, request);
    },
    async close() {
      // Never loads undici just to close it: no request, no pool.
      const pending = poolPromise;
      poolPromise = undefined;
      const pool = await pending?.catch(() => undefined);
      if (!pool) return;
      // Idle connections close now; requests and streams in flight keep theirs until they end,
      // and close() does not wait for them (a followed log stream may run for hours).
      const closing = pool.close().catch(() => {});
      if (pool.stats.running === 0 && pool.stats.pending === 0) await closing;
    },
  };
  return tls ? explainTlsFailures(transport, Boolean(tls.cert && tls.key)) : transport;
}

function pemOf(value: string | Uint8Array | undefined): string | Buffer | undefined {
  if (value === undefined) return undefined;
  return typeof value === 'string' ? value : Buffer.from(value);
}

/**
 * Opens a raw `net`/`tls` connection and hands it to the runtime-neutral hijack: it writes the
 * request with `Upgrade: tcp` and parses the response head. The engine answers 101 (or 200 on
 * old engines) and then the connection carries the stream.
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
  const bodyBytes = hijackBody(request);
  const socket = await connectWithin(
    (cancel) =>
      new Promise<Socket>((resolve, reject) => {
        let sock: Socket;
        const ready = () => {
          sock.off('error', reject);
          resolve(sock);
        };
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
        sock.once('error', reject);
        // The call gave up (time limit, abort): stop the attempt now, quietly.
        cancel.addEventListener(
          'abort',
          () => {
            sock.off('error', reject);
            sock.on('error', () => {});
            sock.destroy();
          },
          { once: true },
        );
      }),
    (late) => late.destroy(),
    { address, timeout: connectTimeout, signal },
  );
  // Keep a listener so a late socket error never becomes an uncaught exception; reads surface it.
  socket.on('error', () => {});
  const host = endpoint.kind === 'unix' ? 'localhost' : `${endpoint.host}:${endpoint.port}`;
  return hijackOverSocket(nodeRawSocket(socket), { address, host, request, body: bodyBytes, headersTimeout: defaultHeadersTimeout });
}

/** A `net.Socket` as a {@link RawSocket}: reads through its async iterator, so it keeps flow control. */
function nodeRawSocket(socket: Socket): RawSocket {
  const iterator = socket[Symbol.asyncIterator]() as AsyncIterator<Uint8Array>;
  return {
    async read() {
      const next = await iterator.next();
      return next.done ? undefined : next.value;
    },
    write(data) {
      return new Promise<void>((resolve, reject) => {
        socket.write(data, (error) => (error ? reject(error) : resolve()));
      });
    },
    closeWrite() {
      return new Promise<void>((resolve) => {
        if (socket.writableEnded || socket.destroyed) resolve();
        else socket.end(resolve);
      });
    },
    destroy(error) {
      socket.destroy(error);
    },
  };
}
