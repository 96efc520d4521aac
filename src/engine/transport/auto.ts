/**
 * The transport the client uses by default: the socket adapter of the runtime it runs on, chosen
 * and imported on first use. Node gets undici's pool ({@link createNodeTransport}), Bun gets
 * `fetch` with `unix` and `Bun.connect`, Deno gets `Deno.createHttpClient` and `Deno.connect`.
 * Node never loads the Bun and Deno adapters; Bun and Deno never load undici.
 *
 * @module
 */

import { checkEndpoint, endpointAddress, type NodeEndpoint, type SocketTransportOptions } from './endpoint.js';
import { checkSshEndpoint, checkSshOptions, type SshEndpoint, type SshOptions, sshAddress } from './ssh-endpoint.js';
import type { HijackedConnection, Transport, TransportRequest, TransportResponse } from './types.js';

/** A JavaScript runtime with its own socket adapter. */
export type Runtime = 'node' | 'bun' | 'deno';

/** A transport that picks the runtime's socket adapter, and says which. */
export interface AutoTransport extends Transport {
  /** The runtime whose adapter carries the requests. */
  readonly runtime: Runtime;
}

/** The runtime this code runs on: `bun` or `deno` by their globals, else `node`. */
export function detectRuntime(): Runtime {
  const scope = globalThis as { Bun?: unknown; Deno?: unknown };
  if (scope.Bun !== undefined) return 'bun';
  if (scope.Deno !== undefined) return 'deno';
  return 'node';
}

type TransportFactory = (endpoint: NodeEndpoint, options: SocketTransportOptions) => Transport;

async function loadFactory(runtime: Runtime): Promise<TransportFactory> {
  switch (runtime) {
    case 'bun':
      return (await import('./bun.js')).createBunTransport;
    case 'deno':
      return (await import('./deno.js')).createDenoTransport;
    default:
      return (await import('./node.js')).createNodeTransport;
  }
}

/** Where an engine listens: a unix socket, TCP (with optional TLS), or SSH. */
export type EngineEndpoint = NodeEndpoint | SshEndpoint;

/** Options of {@link createAutoTransport}. */
export interface AutoTransportOptions extends SocketTransportOptions {
  /** How to run `ssh` for an `ssh://` endpoint. */
  ssh?: SshOptions | undefined;
}

/**
 * Creates a transport for `endpoint` that uses the socket adapter of the runtime (or the one
 * named). The endpoint is checked at once; the adapter is imported and created by the first
 * request, so a runtime never loads another runtime's adapter, and undici is loaded by the first
 * request on Node only. (`berth/engine` exports `createNodeTransport` and `createFetchTransport`,
 * so importing it does load those two modules, on every runtime; neither loads undici by itself.)
 * An SSH endpoint goes through the SSH bridge (`./ssh.js`), with the runtime's adapter on the
 * bridge's socket.
 *
 * @param endpoint Where the engine listens.
 * @param options Time limits (and, on Node, the pool size; for SSH, how to run ssh).
 * @param runtime The adapter to use; default {@link detectRuntime}.
 * @throws DockerArgumentError for an endpoint that cannot be connected to.
 */
export function createAutoTransport(
  endpoint: EngineEndpoint,
  options: AutoTransportOptions = {},
  runtime: Runtime = detectRuntime(),
): AutoTransport {
  if (endpoint.kind === 'ssh') {
    checkSshEndpoint(endpoint);
    checkSshOptions(options.ssh);
  } else checkEndpoint(endpoint);
  const { ssh, ...socketOptions } = options;
  let loading: Promise<Transport> | undefined;
  const get = (): Promise<Transport> => {
    loading ??= loadFactory(runtime).then(
      async (create) =>
        endpoint.kind === 'ssh'
          ? (await import('./ssh.js')).createSshTransport(endpoint, { ...socketOptions, ssh }, create)
          : create(endpoint, socketOptions),
      (error: unknown) => {
        // A failed import is tried again by the next call.
        loading = undefined;
        throw error;
      },
    );
    return loading;
  };
  return {
    address: endpoint.kind === 'ssh' ? sshAddress(endpoint) : endpointAddress(endpoint),
    runtime,
    async request(request: TransportRequest): Promise<TransportResponse> {
      return (await get()).request(request);
    },
    async hijack(request: TransportRequest): Promise<HijackedConnection> {
      return (await get()).hijack(request);
    },
    async close(): Promise<void> {
      if (!loading) return;
      const transport = await loading.catch(() => undefined);
      await transport?.close();
    },
  };
}
