/**
 * Engines that cannot be used, through the public entry points (DockerClient with `socketPath`,
 * DOCKER_HOST, and the executor's start()): no socket, a socket the user may not open, a path
 * that is not a socket, and a peer that accepts and never answers. Each gives a
 * DockerConnectionError that names the address, the OS error and what to check, within the
 * connect or headers timeout. (test/unit/transport/node-contract.test.ts covers the transport
 * underneath byte by byte; this is the user's view.)
 */
import { spawn } from 'node:child_process';
import { existsSync } from 'node:fs';
import { chmod, mkdir, mkdtemp, rm, writeFile } from 'node:fs/promises';
import { createServer, type Server, type Socket } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { DockerClient, type DockerConnectionError, isDockerConnectionError } from '../../src/engine/index.js';
import { DockerCommandLineCodeExecutor } from '../../src/index.js';
import { PYTHON } from '../helpers/engine.js';
import { faultLabels, rejectionOf } from './helpers.js';

let dir: string;
const servers: Server[] = [];
const sockets = new Set<Socket>();
const clients: DockerClient[] = [];

beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), 'berth-bad-sockets-'));
  // Other users must reach the socket below (the EACCES case runs as nobody).
  await chmod(dir, 0o755);
});

afterAll(async () => {
  for (const client of clients) await client.close().catch(() => {});
  // close() waits for open connections: end them first.
  for (const socket of sockets) socket.destroy();
  for (const server of servers) await new Promise<void>((resolve) => server.close(() => resolve()));
  await rm(dir, { recursive: true, force: true });
});

function client(socketPath: string, timeouts?: { connect?: number; headers?: number }): DockerClient {
  const docker = new DockerClient({ socketPath, ...(timeouts ? { timeouts } : {}) });
  clients.push(docker);
  return docker;
}

/** A unix socket server that accepts connections, reads the requests and never writes a byte. */
async function silentEngine(path: string): Promise<{ accepted: () => number }> {
  let count = 0;
  const server = createServer((socket) => {
    count++;
    sockets.add(socket);
    socket.on('error', () => {});
    socket.on('close', () => sockets.delete(socket));
    socket.resume();
  });
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(path, () => resolve());
  });
  servers.push(server);
  return { accepted: () => count };
}

/** Checks the shape every unusable engine must give. */
function expectConnectionError(error: unknown, socketPath: string, osCodes: readonly string[], hint: RegExp): DockerConnectionError {
  expect(isDockerConnectionError(error), String(error)).toBe(true);
  const connection = error as DockerConnectionError;
  expect(connection.code).toBe('BERTH_ERR_CONNECTION');
  expect(connection.tried).toEqual([`unix://${socketPath}`]);
  expect(osCodes).toContain(connection.osCode);
  expect(connection.message).toContain(`unix://${socketPath}`);
  expect(connection.message).toMatch(hint);
  return connection;
}

describe('no socket at the path', () => {
  it('DockerClient({ socketPath }) rejects with ENOENT and says to start the engine or set DOCKER_HOST', async () => {
    const path = join(dir, 'missing.sock');
    const started = performance.now();
    const error = await rejectionOf(client(path).system.ping(), 10_000, 'ping');
    expect(performance.now() - started).toBeLessThan(5000);
    expectConnectionError(error, path, ['ENOENT'], /is the engine running\?.*DOCKER_HOST/);
  });

  it('DOCKER_HOST naming a missing socket gives the same error', async () => {
    const path = join(dir, 'missing-env.sock');
    const docker = new DockerClient({ env: { DOCKER_HOST: `unix://${path}` } });
    clients.push(docker);
    const error = await rejectionOf(docker.containers.list(), 10_000, 'containers.list');
    expectConnectionError(error, path, ['ENOENT'], /is the engine running\?/);
  });

  it("the executor's start() fails with the same typed error, prefixed with autogen's message, and leaves nothing", async () => {
    const path = join(dir, 'missing-executor.sock');
    const ex = new DockerCommandLineCodeExecutor({ image: PYTHON, labels: faultLabels(), docker: client(path) });
    const error = await rejectionOf(ex.start(), 10_000, 'start()');
    const connection = expectConnectionError(error, path, ['ENOENT'], /is the engine running\?/);
    expect(connection.message).toMatch(/^Failed to connect to Docker\. Please ensure Docker is installed and running\./);
    expect(ex.isRunning).toBe(false);
    expect(() => ex.workDir).toThrow('Working directory not properly initialized');
  });
});

