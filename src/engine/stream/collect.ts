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
