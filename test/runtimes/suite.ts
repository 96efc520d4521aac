/**
 * The engine and executor suites under Bun and Deno, against the real engine, through the
 * package as users import it (the built `dist/`, or the sources with `BERTH_TARGET=src`):
 *
 * ```sh
 * npm run build
 * node_modules/.bin/bun run test/runtimes/suite.ts
 * node_modules/.bin/deno run -A --import-map=test/runtimes/deno-import-map.json test/runtimes/suite.ts
 * ```
 *
 * With `BERTH_TARGET=src`, Deno also needs `--sloppy-imports` (the sources import `.js` names of
 * `.ts` files). Under Deno the import map points `undici` at a trap module: the run fails if
 * anything loads undici. (Bun has a built-in `undici` that plugins cannot replace; there the
 * static import graph is checked instead, and the Node transport could not work at all.)
 *
 * Every container is labelled `berth.test=1` and with this run's id, and removed at the end.
 * Prints one line per case and then exactly one line `N passed, N failed`; exits 1 if any failed.
 *
 * @module
 */

import { spawnSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import { existsSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';

// ---------------------------------------------------------------------------------------------
// A tiny runner: `test(name, fn)`, a few assertions, one summary line (vitest runs on Node only)

interface Case {
  name: string;
  fn: () => Promise<void>;
  timeout: number;
}

const cases: Case[] = [];

/** Registers a test case; cases run in order, one at a time. */
function test(name: string, fn: () => Promise<void>, timeout = 60_000): void {
  cases.push({ name, fn, timeout });
}

/** A failed assertion. */
class AssertionError extends Error {
  override name = 'AssertionError';
}

/** Fails with `message` unless `condition` holds. */
function assert(condition: unknown, message: string): asserts condition {
  if (!condition) throw new AssertionError(message);
}

/** Fails unless `actual` and `expected` are the same (primitives) or serialise alike (objects). */
function equal<T>(actual: T, expected: T, what: string): void {
  const same =
    typeof expected === 'object' && expected !== null ? JSON.stringify(actual) === JSON.stringify(expected) : actual === expected;
  if (!same) throw new AssertionError(`${what}: expected ${show(expected)}, got ${show(actual)}`);
}

/** Resolves to what `promise` rejects with; fails if it resolves. */
async function rejection(promise: Promise<unknown>, what: string): Promise<unknown> {
  try {
    await promise;
  } catch (error) {
    return error;
  }
  throw new AssertionError(`${what}: expected a rejection, but it resolved`);
}

function show(value: unknown): string {
  const text = typeof value === 'string' ? JSON.stringify(value) : (JSON.stringify(value) ?? String(value));
  return text.length > 300 ? `${text.slice(0, 300)}…` : text;
}

function describeError(error: unknown): string {
  if (error instanceof Error) return `${error.name}: ${error.message}`;
  return String(error);
}

/** Milliseconds to wait. */
function sleep(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms));
}

/**
 * Runs every registered case, prints one line per case and then exactly one summary line
 * `N passed, N failed`, and resolves to the number of failures.
 */
async function runAll(label: string): Promise<number> {
  let passed = 0;
  let failed = 0;
  for (const c of cases) {
    const started = performance.now();
    let timer: ReturnType<typeof setTimeout> | undefined;
    try {
      await Promise.race([
        c.fn(),
        new Promise<never>((_, reject) => {
          timer = setTimeout(() => reject(new AssertionError(`timed out after ${c.timeout} ms`)), c.timeout);
        }),
      ]);
      passed++;
      console.log(`  ok   ${label} › ${c.name} (${Math.round(performance.now() - started)} ms)`);
    } catch (error) {
      failed++;
      console.log(`  FAIL ${label} › ${c.name} (${Math.round(performance.now() - started)} ms)\n       ${describeError(error)}`);
      if (error instanceof Error && !(error instanceof AssertionError) && error.stack) {
        console.log(error.stack.split('\n').slice(1, 6).join('\n'));
      }
    } finally {
      clearTimeout(timer);
    }
  }
  console.log(`${passed} passed, ${failed} failed`);
  return failed;
}

// ---------------------------------------------------------------------------------------------

type Berth = typeof import('../../src/index.js');
type Engine = typeof import('../../src/engine/index.js');
type Auto = typeof import('../../src/engine/transport/auto.js');
type DockerClient = InstanceType<Engine['DockerClient']>;
type Executor = InstanceType<Berth['DockerCommandLineCodeExecutor']>;

const proc = (
  globalThis as unknown as { process: { env: Record<string, string | undefined>; execPath: string; exit(code: number): never } }
).process;
const runtime =
  (globalThis as { Bun?: unknown }).Bun !== undefined ? 'bun' : (globalThis as { Deno?: unknown }).Deno !== undefined ? 'deno' : 'node';
