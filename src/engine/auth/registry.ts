/**
 * Registry credentials as the docker CLI resolves them, without I/O: which registry an image
 * reference names, the key it has in `config.json`, how an `auths` entry, a `credsStore` and a
 * `credHelpers` entry combine, and the `X-Registry-Auth` header. Reading the file and running
 * helpers is the node-side `docker-config.ts`.
 *
 * @module
 */

import { DockerCredentialsError } from '../errors.js';

/** Credentials for one registry, as `X-Registry-Auth` carries them. */
export interface RegistryCredentials {
  username?: string | undefined;
  password?: string | undefined;
  /** An identity (refresh) token, instead of a password (`docker login` with OAuth). */
  identityToken?: string | undefined;
  /** The registry: `localhost:5000`, `registry.example.com`; Docker Hub is `https://index.docker.io/v1/`. Default: the image's registry. */
  serverAddress?: string | undefined;
  email?: string | undefined;
}

/** The parts of `~/.docker/config.json` that hold credentials. */
export interface DockerConfigFile {
  /** Registry to `{ auth: base64("user:password"), username, password, identitytoken, email }`. */
  auths?: Record<string, { auth?: string; username?: string; password?: string; identitytoken?: string; email?: string }>;
  /** The default credential helper: `docker-credential-<credsStore>`. */
  credsStore?: string;
  /** Registry host to helper name, overriding `credsStore` for that host. */
  credHelpers?: Record<string, string>;
}

/** What a credential helper's `get` answers. */
export interface HelperCredentials {
  ServerURL?: string;
  Username: string;
  Secret: string;
}

/** Runs `docker-credential-<helper> get` for `serverAddress`; resolves `undefined` when it has none. */
export type CredentialHelperRunner = (helper: string, serverAddress: string) => Promise<HelperCredentials | undefined>;

/** The `config.json` key of Docker Hub, as `docker login` writes it. */
export const DOCKER_HUB_ADDRESS = 'https://index.docker.io/v1/';

const HUB_HOSTS = new Set(['docker.io', 'index.docker.io', 'registry-1.docker.io', 'registry.hub.docker.com']);

/**
 * The registry an image reference lives on, as the docker CLI reads it: the first component when
 * it has a `.` or a `:` or is `localhost`, else Docker Hub ({@link DOCKER_HUB_ADDRESS}).
 * `localhost:5000/app:1` → `localhost:5000`; `python:3` and `docker.io/library/python` → Hub.
 */
export function registryOf(ref: string): string {
  const slash = ref.indexOf('/');
  if (slash < 0) return DOCKER_HUB_ADDRESS;
  const first = ref.slice(0, slash);
  if (!/[.:]/.test(first) && first !== 'localhost') return DOCKER_HUB_ADDRESS;
  return normaliseRegistry(first);
}

