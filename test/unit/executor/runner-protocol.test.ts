import { describe, expect, it } from 'vitest';
import { encodeMessage, jsonPayload, MessageReader, payloadOf } from '../../../src/executor/runner/protocol.js';

const bytes = (text: string) => new TextEncoder().encode(text);
const text = (data: Uint8Array) => new TextDecoder().decode(data);

describe('runner protocol framing', () => {
  const stream = [
    encodeMessage('H', { protocol: 1, pid: 7 }),
    encodeMessage('O', bytes('hello ')),
    encodeMessage('E', new Uint8Array(0)),
    encodeMessage('O', bytes('wörld\n')),
    encodeMessage('X', { code: 3 }),
  ];
  const all = new Uint8Array(stream.reduce((n, m) => n + m.length, 0));
  let at = 0;
  for (const m of stream) {
    all.set(m, at);
    at += m.length;
  }

  it('encodes type, big-endian length and payload', () => {
    expect([...encodeMessage('C')]).toEqual([0x43, 0, 0, 0, 0]);
    expect([...encodeMessage('O', bytes('ab'))]).toEqual([0x4f, 0, 0, 0, 2, 0x61, 0x62]);
  });

  it('decodes the same messages whatever the chunking: whole, byte by byte, and at every split point', () => {
    const decode = (chunks: Uint8Array[]) => {
      const reader = new MessageReader();
      const out = chunks.flatMap((chunk) => reader.push(chunk));
      expect(reader.pending).toBe(0);
      return out.map((m) => [m.type, text(payloadOf(m))]);
    };
    const expected = decode([all]);
    expect(expected).toEqual([
      ['H', '{"protocol":1,"pid":7}'],
      ['O', 'hello '],
      ['E', ''],
      ['O', 'wörld\n'],
      ['X', '{"code":3}'],
    ]);
    expect(decode([...all].map((b) => Uint8Array.of(b)))).toEqual(expected);
    for (let split = 0; split <= all.length; split++) {
      expect(decode([all.subarray(0, split), all.subarray(split)])).toEqual(expected);
    }
  });

  it('hands a payload that spans chunks on as views of them, and parses JSON payloads', () => {
    const reader = new MessageReader();
    const message = encodeMessage('X', { code: 0, timedOut: false });
    expect(reader.push(message.subarray(0, 9))).toEqual([]);
    expect(reader.pending).toBe(9);
    const [decoded] = reader.push(message.subarray(9));
    expect(decoded?.parts.length).toBe(2);
    expect(jsonPayload(decoded as never)).toEqual({ code: 0, timedOut: false });
  });
});
