import { type ArchiveFile, type ContainerPathType, fromGoFileMode, packFiles, readFirstEntry } from './archive.js';
import { DockerApiError, DockerArgumentError, DockerError, DockerNotAFileError, DockerStreamError, isDockerApiError } from './errors.js';
import { type AttachedStream, attachedStream, isMultiplexed, type OutputStream, outputStream } from './frames.js';
import type { HttpCore } from './http/core.js';
import type { CallOptions, Filters } from './options.js';
import { jsonLines } from './stream/json-lines.js';
import type { TransportResponseBody } from './transport/types.js';
import type {
  ContainerChange,
  ContainerCreateBody,
  ContainerCreateResponse,
  ContainerInspect,
  ContainerPruneResponse,
  ContainerStats,
  ContainerSummary,
  ContainerTopResponse,
  ContainerUpdateBody,
  ContainerUpdateResponse,
  ContainerWaitResponse,
} from './types.js';
import { checkContainerId, checkContainerPath, checkFilters, checkImageRef, checkWholeNumber } from './validate.js';

/** Options of {@link ContainersApi.create}. */
export interface ContainerCreateOptions extends CallOptions {
  /** Container name (`[a-zA-Z0-9][a-zA-Z0-9_.-]+`). Default: the engine picks one. */
  name?: string | undefined;
  /** Platform `os[/arch[/variant]]`, e.g. `linux/amd64`. */
  platform?: string | undefined;
}

/** Options of {@link ContainersApi.list}. */
export interface ContainerListOptions extends CallOptions {
  /** Include stopped containers. Default false (running only). */
  all?: boolean | undefined;
  limit?: number | undefined;
  /** Include sizes (slow). */
  size?: boolean | undefined;
  /** e.g. `{ label: ['berth.executor'], status: ['running'] }`. */
  filters?: Filters | undefined;
}

/** Options of {@link ContainersApi.stop} and {@link ContainersApi.restart}. */
export interface ContainerStopOptions extends CallOptions {
  /** Seconds to wait after the stop signal before SIGKILL. Default: the container's `StopTimeout` (10 s). 0 kills at once. */
  timeout?: number | undefined;
  /**
   * Signal to send instead of the container's stop signal. Needs Engine API 1.42 (Docker 23): on
   * an older engine the call is refused with `BERTH_ERR_UNSUPPORTED_ENGINE` (1.41 would ignore it).
   */
  stopSignal?: string | undefined;
}

/** Options of {@link ContainersApi.kill}. */
export interface ContainerKillOptions extends CallOptions {
  /** Signal name or number, e.g. `SIGKILL` (the default) or `SIGTERM`. */
  killSignal?: string | undefined;
}

/** Options of {@link ContainersApi.remove}. */
export interface ContainerRemoveOptions extends CallOptions {
  /** Kill a running container first. */
  force?: boolean | undefined;
  /** Remove its anonymous volumes too. */
  volumes?: boolean | undefined;
}

/** Options of {@link ContainersApi.wait}. */
export interface ContainerWaitOptions extends CallOptions {
  /** `not-running` (default), `next-exit` or `removed`. */
  condition?: 'not-running' | 'next-exit' | 'removed' | undefined;
}

/** Options of {@link ContainersApi.logs}. */
export interface ContainerLogsOptions extends CallOptions {
  /** Keep the stream open and deliver new output as it comes. Default false. */
  follow?: boolean | undefined;
  /** Default true. */
  stdout?: boolean | undefined;
  /** Default true. */
  stderr?: boolean | undefined;
  /** Unix seconds or a duration such as `10m`. */
  since?: string | number | undefined;
  until?: string | number | undefined;
  timestamps?: boolean | undefined;
  /** Number of lines from the end, or `all`. */
  tail?: number | 'all' | undefined;
  /** Whether the container has a TTY; looked up with inspect when not given (API 1.41 cannot tell otherwise). */
  tty?: boolean | undefined;
}

