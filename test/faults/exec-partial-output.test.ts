/**
 * What a dying dockerd does to an exec, replayed byte for byte by a fake engine, so the case is
 * deterministic: the exec output is close-delimited, so the daemon's death ends it *cleanly*; the
 * failure shows only when exec.run asks for the exit code. The output that came must still be on
 * the error (`partialOutput`). daemon-kill.test.ts shows the same against a real dockerd.
 */
import { afterEach, describe, expect, it } from 'vitest';
import { DockerClient, type DockerConnectionError, isDockerConnectionError } from '../../src/engine/index.js';
import { encodeFrame } from '../../src/engine/stream/demux.js';
import { type FakeEngine, jsonResponse, responseHead, startFakeEngine } from '../helpers/fake-engine.js';
import { rejectionOf, text } from './helpers.js';

const EXEC_ID = 'e'.repeat(64);
const CONTAINER = 'c0ffee';
const bytes = (s: string) => new TextEncoder().encode(s);

let engine: FakeEngine | undefined;
let docker: DockerClient | undefined;

afterEach(async () => {
  await docker?.close().catch(() => {});
  await engine?.close();
  engine = undefined;
  docker = undefined;
});

describe('exec.run when the engine dies after the output ended', () => {
  it.each([
    ['drops the connection of the exit-code request', 'destroy'],
    ['is gone (nothing listens) when the exit code is asked for', 'close'],
  ] as const)('keeps the output on the DockerConnectionError when the engine %s', async (_what, how) => {
    engine = await startFakeEngine(async (request, connection) => {
      if (request.path.endsWith(`/containers/${CONTAINER}/exec`)) {
        await connection.write(jsonResponse('201 Created', { Id: EXEC_ID }));
      } else if (request.path.endsWith(`/exec/${EXEC_ID}/start`)) {
        await connection.write(responseHead('200 OK', { 'Content-Type': 'application/vnd.docker.raw-stream' }));
        await connection.write(encodeFrame(1, bytes('before\n')));
        await connection.write(encodeFrame(2, bytes('warn\n')));
        // The daemon dies: its end of the hijacked connection closes, which ends the body.
        await connection.end();
        if (how === 'close') await engine?.close();
      } else {
        connection.destroy();
      }
    });
    docker = new DockerClient({ socketPath: engine.socketPath, apiVersion: '1.41' });
    const error = await rejectionOf(docker.exec.run(CONTAINER, ['sh', '-c', 'echo before; sleep 60']), 10_000, 'exec.run');
    expect(isDockerConnectionError(error), String(error)).toBe(true);
    const partial = (error as DockerConnectionError).partialOutput;
    expect(text(partial?.stdout)).toBe('before\n');
    expect(text(partial?.stderr)).toBe('warn\n');
  });
});