const target = proc.env.BERTH_TARGET ?? 'dist';
const ext = target === 'src' ? '.ts' : '.js';
const root = fileURLToPath(new URL('../../', import.meta.url));
const BUSYBOX = proc.env.BERTH_BUSYBOX_IMAGE ?? 'berth-test/busybox:latest';
const PYTHON = proc.env.BERTH_PYTHON_IMAGE ?? 'berth-test/python:3.11';
const RUN_ID = `${runtime}-${Date.now().toString(36)}-${Math.random().toString(36).slice(2, 8)}`;
const RUN_LABEL = 'berth.runtime-suite';
const labels = { 'berth.test': '1', [RUN_LABEL]: RUN_ID };
const undiciLoads = () => (globalThis as { __berthUndiciLoads?: number }).__berthUndiciLoads ?? 0;

function targetUrl(path: string): string {
  return new URL(`../../${target}/${path}${ext}`, import.meta.url).href;
}

let berth: Berth;
let engine: Engine;
let auto: Auto;
let docker: DockerClient;
let sleeperId: string | undefined;

async function sleeper(): Promise<string> {
  if (sleeperId) return sleeperId;
  const { Id } = await docker.containers.create({
    Image: BUSYBOX,
    Cmd: ['sleep', '3600'],
    Labels: labels,
    HostConfig: { Init: true },
  });
  sleeperId = Id;
  await docker.containers.start(Id);
  return Id;
}

/** Bare specifiers reachable by static imports from `entries` (relative imports followed), and the files visited. */
function staticGraph(entries: string[]): { bare: Set<string>; files: Set<string> } {
  const bare = new Set<string>();
  const files = new Set<string>();
  const queue = [...entries];
  while (queue.length > 0) {
    const file = queue.pop() as string;
    if (files.has(file)) continue;
    files.add(file);
    const text = readFileSync(file, 'utf8');
    for (const match of text.matchAll(/^(?:import|export)(?! type)[^;]*? from '([^']+)';/gms)) {
      const specifier = match[1] as string;
      if (specifier.startsWith('.')) {
        const resolved = fileURLToPath(new URL(specifier, `file://${file}`));
        queue.push(target === 'src' ? resolved.replace(/\.js$/, '.ts') : resolved);
      } else bare.add(specifier);
    }
  }
  return { bare, files };
}

// ---------------------------------------------------------------------------------------------
// Import

test('the package imports in a fresh process with no Node-only globals in reach (ESM)', async () => {
  const script = join(root, 'test/runtimes/import-check.ts');
  const args =
    runtime === 'deno'
      ? [
          'run',
          '-A',
          `--import-map=${join(root, 'test/runtimes/deno-import-map.json')}`,
          ...(target === 'src' ? ['--sloppy-imports'] : []),
          script,
        ]
      : ['run', script];
  const child = spawnSync(proc.execPath, args, { cwd: root, env: { ...proc.env, BERTH_TARGET: target }, encoding: 'utf8' });
  const line = (child.stdout ?? '').trim().split('\n').pop() ?? '';
  let report: { ok: boolean; error?: string; preloaded: string[] };
  try {
    report = JSON.parse(line);
  } catch {
    throw new Error(`import check printed no report (status ${child.status}): ${child.stdout}\n${child.stderr}`);
  }
  assert(report.ok, `import failed with the Node-only globals hidden: ${report.error}`);
  assert(!report.preloaded.includes('undici'), 'undici was preloaded');
});

test('importing loads no undici statically, and Node loads no Bun or Deno adapter', async () => {
  const entries = [join(root, `${target}/index${ext}`), join(root, `${target}/engine/index${ext}`)];
  const { bare, files } = staticGraph(entries);
  assert(!bare.has('undici'), `undici is imported statically: ${[...bare].join(', ')}`);
  for (const adapter of ['bun', 'deno']) {
    assert(![...files].some((f) => f.endsWith(`/transport/${adapter}${ext}`)), `transport/${adapter} is imported statically`);
  }
  assert(
    [...files].some((f) => f.endsWith(`/transport/auto${ext}`)),
    'the client does not use the automatic transport',
  );
});

test(`the automatic transport picks the ${runtime} adapter`, async () => {
  equal(auto.detectRuntime(), runtime, 'detected runtime');
  const transport = auto.createAutoTransport({ kind: 'unix', socketPath: '/var/run/docker.sock' });
  equal(transport.runtime, runtime, 'transport runtime');
  const response = await transport.request({ method: 'GET', path: '/_ping', headers: {} });
  equal(response.status, 200, 'ping status');
  await response.body.cancel();
  await transport.close();
});

// ---------------------------------------------------------------------------------------------
// Engine

test('pings the engine, reads its version and negotiates an API version of at least 1.41', async () => {
  const ping = await docker.system.ping();
  assert(/^\d+\.\d+$/.test(ping.apiVersion ?? ''), `ping api version ${ping.apiVersion}`);
  const version = await docker.apiVersion();
  assert(Number(version.split('.')[1]) >= 41, `negotiated ${version}`);
  const info = await docker.system.version();
  equal(info.ApiVersion, ping.apiVersion, 'version ApiVersion');
  equal(docker.describe().address, 'unix:///var/run/docker.sock', 'address');
});

