/**
 * dockerd killed with SIGKILL while Berth talks to it: the second daemon of the fault suite (its
 * own socket, data root, exec root, pid file and bridge; see scripts/second-daemon.sh), never the
 * main one. What a crash looks like to a client:
 * - An exec's output is close-delimited: the daemon's death closes it *cleanly*, and the failure
 *   shows only at the next request (the exit code), as ECONNREFUSED.
 * - A followed log stream is chunked: it is cut, and iteration fails (UND_ERR_SOCKET).
 * - containerd dies with dockerd (it gets a parent-death signal); the containers' shims survive,
 *   and the restarted daemon stops those containers (10 s grace) and removes the auto-remove ones.
 */
import { afterAll, afterEach, describe, expect, it } from 'vitest';
import { type DockerConnectionError, isDockerConnectionError } from '../../src/engine/index.js';
import { DockerCommandLineCodeExecutor, type DockerCommandLineCodeExecutorOptions, isExecutorError } from '../../src/index.js';
import { BUSYBOX, PYTHON } from '../helpers/engine.js';
import { faultLabels, rejectionOf, SECOND_SOCKET, secondClient, secondDaemon, text, until } from './helpers.js';

const docker = secondClient();
const executors: DockerCommandLineCodeExecutor[] = [];
const containers: string[] = [];

function executor(options: DockerCommandLineCodeExecutorOptions = {}): DockerCommandLineCodeExecutor {
  const ex = new DockerCommandLineCodeExecutor({ image: PYTHON, labels: faultLabels(), docker, timeout: 120, ...options });
  executors.push(ex);
  return ex;
}

/** A container on the second daemon that prints a numbered line every 100 ms. */
async function ticker(): Promise<string> {
  const { Id } = await docker.containers.create({
    Image: BUSYBOX,
    Cmd: ['sh', '-c', 'i=0; while true; do echo "line $i"; i=$((i+1)); sleep 0.1; done'],
    Labels: faultLabels(),
    HostConfig: { Init: true, AutoRemove: true },
  });
  containers.push(Id);
  await docker.containers.start(Id);
  return Id;
}

/** How long a call may take to fail after the daemon died before the test calls it a hang. */
const HANG_MS = 15_000;

// Whatever a test did, the next one finds the daemon up.
afterEach(async () => {
  await secondDaemon('up');
});

afterAll(async () => {
  await secondDaemon('up').catch(() => {});
  for (const ex of executors) await ex.stop().catch(() => {});
  for (const id of containers) await docker.containers.remove(id, { force: true }).catch(() => {});
  await docker.close();
});

