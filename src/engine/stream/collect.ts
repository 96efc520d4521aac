/**
 * Helpers for consuming streams: collecting demultiplexed output, concatenating bytes, and
 * iterating a web `ReadableStream`. Pure web-standard code: runs on Node, Bun and Deno.
 *
 * @module
 */

import { DockerArgumentError } from '../errors.js';
import type { StdFrame } from './demux.js';

/** Output collected by {@link collectFrames}. */
export interface CollectedOutput {
  /** Everything written to stdout (up to `maxBytes`). */
  stdout: Uint8Array;
  /** Everything written to stderr (up to `maxBytes`). */
  stderr: Uint8Array;
  /** True when a stream had more than `maxBytes` bytes and the rest was dropped. */
  truncated: boolean;
}

/**
 * Collects demultiplexed frames into separate stdout and stderr byte arrays. The pieces are
 * gathered and concatenated once at the end (linear time). With `maxBytes`, each stream keeps at
 * most that many bytes; the rest is read and dropped, and `truncated` is set.
 *
 * @param frames Frames from {@link demuxStream} or {@link rawStream}.
 * @param options `maxBytes`: the most bytes kept per stream (default: no limit).
 */
export async function collectFrames(frames: AsyncIterable<StdFrame>, options?: { maxBytes?: number }): Promise<CollectedOutput> {
  const max = options?.maxBytes ?? Number.POSITIVE_INFINITY;
  if (!(max >= 0)) throw new DockerArgumentError('maxBytes', `must be a non-negative number, got ${max}`);
  const out: Uint8Array[] = [];
  const err: Uint8Array[] = [];
  let outLength = 0;
  let errLength = 0;
  let truncated = false;
  for await (const frame of frames) {
    const data = frame.data;
    const isOut = frame.stream === 'stdout';
    const have = isOut ? outLength : errLength;
    let keep = data;
    if (have + data.length > max) {
      truncated = true;
      if (have >= max) continue;
      keep = data.subarray(0, max - have);
    }
    if (keep.length === 0) continue;
    if (isOut) {
      out.push(keep);
      outLength += keep.length;
    } else {
      err.push(keep);
      errLength += keep.length;
    }
  }
  return { stdout: concatBytes(out, outLength), stderr: concatBytes(err, errLength), truncated };
}

/**
 * Concatenates byte arrays into a new array (always a copy, never one of the inputs).
 *
 * @param chunks The arrays to join, in order.
 * @param totalLength The sum of their lengths, when the caller already knows it.
 */
export function concatBytes(chunks: readonly Uint8Array[], totalLength?: number): Uint8Array {
  let total = totalLength;
  if (total === undefined) {
    total = 0;
    for (const c of chunks) total += c.length;
  }
  const result = new Uint8Array(total);
  let offset = 0;
  for (const c of chunks) {
    result.set(c, offset);
    offset += c.length;
  }
  return result;
}

/**
 * Wraps a `ReadableStream<Uint8Array>` as an async generator (typings of the stream's own async
 * iteration vary between Node, Bun and Deno). If iteration stops early (break, return or a
 * throw in the consumer), the stream is cancelled; the reader's lock is always released.
 *
 * @param stream The stream to read, e.g. a `fetch` response body.
 */
export async function* iterateReadable(stream: ReadableStream<Uint8Array>): AsyncGenerator<Uint8Array, void, undefined> {
  const reader = stream.getReader();
  let finished = false;
  try {
    for (;;) {
      let result: ReadableStreamReadResult<Uint8Array>;
      try {
        result = await reader.read();
      } catch (error) {
        // The stream itself failed: it is already errored, there is nothing to cancel.
        finished = true;
        throw error;
      }
      if (result.done) {
        finished = true;
        return;
      }
      yield result.value;
    }
  } finally {
    // Not awaited: the cancel of a tee'd stream settles only when its twin is cancelled too.
    if (!finished) void reader.cancel().catch(() => {});
    reader.releaseLock();
  }
}

/** Wraps an async iterable of bytes as a `ReadableStream` (a streamed request body for fetch). */
export function toReadableStream(source: AsyncIterable<Uint8Array>): ReadableStream<Uint8Array> {
  const iterator = source[Symbol.asyncIterator]();
  return new ReadableStream<Uint8Array>({
    async pull(controller) {
      const next = await iterator.next();
      if (next.done) controller.close();
      else controller.enqueue(next.value);
    },
    async cancel() {
      await iterator.return?.();
    },
  });
}
