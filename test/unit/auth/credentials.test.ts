import { rm } from 'node:fs/promises';
import { afterAll, describe, expect, it } from 'vitest';
import { findAllCredentials, findCredentials, listCredentialHelper, runCredentialHelper } from '../../../src/engine/auth/docker-config.js';
import { encodeRegistryConfig, resolveCredentials } from '../../../src/engine/auth/registry.js';
import {
  DOCKER_HUB_ADDRESS,
  DockerCredentialsError,
  encodeRegistryAuth,
  normaliseRegistry,
  registryOf,
} from '../../../src/engine/index.js';
import { authField, dockerConfig } from '../../helpers/registry.js';

const dirs: string[] = [];
afterAll(async () => {
  await Promise.all(dirs.map((dir) => rm(dir, { recursive: true, force: true })));
});

async function config(contents: unknown, helpers?: Parameters<typeof dockerConfig>[1]) {
  const made = await dockerConfig(contents, helpers);
  dirs.push(made.dir);
  return made;
}

const noHelper = async () => {
  throw new Error('no helper expected');
};

describe('registry names', () => {
  it('finds the registry of a reference as the docker CLI does', () => {
    expect(registryOf('python:3')).toBe(DOCKER_HUB_ADDRESS);
    expect(registryOf('library/python')).toBe(DOCKER_HUB_ADDRESS);
    expect(registryOf('user/app:1')).toBe(DOCKER_HUB_ADDRESS);
    expect(registryOf('docker.io/library/python')).toBe(DOCKER_HUB_ADDRESS);
    expect(registryOf('index.docker.io/user/app')).toBe(DOCKER_HUB_ADDRESS);
    expect(registryOf('localhost/app')).toBe('localhost');
    expect(registryOf('localhost:5000/app:1')).toBe('localhost:5000');
    expect(registryOf(`127.0.0.1:5511/team/app@sha256:${'a'.repeat(64)}`)).toBe('127.0.0.1:5511');
    expect(registryOf('Registry.Example.com/app')).toBe('registry.example.com');
  });

  it('normalises addresses: scheme, path, Docker Hub aliases', () => {
    expect(normaliseRegistry('https://index.docker.io/v1/')).toBe(DOCKER_HUB_ADDRESS);
    expect(normaliseRegistry('registry-1.docker.io')).toBe(DOCKER_HUB_ADDRESS);
    expect(normaliseRegistry('docker.io')).toBe(DOCKER_HUB_ADDRESS);
    expect(normaliseRegistry('http://localhost:5000/v2/')).toBe('localhost:5000');
    expect(normaliseRegistry('ghcr.io')).toBe('ghcr.io');
  });

  it('encodes X-Registry-Auth as base64url JSON with the engine field names', () => {
    const header = encodeRegistryAuth({ username: 'u', password: 'p?>~', serverAddress: 'h:1', identityToken: 't' });
    expect(header).not.toMatch(/[+/]/);
    const json = JSON.parse(Buffer.from(header.replace(/-/g, '+').replace(/_/g, '/'), 'base64').toString('utf8'));
    expect(json).toEqual({ username: 'u', password: 'p?>~', serveraddress: 'h:1', identitytoken: 't' });
    expect(encodeRegistryAuth(undefined)).toBe('e30=');
  });
});

describe('resolveCredentials (config.json rules)', () => {
  it('decodes auths.*.auth, found by exact key or by host name', async () => {
    const file = {
      auths: { 'https://localhost:5000/v2/': { auth: authField('me', 'pa:ss') }, [DOCKER_HUB_ADDRESS]: { auth: authField('hub', 'x') } },
    };
    expect(await resolveCredentials(file, 'localhost:5000', noHelper)).toEqual({
      serverAddress: 'localhost:5000',
      username: 'me',
      password: 'pa:ss',
    });
    expect(await resolveCredentials(file, DOCKER_HUB_ADDRESS, noHelper)).toMatchObject({ username: 'hub', password: 'x' });
    expect(await resolveCredentials(file, 'other:1', noHelper)).toBeUndefined();
    expect(await resolveCredentials({ auths: { 'docker.io': { auth: authField('a', 'b') } } }, DOCKER_HUB_ADDRESS, noHelper)).toMatchObject(
      { username: 'a' },
    );
  });

  it('reads identity tokens and refuses an auth field that is not base64 of user:password', async () => {
    expect(await resolveCredentials({ auths: { 'r.io': { identitytoken: 'tok' } } }, 'r.io', noHelper)).toEqual({
      serverAddress: 'r.io',
      identityToken: 'tok',
    });
    await expect(
      resolveCredentials({ auths: { 'r.io': { auth: Buffer.from('nocolon').toString('base64') } } }, 'r.io', noHelper),
    ).rejects.toThrow(DockerCredentialsError);
  });

  it('credHelpers for the host wins over credsStore, which wins over auths', async () => {
    const calls: string[] = [];
    const run = async (helper: string, server: string) => {
      calls.push(`${helper} ${server}`);
      return { Username: `${helper}-user`, Secret: 's' };
    };
    const file = {
      auths: { 'r.io': { auth: authField('file', 'f'), email: 'e@x' } },
      credsStore: 'store',
      credHelpers: { 'r.io': 'special' },
    };
    expect(await resolveCredentials(file, 'r.io', run)).toEqual({
      serverAddress: 'r.io',
      username: 'special-user',
      password: 's',
      email: 'e@x',
    });
    expect(await resolveCredentials(file, 'other.io', run)).toMatchObject({ username: 'store-user' });
    expect(calls).toEqual(['special r.io', 'store other.io']);
  });

  it('a helper answering <token> gives an identity token; a helper with nothing gives no credentials', async () => {
    expect(await resolveCredentials({ credsStore: 'x' }, 'r.io', async () => ({ Username: '<token>', Secret: 'refresh' }))).toEqual({
      serverAddress: 'r.io',
      identityToken: 'refresh',
    });
    expect(
      await resolveCredentials({ credsStore: 'x', auths: { 'r.io': { auth: authField('a', 'b') } } }, 'r.io', async () => undefined),
    ).toBeUndefined();
  });
});