test('exec.run returns stdout, stderr and the exit code separately', async () => {
  const result = await docker.exec.run(await sleeper(), ['sh', '-c', 'printf out; printf err >&2; exit 3']);
  equal(result.stdout, 'out', 'stdout');
  equal(result.stderr, 'err', 'stderr');
  equal(result.exitCode, 3, 'exit code');
});

test('exec.run returns 1 MiB per stream written alternately to stdout and stderr, byte-exact and in order', async () => {
  const rounds = 16;
  const script =
    `i=0; while [ $i -lt ${rounds} ]; do head -c 65536 /dev/zero | tr "\\0" "$(printf \\\\$(printf %o $((65 + i % 26))))"; ` +
    'head -c 65536 /dev/zero | tr "\\0" "$(printf \\\\$(printf %o $((97 + i % 26))))" >&2; i=$((i+1)); done';
  const result = await docker.exec.run(await sleeper(), ['sh', '-c', script]);
  equal(result.exitCode, 0, 'exit code');
  equal(result.stdoutBytes.length, rounds * 65536, 'stdout length');
  equal(result.stderrBytes.length, rounds * 65536, 'stderr length');
  for (let i = 0; i < rounds; i++) {
    const out = result.stdoutBytes.subarray(i * 65536, (i + 1) * 65536);
    const err = result.stderrBytes.subarray(i * 65536, (i + 1) * 65536);
    assert(
      out.every((b) => b === 65 + (i % 26)),
      `stdout chunk ${i} is wrong`,
    );
    assert(
      err.every((b) => b === 97 + (i % 26)),
      `stderr chunk ${i} is wrong`,
    );
  }
});

test('exec.run with stdin (hijacked) half-closes it so the process sees end of input', async () => {
  const result = await docker.exec.run(await sleeper(), ['sh', '-c', 'cat; echo done'], { stdin: 'hello\n' });
  equal(result.stdout, 'hello\ndone\n', 'stdout');
  equal(result.exitCode, 0, 'exit code');
});

test('exec.run with 3 MiB of stdin gets every byte through (partial writes, back-pressure)', async () => {
  const size = 3 * 1024 * 1024;
  const input = new Uint8Array(size);
  for (let i = 0; i < size; i++) input[i] = (i * 7) & 0xff;
  const file = `/tmp/stdin-${RUN_ID}`;
  const result = await docker.exec.run(await sleeper(), ['sh', '-c', `cat > ${file}; wc -c < ${file}; md5sum < ${file}; rm ${file}`], {
    stdin: input,
  });
  equal(result.exitCode, 0, 'exit code');
  const [count, sum] = result.stdout.split('\n');
  equal(count?.trim(), String(size), 'bytes counted by wc');
  equal(sum?.split(' ')[0], createHash('md5').update(input).digest('hex'), 'md5 of what arrived');
});

test('attach with stdin: writes reach the process and end() closes its input', async () => {
  const { Id } = await docker.containers.create({
    Image: BUSYBOX,
    Cmd: ['sh', '-c', 'cat; echo bye'],
    OpenStdin: true,
    StdinOnce: true,
    AttachStdin: true,
    AttachStdout: true,
    AttachStderr: true,
    Labels: labels,
  });
  try {
    const stream = await docker.containers.attach(Id, { stdin: true, tty: false });
    await docker.containers.start(Id);
    await stream.write('hi there\n');
    await stream.end();
    let stdout = '';
    const decoder = new TextDecoder();
    for await (const frame of stream) if (frame.stream === 'stdout') stdout += decoder.decode(frame.data, { stream: true });
    equal(stdout, 'hi there\nbye\n', 'stdout');
    const exit = await docker.containers.wait(Id);
    equal(exit.StatusCode, 0, 'exit code');
  } finally {
    await docker.containers.remove(Id, { force: true }).catch(() => {});
  }
});

test('followed logs end promptly, with the signal’s reason, when the signal aborts', async () => {
  const { Id } = await docker.containers.create({
    Image: BUSYBOX,
    Cmd: ['sh', '-c', 'while true; do echo tick; sleep 0.1; done'],
    Labels: labels,
    HostConfig: { Init: true },
  });
  try {
    await docker.containers.start(Id);
    const controller = new AbortController();
    const reason = new Error('enough logs');
    const logs = await docker.containers.logs(Id, { follow: true, signal: controller.signal, tty: false });
    let frames = 0;
    let abortedAt = 0;
    const error = await rejection(
      (async () => {
        for await (const _ of logs) {
          frames++;
          if (frames === 3) {
            abortedAt = performance.now();
            controller.abort(reason);
          }
        }
      })(),
      'iterating aborted logs',
    );
    const took = performance.now() - abortedAt;
    assert(error === reason, `expected the signal's reason, got ${String(error)}`);
    assert(took < 2000, `logs took ${Math.round(took)} ms to end after the abort`);
  } finally {
    await docker.containers.remove(Id, { force: true }).catch(() => {});
  }
});

