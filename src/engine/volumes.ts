import { DockerArgumentError } from './errors.js';
import type { HttpCore } from './http/core.js';
import type { CallOptions, Filters } from './options.js';
import { checkFilters, checkVolumeName } from './validate.js';

/** The body of `POST /volumes/create`. Every field is optional: `{}` makes an anonymous volume with a random name. */
export interface VolumeCreateBody {
  /** The volume's name (`[a-zA-Z0-9][a-zA-Z0-9_.-]+`). Default: a random 64-hex name. */
  Name?: string;
  /** Default `local`. */
  Driver?: string;
  /** Driver options, e.g. `{ type: 'tmpfs', device: 'tmpfs', o: 'size=64m' }` for a local tmpfs volume. */
  DriverOpts?: Record<string, string>;
  Labels?: Record<string, string>;
  [key: string]: unknown;
}

/** A volume as `GET /volumes/{name}` describes it. */
export interface Volume {
  Name: string;
  Driver: string;
  /** Where the volume's data lives on the engine's host. */
  Mountpoint: string;
  /** RFC 3339 time (some drivers leave it out). */
  CreatedAt?: string;
  Labels: Record<string, string> | null;
  /** `local` or `global`. */
  Scope: string;
  Options: Record<string, string> | null;
  Status?: Record<string, unknown>;
  /** Size and reference count, only from `GET /system/df`: -1 when unknown. */
  UsageData?: { Size: number; RefCount: number } | null;
  [key: string]: unknown;
}

/** The answer of `GET /volumes`. */
export interface VolumeListResponse {
  /** Every volume, or those matching the filters (`[]` when none; the engine may send null, {@link VolumesApi.list} does not). */
  Volumes: Volume[];
  /** Drivers that could not be asked. */
  Warnings: string[] | null;
}

/** The answer of `POST /volumes/prune`. */
export interface VolumePruneResponse {
  /** Names of the removed volumes (`[]` when none). */
  VolumesDeleted: string[];
  /** Bytes freed on the engine's disk. */
  SpaceReclaimed: number;
}

/** Options of {@link VolumesApi.list} and {@link VolumesApi.prune}. */
export interface VolumeListOptions extends CallOptions {
  /**
   * e.g. `{ label: ['team=agents'] }`, `{ name: ['ws-'] }`, `{ dangling: ['true'] }`. Prune takes
   * `label`, `label!` and, on API >= 1.42, `all: ['true']` (see {@link VolumesApi.prune}).
   */
  filters?: Filters | undefined;
}

/** Options of {@link VolumesApi.remove}. */
export interface VolumeRemoveOptions extends CallOptions {
  /** Remove even when the engine thinks it is still in use (e.g. a stale reference after a daemon crash). */
  force?: boolean | undefined;
}

/** Volume endpoints: a workspace that outlives one container. Every name is checked before any I/O. */
export class VolumesApi {
  readonly #core: HttpCore;
  /** @internal */
  constructor(core: HttpCore) {
    this.#core = core;
  }

  /**
   * `POST /volumes/create`: creates a volume. Creating one whose name exists with the same driver
   * is not an error: the engine returns the existing volume (and keeps its labels).
   */
  async create(body: VolumeCreateBody = {}, options: CallOptions = {}): Promise<Volume> {
    if (typeof body !== 'object' || body === null || Array.isArray(body)) {
      throw new DockerArgumentError('body', `volumes.create needs an object such as { Name: 'ws' }, got ${JSON.stringify(body)}`);
    }
    if (body.Name !== undefined) checkVolumeName(body.Name, 'body.Name');
    return this.#core.json('POST', '/volumes/create', { signal: options.signal, json: body });
  }

  /** `GET /volumes/{name}`. @throws DockerApiError `notFound`. */
  async inspect(name: string, options: CallOptions = {}): Promise<Volume> {
    checkVolumeName(name);
    return this.#core.json('GET', `/volumes/${encodeURIComponent(name)}`, { signal: options.signal });
  }

  /** `GET /volumes`: every volume, or those matching `filters`. */
  async list(options: VolumeListOptions = {}): Promise<VolumeListResponse> {
    checkFilters(options.filters);
    const answer = await this.#core.json<Partial<VolumeListResponse> | undefined>('GET', '/volumes', {
      signal: options.signal,
      query: { filters: options.filters },
    });
    return { Volumes: answer?.Volumes ?? [], Warnings: answer?.Warnings ?? null };
  }

  /**
   * `DELETE /volumes/{name}`: removes a volume and its data.
   * @throws DockerApiError `notFound`; `conflict` while a container (even a stopped one) uses it.
   */
  async remove(name: string, options: VolumeRemoveOptions = {}): Promise<void> {
    checkVolumeName(name);
    await this.#core.empty('DELETE', `/volumes/${encodeURIComponent(name)}`, { signal: options.signal, query: { force: options.force } });
  }

  /**
   * `POST /volumes/prune`: removes the volumes no container uses, with their data. On API 1.41
   * (dockerd 20.10) that is every unused local volume; from API 1.42 only anonymous ones unless
   * `filters` has `all: ['true']`. On a shared engine always narrow it with a `label` filter.
   */
  async prune(options: VolumeListOptions = {}): Promise<VolumePruneResponse> {
    checkFilters(options.filters);
    const answer = await this.#core.json<Partial<VolumePruneResponse> | undefined>('POST', '/volumes/prune', {
      signal: options.signal,
      query: { filters: options.filters },
    });
    return { VolumesDeleted: answer?.VolumesDeleted ?? [], SpaceReclaimed: answer?.SpaceReclaimed ?? 0 };
  }
}
