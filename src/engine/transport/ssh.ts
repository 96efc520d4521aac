/**
 * Engines behind SSH (`ssh://user@host:port`), the way the docker CLI reaches them: the system's
 * `ssh` runs `docker system dial-stdio` on the remote machine, and that command's stdin and stdout
 * carry one connection to the remote engine. Berth needs no SSH library (no native build, no
 * extra dependency), and `~/.ssh/config`, the agent, keys and known hosts all work as they do
 * for `ssh` itself.
 *
 * The runtime's own socket adapter does the HTTP: a private bridge socket (a unix socket in a
 * fresh `0700` temp folder) accepts its connections and starts one `ssh` per connection. The
 * bridge, its folder and every `ssh` process go with `close()`, or when the process exits.
 *
 * Uses `node:net` and `node:child_process`, which Node, Bun and Deno all provide (CI runs the SSH
 * checks on each).
 *
 * @module
 */

import { type ChildProcess, spawn } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { createServer, type Server, type Socket } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import process from 'node:process';
import { DockerConnectionError } from '../errors.js';
import type { NodeEndpoint, SocketTransportOptions } from './endpoint.js';
import { checkSshEndpoint, type SshEndpoint, type SshOptions, sshAddress, sshArguments } from './ssh-endpoint.js';
import type { HijackedConnection, Transport, TransportRequest, TransportResponse } from './types.js';

export type { SshEndpoint, SshOptions } from './ssh-endpoint.js';

/** Bytes of ssh's stderr kept per connection, for error messages. */
const STDERR_LIMIT = 4096;
/** How long a failure of ssh is worth telling about, in milliseconds. */
const FAILURE_MEMORY_MS = 30_000;

interface Bridge {
  socketPath: string;
  /** What the last ssh that failed said, if that was recent. */
  lastFailure(): string | undefined;
  close(): Promise<void>;
}

/** Starts the bridge: a private unix socket whose every connection is one `ssh … dial-stdio`. */
async function openBridge(endpoint: SshEndpoint, options: SshOptions, connectTimeoutMs: number): Promise<Bridge> {
  const command = options.command ?? 'ssh';
  const args = sshArguments(endpoint, options, connectTimeoutMs);
  const dir = mkdtempSync(join(tmpdir(), 'berth-ssh-'));
  const socketPath = join(dir, 'engine.sock');
  const children = new Set<ChildProcess>();
  const connections = new Set<Socket>();
  let failure: { message: string; at: number } | undefined;

  const onConnection = (conn: Socket) => {
    connections.add(conn);
    conn.once('close', () => connections.delete(conn));
    let stderr = '';
    let child: ChildProcess;
    try {
      child = spawn(command, args, { stdio: ['pipe', 'pipe', 'pipe'] });
    } catch (error) {
      failure = { message: `cannot run ${command}: ${(error as Error).message}`, at: Date.now() };
      conn.destroy();
      return;
    }
    children.add(child);
    // Neither side of the bridge keeps the process alive: the runtime's own client socket does while it is in use.
    conn.unref();
    child.unref();
    for (const stream of [child.stdin, child.stdout, child.stderr]) (stream as { unref?: () => void } | null)?.unref?.();
    child.stderr?.setEncoding('utf8');
    child.stderr?.on('data', (text: string) => {
      if (stderr.length < STDERR_LIMIT) stderr += text.slice(0, STDERR_LIMIT - stderr.length);
    });
    child.on('error', (error) => {
      failure = { message: `cannot run ${command}: ${error.message}`, at: Date.now() };
      conn.destroy();
    });
    child.on('close', (code, signal) => {
      children.delete(child);
      const said = stderr.trim();
      if ((code !== 0 && code !== null) || said) {
        failure = { message: `ssh exited with ${code ?? signal}${said ? `: ${said}` : ''}`, at: Date.now() };
      }
      // Only now, with what ssh said recorded, does the client see the end of the connection.
      conn.end();
      const timer = setTimeout(() => conn.destroy(), 1000);
      timer.unref?.();
      conn.once('close', () => clearTimeout(timer));
    });
    child.stdin?.on('error', () => conn.destroy());
    conn.on('error', () => {});
    conn.pipe(child.stdin as NodeJS.WritableStream);
    (child.stdout as NodeJS.ReadableStream).pipe(conn, { end: false });
    conn.on('close', () => {
      // The client is gone: end ssh's input, and stop it if it lingers.
      child.stdin?.end();
      const timer = setTimeout(() => child.kill('SIGTERM'), 2000);
      timer.unref?.();
      child.once('close', () => clearTimeout(timer));
    });
  };

  const server: Server = createServer({ allowHalfOpen: true }, onConnection);
  const cleanupSync = () => {
    for (const child of children) child.kill('SIGTERM');
    rmSync(dir, { recursive: true, force: true });
  };
  process.once('exit', cleanupSync);
  try {
    await new Promise<void>((resolve, reject) => {
      server.once('error', reject);
      server.listen(socketPath, () => {
        server.off('error', reject);
        resolve();
      });
    });
  } catch (error) {
    process.off('exit', cleanupSync);
    rmSync(dir, { recursive: true, force: true });
    throw error;
  }
  server.unref();

  let closed: Promise<void> | undefined;
  return {
    socketPath,
    lastFailure() {
      return failure && Date.now() - failure.at < FAILURE_MEMORY_MS ? failure.message : undefined;
    },
    close() {
      closed ??= (async () => {
        server.close();
        for (const conn of connections) conn.destroy();
        // Wait for every ssh to go, holding the process open meanwhile (everything else is unref'd).
        const waits = [...children].map(
          (child) =>
            new Promise<void>((resolve) =>
              child.exitCode !== null || child.signalCode !== null ? resolve() : child.once('close', () => resolve()),
            ),
        );
        for (const child of children) {
          child.ref();
          child.kill('SIGTERM');
        }
        await Promise.all(waits);
        rmSync(dir, { recursive: true, force: true });
        process.off('exit', cleanupSync);
      })();
      return closed;
    },
  };
}

