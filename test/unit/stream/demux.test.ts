import { describe, expect, it } from 'vitest';
import { DockerStreamError } from '../../../src/engine/errors.js';
import { concatBytes } from '../../../src/engine/stream/collect.js';
import { demuxStream, encodeFrame, FrameDecoder, rawStream, type StdFrame, type StdStreamName } from '../../../src/engine/stream/demux.js';

const utf8 = new TextEncoder();
const text = (s: string): Uint8Array => utf8.encode(s);

/** Deterministic filler bytes. */
function pattern(length: number, seed: number): Uint8Array {
  const out = new Uint8Array(length);
  for (let i = 0; i < length; i++) out[i] = (i * 31 + seed * 7 + (i >>> 8)) & 0xff;
  return out;
}

/** Byte equality via memcmp (fast enough for the O(n^2) every-split test). */
function sameBytes(a: Uint8Array, b: Uint8Array): boolean {
  return Buffer.from(a.buffer, a.byteOffset, a.byteLength).equals(Buffer.from(b.buffer, b.byteOffset, b.byteLength));
}

type Run = [StdStreamName, number];

/** Per-stream bytes plus the runs of consecutive same-stream bytes (stream switches, in order). */
interface Decoded {
  stdout: Uint8Array;
  stderr: Uint8Array;
  runs: Run[];
}

function summarise(frames: readonly StdFrame[]): Decoded {
  const out: Uint8Array[] = [];
  const err: Uint8Array[] = [];
  const runs: Run[] = [];
  for (const f of frames) {
    if (f.data.length === 0) continue;
    (f.stream === 'stdout' ? out : err).push(f.data);
    const last = runs[runs.length - 1];
    if (last && last[0] === f.stream) last[1] += f.data.length;
    else runs.push([f.stream, f.data.length]);
  }
  return { stdout: concatBytes(out), stderr: concatBytes(err), runs };
}

const fixtureFrames: Array<[0 | 1 | 2, Uint8Array]> = [
  [1, text('hello from stdout\n')],
  [2, text('a warning on stderr\n')],
  [1, new Uint8Array(0)],
  [1, pattern(70000, 1)],
  [2, text('more stderr')],
  [2, pattern(300, 2)],
  [0, text('stdin is reported as stdout')],
  [1, text('bye\n')],
];
const fixture = concatBytes(fixtureFrames.map(([t, d]) => encodeFrame(t, d)));
const expected: Decoded = summarise(fixtureFrames.map(([t, d]) => ({ stream: t === 2 ? 'stderr' : 'stdout', data: d })));

function expectDecoded(actual: Decoded, label: string): void {
  expect(sameBytes(actual.stdout, expected.stdout), `${label}: stdout bytes`).toBe(true);
  expect(sameBytes(actual.stderr, expected.stderr), `${label}: stderr bytes`).toBe(true);
  expect(actual.runs, `${label}: stream switches`).toEqual(expected.runs);
}

async function* fromChunks(chunks: Iterable<Uint8Array>): AsyncGenerator<Uint8Array> {
  for (const c of chunks) yield c;
}

async function drain<T>(source: AsyncIterable<T>): Promise<T[]> {
  const out: T[] = [];
  for await (const x of source) out.push(x);
  return out;
}

async function rejection(promise: Promise<unknown>): Promise<unknown> {
  try {
    await promise;
  } catch (error) {
    return error;
  }
  throw new Error('expected a rejection');
}

function thrown(fn: () => unknown): unknown {
  try {
    fn();
  } catch (error) {
    return error;
  }
  throw new Error('expected a throw');
}

