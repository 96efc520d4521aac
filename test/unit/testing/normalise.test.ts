import { describe, expect, it } from 'vitest';
import { FIXED_TIME, FIXED_UNIX, fakeId, Normaliser, normaliseTar } from '../../../src/testing/normalise.js';
import { difference } from '../../../src/testing/replay.js';

const ID_A = 'a'.repeat(64);
const ID_B = `${'b'.repeat(63)}c`;
const UUID = '3f2a1b2c-1111-4222-8333-111111111111';

describe('Normaliser', () => {
  it('gives the n-th distinct ID the n-th placeholder, the same everywhere, keeping its length', () => {
    const n = new Normaliser();
    expect(n.text(`/containers/${ID_A}/start`)).toBe(`/containers/${fakeId(1)}/start`);
    expect(n.text(`${ID_B} ${ID_A}`)).toBe(`${fakeId(2)} ${fakeId(1)}`);
    expect(n.text('sha1 0123456789abcdef0123456789abcdef01234567')).toBe(`sha1 ${fakeId(1, 40)}`);
    // A short ID that is a prefix of a known ID becomes the placeholder's prefix.
    expect(n.text(`host ${ID_A.slice(0, 12)}`)).toBe(`host ${fakeId(1).slice(0, 12)}`);
  });

  it('replaces generated UUIDs, block nonces (and their later occurrences) and mkdtemp folders', () => {
    const n = new Normaliser({ tmpRoots: ['/tmp'] });
    expect(n.text(`autogen-code-exec-${UUID}`)).toBe('autogen-code-exec-00000000-0000-4000-8000-000000000001');
    expect(n.text('BERTH_BLOCK=0123456789abcdef01234567')).toBe('BERTH_BLOCK=n00000000001000000000000');
    expect(n.text('kill TERM 0123456789abcdef01234567')).toBe('kill TERM n00000000001000000000000');
    expect(n.text('/tmp/berth-Ab3xYz:/workspace:rw')).toBe('/berth-tmp-1:/workspace:rw');
    expect(n.text('/tmp/missing.txt')).toBe('/tmp/missing.txt');
  });

  it('fixes timestamps (not the zero time), unix times, PIDs, the host name and query times', () => {
    const n = new Normaliser({ hostName: 'my-laptop' });
    const request = n.request({
      method: 'GET',
      path: '/v1.41/events?since=1733000000&until=1733000100.5',
      headers: {},
      body: {
        json: {
          time: 1733000000,
          at: '2026-12-04T18:00:00.123Z',
          zero: '0001-01-01T00:00:00Z',
          Pid: 77,
          Labels: { 'berth.host.pid': '1234', 'berth.host.name': 'my-laptop' },
        },
      },
    });
    expect(request.path).toBe(`/v1.41/events?since=${FIXED_UNIX}&until=${FIXED_UNIX + 60}`);
    expect(request.body).toEqual({
      json: {
        time: FIXED_UNIX,
        at: FIXED_TIME,
        zero: '0001-01-01T00:00:00Z',
        Pid: 4242,
        Labels: { 'berth.host.pid': '4242', 'berth.host.name': 'docker-host' },
      },
    });
  });

  it('restores this run’s values in answers, and lets an engine-made placeholder stand for itself', () => {
    // Replay side: the code sent a new UUID; the recorded answer holds its placeholder.
    const n = new Normaliser();
    expect(n.text(`name=x-${UUID}`)).toBe('name=x-00000000-0000-4000-8000-000000000001');
    expect(n.restoreText('/x-00000000-0000-4000-8000-000000000001')).toBe(`/x-${UUID}`);
    // An ID the engine made (never sent by this run) stays a placeholder, and the numbering goes on after it.
    expect(n.restoreText(fakeId(1))).toBe(fakeId(1));
    expect(n.text(`/containers/${fakeId(1)}/start`)).toBe(`/containers/${fakeId(1)}/start`);
    expect(n.text(ID_A)).toBe(fakeId(2));
  });
});

describe('normaliseTar', () => {
  function header(mtime: number): Uint8Array {
    const out = new Uint8Array(1024);
    const put = (at: number, text: string) => {
      for (let i = 0; i < text.length; i++) out[at + i] = text.charCodeAt(i);
    };
    put(0, 'a.txt');
    put(124, '00000000001\0');
    put(136, `${mtime.toString(8).padStart(11, '0')}\0`);
    put(148, '        ');
    put(257, 'ustar\x0000');
    let sum = 0;
    for (let i = 0; i < 512; i++) sum += out[i] as number;
    put(148, `${sum.toString(8).padStart(6, '0')}\0 `);
    out[512] = 65;
    return out;
  }

  it('sets every entry’s mtime to the fixed time with a valid checksum; other bytes are kept', () => {
    const fixed = normaliseTar(header(1_733_000_000));
    expect(fixed).toEqual(header(FIXED_UNIX));
  });

  it('leaves what is not a tar archive alone', () => {
    const bytes = new TextEncoder().encode('not a tar');
    expect(normaliseTar(bytes)).toBe(bytes);
  });
});

describe('difference', () => {
  const base = {
    method: 'POST' as const,
    path: '/v1.41/containers/create?name=a',
    headers: { 'content-type': 'application/json' },
    body: { json: { Cmd: ['a', 'b'], Env: { X: '1' } } },
  };

  it('says nothing for the same request (query order and JSON key order aside)', () => {
    expect(difference(base, { ...base, body: { json: { Env: { X: '1' }, Cmd: ['a', 'b'] } } })).toBeUndefined();
    const q = { ...base, path: '/v1.41/x?b=2&a=1' };
    expect(difference(q, { ...q, path: '/v1.41/x?a=1&b=2' })).toBeUndefined();
  });

  it('names the first JSON field that differs, the query, the path or the method', () => {
    expect(difference(base, { ...base, body: { json: { Cmd: ['a', 'c'], Env: { X: '1' } } } })).toBe('body.Cmd[1]: recorded "b", sent "c"');
    expect(difference(base, { ...base, body: { json: { Cmd: ['a', 'b'] } } })).toBe('body.Env: recorded {"X":"1"}, sent nothing');
    expect(difference(base, { ...base, path: '/v1.41/containers/create?name=b' })).toBe('query: recorded name=a, sent name=b');
    expect(difference(base, { ...base, path: '/v1.41/containers/json' })).toBe(
      'path: recorded /v1.41/containers/create, sent /v1.41/containers/json',
    );
    expect(difference(base, { ...base, method: 'GET' })).toBe('method: recorded POST, sent GET');
  });

  it('points at the first differing byte of other bodies', () => {
    const a = { ...base, headers: {}, body: { text: 'hello world' } };
    expect(difference(a, { ...a, body: { text: 'hello there' } })).toBe(
      'body: recorded 11 bytes, sent 11 bytes; first difference at byte 6: recorded …"hello world"…, sent …"hello there"…',
    );
  });
});
