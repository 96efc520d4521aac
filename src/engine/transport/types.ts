/**
 * The seam between the client and the bytes on the wire. A transport sends one HTTP/1.1 request
 * to the engine and hands back the status, headers and body; `hijack` does the same for the
 * engine's `Upgrade: tcp` endpoints (attach, exec with stdin) and keeps the connection as a
 * duplex byte stream. Users may implement it (tests, custom sockets, proxies).
 *
 * @module
 */

/** A request body: bytes, text, or a stream of bytes (sent chunked). */
export type TransportRequestBody = Uint8Array | string | AsyncIterable<Uint8Array>;

/** One request, already versioned and query-encoded by the client. */
export interface TransportRequest {
  method: 'GET' | 'POST' | 'PUT' | 'DELETE' | 'HEAD';
  /** Absolute path with query, e.g. `/v1.41/containers/json?all=1`. */
  path: string;
  /** Header names in lower case. */
  headers: Record<string, string>;
  body?: TransportRequestBody | undefined;
  signal?: AbortSignal | undefined;
  /** Milliseconds to wait for the response headers; 0 waits forever. */
  headersTimeout?: number | undefined;
  /** Milliseconds of silence allowed between body chunks; 0 waits forever. */
  bodyTimeout?: number | undefined;
}

/** A response body: iterate it to the end, or cancel it. One of the two must happen. */
export interface TransportResponseBody extends AsyncIterable<Uint8Array> {
  /** Stops reading and releases the connection. Safe to call more than once, or after the end. */
  cancel(reason?: unknown): Promise<void>;
}

/** The engine's answer: status, headers (names in lower case) and a body to consume or cancel. */
export interface TransportResponse {
  status: number;
  headers: Record<string, string>;
  body: TransportResponseBody;
}

/** A hijacked connection: the engine's bytes come out of `body`; ours go in through `write`. */
export interface HijackedConnection extends TransportResponse {
  /** Writes bytes to the engine (stdin of the attached process). */
  write(data: Uint8Array | string): Promise<void>;
  /** Half-closes the connection: the process sees end of input while its output keeps coming. */
  closeWrite(): Promise<void>;
  /** Closes both directions at once. */
  close(): void;
}

/** Sends requests to one engine. */
export interface Transport {
  /** Where requests go, e.g. `unix:///var/run/docker.sock`; used in error messages. */
  readonly address: string;
  /** Sends one request. Rejects with `DockerConnectionError` when the engine cannot be reached. */
  request(request: TransportRequest): Promise<TransportResponse>;
  /**
   * Sends a request with `Connection: Upgrade` / `Upgrade: tcp` and returns the connection. When
   * the engine does not upgrade (an error status), the body holds its answer and writing fails.
   */
  hijack(request: TransportRequest): Promise<HijackedConnection>;
  /** Closes idle connections; requests in flight are not interrupted. */
  close(): Promise<void>;
}
