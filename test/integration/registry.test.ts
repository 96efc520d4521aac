import { readFile, rm } from 'node:fs/promises';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { packFiles } from '../../src/engine/archive.js';
import {
  DockerBuildError,
  DockerClient,
  DockerCredentialsError,
  isDockerApiError,
  isDockerCredentialsError,
  isDockerStreamError,
  type ProgressMessage,
} from '../../src/engine/index.js';
import { removeImages, runImage, testRepo } from '../helpers/build.js';
import { BUSYBOX, testClient } from '../helpers/engine.js';
import { isPodman } from '../helpers/podman.js';
import {
  AUTH_REGISTRY,
  authField,
  dockerConfig,
  OPEN_REGISTRY,
  REGISTRY_PASSWORD,
  REGISTRY_USER,
  registryUp,
} from '../helpers/registry.js';

let docker: DockerClient;
let podman = false;
let image = '';
const refs: string[] = [];
const dirs: string[] = [];
const clients: DockerClient[] = [];
const MESSAGE = `hello from the registry round trip ${Math.random().toString(36).slice(2)}`;

beforeAll(async () => {
  docker = testClient();
  podman = await isPodman(docker);
  for (const registry of [OPEN_REGISTRY, AUTH_REGISTRY]) {
    if (!(await registryUp(registry))) throw new Error(`no registry at ${registry}: run bash scripts/registry-up.sh first`);
  }
  const context = await packFiles([
    { path: 'Dockerfile', data: `FROM ${BUSYBOX}\nRUN echo '${MESSAGE}' > /message\nCMD ["cat", "/message"]\n` },
  ]);
  image = `${testRepo('registry')}:1`;
  refs.push(image);
  await docker.images.build(context, { t: image }).done();
});

afterAll(async () => {
  await removeImages(docker, refs);
  await Promise.all(clients.map((c) => c.close()));
  await docker.close();
  await Promise.all(dirs.map((dir) => rm(dir, { recursive: true, force: true })));
});

/** Tags the test image as `registry/berth-test/<what>-<random>:1`; returns the new reference. */
async function tagFor(registry: string, what: string): Promise<string> {
  const repo = `${registry}/${testRepo(what)}`;
  await docker.images.tag(image, { repo, tag: '1' });
  refs.push(`${repo}:1`);
  return `${repo}:1`;
}

/** A client whose credential lookup reads a temp DOCKER_CONFIG with `config` and fake helpers. */
async function clientWith(config: unknown, helpers?: Parameters<typeof dockerConfig>[1]) {
  const made = await dockerConfig(config, helpers);
  dirs.push(made.dir);
  const client = new DockerClient({ env: made.env });
  clients.push(client);
  return { client, log: made.log };
}

async function helperLog(log: string): Promise<string> {
  return readFile(log, 'utf8').catch(() => '');
}

/** Pulls `ref` from a loopback registry (plain HTTP: `tlsVerify: false` for Podman). */
function pull(client: DockerClient, ref: string, options: Parameters<DockerClient['images']['pull']>[1] = {}): Promise<void> {
  return client.images.pull(ref, { tlsVerify: false, ...options });
}

// Podman talks TLS to any registry not listed as insecure in registries.conf, where dockerd
// treats loopback registries as insecure: every push and pull here passes `tlsVerify: false`
// (Podman's parameter, ignored by Docker), so the same cases run on both.

