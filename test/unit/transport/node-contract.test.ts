import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { DockerClient } from '../../../src/engine/client.js';
import {
  DockerApiError,
  DockerArgumentError,
  DockerConnectionError,
  DockerStreamError,
  isDockerError,
} from '../../../src/engine/errors.js';
import { concatBytes } from '../../../src/engine/stream/collect.js';
import { demuxStream, encodeFrame, type StdFrame } from '../../../src/engine/stream/demux.js';
import { createNodeTransport } from '../../../src/engine/transport/node.js';
import type { Transport } from '../../../src/engine/transport/types.js';
import { chunk, type FakeEngine, type FakeRoute, jsonResponse, responseHead, startFakeEngine } from '../../helpers/fake-engine.js';

const EXEC_ID = 'e'.repeat(64);
const CONTAINER = 'c0ffee';
const RAW_STREAM_200 = responseHead('200 OK', { 'Content-Type': 'application/vnd.docker.raw-stream' });
const UPGRADED_101 = responseHead('101 UPGRADED', {
  'Content-Type': 'application/vnd.docker.raw-stream',
  Connection: 'Upgrade',
  Upgrade: 'tcp',
});
const MIB = 1024 * 1024;

const enc = new TextEncoder();
const dec = new TextDecoder();
const bytes = (s: string): Uint8Array => enc.encode(s);

/** Deterministic filler. */
function pattern(length: number): Uint8Array {
  const out = new Uint8Array(length);
  for (let i = 0; i < length; i++) out[i] = (i * 131 + (i >>> 7)) & 0xff;
  return out;
}

function split(frames: readonly StdFrame[]): { stdout: Uint8Array; stderr: Uint8Array } {
  return {
    stdout: concatBytes(frames.filter((f) => f.stream === 'stdout').map((f) => f.data)),
    stderr: concatBytes(frames.filter((f) => f.stream === 'stderr').map((f) => f.data)),
  };
}

async function collect(frames: AsyncIterable<StdFrame>): Promise<StdFrame[]> {
  const out: StdFrame[] = [];
  // Copy: a frame's data may be a view of a chunk.
  for await (const frame of frames) out.push({ stream: frame.stream, data: frame.data.slice() });
  return out;
}

/** Awaits a rejection and returns the reason (fails the test if it resolves). */
async function rejection(promise: Promise<unknown>): Promise<unknown> {
  try {
    await promise;
  } catch (error) {
    return error;
  }
  throw new Error('expected a rejection, but the promise resolved');
}

let engine: FakeEngine | undefined;
let transport: Transport | undefined;
let tempDir: string | undefined;
const unhandled: unknown[] = [];
const onUnhandled = (reason: unknown) => unhandled.push(reason);

beforeEach(() => {
  unhandled.length = 0;
  process.on('unhandledRejection', onUnhandled);
});

afterEach(async () => {
  process.off('unhandledRejection', onUnhandled);
  await engine?.close();
  await transport?.close();
  if (tempDir) await rm(tempDir, { recursive: true, force: true });
  engine = undefined;
  transport = undefined;
  tempDir = undefined;
});

async function serve(route: FakeRoute, options: { headersTimeout?: number } = {}): Promise<DockerClient> {
  engine = await startFakeEngine(route);
  transport = createNodeTransport({ kind: 'unix', socketPath: engine.socketPath }, options);
  return new DockerClient({ transport, apiVersion: '1.41' });
}

/** Lets pending promise jobs and rejection tracking run. */
async function settle(): Promise<void> {
  for (let i = 0; i < 5; i++) await new Promise((resolve) => setImmediate(resolve));
}

