import { DockerArgumentError, DockerError, DockerStreamError, isDockerApiError } from './errors.js';
import type { HttpCore } from './http/core.js';
import type { CallOptions, Filters } from './options.js';
import { jsonLines } from './stream/json-lines.js';
import type { TransportResponseBody } from './transport/types.js';
import type { ImageHistoryItem, ImageInspect, ImagePruneResponse, ImageSummary, ProgressMessage } from './types.js';
import { checkFilters, checkImageRef, splitImageRef } from './validate.js';

/** Options of {@link ImagesApi.list}. */
export interface ImageListOptions extends CallOptions {
  all?: boolean | undefined;
  /** e.g. `{ reference: ['python:*'], dangling: ['true'] }`. */
  filters?: Filters | undefined;
}

/** Options of {@link ImagesApi.pull}. */
export interface ImagePullOptions extends CallOptions {
  /** Called with every progress message, in order. */
  onProgress?: ((message: ProgressMessage) => void) | undefined;
  /** `os[/arch[/variant]]`. */
  platform?: string | undefined;
  /** Base64url-encoded registry auth JSON, sent as `X-Registry-Auth`. */
  registryAuth?: string | undefined;
}

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
  /** @internal */
  constructor(core: HttpCore) {
    this.#core = core;
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
    const response = await this.#core.request('POST', '/images/create', {
      signal: options.signal,
      headersTimeout: 0,
      headers: options.registryAuth ? { 'x-registry-auth': options.registryAuth } : undefined,
      query: { fromImage: repo, tag: digest ?? tag, platform: options.platform },
    });
    await followProgress(response.body, `pull of ${ref}`, options.onProgress);
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