/**
 * Creates a transport to an engine behind SSH. The bridge starts with the first request; until
 * then nothing runs. Connection errors name the `ssh://` address and say what ssh printed
 * (`Permission denied (publickey)`, `docker: command not found`, …).
 *
 * @param endpoint The engine.
 * @param options Time limits and how to run ssh.
 * @param inner Creates the runtime's socket transport on the bridge's socket.
 * @throws DockerArgumentError for a malformed endpoint.
 */
export function createSshTransport(
  endpoint: SshEndpoint,
  options: SocketTransportOptions & { ssh?: SshOptions | undefined },
  inner: (endpoint: NodeEndpoint, options: SocketTransportOptions) => Transport | Promise<Transport>,
): Transport {
  checkSshEndpoint(endpoint);
  const address = sshAddress(endpoint);
  const connectTimeout = options.connectTimeout ?? 5000;
  let state: Promise<{ bridge: Bridge; transport: Transport }> | undefined;
  const get = () => {
    state ??= (async () => {
      const bridge = await openBridge(endpoint, options.ssh ?? {}, connectTimeout);
      try {
        // ssh connects after the bridge accepted: its time counts against the headers timeout, so give it its share.
        const transport = await inner(
          { kind: 'unix', socketPath: bridge.socketPath },
          { ...options, address, headersTimeout: (options.headersTimeout ?? 60_000) + connectTimeout },
        );
        return { bridge, transport };
      } catch (error) {
        await bridge.close();
        throw error;
      }
    })().catch((error: unknown) => {
      state = undefined;
      throw error instanceof DockerConnectionError
        ? error
        : new DockerConnectionError(`cannot start the SSH bridge for ${address}: ${(error as Error).message}`, {
            tried: [address],
            cause: error,
          });
    });
    return state;
  };
  const explain = (error: unknown, bridge: Bridge): unknown => {
    const said = bridge.lastFailure();
    if (!(error instanceof DockerConnectionError) || !said) return error;
    const wrapped = new DockerConnectionError(
      `cannot reach the engine at ${address}: ${said}; check that \`ssh\` reaches this host without a prompt (keys or an agent: ` +
        'Berth runs it with BatchMode=yes) and that the docker CLI is installed there',
      { tried: [address], cause: error, osCode: error.osCode },
    );
    if (error.partialOutput) wrapped.partialOutput = error.partialOutput;
    return wrapped;
  };
  return {
    address,
    async request(request: TransportRequest): Promise<TransportResponse> {
      const { bridge, transport } = await get();
      try {
        return await transport.request(request);
      } catch (error) {
        throw explain(error, bridge);
      }
    },
    async hijack(request: TransportRequest): Promise<HijackedConnection> {
      const { bridge, transport } = await get();
      try {
        return await transport.hijack(request);
      } catch (error) {
        throw explain(error, bridge);
      }
    },
    async close(): Promise<void> {
      if (!state) return;
      const current = await state.catch(() => undefined);
      state = undefined;
      if (!current) return;
      await current.transport.close();
      await current.bridge.close();
    },
  };
}
