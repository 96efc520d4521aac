/**
 * A fake Docker engine for byte-level transport tests: a literal `net` server on a temporary unix
 * socket that parses HTTP/1.1 requests (several per connection, as undici keeps connections alive)
 * and lets a router answer each one with raw bytes, close or destroy the connection, or take the
 * socket over after an upgrade.
 */
import { mkdtemp, rm } from 'node:fs/promises';
import { createServer, type Server, type Socket } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

/** One parsed request. */
export interface FakeRequest {
  method: string;
  /** Path with query, as sent (`/v1.41/exec/abc/start`). */
  path: string;
  /** Header names in lower case. */
  headers: Record<string, string>;
  body: Buffer;
  /** Which accepted connection (0, 1, …) carried it. */
  connection: number;
}

/** The connection a request arrived on. */
export interface FakeConnection {
  readonly socket: Socket;
  /** Writes bytes, waiting for the socket to drain; resolves false once the peer is gone. */
  write(data: string | Uint8Array): Promise<boolean>;
  /** Sends FIN after everything written so far (a close-delimited body ends here). */
  end(): Promise<void>;
  /** Closes at once, without a goodbye. */
  destroy(): void;
  /**
   * Stops parsing requests on this connection (after a 101 answer) and returns the bytes that
   * already arrived past the current request. Attach `data`/`end` listeners in the same tick.
   */
  takeOver(): Buffer;
}

/** Answers one request. Requests on one connection are handled one after the other. */
export type FakeRoute = (request: FakeRequest, connection: FakeConnection) => void | Promise<void>;

/** A running fake engine. */
export interface FakeEngine {
  /** The unix socket it listens on. */
  readonly socketPath: string;
  /** Every request received, in order. */
  readonly requests: FakeRequest[];
  /** How many connections were accepted. */
  connectionCount(): number;
  /** Destroys every connection, stops listening and removes the temporary folder. */
  close(): Promise<void>;
}

const CRLF_CRLF = Buffer.from('\r\n\r\n');

/** Starts a fake engine on a fresh socket under `os.tmpdir()`. */
export async function startFakeEngine(route: FakeRoute): Promise<FakeEngine> {
  const dir = await mkdtemp(join(tmpdir(), 'berth-fake-engine-'));
  const socketPath = join(dir, 'docker.sock');
  const requests: FakeRequest[] = [];
  const sockets = new Set<Socket>();
  let connections = 0;
  const server: Server = createServer({ allowHalfOpen: true }, (socket) => {
    const index = connections++;
    sockets.add(socket);
    socket.on('close', () => sockets.delete(socket));
    // The client may reset the connection at any time (that is what several tests do).
    socket.on('error', () => {});
    serveConnection(socket, index, route, requests);
  });
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(socketPath, () => {
      server.off('error', reject);
      resolve();
    });
  });
  return {
    socketPath,
    requests,
    connectionCount: () => connections,
    async close() {
      for (const socket of sockets) socket.destroy();
      await new Promise<void>((resolve) => server.close(() => resolve()));
      await rm(dir, { recursive: true, force: true });
    },
  };
}

