/**
 * The Deno transport. Deno's `node:http` cannot use a unix socket path, so plain requests go
 * through `fetch` with a `Deno.createHttpClient` whose proxy is the socket, and hijacked
 * connections through `Deno.connect` (or `Deno.connectTls`), half-closed with `closeWrite()`.
 * Loaded only under Deno, by the automatic transport; it never loads undici.
 *
 * Deno has no per-connection switch to skip certificate verification: with `verify: false`, the
 * engine's certificate must still verify against `ca`, unless Deno runs with
 * `--unsafely-ignore-certificate-errors`.
 *
 * @module
 */

import { explainTlsFailures } from './connection-error.js';
import { checkEndpoint, endpointAddress, endpointOrigin, type NodeEndpoint, pemText, type SocketTransportOptions } from './endpoint.js';
import { createFetchTransport } from './fetch.js';
import { connectWithin, hijackBody, hijackOverSocket, type RawSocket } from './socket-hijack.js';
import type { HijackedConnection, Transport, TransportRequest } from './types.js';

/** The parts of a `Deno.Conn` used here. */
interface DenoConn {
  read(buffer: Uint8Array): Promise<number | null>;
  write(data: Uint8Array): Promise<number>;
  closeWrite(): Promise<void>;
  close(): void;
}

/** A `Deno.HttpClient`. */
interface DenoHttpClient {
  close(): void;
}

interface DenoTls {
  caCerts?: string[];
  cert?: string;
  key?: string;
}

/** The parts of the `Deno` global used here. */
interface DenoGlobal {
  connect(options: { transport: 'unix'; path: string } | { transport: 'tcp'; hostname: string; port: number }): Promise<DenoConn>;
  connectTls(options: { hostname: string; port: number } & DenoTls): Promise<DenoConn>;
  createHttpClient(options: { proxy?: { transport: 'unix'; path: string }; http2?: boolean } & DenoTls): DenoHttpClient;
}

function denoGlobal(): DenoGlobal {
  const deno = (globalThis as { Deno?: DenoGlobal }).Deno;
  if (!deno) throw new Error('the Deno transport needs the Deno runtime');
  return deno;
}

/** Bytes asked for per read. */
const READ_SIZE = 64 * 1024;

/**
 * Creates the Deno transport: `fetch` with a `Deno.createHttpClient` for plain requests,
 * `Deno.connect` / `Deno.connectTls` for hijacked connections.
 *
 * @param endpoint Where the engine listens.
 * @param options Time limits. `connectTimeout` bounds the connection of hijacked requests; the
 * runtime's fetch has no separate connect step, so plain requests are bounded by the headers
 * timeout (and, with none, wait as long as it takes: long polls, followed logs).
 * @throws DockerArgumentError for an endpoint that cannot be connected to.
 */
export function createDenoTransport(endpoint: NodeEndpoint, options: SocketTransportOptions = {}): Transport {
  checkEndpoint(endpoint);
  const address = options.address ?? endpointAddress(endpoint);
  const connectTimeout = options.connectTimeout ?? 5000;
  const headersTimeout = options.headersTimeout ?? 60_000;
  const material = endpoint.kind === 'tcp' ? endpoint.tls : undefined;
  const tls: DenoTls = {};
  if (material) {
    const ca = pemText(material.ca);
    const cert = pemText(material.cert);
    const key = pemText(material.key);
    if (ca !== undefined) tls.caCerts = [ca];
    if (cert !== undefined && key !== undefined) {
      tls.cert = cert;
      tls.key = key;
    }
  }
  let client: DenoHttpClient | undefined;
  const getClient = (): DenoHttpClient => {
    client ??= denoGlobal().createHttpClient({
      ...(endpoint.kind === 'unix' ? { proxy: { transport: 'unix' as const, path: endpoint.socketPath } } : {}),
      // The Engine API is HTTP/1.1 (its hijacked and close-delimited streams are).
      http2: false,
      ...tls,
    });
    return client;
  };
  // The client is made by the first request (and again after close()): passed per call, not in `init`.
  const plain = createFetchTransport({
    baseUrl: endpointOrigin(endpoint),
    fetch: (url, init) => fetch(url, { ...init, client: getClient() } as RequestInit),
    address,
    headersTimeout,
  });

  const transport: Transport = {
    address,
    request: (request) => plain.request(request),
    async hijack(request: TransportRequest): Promise<HijackedConnection> {
      request.signal?.throwIfAborted();
      const body = hijackBody(request);
      const deno = denoGlobal();
      const socket = await connectWithin(
        async () => {
          if (endpoint.kind === 'unix') return denoRawSocket(await deno.connect({ transport: 'unix', path: endpoint.socketPath }));
          if (material) return denoRawSocket(await deno.connectTls({ hostname: endpoint.host, port: endpoint.port, ...tls }));
          return denoRawSocket(await deno.connect({ transport: 'tcp', hostname: endpoint.host, port: endpoint.port }));
        },
        (late) => late.destroy(),
        { address, timeout: connectTimeout, signal: request.signal },
      );
      const host = endpoint.kind === 'unix' ? 'localhost' : `${endpoint.host}:${endpoint.port}`;
      return hijackOverSocket(socket, { address, host, request, body, headersTimeout });
    },
    async close() {
      const open = client;
      client = undefined;
      open?.close();
    },
  };
  return material ? explainTlsFailures(transport, Boolean(material.cert && material.key)) : transport;
}

/** A `Deno.Conn` as a {@link RawSocket}. */
function denoRawSocket(conn: DenoConn): RawSocket {
  let destroyed = false;
  let destroyError: Error | undefined;
  let onDestroy: () => void = () => {};
  const destroyedSignal = new Promise<'destroyed'>((resolve) => {
    onDestroy = () => resolve('destroyed');
  });
  // Writes go out in order, each completely (Deno's `write` may take part of the bytes).
  let writing: Promise<void> = Promise.resolve();
  let writeShut = false;

  const afterDestroy = (): Promise<undefined> => (destroyError ? Promise.reject(destroyError) : Promise.resolve(undefined));
  const closedError = () => destroyError ?? Object.assign(new Error('the connection to the engine is closed'), { code: 'EPIPE' });

  return {
    async read() {
      if (destroyed) return afterDestroy();
      const buffer = new Uint8Array(READ_SIZE);
      const reading = conn.read(buffer);
      // Closing the connection makes a pending read reject: that rejection is expected then.
      reading.catch(() => {});
      const result = await Promise.race([reading, destroyedSignal]);
      if (result === 'destroyed' || destroyed) return afterDestroy();
      return result === null ? undefined : buffer.subarray(0, result);
    },
    write(data) {
      if (destroyed || writeShut) return Promise.reject(closedError());
      const next = writing.then(async () => {
        let offset = 0;
        while (offset < data.length) {
          if (destroyed) throw closedError();
          offset += await conn.write(data.subarray(offset));
        }
      });
      writing = next.catch(() => {});
      return next;
    },
    async closeWrite() {
      if (destroyed || writeShut) return;
      writeShut = true;
      await writing;
      if (destroyed) return;
      try {
        await conn.closeWrite();
      } catch {
        // Already closed by the engine: nothing left to half-close.
      }
    },
    destroy(error) {
      if (destroyed) return;
      destroyed = true;
      destroyError = error;
      onDestroy();
      try {
        conn.close();
      } catch {
        // Already closed.
      }
    },
  };
}
