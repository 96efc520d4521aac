import { spawnSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import { mkdir, mkdtemp, rm, symlink, writeFile } from 'node:fs/promises';
import { createServer, type Server } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import { DockerClient } from '../../src/engine/client.js';
import { DockerArgumentError, DockerConnectionError } from '../../src/engine/errors.js';
import { defaultSockets, parseHost, resolveEngine } from '../../src/engine/transport/select.js';
import { jsonResponse, startFakeEngine } from '../helpers/fake-engine.js';

// This machine may run a real engine at the system paths; tests that need "nothing there" hide
// them from the socket probe (statSync) and nothing else.
const hidden = vi.hoisted(() => new Set<string>());
vi.mock('node:fs', async (importOriginal) => {
  const fs = await importOriginal<typeof import('node:fs')>();
  const statSync = ((path: string, ...rest: unknown[]) => {
    if (hidden.has(String(path))) throw Object.assign(new Error(`ENOENT: hidden by the test, stat '${path}'`), { code: 'ENOENT' });
    return (fs.statSync as (...args: unknown[]) => unknown)(path, ...rest);
  }) as typeof fs.statSync;
  return { ...fs, default: { ...fs, statSync }, statSync };
});

const SYSTEM_SOCKETS = ['/var/run/docker.sock', '/run/podman/podman.sock'];

let dir: string;
const servers: Server[] = [];

beforeEach(async () => {
  dir = await mkdtemp(join(tmpdir(), 'berth-select-'));
  hidden.clear();
});

afterEach(async () => {
  hidden.clear();
  await Promise.all(servers.splice(0).map((server) => new Promise<void>((resolve) => server.close(() => resolve()))));
  await rm(dir, { recursive: true, force: true });
});

/** An environment with nothing set except a HOME and DOCKER_CONFIG inside the temp dir. */
function cleanEnv(extra: Record<string, string> = {}): Record<string, string | undefined> {
  return { HOME: join(dir, 'home'), DOCKER_CONFIG: join(dir, 'config'), ...extra };
}

async function listen(path: string): Promise<void> {
  await mkdir(join(path, '..'), { recursive: true });
  const server = createServer();
  servers.push(server);
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(path, () => resolve());
  });
}

async function writeContext(configDir: string, name: string, docker: { Host?: string; SkipTLSVerify?: boolean }): Promise<string> {
  const digest = createHash('sha256').update(name).digest('hex');
  const metaDir = join(configDir, 'contexts', 'meta', digest);
  await mkdir(metaDir, { recursive: true });
  await writeFile(join(metaDir, 'meta.json'), JSON.stringify({ Name: name, Metadata: {}, Endpoints: { docker } }));
  return digest;
}

async function writeCerts(certDir: string): Promise<void> {
  await mkdir(certDir, { recursive: true });
  await writeFile(join(certDir, 'ca.pem'), 'CA PEM');
  await writeFile(join(certDir, 'cert.pem'), 'CERT PEM');
  await writeFile(join(certDir, 'key.pem'), 'KEY PEM');
}

function thrown(fn: () => unknown): unknown {
  try {
    fn();
  } catch (error) {
    return error;
  }
  throw new Error('expected a throw');
}