function serveConnection(socket: Socket, index: number, route: FakeRoute, requests: FakeRequest[]): void {
  let buffer: Buffer = Buffer.alloc(0);
  let busy = false;
  let takenOver = false;
  let peerEnded = false;

  const connection: FakeConnection = {
    socket,
    write(data) {
      return new Promise<boolean>((resolve) => {
        if (socket.destroyed || socket.writableEnded) {
          resolve(false);
          return;
        }
        if (socket.write(data)) {
          resolve(true);
          return;
        }
        const done = () => {
          socket.off('drain', done);
          socket.off('close', done);
          resolve(!socket.destroyed);
        };
        socket.on('drain', done);
        socket.on('close', done);
      });
    },
    end() {
      return new Promise<void>((resolve) => {
        if (socket.destroyed || socket.writableEnded) resolve();
        else socket.end(() => resolve());
      });
    },
    destroy() {
      socket.destroy();
    },
    takeOver() {
      takenOver = true;
      socket.off('data', onData);
      socket.off('end', onEnd);
      const rest = buffer;
      buffer = Buffer.alloc(0);
      return rest;
    },
  };

  const pump = async () => {
    if (busy) return;
    busy = true;
    try {
      for (;;) {
        const parsed = parseRequest(buffer);
        if (!parsed) break;
        buffer = buffer.subarray(parsed.consumed);
        const request: FakeRequest = { ...parsed.request, connection: index };
        requests.push(request);
        await route(request, connection);
        if (takenOver || socket.destroyed) return;
      }
      if (peerEnded && !socket.writableEnded) socket.end();
    } finally {
      busy = false;
    }
  };
  const onData = (chunk: Buffer) => {
    buffer = buffer.length ? Buffer.concat([buffer, chunk]) : chunk;
    void pump();
  };
  const onEnd = () => {
    peerEnded = true;
    if (!busy && !socket.writableEnded) socket.end();
  };
  socket.on('data', onData);
  socket.on('end', onEnd);
}

/** Parses one request at the start of `buffer`; undefined while it is incomplete. */
function parseRequest(buffer: Buffer): { request: Omit<FakeRequest, 'connection'>; consumed: number } | undefined {
  const headEnd = buffer.indexOf(CRLF_CRLF);
  if (headEnd < 0) return undefined;
  const lines = buffer.subarray(0, headEnd).toString('latin1').split('\r\n');
  const [method = '', path = ''] = (lines[0] ?? '').split(' ');
  const headers: Record<string, string> = {};
  for (const line of lines.slice(1)) {
    const colon = line.indexOf(':');
    if (colon > 0) headers[line.slice(0, colon).trim().toLowerCase()] = line.slice(colon + 1).trim();
  }
  let offset = headEnd + 4;
  if (/chunked/i.test(headers['transfer-encoding'] ?? '')) {
    const parts: Buffer[] = [];
    for (;;) {
      const lineEnd = buffer.indexOf('\r\n', offset);
      if (lineEnd < 0) return undefined;
      const size = Number.parseInt(buffer.subarray(offset, lineEnd).toString('latin1'), 16);
      if (size === 0) {
        // Last chunk, no trailers expected.
        if (buffer.length < lineEnd + 4) return undefined;
        offset = lineEnd + 4;
        break;
      }
      if (buffer.length < lineEnd + 2 + size + 2) return undefined;
      parts.push(buffer.subarray(lineEnd + 2, lineEnd + 2 + size));
      offset = lineEnd + 2 + size + 2;
    }
    return { request: { method, path, headers, body: Buffer.concat(parts) }, consumed: offset };
  }
  const length = Number(headers['content-length'] ?? 0);
  if (buffer.length < offset + length) return undefined;
  const body = Buffer.from(buffer.subarray(offset, offset + length));
  return { request: { method, path, headers, body }, consumed: offset + length };
}

/** A raw response head: status line, headers, blank line. */
export function responseHead(status: string, headers: Record<string, string | number> = {}): string {
  let head = `HTTP/1.1 ${status}\r\n`;
  for (const [name, value] of Object.entries(headers)) head += `${name}: ${value}\r\n`;
  return `${head}\r\n`;
}

/** A complete JSON response with Content-Length (the connection stays open). */
export function jsonResponse(status: string, value: unknown, headers: Record<string, string | number> = {}): Buffer {
  const body = Buffer.from(JSON.stringify(value));
  return Buffer.concat([
    Buffer.from(responseHead(status, { 'Content-Type': 'application/json', 'Content-Length': body.length, ...headers })),
    body,
  ]);
}

/** One chunk of a chunked body (`chunk(new Uint8Array(0))` is the last chunk). */
export function chunk(data: string | Uint8Array): Buffer {
  const bytes = typeof data === 'string' ? Buffer.from(data) : Buffer.from(data.buffer, data.byteOffset, data.byteLength);
  return Buffer.concat([Buffer.from(`${bytes.length.toString(16)}\r\n`), bytes, Buffer.from('\r\n')]);
}
