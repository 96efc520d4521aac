/**
 * The Bun transport. Bun's `fetch` reaches a unix socket with its `unix` option (it ignores
 * undici's custom connector, so the Node transport cannot work there), and `Bun.connect` gives
 * the raw socket that hijacked connections need. Loaded only under Bun, by the automatic
 * transport; it never loads undici.
 *
 * @module
 */

import { explainTlsFailures } from './connection-error.js';
import {
  checkEndpoint,
  endpointAddress,
  endpointOrigin,
  type NodeEndpoint,
  pemText,
  type SocketTransportOptions,
  servername,
} from './endpoint.js';
import { createFetchTransport } from './fetch.js';
import { connectWithin, hijackBody, hijackOverSocket, type RawSocket } from './socket-hijack.js';
import type { HijackedConnection, Transport, TransportRequest } from './types.js';

/** The parts of a Bun socket used here (see Bun's `Socket`). */
interface BunSocket {
  /** Writes what the OS takes now; returns the number of bytes written (less than asked when full, -1 when closed). */
  write(data: Uint8Array): number;
  /** With no argument, sends FIN: the socket goes on receiving (seen with Bun 1.4.5; `shutdown(true)` stops reading instead). */
  shutdown(halfClose?: boolean): void;
  /** Closes at once. */
  terminate(): void;
  pause?(): void;
  resume?(): void;
}

interface BunSocketHandler {
  data(socket: BunSocket, data: Uint8Array): void;
  drain(socket: BunSocket): void;
  end(socket: BunSocket): void;
  close(socket: BunSocket, error?: Error): void;
  error(socket: BunSocket, error: Error): void;
}

interface BunTlsOptions {
  ca?: string | undefined;
  cert?: string | undefined;
  key?: string | undefined;
  rejectUnauthorized?: boolean | undefined;
  serverName?: string | undefined;
}

interface BunConnectOptions {
  unix?: string;
  hostname?: string;
  port?: number;
  tls?: BunTlsOptions;
  allowHalfOpen?: boolean;
  socket: BunSocketHandler;
}

/** The parts of the `Bun` global used here. */
interface BunGlobal {
  connect(options: BunConnectOptions): Promise<BunSocket>;
}

function bunGlobal(): BunGlobal {
  const bun = (globalThis as { Bun?: BunGlobal }).Bun;
  if (!bun) throw new Error('the Bun transport needs the Bun runtime');
  return bun;
}

/** Bytes queued from the socket beyond which reading pauses until the consumer catches up. */
const HIGH_WATER = 1024 * 1024;

/**
 * Creates the Bun transport: `fetch` with `unix` (or `tls`) for plain requests, `Bun.connect`
 * for hijacked connections (half-closed with `shutdown()`).
 *
 * @param endpoint Where the engine listens.
 * @param options Time limits. `connectTimeout` bounds the connection of hijacked requests; the
 * runtime's fetch has no separate connect step, so plain requests are bounded by the headers
 * timeout (and, with none, wait as long as it takes: long polls, followed logs).
 * @throws DockerArgumentError for an endpoint that cannot be connected to.
 */
export function createBunTransport(endpoint: NodeEndpoint, options: SocketTransportOptions = {}): Transport {
  checkEndpoint(endpoint);
  const address = options.address ?? endpointAddress(endpoint);
  const connectTimeout = options.connectTimeout ?? 5000;
  const headersTimeout = options.headersTimeout ?? 60_000;
  const tls = endpoint.kind === 'tcp' ? endpoint.tls : undefined;
  const tlsOptions: BunTlsOptions | undefined = tls
    ? {
        ca: pemText(tls.ca),
        cert: pemText(tls.cert),
        key: pemText(tls.key),
        rejectUnauthorized: tls.verify !== false,
        serverName: endpoint.kind === 'tcp' ? servername(endpoint.host) : undefined,
      }
    : undefined;
  // `timeout: false` turns off Bun's own idle limit (5 minutes), which would end long polls and followed logs.
  const init: Record<string, unknown> = { timeout: false };
  if (endpoint.kind === 'unix') init.unix = endpoint.socketPath;
  if (tlsOptions) init.tls = tlsOptions;
  const plain = createFetchTransport({ baseUrl: endpointOrigin(endpoint), fetch, init, address, headersTimeout });

  const transport: Transport = {
    address,
    request: (request) => plain.request(request),
    async hijack(request: TransportRequest): Promise<HijackedConnection> {
      request.signal?.throwIfAborted();
      const body = hijackBody(request);
      const socket = await connectWithin(
        () => bunConnect(endpoint, tlsOptions),
        (late) => late.destroy(),
        { address, timeout: connectTimeout, signal: request.signal },
      );
      const host = endpoint.kind === 'unix' ? 'localhost' : `${endpoint.host}:${endpoint.port}`;
      return hijackOverSocket(socket, { address, host, request, body, headersTimeout });
    },
    async close() {},
  };
  return tls ? explainTlsFailures(transport, Boolean(tls.cert && tls.key)) : transport;
}

