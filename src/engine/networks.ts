import { DockerArgumentError } from './errors.js';
import type { HttpCore } from './http/core.js';
import type { CallOptions, Filters } from './options.js';
import { checkContainerId, checkFilters, checkNetworkId } from './validate.js';

/** IP address management of a network: the driver and its address pools. */
export interface NetworkIpam {
  /** Default `default`. */
  Driver?: string;
  /** Subnets, e.g. `[{ Subnet: '172.28.0.0/16', Gateway: '172.28.0.1' }]`. */
  Config?: Array<{ Subnet?: string; IPRange?: string; Gateway?: string; AuxiliaryAddresses?: Record<string, string> }> | null;
  Options?: Record<string, string> | null;
}

/** The body of `POST /networks/create`. */
export interface NetworkCreateBody {
  /** The network's name (unique on the engine). */
  Name: string;
  /** `bridge` (default), `overlay`, `macvlan`, … */
  Driver?: string;
  /** No route out: containers on it reach each other only, not the host's other networks nor the internet. */
  Internal?: boolean;
  /** Swarm overlay networks: let standalone containers attach. */
  Attachable?: boolean;
  EnableIPv6?: boolean;
  IPAM?: NetworkIpam;
  /** Driver options, e.g. `{ 'com.docker.network.bridge.name': 'br-agents' }`. */
  Options?: Record<string, string>;
  Labels?: Record<string, string>;
  /** Refuse a second network of the same name (API < 1.44; newer engines always refuse). */
  CheckDuplicate?: boolean;
  [key: string]: unknown;
}

/** The answer of `POST /networks/create`. */
export interface NetworkCreateResponse {
  Id: string;
  /** Podman leaves it out. */
  Warning?: string;
}

/** How a container is attached to a network (`EndpointConfig` of connect, `EndpointsConfig` of create). */
export interface NetworkEndpointSettings {
  /** Other names the container answers to on this network. */
  Aliases?: string[];
  IPAMConfig?: { IPv4Address?: string; IPv6Address?: string; LinkLocalIPs?: string[] } | null;
  Links?: string[];
  MacAddress?: string;
  DriverOpts?: Record<string, string> | null;
  [key: string]: unknown;
}

/** A network as `GET /networks/{id}` and `GET /networks` describe it. */
export interface NetworkInspect {
  Name: string;
  Id: string;
  Created: string;
  /** `local`, `global` or `swarm`. */
  Scope: string;
  Driver: string;
  EnableIPv6: boolean;
  IPAM: NetworkIpam;
  Internal: boolean;
  Attachable: boolean;
  Ingress: boolean;
  /** The attached containers by ID (inspect only; the list leaves it empty). */
  Containers?: Record<string, { Name: string; EndpointID: string; MacAddress: string; IPv4Address: string; IPv6Address: string }>;
  Options: Record<string, string> | null;
  Labels: Record<string, string> | null;
  [key: string]: unknown;
}

/** The answer of `POST /networks/prune`. */
export interface NetworkPruneResponse {
  /** Names of the removed networks (null when none on some engines; {@link NetworksApi.prune} gives `[]`). */
  NetworksDeleted: string[];
}

/** Options of {@link NetworksApi.inspect}. */
export interface NetworkInspectOptions extends CallOptions {
  /** Swarm: detailed information on the services of the network. */
  verbose?: boolean | undefined;
  /** `local`, `global` or `swarm`: look the network up in that scope only. */
  scope?: string | undefined;
}

/** Options of {@link NetworksApi.list} and {@link NetworksApi.prune}. */
export interface NetworkListOptions extends CallOptions {
  /** e.g. `{ label: ['team=agents'] }`, `{ driver: ['bridge'] }`, `{ name: ['sandbox'] }`; prune takes `label`, `label!` and `until`. */
  filters?: Filters | undefined;
}

/** Options of {@link NetworksApi.connect}. */
export interface NetworkConnectOptions extends CallOptions {
  /** Aliases, a fixed address, … of the container on this network. */
  endpointConfig?: NetworkEndpointSettings | undefined;
}

