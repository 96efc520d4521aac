/**
 * The container dies under a running block (killed from outside), or the block's process is
 * OOM-killed, on the main engine. The designed behaviour:
 * - Container killed: the call still *resolves*, with the block's exit code (137, SIGKILL), the
 *   output so far and a line saying the container died; the executor then reports itself not
 *   running, the next `executeCodeBlocks` throws an ExecutorError telling to call `restart()`,
 *   and `restart()` recovers (a new container when the dead one was auto-removed). It does not
 *   restart by itself: state in the container (installed packages, files outside the workspace,
 *   processes) is gone, and the caller must know.
 * - Block OOM-killed (the container lives on): exit code 137 and a line saying the process was
 *   killed for lack of memory; the executor keeps running.
 */
import { afterAll, describe, expect, it } from 'vitest';
import { DockerClient } from '../../src/engine/index.js';
import { DockerCommandLineCodeExecutor, type DockerCommandLineCodeExecutorOptions, isExecutorError } from '../../src/index.js';
import { PYTHON } from '../helpers/engine.js';
import { faultLabels, rejectionOf, until } from './helpers.js';

const docker = new DockerClient();
const executors: DockerCommandLineCodeExecutor[] = [];

function executor(options: DockerCommandLineCodeExecutorOptions = {}): DockerCommandLineCodeExecutor {
  const ex = new DockerCommandLineCodeExecutor({ image: PYTHON, labels: faultLabels(), docker, timeout: 60, ...options });
  executors.push(ex);
  return ex;
}

afterAll(async () => {
  for (const ex of executors) await ex.stop().catch(() => {});
  await docker.close();
});

describe.each([
  { autoRemove: true, what: 'auto-removed (the default)' },
  { autoRemove: false, what: 'kept (autoRemove: false)' },
])('the container killed during a block, $what', ({ autoRemove }) => {
  it('gives exit code 137, the output so far and a message that the container died; then restart() is required and works', async () => {
    const ex = executor({ autoRemove });
    await ex.start();
    const id = ex.containerId as string;
    let streamed = '';
    const call = ex.executeCodeBlocks(
      [{ language: 'python', code: "print('before the kill', flush=True)\nimport time\ntime.sleep(60)" }],
      undefined,
      {
        onOutput: (chunk) => {
          streamed += chunk.text;
        },
      },
    );
    await until(() => streamed.includes('before the kill'), 30_000, 'the first line of the block');
    await docker.containers.kill(id);
    const result = await call;
    expect(result.exitCode).toBe(137);
    expect(result.stdout).toBe('before the kill\n');
    expect(result.output.startsWith('before the kill\n')).toBe(true);
    expect(result.output).toMatch(/container died/i);
    expect(result.output).toMatch(/restart\(\)/);
    expect(ex.isRunning).toBe(false);

    const next = await rejectionOf(ex.executeCodeBlocks([{ language: 'python', code: 'print(1)' }]), 15_000, 'the next executeCodeBlocks');
    expect(isExecutorError(next), String(next)).toBe(true);
    expect((next as Error).message).toMatch(/restart\(\)/);

    await ex.restart();
    expect(ex.isRunning).toBe(true);
    const after = await ex.executeCodeBlocks([{ language: 'python', code: "print('alive again')" }]);
    expect(after.exitCode).toBe(0);
    expect(after.output).toBe('alive again\n');
    // Berth never sets the engine's AutoRemove (autoRemove: true means stop() removes): the dead
    // container is still there, and restart() starts it again.
    expect(ex.containerId).toBe(id);
    await ex.stop();
    // With autoRemove: false, stop() keeps the (stopped) container, by design.
    if (!autoRemove) await docker.containers.remove(id, { force: true });
  });
});

describe('a block OOM-killed (memoryBytes)', () => {
  it('gives exit code 137 and says the process ran out of memory; the executor keeps running', async () => {
    const ex = executor({ memoryBytes: 64 * 1024 * 1024 });
    await ex.start();
    const result = await ex.executeCodeBlocks([
      { language: 'python', code: "print('allocating', flush=True)\nx = []\nwhile True:\n    x.append(bytearray(8 * 1024 * 1024))" },
    ]);
    expect(result.exitCode).toBe(137);
    expect(result.stdout).toBe('allocating\n');
    expect(result.output).toMatch(/out of memory|OOM/i);
    expect(ex.isRunning).toBe(true);
    const after = await ex.executeCodeBlocks([{ language: 'python', code: "print('still here')" }]);
    expect(after.output).toBe('still here\n');
    await ex.stop();
  });
});