describe('registry round trip', () => {
  it('build, tag, push with credentials, remove, pull with config.json credentials, run', async () => {
    const ref = await tagFor(AUTH_REGISTRY, 'roundtrip');
    const progress: ProgressMessage[] = [];
    await docker.images.push(ref, {
      credentials: { username: REGISTRY_USER, password: REGISTRY_PASSWORD },
      tlsVerify: false,
      onProgress: (m) => progress.push(m),
    });
    expect(progress.some((m) => /digest: sha256:/.test(m.status ?? ''))).toBe(true);

    await docker.images.remove(ref);
    await expect(docker.images.inspect(ref)).rejects.toSatisfy((e) => isDockerApiError(e) && e.reason === 'notFound');

    // Pulled as a docker CLI user would: `docker login` left base64 `user:password` in config.json.
    const { client } = await clientWith({ auths: { [AUTH_REGISTRY]: { auth: authField(REGISTRY_USER, REGISTRY_PASSWORD) } } });
    await pull(client, ref);
    const run = await runImage(docker, ref);
    expect(run).toEqual({ exitCode: 0, output: `${MESSAGE}\n` });
  });

  it('pushes and pulls without credentials to a registry that asks for none', async () => {
    const ref = await tagFor(OPEN_REGISTRY, 'open');
    await docker.images.push(ref, { credentials: false, tlsVerify: false });
    await docker.images.remove(ref);
    await pull(docker, ref, { credentials: false });
    expect((await runImage(docker, ref)).output).toBe(`${MESSAGE}\n`);
  });

  it('a push the registry refuses (no credentials, wrong password) is a typed error with its message', async () => {
    const ref = await tagFor(AUTH_REGISTRY, 'refused');
    const none = await docker.images.push(ref, { credentials: false, tlsVerify: false }).catch((e: unknown) => e);
    expect(isDockerStreamError(none) || isDockerApiError(none)).toBe(true);
    expect((none as Error).message).toMatch(/push of .*refused.*(no basic auth credentials|unauthorized|authentication required)/s);

    const wrong = await docker.images
      .push(ref, { credentials: { username: REGISTRY_USER, password: 'wrong' }, tlsVerify: false })
      .catch((e: unknown) => e);
    expect(isDockerStreamError(wrong) || isDockerApiError(wrong)).toBe(true);
    expect((wrong as Error).message).toMatch(/unauthorized|authentication required|401/i);
  });
});

describe('builds FROM a private registry (X-Registry-Config)', () => {
  it('sends explicit or config.json credentials for the FROM pull; none means the registry refuses', async () => {
    const base = await tagFor(AUTH_REGISTRY, 'base');
    await docker.images.push(base, { credentials: { username: REGISTRY_USER, password: REGISTRY_PASSWORD }, tlsVerify: false });
    const context = await packFiles([{ path: 'Dockerfile', data: `FROM ${base}\nRUN cat /message > /copied\nCMD ["cat", "/copied"]\n` }]);
    const forget = () => docker.images.remove(base).catch(() => {});

    await forget();
    const refused = await docker.images
      .build(context, { credentials: false, tlsVerify: false })
      .done()
      .catch((e: unknown) => e);
    expect(refused).toBeInstanceOf(DockerBuildError);
    expect((refused as Error).message).toMatch(/no basic auth credentials|unauthorized|authentication required/);

    await forget();
    const explicit = `${testRepo('from-private')}:1`;
    refs.push(explicit);
    await docker.images
      .build(context, {
        t: explicit,
        tlsVerify: false,
        credentials: { [AUTH_REGISTRY]: { username: REGISTRY_USER, password: REGISTRY_PASSWORD } },
      })
      .done();
    expect((await runImage(docker, explicit)).output).toBe(`${MESSAGE}\n`);

    await forget();
    const { client, log } = await clientWith(
      { credsStore: 'berthlist' },
      {
        berthlist: {
          answer: JSON.stringify({ ServerURL: AUTH_REGISTRY, Username: REGISTRY_USER, Secret: REGISTRY_PASSWORD }),
          list: { [AUTH_REGISTRY]: REGISTRY_USER },
        },
      },
    );
    const fromConfig = `${testRepo('from-config')}:1`;
    refs.push(fromConfig);
    await client.images.build(context, { t: fromConfig, nocache: true, tlsVerify: false }).done();
    expect((await runImage(docker, fromConfig)).output).toBe(`${MESSAGE}\n`);
    expect(await helperLog(log)).toBe(`berthlist list \nberthlist get ${AUTH_REGISTRY}\n`);
  });
});