test('a hijacked stream aborted mid-stream rejects with exactly the signal’s reason', async () => {
  const { Id: execId } = await docker.exec.create(await sleeper(), {
    Cmd: ['sh', '-c', 'echo ready; cat'],
    AttachStdin: true,
    AttachStdout: true,
    AttachStderr: true,
  });
  const controller = new AbortController();
  const reason = new Error('stop reading');
  const stream = await docker.exec.start(execId, { stdin: true, signal: controller.signal });
  const error = await rejection(
    (async () => {
      for await (const frame of stream) {
        if (new TextDecoder().decode(frame.data).includes('ready')) controller.abort(reason);
      }
    })(),
    'iterating an aborted hijacked stream',
  );
  assert(error === reason, `expected the signal's reason, got ${String(error)}`);
});

test('a missing container is DockerApiError notFound, over plain and hijacked requests', async () => {
  const error = await rejection(docker.containers.inspect(`berth-missing-${RUN_ID}`), 'inspect of a missing container');
  assert(engine.isDockerApiError(error), `expected DockerApiError, got ${String(error)}`);
  equal(error.reason, 'notFound', 'reason');
  equal(error.statusCode, 404, 'status');
  const hijacked = await rejection(docker.exec.start('a'.repeat(64), { stdin: true }), 'exec start of a missing exec');
  assert(engine.isDockerApiError(hijacked), `expected DockerApiError, got ${String(hijacked)}`);
  equal(hijacked.reason, 'notFound', 'hijack reason');
  assert(/no such exec/i.test(hijacked.message), `message ${hijacked.message}`);
});

test('an engine that is not there is DockerConnectionError ENOENT, over plain and hijacked requests', async () => {
  const socketPath = `/nonexistent-${RUN_ID}/docker.sock`;
  const missing = new engine.DockerClient({ socketPath, apiVersion: '1.41' });
  try {
    const error = await rejection(missing.system.ping(), 'ping of a missing socket');
    assert(engine.isDockerConnectionError(error), `expected DockerConnectionError, got ${String(error)}`);
    equal(error.osCode, 'ENOENT', 'osCode');
    assert(error.message.includes(socketPath), `message names the socket: ${error.message}`);
    const hijacked = await rejection(missing.exec.start('a'.repeat(64), { stdin: true }), 'hijack to a missing socket');
    assert(engine.isDockerConnectionError(hijacked), `expected DockerConnectionError, got ${String(hijacked)}`);
    equal(hijacked.osCode, 'ENOENT', 'hijack osCode');
  } finally {
    await missing.close();
  }
});

test('close() is terminal: later calls reject with BERTH_ERR_CLOSED, a stream opened before goes on', async () => {
  const { Id } = await docker.containers.create({
    Image: BUSYBOX,
    Cmd: ['sh', '-c', 'while true; do echo tick; sleep 0.1; done'],
    Labels: labels,
    HostConfig: { Init: true },
  });
  const client = new engine.DockerClient();
  try {
    await docker.containers.start(Id);
    await client.system.ping();
    const logs = await client.containers.logs(Id, { follow: true, tty: false });
    const frames = logs[Symbol.asyncIterator]();
    assert(!(await frames.next()).done, 'a first frame before close()');
    await client.close();
    assert(!(await frames.next()).done, 'the stream opened before close() goes on');
    await logs.cancel();
    const error = await rejection(client.system.version(), 'a call after close()');
    assert(engine.isDockerError(error), `expected a DockerError, got ${String(error)}`);
    equal(error.code, 'BERTH_ERR_CLOSED', 'code');
    const hijack = await rejection(client.exec.start('a'.repeat(64), { stdin: true }), 'a hijack after close()');
    equal((hijack as { code?: string }).code, 'BERTH_ERR_CLOSED', 'hijack code');
    await client.close();
    const unused = new engine.DockerClient();
    await unused.close();
    equal(
      ((await rejection(unused.system.ping(), 'ping after close()')) as { code?: string }).code,
      'BERTH_ERR_CLOSED',
      'unused client code',
    );
  } finally {
    await client.close();
    await docker.containers.remove(Id, { force: true }).catch(() => {});
  }
});

test('cancel() from outside the loop ends a pending read on an attach stream cleanly (TTY and not)', async () => {
  for (const tty of [false, true]) {
    const { Id } = await docker.containers.create({
      Image: BUSYBOX,
      Cmd: ['sleep', '60'],
      Tty: tty,
      Labels: labels,
      HostConfig: { Init: true },
    });
    try {
      const attached = await docker.containers.attach(Id, { tty });
      await docker.containers.start(Id);
      const reading = (async () => {
        let n = 0;
        for await (const _ of attached) n++;
        return n;
      })();
      await sleep(300);
      await attached.cancel();
      equal(await reading, 0, `frames read (tty ${tty})`);
    } finally {
      await docker.containers.remove(Id, { force: true }).catch(() => {});
    }
  }
});

