/**
 * Node-side half of registry credentials: reads `config.json` from `DOCKER_CONFIG` or
 * `~/.docker`, and runs credential helpers (`docker-credential-<name> get`, the server address
 * on stdin, JSON on stdout). Loaded by `images.pull` and `images.push` only when they look up
 * credentials; Bun and Deno run it through their `node:` compatibility.
 *
 * @module
 */

import { spawn } from 'node:child_process';
import { readFile } from 'node:fs/promises';
import { homedir } from 'node:os';
import { join } from 'node:path';
import { DockerCredentialsError } from '../errors.js';
import {
  type DockerConfigFile,
  type HelperCredentials,
  normaliseRegistry,
  type RegistryCredentials,
  resolveCredentials,
} from './registry.js';

/** How long a credential helper may take before it is stopped, in milliseconds. */
const HELPER_TIMEOUT_MS = 30_000;

/** The folder of `config.json`: `DOCKER_CONFIG`, else `~/.docker`. */
export function dockerConfigDir(env: Record<string, string | undefined>): string {
  return env.DOCKER_CONFIG || join(env.HOME || homedir(), '.docker');
}

/**
 * Reads `config.json` of `dir`; a missing file is an empty configuration (as for the CLI).
 * @throws {DockerCredentialsError} when the file is not valid JSON.
 */
export async function loadDockerConfig(dir: string, registry: string): Promise<DockerConfigFile> {
  const file = join(dir, 'config.json');
  let text: string;
  try {
    text = await readFile(file, 'utf8');
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === 'ENOENT') return {};
    throw new DockerCredentialsError(`cannot read ${file}: ${(error as Error).message}`, { registry, cause: error });
  }
  try {
    const parsed = JSON.parse(text) as unknown;
    if (typeof parsed !== 'object' || parsed === null || Array.isArray(parsed)) throw new Error('not a JSON object');
    return parsed as DockerConfigFile;
  } catch (cause) {
    throw new DockerCredentialsError(`${file} is not valid JSON: ${(cause as Error).message}`, { registry, cause });
  }
}

/**
 * Runs `docker-credential-<helper> <action>` with `input` on stdin; resolves its stdout, or
 * `undefined` when it says `credentials not found`.
 */
function runHelper(
  helper: string,
  action: 'get' | 'list',
  input: string,
  fail: (message: string, cause?: unknown) => DockerCredentialsError,
  env: Record<string, string | undefined>,
  signal: AbortSignal | undefined,
): Promise<string | undefined> {
  if (!/^[A-Za-z0-9][A-Za-z0-9._-]*$/.test(helper)) return Promise.reject(fail('not a valid helper name'));
  return new Promise((resolve, reject) => {
    const child = spawn(`docker-credential-${helper}`, [action], {
      env: env as NodeJS.ProcessEnv,
      stdio: ['pipe', 'pipe', 'pipe'],
      timeout: HELPER_TIMEOUT_MS,
      ...(signal ? { signal } : {}),
    });
    const out: Buffer[] = [];
    const err: Buffer[] = [];
    child.stdout.on('data', (chunk: Buffer) => out.push(chunk));
    child.stderr.on('data', (chunk: Buffer) => err.push(chunk));
    child.stdin.on('error', () => {}); // a helper that exits without reading stdin
    child.on('error', (error: NodeJS.ErrnoException) => {
      if (signal?.aborted) reject(signal.reason);
      else if (error.code === 'ENOENT') reject(fail(`not found on PATH (install it, or remove it from config.json)`, error));
      else reject(fail(error.message, error));
    });
    child.on('close', (code, killed) => {
      if (signal?.aborted) return reject(signal.reason);
      const stdout = Buffer.concat(out).toString('utf8').trim();
      const stderr = Buffer.concat(err).toString('utf8').trim();
      if (killed) return reject(fail(`stopped after ${HELPER_TIMEOUT_MS} ms (${killed})`));
      if (code === 0) return resolve(stdout);
      // The helper protocol says "credentials not found in native keychain" on stdout.
      if (/credentials not found/i.test(stdout) || /credentials not found/i.test(stderr)) return resolve(undefined);
      reject(fail(`exited with code ${code}: ${stdout || stderr || '(no output)'}`));
    });
    child.stdin.end(input);
  });
}

