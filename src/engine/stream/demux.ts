/**
 * Decoder for Docker's multiplexed stdout/stderr stream (attach, logs and exec without a TTY).
 *
 * The wire format is a sequence of frames, each an 8-byte header
 * `[streamType, 0, 0, 0, size (uint32, big-endian)]` followed by `size` payload bytes. Stream
 * type 0 (stdin) is reported as stdout, 1 is stdout, 2 is stderr and 3 is an error the daemon
 * reports in the stream, as moby's `stdcopy` does.
 *
 * The decoder is memory bounded: it never buffers a frame's payload, only (at most) the 8 header
 * bytes, so a frame announcing gigabytes streams through in pieces as its bytes arrive. Pure
 * web-standard code: runs on Node, Bun and Deno.
 *
 * @module
 */

import { DockerArgumentError, DockerStreamError } from '../errors.js';

/** The output stream a piece of output belongs to. */
export type StdStreamName = 'stdout' | 'stderr';

/**
 * A piece of output from one stream. One frame on the wire may be delivered as several pieces
 * with the same `stream` (when it arrives split across chunks, or with `maxChunk`).
 */
export interface StdFrame {
  /** The stream the bytes were written to. */
  stream: StdStreamName;
  /**
   * The payload bytes. This may be a view (`subarray`) of the input chunk rather than a copy, so
   * it stays valid only as long as the source does not reuse its chunk buffers (Node, Bun and
   * Deno streams never do).
   */
  data: Uint8Array;
}

/** Options of {@link FrameDecoder} and {@link demuxStream}. */
export interface DemuxOptions {
  /** Split emitted pieces so that none is longer than this many bytes. Default: no limit. */
  maxChunk?: number;
}

const HEADER_SIZE = 8;
/** Most bytes of a stream-type-3 (system error) payload kept for the error message. */
const MAX_ERROR_TEXT = 64 * 1024;

/** Stream type of the frame being read. */
type FrameKind = 'stdout' | 'stderr' | 'systemerr';

/**
 * Incremental decoder of the multiplexed stream: feed it chunks with {@link FrameDecoder.push}
 * and call {@link FrameDecoder.end} when the input ends. Chunks may be split at any byte.
 * After it throws, the decoder is unusable and every further call throws the same error.
 */
export class FrameDecoder {
  readonly #maxChunk: number;
  /** Header bytes buffered when a header arrives split across chunks. */
  readonly #header = new Uint8Array(HEADER_SIZE);
  /** How many bytes of `#header` are filled (0 while in a payload or between frames). */
  #headerFilled = 0;
  /** Payload bytes of the current frame still to come. */
  #remaining = 0;
  /** Payload size announced by the current frame's header. */
  #frameSize = 0;
  #kind: FrameKind = 'stdout';
  /** Total bytes consumed so far (for error messages). */
  #offset = 0;
  /** Collected text of a stream-type-3 frame (bounded by `MAX_ERROR_TEXT`). */
  #errorBytes: Uint8Array[] = [];
  #errorLength = 0;
  #failure: DockerStreamError | undefined;

  /** @param options `maxChunk`: the most bytes per emitted piece (default: no limit). */
  constructor(options?: DemuxOptions) {
    const maxChunk = options?.maxChunk ?? Number.POSITIVE_INFINITY;
    if (!(maxChunk >= 1)) throw new DockerArgumentError('maxChunk', `must be a positive number, got ${maxChunk}`);
    this.#maxChunk = maxChunk;
  }