test('exec.run passes 6 MiB of stdin through cat byte-identical, and a program that reads none ends', async () => {
  const input = new Uint8Array(6 * 1024 * 1024);
  for (let i = 0; i < input.length; i++) input[i] = (i * 31 + (i >>> 9)) & 0xff;
  const result = await docker.exec.run(await sleeper(), ['cat'], { stdin: input });
  equal(result.exitCode, 0, 'exit code');
  equal(result.stdoutBytes.length, input.length, 'bytes back');
  equal(createHash('md5').update(result.stdoutBytes).digest('hex'), createHash('md5').update(input).digest('hex'), 'md5');
  const none = await docker.exec.run(await sleeper(), ['sh', '-c', 'sleep 1; echo x'], { stdin: input });
  equal([none.exitCode, none.stdout], [0, 'x\n'], 'a program that reads no stdin');
});

test('putFiles and readFile round-trip, and an archive streams from one request body into another', async () => {
  const id = await sleeper();
  const big = new Uint8Array(2 * 1024 * 1024 + 123);
  for (let i = 0; i < big.length; i++) big[i] = (i * 31 + 7) & 0xff;
  await docker.containers.putFiles(id, '/tmp', [
    { path: 'berth/hello.txt', data: `hello from ${runtime}\n` },
    { path: 'berth/big.bin', data: big },
  ]);
  equal(new TextDecoder().decode(await docker.containers.readFile(id, '/tmp/berth/hello.txt')), `hello from ${runtime}\n`, 'text');
  const archive = await docker.containers.getArchive(id, '/tmp/berth/big.bin');
  // A streamed (chunked) request body: the response body of one request is the body of the next.
  await docker.containers.putArchive(id, '/tmp', archive.body);
  const copy = await docker.containers.readFile(id, '/tmp/big.bin');
  equal(copy.length, big.length, 'copied length');
  assert(
    copy.every((b, i) => b === big[i]),
    'the copied bytes differ',
  );
});

test('images.build packs a folder (node-side, .dockerignore honoured) and a credential helper is run for a pull', async () => {
  const dir = mkdtempSync(join(tmpdir(), 'berth-runtime-build-'));
  const ref = `berth-build-test/${RUN_ID}:1`;
  try {
    writeFileSync(join(dir, 'Dockerfile'), `FROM ${BUSYBOX}\nCOPY . /ctx\nCMD ["ls", "/ctx"]\n`);
    writeFileSync(join(dir, '.dockerignore'), '*.secret\nDockerfile\n.dockerignore\n');
    writeFileSync(join(dir, 'kept.txt'), 'k');
    writeFileSync(join(dir, 'left.secret'), 's');
    const result = await docker.images.build(dir, { t: ref, labels: { [RUN_LABEL]: RUN_ID } }).done();
    assert(/^sha256:[0-9a-f]{64}$/.test(result.id), `image id ${result.id}`);
    const { Id } = await docker.containers.create({ Image: ref, Labels: labels });
    await docker.containers.start(Id);
    await docker.containers.wait(Id);
    let listing = '';
    for await (const frame of await docker.containers.logs(Id)) listing += new TextDecoder().decode(frame.data);
    equal(listing, 'kept.txt\n', 'files in the image');
    // A helper on the PATH of the client's env: its failure comes back typed, naming it.
    writeFileSync(join(dir, 'config.json'), JSON.stringify({ credsStore: 'berthrt' }));
    writeFileSync(join(dir, 'docker-credential-berthrt'), '#!/bin/sh\necho "keychain locked"\nexit 1\n', { mode: 0o755 });
    const client = new engine.DockerClient({ env: { ...proc.env, DOCKER_CONFIG: dir, PATH: `${dir}:${proc.env.PATH ?? ''}` } });
    try {
      const error = await rejection(client.images.pull('127.0.0.1:5599/x/y:1'), 'pull with a failing helper');
      assert(engine.isDockerCredentialsError(error), `not a DockerCredentialsError: ${describeError(error)}`);
      assert(/docker-credential-berthrt: exited with code 1: keychain locked/.test((error as Error).message), (error as Error).message);
    } finally {
      await client.close();
    }
  } finally {
    await docker.images.remove(ref, { force: true }).catch(() => {});
    rmSync(dir, { recursive: true, force: true });
  }
}, 120_000);

test('the events stream delivers a container event', async () => {
  const controller = new AbortController();
  const events = await docker.system.events({
    filters: { type: ['container'], label: [`${RUN_LABEL}=${RUN_ID}`] },
    signal: controller.signal,
  });
  const { Id } = await docker.containers.create({ Image: BUSYBOX, Cmd: ['true'], Labels: labels });
  try {
    let seen = false;
    for await (const event of events) {
      if (event.Actor?.ID === Id && event.Action === 'create') {
        seen = true;
        break;
      }
    }
    assert(seen, 'no create event');
  } finally {
    await events.cancel();
    await docker.containers.remove(Id, { force: true }).catch(() => {});
  }
});