describe('credential helpers', () => {
  it('names the engine under test', () => {
    console.log(`registry suite on ${podman ? 'Podman' : 'Docker'}`);
    expect(typeof podman).toBe('boolean');
  });

  it('credsStore: runs docker-credential-<name> get with the server address on stdin', async () => {
    const answer = JSON.stringify({ ServerURL: AUTH_REGISTRY, Username: REGISTRY_USER, Secret: REGISTRY_PASSWORD });
    const { client, log } = await clientWith({ credsStore: 'berthfake' }, { berthfake: { answer } });
    const ref = await tagFor(AUTH_REGISTRY, 'store');
    await client.images.push(ref, { tlsVerify: false });
    expect(await helperLog(log)).toBe(`berthfake get ${AUTH_REGISTRY}\n`);
  });

  it('credHelpers for the host wins over credsStore', async () => {
    const good = JSON.stringify({ ServerURL: AUTH_REGISTRY, Username: REGISTRY_USER, Secret: REGISTRY_PASSWORD });
    const { client, log } = await clientWith(
      { credsStore: 'berthbroken', credHelpers: { [AUTH_REGISTRY]: 'berthhost' } },
      { berthbroken: { answer: 'broken', exit: 1 }, berthhost: { answer: good } },
    );
    const ref = await tagFor(AUTH_REGISTRY, 'helpers');
    await client.images.push(ref, { tlsVerify: false });
    await client.images.remove(ref);
    await pull(client, ref);
    // One lookup for the push, one for the pull.
    expect(await helperLog(log)).toBe(`berthhost get ${AUTH_REGISTRY}\nberthhost get ${AUTH_REGISTRY}\n`);
  });

  it('a helper missing from PATH is a DockerCredentialsError naming it, before any request', async () => {
    const { client } = await clientWith({ credHelpers: { [AUTH_REGISTRY]: 'berth-not-installed' } });
    const error = await client.images.pull(`${AUTH_REGISTRY}/berth-test/none:1`).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(DockerCredentialsError);
    const typed = error as DockerCredentialsError;
    expect(typed.helper).toBe('docker-credential-berth-not-installed');
    expect(typed.registry).toBe(AUTH_REGISTRY);
    expect(typed.message).toMatch(/docker-credential-berth-not-installed.*not found on PATH/);
  });

  it('a failing helper is a DockerCredentialsError with its output; "credentials not found" means none', async () => {
    const { client } = await clientWith({ credsStore: 'berthfail' }, { berthfail: { answer: 'keychain locked', exit: 1 } });
    const error = await client.images.push(`${AUTH_REGISTRY}/berth-test/none:1`).catch((e: unknown) => e);
    expect(isDockerCredentialsError(error)).toBe(true);
    expect((error as Error).message).toMatch(/docker-credential-berthfail: exited with code 1: keychain locked/);

    const notFound = await clientWith(
      { credsStore: 'berthnone' },
      { berthnone: { answer: 'credentials not found in native keychain', exit: 1 } },
    );
    const ref = await tagFor(AUTH_REGISTRY, 'notfound');
    const refused = await notFound.client.images.push(ref, { tlsVerify: false }).catch((e: unknown) => e);
    // No credentials were sent (as the CLI would): the registry refuses, not the helper.
    expect(isDockerCredentialsError(refused)).toBe(false);
    expect((refused as Error).message).toMatch(/no basic auth credentials|unauthorized|authentication required/);
  });

  it('explicit credentials win over config.json', async () => {
    const { client, log } = await clientWith({ credsStore: 'berthbroken2' }, { berthbroken2: { answer: 'broken', exit: 1 } });
    const ref = await tagFor(AUTH_REGISTRY, 'explicit');
    await client.images.push(ref, { credentials: { username: REGISTRY_USER, password: REGISTRY_PASSWORD }, tlsVerify: false });
    expect(await helperLog(log)).toBe('');
  });
});
