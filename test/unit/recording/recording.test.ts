import { readdirSync } from 'node:fs';
import { setupServer } from 'msw/node';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { encodeFrame } from '../../../src/engine/stream/demux.js';
import { createFetchTransport } from '../../../src/engine/transport/fetch.js';
import type { HijackedConnection, Transport, TransportRequest, TransportResponse } from '../../../src/engine/transport/types.js';
import { base64ToBytes, bytesToBase64, type RecordedExchange, recordedBodyBytes } from '../../../src/testing/format.js';
import { createRecordingTransport } from '../../../src/testing/recorder.js';
import { FIXTURES_DIR, fixtureHandlers, loadFixtures, REPLAY_BASE_URL, ReplayTracker } from '../../helpers/replay.js';

const utf8 = new TextEncoder();

/** A transport that answers every request with the next canned response. */
function fakeTransport(responses: Array<{ status?: number; headers?: Record<string, string>; chunks: Uint8Array[] }>): Transport & {
  sent: TransportRequest[];
  cancelled: number;
} {
  const sent: TransportRequest[] = [];
  const fake = {
    address: 'fake://engine',
    sent,
    cancelled: 0,
    async request(request: TransportRequest): Promise<TransportResponse> {
      sent.push(request);
      if (request.body !== undefined && typeof request.body !== 'string' && !(request.body instanceof Uint8Array)) {
        const chunks: Uint8Array[] = [];
        for await (const chunk of request.body) chunks.push(chunk);
        request.body = concat(chunks);
      }
      const next = responses.shift();
      if (!next) throw new Error('no canned response left');
      async function* body() {
        for (const chunk of next?.chunks ?? []) yield chunk;
      }
      const iterator = body();
      return {
        status: next.status ?? 200,
        headers: next.headers ?? {},
        body: {
          [Symbol.asyncIterator]: () => iterator,
          async cancel() {
            fake.cancelled++;
            await iterator.return(undefined);
          },
        },
      };
    },
    async hijack(): Promise<HijackedConnection> {
      throw new Error('hijacked');
    },
    async close() {},
  };
  return fake;
}

function concat(chunks: readonly Uint8Array[]): Uint8Array {
  const out = new Uint8Array(chunks.reduce((n, c) => n + c.length, 0));
  let offset = 0;
  for (const c of chunks) {
    out.set(c, offset);
    offset += c.length;
  }
  return out;
}

async function readAll(response: TransportResponse): Promise<Uint8Array> {
  const chunks: Uint8Array[] = [];
  for await (const chunk of response.body) chunks.push(chunk);
  await response.body.cancel();
  return concat(chunks);
}