describe('close-delimited exec output (no stdin)', () => {
  const payloads: Array<[1 | 2, Uint8Array]> = [
    [1, bytes('hello from stdout\n')],
    [2, bytes('a warning\n')],
    [1, pattern(200_000)],
    [2, new Uint8Array(0)],
    [1, bytes('last line, no newline')],
  ];
  const expected = {
    stdout: concatBytes(payloads.filter(([s]) => s === 1).map(([, d]) => d)),
    stderr: concatBytes(payloads.filter(([s]) => s === 2).map(([, d]) => d)),
  };

  const startRoute: FakeRoute = async (request, connection) => {
    if (request.method === 'POST' && request.path === `/v1.41/exec/${EXEC_ID}/start`) {
      await connection.write(RAW_STREAM_200);
      // Frames cut at awkward places: the body is one byte stream, not a message sequence.
      const wire = concatBytes(payloads.map(([s, d]) => encodeFrame(s, d)));
      for (let at = 0; at < wire.length; at += 65_521) await connection.write(wire.subarray(at, at + 65_521));
      await connection.end();
      return;
    }
    await connection.write(jsonResponse('404 Not Found', { message: `unexpected ${request.method} ${request.path}` }));
  };

  it('reads every frame of a body that ends when the engine closes the connection', async () => {
    const docker = await serve(startRoute);
    const stream = await docker.exec.start(EXEC_ID);
    const got = split(await collect(stream));
    expect(Buffer.from(got.stdout).equals(Buffer.from(expected.stdout))).toBe(true);
    expect(dec.decode(got.stderr)).toBe('a warning\n');
    const request = engine?.requests[0];
    expect(request?.headers['content-type']).toBe('application/json');
    expect(JSON.parse(request?.body.toString() ?? '')).toEqual({ Detach: false, Tty: false });
  });

  it('delivers the same bytes through transport.request and demuxStream directly', async () => {
    await serve(startRoute);
    const response = await transport!.request({
      method: 'POST',
      path: `/v1.41/exec/${EXEC_ID}/start`,
      headers: { 'content-type': 'application/json' },
      body: '{"Detach":false,"Tty":false}',
    });
    expect(response.status).toBe(200);
    expect(response.headers['content-type']).toBe('application/vnd.docker.raw-stream');
    expect(response.headers['content-length']).toBeUndefined();
    const got = split(await collect(demuxStream(response.body)));
    expect(Buffer.from(got.stdout).equals(Buffer.from(expected.stdout))).toBe(true);
    expect(Buffer.from(got.stderr).equals(Buffer.from(expected.stderr))).toBe(true);
  });

  it('runs exec.run end to end: create, start, inspect over kept-alive connections', async () => {
    const docker = await serve(async (request, connection) => {
      if (request.method === 'POST' && request.path === `/v1.41/containers/${CONTAINER}/exec`) {
        await connection.write(jsonResponse('201 Created', { Id: EXEC_ID }));
      } else if (request.method === 'POST' && request.path === `/v1.41/exec/${EXEC_ID}/start`) {
        await connection.write(RAW_STREAM_200);
        await connection.write(encodeFrame(1, bytes('out 1\n')));
        await connection.write(encodeFrame(2, bytes('err 1\n')));
        await connection.write(encodeFrame(1, bytes('out 2\n')));
        await connection.end();
      } else if (request.method === 'GET' && request.path === `/v1.41/exec/${EXEC_ID}/json`) {
        await connection.write(jsonResponse('200 OK', { ID: EXEC_ID, Running: false, ExitCode: 3, Pid: 42 }));
      } else {
        await connection.write(jsonResponse('404 Not Found', { message: `unexpected ${request.method} ${request.path}` }));
      }
    });
    const result = await docker.exec.run(CONTAINER, ['sh', '-c', 'echo hi'], { env: { A: '1' }, workingDir: '/w' });
    expect(result).toMatchObject({ execId: EXEC_ID, exitCode: 3, stdout: 'out 1\nout 2\n', stderr: 'err 1\n', truncated: false });
    const create = engine!.requests[0]!;
    expect(JSON.parse(create.body.toString())).toEqual({
      Cmd: ['sh', '-c', 'echo hi'],
      AttachStdout: true,
      AttachStderr: true,
      AttachStdin: false,
      Tty: false,
      Env: ['A=1'],
      WorkingDir: '/w',
    });
    expect(engine!.requests.map((r) => `${r.method} ${r.path}`)).toEqual([
      `POST /v1.41/containers/${CONTAINER}/exec`,
      `POST /v1.41/exec/${EXEC_ID}/start`,
      `GET /v1.41/exec/${EXEC_ID}/json`,
    ]);
  });
});

