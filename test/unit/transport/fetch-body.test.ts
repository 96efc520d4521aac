/**
 * The fetch transport's response bodies (the Bun and Deno adapters build on it): a body read that
 * is pending when the request is aborted or cancelled ends, even where the runtime's fetch does not
 * error the body (Deno, now and then, on a followed log stream: the CI's Deno suite hung 60 s).
 */
import { describe, expect, it } from 'vitest';
import { createFetchTransport } from '../../../src/engine/transport/fetch.js';

/** A fetch whose body gives one chunk, then never another and never errors, whatever the signal does. */
function stubbornFetch(): { fetch: typeof fetch; cancelled: () => boolean } {
  let cancelled = false;
  const fetch = (async () => {
    let pulls = 0;
    const body = new ReadableStream<Uint8Array>({
      pull(controller) {
        if (pulls++ === 0) controller.enqueue(new Uint8Array([1, 2, 3]));
        return new Promise(() => {});
      },
      cancel() {
        cancelled = true;
      },
    });
    return new Response(body, { status: 200 });
  }) as unknown as typeof globalThis.fetch;
  return { fetch, cancelled: () => cancelled };
}

describe('fetch transport bodies', () => {
  it("a caller's abort ends a pending read with the signal's reason, and the body is cancelled", async () => {
    const stub = stubbornFetch();
    const transport = createFetchTransport({ fetch: stub.fetch });
    const controller = new AbortController();
    const response = await transport.request({ method: 'GET', path: '/logs', headers: {}, signal: controller.signal });
    const reason = new Error('enough logs');
    const seen: number[] = [];
    const loop = (async () => {
      for await (const chunk of response.body) {
        seen.push(chunk.length);
        setTimeout(() => controller.abort(reason), 10);
      }
    })();
    await expect(loop).rejects.toBe(reason);
    expect(seen).toEqual([3]);
    expect(stub.cancelled()).toBe(true);
  });

  it('cancel() ends a pending read cleanly', async () => {
    const stub = stubbornFetch();
    const transport = createFetchTransport({ fetch: stub.fetch });
    const response = await transport.request({ method: 'GET', path: '/logs', headers: {} });
    const loop = (async () => {
      let chunks = 0;
      for await (const _ of response.body) {
        chunks++;
        setTimeout(() => void response.body.cancel(), 10);
      }
      return chunks;
    })();
    await expect(loop).resolves.toBe(1);
  });
});
