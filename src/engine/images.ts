import { encodeRegistryAuth, encodeRegistryConfig, normaliseRegistry, type RegistryCredentials, registryOf } from './auth/registry.js';
import type { PackedFolder } from './build/folder.js';
import { ImageBuild } from './build/stream.js';
import { DockerArgumentError, DockerError, DockerStreamError, isDockerApiError } from './errors.js';
import type { HttpCore } from './http/core.js';
import type { CallOptions, Filters } from './options.js';
import { jsonLines } from './stream/json-lines.js';
import type { TransportResponseBody } from './transport/types.js';
import type { ImageHistoryItem, ImageInspect, ImagePruneResponse, ImageSummary, ProgressMessage, SystemVersion } from './types.js';
import { checkFilters, checkImageRef, splitImageRef } from './validate.js';

/** Options of {@link ImagesApi.list}. */
export interface ImageListOptions extends CallOptions {
  all?: boolean | undefined;
  /** e.g. `{ reference: ['python:*'], dangling: ['true'] }`. */
  filters?: Filters | undefined;
}

/** How {@link ImagesApi.pull} and {@link ImagesApi.push} authenticate to the registry. */
export interface RegistryAuthOptions {
  /**
   * Credentials for the image's registry. Default: found as the docker CLI finds them, in
   * `config.json` under `DOCKER_CONFIG` or `~/.docker` (`credHelpers`, `credsStore`, `auths`),
   * running `docker-credential-<name> get` for a helper. `false`: send none, read nothing.
   */
  credentials?: RegistryCredentials | false | undefined;
  /** A ready `X-Registry-Auth` value (base64url JSON); wins over `credentials`. */
  registryAuth?: string | undefined;
  /**
   * Podman only: `false` lets Podman reach the registry over plain HTTP or unverified TLS (its
   * `tlsVerify` parameter; a pull then goes through Podman's own `/libpod/images/pull`, as its
   * Docker-compatible pull ignores the parameter); Podman otherwise requires TLS unless
   * `registries.conf` lists the registry as insecure. Docker ignores it: dockerd decides by its
   * `insecure-registries` (loopback registries are insecure by default).
   */
  tlsVerify?: boolean | undefined;
}

/** Options of {@link ImagesApi.pull}. */
export interface ImagePullOptions extends CallOptions, RegistryAuthOptions {
  /** Called with every progress message, in order. */
  onProgress?: ((message: ProgressMessage) => void) | undefined;
  /** `os[/arch[/variant]]`. */
  platform?: string | undefined;
}

/** Options of {@link ImagesApi.push}. */
export interface ImagePushOptions extends CallOptions, RegistryAuthOptions {
  /** Called with every progress message, in order. */
  onProgress?: ((message: ProgressMessage) => void) | undefined;
}

/**
 * Options of {@link ImagesApi.build} (the query of `POST /build`, classic builder). Names are the
 * Engine API's.
 */
