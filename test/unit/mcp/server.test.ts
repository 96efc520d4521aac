/**
 * McpServer with a stand-in executor (no engine): what it sends for figures, cancellations and
 * closing. The real executor and engine are in test/integration/mcp*.test.ts.
 */
import { describe, expect, it } from 'vitest';
import type { DockerClient } from '../../../src/engine/index.js';
import type { DockerCommandLineCodeExecutor } from '../../../src/executor/executor.js';
import { McpServer } from '../../../src/mcp/server.js';

const PNG = new Uint8Array([0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a]);

/** An executor stand-in: runs "blocks" by calling `run` with the call's signal. */
function fakeExecutor(run: (signal: AbortSignal) => Promise<Record<string, unknown>>) {
  const state = { running: false, stops: 0 };
  const executor = {
    timeout: 60,
    containerName: 'fake',
    containerId: 'fake-id',
    get isRunning() {
      return state.running;
    },
    async start() {
      state.running = true;
    },
    async stop() {
      state.running = false;
      state.stops++;
    },
    async executeCodeBlocks(_blocks: unknown, signal: AbortSignal) {
      const base = { exitCode: 0, output: '', stdout: '', stderr: '', timedOut: false, cancelled: false, truncated: false };
      return { ...base, ...(await run(signal)) };
    },
  };
  return { executor: executor as unknown as DockerCommandLineCodeExecutor, state };
}

function serverWith(executor: DockerCommandLineCodeExecutor) {
  const sent: Record<string, unknown>[] = [];
  const server = new McpServer(
    {
      createExecutor: () => executor,
      docker: {} as DockerClient,
      codeUser: undefined,
      maxReadBytes: 1024,
      send: (line) => sent.push(JSON.parse(line)),
      log: () => {},
      version: '0.0.0',
    },
    60,
  );
  const settle = () => new Promise((r) => setTimeout(r, 20));
  return { server, sent, settle };
}

const call = (id: number, code = 'x') =>
  JSON.stringify({ jsonrpc: '2.0', id, method: 'tools/call', params: { name: 'run_code', arguments: { language: 'python', code } } });

describe('McpServer', () => {
  it('returns each figure of result.images as an image content item', async () => {
    const { executor } = fakeExecutor(async () => ({
      output: 'drawn\n',
      stdout: 'drawn\n',
      images: [{ mimeType: 'image/png', data: PNG }],
    }));
    const { server, sent, settle } = serverWith(executor);
    server.receive(call(1));
    await settle();
    expect(sent).toEqual([
      {
        jsonrpc: '2.0',
        id: 1,
        result: {
          content: [
            { type: 'text', text: 'drawn\n' },
            { type: 'image', data: Buffer.from(PNG).toString('base64'), mimeType: 'image/png' },
          ],
          structuredContent: { exitCode: 0, stdout: 'drawn\n', stderr: '', timedOut: false, truncated: false },
        },
      },
    ]);
    await server.close();
  });

  it('aborts the signal of a cancelled call and answers it as cancelled', async () => {
    let seen: AbortSignal | undefined;
    const { executor } = fakeExecutor(
      (signal) =>
        new Promise((resolve) => {
          seen = signal;
          signal.addEventListener('abort', () => resolve({ exitCode: 1, cancelled: true, output: 'Code execution was cancelled.' }));
        }),
    );
    const { server, sent, settle } = serverWith(executor);
    server.receive(call(7));
    await settle();
    server.receive(JSON.stringify({ jsonrpc: '2.0', method: 'notifications/cancelled', params: { requestId: 7, reason: 'stop' } }));
    await settle();
    expect(seen?.aborted).toBe(true);
    expect(sent).toHaveLength(1);
    expect(sent[0]).toMatchObject({ id: 7, result: { isError: true } });
    expect(JSON.stringify(sent[0])).toMatch(/was cancelled \(stop\)/);
    await server.close();
  });

  it('close cancels the running call, stops the sandbox once and sends nothing more', async () => {
    let seen: AbortSignal | undefined;
    const { executor, state } = fakeExecutor(
      (signal) =>
        new Promise((resolve) => {
          seen = signal;
          signal.addEventListener('abort', () => resolve({ exitCode: 1, cancelled: true }));
        }),
    );
    const { server, sent, settle } = serverWith(executor);
    server.receive(call(1));
    await settle();
    await server.close();
    expect(seen?.aborted).toBe(true);
    expect(state).toEqual({ running: false, stops: 1 });
    server.receive('{"jsonrpc":"2.0","id":2,"method":"ping"}');
    await settle();
    expect(sent).toEqual([]);
  });
});