/** Options of {@link ContainersApi.attach}. */
export interface ContainerAttachOptions extends CallOptions {
  /** Attach stdin (the container must be created with `OpenStdin`). Default false. */
  stdin?: boolean | undefined;
  /** Default true. */
  stdout?: boolean | undefined;
  /** Default true. */
  stderr?: boolean | undefined;
  /** Replay the output so far before streaming. Default false. */
  logs?: boolean | undefined;
  /** Whether the container has a TTY; looked up with inspect when not given. */
  tty?: boolean | undefined;
}

export type { AttachedStream } from './frames.js';

/** Options of {@link ContainersApi.putArchive}. */
export interface ContainerPutArchiveOptions extends CallOptions {
  /** Fail if the archive would replace a directory with a non-directory or the reverse. */
  noOverwriteDirNonDir?: boolean | undefined;
  /** Give the files the container's uid/gid for their names (API 1.41 `copyUIDGID`). */
  copyUIDGID?: boolean | undefined;
}

/** Options of {@link ContainersApi.putFiles}. */
export interface ContainerPutFilesOptions extends ContainerPutArchiveOptions {
  /**
   * Create the target folder (and its missing parents, `0755`, owned by root) when it does not
   * exist. Default false: a missing folder is a `DockerApiError` (`notFound`, resource `path`)
   * that says so.
   */
  mkdirs?: boolean | undefined;
}

/** Options of {@link ContainersApi.readFile}. */
export interface ContainerReadFileOptions extends CallOptions {
  /** Largest file read, in bytes. Default 256 MiB. */
  maxBytes?: number | undefined;
}

/** The stat of a path in a container, from the engine's `X-Docker-Container-Path-Stat` header. */
export interface ContainerPathStat {
  /** The last component of the path. */
  name: string;
  /** Size in bytes (of the link itself for a symbolic link). */
  size: number;
  /** What the path is: `file`, `directory`, `symlink`, `characterDevice`, … */
  type: ContainerPathType;
  /** POSIX permission bits as `chmod` takes them (`0o7777`: setuid, setgid, sticky, rwx × 3), without the type. */
  mode: number;
  /** The engine's raw value: Go's `io/fs.FileMode` (2147484141 for a `0755` folder). */
  fileMode: number;
  /** Modification time, RFC 3339. */
  mtime: string;
  /** The target of a symbolic link; empty otherwise. */
  linkTarget: string;
}

/** The answer of {@link ContainersApi.getArchive}: the stat and a tar stream to consume or cancel. */
export interface ContainerArchive {
  stat: ContainerPathStat | undefined;
  body: TransportResponseBody;
}

/** Options of {@link ContainersApi.top}. */
export interface ContainerTopOptions extends CallOptions {
  /** Arguments of `ps` (dockerd runs it on its host; default `-ef`). Podman takes its own descriptors instead, e.g. `pid,args`. */
  psArgs?: string | undefined;
}

/** Options of {@link ContainersApi.commit}. */
export interface ContainerCommitOptions extends CallOptions {
  /** Repository of the new image, e.g. `sandbox/with-deps`. Default: an untagged image. */
  repo?: string | undefined;
  /** Tag of the new image (default `latest` when `repo` is given). */
  tag?: string | undefined;
  comment?: string | undefined;
  /** e.g. `Berth <agents@example.com>`. */
  author?: string | undefined;
  /** Pause the container while its filesystem is copied. Default true (the engine's default). */
  pause?: boolean | undefined;
  /** Dockerfile instructions applied to the image, e.g. `ENV MODE=ready`, `CMD ["python3"]`. */
  changes?: readonly string[] | undefined;
  /**
   * Container configuration for the new image (`Cmd`, `Env`, `Labels`, …), merged over the
   * container's. Podman 4.3 ignores it: `changes` works on both engines.
   */
  config?: Partial<ContainerCreateBody> | undefined;
}

/** One published port of a container, as {@link ContainersApi.port} reports it (`docker port`). */
export interface ContainerPortMapping {
  /** The port inside the container. */
  containerPort: number;
  protocol: 'tcp' | 'udp' | 'sctp';
  /** The host address it is published on, e.g. `0.0.0.0` or `::`. */
  hostIp: string;
  /** The port on the host. */
  hostPort: number;
}

