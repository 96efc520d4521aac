/**
 * Property tests of the stream decoders with a tiny seeded PRNG (no external libraries). Every
 * failure message names its seed; rerun one case with `FUZZ_SEED=<seed>` (the base seed).
 */
import { describe, expect, it } from 'vitest';
import { DockerStreamError } from '../../../src/engine/errors.js';
import { concatBytes } from '../../../src/engine/stream/collect.js';
import {
  type DemuxOptions,
  demuxStream,
  encodeFrame,
  frameIterator,
  type StdFrame,
  type StdStreamName,
} from '../../../src/engine/stream/demux.js';
import { JsonLineDecoder, jsonLines } from '../../../src/engine/stream/json-lines.js';

const ITERATIONS = 300;
const BASE_SEED = Number(process.env.FUZZ_SEED ?? 0x5eed);

/** mulberry32: a small, fast, seeded PRNG returning floats in [0, 1). */
function mulberry32(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

interface Rng {
  /** Integer in [min, max]. */
  int(min: number, max: number): number;
  bytes(length: number): Uint8Array;
  pick<T>(items: readonly T[]): T;
  chance(p: number): boolean;
}

function rng(seed: number): Rng {
  const next = mulberry32(seed);
  const r: Rng = {
    int: (min, max) => min + Math.floor(next() * (max - min + 1)),
    bytes: (length) => {
      const out = new Uint8Array(length);
      for (let i = 0; i < length; i++) out[i] = (next() * 256) | 0;
      return out;
    },
    pick: (items) => items[Math.floor(next() * items.length)] as (typeof items)[number],
    chance: (p) => next() < p,
  };
  return r;
}

/** Runs `body` for ITERATIONS seeds; a failure is rethrown with its seed in the message. */
async function forSeeds(body: (r: Rng, seed: number) => void | Promise<void>): Promise<void> {
  for (let i = 0; i < ITERATIONS; i++) {
    const seed = BASE_SEED + i;
    try {
      await body(rng(seed), seed);
    } catch (error) {
      const message = error instanceof Error ? error.message : String(error);
      throw new Error(`property failed for seed ${seed} (FUZZ_SEED=${BASE_SEED}, iteration ${i}): ${message}`, {
        cause: error,
      });
    }
  }
}

/** Cuts `bytes` into random chunks: sometimes tiny, sometimes large, sometimes empty. */
function randomChunks(r: Rng, bytes: Uint8Array): Uint8Array[] {
  const chunks: Uint8Array[] = [];
  const maxChunk = r.pick([1, 3, 9, 64, 1000, 8192, bytes.length + 1]);
  let pos = 0;
  while (pos < bytes.length) {
    const size = r.chance(0.05) ? 0 : r.int(1, maxChunk);
    chunks.push(bytes.subarray(pos, pos + size));
    pos += size;
  }
  return chunks;
}

async function* fromChunks<T>(chunks: Iterable<T>): AsyncGenerator<T> {
  for (const c of chunks) yield c;
}

function equalBytes(a: Uint8Array, b: Uint8Array): boolean {
  return Buffer.from(a.buffer, a.byteOffset, a.byteLength).equals(Buffer.from(b.buffer, b.byteOffset, b.byteLength));
}

/** The stream switches in order, with the byte count of each run. */
function runsOf(frames: readonly { stream: StdStreamName; data: Uint8Array }[]): Array<[StdStreamName, number]> {
  const runs: Array<[StdStreamName, number]> = [];
  for (const f of frames) {
    if (f.data.length === 0) continue;
    const last = runs[runs.length - 1];
    if (last && last[0] === f.stream) last[1] += f.data.length;
    else runs.push([f.stream, f.data.length]);
  }
  return runs;
}

function bytesOf(frames: readonly StdFrame[], stream: StdStreamName): Uint8Array {
  return concatBytes(frames.filter((f) => f.stream === stream).map((f) => f.data));
}

type Decode = (source: AsyncIterable<Uint8Array>, options?: DemuxOptions) => AsyncIterable<StdFrame>;
// The public generator and the iterator the client's output streams use must agree byte for byte.
const decoders: [string, Decode][] = [
  ['demuxStream', demuxStream],
  ['frameIterator', (source, options) => frameIterator(source, true, options)],
];

describe.each(decoders)('demux properties: %s', { timeout: 60_000 }, (_name, decode) => {
  it('decodes random valid frame sequences exactly under random chunkings', async () => {
    await forSeeds(async (r) => {
      const count = r.int(0, 20);
      const frames: StdFrame[] = [];
      for (let i = 0; i < count; i++) {
        const size = r.pick([0, r.int(1, 16), r.int(0, 5000)]);
        frames.push({ stream: r.chance(0.5) ? 'stdout' : 'stderr', data: r.bytes(size) });
      }
      const wire = concatBytes(frames.map((f) => encodeFrame(f.stream === 'stdout' ? 1 : 2, f.data)));
      const maxChunk = r.chance(0.3) ? r.int(1, 2000) : undefined;
      const decoded: StdFrame[] = [];
      for await (const f of decode(fromChunks(randomChunks(r, wire)), maxChunk ? { maxChunk } : {})) {
        // Plain checks: expect() per piece would dominate the run time.
        if (f.data.length === 0 || f.data.length > (maxChunk ?? Number.POSITIVE_INFINITY)) {
          throw new Error(`bad piece length ${f.data.length} (maxChunk ${maxChunk})`);
        }
        decoded.push(f);
      }
      expect(equalBytes(bytesOf(decoded, 'stdout'), bytesOf(frames, 'stdout')), 'stdout bytes').toBe(true);
      expect(equalBytes(bytesOf(decoded, 'stderr'), bytesOf(frames, 'stderr')), 'stderr bytes').toBe(true);
      expect(runsOf(decoded)).toEqual(runsOf(frames));
    });
  });

  it('either decodes random bytes or throws DockerStreamError, never another error', async () => {
    let failures = 0;
    let successes = 0;
    await forSeeds(async (r) => {
      let wire: Uint8Array;
      if (r.chance(0.3)) {
        wire = r.bytes(r.int(0, 2000));
      } else {
        // Plausible frames with random types (0..4) and sizes, then damage: truncate or flip bytes.
        const parts: Uint8Array[] = [];
        for (let i = r.int(0, 8); i > 0; i--) {
          const size = r.int(0, 300);
          const frame = encodeFrame(1, r.bytes(size));
          frame[0] = r.pick([0, 1, 2, 3, 4, 255]);
          parts.push(frame);
        }
        wire = concatBytes(parts);
        if (r.chance(0.5)) wire = wire.subarray(0, r.int(0, wire.length));
        for (let i = r.int(0, 3); i > 0 && wire.length > 0; i--) wire[r.int(0, wire.length - 1)] = r.int(0, 255);
      }
      try {
        for await (const f of decode(fromChunks(randomChunks(r, wire)))) {
          if (f.stream !== 'stdout' && f.stream !== 'stderr') throw new Error(`bad stream ${String(f.stream)}`);
        }
        successes++;
      } catch (error) {
        if (!(error instanceof DockerStreamError)) throw error;
        failures++;
      }
    });
    // Both outcomes were exercised.
    expect(failures).toBeGreaterThan(0);
    expect(successes).toBeGreaterThan(0);
  });
});

describe('demux properties', { timeout: 60_000 }, () => {
  it('streams a 100 MiB frame in pieces no larger than the input chunks (bounded memory)', async () => {
    const CHUNK = 64 * 1024;
    const TOTAL = 100 * 1024 * 1024;
    const shared = new Uint8Array(CHUNK).fill(0x61); // one buffer, reused for every chunk
    let pulled = 0;
    let sourceDone = false;
    async function* source(): AsyncGenerator<Uint8Array> {
      const header = encodeFrame(2, new Uint8Array(0));
      header[4] = (TOTAL >>> 24) & 0xff;
      header[5] = (TOTAL >>> 16) & 0xff;
      header[6] = (TOTAL >>> 8) & 0xff;
      header[7] = TOTAL & 0xff;
      // Split the header across two chunks, the second also carrying the first payload bytes.
      const first = new Uint8Array(CHUNK);
      first.set(header.subarray(3), 0);
      first.fill(0x61, 5);
      pulled++;
      yield header.subarray(0, 3);
      pulled++;
      yield first;
      let sent = CHUNK - 5;
      while (sent < TOTAL) {
        const n = Math.min(CHUNK, TOTAL - sent);
        pulled++;
        yield n === CHUNK ? shared : shared.subarray(0, n);
        sent += n;
      }
      sourceDone = true;
    }
    let total = 0;
    let pieces = 0;
    let pulledAtFirstPiece = -1;
    for await (const f of demuxStream(source())) {
      if (pulledAtFirstPiece < 0) pulledAtFirstPiece = pulled;
      if (sourceDone || f.stream !== 'stderr' || f.data.length > CHUNK) {
        throw new Error(`piece ${pieces}: ${f.stream}, ${f.data.length} bytes, source done: ${sourceDone}`);
      }
      total += f.data.length;
      pieces++;
    }
    expect(sourceDone).toBe(true);
    expect(total).toBe(TOTAL);
    // Output started after two chunks of input, long before the frame was complete.
    expect(pulledAtFirstPiece).toBe(2);
    expect(pieces).toBeGreaterThanOrEqual(TOTAL / CHUNK);
  });
});

/** A random JSON value (depth-limited), with multi-byte, escape-worthy and brace-laden strings. */
function randomJson(r: Rng, depth: number): unknown {
  const kind = r.int(0, depth > 2 ? 4 : 6);
  switch (kind) {
    case 0:
      return null;
    case 1:
      return r.chance(0.5);
    case 2:
      return r.pick([0, 1, -7, 2 ** 53 - 1, r.int(-1e9, 1e9), r.int(-1e6, 1e6) / 1000, 1.5e-7, 6.02e23]);
    case 3:
    case 4: {
      const alphabet = ['a', 'Z', ' ', '"', '\\', '{', '}', '[', ']', '\n', '\r', '\t'];
      alphabet.push('é', '日', '🐳', '\u0000', '\u2028');
      let s = '';
      for (let i = r.int(0, 12); i > 0; i--) s += r.pick(alphabet);
      return s;
    }
    case 5: {
      const arr: unknown[] = [];
      for (let i = r.int(0, 4); i > 0; i--) arr.push(randomJson(r, depth + 1));
      return arr;
    }
    default: {
      const obj: Record<string, unknown> = {};
      for (let i = r.int(0, 4); i > 0; i--) obj[String(randomJson(r, 3))] = randomJson(r, depth + 1);
      return obj;
    }
  }
}

const isContainer = (v: unknown): boolean => typeof v === 'object' && v !== null;

describe('json-lines properties', { timeout: 60_000 }, () => {
  it('round-trips random JSON values one per line under random chunkings', async () => {
    await forSeeds(async (r) => {
      const values: unknown[] = [];
      for (let i = r.int(0, 15); i > 0; i--) values.push(randomJson(r, 0));
      let text = '';
      for (let i = 0; i < values.length; i++) {
        if (r.chance(0.1)) text += r.pick(['\n', '  \n', '\r\n', '\t\n']);
        text += JSON.stringify(values[i]);
        // Sometimes put the next object or array on the same line, as the daemon occasionally does.
        const glued = isContainer(values[i]) && isContainer(values[i + 1]) && r.chance(0.3);
        if (!glued) text += r.pick(['\n', '\r\n']);
      }
      if (text.endsWith('\n') && r.chance(0.3)) text = text.slice(0, -1); // no final newline
      const bytes = new TextEncoder().encode(text);
      const decoded = await (async () => {
        const out: unknown[] = [];
        for await (const v of jsonLines(fromChunks(randomChunks(r, bytes)))) out.push(v);
        return out;
      })();
      expect(decoded).toEqual(values);
    });
  });

  it('either decodes random bytes or throws DockerStreamError, never another error', async () => {
    let failures = 0;
    let successes = 0;
    const tokens = ['{', '}', '[', ']', '"', '\\', ',', ':', '1', 'a', 'true', 'null', ' ', '\n', '\r'];
    tokens.push('{"a":1}', '\u00e9');
    await forSeeds(async (r) => {
      let bytes: Uint8Array;
      if (r.chance(0.3)) {
        bytes = r.bytes(r.int(0, 500));
      } else {
        let s = '';
        for (let i = r.int(0, 60); i > 0; i--) s += r.pick(tokens);
        bytes = new TextEncoder().encode(s);
        if (r.chance(0.2) && bytes.length > 0) bytes[r.int(0, bytes.length - 1)] = r.int(0x80, 0xff);
      }
      const options = r.chance(0.3) ? { maxLineBytes: r.int(1, 40) } : {};
      try {
        const decoder = new JsonLineDecoder(options);
        for (const chunk of randomChunks(r, bytes)) decoder.push(chunk);
        decoder.end();
        successes++;
      } catch (error) {
        if (!(error instanceof DockerStreamError)) throw error;
        failures++;
      }
    });
    expect(failures).toBeGreaterThan(0);
    expect(successes).toBeGreaterThan(0);
  });
});