describe('101 upgrade with stdin', () => {
  /** Echoes stdin back as stdout frames; on the client's half-close sends a last stderr frame and closes. */
  const echoRoute: FakeRoute = async (request, connection) => {
    if (request.method === 'POST' && request.path === `/v1.41/exec/${EXEC_ID}/start`) {
      const early = connection.takeOver();
      const socket = connection.socket;
      socket.on('data', (data: Buffer) => void connection.write(encodeFrame(1, data)));
      socket.on('end', () => {
        void connection.write(encodeFrame(2, bytes('stdin closed\n'))).then(() => connection.end());
      });
      await connection.write(UPGRADED_101);
      if (early.length) await connection.write(encodeFrame(1, early));
      return;
    }
    await connection.write(jsonResponse('404 Not Found', { message: 'unexpected' }));
  };

  it('sends the upgrade request head with Connection: Upgrade, Upgrade: tcp and a Content-Length body', async () => {
    const docker = await serve(echoRoute);
    const stream = await docker.exec.start(EXEC_ID, { stdin: true });
    await stream.end();
    await collect(stream);
    const request = engine!.requests[0]!;
    expect(request.headers.connection).toBe('Upgrade');
    expect(request.headers.upgrade).toBe('tcp');
    expect(request.headers['content-length']).toBe(String(request.body.length));
    expect(JSON.parse(request.body.toString())).toEqual({ Detach: false, Tty: false });
  });

  it('echoes what is written and delivers the frame sent after a real half-close', async () => {
    const docker = await serve(echoRoute);
    const stream = await docker.exec.start(EXEC_ID, { stdin: true });
    const iterator = stream[Symbol.asyncIterator]();
    await stream.write('ping');
    // The echo arrives while our side is still open: the connection is really duplex.
    const first = await iterator.next();
    expect(first.done).toBe(false);
    expect(dec.decode(first.value?.data)).toBe('ping');
    await stream.write(bytes(' pong'));
    await stream.end();
    const rest: StdFrame[] = [];
    for (let next = await iterator.next(); !next.done; next = await iterator.next()) rest.push(next.value);
    const got = split(rest);
    expect(dec.decode(got.stdout)).toBe(' pong');
    // Only a FIN from our side (not a close) lets the engine see the end and still answer.
    expect(dec.decode(got.stderr)).toBe('stdin closed\n');
  });

  it('reads stream bytes that arrive in the same packet as the 101 head', async () => {
    await serve(async (_request, connection) => {
      connection.takeOver();
      await connection.write(
        Buffer.concat([Buffer.from(UPGRADED_101), encodeFrame(1, bytes('same packet')), encodeFrame(2, bytes('then more'))]),
      );
      await connection.end();
    });
    const connection = await transport!.hijack({ method: 'POST', path: `/v1.41/exec/${EXEC_ID}/start`, headers: {}, body: '{}' });
    expect(connection.status).toBe(101);
    expect(connection.headers.upgrade).toBe('tcp');
    const got = split(await collect(demuxStream(connection.body)));
    expect(dec.decode(got.stdout)).toBe('same packet');
    expect(dec.decode(got.stderr)).toBe('then more');
  });

  it('runs exec.run with stdin: the process reads end of input and the exit code follows', async () => {
    const docker = await serve(async (request, connection) => {
      if (request.path === `/v1.41/containers/${CONTAINER}/exec`) {
        await connection.write(jsonResponse('201 Created', { Id: EXEC_ID }));
      } else if (request.path === `/v1.41/exec/${EXEC_ID}/start`) {
        const received: Buffer[] = [connection.takeOver()];
        connection.socket.on('data', (data: Buffer) => received.push(data));
        connection.socket.on('end', () => {
          const text = Buffer.concat(received).toString();
          void connection.write(encodeFrame(1, bytes(text.toUpperCase()))).then(() => connection.end());
        });
        await connection.write(UPGRADED_101);
      } else if (request.path === `/v1.41/exec/${EXEC_ID}/json`) {
        await connection.write(jsonResponse('200 OK', { Running: false, ExitCode: 0 }));
      }
    });
    const result = await docker.exec.run(CONTAINER, ['tr', 'a-z', 'A-Z'], { stdin: 'shout this' });
    expect(result.stdout).toBe('SHOUT THIS');
    expect(result.exitCode).toBe(0);
    expect(JSON.parse(engine!.requests[0]!.body.toString())).toMatchObject({ AttachStdin: true });
  });
});