describe('FrameDecoder / demuxStream', () => {
  it('has the expected run structure in its fixture (sanity check)', () => {
    expect(expected.runs.map((r) => r[0])).toEqual(['stdout', 'stderr', 'stdout', 'stderr', 'stdout']);
    expect(fixture.length).toBeGreaterThan(70000);
  });

  it('decodes identically when split at every byte boundary', () => {
    for (let cut = 0; cut <= fixture.length; cut++) {
      const decoder = new FrameDecoder();
      const frames = [...decoder.push(fixture.subarray(0, cut)), ...decoder.push(fixture.subarray(cut))];
      decoder.end();
      const actual = summarise(frames);
      // Check cheaply on every split, and with full diagnostics only when something differs.
      if (
        !sameBytes(actual.stdout, expected.stdout) ||
        !sameBytes(actual.stderr, expected.stderr) ||
        actual.runs.length !== expected.runs.length ||
        actual.runs.some((r, i) => r[0] !== expected.runs[i]?.[0] || r[1] !== expected.runs[i]?.[1])
      ) {
        expectDecoded(actual, `split at ${cut}`);
      }
    }
  }, 60_000);

  it('decodes identically when fed one byte at a time', async () => {
    function* bytewise(): Generator<Uint8Array> {
      for (let i = 0; i < fixture.length; i++) yield fixture.subarray(i, i + 1);
    }
    const frames = await drain(demuxStream(fromChunks(bytewise())));
    expectDecoded(summarise(frames), 'byte at a time');
  });

  it('decodes the whole stream given as one chunk', async () => {
    expectDecoded(summarise(await drain(demuxStream(fromChunks([fixture])))), 'one chunk');
  });

  it('emits payload bytes as they arrive instead of buffering the whole frame', () => {
    const frame = encodeFrame(1, pattern(1000, 3));
    const decoder = new FrameDecoder();
    expect(decoder.push(frame.subarray(0, 5))).toEqual([]);
    const first = decoder.push(frame.subarray(5, 108));
    expect(first).toHaveLength(1);
    expect(first[0]?.stream).toBe('stdout');
    expect(first[0]?.data).toEqual(frame.subarray(8, 108));
    const rest = decoder.push(frame.subarray(108));
    expect(rest.reduce((n, f) => n + f.data.length, 0)).toBe(900);
    decoder.end();
  });

  it('reports stdin frames (type 0) as stdout and skips zero-length frames', () => {
    const decoder = new FrameDecoder();
    const frames = decoder.push(concatBytes([encodeFrame(0, text('in')), encodeFrame(2, new Uint8Array(0))]));
    decoder.end();
    expect(frames).toEqual([{ stream: 'stdout', data: text('in') }]);
  });

  it('splits emitted pieces to at most maxChunk bytes', async () => {
    const frames = await drain(demuxStream(fromChunks([fixture]), { maxChunk: 1000 }));
    expect(Math.max(...frames.map((f) => f.data.length))).toBeLessThanOrEqual(1000);
    expectDecoded(summarise(frames), 'maxChunk 1000');
  });

  it('throws DockerStreamError carrying the engine message for stream type 3', async () => {
    const stream = concatBytes([encodeFrame(1, text('partial output')), encodeFrame(3, text('container exploded\n'))]);
    const error = thrown(() => new FrameDecoder().push(stream));
    expect(error).toBeInstanceOf(DockerStreamError);
    expect((error as Error).message).toBe('engine reported an error in the stream: container exploded');

    // Through the generator, split inside the error payload: output before it still arrives.
    const seen: StdFrame[] = [];
    const error2 = await rejection(
      (async () => {
        for await (const f of demuxStream(fromChunks([stream.subarray(0, 30), stream.subarray(30)]))) seen.push(f);
      })(),
    );
    expect(error2).toBeInstanceOf(DockerStreamError);
    expect((error2 as Error).message).toContain('container exploded');
    expect(summarise(seen).stdout).toEqual(text('partial output'));
  });

  it('throws DockerStreamError naming the type and offset for an unknown stream type', () => {
    const stream = concatBytes([encodeFrame(1, text('ok')), new Uint8Array([7, 0, 0, 0, 0, 0, 0, 1, 65])]);
    const decoder = new FrameDecoder();
    const error = thrown(() => decoder.push(stream));
    expect(error).toBeInstanceOf(DockerStreamError);
    expect((error as Error).message).toBe('unknown stream type 7 at byte offset 10');
    // The decoder stays failed.
    expect(() => decoder.push(new Uint8Array(1))).toThrow(DockerStreamError);
    expect(() => decoder.end()).toThrow(DockerStreamError);
  });

  it('throws DockerStreamError from end() when the input stops inside a header', async () => {
    const decoder = new FrameDecoder();
    decoder.push(concatBytes([encodeFrame(1, text('ok')), new Uint8Array([1, 0, 0])]));
    const error = thrown(() => decoder.end());
    expect(error).toBeInstanceOf(DockerStreamError);
    expect((error as Error).message).toMatch(/header.*3 of 8.*5 missing/);

    const error2 = await rejection(drain(demuxStream(fromChunks([new Uint8Array([2, 0, 0, 0, 0])]))));
    expect(error2).toBeInstanceOf(DockerStreamError);
  });

  it('throws DockerStreamError from end() when the input stops inside a payload', async () => {
    const frame = encodeFrame(2, pattern(100, 4));
    const decoder = new FrameDecoder();
    decoder.push(frame.subarray(0, 50));
    const error = thrown(() => decoder.end());
    expect(error).toBeInstanceOf(DockerStreamError);
    expect((error as Error).message).toMatch(/stderr.*42 of 100.*58 missing/);

    const error2 = await rejection(drain(demuxStream(fromChunks([frame.subarray(0, 107)]))));
    expect(error2).toBeInstanceOf(DockerStreamError);
    expect((error2 as Error).message).toContain('99 of 100 payload bytes, 1 missing');
  });

  it('reports the engine message even when a type 3 frame is cut off', () => {
    const frame = encodeFrame(3, text('disk full, and more'));
    const decoder = new FrameDecoder();
    decoder.push(frame.subarray(0, 17));
    expect(() => decoder.end()).toThrow(/engine reported an error in the stream: disk full/);
  });

  it('calls the source return() when the consumer breaks early', async () => {
    let returned = false;
    let pulled = 0;
    const source: AsyncIterable<Uint8Array> = {
      [Symbol.asyncIterator]: () => ({
        next: async () => {
          pulled++;
          return { done: false, value: encodeFrame(1, text(`chunk ${pulled}`)) };
        },
        return: async () => {
          returned = true;
          return { done: true, value: undefined };
        },
      }),
    };
    for await (const frame of demuxStream(source)) {
      expect(frame.data).toEqual(text('chunk 1'));
      break;
    }
    expect(returned).toBe(true);
    expect(pulled).toBe(1);
  });

  it('pulls the next chunk only when the consumer asks (backpressure)', async () => {
    let pulled = 0;
    async function* source(): AsyncGenerator<Uint8Array> {
      for (let i = 0; i < 10; i++) {
        pulled++;
        yield encodeFrame(1, text(`#${i}`));
      }
    }
    const frames = demuxStream(source());
    await frames.next();
    expect(pulled).toBe(1);
    await frames.next();
    expect(pulled).toBe(2);
    await frames.return();
  });
});