test('a TLS engine (mutual TLS through a proxy to the socket): plain and hijacked requests', async () => {
  const dir = mkdtempSync(join(tmpdir(), 'berth-tls-'));
  const openssl = (...args: string[]) => {
    const done = spawnSync('openssl', args, { cwd: dir, encoding: 'utf8' });
    if (done.status !== 0) throw new Error(`openssl ${args[0]} failed: ${done.error?.message ?? done.stderr}`);
  };
  const tls = await import('node:tls');
  const net = await import('node:net');
  let server: import('node:tls').Server | undefined;
  const open = new Set<{ destroy(): void }>();
  try {
    openssl(
      'req',
      '-x509',
      '-newkey',
      'rsa:2048',
      '-nodes',
      '-keyout',
      'ca-key.pem',
      '-out',
      'ca.pem',
      '-days',
      '1',
      '-subj',
      '/CN=berth test CA',
    );
    for (const [name, usage] of [
      ['server', 'serverAuth'],
      ['client', 'clientAuth'],
    ] as const) {
      writeFileSync(join(dir, `${name}.ext`), `subjectAltName=IP:127.0.0.1,DNS:localhost\nextendedKeyUsage=${usage}\n`);
      openssl('req', '-newkey', 'rsa:2048', '-nodes', '-keyout', `${name}-key.pem`, '-out', `${name}.csr`, '-subj', `/CN=${name}`);
      openssl(
        'x509',
        '-req',
        '-in',
        `${name}.csr`,
        '-CA',
        'ca.pem',
        '-CAkey',
        'ca-key.pem',
        '-CAcreateserial',
        '-out',
        `${name}.pem`,
        '-days',
        '1',
        '-extfile',
        `${name}.ext`,
      );
    }
    const read = (name: string) => readFileSync(join(dir, name), 'utf8');
    server = tls.createServer(
      {
        key: read('server-key.pem'),
        cert: read('server.pem'),
        ca: read('ca.pem'),
        requestCert: true,
        rejectUnauthorized: true,
        allowHalfOpen: true,
      },
      (client) => {
        const upstream = net.connect({ path: '/var/run/docker.sock', allowHalfOpen: true });
        open.add(client);
        open.add(upstream);
        client.on('error', () => upstream.destroy());
        upstream.on('error', () => client.destroy());
        client.pipe(upstream);
        upstream.pipe(client);
      },
    );
    const listening = server;
    await new Promise<void>((resolve) => listening.listen(0, '127.0.0.1', resolve));
    const port = (listening.address() as AddressInfo).port;
    const remote = new engine.DockerClient({
      host: `tcp://127.0.0.1:${port}`,
      tls: { ca: read('ca.pem'), cert: read('client.pem'), key: read('client-key.pem') },
    });
    try {
      equal(remote.isLocal(), false, 'isLocal');
      const ping = await remote.system.ping();
      assert(/^\d+\.\d+$/.test(ping.apiVersion ?? ''), `ping over TLS: ${JSON.stringify(ping)}`);
      const run = await remote.exec.run(await sleeper(), ['sh', '-c', 'printf out; printf err >&2; exit 5']);
      equal([run.stdout, run.stderr, run.exitCode], ['out', 'err', 5], 'exec over TLS');
      const piped = await remote.exec.run(await sleeper(), ['sh', '-c', 'read line; echo "got $line"'], { stdin: 'tls\n' });
      equal(piped.stdout, 'got tls\n', 'hijacked exec over TLS');
    } finally {
      await remote.close();
    }
    // Without a client certificate the proxy refuses the handshake: a connection error, not a hang.
    const anonymous = new engine.DockerClient({ host: `tcp://127.0.0.1:${port}`, tls: { ca: read('ca.pem') }, apiVersion: '1.41' });
    try {
      const error = await rejection(anonymous.system.ping(), 'ping without a client certificate');
      assert(engine.isDockerConnectionError(error), `expected DockerConnectionError, got ${String(error)}`);
      assert(
        /closed the TLS connection during or right after the handshake.*it may require a client certificate, and none was given/.test(
          error.message,
        ),
        `the message says what happened: ${error.message}`,
      );
      const hijacked = await rejection(anonymous.exec.start('a'.repeat(64), { stdin: true }), 'hijack without a client certificate');
      assert(/none was given/.test((hijacked as Error).message), `the hijack's message says it too: ${(hijacked as Error).message}`);
    } finally {
      await anonymous.close();
    }
  } finally {
    // Kept-alive connections would hold the server open: end them.
    for (const socket of open) socket.destroy();
    await new Promise<void>((resolve) => (server ? server.close(() => resolve()) : resolve()));
    rmSync(dir, { recursive: true, force: true });
  }
});

// An sshd on loopback (scripts/sshd-up.sh, run by npm test) that runs `docker system dial-stdio`.
const SSH_DIR = proc.env.BERTH_SSH_DIR ?? '/tmp/berth-sshd';
const SSH_PORT = Number(proc.env.BERTH_SSH_PORT ?? 2222);

