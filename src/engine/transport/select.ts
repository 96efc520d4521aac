import { createHash } from 'node:crypto';
import { readFileSync, statSync } from 'node:fs';
import { homedir } from 'node:os';
import { join } from 'node:path';
import { DockerArgumentError, DockerConnectionError } from '../errors.js';
import type { EngineEndpoint } from './auto.js';
import type { TlsMaterial } from './endpoint.js';
import { parseSshHost } from './ssh-endpoint.js';

/** TLS settings: PEM contents, or the path of a directory holding `ca.pem`, `cert.pem` and `key.pem`. */
export type TlsOption = string | { ca?: string | Uint8Array; cert?: string | Uint8Array; key?: string | Uint8Array; verify?: boolean };

/** What decides where the client connects. */
export interface EngineLocationOptions {
  /** `unix:///path/docker.sock`, `tcp://host:port` (`http://` and `https://` are accepted too) or `ssh://user@host`. */
  host?: string | undefined;
  /** A unix socket path; shorthand for `host: 'unix://' + socketPath`. */
  socketPath?: string | undefined;
  /** TLS for a `tcp://` host. */
  tls?: TlsOption | undefined;
  /** Environment to read `DOCKER_*` from. Default `process.env`. */
  env?: Record<string, string | undefined> | undefined;
}

/** A resolved engine location and how it was found. */
export interface ResolvedEngine {
  endpoint: EngineEndpoint;
  /** How it was found: `option`, `DOCKER_HOST`, `context <name>`, or `default socket`. */
  source: string;
  /** Every candidate looked at, in order, for error messages. */
  tried: string[];
  /**
   * When the engine was found among the usual sockets: the other sockets that exist, in order.
   * A socket file can outlive its engine (a stopped Docker leaves `/var/run/docker.sock`), so the
   * client asks each in turn, starting with `endpoint`, and uses the first that answers.
   */
  fallbacks?: { kind: 'unix'; socketPath: string }[];
}

const DEFAULT_SOCKET = '/var/run/docker.sock';

/**
 * Resolves the engine like the docker CLI: explicit options, then `DOCKER_HOST` (with
 * `DOCKER_TLS_VERIFY` and `DOCKER_CERT_PATH`), then `DOCKER_CONTEXT` or the current context of
 * `$DOCKER_CONFIG/config.json`, then the usual sockets (Docker, rootless, Docker Desktop, Podman).
 *
 * @throws DockerConnectionError when no candidate socket exists, listing every path tried.
 * @throws DockerArgumentError for a malformed host or context.
 */
export function resolveEngine(options: EngineLocationOptions = {}): ResolvedEngine {
  const env = options.env ?? (globalThis as { process?: { env: Record<string, string | undefined> } }).process?.env ?? {};
  if (options.socketPath) {
    return { endpoint: { kind: 'unix', socketPath: options.socketPath }, source: 'option', tried: [`unix://${options.socketPath}`] };
  }
  if (options.host) {
    const endpoint = parseHost(options.host, 'host', tlsFromOption(options.tls, 'tls'));
    return { endpoint, source: 'option', tried: [options.host] };
  }
  if (env.DOCKER_HOST) {
    const wantTls = Boolean(env.DOCKER_TLS_VERIFY) || Boolean(env.DOCKER_TLS) || options.tls !== undefined;
    let tls: TlsMaterial | undefined;
    if (options.tls !== undefined) tls = tlsFromOption(options.tls, 'tls');
    else if (wantTls) {
      const dir = env.DOCKER_CERT_PATH || join(homeOf(env), '.docker');
      tls = { ...readCertDir(dir, 'DOCKER_CERT_PATH'), verify: Boolean(env.DOCKER_TLS_VERIFY) };
    }
    return { endpoint: parseHost(env.DOCKER_HOST, 'DOCKER_HOST', tls), source: 'DOCKER_HOST', tried: [env.DOCKER_HOST] };
  }
  const configDir = env.DOCKER_CONFIG || join(homeOf(env), '.docker');
  const contextName = env.DOCKER_CONTEXT || currentContext(configDir);
  if (contextName && contextName !== 'default') {
    const fromContext = readContext(configDir, contextName);
    return { endpoint: fromContext, source: `context ${contextName}`, tried: [`context ${contextName}`] };
  }
  const candidates = defaultSockets(env);
  const existing = candidates.filter(isSocket);
  const [first, ...rest] = existing;
  if (first !== undefined) {
    return {
      endpoint: { kind: 'unix', socketPath: first },
      source: 'default socket',
      tried: candidates.map((p) => `unix://${p}`),
      ...(rest.length > 0 ? { fallbacks: rest.map((socketPath) => ({ kind: 'unix' as const, socketPath })) } : {}),
    };
  }
  throw new DockerConnectionError(
    `no Docker engine found: tried DOCKER_HOST (unset), the docker context (${contextName ?? 'default'}), and the sockets ${candidates.join(', ')}; ` +
      'start dockerd (or Docker Desktop, or Podman with `podman system service`), or set DOCKER_HOST, e.g. unix:///var/run/docker.sock or tcp://host:2376',
    { tried: candidates.map((p) => `unix://${p}`), osCode: 'ENOENT' },
  );
}

