/**
 * Where a socket transport connects, and the checks every runtime's adapter shares. Pure
 * web-standard code: runs on Node, Bun and Deno.
 *
 * @module
 */

import { DockerArgumentError } from '../errors.js';

/** TLS material for a TCP engine, as PEM contents. */
export interface TlsMaterial {
  ca?: string | Uint8Array | undefined;
  cert?: string | Uint8Array | undefined;
  key?: string | Uint8Array | undefined;
  /** Verify the server certificate against `ca` (default true). */
  verify?: boolean | undefined;
}

/** Where a socket transport connects: a unix socket, or TCP with optional TLS. */
export type NodeEndpoint =
  | { kind: 'unix'; socketPath: string }
  | { kind: 'tcp'; host: string; port: number; tls?: TlsMaterial | undefined };

/** Options shared by the socket transports of every runtime. */
export interface SocketTransportOptions {
  /** Milliseconds to establish a connection. Default 5000. */
  connectTimeout?: number;
  /** Default milliseconds to wait for response headers, when a request sets none. Default 60000. */
  headersTimeout?: number;
  /** Most connections kept to the engine at once (Node only). Default 64. */
  connections?: number;
  /** The address that errors name, when it is not the socket's own (an SSH bridge names the `ssh://` engine). */
  address?: string;
}

/**
 * Describes an endpoint as an address: `unix:///var/run/docker.sock` or `tcp://host:port`.
 *
 * @param endpoint The endpoint.
 */
export function endpointAddress(endpoint: NodeEndpoint): string {
  return endpoint.kind === 'unix' ? `unix://${endpoint.socketPath}` : `tcp://${endpoint.host}:${endpoint.port}`;
}

/**
 * Rejects an endpoint that cannot be connected to, before any I/O.
 *
 * @param endpoint The endpoint to check.
 * @throws DockerArgumentError naming the bad field.
 */
export function checkEndpoint(endpoint: NodeEndpoint): void {
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

/**
 * A host as it goes in a URL: IPv6 addresses in brackets.
 *
 * @param host A host name or IP address.
 */
export function hostForUrl(host: string): string {
  return host.includes(':') && !host.startsWith('[') ? `[${host}]` : host;
}

/**
 * The TLS server name (SNI) for a host: host names only, never IP addresses.
 *
 * @param host A host name or IP address.
 */
export function servername(host: string): string | undefined {
  return /^[\d.]+$/.test(host) || host.includes(':') ? undefined : host;
}

/**
 * The origin plain requests go to: `http://localhost` for a unix socket, else `http(s)://host:port`.
 *
 * @param endpoint The endpoint.
 */
export function endpointOrigin(endpoint: NodeEndpoint): string {
  if (endpoint.kind === 'unix') return 'http://localhost';
  return `${endpoint.tls ? 'https' : 'http'}://${hostForUrl(endpoint.host)}:${endpoint.port}`;
}

/**
 * PEM material as text (Bun and Deno take strings).
 *
 * @param value PEM contents as text or bytes.
 */
export function pemText(value: string | Uint8Array | undefined): string | undefined {
  if (value === undefined) return undefined;
  return typeof value === 'string' ? value : new TextDecoder().decode(value);
}
