import { describe, expect, it } from 'vitest';
import { DockerStreamError } from '../../../src/engine/errors.js';
import { JsonLineDecoder, jsonLines } from '../../../src/engine/stream/json-lines.js';

const utf8 = new TextEncoder();

async function* fromChunks(chunks: Iterable<Uint8Array>): AsyncGenerator<Uint8Array> {
  for (const c of chunks) yield c;
}

async function drain<T>(source: AsyncIterable<T>): Promise<T[]> {
  const out: T[] = [];
  for await (const x of source) out.push(x);
  return out;
}

function decodeAll(chunks: readonly Uint8Array[], options?: { maxLineBytes?: number }): unknown[] {
  const decoder = new JsonLineDecoder(options);
  const out: unknown[] = [];
  for (const c of chunks) out.push(...decoder.push(c));
  out.push(...decoder.end());
  return out;
}

function thrown(fn: () => unknown): unknown {
  try {
    fn();
  } catch (error) {
    return error;
  }
  throw new Error('expected a throw');
}

const progress = [
  { status: 'Pulling from library/busybox', id: 'latest' },
  { status: 'Downloading', progressDetail: { current: 1024, total: 2048 }, progress: '[==>   ] ⏳ 1kB/2kB' },
  { stream: 'Step 1/2 : FROM busybox — 日本語 🐳\n' },
  { status: 'Digest: sha256:abc', aux: { text: 'é"}{\\' } },
  [1, 'two', null, true],
];

describe('JsonLineDecoder / jsonLines', () => {
  it('decodes identically when split at every byte boundary, including inside multi-byte UTF-8 characters', () => {
    const bytes = utf8.encode(`${progress.map((v) => JSON.stringify(v)).join('\n')}\n`);
    // The fixture really has multi-byte characters whose bytes a cut can separate.
    expect(bytes.length).toBeGreaterThan(new TextDecoder().decode(bytes).length);
    for (let cut = 0; cut <= bytes.length; cut++) {
      expect(decodeAll([bytes.subarray(0, cut), bytes.subarray(cut)]), `split at ${cut}`).toEqual(progress);
    }
    const bytewise = Array.from({ length: bytes.length }, (_, i) => bytes.subarray(i, i + 1));
    expect(decodeAll(bytewise)).toEqual(progress);
  });

  it('tolerates CRLF line endings', () => {
    expect(decodeAll([utf8.encode('{"a":1}\r\n{"b":2}\r\n')])).toEqual([{ a: 1 }, { b: 2 }]);
  });

  it('skips blank and whitespace-only lines', () => {
    expect(decodeAll([utf8.encode('\n\n  \n{"a":1}\n\t\r\n\n{"b":2}\n  ')])).toEqual([{ a: 1 }, { b: 2 }]);
    expect(decodeAll([])).toEqual([]);
  });

  it('decodes several objects concatenated on one line', () => {
    const line = '{"status":"a"}{"status":"}{ \\" ["} [1,{"x":[2]}]  {"s":"\\\\"}\n';
    expect(decodeAll([utf8.encode(line)])).toEqual([{ status: 'a' }, { status: '}{ " [' }, [1, { x: [2] }], { s: '\\' }]);
  });

  it('parses a final line that has no trailing newline', () => {
    const decoder = new JsonLineDecoder();
    expect(decoder.push(utf8.encode('{"a":1}\n{"b":'))).toEqual([{ a: 1 }]);
    expect(decoder.push(utf8.encode('2}'))).toEqual([]);
    expect(decoder.end()).toEqual([{ b: 2 }]);
  });

  it('throws DockerStreamError quoting the first 200 characters of an invalid line', () => {
    const line = `{"status": ${'x'.repeat(300)}}`;
    const error = thrown(() => decodeAll([utf8.encode(`{"ok":true}\n${line}\n`)]));
    expect(error).toBeInstanceOf(DockerStreamError);
    const message = (error as Error).message;
    expect(message).toContain(line.slice(0, 200));
    expect(message).not.toContain(line.slice(0, 201));
  });

  it('throws DockerStreamError for invalid JSON in concatenated values and in a last unterminated line', () => {
    expect(() => decodeAll([utf8.encode('{"a":1}{"b":}\n')])).toThrow(DockerStreamError);
    expect(() => decodeAll([utf8.encode('{"a":1}{"b":2\n')])).toThrow(DockerStreamError);
    expect(() => decodeAll([utf8.encode('{"a":1}\nnot json')])).toThrow(/invalid JSON.*not json/);
  });

  it('throws DockerStreamError for a line longer than maxLineBytes', () => {
    expect(decodeAll([utf8.encode('{"a":"12345"}\n')], { maxLineBytes: 13 })).toEqual([{ a: '12345' }]);
    const error = thrown(() => decodeAll([utf8.encode('{"a":"123456"}\n')], { maxLineBytes: 13 }));
    expect(error).toBeInstanceOf(DockerStreamError);
    expect((error as Error).message).toContain('13 bytes');
  });

  it('stops accumulating an over-long line before it ends', () => {
    const decoder = new JsonLineDecoder({ maxLineBytes: 1024 });
    const chunk = utf8.encode('"'.concat('a'.repeat(499)));
    decoder.push(chunk);
    decoder.push(chunk);
    // The third chunk takes the unfinished line over the limit: an error now, not at the newline.
    expect(() => decoder.push(chunk)).toThrow(DockerStreamError);
    expect(() => decoder.push(utf8.encode('"\n'))).toThrow(DockerStreamError);
  });

  it('jsonLines yields values lazily and closes the source on early exit', async () => {
    let returned = false;
    let pulled = 0;
    const source: AsyncIterable<Uint8Array> = {
      [Symbol.asyncIterator]: () => ({
        next: async () => {
          pulled++;
          return { done: false, value: utf8.encode(`{"n":${pulled}}\n`) };
        },
        return: async () => {
          returned = true;
          return { done: true, value: undefined };
        },
      }),
    };
    const seen: unknown[] = [];
    for await (const value of jsonLines<{ n: number }>(source)) {
      seen.push(value);
      if (value.n === 2) break;
    }
    expect(seen).toEqual([{ n: 1 }, { n: 2 }]);
    expect(pulled).toBe(2);
    expect(returned).toBe(true);
  });

  it('jsonLines parses a trailing line at the end of the source', async () => {
    const values = await drain(jsonLines(fromChunks([utf8.encode('{"a":1}\n{"b"'), utf8.encode(':2}')])));
    expect(values).toEqual([{ a: 1 }, { b: 2 }]);
  });

  it('jsonLines rejects with DockerStreamError on invalid JSON', async () => {
    await expect(drain(jsonLines(fromChunks([utf8.encode('{"a":1}\n{oops}\n')])))).rejects.toBeInstanceOf(DockerStreamError);
  });
});