describe('dockerd killed (SIGKILL) during an execution', () => {
  let ex: DockerCommandLineCodeExecutor;
  let oldContainer: string;
  let fault: unknown;
  const streamed: string[] = [];

  it('rejects the call with DockerConnectionError within seconds, and the executor reports itself not running', async () => {
    ex = executor();
    await ex.start();
    oldContainer = ex.containerId as string;
    const call = ex.executeCodeBlocks(
      [{ language: 'python', code: "print('before the fault', flush=True)\nimport time\ntime.sleep(60)" }],
      undefined,
      {
        onOutput: (chunk) => streamed.push(chunk.text),
      },
    );
    const settled = rejectionOf(call, 60_000 + HANG_MS, 'executeCodeBlocks');
    await until(() => streamed.join('').includes('before the fault'), 30_000, 'the first line of the block');
    const killed = performance.now();
    await secondDaemon('kill');
    fault = await settled;
    const after = performance.now() - killed;
    expect(after, 'the call must fail soon after the daemon died, not when the block would have ended').toBeLessThan(HANG_MS);
    expect(isDockerConnectionError(fault), String(fault)).toBe(true);
    const error = fault as DockerConnectionError;
    expect(error.tried).toEqual([`unix://${SECOND_SOCKET}`]);
    expect(error.osCode).toMatch(/^(ECONNREFUSED|ENOENT|ECONNRESET|UND_ERR_SOCKET)$/);
    // The message says what to check.
    expect(error.message).toMatch(/engine/);
    expect(ex.isRunning).toBe(false);
  });

  it('keeps the output that arrived before the fault on the error (partialOutput)', () => {
    expect(isDockerConnectionError(fault)).toBe(true);
    const error = fault as DockerConnectionError;
    expect(text(error.partialOutput?.stdout)).toBe('before the fault\n');
    expect(text(error.partialOutput?.stderr)).toBe('');
  });

  it('while the daemon is down: the executor says restart, and a new start() fails at once with a typed error', async () => {
    // The daemon is down again for this test (afterEach brought it up).
    await secondDaemon('kill');
    const next = await rejectionOf(ex.executeCodeBlocks([{ language: 'python', code: 'print(1)' }]), HANG_MS, 'executeCodeBlocks');
    expect(isExecutorError(next), String(next)).toBe(true);
    expect((next as Error).message).toMatch(/restart\(\)/);
    const fresh = executor();
    const started = performance.now();
    const error = await rejectionOf(fresh.start(), HANG_MS, 'start()');
    expect(performance.now() - started).toBeLessThan(HANG_MS);
    expect(isDockerConnectionError(error), String(error)).toBe(true);
    expect((error as Error).message).toMatch(/Failed to connect to Docker.*ECONNREFUSED/s);
    expect(fresh.isRunning).toBe(false);
  });

  it('after the daemon is back, start() works again: a new container, no stale state', async () => {
    await secondDaemon('restart');
    await ex.start();
    expect(ex.isRunning).toBe(true);
    expect(ex.containerId).toBeDefined();
    expect(ex.containerId).not.toBe(oldContainer);
    const result = await ex.executeCodeBlocks([{ language: 'python', code: "print('after the fault')" }]);
    expect(result.exitCode).toBe(0);
    expect(result.output).toBe('after the fault\n');
    // start() removed the container that died with the daemon; only the new one has the name.
    await expect(docker.containers.inspect(oldContainer)).rejects.toMatchObject({ reason: 'notFound' });
    const named = await docker.containers.list({ all: true, filters: { name: [ex.containerName] } });
    expect(named.map((c) => c.Id)).toEqual([ex.containerId]);
    await ex.stop();
    expect(ex.isRunning).toBe(false);
  });
});

describe('dockerd killed (SIGKILL) during engine streams', () => {
  it('rejects exec.run with DockerConnectionError, keeping the output that came before (partialOutput)', async () => {
    const id = await ticker();
    let seen = '';
    let killing: Promise<string> | undefined;
    const run = docker.exec.run(id, ['sh', '-c', 'echo before; sleep 60; echo never'], {
      onOutput: (frame) => {
        seen += text(frame.data);
        killing ??= secondDaemon('kill');
      },
    });
    const error = await rejectionOf(run, 60_000 + HANG_MS, 'exec.run');
    await killing;
    expect(seen).toBe('before\n');
    expect(isDockerConnectionError(error), String(error)).toBe(true);
    const partial = (error as DockerConnectionError).partialOutput;
    expect(text(partial?.stdout)).toBe('before\n');
    expect(text(partial?.stderr)).toBe('');
  });

  it('rejects a followed log stream with DockerConnectionError after the lines that came', async () => {
    const id = await ticker();
    const stream = await docker.containers.logs(id, { follow: true });
    let seen = '';
    let killing: Promise<string> | undefined;
    const read = (async () => {
      for await (const frame of stream) {
        seen += text(frame.data);
        if (seen.includes('line 3\n')) killing ??= secondDaemon('kill');
      }
    })();
    const error = await rejectionOf(read, HANG_MS * 2, 'iterating the followed logs');
    await killing;
    expect(isDockerConnectionError(error), String(error)).toBe(true);
    expect((error as Error).message).toMatch(/engine/);
    expect(seen.startsWith('line 0\nline 1\nline 2\nline 3\n')).toBe(true);
    await stream.cancel();
  });
});
