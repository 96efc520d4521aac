/**
 * Helpers for consuming streams: concatenating bytes, and iterating a web `ReadableStream` (and
 * making one). Pure web-standard code: runs on Node, Bun and Deno.
 *
 * @module
 */

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