function helperFailure(helper: string, registry: string) {
  const program = `docker-credential-${helper}`;
  return (message: string, cause?: unknown) =>
    new DockerCredentialsError(`credential helper ${program}: ${message}`, { registry, helper: program, cause });
}

/**
 * Runs `docker-credential-<helper> get` with `serverAddress` on stdin. Resolves `undefined`
 * when the helper says it has no credentials for it (`credentials not found`), as the CLI then
 * continues without.
 * @throws {DockerCredentialsError} naming the helper when it is not on PATH, fails, times out
 *   or prints something other than `{"Username","Secret"}` JSON.
 */
export async function runCredentialHelper(
  helper: string,
  serverAddress: string,
  env: Record<string, string | undefined>,
  signal?: AbortSignal,
): Promise<HelperCredentials | undefined> {
  const fail = helperFailure(helper, serverAddress);
  const stdout = await runHelper(helper, 'get', serverAddress, fail, env, signal);
  if (stdout === undefined) return undefined;
  try {
    const answer = JSON.parse(stdout) as Partial<HelperCredentials>;
    if (typeof answer.Username !== 'string' || typeof answer.Secret !== 'string') throw new Error('no Username and Secret strings');
    return answer as HelperCredentials;
  } catch (cause) {
    throw fail(`answered something other than {"Username","Secret"} JSON: ${stdout.slice(0, 200)}`, cause);
  }
}

/**
 * Runs `docker-credential-<helper> list`: the server addresses it holds credentials for.
 * @throws {DockerCredentialsError} as {@link runCredentialHelper}.
 */
export async function listCredentialHelper(
  helper: string,
  env: Record<string, string | undefined>,
  signal?: AbortSignal,
): Promise<string[]> {
  const fail = helperFailure(helper, '*');
  const stdout = await runHelper(helper, 'list', '', fail, env, signal);
  if (stdout === undefined || stdout === '') return [];
  try {
    const answer = JSON.parse(stdout) as unknown;
    if (typeof answer !== 'object' || answer === null || Array.isArray(answer)) throw new Error('not a JSON object');
    return Object.keys(answer);
  } catch (cause) {
    throw fail(`list answered something other than a JSON object: ${stdout.slice(0, 200)}`, cause);
  }
}

/**
 * The credentials the docker CLI would use for `registry` (see `resolveCredentials`), read from
 * `config.json` under `DOCKER_CONFIG` or `~/.docker` of `env`.
 */
export async function findCredentials(
  registry: string,
  env: Record<string, string | undefined>,
  signal?: AbortSignal,
): Promise<RegistryCredentials | undefined> {
  const config = await loadDockerConfig(dockerConfigDir(env), registry);
  return resolveCredentials(config, registry, (helper, server) => runCredentialHelper(helper, server, env, signal));
}

/**
 * Every registry's credentials, for a build's `X-Registry-Config` (base images from private
 * registries), as the docker CLI's `GetAllCredentials`: the registries of `auths` and
 * `credHelpers`, and those the `credsStore` helper lists. Like the CLI's build, a registry whose
 * credentials cannot be read is left out rather than failing a build that may not need it.
 */
export async function findAllCredentials(
  env: Record<string, string | undefined>,
  signal?: AbortSignal,
): Promise<Record<string, RegistryCredentials>> {
  const config = await loadDockerConfig(dockerConfigDir(env), '*').catch(() => ({}) as DockerConfigFile);
  const registries = new Set<string>();
  for (const key of Object.keys(config.auths ?? {})) registries.add(normaliseRegistry(key));
  for (const key of Object.keys(config.credHelpers ?? {})) registries.add(normaliseRegistry(key));
  if (config.credsStore) {
    for (const key of await listCredentialHelper(config.credsStore, env, signal).catch(() => [])) registries.add(normaliseRegistry(key));
  }
  const all: Record<string, RegistryCredentials> = {};
  for (const registry of registries) {
    signal?.throwIfAborted();
    const found = await resolveCredentials(config, registry, (helper, server) => runCredentialHelper(helper, server, env, signal)).catch(
      () => undefined,
    );
    if (found) all[registry] = found;
  }
  return all;
}