/** Options of {@link ContainersApi.stats}. */
export interface ContainerStatsOptions extends CallOptions {
  /** One sample (default), or a stream of samples, one a second. */
  stream?: boolean | undefined;
  /** With one sample: answer at once instead of waiting a second for a previous sample (then `precpu_stats` is empty). */
  oneShot?: boolean | undefined;
}

/** Samples of {@link ContainersApi.stats} with `stream: true`: iterate them; `cancel()` (or the signal) ends the stream. */
export interface ContainerStatsStream extends AsyncIterable<ContainerStats> {
  /** Stops the stream and releases its connection. Safe to call more than once. */
  cancel(): Promise<void>;
}

/** Options of {@link ContainersApi.prune}. */
export interface ContainerPruneOptions extends CallOptions {
  /** `label`, `label!` and `until`, e.g. `{ label: ['berth.executor'] }`. On a shared engine always narrow it. */
  filters?: Filters | undefined;
}

/** Container endpoints. Every ID is checked before any I/O. */
export class ContainersApi {
  readonly #core: HttpCore;
  /** @internal */
  constructor(core: HttpCore) {
    this.#core = core;
  }

  /** `POST /containers/create`: creates a container from `body` (the Engine's container config, PascalCase). */
  async create(body: ContainerCreateBody, options: ContainerCreateOptions = {}): Promise<ContainerCreateResponse> {
    if (typeof body !== 'object' || body === null || typeof body.Image !== 'string' || body.Image === '') {
      throw new DockerArgumentError('body.Image', `containers.create needs an image name, got ${JSON.stringify(body?.Image)}`);
    }
    if (options.name !== undefined) checkContainerId(options.name, 'name');
    return this.#core.json('POST', '/containers/create', {
      signal: options.signal,
      json: body,
      query: { name: options.name, platform: options.platform },
    });
  }

  /** `GET /containers/{id}/json`: low-level information on a container. */
  async inspect(id: string, options: CallOptions & { size?: boolean } = {}): Promise<ContainerInspect> {
    checkContainerId(id);
    return this.#core.json('GET', `/containers/${encodeURIComponent(id)}/json`, { signal: options.signal, query: { size: options.size } });
  }

  /** `GET /containers/json`: lists containers (running only unless `all`). */
  async list(options: ContainerListOptions = {}): Promise<ContainerSummary[]> {
    checkWholeNumber(options.limit, 'limit');
    return this.#core.json('GET', '/containers/json', {
      signal: options.signal,
      query: { all: options.all, limit: options.limit, size: options.size, filters: options.filters },
    });
  }

  /** `POST /containers/{id}/start`. Starting a running container is not an error (304). */
  async start(id: string, options: CallOptions = {}): Promise<void> {
    checkContainerId(id);
    await this.#core.empty('POST', `/containers/${encodeURIComponent(id)}/start`, { signal: options.signal, okStatuses: [304] });
  }

  /** `POST /containers/{id}/stop`: stop signal, then SIGKILL after `timeout` seconds. Stopping a stopped container is not an error (304). */
  async stop(id: string, options: ContainerStopOptions = {}): Promise<void> {
    checkContainerId(id);
    checkWholeNumber(options.timeout, 'timeout');
    if (options.stopSignal !== undefined) await this.#core.requireVersion('1.42', 'stopSignal', options.signal);
    await this.#core.empty('POST', `/containers/${encodeURIComponent(id)}/stop`, {
      signal: options.signal,
      okStatuses: [304],
      headersTimeout: 0,
      query: { t: options.timeout, signal: options.stopSignal },
    });
  }

  /** `POST /containers/{id}/restart`: stops (waiting up to `timeout` seconds) and starts again. */
  async restart(id: string, options: ContainerStopOptions = {}): Promise<void> {
    checkContainerId(id);
    checkWholeNumber(options.timeout, 'timeout');
    if (options.stopSignal !== undefined) await this.#core.requireVersion('1.42', 'stopSignal', options.signal);
    await this.#core.empty('POST', `/containers/${encodeURIComponent(id)}/restart`, {
      signal: options.signal,
      headersTimeout: 0,
      query: { t: options.timeout, signal: options.stopSignal },
    });
  }

  /**
   * `POST /containers/{id}/update`: changes the resource limits or restart policy of a container,
   * running or not. Fields left out of `body` stay as they are. dockerd refuses it (409) for a
   * container whose removal is under way; Podman 4 does not have this endpoint (404).
   */
  async update(id: string, body: ContainerUpdateBody, options: CallOptions = {}): Promise<ContainerUpdateResponse> {
    checkContainerId(id);
    if (typeof body !== 'object' || body === null || Array.isArray(body)) {
      throw new DockerArgumentError('body', `containers.update needs an object of the fields to change, got ${JSON.stringify(body)}`);
    }
    return this.#core.json('POST', `/containers/${encodeURIComponent(id)}/update`, { signal: options.signal, json: body });
  }

  /** `POST /containers/{id}/kill`: sends a signal (default SIGKILL). */
  async kill(id: string, options: ContainerKillOptions = {}): Promise<void> {
    checkContainerId(id);
    await this.#core.empty('POST', `/containers/${encodeURIComponent(id)}/kill`, {
      signal: options.signal,
      query: { signal: options.killSignal },
    });
  }

  /** `DELETE /containers/{id}`: removes a container (`force` kills it first). */
  async remove(id: string, options: ContainerRemoveOptions = {}): Promise<void> {
    checkContainerId(id);
    await this.#core.empty('DELETE', `/containers/${encodeURIComponent(id)}`, {
      signal: options.signal,
      query: { force: options.force, v: options.volumes },
    });
  }

  /** `POST /containers/{id}/wait`: resolves when the condition is met, with the exit code. Waits as long as it takes. */
  async wait(id: string, options: ContainerWaitOptions = {}): Promise<ContainerWaitResponse> {
    checkContainerId(id);
    return this.#core.json('POST', `/containers/${encodeURIComponent(id)}/wait`, {
      signal: options.signal,
      headersTimeout: 0,
      query: { condition: options.condition },
    });
  }

  /**
   * `GET /containers/{id}/logs`: resolves once the engine answers, to a stream of
   * `{ stream, data }` frames (demultiplexed unless the container has a TTY). With `follow` it ends
   * when the container stops, or when cancelled or aborted.
   */
  async logs(id: string, options: ContainerLogsOptions = {}): Promise<OutputStream> {
    checkContainerId(id);
    if (options.tail !== 'all') checkWholeNumber(options.tail, 'tail');
    const tty = options.tty ?? (await this.#tty(id, options.signal));
    const response = await this.#core.request('GET', `/containers/${encodeURIComponent(id)}/logs`, {
      signal: options.signal,
      headersTimeout: 0,
      query: {
        follow: options.follow,
        stdout: options.stdout ?? true,
        stderr: options.stderr ?? true,
        since: options.since?.toString(),
        until: options.until?.toString(),
        timestamps: options.timestamps,
        tail: options.tail?.toString(),
      },
    });
    // The signal went with the request: aborting it fails the body, so iteration rejects with its reason.
    return outputStream(response, await isMultiplexed(this.#core, response, tty));
  }

  /**
   * `POST /containers/{id}/attach` (hijacked): the container's output as frames and, with `stdin`,
   * a writable stdin with a real half-close (`end()`).
   */
  async attach(id: string, options: ContainerAttachOptions = {}): Promise<AttachedStream> {
    checkContainerId(id);
    const tty = options.tty ?? (await this.#tty(id, options.signal));
    const connection = await this.#core.hijack('POST', `/containers/${encodeURIComponent(id)}/attach`, {
      signal: options.signal,
      headersTimeout: 0,
      query: {
        stream: true,
        stdin: options.stdin ?? false,
        stdout: options.stdout ?? true,
        stderr: options.stderr ?? true,
        logs: options.logs ?? false,
      },
    });
    return attachedStream(connection, await isMultiplexed(this.#core, connection, tty));
  }

  /** `PUT /containers/{id}/archive`: extracts a tar archive into the folder `path` of the container. */
  async putArchive(
    id: string,
    path: string,
    tar: Uint8Array | AsyncIterable<Uint8Array>,
    options: ContainerPutArchiveOptions = {},
  ): Promise<void> {
    checkContainerId(id);
    checkContainerPath(path);
    await this.#core.empty('PUT', `/containers/${encodeURIComponent(id)}/archive`, {
      signal: options.signal,
      body: tar,
      contentType: 'application/x-tar',
      query: { path, noOverwriteDirNonDir: options.noOverwriteDirNonDir, copyUIDGID: options.copyUIDGID },
    });
  }

  /** `GET /containers/{id}/archive`: a tar archive of `path` (file or folder), as a stream to consume or cancel. */
  async getArchive(id: string, path: string, options: CallOptions = {}): Promise<ContainerArchive> {
    checkContainerId(id);
    checkContainerPath(path);
    const response = await this.#core.request('GET', `/containers/${encodeURIComponent(id)}/archive`, {
      signal: options.signal,
      query: { path },
    });
    let stat: ContainerPathStat | undefined;
    try {
      stat = decodeStat(response.headers['x-docker-container-path-stat']);
    } catch (error) {
      await response.body.cancel();
      throw error;
    }
    return { stat, body: response.body };
  }

  /**
   * `HEAD /containers/{id}/archive`: the stat of a path in a container (what it is, its size and
   * mode), without its contents.
   * @throws DockerApiError `notFound` (resource `path`) when the path does not exist.
   */
  async statPath(id: string, path: string, options: CallOptions = {}): Promise<ContainerPathStat> {
    checkContainerId(id);
    checkContainerPath(path);
    const response = await this.#core
      .request('HEAD', `/containers/${encodeURIComponent(id)}/archive`, { signal: options.signal, query: { path } })
      .catch(async (error: unknown) => {
        // A HEAD answer has no body, so no message says whether the path or the container is missing: ask.
        if (!isDockerApiError(error) || error.reason !== 'notFound' || error.daemonMessage) throw error;
        await this.inspect(id, { signal: options.signal });
        throw new DockerApiError({
          statusCode: error.statusCode,
          method: error.method,
          path: error.path,
          daemonMessage: '',
          resource: 'path',
          hint: `${path} does not exist in container ${id}`,
        });
      });
    await response.body.cancel();
    const stat = decodeStat(response.headers['x-docker-container-path-stat']);
    if (!stat) throw new DockerStreamError(`the engine answered HEAD archive of ${path} without a path stat`);
    return stat;
  }

  /**
   * Writes in-memory files into the folder `dir` of a container, in one tar upload. Folders named
   * in the files' paths are created; `dir` itself must exist unless `mkdirs` is set.
   * @throws DockerApiError `notFound` (resource `path`) when `dir` does not exist and `mkdirs` is not set.
   */
  async putFiles(id: string, dir: string, files: readonly ArchiveFile[], options: ContainerPutFilesOptions = {}): Promise<void> {
    checkContainerId(id);
    checkContainerPath(dir, 'dir');
    if (!Array.isArray(files)) throw new DockerArgumentError('files', `expected an array of { path, data }, got ${typeof files}`);
    const { mkdirs, ...putOptions } = options;
    try {
      await this.putArchive(id, dir, await packFiles(files), putOptions);
      return;
    } catch (error) {
      if (!isMissingPath(error)) throw error;
      if (!mkdirs) {
        throw new DockerApiError({
          statusCode: error.statusCode,
          method: error.method,
          path: error.path,
          daemonMessage: error.daemonMessage,
          cause: error,
          hint: `the folder ${dir} does not exist in container ${id}: create it first, or pass { mkdirs: true }`,
        });
      }
    }
    // mkdirs: extract at the nearest folder that exists, the missing ones as the files' parents.
    // The engine creates those (0755) and touches nothing that exists; and the upload stays on
    // the folder's own mount (a volume of a read-only container is writable, its `/` is not).
    const parts = dir.split('/').filter((part) => part !== '');
    for (let depth = parts.length - 1; depth >= 0; depth--) {
      const base = `/${parts.slice(0, depth).join('/')}`;
      const exists = await this.statPath(id, base, { signal: options.signal }).then(
        () => true,
        (error: unknown) => {
          if (isMissingPath(error)) return false;
          throw error;
        },
      );
      if (!exists) continue;
      const prefix = parts.slice(depth).join('/');
      const moved = files.map((file) => ({ ...file, path: `${prefix}/${String(file.path).replace(/^\/+/, '')}` }));
      await this.putArchive(id, base, await packFiles(moved), putOptions);
      return;
    }
  }

  /**
   * Reads one regular file back from a container. The path's stat (sent before the contents)
   * decides: only a regular file is read, and only its own entry of the archive.
   * @throws DockerApiError `notFound` (resource `path`) when the path does not exist;
   * DockerNotAFileError when it is a folder, a symbolic link, a device, …; DockerError when it
   * exceeds `maxBytes` (default 256 MiB).
   */
  async readFile(id: string, path: string, options: ContainerReadFileOptions = {}): Promise<Uint8Array> {
    const maxBytes = options.maxBytes ?? 256 * 1024 * 1024;
    if (typeof maxBytes !== 'number' || !(maxBytes >= 0)) {
      throw new DockerArgumentError('maxBytes', `expected a number of bytes >= 0, got ${String(options.maxBytes)}`);
    }
    const archive = await this.getArchive(id, path, options);
    try {
      const stat = archive.stat;
      if (stat && stat.type !== 'file') {
        throw new DockerNotAFileError({ containerId: id, path, pathType: stat.type, linkTarget: stat.linkTarget });
      }
      if (stat && stat.size > maxBytes)
        throw new DockerError(`${path} in container ${id} is ${stat.size} bytes, which exceeds maxBytes (${maxBytes})`);
      const name = path.replace(/\/+$/, '').split('/').pop() ?? '';
      const entry = await readFirstEntry(archive.body, name, maxBytes);
      if (entry.type !== 'file')
        throw new DockerNotAFileError({ containerId: id, path, pathType: entry.type, linkTarget: entry.linkTarget });
      return entry.data;
    } finally {
      await archive.body.cancel();
    }
  }

  /** `POST /containers/{id}/pause`: freezes every process of the container (cgroup freezer): no CPU is used until {@link ContainersApi.unpause}. */
  async pause(id: string, options: CallOptions = {}): Promise<void> {
    checkContainerId(id);
    await this.#core.empty('POST', `/containers/${encodeURIComponent(id)}/pause`, { signal: options.signal });
  }

  /** `POST /containers/{id}/unpause`: thaws a paused container; its processes go on where they were. */
  async unpause(id: string, options: CallOptions = {}): Promise<void> {
    checkContainerId(id);
    await this.#core.empty('POST', `/containers/${encodeURIComponent(id)}/unpause`, { signal: options.signal });
  }

  /** `POST /containers/{id}/resize`: sets the TTY size of a container created with `Tty` (rows `h`, columns `w`). */
  async resize(id: string, options: CallOptions & { h: number; w: number }): Promise<void> {
    checkContainerId(id);
    for (const key of ['h', 'w'] as const) {
      const value = options?.[key];
      if (!Number.isInteger(value) || value < 1 || value > 65535) {
        throw new DockerArgumentError(
          key,
          `expected a whole number of ${key === 'h' ? 'rows' : 'columns'} from 1 to 65535, got ${JSON.stringify(value)}`,
        );
      }
    }
    await this.#core.empty('POST', `/containers/${encodeURIComponent(id)}/resize`, {
      signal: options.signal,
      query: { h: options.h, w: options.w },
    });
  }

  /**
   * `GET /containers/{id}/top`: the processes running in a container, as a `ps` table. Podman's
   * answer of one string per line is split into the same columns.
   */
  async top(id: string, options: ContainerTopOptions = {}): Promise<ContainerTopResponse> {
    checkContainerId(id);
    if (options.psArgs !== undefined && typeof options.psArgs !== 'string') {
      throw new DockerArgumentError('psArgs', `expected a string such as "-ef", got ${JSON.stringify(options.psArgs)}`);
    }
    const answer = await this.#core.json<ContainerTopResponse>('GET', `/containers/${encodeURIComponent(id)}/top`, {
      signal: options.signal,
      query: { ps_args: options.psArgs },
    });
    return splitPsColumns({ Titles: answer.Titles ?? [], Processes: answer.Processes ?? [] });
  }

  /**
   * `GET /containers/{id}/changes`: the files added (`Kind` 1), modified (0) and deleted (2) in
   * the container's filesystem since it was created from its image (`[]` when none; volumes and
   * bind mounts are not counted).
   */
  async changes(id: string, options: CallOptions = {}): Promise<ContainerChange[]> {
    checkContainerId(id);
    const answer = await this.#core.json<ContainerChange[] | null>('GET', `/containers/${encodeURIComponent(id)}/changes`, {
      signal: options.signal,
    });
    return answer ?? [];
  }

  /**
   * `GET /containers/{id}/export`: the container's whole filesystem as a tar stream (volumes left
   * out), to iterate or cancel. Aborting the signal fails the iteration with its reason.
   */
  async export(id: string, options: CallOptions = {}): Promise<TransportResponseBody> {
    checkContainerId(id);
    const response = await this.#core.request('GET', `/containers/${encodeURIComponent(id)}/export`, {
      signal: options.signal,
      headersTimeout: 0,
    });
    return response.body;
  }

  /** `POST /containers/{id}/rename`: gives a container a new name. @throws DockerApiError `conflict` when the name is taken. */
  async rename(id: string, name: string, options: CallOptions = {}): Promise<void> {
    checkContainerId(id);
    checkContainerId(name, 'name');
    await this.#core.empty('POST', `/containers/${encodeURIComponent(id)}/rename`, { signal: options.signal, query: { name } });
  }

  /**
   * The published ports of a container (`docker port`), from its inspect: one entry per host
   * address a container port is bound to. With `privatePort` (`80` or `80/udp`; TCP by default)
   * only that port's. A port exposed but not published, or a stopped container, gives none.
   */
  async port(id: string, options: CallOptions & { privatePort?: number | string | undefined } = {}): Promise<ContainerPortMapping[]> {
    checkContainerId(id);
    let wanted: string | undefined;
    if (options.privatePort !== undefined) {
      const match = /^(\d{1,5})(?:\/(tcp|udp|sctp))?$/.exec(String(options.privatePort));
      if (!match || Number(match[1]) < 1 || Number(match[1]) > 65535) {
        throw new DockerArgumentError('privatePort', `expected a port such as 80 or "53/udp", got ${JSON.stringify(options.privatePort)}`);
      }
      wanted = `${Number(match[1])}/${match[2] ?? 'tcp'}`;
    }
    const info = await this.inspect(id, { signal: options.signal });
    const ports = (info.NetworkSettings?.Ports ?? {}) as Record<string, Array<{ HostIp?: string; HostPort?: string }> | null>;
    const mappings: ContainerPortMapping[] = [];
    for (const [key, bindings] of Object.entries(ports)) {
      if (wanted !== undefined && key !== wanted) continue;
      const [port = '', protocol = 'tcp'] = key.split('/');
      for (const binding of bindings ?? []) {
        mappings.push({
          containerPort: Number(port),
          protocol: protocol as ContainerPortMapping['protocol'],
          hostIp: binding.HostIp ?? '',
          hostPort: Number(binding.HostPort),
        });
      }
    }
    return mappings;
  }

  /**
   * `POST /commit`: makes an image of a container's filesystem and configuration (paused while it
   * is copied, unless `pause: false`). Resolves to the new image's ID.
   */
  async commit(id: string, options: ContainerCommitOptions = {}): Promise<{ Id: string }> {
    checkContainerId(id);
    if (options.repo !== undefined) checkImageRef(options.tag ? `${options.repo}:${options.tag}` : options.repo, 'repo');
    else if (options.tag !== undefined) throw new DockerArgumentError('tag', 'a tag needs a repo to go with it');
    const answer = await this.#core.json<{ Id: string }>('POST', '/commit', {
      signal: options.signal,
      json: options.config ?? {},
      query: {
        container: id,
        repo: options.repo,
        tag: options.tag,
        comment: options.comment,
        author: options.author,
        pause: options.pause,
        changes: options.changes?.length ? options.changes.join('\n') : undefined,
      },
    });
    // Podman 4.3 answers the bare hex; inspect and list say `sha256:…` on both engines.
    return { Id: /^[a-f0-9]{64}$/.test(answer.Id) ? `sha256:${answer.Id}` : answer.Id };
  }

  /**
   * `GET /containers/{id}/stats`: resource usage (CPU, memory, network, block I/O, pids). One
   * sample by default; with `stream: true` an async iterable of samples (one a second) that runs
   * until `cancel()` or the signal (aborting fails the iteration with the signal's reason).
   */
  async stats(id: string, options?: ContainerStatsOptions & { stream?: false | undefined }): Promise<ContainerStats>;
  async stats(id: string, options: ContainerStatsOptions & { stream: true }): Promise<ContainerStatsStream>;
  async stats(id: string, options: ContainerStatsOptions = {}): Promise<ContainerStats | ContainerStatsStream> {
    checkContainerId(id);
    const path = `/containers/${encodeURIComponent(id)}/stats`;
    if (!options.stream) {
      return this.#core.json<ContainerStats>('GET', path, {
        signal: options.signal,
        query: { stream: false, 'one-shot': options.oneShot },
      });
    }
    const response = await this.#core.request('GET', path, { signal: options.signal, headersTimeout: 0, query: { stream: true } });
    const samples = jsonLines<ContainerStats>(response.body);
    return {
      [Symbol.asyncIterator]: () => samples,
      async cancel() {
        await samples.return(undefined);
        await response.body.cancel();
      },
    };
  }

  /** `POST /containers/prune`: removes every stopped container that matches `filters`. */
  async prune(options: ContainerPruneOptions = {}): Promise<ContainerPruneResponse> {
    checkFilters(options.filters);
    const answer = await this.#core.json<Partial<ContainerPruneResponse> | undefined>('POST', '/containers/prune', {
      signal: options.signal,
      query: { filters: options.filters },
    });
    return { ContainersDeleted: answer?.ContainersDeleted ?? [], SpaceReclaimed: answer?.SpaceReclaimed ?? 0 };
  }

  async #tty(id: string, signal: AbortSignal | undefined): Promise<boolean> {
    const info = await this.inspect(id, { signal });
    return info.Config?.Tty === true;
  }
}