describe('refused upgrade', () => {
  it('maps a 404 with a Content-Length JSON body to DockerApiError notFound with the daemon message', async () => {
    const docker = await serve(async (_request, connection) => {
      // Keep-alive: the connection stays open, so the body must end at its Content-Length.
      await connection.write(jsonResponse('404 Not Found', { message: 'No such exec instance: x' }));
    });
    const error = await rejection(docker.exec.start(EXEC_ID, { stdin: true }));
    expect(error).toBeInstanceOf(DockerApiError);
    expect(error).toMatchObject({ statusCode: 404, reason: 'notFound', daemonMessage: 'No such exec instance: x', method: 'POST' });
    expect((error as DockerApiError).path).toBe(`/v1.41/exec/${EXEC_ID}/start`);
  });

  it('maps a 404 with a chunked JSON body to DockerApiError notFound with the daemon message', async () => {
    const docker = await serve(async (_request, connection) => {
      await connection.write(responseHead('404 Not Found', { 'Content-Type': 'application/json', 'Transfer-Encoding': 'chunked' }));
      await connection.write(chunk('{"message":"No such '));
      await connection.write(Buffer.concat([chunk('exec instance: x"}'), chunk('\n'), chunk('')]));
      // The connection stays open: the last chunk, not a close, ends the body.
    });
    const error = await rejection(docker.exec.start(EXEC_ID, { stdin: true }));
    expect(error).toBeInstanceOf(DockerApiError);
    expect(error).toMatchObject({ statusCode: 404, reason: 'notFound', daemonMessage: 'No such exec instance: x' });
  });

  it('decodes a chunked refusal that arrives a few bytes at a time, with chunk extensions', async () => {
    const docker = await serve(async (_request, connection) => {
      const wire = Buffer.concat([
        Buffer.from(responseHead('404 Not Found', { 'Content-Type': 'application/json', 'Transfer-Encoding': 'chunked' })),
        Buffer.from('c;name=value\r\n{"message":"\r\n'),
        chunk('No such exec instance: '),
        chunk('x"}'),
        chunk(''),
      ]);
      for (let at = 0; at < wire.length; at += 3) {
        await connection.write(wire.subarray(at, at + 3));
        await new Promise((resolve) => setImmediate(resolve));
      }
    });
    const error = await rejection(docker.exec.start(EXEC_ID, { stdin: true }));
    expect(error).toMatchObject({ name: 'DockerApiError', reason: 'notFound', daemonMessage: 'No such exec instance: x' });
  });

  it('maps a 409 with a close-delimited text body to DockerApiError conflict keeping the text', async () => {
    const docker = await serve(async (_request, connection) => {
      await connection.write(responseHead('409 Conflict', { 'Content-Type': 'text/plain' }));
      await connection.write('container is paused\n');
      await connection.end();
    });
    const error = await rejection(docker.exec.start(EXEC_ID, { stdin: true }));
    expect(error).toMatchObject({ name: 'DockerApiError', reason: 'conflict', daemonMessage: 'container is paused' });
  });
});

describe('abrupt close in the middle of a frame', () => {
  /** A header announcing 100 bytes, 10 of them, then the socket is destroyed. */
  const cutFrame = Buffer.concat([encodeFrame(1, bytes('whole\n')), encodeFrame(1, pattern(100)).subarray(0, 8 + 10)]);

  it('rejects iteration of a close-delimited body with DockerStreamError naming the missing bytes, after the bytes that came', async () => {
    const docker = await serve(async (_request, connection) => {
      await connection.write(RAW_STREAM_200);
      await connection.write(cutFrame);
      connection.destroy();
    });
    const stream = await docker.exec.start(EXEC_ID);
    const seen: StdFrame[] = [];
    const error = await rejection(
      (async () => {
        for await (const frame of stream) seen.push({ stream: frame.stream, data: frame.data.slice() });
      })(),
    );
    // A close-delimited body ends at the close: the transport sees a clean end, the decoder a cut frame.
    expect(error).toBeInstanceOf(DockerStreamError);
    expect((error as Error).message).toMatch(/ended inside a stdout frame.*10 of 100 payload bytes, 90 missing/);
    expect(dec.decode(split(seen).stdout)).toBe(`whole\n${dec.decode(pattern(10))}`);
    await settle();
    expect(unhandled).toEqual([]);
  });

  it('rejects iteration of a hijacked stream with DockerStreamError, never a raw error', async () => {
    const docker = await serve(async (_request, connection) => {
      connection.takeOver();
      await connection.write(UPGRADED_101);
      await connection.write(cutFrame);
      connection.destroy();
    });
    const stream = await docker.exec.start(EXEC_ID, { stdin: true });
    const error = await rejection(collect(stream));
    expect(error).toBeInstanceOf(DockerStreamError);
    expect((error as Error).message).toMatch(/90 missing/);
    await settle();
    expect(unhandled).toEqual([]);
  });

  it('rejects a chunked body cut inside a chunk with DockerConnectionError (the transport knows it is incomplete)', async () => {
    const docker = await serve(async (_request, connection) => {
      await connection.write(
        responseHead('200 OK', { 'Content-Type': 'application/vnd.docker.multiplexed-stream', 'Transfer-Encoding': 'chunked' }),
      );
      await connection.write(chunk(encodeFrame(1, bytes('line\n'))));
      // A chunk header announcing 0x100 bytes, of which 18 arrive.
      await connection.write(Buffer.concat([Buffer.from('100\r\n'), cutFrame.subarray(0, 18)]));
      connection.destroy();
    });
    const logs = await docker.containers.logs(CONTAINER, { tty: false });
    const error = await rejection(collect(logs));
    expect(error).toBeInstanceOf(DockerConnectionError);
    expect(isDockerError(error)).toBe(true);
    expect((error as Error).message).toMatch(/while reading the response/);
    await settle();
    expect(unhandled).toEqual([]);
  });

  it('gives exec.run a typed error when the engine drops the connection mid-frame', async () => {
    const docker = await serve(async (request, connection) => {
      if (request.path.endsWith('/exec')) await connection.write(jsonResponse('201 Created', { Id: EXEC_ID }));
      else {
        await connection.write(RAW_STREAM_200);
        await connection.write(cutFrame);
        connection.destroy();
      }
    });
    const error = await rejection(docker.exec.run(CONTAINER, ['true']));
    expect(isDockerError(error)).toBe(true);
    expect(error).toBeInstanceOf(DockerStreamError);
    await settle();
    expect(unhandled).toEqual([]);
  });
});

