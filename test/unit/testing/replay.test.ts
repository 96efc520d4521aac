/**
 * The replay transport on hand-written recordings (written here, not recorded: each one shows a
 * single behaviour). The recorded versions of the same behaviours are in
 * test/integration/testing.test.ts.
 */
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import type { RecordedExchange } from '../../../src/testing/format.js';
import { isFixtureMismatchError, replayClient } from '../../../src/testing/index.js';

const root = mkdtempSync(join(tmpdir(), 'berth-replay-unit-'));
afterAll(() => rmSync(root, { recursive: true, force: true }));

const EXEC = `${'0'.repeat(11)}1${'0'.repeat(52)}`;
const CONTAINER = `${'0'.repeat(11)}2${'0'.repeat(52)}`;
const json = { 'content-type': 'application/json' };
const raw = { 'content-type': 'application/vnd.docker.raw-stream' };

/** Writes a recording folder by hand. */
function recording(name: string, exchanges: RecordedExchange[]): string {
  const dir = join(root, name);
  mkdirSync(dir, { recursive: true });
  const files = exchanges.map((_, i) => `${String(i + 1).padStart(2, '0')}-exchange.json`);
  for (const [i, exchange] of exchanges.entries()) {
    writeFileSync(join(dir, files[i] as string), JSON.stringify(exchange));
  }
  writeFileSync(
    join(dir, 'meta.json'),
    JSON.stringify({ format: 'berth-fixtures/1', scenario: name, apiVersion: '1.41', exchanges: files }),
  );
  return dir;
}

const start = (body: RecordedExchange['response']['body'], extra: Partial<RecordedExchange['response']> = {}): RecordedExchange => ({
  request: { method: 'POST', path: `/v1.41/exec/${EXEC}/start`, headers: json, body: { json: { Detach: false, Tty: false } } },
  response: { status: 200, headers: raw, body, ...extra },
});
const inspect = (path: string, body: unknown): RecordedExchange => ({
  request: { method: 'GET', path, headers: {}, body: null },
  response: { status: 200, headers: json, body: { json: body } },
});

describe('replayClient streams', () => {
  it('sends a stream one frame at a time: the reader acts on a frame before the next arrives', async () => {
    const dir = recording('frames', [
      start({
        frames: [
          { stream: 'stdout', text: 'one\n' },
          { stream: 'stderr', text: 'two\n' },
          { stream: 'stdout', text: 'three\n' },
        ],
      }),
    ]);
    const docker = replayClient(dir);
    const seen: string[] = [];
    for await (const frame of await docker.exec.start(EXEC)) {
      seen.push(`${frame.stream}:${new TextDecoder().decode(frame.data)}`);
      // Scheduled now, it runs before the next frame is delivered.
      setTimeout(() => seen.push('tick'), 0);
    }
    expect(seen).toEqual(['stdout:one\n', 'tick', 'stderr:two\n', 'tick', 'stdout:three\n']);
  });

  it('holds the end of a stream (endsAfter) until the exchanges recorded before its end have been answered', async () => {
    const dir = recording('held', [
      start({ frames: [{ stream: 'stdout', text: 'before\n' }] }, { endsAfter: 1 }),
      inspect(`/v1.41/containers/${CONTAINER}/json`, { Id: CONTAINER, State: { Running: true } }),
    ]);
    const docker = replayClient(dir);
    const stream = await docker.exec.start(EXEC);
    const events: string[] = [];
    const reading = (async () => {
      for await (const frame of stream) events.push(new TextDecoder().decode(frame.data));
      events.push('end');
    })();
    await new Promise((resolve) => setTimeout(resolve, 50));
    expect(events).toEqual(['before\n']);
    // The request that came before the end when recording (made while the stream is open: any order is fine).
    await docker.containers.inspect(CONTAINER);
    await reading;
    expect(events).toEqual(['before\n', 'end']);
  });
});

describe('replayClient hijacked connections', () => {
  const hijacked = (stdin: string, body: RecordedExchange['response']['body'], stdinBefore?: number[]): RecordedExchange => ({
    request: {
      method: 'POST',
      path: `/v1.41/exec/${EXEC}/start`,
      headers: json,
      body: { json: { Detach: false, Tty: false } },
      stdin: { text: stdin },
    },
    response: { status: 101, headers: { ...raw, upgrade: 'tcp' }, body, ...(stdinBefore ? { stdinBefore } : {}) },
    hijacked: true,
  });

  it('answers each line once the stdin that preceded it is written (stdinBefore)', async () => {
    const dir = recording('interactive', [
      hijacked(
        'a\nb\n',
        {
          frames: [
            { stream: 'stdout', text: 'got a\n' },
            { stream: 'stdout', text: 'got b\n' },
          ],
        },
        [2, 4],
      ),
    ]);
    const docker = replayClient(dir);
    const stream = await docker.exec.start(EXEC, { stdin: true });
    const it = stream[Symbol.asyncIterator]();
    let second: unknown;
    await stream.write('a\n');
    const first = await it.next();
    const pending = it.next().then((next) => {
      second = next;
    });
    await new Promise((resolve) => setTimeout(resolve, 30));
    expect(second).toBeUndefined(); // `got b` waits for `b`
    await stream.write('b\n');
    await pending;
    expect(new TextDecoder().decode((first.value as { data: Uint8Array }).data)).toBe('got a\n');
    expect(new TextDecoder().decode((second as { value: { data: Uint8Array } }).value.data)).toBe('got b\n');
    await stream.end();
    expect((await it.next()).done).toBe(true);
  });

  it('fails the output with FixtureMismatchError when what was written differs', async () => {
    const dir = recording('stdin-mismatch', [hijacked('hello\n', { frames: [{ stream: 'stdout', text: 'HELLO\n' }] })]);
    const docker = replayClient(dir);
    const stream = await docker.exec.start(EXEC, { stdin: true });
    await stream.write('other\n');
    await stream.end();
    const error = await (async () => {
      for await (const _ of stream) {
        // the output never comes
      }
    })().catch((e: unknown) => e);
    expect(isFixtureMismatchError(error)).toBe(true);
    expect((error as Error).message).toContain('stdin written to POST /v1.41/exec/');
    expect((error as Error).message).toContain('stdin: recorded 6 bytes, sent 6 bytes; first difference at byte 0');
  });
});