describe('DOCKER_HOST', () => {
  it('resolves a unix:// DOCKER_HOST to that socket', () => {
    const resolved = resolveEngine({ env: cleanEnv({ DOCKER_HOST: 'unix:///run/user/1000/docker.sock' }) });
    expect(resolved).toEqual({
      endpoint: { kind: 'unix', socketPath: '/run/user/1000/docker.sock' },
      source: 'DOCKER_HOST',
      tried: ['unix:///run/user/1000/docker.sock'],
    });
  });

  it('resolves tcp:// without a port to 2375 and without TLS', () => {
    const { endpoint } = resolveEngine({ env: cleanEnv({ DOCKER_HOST: 'tcp://docker.example' }) });
    expect(endpoint).toEqual({ kind: 'tcp', host: 'docker.example', port: 2375, tls: undefined });
  });

  it('keeps an explicit tcp port', () => {
    const { endpoint } = resolveEngine({ env: cleanEnv({ DOCKER_HOST: 'tcp://10.0.0.5:12375' }) });
    expect(endpoint).toMatchObject({ kind: 'tcp', host: '10.0.0.5', port: 12375 });
  });

  it('defaults to 2376 with TLS when DOCKER_TLS_VERIFY is set, reading DOCKER_CERT_PATH with verify true', async () => {
    const certs = join(dir, 'certs');
    await writeCerts(certs);
    const { endpoint } = resolveEngine({
      env: cleanEnv({ DOCKER_HOST: 'tcp://docker.example', DOCKER_TLS_VERIFY: '1', DOCKER_CERT_PATH: certs }),
    });
    expect(endpoint).toEqual({
      kind: 'tcp',
      host: 'docker.example',
      port: 2376,
      tls: { ca: 'CA PEM', cert: 'CERT PEM', key: 'KEY PEM', verify: true },
    });
  });

  it('uses TLS without verification for DOCKER_TLS alone', async () => {
    const certs = join(dir, 'certs');
    await writeCerts(certs);
    const { endpoint } = resolveEngine({
      env: cleanEnv({ DOCKER_HOST: 'tcp://docker.example', DOCKER_TLS: '1', DOCKER_CERT_PATH: certs }),
    });
    expect(endpoint).toMatchObject({ port: 2376, tls: { verify: false, ca: 'CA PEM' } });
  });

  it('reads the certificates from ~/.docker when DOCKER_CERT_PATH is unset', async () => {
    await writeCerts(join(dir, 'home', '.docker'));
    const { endpoint } = resolveEngine({ env: cleanEnv({ DOCKER_HOST: 'tcp://h:2376', DOCKER_TLS_VERIFY: '1' }) });
    expect(endpoint).toMatchObject({ tls: { cert: 'CERT PEM', verify: true } });
  });

  it('takes precedence over DOCKER_CONTEXT, like the docker CLI', async () => {
    await writeContext(join(dir, 'config'), 'remote', { Host: 'unix:///from/context.sock' });
    const resolved = resolveEngine({ env: cleanEnv({ DOCKER_HOST: 'unix:///from/env.sock', DOCKER_CONTEXT: 'remote' }) });
    expect(resolved.endpoint).toEqual({ kind: 'unix', socketPath: '/from/env.sock' });
  });

  it('is overridden by an explicit socketPath or host option', () => {
    const env = cleanEnv({ DOCKER_HOST: 'unix:///from/env.sock' });
    expect(resolveEngine({ env, socketPath: '/opt/d.sock' })).toMatchObject({ endpoint: { socketPath: '/opt/d.sock' }, source: 'option' });
    expect(resolveEngine({ env, host: 'https://h' })).toMatchObject({ endpoint: { kind: 'tcp', port: 2376, tls: {} }, source: 'option' });
  });
});

