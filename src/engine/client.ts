import { ContainersApi } from './containers.js';
import { DockerError } from './errors.js';
import { ExecApi } from './exec.js';
import { HttpCore } from './http/core.js';
import { ImagesApi } from './images.js';
import { NetworksApi } from './networks.js';
import { SystemApi } from './system.js';
import { createAutoTransport } from './transport/auto.js';
import { createFallbackTransport } from './transport/fallback.js';
import { resolveEngine, type TlsOption } from './transport/select.js';
import type { SshOptions } from './transport/ssh-endpoint.js';
import type { Transport } from './transport/types.js';
import { VolumesApi } from './volumes.js';

/** Options of {@link DockerClient}. With none, the engine is found like the docker CLI finds it. */
export interface DockerClientOptions {
  /**
   * `unix:///var/run/docker.sock`, `tcp://host:2376` or `ssh://user@host`. Default: `DOCKER_HOST`,
   * the docker context, then the first of the usual sockets (Docker, rootless, Docker Desktop,
   * Podman) that answers.
   */
  host?: string | undefined;
  /** A unix socket path (shorthand for `host: 'unix://…'`). */
  socketPath?: string | undefined;
  /** TLS for a TCP engine: `{ ca, cert, key }` as PEM contents, or a directory with `ca.pem`, `cert.pem`, `key.pem`. */
  tls?: TlsOption | undefined;
  /**
   * How to run the system `ssh` for an `ssh://` engine: `{ command, args }`, e.g.
   * `{ args: ['-i', '/path/key'] }`. The remote machine needs the docker CLI (`docker system dial-stdio`).
   */
  ssh?: SshOptions | undefined;
  /** Pin the Engine API version (e.g. `1.41`) instead of negotiating it with `/_ping`. */
  apiVersion?: string | undefined;
  /** Send requests through this transport instead (tests, custom sockets). `host`, `socketPath` and `tls` are then ignored. */
  transport?: Transport | undefined;
  /** Timeouts in milliseconds. */
  timeouts?:
    | {
        /** To establish a connection. Default 5000. */
        connect?: number | undefined;
        /** To receive response headers on ordinary calls (streams and long polls wait as long as needed). Default 60000. */
        headers?: number | undefined;
      }
    | undefined;
  /**
   * Environment read for `DOCKER_HOST`, `DOCKER_CONTEXT`, …, and for registry credentials
   * (`DOCKER_CONFIG`, `HOME`, and the `PATH` credential helpers are found on). Default `process.env`.
   */
  env?: Record<string, string | undefined> | undefined;
}

/** The option key through which `berth/testing` wraps a client's transport (internal). */
const TESTING_WRAP = Symbol.for('berth.testing.wrap');
/** The option key (and getter) saying whether `berth/testing` records or replays this client (internal). */
const TESTING_MODE = Symbol.for('berth.testing.mode');

/**
 * A typed Docker Engine API client. Resources mirror the API: `system`, `containers`, `exec`,
 * `images`, `networks`, `volumes`. Nothing is connected until the first call; the API version is negotiated once, lazily.
 *
 * @example
 * ```ts
 * const docker = new DockerClient();
 * const { exitCode, stdout } = await docker.exec.run('my-container', ['echo', 'hi']);
 * ```
 */
export class DockerClient {
  /** `ping`, `version`, `info`, `events`. */
  readonly system: SystemApi;
  /** Container lifecycle, logs, attach and archives. */
  readonly containers: ContainersApi;
  /** Commands in running containers. */
  readonly exec: ExecApi;
  /** Image inspect, list, pull, push, build, import, tag and remove. */
  readonly images: ImagesApi;
  /** Networks: create (an `Internal` one has no route out), connect and disconnect containers, remove, prune. */
  readonly networks: NetworksApi;
  /** Volumes: storage that outlives a container; create, inspect, list, remove, prune. */
  readonly volumes: VolumesApi;
  readonly #core: HttpCore;
  readonly #options: DockerClientOptions;
  #transport: Transport | undefined;
  #wrapped: Transport | undefined;
  #source = 'transport option';
  #closed = false;