describe('timeouts and unreachable engines', () => {
  it('rejects with DockerConnectionError saying the engine did not answer in time when no headers come', async () => {
    const docker = await serve(() => {}, { headersTimeout: 300 });
    const error = await rejection(docker.containers.inspect(CONTAINER));
    expect(error).toBeInstanceOf(DockerConnectionError);
    expect((error as Error).message).toMatch(/did not answer in time/);
    expect((error as DockerConnectionError).tried).toEqual([`unix://${engine!.socketPath}`]);
  });

  it('rejects an upgrade with DockerConnectionError when no response head comes within headersTimeout', async () => {
    await serve((_request, connection) => {
      connection.takeOver();
    });
    const error = await rejection(
      transport!.hijack({ method: 'POST', path: `/v1.41/exec/${EXEC_ID}/start`, headers: {}, body: '{}', headersTimeout: 200 }),
    );
    expect(error).toBeInstanceOf(DockerConnectionError);
    expect((error as Error).message).toMatch(/did not answer in time/);
  });

  it('uses the transport headersTimeout for an upgrade that sets none', async () => {
    await serve(
      (_request, connection) => {
        connection.takeOver();
      },
      { headersTimeout: 200 },
    );
    const error = await rejection(transport!.hijack({ method: 'POST', path: `/v1.41/exec/${EXEC_ID}/start`, headers: {} }));
    expect(error).toBeInstanceOf(DockerConnectionError);
    expect((error as Error).message).toMatch(/did not answer in time/);
  });

  for (const upgrade of [false, true]) {
    it(`rejects with DockerConnectionError when the engine closes ${upgrade ? 'an upgrade' : 'a request'} before answering`, async () => {
      const docker = await serve((_request, connection) => connection.destroy());
      const error = await rejection(upgrade ? docker.exec.start(EXEC_ID, { stdin: true }) : docker.containers.inspect(CONTAINER));
      expect(error).toBeInstanceOf(DockerConnectionError);
      expect((error as Error).message).toMatch(/closed the connection/);
      await settle();
      expect(unhandled).toEqual([]);
    });
  }

  it('refuses a streamed body for an upgrade before opening any connection', async () => {
    await serve(() => {});
    async function* body(): AsyncGenerator<Uint8Array> {
      yield bytes('{}');
    }
    const error = await rejection(transport!.hijack({ method: 'POST', path: '/v1.41/containers/x/attach', headers: {}, body: body() }));
    expect(isDockerError(error)).toBe(true);
    expect((error as Error).message).toMatch(/bytes or text/);
    await settle();
    expect(engine!.connectionCount()).toBe(0);
  });

  it.each([
    [{ kind: 'tcp', host: '127.0.0.1', port: 70000 }, 'endpoint.port'],
    [{ kind: 'tcp', host: '127.0.0.1', port: 0 }, 'endpoint.port'],
    [{ kind: 'tcp', host: '', port: 2375 }, 'endpoint.host'],
    [{ kind: 'unix', socketPath: '' }, 'endpoint.socketPath'],
  ] as const)('rejects the endpoint %j with DockerArgumentError before any I/O', (endpoint, argument) => {
    expect(() => createNodeTransport(endpoint)).toThrow(DockerArgumentError);
    expect(() => createNodeTransport(endpoint)).toThrow(new RegExp(`^${argument.replace('.', '\\.')}: `));
  });

  it('reports unusable TLS material on an upgrade as DockerConnectionError, not a raw error', async () => {
    const tls = createNodeTransport({ kind: 'tcp', host: '127.0.0.1', port: 9, tls: { cert: 'not a PEM', key: 'not a PEM' } });
    const error = await rejection(tls.hijack({ method: 'POST', path: '/v1.41/containers/x/attach', headers: {} }));
    expect(error).toBeInstanceOf(DockerConnectionError);
    expect((error as DockerConnectionError).tried).toEqual(['tcp://127.0.0.1:9']);
    await tls.close();
  });

  it('reports a missing socket as DockerConnectionError ENOENT with the address and what to do', async () => {
    tempDir = await mkdtemp(join(tmpdir(), 'berth-nosock-'));
    const socketPath = join(tempDir, 'docker.sock');
    transport = createNodeTransport({ kind: 'unix', socketPath });
    const docker = new DockerClient({ transport, apiVersion: '1.41' });
    for (const call of [() => docker.system.ping(), () => docker.exec.start(EXEC_ID, { stdin: true })]) {
      const error = await rejection(call());
      expect(error).toBeInstanceOf(DockerConnectionError);
      const connection = error as DockerConnectionError;
      expect(connection.osCode).toBe('ENOENT');
      expect(connection.tried).toContain(`unix://${socketPath}`);
      expect(connection.message).toContain(`unix://${socketPath}`);
      expect(connection.message).toMatch(/is the engine running\?.*DOCKER_HOST/);
    }
  });

  it('reports a regular file at the socket path as DockerConnectionError ECONNREFUSED or ENOTSOCK', async () => {
    tempDir = await mkdtemp(join(tmpdir(), 'berth-notsock-'));
    const socketPath = join(tempDir, 'docker.sock');
    await writeFile(socketPath, 'not a socket');
    transport = createNodeTransport({ kind: 'unix', socketPath });
    const docker = new DockerClient({ transport, apiVersion: '1.41' });
    for (const call of [() => docker.system.ping(), () => docker.exec.start(EXEC_ID, { stdin: true })]) {
      const error = await rejection(call());
      expect(error).toBeInstanceOf(DockerConnectionError);
      expect(['ECONNREFUSED', 'ENOTSOCK']).toContain((error as DockerConnectionError).osCode);
      expect((error as DockerConnectionError).tried).toEqual([`unix://${socketPath}`]);
    }
  });
});