/** Connects with `Bun.connect` and presents the socket as a {@link RawSocket}. */
async function bunConnect(endpoint: NodeEndpoint, tls: BunTlsOptions | undefined): Promise<RawSocket> {
  const incoming: Uint8Array[] = [];
  let queued = 0;
  let ended = false;
  let failure: Error | undefined;
  let waiter: { resolve: (value: Uint8Array | undefined) => void; reject: (error: Error) => void } | undefined;
  const writes: { data: Uint8Array; resolve: () => void; reject: (error: Error) => void }[] = [];
  let socket: BunSocket | undefined;
  let paused = false;
  let closed = false;

  const wake = () => {
    if (!waiter) return;
    const { resolve, reject } = waiter;
    if (incoming.length > 0) {
      waiter = undefined;
      resolve(take());
    } else if (failure) {
      waiter = undefined;
      reject(failure);
    } else if (ended) {
      waiter = undefined;
      resolve(undefined);
    }
  };
  const take = (): Uint8Array | undefined => {
    const chunk = incoming.shift();
    if (chunk) queued -= chunk.length;
    if (paused && queued < HIGH_WATER / 2 && !closed) {
      paused = false;
      socket?.resume?.();
    }
    return chunk;
  };
  const closedError = () =>
    failure ?? Object.assign(new Error('the connection to the engine is closed'), { code: ended ? 'EPIPE' : 'ECONNRESET' });
  const failWrites = () => {
    for (const pending of writes.splice(0)) pending.reject(closedError());
  };
  const flush = () => {
    while (socket && writes.length > 0) {
      const head = writes[0] as (typeof writes)[number];
      const written = closed ? -1 : socket.write(head.data);
      if (written < 0) {
        failWrites();
        return;
      }
      if (written < head.data.length) {
        head.data = head.data.subarray(written);
        return;
      }
      writes.shift();
      head.resolve();
    }
  };
  const onClose = (error?: Error) => {
    closed = true;
    if (error && !failure) failure = error;
    ended = true;
    failWrites();
    wake();
  };

  const options: BunConnectOptions = {
    allowHalfOpen: true,
    socket: {
      data(s, data) {
        // A copy: the bytes outlive this callback.
        const chunk = new Uint8Array(data);
        incoming.push(chunk);
        queued += chunk.length;
        if (!paused && queued > HIGH_WATER && typeof s.pause === 'function') {
          paused = true;
          s.pause();
        }
        wake();
      },
      drain() {
        flush();
      },
      end() {
        ended = true;
        wake();
      },
      close(_s, error) {
        onClose(error);
      },
      error(_s, error) {
        if (!failure) failure = error;
        wake();
      },
    },
  };
  if (endpoint.kind === 'unix') options.unix = endpoint.socketPath;
  else {
    options.hostname = endpoint.host;
    options.port = endpoint.port;
    if (tls) options.tls = tls;
  }
  socket = await bunGlobal().connect(options);
  const connected = socket;

  return {
    read() {
      if (incoming.length > 0) return Promise.resolve(take());
      if (failure) return Promise.reject(failure);
      if (ended) return Promise.resolve(undefined);
      return new Promise((resolve, reject) => {
        waiter = { resolve, reject };
      });
    },
    write(data) {
      if (closed) return Promise.reject(closedError());
      return new Promise<void>((resolve, reject) => {
        writes.push({ data, resolve, reject });
        if (writes.length === 1) flush();
      });
    },
    async closeWrite() {
      if (closed) return;
      // FIN goes after everything written before it.
      await waitForWrites();
      if (!closed) connected.shutdown();
    },
    destroy(error) {
      if (error && !failure) failure = error;
      if (!closed) {
        closed = true;
        connected.terminate();
      }
      ended = true;
      failWrites();
      wake();
    },
  };

  function waitForWrites(): Promise<void> {
    const last = writes[writes.length - 1];
    if (!last) return Promise.resolve();
    return new Promise<void>((resolve) => {
      const { resolve: done, reject } = last;
      last.resolve = () => {
        done();
        resolve();
      };
      last.reject = (error) => {
        reject(error);
        resolve();
      };
    });
  }
}