  constructor(options: DockerClientOptions = {}) {
    this.#options = options;
    this.#transport = options.transport;
    this.#core = new HttpCore(() => {
      if (this.#closed) {
        throw new DockerError('this DockerClient is closed: create a new one to send more calls', { code: 'BERTH_ERR_CLOSED' });
      }
      return this.#getTransport();
    }, options.apiVersion);
    this.system = new SystemApi(this.#core);
    this.containers = new ContainersApi(this.#core);
    this.exec = new ExecApi(this.#core);
    this.images = new ImagesApi(this.#core, options.env);
    this.networks = new NetworksApi(this.#core);
    this.volumes = new VolumesApi(this.#core);
  }

  /**
   * `'record'` or `'replay'` when `berth/testing` wraps this client (recordingClient, replayClient,
   * `BERTH_RECORD`, `BERTH_REPLAY`), else undefined. Internal: the executor reads it through
   * `Symbol.for('berth.testing.mode')` to run blocks by exec in recorded sessions.
   */
  get [TESTING_MODE](): 'record' | 'replay' | undefined {
    const given = (this.#options as { [TESTING_MODE]?: 'record' | 'replay' })[TESTING_MODE];
    if (given) return given;
    if ((this.#options as { [TESTING_WRAP]?: unknown })[TESTING_WRAP]) return undefined;
    const env = this.#options.env ?? (globalThis as { process?: { env: Record<string, string | undefined> } }).process?.env ?? {};
    return env.BERTH_REPLAY ? 'replay' : env.BERTH_RECORD ? 'record' : undefined;
  }

  #getTransport(): Transport {
    if (this.#wrapped) return this.#wrapped;
    // berth/testing: recordingClient and replayClient wrap the transport; BERTH_RECORD and
    // BERTH_REPLAY make every client do so (the testing module is loaded only then).
    const wrap =
      (this.#options as { [TESTING_WRAP]?: (base: () => Transport) => Transport })[TESTING_WRAP] ??
      environmentWrap(this.#options.env ?? (globalThis as { process?: { env: Record<string, string | undefined> } }).process?.env ?? {});
    this.#wrapped = wrap ? wrap(() => this.#baseTransport()) : this.#baseTransport();
    return this.#wrapped;
  }

  #baseTransport(): Transport {
    if (this.#transport) return this.#transport;
    const resolved = resolveEngine({
      host: this.#options.host,
      socketPath: this.#options.socketPath,
      tls: this.#options.tls,
      env: this.#options.env,
    });
    this.#source = resolved.source;
    const timeouts = this.#options.timeouts;
    const transportOptions = {
      ...(timeouts?.connect !== undefined ? { connectTimeout: timeouts.connect } : {}),
      ...(timeouts?.headers !== undefined ? { headersTimeout: timeouts.headers } : {}),
      ...(this.#options.ssh !== undefined ? { ssh: this.#options.ssh } : {}),
    };
    // The socket adapter of the runtime (Node, Bun or Deno), imported by the first request.
    const primary = createAutoTransport(resolved.endpoint, transportOptions);
    // Found among the usual sockets: the first of them that answers.
    this.#transport = resolved.fallbacks
      ? createFallbackTransport(
          [primary, ...resolved.fallbacks.map((endpoint) => createAutoTransport(endpoint, transportOptions))],
          timeouts?.connect ?? 5000,
        )
      : primary;
    return this.#transport;
  }

  /**
   * Where this client sends requests and how that was decided (`option`, `DOCKER_HOST`,
   * `context NAME`, `default socket`). Resolves the engine if no call has yet.
   * @throws DockerConnectionError when no engine can be found.
   */
  describe(): { address: string; source: string } {
    const transport = this.#getTransport();
    return { address: transport.address, source: this.#source };
  }

  /** The API version in use: the pin, or the engine's (clamped to what Berth supports), negotiated once. */
  apiVersion(options: { signal?: AbortSignal | undefined } = {}): Promise<string> {
    return this.#core.apiVersion(options.signal);
  }

  /** True when the engine is local (a unix socket on this machine): bind mounts of this machine's folders mean something there. SSH and TCP engines are not. */
  isLocal(): boolean {
    return this.#getTransport().address.startsWith('unix://');
  }

  /**
   * Closes the client, the same way on Node, Bun and Deno: every later call rejects with a
   * `DockerError` whose `code` is `BERTH_ERR_CLOSED`; idle connections are closed; calls and
   * streams already in flight run to their end (cancel streams you no longer read). A client that
   * never sent a request has nothing to close and loads nothing. Over `ssh://` the bridge and its
   * `ssh` processes end here, and with them any stream still open through them. Calling it
   * again does nothing.
   */
  async close(): Promise<void> {
    if (this.#closed) return;
    this.#closed = true;
    await (this.#wrapped ?? this.#transport)?.close();
  }

  /** Same as {@link DockerClient.close}, for `await using`. */
  async [Symbol.asyncDispose](): Promise<void> {
    await this.close();
  }
}

/**
 * With `BERTH_RECORD=<dir>` or `BERTH_REPLAY=<dir>` in the environment: a wrap that records the
 * client's traffic into the folder, or answers from it (see `berth/testing`). The testing module
 * is imported by the first request, so a client without these variables never loads it.
 */
function environmentWrap(env: Record<string, string | undefined>): ((base: () => Transport) => Transport) | undefined {
  if (!env.BERTH_RECORD && !env.BERTH_REPLAY) return undefined;
  return (base) => {
    let ready: Transport | undefined;
    let loading: Promise<Transport> | undefined;
    const load = () => {
      loading ??= import('../testing/environment.js').then((m) => {
        ready = m.environmentTransport(env, base);
        return ready;
      });
      return loading;
    };
    return {
      get address() {
        return ready?.address ?? (env.BERTH_REPLAY ? `replay of ${env.BERTH_REPLAY}` : `recording into ${env.BERTH_RECORD}`);
      },
      request: async (request) => (await load()).request(request),
      hijack: async (request) => (await load()).hijack(request),
      close: async () => {
        if (loading) await (await loading).close();
      },
    };
  };
}