describe('huge error bodies', () => {
  const TOTAL = 50 * MIB;
  const PIECE = 256 * 1024;

  /** Streams TOTAL bytes of 'x' (as one chunk when chunked) until done or the client goes away; returns bytes written. */
  function hugeErrorRoute(mode: 'content-length' | 'chunked', upgrade: boolean, sent: { bytes: number }): FakeRoute {
    return async (_request, connection) => {
      if (upgrade) connection.takeOver();
      const headers: Record<string, string | number> = { 'Content-Type': 'text/plain' };
      if (mode === 'chunked') headers['Transfer-Encoding'] = 'chunked';
      else headers['Content-Length'] = TOTAL;
      await connection.write(responseHead('500 Internal Server Error', headers));
      if (mode === 'chunked') await connection.write(`${TOTAL.toString(16)}\r\n`);
      const piece = Buffer.alloc(PIECE, 'x');
      while (sent.bytes < TOTAL) {
        if (!(await connection.write(piece))) return;
        sent.bytes += PIECE;
      }
      if (mode === 'chunked') await connection.write('\r\n0\r\n\r\n');
    };
  }

  for (const mode of ['content-length', 'chunked'] as const) {
    for (const upgrade of [false, true]) {
      it(`bounds a 50 MiB ${mode} error body of ${upgrade ? 'a refused upgrade' : 'a request'} to 64 KiB without reading it all`, async () => {
        const sent = { bytes: 0 };
        const docker = await serve(hugeErrorRoute(mode, upgrade, sent));
        const call = upgrade ? docker.exec.start(EXEC_ID, { stdin: true }) : docker.containers.inspect(CONTAINER);
        const error = await rejection(call);
        expect(error).toBeInstanceOf(DockerApiError);
        const api = error as DockerApiError;
        expect(api.reason).toBe('internal');
        expect(api.daemonMessage.length).toBeLessThanOrEqual(64 * 1024);
        expect(api.daemonMessage).toMatch(/^x+$/);
        expect(api.message.length).toBeLessThan(64 * 1024 + 200);
        // The client hung up long before the engine could push 50 MiB.
        await settle();
        expect(sent.bytes).toBeLessThan(16 * MIB);
      });
    }
  }
});