/** The sockets looked at when nothing else names an engine, in order. */
export function defaultSockets(env: Record<string, string | undefined>): string[] {
  const home = homeOf(env);
  const list = [DEFAULT_SOCKET];
  if (env.XDG_RUNTIME_DIR) list.push(join(env.XDG_RUNTIME_DIR, 'docker.sock'));
  list.push(join(home, '.docker', 'run', 'docker.sock'), join(home, '.docker', 'desktop', 'docker.sock'));
  if (env.XDG_RUNTIME_DIR) list.push(join(env.XDG_RUNTIME_DIR, 'podman', 'podman.sock'));
  list.push('/run/podman/podman.sock');
  return list;
}

function homeOf(env: Record<string, string | undefined>): string {
  return env.HOME || homedir();
}

function isSocket(path: string): boolean {
  try {
    return statSync(path).isSocket();
  } catch {
    return false;
  }
}

/** Parses `unix:///path`, `tcp://host:port`, `http://host:port`, `https://host:port` or `ssh://[user@]host[:port][/path]`. */
export function parseHost(host: string, argument: string, tls?: TlsMaterial): EngineEndpoint {
  if (host.startsWith('unix://')) {
    const socketPath = host.slice('unix://'.length);
    if (!socketPath.startsWith('/'))
      throw new DockerArgumentError(argument, `a unix socket path must be absolute, got ${JSON.stringify(host)}`);
    return { kind: 'unix', socketPath };
  }
  const match = /^(tcp|http|https):\/\/(\[[^\]]+\]|[^:/]+)(?::(\d+))?\/?$/.exec(host);
  if (match) {
    const scheme = match[1];
    const hostname = (match[2] ?? '').replace(/^\[|\]$/g, '');
    const useTls = scheme === 'https' || tls !== undefined;
    const port = match[3] ? Number(match[3]) : useTls ? 2376 : 2375;
    if (!(port >= 1 && port <= 65535)) throw new DockerArgumentError(argument, `port out of range (1-65535) in ${JSON.stringify(host)}`);
    return { kind: 'tcp', host: hostname, port, tls: useTls ? (tls ?? {}) : undefined };
  }
  if (host.startsWith('ssh://')) return parseSshHost(host, argument);
  if (host.startsWith('npipe://')) throw new DockerArgumentError(argument, 'Windows named pipes are not supported');
  throw new DockerArgumentError(argument, `expected unix:///path, tcp://host:port or ssh://[user@]host, got ${JSON.stringify(host)}`);
}

function tlsFromOption(tls: TlsOption | undefined, argument: string): TlsMaterial | undefined {
  if (tls === undefined) return undefined;
  if (typeof tls === 'string') return { ...readCertDir(tls, argument), verify: true };
  return { ca: tls.ca, cert: tls.cert, key: tls.key, verify: tls.verify ?? true };
}

function readCertDir(dir: string, argument: string): TlsMaterial {
  const read = (name: string): string | undefined => {
    try {
      return readFileSync(join(dir, name), 'utf8');
    } catch (error) {
      if ((error as { code?: string }).code === 'ENOENT') return undefined;
      throw new DockerArgumentError(argument, `cannot read ${join(dir, name)}: ${(error as Error).message}`);
    }
  };
  return { ca: read('ca.pem'), cert: read('cert.pem'), key: read('key.pem') };
}

function currentContext(configDir: string): string | undefined {
  try {
    const config = JSON.parse(readFileSync(join(configDir, 'config.json'), 'utf8')) as { currentContext?: unknown };
    return typeof config.currentContext === 'string' && config.currentContext ? config.currentContext : undefined;
  } catch {
    return undefined;
  }
}

function readContext(configDir: string, name: string): EngineEndpoint {
  const digest = createHash('sha256').update(name).digest('hex');
  const metaPath = join(configDir, 'contexts', 'meta', digest, 'meta.json');
  let meta: { Endpoints?: { docker?: { Host?: string; SkipTLSVerify?: boolean } } };
  try {
    meta = JSON.parse(readFileSync(metaPath, 'utf8'));
  } catch (error) {
    throw new DockerArgumentError(
      'DOCKER_CONTEXT',
      `docker context ${JSON.stringify(name)} not found or unreadable (${metaPath}): ${(error as Error).message}`,
    );
  }
  const host = meta.Endpoints?.docker?.Host;
  if (!host) throw new DockerArgumentError('DOCKER_CONTEXT', `docker context ${JSON.stringify(name)} has no docker endpoint (${metaPath})`);
  const tlsDir = join(configDir, 'contexts', 'tls', digest, 'docker');
  const material = readCertDir(tlsDir, 'DOCKER_CONTEXT');
  const hasTls = material.ca !== undefined || material.cert !== undefined;
  return parseHost(host, `context ${name}`, hasTls ? { ...material, verify: !meta.Endpoints?.docker?.SkipTLSVerify } : undefined);
}