describe('createRecordingTransport', () => {
  it('passes the body through and records JSON, dropping volatile headers and all request headers but content-type', async () => {
    const inner = fakeTransport([
      {
        status: 201,
        headers: { 'content-type': 'application/json', date: 'Tue', 'content-length': '11', server: 'Docker', 'api-version': '1.41' },
        chunks: [utf8.encode('{"Id":'), utf8.encode('"abc"}')],
      },
    ]);
    const exchanges: RecordedExchange[] = [];
    const transport = createRecordingTransport(inner, (r) => exchanges.push(r.exchange));
    const response = await transport.request({
      method: 'POST',
      path: '/v1.41/containers/create',
      headers: { 'content-type': 'application/json', 'x-registry-auth': 'secret' },
      body: '{"Image":"busybox"}',
    });
    expect(new TextDecoder().decode(await readAll(response))).toBe('{"Id":"abc"}');
    expect(exchanges).toEqual([
      {
        request: {
          method: 'POST',
          path: '/v1.41/containers/create',
          headers: { 'content-type': 'application/json' },
          body: { json: { Image: 'busybox' } },
        },
        response: { status: 201, headers: { 'api-version': '1.41', 'content-type': 'application/json' }, body: { json: { Id: 'abc' } } },
      },
    ]);
    expect(inner.sent[0]?.headers['x-registry-auth']).toBe('secret');
  });

  it('reports once the body is cancelled, reading the rest of a body of known length', async () => {
    const inner = fakeTransport([
      { headers: { 'content-type': 'text/plain', 'content-length': '2' }, chunks: [utf8.encode('O'), utf8.encode('K')] },
    ]);
    const exchanges: RecordedExchange[] = [];
    const response = await createRecordingTransport(inner, (r) => exchanges.push(r.exchange)).request({
      method: 'GET',
      path: '/_ping',
      headers: {},
    });
    expect(exchanges).toEqual([]);
    await response.body.cancel();
    expect(exchanges[0]?.response).toEqual({ status: 200, headers: { 'content-type': 'text/plain' }, body: { text: 'OK' } });
    expect(inner.cancelled).toBe(1);
  });

  it('marks a stream cancelled before its end without a length as truncated', async () => {
    const inner = fakeTransport([
      { headers: { 'content-type': 'application/json' }, chunks: [utf8.encode('{"a":1}\n'), utf8.encode('{"a":2}\n')] },
    ]);
    const exchanges: RecordedExchange[] = [];
    const response = await createRecordingTransport(inner, (r) => exchanges.push(r.exchange)).request({
      method: 'GET',
      path: '/v1.41/events',
      headers: {},
    });
    for await (const _ of response.body) break;
    await response.body.cancel();
    expect(exchanges).toHaveLength(1);
    expect(exchanges[0]?.response.body).toEqual({ jsonLines: [{ a: 1 }] });
    expect(exchanges[0]?.response.truncated).toBe(true);
  });

  it('records exec output as frames (text or base64), or as text when the exec has a TTY', async () => {
    const multiplexed = concat([
      encodeFrame(1, utf8.encode('out')),
      encodeFrame(2, new Uint8Array([0xff, 0xfe])),
      encodeFrame(2, utf8.encode('err')),
    ]);
    const inner = fakeTransport([
      { headers: { 'content-type': 'application/vnd.docker.raw-stream' }, chunks: [multiplexed.subarray(0, 5), multiplexed.subarray(5)] },
      { headers: { 'content-type': 'application/vnd.docker.raw-stream' }, chunks: [utf8.encode('tty output\r\n')] },
    ]);
    const exchanges: RecordedExchange[] = [];
    const transport = createRecordingTransport(inner, (r) => exchanges.push(r.exchange));
    const start = (tty: boolean) =>
      transport.request({
        method: 'POST',
        path: '/v1.41/exec/abc/start',
        headers: { 'content-type': 'application/json' },
        body: JSON.stringify({ Detach: false, Tty: tty }),
      });
    expect(await readAll(await start(false))).toEqual(multiplexed);
    await readAll(await start(true));
    expect(exchanges[0]?.response.body).toEqual({
      frames: [
        { stream: 'stdout', text: 'out' },
        { stream: 'stderr', base64: '//4=' },
        { stream: 'stderr', text: 'err' },
      ],
    });
    expect(exchanges[1]?.response.body).toEqual({ text: 'tty output\r\n' });
    expect(recordedBodyBytes(exchanges[0]?.response.body ?? null)).toEqual(multiplexed);
  });

  it('copies a streamed request body without changing what is sent, and records tar bodies as base64', async () => {
    const inner = fakeTransport([{ status: 200, chunks: [] }]);
    const exchanges: RecordedExchange[] = [];
    async function* tar() {
      yield new Uint8Array([1, 2, 3]);
      yield new Uint8Array([4, 5]);
    }
    const response = await createRecordingTransport(inner, (r) => exchanges.push(r.exchange)).request({
      method: 'PUT',
      path: '/v1.41/containers/abc/archive?path=%2Ftmp',
      headers: { 'content-type': 'application/x-tar' },
      body: tar(),
    });
    await readAll(response);
    expect(inner.sent[0]?.body).toEqual(new Uint8Array([1, 2, 3, 4, 5]));
    expect(exchanges[0]?.request.body).toEqual({ base64: bytesToBase64(new Uint8Array([1, 2, 3, 4, 5])) });
    expect(exchanges[0]?.response.body).toBeNull();
  });

  it('numbers exchanges in request order even when bodies finish in another order', async () => {
    const inner = fakeTransport([
      { headers: { 'content-type': 'text/plain' }, chunks: [utf8.encode('first')] },
      { headers: { 'content-type': 'text/plain' }, chunks: [utf8.encode('second')] },
    ]);
    const seen: Array<[number, string]> = [];
    const transport = createRecordingTransport(inner, (r) => seen.push([r.sequence, r.exchange.request.path]));
    const a = await transport.request({ method: 'GET', path: '/a', headers: {} });
    const b = await transport.request({ method: 'GET', path: '/b', headers: {} });
    await readAll(b);
    await readAll(a);
    expect(seen).toEqual([
      [1, '/b'],
      [0, '/a'],
    ]);
  });

  it('records a hijacked connection with what was written to it', async () => {
    const written: Uint8Array[] = [];
    const inner: Transport = {
      ...fakeTransport([]),
      async hijack(): Promise<HijackedConnection> {
        async function* body() {
          yield encodeFrame(1, utf8.encode('HI\n'));
        }
        const iterator = body();
        return {
          status: 101,
          headers: { 'content-type': 'application/vnd.docker.raw-stream', upgrade: 'tcp' },
          body: { [Symbol.asyncIterator]: () => iterator, cancel: async () => {} },
          async write(data) {
            written.push(typeof data === 'string' ? utf8.encode(data) : data);
          },
          async closeWrite() {},
          close() {},
        };
      },
    };
    const exchanges: RecordedExchange[] = [];
    const transport = createRecordingTransport(inner, (r) => exchanges.push(r.exchange));
    const connection = await transport.hijack({
      method: 'POST',
      path: '/v1.41/exec/abc/start',
      headers: { 'content-type': 'application/json' },
      body: '{"Detach":false,"Tty":false}',
    });
    await connection.write('hi\n');
    await connection.closeWrite();
    await readAll(connection);
    expect(written.map((b) => new TextDecoder().decode(b))).toEqual(['hi\n']);
    expect(exchanges).toEqual([
      {
        request: {
          method: 'POST',
          path: '/v1.41/exec/abc/start',
          headers: { 'content-type': 'application/json' },
          body: { json: { Detach: false, Tty: false } },
          stdin: { text: 'hi\n' },
        },
        response: {
          status: 101,
          headers: { 'content-type': 'application/vnd.docker.raw-stream', upgrade: 'tcp' },
          body: { frames: [{ stream: 'stdout', text: 'HI\n' }] },
        },
        hijacked: true,
      },
    ]);
    expect(transport.address).toBe('fake://engine');
  });

  it('base64 helpers round-trip bodies larger than one btoa slice', () => {
    const bytes = new Uint8Array(100_000).map((_, i) => (i * 7) & 0xff);
    const back = base64ToBytes(bytesToBase64(bytes));
    expect(Buffer.from(back).equals(Buffer.from(bytes))).toBe(true);
    expect(bytesToBase64(utf8.encode('hi?'))).toBe('aGk/');
  });
});