describe('abort', () => {
  const reasons: Array<[string, () => unknown]> = [
    ['an Error', () => new Error('caller gave up')],
    ['a non-Error value', () => ({ why: 'caller gave up' })],
  ];

  for (const [label, makeReason] of reasons) {
    it(`rejects a streaming exec body aborted mid-stream with exactly the signal's reason (${label})`, async () => {
      const docker = await serve(async (_request, connection) => {
        await connection.write(RAW_STREAM_200);
        await connection.write(encodeFrame(1, bytes('first\n')));
        // …and then nothing: the process runs on.
      });
      const controller = new AbortController();
      const stream = await docker.exec.start(EXEC_ID, { signal: controller.signal });
      const iterator = stream[Symbol.asyncIterator]();
      const first = await iterator.next();
      expect(dec.decode(first.value?.data)).toBe('first\n');
      const pending = iterator.next();
      const reason = makeReason();
      controller.abort(reason);
      const error = await rejection(pending);
      expect(error).toBe(reason);
      await settle();
      expect(unhandled).toEqual([]);
    });

    it(`rejects a hijacked stream aborted mid-stream with exactly the signal's reason (${label})`, async () => {
      const docker = await serve(async (_request, connection) => {
        connection.takeOver();
        await connection.write(UPGRADED_101);
        await connection.write(encodeFrame(1, bytes('first\n')));
      });
      const controller = new AbortController();
      const stream = await docker.exec.start(EXEC_ID, { stdin: true, signal: controller.signal });
      const iterator = stream[Symbol.asyncIterator]();
      const first = await iterator.next();
      expect(dec.decode(first.value?.data)).toBe('first\n');
      const pending = iterator.next();
      const reason = makeReason();
      controller.abort(reason);
      const error = await rejection(pending);
      expect(error).toBe(reason);
      await settle();
      expect(unhandled).toEqual([]);
    });
  }

  it('rejects an upgrade whose response head never comes with exactly the signal reason when aborted', async () => {
    const docker = await serve((_request, connection) => {
      connection.takeOver();
    });
    const controller = new AbortController();
    const call = docker.exec.start(EXEC_ID, { stdin: true, signal: controller.signal });
    while (engine!.requests.length === 0) await new Promise((resolve) => setImmediate(resolve));
    const reason = { why: 'stop waiting' };
    controller.abort(reason);
    expect(await rejection(call)).toBe(reason);
    await settle();
    expect(unhandled).toEqual([]);
  });

  it('rejects an upgrade aborted while it is still connecting with exactly the signal reason', async () => {
    await serve((_request, connection) => {
      connection.takeOver();
    });
    const controller = new AbortController();
    const call = transport!.hijack({ method: 'POST', path: `/v1.41/exec/${EXEC_ID}/start`, headers: {}, signal: controller.signal });
    // Synchronously: the connection is not established yet.
    const reason = new Error('gave up while connecting');
    controller.abort(reason);
    expect(await rejection(call)).toBe(reason);
    await settle();
    expect(unhandled).toEqual([]);
    expect(engine!.requests).toEqual([]);
  });

  it('rejects a request whose headers never come with exactly the signal reason when aborted', async () => {
    const docker = await serve(() => {});
    const controller = new AbortController();
    const call = docker.containers.inspect(CONTAINER, { signal: controller.signal });
    await new Promise((resolve) => setImmediate(resolve));
    const reason = new Error('stop waiting');
    controller.abort(reason);
    expect(await rejection(call)).toBe(reason);
  });
});
