import type { HttpCore } from './http/core.js';
import type { CallOptions, Filters } from './options.js';
import { jsonLines } from './stream/json-lines.js';
import type { EventMessage, SystemDiskUsage, SystemInfo, SystemVersion } from './types.js';

/** The answer of {@link SystemApi.ping}. */
export interface PingResult {
  /** The newest API version the engine speaks (its `API-Version` header). */
  apiVersion: string | undefined;
  /** `linux` or `windows` (`OSType` header). */
  osType: string | undefined;
  /** The `Docker-Experimental` header. */
  experimental: boolean;
  /** The `Builder-Version` header. */
  builderVersion: string | undefined;
}

/** Options of {@link SystemApi.events}. */
export interface SystemEventsOptions extends CallOptions {
  /** Unix seconds, or a duration relative to now such as `10m`. */
  since?: string | number | undefined;
  until?: string | number | undefined;
  /** e.g. `{ type: ['container'], label: ['berth.test=1'] }`. */
  filters?: Filters | undefined;
}

/** A stream of engine events: iterate it; `cancel()` (or the signal) ends it. */
export interface EventStream extends AsyncIterable<EventMessage> {
  cancel(): Promise<void>;
}

/** System endpoints: ping, version, info and events. */
export class SystemApi {
  readonly #core: HttpCore;
  /** @internal */
  constructor(core: HttpCore) {
    this.#core = core;
  }

  /** `GET /_ping`: checks that the engine answers and reads its headers. */
  async ping(options: CallOptions = {}): Promise<PingResult> {
    const response = await this.#core.request('GET', '/_ping', { signal: options.signal, unversioned: true });
    await response.body.cancel();
    return {
      apiVersion: response.headers['api-version'],
      osType: response.headers.ostype,
      experimental: response.headers['docker-experimental'] === 'true',
      builderVersion: response.headers['builder-version'],
    };
  }

  /** `GET /version`: engine and component versions. */
  version(options: CallOptions = {}): Promise<SystemVersion> {
    return this.#core.json<SystemVersion>('GET', '/version', { signal: options.signal });
  }

  /** `GET /info`: system-wide information. */
  info(options: CallOptions = {}): Promise<SystemInfo> {
    return this.#core.json<SystemInfo>('GET', '/info', { signal: options.signal });
  }

  /** `GET /system/df`: disk usage by images, containers, volumes and the build cache (can take a while on a big host). */
  df(options: CallOptions = {}): Promise<SystemDiskUsage> {
    return this.#core.json<SystemDiskUsage>('GET', '/system/df', { signal: options.signal, headersTimeout: 0 });
  }

  /**
   * `GET /events`: resolves once the engine has answered, to an async iterable of decoded events.
   * Without `until` the stream runs until cancelled or aborted.
   */
  async events(options: SystemEventsOptions = {}): Promise<EventStream> {
    const response = await this.#core.request('GET', '/events', {
      signal: options.signal,
      headersTimeout: 0,
      query: { since: options.since?.toString(), until: options.until?.toString(), filters: options.filters },
    });
    const events = jsonLines<EventMessage>(response.body);
    return {
      [Symbol.asyncIterator]: () => events,
      async cancel() {
        // The body first: a generator's return() waits for a read in progress, which ends only then.
        await response.body.cancel();
        await events.return(undefined);
      },
    };
  }
}