describe('a socket the user may not open', () => {
  it('rejects with EACCES and says how to get permission', async () => {
    const path = join(dir, 'root-only.sock');
    await silentEngine(path);
    await chmod(path, 0o600);
    const asRoot = process.getuid?.() === 0;
    let outcome: { name: string; osCode: string | undefined; message: string; tried: string[]; ms: number };
    if (!asRoot) {
      // An ordinary user: a socket without any permission bits is enough.
      await chmod(path, 0o000);
      const started = performance.now();
      const error = (await rejectionOf(client(path).system.ping(), 10_000, 'ping')) as DockerConnectionError;
      outcome = {
        name: error.name,
        osCode: error.osCode,
        message: error.message,
        tried: [...error.tried],
        ms: performance.now() - started,
      };
    } else {
      // Root ignores permission bits: ask a child running as nobody (uid 65534), through the built package.
      const dist = join(process.cwd(), 'dist/engine/index.js');
      if (!existsSync(dist)) throw new Error('dist/ is missing: build first (npm run build, or npx tsc -p tsconfig.build.json)');
      const script = `
        import { DockerClient } from ${JSON.stringify(dist)};
        const docker = new DockerClient({ socketPath: ${JSON.stringify(path)} });
        const started = performance.now();
        try {
          await docker.system.ping();
          console.log(JSON.stringify({ name: 'no error' }));
        } catch (e) {
          console.log(JSON.stringify({ name: e.name, osCode: e.osCode, message: e.message, tried: e.tried, ms: performance.now() - started }));
        }
      `;
      const child = spawn(process.execPath, ['--input-type=module', '-e', script], {
        uid: 65534,
        gid: 65534,
        cwd: '/',
        env: { PATH: process.env.PATH ?? '/usr/bin:/bin', HOME: '/' },
        stdio: ['ignore', 'pipe', 'pipe'],
      });
      let stdout = '';
      let stderr = '';
      child.stdout.on('data', (d: Buffer) => {
        stdout += d.toString();
      });
      child.stderr.on('data', (d: Buffer) => {
        stderr += d.toString();
      });
      const code = await new Promise<number | null>((resolve) => child.once('exit', resolve));
      expect(code, stderr).toBe(0);
      outcome = JSON.parse(stdout.trim());
    }
    expect(outcome.name).toBe('DockerConnectionError');
    expect(outcome.osCode).toBe('EACCES');
    expect(outcome.tried).toEqual([`unix://${path}`]);
    expect(outcome.message).toContain(`unix://${path}`);
    expect(outcome.message).toMatch(/permission denied: add your user to the docker group/);
    expect(outcome.ms).toBeLessThan(5000);
  });
});

describe('a path that is not a socket', () => {
  it.each([
    ['a regular file', 'file.sock', (path: string) => writeFile(path, 'not a socket')],
    [
      'a directory',
      'dir.sock',
      async (path: string) => {
        await mkdir(path);
      },
    ],
  ])('%s: rejects with ECONNREFUSED (or ENOTSOCK) naming the path', async (_what, name, make) => {
    const path = join(dir, name);
    await make(path);
    const started = performance.now();
    const error = await rejectionOf(client(path).system.ping(), 10_000, 'ping');
    expect(performance.now() - started).toBeLessThan(5000);
    // Linux answers connect() on a file that is not a socket with ECONNREFUSED.
    expectConnectionError(error, path, ['ECONNREFUSED', 'ENOTSOCK'], /not running, or it is the wrong address|not a socket/);
  });
});

describe('an engine that accepts and never answers', () => {
  it('rejects an ordinary call within the headers timeout, saying the engine did not answer in time', async () => {
    const path = join(dir, 'silent.sock');
    const engine = await silentEngine(path);
    const docker = client(path, { headers: 500 });
    const started = performance.now();
    const error = await rejectionOf(docker.system.ping(), 10_000, 'ping');
    const elapsed = performance.now() - started;
    expect(engine.accepted()).toBeGreaterThan(0);
    expect(elapsed).toBeGreaterThanOrEqual(400);
    expect(elapsed).toBeLessThan(5000);
    expectConnectionError(error, path, ['UND_ERR_HEADERS_TIMEOUT'], /accepted the connection but did not answer in time/);
  });

  it("the executor's start() gives up within the headers timeout too", async () => {
    const path = join(dir, 'silent-executor.sock');
    await silentEngine(path);
    const ex = new DockerCommandLineCodeExecutor({ image: PYTHON, labels: faultLabels(), docker: client(path, { headers: 500 }) });
    const started = performance.now();
    const error = await rejectionOf(ex.start(), 10_000, 'start()');
    expect(performance.now() - started).toBeLessThan(5000);
    const connection = expectConnectionError(error, path, ['UND_ERR_HEADERS_TIMEOUT'], /did not answer in time/);
    expect(connection.message).toMatch(/^Failed to connect to Docker/);
    expect(ex.isRunning).toBe(false);
  });
});