describe('rawStream', () => {
  it('passes every non-empty chunk through as stdout, uncopied', async () => {
    const a = text('tty output ');
    const b = text('\u001b[31mred\u001b[0m');
    const frames = await drain(rawStream(fromChunks([a, new Uint8Array(0), b])));
    expect(frames).toEqual([
      { stream: 'stdout', data: a },
      { stream: 'stdout', data: b },
    ]);
    expect(frames[0]?.data).toBe(a);
  });
});

describe('encodeFrame', () => {
  it('writes the type and a big-endian size header', () => {
    expect([...encodeFrame(2, pattern(300, 5)).subarray(0, 8)]).toEqual([2, 0, 0, 0, 0, 0, 1, 44]);
    expect([...encodeFrame(1, new Uint8Array(0))]).toEqual([1, 0, 0, 0, 0, 0, 0, 0]);
  });

  it('round-trips through the decoder', () => {
    for (const [type, stream] of [
      [1, 'stdout'],
      [2, 'stderr'],
    ] as const) {
      const data = pattern(5000, type);
      const decoder = new FrameDecoder();
      expect(decoder.push(encodeFrame(type, data))).toEqual([{ stream, data }]);
      decoder.end();
    }
  });
});

describe('collect helpers', () => {
  it('concatBytes joins in order and always copies', () => {
    const a = text('ab');
    const joined = concatBytes([a]);
    expect(joined).toEqual(a);
    expect(joined).not.toBe(a);
    expect(concatBytes([text('ab'), new Uint8Array(0), text('cd')], 4)).toEqual(text('abcd'));
    expect(concatBytes([])).toEqual(new Uint8Array(0));
  });
});