export interface ImageBuildOptions extends CallOptions {
  /** Tags for the image, `name[:tag]`: one or several. */
  t?: string | readonly string[] | undefined;
  /**
   * The Dockerfile: a path inside the context (default `Dockerfile`). With a folder context it
   * may also be an absolute path on this machine, inside the folder or not (one outside is sent
   * with the context under a random name, as `docker build -f` does).
   */
  dockerfile?: string | undefined;
  /** `ARG` values: `{ VERSION: '1.2' }`. */
  buildargs?: Record<string, string> | undefined;
  /** Labels set on the image. */
  labels?: Record<string, string> | undefined;
  /** The stage of a multi-stage Dockerfile to build (its `AS name`). */
  target?: string | undefined;
  /** Do not use the build cache. Default false. */
  nocache?: boolean | undefined;
  /** Pull base images even when they are present locally. Default false (offline friendly). */
  pull?: boolean | undefined;
  /** Remove intermediate containers after a successful build. Engine default true. */
  rm?: boolean | undefined;
  /** Always remove intermediate containers, even after a failed step. Default false. */
  forcerm?: boolean | undefined;
  /** Quiet: the engine streams no step output, only the result. Default false. */
  q?: boolean | undefined;
  /** Images to use as cache sources. */
  cachefrom?: readonly string[] | undefined;
  /** Network mode of `RUN` steps (`bridge`, `host`, `none`, a network name). */
  networkmode?: string | undefined;
  /** `host:ip` entries added to `/etc/hosts` of `RUN` steps. */
  extrahosts?: readonly string[] | undefined;
  /** `os[/arch[/variant]]`. */
  platform?: string | undefined;
  /** Size of `/dev/shm` of `RUN` steps, in bytes. */
  shmsize?: number | undefined;
  /** Memory limit of `RUN` steps, in bytes. */
  memory?: number | undefined;
  /**
   * Credentials for registries the build pulls `FROM` images from, by registry (`localhost:5000`,
   * `https://index.docker.io/v1/`), sent as `X-Registry-Config`. Default: every registry's
   * credentials in `config.json` (as the docker CLI sends them; ones that cannot be read are left
   * out). `false`: send none, read nothing.
   */
  credentials?: Record<string, RegistryCredentials> | false | undefined;
  /** Podman only: `false` lets `FROM` pulls use plain HTTP or unverified TLS (see {@link RegistryAuthOptions.tlsVerify}). */
  tlsVerify?: boolean | undefined;
}

/**
 * A build context: a folder on this machine (packed here, `.dockerignore` honoured), or a tar
 * archive as bytes or a stream of bytes (sent as it is).
 */
export type ImageBuildContext = string | Uint8Array | AsyncIterable<Uint8Array>;

/** Options of {@link ImagesApi.import}. */
export interface ImageImportOptions extends CallOptions {
  /** Repository (and optionally `:tag`) for the new image. */
  repo?: string | undefined;
  tag?: string | undefined;
  /** Dockerfile instructions applied to the image, e.g. `ENV PATH=/bin`, `CMD ["sh"]`. */
  changes?: readonly string[] | undefined;
  message?: string | undefined;
  platform?: string | undefined;
  onProgress?: ((message: ProgressMessage) => void) | undefined;
}

/** Options of {@link ImagesApi.remove}. */
export interface ImageRemoveOptions extends CallOptions {
  force?: boolean | undefined;
  /** Keep untagged parents. */
  noprune?: boolean | undefined;
}

/** Options of {@link ImagesApi.load}. */
export interface ImageLoadOptions extends CallOptions {
  /** Leave out the per-layer progress messages. Default true. */
  quiet?: boolean | undefined;
  /** Called with every message of the engine's answer, in order. */
  onProgress?: ((message: ProgressMessage) => void) | undefined;
}

/** Options of {@link ImagesApi.prune}. */
export interface ImagePruneOptions extends CallOptions {
  /** `dangling` (`['true']` by default), `label`, `label!`, `until`. */
  filters?: Filters | undefined;
}

/** Image endpoints. */
export class ImagesApi {
  readonly #core: HttpCore;
  readonly #env: Record<string, string | undefined> | undefined;
  #podman: Promise<boolean> | undefined;
  /** @internal */
  constructor(core: HttpCore, env?: Record<string, string | undefined>) {
    this.#core = core;
    this.#env = env;
  }

  /** `GET /images/{name}/json`. */
  async inspect(name: string, options: CallOptions = {}): Promise<ImageInspect> {
    checkImageRef(name, 'name');
    return this.#core.json('GET', `/images/${encodeURIComponent(name)}/json`, { signal: options.signal });
  }

  /** `GET /images/json`. */
  list(options: ImageListOptions = {}): Promise<ImageSummary[]> {
    return this.#core.json('GET', '/images/json', { signal: options.signal, query: { all: options.all, filters: options.filters } });
  }