/** A `notFound` about a path (not the container): what the archive endpoints answer for a missing folder. */
function isMissingPath(error: unknown): error is DockerApiError {
  return isDockerApiError(error) && error.reason === 'notFound' && error.resource === 'path';
}

/**
 * Podman 4.3 runs the container's own `ps` when it cannot use its descriptors and answers each
 * line as one string (`Titles: ['PID   USER     COMMAND']`). Split such a table into columns, the
 * last one keeping its spaces (a command line), so that both engines answer the same shape.
 */
function splitPsColumns(top: ContainerTopResponse): ContainerTopResponse {
  const [header] = top.Titles;
  if (top.Titles.length !== 1 || header === undefined || !/\S\s+\S/.test(header.trim())) return top;
  if (!top.Processes.every((row) => row.length === 1)) return top;
  const titles = header.trim().split(/\s+/);
  const processes = top.Processes.map((row) => {
    const cells: string[] = [];
    let rest = (row[0] ?? '').trim();
    while (cells.length < titles.length - 1) {
      const match = /^(\S+)\s+/.exec(rest);
      if (!match?.[1]) break;
      cells.push(match[1]);
      rest = rest.slice(match[0].length);
    }
    cells.push(rest);
    return cells;
  });
  return { Titles: titles, Processes: processes };
}

function decodeStat(header: string | undefined): ContainerPathStat | undefined {
  if (!header) return undefined;
  let wire: { name?: unknown; size?: unknown; mode?: unknown; mtime?: unknown; linkTarget?: unknown };
  try {
    wire = JSON.parse(new TextDecoder().decode(Uint8Array.from(atob(header), (c) => c.charCodeAt(0))));
  } catch (cause) {
    throw new DockerStreamError('invalid X-Docker-Container-Path-Stat header', { cause });
  }
  const fileMode = typeof wire.mode === 'number' ? wire.mode : 0;
  const { type, mode } = fromGoFileMode(fileMode);
  return {
    name: String(wire.name ?? ''),
    size: typeof wire.size === 'number' ? wire.size : 0,
    type,
    mode,
    fileMode,
    mtime: String(wire.mtime ?? ''),
    // Podman 4 sends the resolved path of every path here; only a link has a target.
    linkTarget: type === 'symlink' ? String(wire.linkTarget ?? '') : '',
  };
}