test('an ssh:// engine through the system ssh: plain, hijacked and streamed requests, a clear login error, nothing left', async () => {
  const config = join(SSH_DIR, 'ssh_config');
  if (!existsSync(config)) throw new AssertionError(`no ${config}: run scripts/sshd-up.sh (npm test does)`);
  const user = spawnSync('id', ['-un'], { encoding: 'utf8' }).stdout.trim();
  const host = `ssh://${user}@127.0.0.1:${SSH_PORT}`;
  const before = new Set(readdirSync(tmpdir()).filter((n) => n.startsWith('berth-ssh-')));
  const remote = new engine.DockerClient({ host, ssh: { args: ['-F', config] } });
  try {
    equal(remote.describe(), { address: host, source: 'option' }, 'describe()');
    equal(remote.isLocal(), false, 'isLocal()');
    const ping = await remote.system.ping();
    assert(/^\d+\.\d+$/.test(ping.apiVersion ?? ''), `ping over ssh: ${JSON.stringify(ping)}`);
    const run = await remote.exec.run(await sleeper(), ['sh', '-c', 'printf out; printf err >&2; exit 6']);
    equal([run.stdout, run.stderr, run.exitCode], ['out', 'err', 6], 'exec over ssh');
    const piped = await remote.exec.run(await sleeper(), ['sh', '-c', 'read line; echo "got $line"'], { stdin: 'ssh\n' });
    equal(piped.stdout, 'got ssh\n', 'hijacked exec over ssh');
    const big = await remote.exec.run(await sleeper(), ['sh', '-c', 'head -c 2000000 /dev/zero | tr "\\0" y']);
    equal(big.stdout.length, 2_000_000, 'bytes of a 2 MB output over ssh');
  } finally {
    await remote.close();
  }
  const stranger = new engine.DockerClient({ host: `ssh://berth-no-such-user@127.0.0.1:${SSH_PORT}`, ssh: { args: ['-F', config] } });
  try {
    const error = await rejection(stranger.system.ping(), 'ping as a user sshd refuses');
    assert(engine.isDockerConnectionError(error), `expected DockerConnectionError, got ${String(error)}`);
    assert(/Permission denied/.test((error as Error).message), `the error says what ssh said: ${(error as Error).message}`);
  } finally {
    await stranger.close();
  }
  const left = readdirSync(tmpdir()).filter((n) => n.startsWith('berth-ssh-') && !before.has(n));
  equal(left, [], 'bridge folders left after close()');
});

// ---------------------------------------------------------------------------------------------
// Executor

let executor: Executor | undefined;
const py = (code: string) => ({ language: 'python', code });

test('executor: start() creates and starts its container', async () => {
  executor = new berth.DockerCommandLineCodeExecutor({ image: PYTHON, labels, timeout: 30 });
  await executor.start();
  const id = executor.containerId;
  assert(id, 'no container id');
  const info = await docker.containers.inspect(id);
  equal(info.State?.Running, true, 'running');
  equal(info.Config?.Labels?.[RUN_LABEL], RUN_ID, 'run label');
}, 120_000);

test('executor: runs a python block', async () => {
  assert(executor, 'not started');
  const result = await executor.executeCodeBlocks([py("import sys\nprint('hello from python', sys.version_info[0])")]);
  equal(result.exitCode, 0, 'exit code');
  equal(result.output, 'hello from python 3\n', 'output');
  equal([result.timedOut, result.cancelled], [false, false], 'timedOut, cancelled');
});

test('executor: runs blocks through the in-container runner (its source ships in the package)', async () => {
  assert(executor, 'not started');
  equal(executor.executionMode, 'runner', 'executionMode');
  const result = await executor.executeCodeBlocks([py('import sys\nprint(__name__, sys.argv[0][:9])\nsys.exit(3)')]);
  equal([result.exitCode, result.output], [3, '__main__ tmp_code_\n'], 'exit code and output');
});

test('executor: persistent sessions keep python state between calls; busybox falls back to exec', async () => {
  const persistent = new berth.DockerCommandLineCodeExecutor({ image: PYTHON, labels, persistent: true });
  const busybox = new berth.DockerCommandLineCodeExecutor({ image: BUSYBOX, labels });
  try {
    await Promise.all([persistent.start(), busybox.start()]);
    await persistent.executeCodeBlocks([py('kept = 41')]);
    const result = await persistent.executeCodeBlocks([py('print(kept + 1)')]);
    equal([result.exitCode, result.output, result.stateLost], [0, '42\n', false], 'persistent result');
    equal(busybox.executionMode, 'exec', 'busybox executionMode');
    const sh = await busybox.executeCodeBlocks([{ language: 'sh', code: 'echo fallback' }]);
    equal([sh.exitCode, sh.output], [0, 'fallback\n'], 'busybox result');
  } finally {
    await Promise.all([persistent.stop(), busybox.stop()]);
  }
}, 120_000);