/** Options of {@link NetworksApi.disconnect}. */
export interface NetworkDisconnectOptions extends CallOptions {
  /** Disconnect even when the container is not running (or the endpoint is stale). */
  force?: boolean | undefined;
}

/**
 * Network endpoints: create an isolated network (`Internal: true` has no route out), attach
 * containers to it, remove it. Every ID is checked before any I/O.
 */
export class NetworksApi {
  readonly #core: HttpCore;
  /** @internal */
  constructor(core: HttpCore) {
    this.#core = core;
  }

  /**
   * `POST /networks/create`: creates a network; resolves to its ID.
   * @throws DockerApiError `conflict` when a network of that name exists (dockerd), `invalidArgument` for a bad IPAM config or driver.
   */
  async create(body: NetworkCreateBody, options: CallOptions = {}): Promise<NetworkCreateResponse> {
    if (typeof body !== 'object' || body === null || typeof body.Name !== 'string') {
      throw new DockerArgumentError('body.Name', `networks.create needs a network name, got ${JSON.stringify(body?.Name)}`);
    }
    checkNetworkId(body.Name, 'body.Name');
    return this.#core.json('POST', '/networks/create', { signal: options.signal, json: body });
  }

  /** `GET /networks/{id}`: the network, with the containers attached to it. */
  async inspect(id: string, options: NetworkInspectOptions = {}): Promise<NetworkInspect> {
    checkNetworkId(id);
    return this.#core.json('GET', `/networks/${encodeURIComponent(id)}`, {
      signal: options.signal,
      query: { verbose: options.verbose, scope: options.scope },
    });
  }

  /** `GET /networks`: every network, or those that match `filters`. */
  async list(options: NetworkListOptions = {}): Promise<NetworkInspect[]> {
    checkFilters(options.filters);
    return this.#core.json('GET', '/networks', { signal: options.signal, query: { filters: options.filters } });
  }

  /** `POST /networks/{id}/connect`: attaches a container (running or not) to the network. */
  async connect(id: string, container: string, options: NetworkConnectOptions = {}): Promise<void> {
    checkNetworkId(id);
    checkContainerId(container, 'container');
    await this.#core.empty('POST', `/networks/${encodeURIComponent(id)}/connect`, {
      signal: options.signal,
      json: { Container: container, ...(options.endpointConfig ? { EndpointConfig: options.endpointConfig } : {}) },
    });
  }

  /** `POST /networks/{id}/disconnect`: detaches a container from the network. */
  async disconnect(id: string, container: string, options: NetworkDisconnectOptions = {}): Promise<void> {
    checkNetworkId(id);
    checkContainerId(container, 'container');
    await this.#core.empty('POST', `/networks/${encodeURIComponent(id)}/disconnect`, {
      signal: options.signal,
      json: { Container: container, Force: options.force ?? false },
    });
  }

  /**
   * `DELETE /networks/{id}`: removes a network.
   * @throws DockerApiError `notFound`, or `forbidden`/`conflict` while containers are attached (dockerd says 403, Podman 500).
   */
  async remove(id: string, options: CallOptions = {}): Promise<void> {
    checkNetworkId(id);
    await this.#core.empty('DELETE', `/networks/${encodeURIComponent(id)}`, { signal: options.signal });
  }

  /**
   * `POST /networks/prune`: removes the networks no container uses (the engine's own `bridge`,
   * `host` and `none` stay). On a shared engine pass `filters` (`label`, `label!`, `until`).
   */
  async prune(options: NetworkListOptions = {}): Promise<NetworkPruneResponse> {
    checkFilters(options.filters);
    const answer = await this.#core.json<Partial<NetworkPruneResponse> | undefined>('POST', '/networks/prune', {
      signal: options.signal,
      query: { filters: options.filters },
    });
    return { NetworksDeleted: answer?.NetworksDeleted ?? [] };
  }
}