  /**
   * `POST /images/create?fromImage=`: pulls an image and resolves when the pull is complete. An error
   * the engine reports inside the progress stream (HTTP status already 200) is thrown as a
   * {@link DockerStreamError}; a refusal before the stream is a {@link DockerApiError}.
   */
  async pull(ref: string, options: ImagePullOptions = {}): Promise<void> {
    checkImageRef(ref, 'ref');
    const { repo, tag, digest } = splitImageRef(ref);
    const auth = await this.#registryAuth(ref, options, false);
    const headers = auth ? { 'x-registry-auth': auth } : undefined;
    // Podman 4.3's compatible pull ignores tlsVerify; its own pull endpoint (same socket, same
    // progress format, same auth header) honours it.
    const podmanTls = options.tlsVerify === false && (await this.#isPodman(options.signal));
    const response = podmanTls
      ? await this.#core.request('POST', '/libpod/images/pull', {
          signal: options.signal,
          headersTimeout: 0,
          headers,
          query: { reference: ref, tlsVerify: 'false', ...platformQuery(options.platform) },
        })
      : await this.#core.request('POST', '/images/create', {
          signal: options.signal,
          headersTimeout: 0,
          headers,
          query: { fromImage: repo, tag: digest ?? tag, platform: options.platform },
        });
    await followProgress(response.body, `pull of ${ref}`, options.onProgress);
  }

  /**
   * `POST /images/{name}/push`: pushes `name[:tag]` to its registry and resolves when the push is
   * complete (without a tag, every tag of the repository is pushed). Credentials as for
   * {@link ImagesApi.pull}. A failure the engine reports in the progress stream (refused
   * credentials, an unreachable registry) is thrown as a {@link DockerStreamError} with the
   * engine's message; a refusal before the stream (no such image) is a {@link DockerApiError}.
   * @throws {DockerCredentialsError} when the credentials cannot be read (a failing helper).
   */
  async push(ref: string, options: ImagePushOptions = {}): Promise<void> {
    checkImageRef(ref, 'ref');
    if (ref.includes('@')) throw new DockerArgumentError('ref', `push takes name[:tag], not a digest: ${JSON.stringify(ref)}`);
    const at = ref.lastIndexOf(':');
    const hasTag = at > ref.lastIndexOf('/');
    const name = hasTag ? ref.slice(0, at) : ref;
    const auth = await this.#registryAuth(ref, options, true);
    const response = await this.#core.request('POST', `/images/${encodeURIComponent(name)}/push`, {
      signal: options.signal,
      headersTimeout: 0,
      headers: auth ? { 'x-registry-auth': auth } : undefined,
      query: { tag: hasTag ? ref.slice(at + 1) : undefined, tlsVerify: tlsQuery(options.tlsVerify) },
    });
    await followProgress(response.body, `push of ${ref}`, options.onProgress);
  }

  /**
   * `POST /build` (classic builder): builds an image from a context. Returns at once; nothing is
   * sent until the build is iterated (progress messages) or `done()` is called (the result):
   *
   * ```ts
   * const { id } = await docker.images.build('./app', { t: 'app:1' }).done();
   * ```
   *
   * A folder is packed here, leaving out what its `.dockerignore` names (the Dockerfile and
   * `.dockerignore` themselves are always sent, as by the docker CLI). A failed build throws a
   * {@link DockerBuildError} with the failing `step` and its `output`.
   * @throws {DockerArgumentError} for a bad tag or option (before any I/O).
   */
  build(context: ImageBuildContext, options: ImageBuildOptions = {}): ImageBuild {
    const tags = options.t === undefined ? [] : typeof options.t === 'string' ? [options.t] : [...options.t];
    for (const tag of tags) checkImageRef(tag, 't');
    if (typeof context === 'string' && context.length === 0)
      throw new DockerArgumentError('context', 'expected a folder path, bytes or a stream');
    if (options.dockerfile !== undefined && (typeof options.dockerfile !== 'string' || options.dockerfile.trim() === ''))
      throw new DockerArgumentError('dockerfile', `expected a path inside the context, got ${JSON.stringify(options.dockerfile)}`);
    for (const [what, record] of [
      ['buildargs', options.buildargs],
      ['labels', options.labels],
    ] as const) {
      for (const [key, value] of Object.entries(record ?? {})) {
        if (typeof value !== 'string') throw new DockerArgumentError(what, `the value of ${JSON.stringify(key)} must be a string`);
      }
    }
    const start = async () => {
      const registryConfig = await this.#registryConfig(options);
      const extrahosts =
        // Docker reads repeated `extrahosts` parameters, Podman one JSON array (a repeated one is its 400).
        options.extrahosts && ((await this.#isPodman(options.signal)) ? JSON.stringify(options.extrahosts) : options.extrahosts);
      let body = context;
      let dockerfile = options.dockerfile;
      let packed: PackedFolder | undefined;
      if (typeof context === 'string') {
        packed = await (await import('./build/folder.js')).packFolder(context, options.dockerfile ?? 'Dockerfile');
        body = packed.stream;
        if (dockerfile !== undefined) dockerfile = packed.dockerfile;
      }
      // A request that fails before the engine read the whole context leaves the folder walk waiting: end it.
      return this.#core
        .request('POST', '/build', {
          signal: options.signal,
          headersTimeout: 0,
          headers: registryConfig ? { 'x-registry-config': registryConfig } : undefined,
          body,
          contentType: 'application/x-tar',
          query: {
            t: tags,
            dockerfile,
            buildargs: options.buildargs ? JSON.stringify(options.buildargs) : undefined,
            labels: options.labels ? JSON.stringify(options.labels) : undefined,
            target: options.target,
            nocache: options.nocache,
            pull: options.pull,
            rm: options.rm,
            forcerm: options.forcerm,
            q: options.q,
            cachefrom: options.cachefrom ? JSON.stringify(options.cachefrom) : undefined,
            networkmode: options.networkmode,
            extrahosts,
            platform: options.platform,
            shmsize: options.shmsize,
            memory: options.memory,
            tlsVerify: tlsQuery(options.tlsVerify),
          },
        })
        .catch((error: unknown) => {
          packed?.cancel(error);
          throw error;
        });
    };
    return new ImageBuild(start, tags);
  }

  /** True when the engine is Podman (its `/version` lists a Podman component); asked once. */
  #isPodman(signal: AbortSignal | undefined): Promise<boolean> {
    this.#podman ??= this.#core.json<SystemVersion>('GET', '/version', { signal }).then(
      (version) => [version.Platform?.Name ?? '', ...(version.Components ?? []).map((c) => c.Name)].some((name) => /podman/i.test(name)),
      (error: unknown) => {
        this.#podman = undefined;
        throw error;
      },
    );
    return this.#podman;
  }

  /** The `X-Registry-Config` value of a build: the user's credentials, else all of config.json's. */
  async #registryConfig(options: ImageBuildOptions): Promise<string | undefined> {
    if (options.credentials === false) return undefined;
    let all = options.credentials;
    if (!all) {
      const { findAllCredentials } = await import('./auth/docker-config.js');
      all = await findAllCredentials(this.#envOrProcess(), options.signal);
    }
    const normalised: Record<string, RegistryCredentials> = {};
    for (const [registry, credentials] of Object.entries(all)) normalised[normaliseRegistry(registry)] = credentials;
    return Object.keys(normalised).length ? encodeRegistryConfig(normalised) : undefined;
  }

  #envOrProcess(): Record<string, string | undefined> {
    return this.#env ?? (globalThis as { process?: { env: Record<string, string | undefined> } }).process?.env ?? {};
  }

  /** The `X-Registry-Auth` value for `ref`: the user's, else found in `config.json`; `{}` for a push without any. */
  async #registryAuth(ref: string, options: RegistryAuthOptions & CallOptions, forPush: boolean): Promise<string | undefined> {
    if (options.registryAuth) return options.registryAuth;
    const registry = registryOf(ref);
    let credentials: RegistryCredentials | undefined;
    if (options.credentials) credentials = { serverAddress: registry, ...options.credentials };
    else if (options.credentials !== false) {
      const { findCredentials } = await import('./auth/docker-config.js');
      credentials = await findCredentials(registry, this.#envOrProcess(), options.signal);
    }
    // dockerd reads a push's credentials from the body when the header is missing: send `{}` as the CLI does.
    return credentials || forPush ? encodeRegistryAuth(credentials) : undefined;
  }

  /**
   * `POST /images/create?fromSrc=-`: creates an image from a root filesystem tarball (as the
   * offline test images are made). Resolves to the new image's ID.
   */
  async import(tar: Uint8Array | AsyncIterable<Uint8Array>, options: ImageImportOptions = {}): Promise<{ id: string }> {
    if (options.repo !== undefined) checkImageRef(options.tag ? `${options.repo}:${options.tag}` : options.repo, 'repo');
    const response = await this.#core.request('POST', '/images/create', {
      signal: options.signal,
      headersTimeout: 0,
      body: tar,
      contentType: 'application/x-tar',
      query: {
        fromSrc: '-',
        repo: options.repo,
        tag: options.tag,
        changes: options.changes,
        message: options.message,
        platform: options.platform,
      },
    });
    let id = '';
    await followProgress(response.body, 'image import', (message) => {
      if (typeof message.status === 'string' && /^sha256:[a-f0-9]{64}$/.test(message.status.trim())) id = message.status.trim();
      options.onProgress?.(message);
    });
    if (!id) throw new DockerError('image import finished without reporting an image ID');
    if (options.repo !== undefined && options.tag && options.tag !== 'latest') {
      await this.#ensureImportTag(id, options.repo, options.tag, options.signal);
    }
    return { id };
  }

  /**
   * Podman 4.3 ignores the `tag` of an import and names the image `repo:latest`. When `repo:tag`
   * is not the new image, tag it so, and drop the `repo:latest` tag Podman made (only if it names
   * the new image). On Docker this is one inspect that finds the tag in place.
   */
  async #ensureImportTag(id: string, repo: string, tag: string, signal: AbortSignal | undefined): Promise<void> {
    try {
      if ((await this.inspect(`${repo}:${tag}`, { signal })).Id === id) return;
    } catch (error) {
      if (!isDockerApiError(error) || error.reason !== 'notFound') throw error;
    }
    await this.tag(id, { repo, tag, signal });
    const latest = await this.inspect(`${repo}:latest`, { signal }).catch(() => undefined);
    if (latest?.Id === id) await this.remove(`${repo}:latest`, { signal }).catch(() => {});
  }

  /**
   * `GET /images/{name}/get`, or `GET /images/get?names=…` for several: the images (layers,
   * configuration, tags) as a `docker save` tar stream, to iterate or cancel. Nothing is buffered.
   */
  async save(names: string | readonly string[], options: CallOptions = {}): Promise<TransportResponseBody> {
    const list = typeof names === 'string' ? [names] : names;
    if (!Array.isArray(list) || list.length === 0) {
      throw new DockerArgumentError('names', `expected an image reference or a non-empty array of them, got ${JSON.stringify(names)}`);
    }
    for (const [index, name] of list.entries()) checkImageRef(name, typeof names === 'string' ? 'names' : `names[${index}]`);
    const [only] = list;
    const response =
      list.length === 1 && only !== undefined
        ? await this.#core.request('GET', `/images/${encodeURIComponent(only)}/get`, { signal: options.signal, headersTimeout: 0 })
        : await this.#core.request('GET', '/images/get', { signal: options.signal, headersTimeout: 0, query: { names: list } });
    return response.body;
  }

  /**
   * `POST /images/load`: loads images from a `docker save` tar (bytes or a stream, sent as it is
   * read). Resolves to what the engine reports loaded: `name:tag`, or `sha256:…` for an untagged
   * image. An error inside the progress stream (a broken tar) is a {@link DockerStreamError}.
   */
  async load(tar: Uint8Array | AsyncIterable<Uint8Array>, options: ImageLoadOptions = {}): Promise<{ loaded: string[] }> {
    if (!(tar instanceof Uint8Array) && (typeof tar !== 'object' || tar === null || !(Symbol.asyncIterator in tar))) {
      throw new DockerArgumentError('tar', 'expected the tar as a Uint8Array or an AsyncIterable<Uint8Array>');
    }
    const response = await this.#core.request('POST', '/images/load', {
      signal: options.signal,
      headersTimeout: 0,
      body: tar,
      contentType: 'application/x-tar',
      query: { quiet: options.quiet ?? true },
    });
    const loaded: string[] = [];
    await followProgress(response.body, 'image load', (message) => {
      // dockerd says `Loaded image: name:tag` or `Loaded image ID: sha256:…`; Podman `Loaded image: …` with several names comma-separated.
      const text = typeof message.stream === 'string' ? message.stream : (message as { Stream?: unknown }).Stream;
      if (typeof text === 'string') {
        for (const line of text.split('\n')) {
          const match = /^Loaded image(?: ID)?s?: (.+)$/.exec(line.trim());
          if (match?.[1])
            loaded.push(
              ...match[1]
                .split(',')
                .map((name) => name.trim())
                .filter(Boolean),
            );
        }
      }
      options.onProgress?.(message);
    });
    return { loaded };
  }

  /**
   * `POST /images/prune`: removes unused images. By default only dangling (untagged) ones; with
   * `filters: { dangling: ['false'] }` every image no container uses. Also `label`, `label!`,
   * `until`. On a shared engine always narrow it.
   */
  async prune(options: ImagePruneOptions = {}): Promise<ImagePruneResponse> {
    checkFilters(options.filters);
    const answer = await this.#core.json<Partial<ImagePruneResponse> | undefined>('POST', '/images/prune', {
      signal: options.signal,
      headersTimeout: 0,
      query: { filters: options.filters },
    });
    // Podman 4.3 reports `Deleted` as bare hex; dockerd (and inspect, on both) says `sha256:…`.
    const deleted = (answer?.ImagesDeleted ?? []).map((item) =>
      item.Deleted !== undefined && /^[a-f0-9]{64}$/.test(item.Deleted) ? { ...item, Deleted: `sha256:${item.Deleted}` } : item,
    );
    return { ImagesDeleted: deleted, SpaceReclaimed: answer?.SpaceReclaimed ?? 0 };
  }

  /** `GET /images/{name}/history`: the layers of an image, newest first, with the instruction that made each. */
  async history(name: string, options: CallOptions = {}): Promise<ImageHistoryItem[]> {
    checkImageRef(name, 'name');
    return this.#core.json('GET', `/images/${encodeURIComponent(name)}/history`, { signal: options.signal });
  }

  /** `DELETE /images/{name}`: untags and removes an image. */
  async remove(name: string, options: ImageRemoveOptions = {}): Promise<Array<{ Untagged?: string; Deleted?: string }>> {
    checkImageRef(name, 'name');
    return this.#core.json('DELETE', `/images/${encodeURIComponent(name)}`, {
      signal: options.signal,
      query: { force: options.force, noprune: options.noprune },
    });
  }

  /** `POST /images/{name}/tag`: adds the tag `repo[:tag]` to an image. */
  async tag(name: string, options: CallOptions & { repo: string; tag?: string | undefined }): Promise<void> {
    checkImageRef(name, 'name');
    checkImageRef(options.tag ? `${options.repo}:${options.tag}` : options.repo, 'repo');
    await this.#core.empty('POST', `/images/${encodeURIComponent(name)}/tag`, {
      signal: options.signal,
      query: { repo: options.repo, tag: options.tag },
    });
  }
}

/** `os[/arch[/variant]]` as the query of Podman's own pull. */
function platformQuery(platform: string | undefined): Record<string, string | undefined> {
  if (!platform) return {};
  const [os, arch, variant] = platform.split('/');
  return { OS: os, Arch: arch, Variant: variant };
}

/** Podman reads `tlsVerify` as Go's ParseBool: send `true`/`false`, not the `1`/`0` of other booleans. */
function tlsQuery(value: boolean | undefined): string | undefined {
  return value === undefined ? undefined : String(value);
}

async function followProgress(
  body: AsyncIterable<Uint8Array> & { cancel(): Promise<void> },
  what: string,
  onProgress?: (message: ProgressMessage) => void,
): Promise<void> {
  try {
    for await (const message of jsonLines<ProgressMessage>(body)) {
      if (message.error !== undefined || message.errorDetail?.message !== undefined) {
        throw new DockerStreamError(`${what} failed: ${message.errorDetail?.message ?? message.error}`);
      }
      onProgress?.(message);
    }
  } finally {
    await body.cancel();
  }
}