describe('docker contexts', () => {
  it('resolves DOCKER_CONTEXT through its meta.json', async () => {
    await writeContext(join(dir, 'config'), 'my-remote', { Host: 'unix:///x.sock', SkipTLSVerify: false });
    const resolved = resolveEngine({ env: cleanEnv({ DOCKER_CONTEXT: 'my-remote' }) });
    expect(resolved).toEqual({
      endpoint: { kind: 'unix', socketPath: '/x.sock' },
      source: 'context my-remote',
      tried: ['context my-remote'],
    });
  });

  it('resolves the currentContext of config.json in DOCKER_CONFIG', async () => {
    const config = join(dir, 'config');
    await writeContext(config, 'desktop-linux', { Host: 'unix:///x.sock', SkipTLSVerify: false });
    await writeFile(join(config, 'config.json'), JSON.stringify({ auths: {}, currentContext: 'desktop-linux' }));
    const resolved = resolveEngine({ env: cleanEnv() });
    expect(resolved.endpoint).toEqual({ kind: 'unix', socketPath: '/x.sock' });
    expect(resolved.source).toBe('context desktop-linux');
  });

  it('prefers DOCKER_CONTEXT over the currentContext of config.json', async () => {
    const config = join(dir, 'config');
    await writeContext(config, 'a', { Host: 'unix:///a.sock' });
    await writeContext(config, 'b', { Host: 'unix:///b.sock' });
    await writeFile(join(config, 'config.json'), JSON.stringify({ currentContext: 'a' }));
    expect(resolveEngine({ env: cleanEnv({ DOCKER_CONTEXT: 'b' }) }).endpoint).toEqual({ kind: 'unix', socketPath: '/b.sock' });
  });

  it('reads the TLS material of a tcp context, honouring SkipTLSVerify', async () => {
    const config = join(dir, 'config');
    const digest = await writeContext(config, 'tls-remote', { Host: 'tcp://remote.example', SkipTLSVerify: true });
    await writeCerts(join(config, 'contexts', 'tls', digest, 'docker'));
    const { endpoint } = resolveEngine({ env: cleanEnv({ DOCKER_CONTEXT: 'tls-remote' }) });
    expect(endpoint).toEqual({
      kind: 'tcp',
      host: 'remote.example',
      port: 2376,
      tls: { ca: 'CA PEM', cert: 'CERT PEM', key: 'KEY PEM', verify: false },
    });
  });

  it('rejects a context that does not exist with DockerArgumentError naming it and the meta path', () => {
    const error = thrown(() => resolveEngine({ env: cleanEnv({ DOCKER_CONTEXT: 'nope' }) }));
    expect(error).toBeInstanceOf(DockerArgumentError);
    expect((error as Error).message).toContain('"nope"');
    expect((error as Error).message).toContain(createHash('sha256').update('nope').digest('hex'));
  });

  it('rejects a context without a docker endpoint with DockerArgumentError', async () => {
    await writeContext(join(dir, 'config'), 'empty', {});
    const error = thrown(() => resolveEngine({ env: cleanEnv({ DOCKER_CONTEXT: 'empty' }) }));
    expect(error).toBeInstanceOf(DockerArgumentError);
    expect((error as Error).message).toMatch(/no docker endpoint/);
  });

  it('treats the context named default as no context', async () => {
    hidden.add('/var/run/docker.sock');
    const xdg = join(dir, 'xdg');
    await listen(join(xdg, 'docker.sock'));
    const resolved = resolveEngine({ env: cleanEnv({ DOCKER_CONTEXT: 'default', XDG_RUNTIME_DIR: xdg }) });
    expect(resolved.source).toBe('default socket');
  });
});

