/**
 * An engine without an init binary (Podman as Debian installs it: no catatonit), served by
 * scripts/podman-noinit-up.sh. Run in scripts/test.sh's Podman stage with BERTH_NOINIT=1 and
 * DOCKER_HOST at that service's socket; the vitest config leaves this file out otherwise.
 */
import { afterAll, describe, expect, it } from 'vitest';
import { DockerClient, isDockerApiError } from '../../src/engine/index.js';
import { DockerCommandLineCodeExecutor } from '../../src/index.js';
import { BUSYBOX, PYTHON, TEST_LABEL } from '../helpers/engine.js';

const labels = { [TEST_LABEL]: '1' };
const docker = new DockerClient();

afterAll(async () => {
  const left = await docker.containers.list({ all: true, filters: { label: [`berth.host.pid=${process.pid}`] } });
  expect(left).toEqual([]);
  await docker.close();
});

describe('an engine without an init binary', () => {
  it('refuses HostConfig.Init (the set-up is what a stock install has)', async () => {
    const error = await docker.containers
      .create({ Image: BUSYBOX, Cmd: ['true'], Labels: labels, HostConfig: { Init: true } })
      .then(async ({ Id }) => {
        await docker.containers.remove(Id, { force: true });
        return undefined;
      })
      .catch((e: unknown) => e);
    expect(isDockerApiError(error) && error.daemonMessage).toMatch(/container-init binary not found/);
  });

  it('runs the executor with its own PID 1, which reaps orphans and ends at once on SIGTERM', async () => {
    const ex = new DockerCommandLineCodeExecutor({ image: PYTHON, labels, docker, timeout: 2 });
    await ex.start();
    try {
      const id = ex.containerId as string;
      const info = await docker.containers.inspect(id);
      expect(info.HostConfig?.Init ?? false).toBe(false);
      const pid1 = await ex.executeCodeBlocks([{ language: 'sh', code: "tr '\\0' ' ' < /proc/1/cmdline" }]);
      expect(pid1.output).toMatch(/^\/bin\/sh -c trap 'exit 0' TERM/);

      const hello = await ex.executeCodeBlocks([{ language: 'python', code: "print('hello')" }]);
      expect(hello).toMatchObject({ exitCode: 0, output: 'hello\n' });

      // An orphan that ends is reaped by PID 1: no zombie is left.
      await ex.executeCodeBlocks([{ language: 'sh', code: '(sleep 0.2 &); echo orphaned' }]);
      await new Promise((resolve) => setTimeout(resolve, 1500));
      const zombies = await ex.executeCodeBlocks([
        {
          language: 'sh',
          code: 'n=0; for s in /proc/[0-9]*/stat; do read -r l < "$s" 2>/dev/null || continue; l=${l##*) }; case $l in Z*) n=$((n+1));; esac; done; echo $n',
        },
      ]);
      expect(zombies.output).toBe('0\n');

      const slow = await ex.executeCodeBlocks([{ language: 'sh', code: 'sleep 30' }]);
      expect(slow).toMatchObject({ exitCode: 124, timedOut: true });

      await ex.restart();
      expect((await ex.executeCodeBlocks([{ language: 'python', code: 'print(2)' }])).output).toBe('2\n');

      // PID 1 takes SIGTERM: a plain stop ends with its exit 0, not the grace period's SIGKILL (137).
      await docker.containers.stop(ex.containerId as string, { timeout: 20 });
      expect((await docker.containers.inspect(ex.containerId as string)).State.ExitCode).toBe(0);
    } finally {
      await ex.stop();
    }
  });
});