describe('recording a replay reproduces every committed fixture', () => {
  const scenarios = readdirSync(FIXTURES_DIR, { withFileTypes: true })
    .filter((entry) => entry.isDirectory())
    .map((entry) => entry.name);
  // One scenario at a time: scenarios share fake IDs, so their requests overlap.
  const server = setupServer();
  beforeAll(() => server.listen({ onUnhandledRequest: 'error' }));
  afterAll(() => server.close());

  it('finds the scenarios', () => {
    expect(scenarios).toEqual(expect.arrayContaining(['archive', 'containers', 'events', 'exec', 'images', 'system']));
  });

  for (const scenario of scenarios.map((name) => loadFixtures(name))) {
    it(scenario.name, async () => {
      const tracker = new ReplayTracker(scenario.exchanges);
      server.resetHandlers(...fixtureHandlers(scenario.exchanges, { tracker }));
      const recorded: RecordedExchange[] = [];
      const transport = createRecordingTransport(createFetchTransport({ baseUrl: REPLAY_BASE_URL }), (r) => recorded.push(r.exchange));
      for (const exchange of scenario.exchanges) {
        const { request } = exchange;
        const response = await transport.request({
          method: request.method,
          path: request.path,
          headers: { ...request.headers },
          body: request.body === null ? undefined : recordedBodyBytes(request.body),
        });
        await readAll(response);
      }
      expect(recorded).toEqual(scenario.exchanges);
      tracker.assertAllUsed();
    });
  }
});