  /**
   * Feeds bytes; returns the frames (or frame pieces) that are now complete, in stream order.
   * Zero-length frames produce nothing.
   *
   * @throws {DockerStreamError} on an unknown stream type, or when the daemon reports an error
   *   in the stream (stream type 3).
   */
  push(chunk: Uint8Array): StdFrame[] {
    if (this.#failure) throw this.#failure;
    const out: StdFrame[] = [];
    const length = chunk.length;
    let pos = 0;
    while (pos < length) {
      if (this.#remaining === 0) {
        // Reading a header.
        let h: Uint8Array;
        let start: number;
        if (this.#headerFilled === 0 && length - pos >= HEADER_SIZE) {
          h = chunk;
          start = pos;
          pos += HEADER_SIZE;
        } else {
          const take = Math.min(HEADER_SIZE - this.#headerFilled, length - pos);
          this.#header.set(chunk.subarray(pos, pos + take), this.#headerFilled);
          this.#headerFilled += take;
          pos += take;
          if (this.#headerFilled < HEADER_SIZE) break;
          this.#headerFilled = 0;
          h = this.#header;
          start = 0;
        }
        this.#startFrame(h, start);
        this.#offset += HEADER_SIZE;
        continue;
      }
      // Reading a payload: emit what is here without buffering it.
      const take = Math.min(this.#remaining, length - pos);
      const piece = chunk.subarray(pos, pos + take);
      pos += take;
      this.#remaining -= take;
      this.#offset += take;
      if (this.#kind === 'systemerr') {
        this.#collectError(piece);
        if (this.#remaining === 0) this.#throwSystemError(false);
      } else {
        this.#emit(out, this.#kind, piece);
      }
    }
    return out;
  }

  /**
   * Call at the end of the input.
   *
   * @throws {DockerStreamError} if the input ended inside a header or a payload (the message
   *   says how many bytes were missing), or inside a stream-type-3 error frame.
   */
  end(): void {
    if (this.#failure) throw this.#failure;
    if (this.#headerFilled > 0) {
      const missing = HEADER_SIZE - this.#headerFilled;
      this.#fail(
        `stream ended inside a frame header at byte offset ${this.#offset + this.#headerFilled}: ` +
          `got ${this.#headerFilled} of ${HEADER_SIZE} header bytes, ${missing} missing`,
      );
    }
    if (this.#remaining > 0) {
      if (this.#kind === 'systemerr') this.#throwSystemError(true);
      this.#fail(
        `stream ended inside a ${this.#kind} frame at byte offset ${this.#offset}: ` +
          `got ${this.#frameSize - this.#remaining} of ${this.#frameSize} payload bytes, ${this.#remaining} missing`,
      );
    }
  }

  #startFrame(h: Uint8Array, i: number): void {
    const type = h[i] as number;
    const hi = h[i + 4] as number;
    const lo = ((h[i + 5] as number) << 16) | ((h[i + 6] as number) << 8) | (h[i + 7] as number);
    const size = hi * 0x1000000 + lo; // uint32 without the sign trouble of `<< 24`
    switch (type) {
      case 0:
      case 1:
        this.#kind = 'stdout';
        break;
      case 2:
        this.#kind = 'stderr';
        break;
      case 3:
        this.#kind = 'systemerr';
        this.#errorBytes = [];
        this.#errorLength = 0;
        break;
      default:
        this.#fail(`unknown stream type ${type} at byte offset ${this.#offset}`);
    }
    this.#frameSize = size;
    this.#remaining = size;
    if (size === 0 && this.#kind === 'systemerr') this.#throwSystemError(false);
  }

  #emit(out: StdFrame[], stream: StdStreamName, piece: Uint8Array): void {
    const max = this.#maxChunk;
    if (piece.length <= max) {
      out.push({ stream, data: piece });
      return;
    }
    for (let p = 0; p < piece.length; p += max) out.push({ stream, data: piece.subarray(p, p + max) });
  }

  #collectError(piece: Uint8Array): void {
    const room = MAX_ERROR_TEXT - this.#errorLength;
    if (room <= 0) return;
    const kept = piece.length <= room ? piece : piece.subarray(0, room);
    this.#errorBytes.push(kept.slice());
    this.#errorLength += kept.length;
  }

  #throwSystemError(truncated: boolean): never {
    const bytes = new Uint8Array(this.#errorLength);
    let p = 0;
    for (const part of this.#errorBytes) {
      bytes.set(part, p);
      p += part.length;
    }
    this.#errorBytes = [];
    const text = new TextDecoder().decode(bytes).trim();
    return this.#fail(`engine reported an error in the stream: ${text}${truncated ? ' (error frame cut off at end of stream)' : ''}`);
  }

  #fail(message: string): never {
    this.#failure = new DockerStreamError(message);
    throw this.#failure;
  }
}

/**
 * Demultiplexes a Docker stdout/stderr stream. Pull-based: the next chunk is read from `source`
 * only when the consumer asks for the next piece, so backpressure holds by construction. When
 * the consumer stops early, the source iterator's `return()` is called.
 *
 * @param source The raw response body.
 * @param options `maxChunk`: the most bytes per yielded piece (default: no limit).
 * @throws {DockerStreamError} on a malformed or truncated stream, or an error the engine reported
 *   in the stream.
 */
export async function* demuxStream(source: AsyncIterable<Uint8Array>, options?: DemuxOptions): AsyncGenerator<StdFrame, void, undefined> {
  yield* frameIterator(source, true, options);
}

/**
 * The decoder behind {@link demuxStream} (`multiplexed`) and {@link rawStream}, as a hand-written
 * iterator rather than an async generator: a frame already decoded costs one resolved promise,
 * which matters at hundreds of MB/s of exec output. Internal; the client's output streams use it
 * directly, the public generators wrap it.
 */
export function frameIterator(
  source: AsyncIterable<Uint8Array>,
  multiplexed: boolean,
  options?: DemuxOptions,
): AsyncIterableIterator<StdFrame> & { return(): Promise<IteratorResult<StdFrame>> } {
  const input = source[Symbol.asyncIterator]();
  const decoder = multiplexed ? new FrameDecoder(options) : undefined;
  const end: IteratorResult<StdFrame> = { done: true, value: undefined };
  let pending: StdFrame[] = [];
  let index = 0;
  let finished = false;
  const release = async () => {
    finished = true;
    pending = [];
    await input.return?.();
  };
  const pull = async (): Promise<IteratorResult<StdFrame>> => {
    try {
      for (;;) {
        const read = await input.next();
        if (read.done) {
          finished = true;
          decoder?.end();
          return end;
        }
        const chunk = read.value;
        if (!decoder) {
          if (chunk.length > 0) return { done: false, value: { stream: 'stdout', data: chunk } };
          continue;
        }
        const frames = decoder.push(chunk);
        if (frames.length === 0) continue;
        pending = frames;
        index = 1;
        return { done: false, value: frames[0] as StdFrame };
      }
    } catch (error) {
      await release().catch(() => {});
      throw error;
    }
  };
  const iterator = {
    next(): Promise<IteratorResult<StdFrame>> {
      if (index < pending.length) return Promise.resolve({ done: false, value: pending[index++] as StdFrame });
      if (finished) return Promise.resolve(end);
      return pull();
    },
    async return(): Promise<IteratorResult<StdFrame>> {
      if (!finished) await release();
      return end;
    },
    [Symbol.asyncIterator]() {
      return iterator;
    },
  };
  return iterator;
}

/**
 * Passes a TTY stream through: with a TTY the engine sends one unframed stream, so every
 * non-empty chunk is yielded as-is (not copied) as stdout. Early exit calls the source's `return()`.
 *
 * @param source The raw response body.
 */
export async function* rawStream(source: AsyncIterable<Uint8Array>): AsyncGenerator<StdFrame, void, undefined> {
  yield* frameIterator(source, false);
}

/**
 * Encodes one frame of the multiplexed format (for tests and fixtures).
 *
 * @param stream Stream type: 0 stdin, 1 stdout, 2 stderr, 3 system error.
 * @param data The payload (at most 2^32 - 1 bytes).
 */
export function encodeFrame(stream: 0 | 1 | 2 | 3, data: Uint8Array): Uint8Array {
  const size = data.length;
  if (size > 0xffffffff) throw new DockerArgumentError('data', `a frame holds at most 4294967295 bytes, got ${size}`);
  const out = new Uint8Array(HEADER_SIZE + size);
  out[0] = stream;
  out[4] = (size >>> 24) & 0xff;
  out[5] = (size >>> 16) & 0xff;
  out[6] = (size >>> 8) & 0xff;
  out[7] = size & 0xff;
  out.set(data, HEADER_SIZE);
  return out;
}