describe('config.json and helpers on disk', () => {
  it('reads DOCKER_CONFIG/config.json; no file means no credentials', async () => {
    const { env } = await config({ auths: { 'r.io': { auth: authField('a', 'b') } } });
    expect(await findCredentials('r.io', env)).toMatchObject({ username: 'a', password: 'b' });
    expect(await findCredentials('r.io', { DOCKER_CONFIG: '/nonexistent/berth' })).toBeUndefined();
  });

  it('falls back to $HOME/.docker without DOCKER_CONFIG', async () => {
    const { dir, env } = await config({});
    const { mkdir, writeFile } = await import('node:fs/promises');
    await mkdir(`${dir}/.docker`);
    await writeFile(`${dir}/.docker/config.json`, JSON.stringify({ auths: { 'h.io': { auth: authField('home', 'h') } } }));
    expect(await findCredentials('h.io', { PATH: env.PATH, HOME: dir })).toMatchObject({ username: 'home' });
  });

  it('a config.json that is not JSON is a DockerCredentialsError naming the file', async () => {
    const { dir, env } = await config('{ not json');
    const error = await findCredentials('r.io', env).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(DockerCredentialsError);
    expect((error as Error).message).toContain(`${dir}/config.json`);
  });

  it('runs docker-credential-<name> get with the server on stdin and parses its JSON', async () => {
    const { env, log } = await config({ credsStore: 'fakeok' }, { fakeok: { answer: '{"ServerURL":"r.io","Username":"u","Secret":"s"}' } });
    expect(await findCredentials('r.io', env)).toEqual({ serverAddress: 'r.io', username: 'u', password: 's' });
    const { readFile } = await import('node:fs/promises');
    expect(await readFile(log, 'utf8')).toBe('fakeok get r.io\n');
  });

  it('a missing helper, a failing helper and a nonsense answer are DockerCredentialsErrors naming the helper', async () => {
    const { env } = await config({}, { failing: { answer: 'boom', exit: 2 }, garbage: { answer: 'not json' } });
    for (const [helper, pattern] of [
      ['absent', /docker-credential-absent: not found on PATH/],
      ['failing', /docker-credential-failing: exited with code 2: boom/],
      ['garbage', /docker-credential-garbage: answered something other than/],
    ] as const) {
      const error = await runCredentialHelper(helper, 'r.io', env).catch((e: unknown) => e);
      expect(error).toBeInstanceOf(DockerCredentialsError);
      expect((error as DockerCredentialsError).helper).toBe(`docker-credential-${helper}`);
      expect((error as Error).message).toMatch(pattern);
    }
    await expect(runCredentialHelper('../evil', 'r.io', env)).rejects.toThrow(/not a valid helper name/);
  });

  it('"credentials not found" from a helper means none, not an error', async () => {
    const { env } = await config({}, { empty: { answer: 'credentials not found in native keychain', exit: 1 } });
    expect(await runCredentialHelper('empty', 'r.io', env)).toBeUndefined();
  });
});

describe('every registry for a build (X-Registry-Config)', () => {
  it('collects auths, credHelpers and what the credsStore lists; unreadable ones are left out', async () => {
    const answer = (user: string) => JSON.stringify({ Username: user, Secret: 's' });
    const { env, log } = await config(
      {
        auths: { 'https://index.docker.io/v1/': { auth: authField('hub', 'h') } },
        credHelpers: { 'helped.io': 'hostly', 'gone.io': 'absent' },
        credsStore: 'lister',
      },
      { hostly: { answer: answer('helped') }, lister: { answer: answer('listed'), list: { 'https://listed.io/v2/': 'x' } } },
    );
    const all = await findAllCredentials(env);
    expect(Object.keys(all).sort()).toEqual([DOCKER_HUB_ADDRESS, 'helped.io', 'listed.io'].sort());
    expect(all['listed.io']).toMatchObject({ username: 'listed', password: 's' });
    // credsStore wins over an auths entry, as in the CLI: Docker Hub's credentials come from the store.
    expect(all[DOCKER_HUB_ADDRESS]).toMatchObject({ username: 'listed' });
    const { readFile } = await import('node:fs/promises');
    expect((await readFile(log, 'utf8')).split('\n').filter(Boolean).sort()).toEqual([
      'hostly get helped.io',
      'lister get https://index.docker.io/v1/',
      'lister get listed.io',
      'lister list ',
    ]);
  });

  it('encodes registry to credentials as base64url JSON with the engine field names', () => {
    const header = encodeRegistryConfig({ 'r.io': { username: 'u', password: 'p' } });
    const json = JSON.parse(Buffer.from(header.replace(/-/g, '+').replace(/_/g, '/'), 'base64').toString('utf8'));
    expect(json).toEqual({ 'r.io': { username: 'u', password: 'p', serveraddress: 'r.io' } });
  });

  it('list: a helper that is missing is a typed error; an empty answer is no registries', async () => {
    const { env } = await config({}, { quiet: { answer: '', list: {} } });
    expect(await listCredentialHelper('quiet', env)).toEqual([]);
    await expect(listCredentialHelper('absent', env)).rejects.toThrow(/docker-credential-absent: not found on PATH/);
  });
});
