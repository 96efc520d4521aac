import type { Socket } from 'node:net';
import { afterEach, describe, expect, it, vi } from 'vitest';
import { DockerClient } from '../../../src/engine/client.js';
import { isDockerError } from '../../../src/engine/errors.js';
import { type FakeEngine, jsonResponse, responseHead, startFakeEngine } from '../../helpers/fake-engine.js';

let engine: FakeEngine | undefined;

afterEach(async () => {
  await engine?.close();
  engine = undefined;
  vi.doUnmock('undici');
  vi.resetModules();
});

/** Resolves once the socket is closed (by the client), or rejects after `ms`. */
function closed(socket: Socket, ms = 10_000): Promise<void> {
  if (socket.destroyed) return Promise.resolve();
  return new Promise((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`the connection is still open after ${ms} ms`)), ms);
    socket.once('close', () => {
      clearTimeout(timer);
      resolve();
    });
  });
}

describe('DockerClient.close() (Node)', () => {
  it('loads no undici for a client that never sent a request, and refuses calls after it', async () => {
    let loads = 0;
    vi.doMock('undici', async (importOriginal) => {
      loads++;
      return importOriginal();
    });
    const { DockerClient: Fresh, createNodeTransport } = await import('../../../src/engine/index.js');
    // The Node transport on its own (public): closing it before any request has nothing to close.
    await createNodeTransport({ kind: 'unix', socketPath: '/nonexistent/docker.sock' }).close();
    expect(loads).toBe(0);
    const docker = new Fresh({ socketPath: '/nonexistent/docker.sock', apiVersion: '1.41' });
    // describe() resolves the engine and makes the transport, but sends nothing.
    expect(docker.describe().address).toBe('unix:///nonexistent/docker.sock');
    await docker.close();
    expect(loads).toBe(0);
    const error = await docker.system.version().catch((e: unknown) => e);
    expect(isDockerError(error)).toBe(true);
    expect(error).toMatchObject({ code: 'BERTH_ERR_CLOSED' });
    expect(loads).toBe(0);
  });

  it('closes the idle keep-alive connection, keeps a stream in flight going, and refuses later calls', async () => {
    const sockets: Socket[] = [];
    let streamConnection: { write(data: string): Promise<boolean>; end(): Promise<void> } | undefined;
    engine = await startFakeEngine(async (request, connection) => {
      if (!sockets.includes(connection.socket)) sockets.push(connection.socket);
      if (request.path.endsWith('/version')) {
        await connection.write(jsonResponse('200 OK', { ApiVersion: '1.41' }));
        return;
      }
      // A followed stream (events): the head now, lines later.
      await connection.write(responseHead('200 OK', { 'Content-Type': 'application/json' }));
      await connection.write('{"Action":"one"}\n');
      streamConnection = connection;
    });
    const docker = new DockerClient({ socketPath: engine.socketPath, apiVersion: '1.41' });
    await docker.system.version();
    const idle = sockets[0] as Socket;
    const events = await docker.system.events();
    const iterator = events[Symbol.asyncIterator]();
    expect((await iterator.next()).value).toMatchObject({ Action: 'one' });
    await docker.close();
    await closed(idle);
    // The stream opened before close() goes on.
    await streamConnection?.write('{"Action":"two"}\n');
    expect((await iterator.next()).value).toMatchObject({ Action: 'two' });
    await streamConnection?.end();
    expect((await iterator.next()).done).toBe(true);
    const error = await docker.containers.list().catch((e: unknown) => e);
    expect(error).toMatchObject({ code: 'BERTH_ERR_CLOSED', message: expect.stringContaining('closed') });
    const hijack = await docker.exec.start('e'.repeat(64), { stdin: true }).catch((e: unknown) => e);
    expect(hijack).toMatchObject({ code: 'BERTH_ERR_CLOSED' });
    // A second close does nothing.
    await docker.close();
    await events.cancel();
  });
});