test('executor: runs a bash block, stdout and stderr kept apart', async () => {
  assert(executor, 'not started');
  const result = await executor.executeCodeBlocks([{ language: 'bash', code: 'echo "hello from $0"; echo oops >&2; exit 0' }]);
  equal(result.exitCode, 0, 'exit code');
  assert(result.stdout.startsWith('hello from'), `stdout ${result.stdout}`);
  equal(result.stderr, 'oops\n', 'stderr');
});

test('executor: times out with exit code 124', async () => {
  const short = new berth.DockerCommandLineCodeExecutor({ image: PYTHON, labels, timeout: 1 });
  await short.start();
  try {
    const started = performance.now();
    const result = await short.executeCodeBlocks([py('import time\ntime.sleep(10)')]);
    equal(result.exitCode, 124, 'exit code');
    equal(result.timedOut, true, 'timedOut');
    assert(result.output.endsWith('\n Timeout'), `output ${result.output}`);
    assert(performance.now() - started < 8000, 'the timeout took too long');
  } finally {
    await short.stop();
  }
}, 120_000);

test('executor: a cancel through an AbortSignal after 1 s ends the run with exit code 1', async () => {
  assert(executor, 'not started');
  const controller = new AbortController();
  setTimeout(() => controller.abort(), 1000);
  const started = performance.now();
  const result = await executor.executeCodeBlocks([{ language: 'bash', code: 'sleep 30' }], controller.signal);
  equal(result.cancelled, true, 'cancelled');
  equal(result.exitCode, 1, 'exit code');
  assert(performance.now() - started < 8000, 'the cancel took too long');
  const after = await executor.executeCodeBlocks([py("print('still usable')")]);
  equal(after.output, 'still usable\n', 'next run');
});

test('executor: stop() removes the container', async () => {
  assert(executor, 'not started');
  const id = executor.containerId as string;
  await executor.stop();
  const error = await rejection(docker.containers.inspect(id), 'inspect after stop');
  assert(engine.isDockerApiError(error) && error.reason === 'notFound', `expected notFound, got ${String(error)}`);
  executor = undefined;
}, 60_000);

test('berth/testing: replayClient answers from a committed recording with no engine, socket or undici', async () => {
  const testing = (await import(targetUrl('testing/index'))) as typeof import('../../src/testing/index.js');
  const replay = testing.replayClient(join(root, 'fixtures/exec'), { order: 'any' });
  const id = '0000000000010000000000000000000000000000000000000000000000000000';
  const result = await replay.exec.run(id, ['sh', '-c', 'printf out; printf err >&2; exit 3']);
  equal([result.stdout, result.stderr, result.exitCode], ['out', 'err', 3], 'replayed exec.run');
  const error = await rejection(replay.exec.run(id, ['true']), 'exec.run of a command that was not recorded');
  assert(testing.isFixtureMismatchError(error), `expected a FixtureMismatchError, got ${String(error)}`);
  assert(String((error as Error).message).includes('body.Cmd[0]: recorded "sh", sent "true"'), `unclear message: ${String(error)}`);
  await replay.close();
});

// ---------------------------------------------------------------------------------------------
// Last: nothing loaded undici (Deno's import map makes it a trap; the trap itself is checked)

if (runtime === 'deno') {
  test('nothing loaded undici during the whole run (and the trap works)', async () => {
    equal(undiciLoads(), 0, 'undici loads');
    const error = await rejection(import('undici' as string), 'importing undici');
    assert(String(error).includes('undici was loaded'), `the trap is not in place: ${String(error)}`);
    equal(undiciLoads(), 1, 'undici loads after the trap check');
  });
}

async function cleanUp(): Promise<void> {
  await executor?.stop().catch(() => {});
  if (!docker) return;
  const left = await docker.containers.list({ all: true, filters: { label: [`${RUN_LABEL}=${RUN_ID}`] } }).catch(() => []);
  for (const container of left) await docker.containers.remove(container.Id, { force: true }).catch(() => {});
  await docker.close();
}

async function main(): Promise<number> {
  console.log(`Berth on ${runtime} (${target}/), run ${RUN_ID}`);
  try {
    berth = (await import(targetUrl('index'))) as Berth;
    engine = (await import(targetUrl('engine/index'))) as Engine;
    auto = (await import(targetUrl('engine/transport/auto'))) as Auto;
  } catch (error) {
    console.log(`cannot import the package from ${target}/ (run \`npm run build\` first): ${String(error)}`);
    console.log('0 passed, 1 failed');
    return 1;
  }
  docker = new engine.DockerClient();
  try {
    return await runAll(runtime);
  } finally {
    await cleanUp().catch((error: unknown) => console.log(`clean-up failed: ${String(error)}`));
  }
}

const failures = await main().catch((error: unknown) => {
  console.log(`the suite crashed: ${String(error)}`);
  console.log('0 passed, 1 failed');
  return 1;
});
// Leave no handle (keep-alive sockets, timers) deciding when the process ends.
await sleep(0);
proc.exit(failures > 0 ? 1 : 0);