/** `https://host:port/v2/x` → `host:port`, as the CLI's `ConvertToHostname`. */
export function hostnameOf(address: string): string {
  const bare = address.replace(/^https?:\/\//, '');
  const slash = bare.indexOf('/');
  return (slash >= 0 ? bare.slice(0, slash) : bare).toLowerCase();
}

/**
 * The canonical name of a registry: its `host[:port]`, or {@link DOCKER_HUB_ADDRESS} for any of
 * Docker Hub's names (`docker.io`, `index.docker.io`, `registry-1.docker.io`, with or without a
 * scheme and path).
 */
export function normaliseRegistry(address: string): string {
  const host = hostnameOf(address.trim());
  return HUB_HOSTS.has(host) ? DOCKER_HUB_ADDRESS : host;
}

/**
 * The `X-Registry-Auth` header value: base64url of the JSON the engine expects
 * (`username`, `password`, `serveraddress`, `identitytoken`, `email`). With no credentials,
 * the encoding of `{}` (what the docker CLI sends for an anonymous push).
 */
export function encodeRegistryAuth(credentials: RegistryCredentials | undefined): string {
  return base64Url(JSON.stringify(authBody(credentials)));
}

/** Credentials with the engine's field names (`serveraddress`, `identitytoken`, …). */
function authBody(credentials: RegistryCredentials | undefined): Record<string, string> {
  const body: Record<string, string> = {};
  if (credentials?.username !== undefined) body.username = credentials.username;
  if (credentials?.password !== undefined) body.password = credentials.password;
  if (credentials?.email !== undefined) body.email = credentials.email;
  if (credentials?.serverAddress !== undefined) body.serveraddress = credentials.serverAddress;
  if (credentials?.identityToken !== undefined) body.identitytoken = credentials.identityToken;
  return body;
}

/**
 * The `X-Registry-Config` header of a build: base64url JSON of registry → credentials (the
 * engine's field names), used when a `FROM` image is pulled.
 */
export function encodeRegistryConfig(all: Record<string, RegistryCredentials>): string {
  const body: Record<string, Record<string, string>> = {};
  for (const [registry, credentials] of Object.entries(all)) {
    body[registry] = authBody({ serverAddress: registry, ...credentials });
  }
  return base64Url(JSON.stringify(body));
}

function base64Url(text: string): string {
  let binary = '';
  for (const b of new TextEncoder().encode(text)) binary += String.fromCharCode(b);
  return btoa(binary).replace(/\+/g, '-').replace(/\//g, '_');
}

/** Decodes an `auths` entry's `auth` field (base64 of `user:password`). */
function decodeAuthField(auth: string, registry: string): { username: string; password: string } {
  let text: string;
  try {
    text = new TextDecoder().decode(Uint8Array.from(atob(auth.trim()), (c) => c.charCodeAt(0)));
  } catch (cause) {
    throw new DockerCredentialsError(`config.json: the "auth" of ${registry} is not base64`, { registry, cause });
  }
  const colon = text.indexOf(':');
  if (colon < 0) throw new DockerCredentialsError(`config.json: the "auth" of ${registry} is not base64 of "user:password"`, { registry });
  return { username: text.slice(0, colon), password: text.slice(colon + 1) };
}

/** The `auths` entry for a registry: by its exact key first, then any key with the same host name (as the CLI's file store). */
function authsEntry(config: DockerConfigFile, registry: string): [string, NonNullable<DockerConfigFile['auths']>[string]] | undefined {
  const auths = config.auths ?? {};
  const exact = auths[registry];
  if (exact) return [registry, exact];
  const host = registry === DOCKER_HUB_ADDRESS ? undefined : registry;
  for (const [key, value] of Object.entries(auths)) {
    if (normaliseRegistry(key) === (host ?? DOCKER_HUB_ADDRESS)) return [key, value];
  }
  return undefined;
}

/**
 * The credentials `config.json` gives for `registry` (a value of {@link registryOf}): a
 * `credHelpers` entry for its host, else `credsStore`, else the `auths` entry (its `auth` field
 * decoded). A helper's `<token>` user name means its secret is an identity token. A helper that
 * has nothing for the registry gives `undefined`, as the CLI then goes on without credentials.
 * @throws {DockerCredentialsError} for a malformed `auth` field, or what the helper runner throws.
 */
export async function resolveCredentials(
  config: DockerConfigFile,
  registry: string,
  runHelper: CredentialHelperRunner,
): Promise<RegistryCredentials | undefined> {
  const host = hostnameOf(registry);
  const helper = config.credHelpers?.[host] ?? config.credHelpers?.[registry] ?? (config.credsStore || undefined);
  const entry = authsEntry(config, registry);
  if (helper) {
    const answer = await runHelper(helper, registry);
    if (!answer) return undefined;
    const base: RegistryCredentials = { serverAddress: registry };
    if (entry?.[1].email) base.email = entry[1].email;
    if (answer.Username === '<token>') return { ...base, identityToken: answer.Secret };
    return { ...base, username: answer.Username, password: answer.Secret };
  }
  if (!entry) return undefined;
  const [key, value] = entry;
  const credentials: RegistryCredentials = { serverAddress: registry };
  if (value.auth) Object.assign(credentials, decodeAuthField(value.auth, key));
  if (value.username !== undefined) credentials.username = value.username;
  if (value.password !== undefined) credentials.password = value.password;
  if (value.identitytoken) credentials.identityToken = value.identitytoken;
  if (value.email) credentials.email = value.email;
  if (credentials.username === undefined && credentials.identityToken === undefined) return undefined;
  return credentials;
}