describe('default sockets', () => {
  it('lists Docker, rootless, Docker Desktop, then Podman sockets, in that order', () => {
    expect(defaultSockets({ HOME: '/home/u', XDG_RUNTIME_DIR: '/run/user/1000' })).toEqual([
      '/var/run/docker.sock',
      '/run/user/1000/docker.sock',
      '/home/u/.docker/run/docker.sock',
      '/home/u/.docker/desktop/docker.sock',
      '/run/user/1000/podman/podman.sock',
      '/run/podman/podman.sock',
    ]);
    expect(defaultSockets({ HOME: '/home/u' })).toEqual([
      '/var/run/docker.sock',
      '/home/u/.docker/run/docker.sock',
      '/home/u/.docker/desktop/docker.sock',
      '/run/podman/podman.sock',
    ]);
  });

  it('picks the first candidate that is a socket, skipping regular files', async () => {
    for (const path of SYSTEM_SOCKETS) hidden.add(path);
    const xdg = join(dir, 'xdg');
    await mkdir(xdg, { recursive: true });
    await writeFile(join(xdg, 'docker.sock'), 'a regular file, not a socket');
    const desktop = join(dir, 'home', '.docker', 'desktop', 'docker.sock');
    const podman = join(xdg, 'podman', 'podman.sock');
    await listen(desktop);
    await listen(podman);
    const env = cleanEnv({ XDG_RUNTIME_DIR: xdg });
    const resolved = resolveEngine({ env });
    expect(resolved.endpoint).toEqual({ kind: 'unix', socketPath: desktop });
    expect(resolved.source).toBe('default socket');
    expect(resolved.tried).toEqual(defaultSockets(env).map((p) => `unix://${p}`));
    // The other sockets that exist are kept, in order, for when the first does not answer.
    expect(resolved.fallbacks).toEqual([{ kind: 'unix', socketPath: podman }]);
  });

  it('uses the first socket that answers: a stale Docker socket does not hide Podman', async () => {
    for (const path of SYSTEM_SOCKETS) hidden.add(path);
    const xdg = join(dir, 'xdg');
    const stale = join(xdg, 'docker.sock');
    await mkdir(xdg, { recursive: true });
    // A socket file whose listener is gone, as a stopped engine leaves it: connecting is refused.
    const made = spawnSync(process.execPath, [
      '-e',
      `require('net').createServer().listen(${JSON.stringify(stale)}, () => process.exit(0))`,
    ]);
    expect(made.status).toBe(0);
    const podman = await startFakeEngine(async (request, connection) => {
      if (request.path === '/_ping') await connection.write(jsonResponse('200 OK', 'OK', { 'Api-Version': '1.41' }));
      else await connection.write(jsonResponse('200 OK', { Version: 'podman-fake', ApiVersion: '1.41' }));
    });
    try {
      await mkdir(join(xdg, 'podman'), { recursive: true });
      await symlink(podman.socketPath, join(xdg, 'podman', 'podman.sock'));
      const docker = new DockerClient({ env: cleanEnv({ XDG_RUNTIME_DIR: xdg }) });
      expect(docker.describe().address).toBe(`unix://${stale}`);
      expect((await docker.system.version()).Version).toBe('podman-fake');
      expect(docker.describe()).toEqual({ address: `unix://${join(xdg, 'podman', 'podman.sock')}`, source: 'default socket' });
      await docker.close();
    } finally {
      await podman.close();
    }
  });

  it('says why each socket failed when none of them answers', async () => {
    for (const path of SYSTEM_SOCKETS) hidden.add(path);
    const xdg = join(dir, 'xdg');
    await mkdir(join(xdg, 'podman'), { recursive: true });
    for (const path of [join(xdg, 'docker.sock'), join(xdg, 'podman', 'podman.sock')]) {
      expect(
        spawnSync(process.execPath, ['-e', `require('net').createServer().listen(${JSON.stringify(path)}, () => process.exit(0))`]).status,
      ).toBe(0);
    }
    const docker = new DockerClient({ env: cleanEnv({ XDG_RUNTIME_DIR: xdg }) });
    const error = await docker.system.ping().catch((e: unknown) => e);
    expect(error).toBeInstanceOf(DockerConnectionError);
    expect((error as DockerConnectionError).tried).toEqual([
      `unix://${join(xdg, 'docker.sock')}`,
      `unix://${join(xdg, 'podman', 'podman.sock')}`,
    ]);
    expect((error as Error).message).toMatch(/no engine answered/);
    for (const path of [join(xdg, 'docker.sock'), join(xdg, 'podman', 'podman.sock')]) {
      expect((error as Error).message).toMatch(new RegExp(`unix://${path.replace(/[.*+?^${}()|[\]\\]/g, '\\$&')}: [^;]*ECONNREFUSED`));
    }
    expect((error as DockerConnectionError).osCode).toBe('ECONNREFUSED');
    await docker.close();
  });

  it('throws DockerConnectionError listing every path tried and suggesting DOCKER_HOST when nothing is found', () => {
    for (const path of SYSTEM_SOCKETS) hidden.add(path);
    const env = cleanEnv({ XDG_RUNTIME_DIR: join(dir, 'xdg') });
    const error = thrown(() => resolveEngine({ env }));
    expect(error).toBeInstanceOf(DockerConnectionError);
    const connection = error as DockerConnectionError;
    const candidates = defaultSockets(env);
    expect(candidates).toHaveLength(6);
    expect(connection.tried).toEqual(candidates.map((p) => `unix://${p}`));
    for (const path of candidates) expect(connection.message).toContain(path);
    expect(connection.message).toMatch(/set DOCKER_HOST/);
    expect(connection.osCode).toBe('ENOENT');
  });
});

describe('malformed hosts', () => {
  it.each([
    'docker.example:2375',
    'tcp://',
    'tcp://:2375',
    'tcp://host:port',
    'tcp://host:2375/path',
    'unix://relative/docker.sock',
    'unix://',
    'fd://',
    '',
  ])('rejects %j with DockerArgumentError naming the argument', (host) => {
    const error = thrown(() => parseHost(host, 'DOCKER_HOST'));
    expect(error).toBeInstanceOf(DockerArgumentError);
    expect((error as DockerArgumentError).argument).toBe('DOCKER_HOST');
  });

  it.each(['tcp://host:0', 'tcp://host:65536', 'tcp://host:99999'])('rejects the out-of-range port in %j', (host) => {
    expect(() => parseHost(host, 'host')).toThrow(DockerArgumentError);
  });

  it('rejects a malformed DOCKER_HOST from the environment with DockerArgumentError', () => {
    const error = thrown(() => resolveEngine({ env: cleanEnv({ DOCKER_HOST: 'localhost:2375' }) }));
    expect(error).toBeInstanceOf(DockerArgumentError);
    expect((error as Error).message).toMatch(/^DOCKER_HOST: expected unix:\/\/\/path, tcp:\/\/host:port or ssh:\/\//);
  });

  it('resolves ssh:// addresses: user, port and remote socket path are optional', () => {
    expect(resolveEngine({ env: cleanEnv({ DOCKER_HOST: 'ssh://me@build-box' }) })).toEqual({
      endpoint: { kind: 'ssh', host: 'build-box', user: 'me' },
      source: 'DOCKER_HOST',
      tried: ['ssh://me@build-box'],
    });
    expect(parseHost('ssh://build-box', 'host')).toEqual({ kind: 'ssh', host: 'build-box' });
    expect(parseHost('ssh://me@10.0.0.7:2200/run/user/1000/docker.sock', 'host')).toEqual({
      kind: 'ssh',
      host: '10.0.0.7',
      user: 'me',
      port: 2200,
      socketPath: '/run/user/1000/docker.sock',
    });
    expect(parseHost('ssh://[::1]:22/', 'host')).toEqual({ kind: 'ssh', host: '::1', port: 22 });
  });

  it.each([
    'ssh://',
    'ssh://-oProxyCommand=sh',
    'ssh://-l@host',
    'ssh://me@-host',
    'ssh://host:0',
    'ssh://host:70000',
    'ssh://host:port',
    'ssh://host/relative;rm',
    'ssh://a b',
  ])('rejects the ssh address %j before running anything', (host) => {
    const error = thrown(() => resolveEngine({ env: cleanEnv({ DOCKER_HOST: host }) }));
    expect(error).toBeInstanceOf(DockerArgumentError);
    expect((error as Error).message).toMatch(/^DOCKER_HOST: /);
  });

  it('reads an ssh:// endpoint from a docker context, as `docker context create --docker host=ssh://…` writes it', async () => {
    await writeContext(join(dir, 'config'), 'over-ssh', { Host: 'ssh://deploy@builder.internal' });
    const resolved = resolveEngine({ env: cleanEnv({ DOCKER_CONTEXT: 'over-ssh' }) });
    expect(resolved.endpoint).toEqual({ kind: 'ssh', host: 'builder.internal', user: 'deploy' });
    expect(resolved.source).toBe('context over-ssh');
  });

  it('accepts IPv6 literals and http/https schemes', () => {
    expect(parseHost('tcp://[::1]:2375', 'host')).toEqual({ kind: 'tcp', host: '::1', port: 2375, tls: undefined });
    expect(parseHost('http://127.0.0.1', 'host')).toMatchObject({ port: 2375, tls: undefined });
    expect(parseHost('https://127.0.0.1', 'host')).toMatchObject({ port: 2376, tls: {} });
  });
});
