import { existsSync } from 'node:fs';
import { afterAll, describe, expect, it } from 'vitest';
import type { DockerClient } from '../../src/engine/index.js';
import { DockerCommandLineCodeExecutor, type DockerCommandLineCodeExecutorOptions } from '../../src/index.js';
import { PYTHON, TEST_LABEL } from './engine.js';

/**
 * Copy mode on the local engine: the same path a remote engine takes (files through the archive
 * endpoint, no bind mount of workDir). The remote TLS suite runs it against the TCP listener.
 */
export function copyModeSuite(name: string, client: () => DockerClient, extra: DockerCommandLineCodeExecutorOptions = {}): void {
  describe(name, () => {
    const docker = client();
    afterAll(() => docker.close());
    const make = (options: DockerCommandLineCodeExecutorOptions = {}) =>
      new DockerCommandLineCodeExecutor({ image: PYTHON, docker, labels: { [TEST_LABEL]: '1' }, ...extra, ...options });

    it('runs blocks with files sent through the archive endpoint and no bind mount of workDir', async () => {
      const ex = make();
      await ex.start();
      try {
        expect(ex.workspaceMode).toBe('copy');
        const info = await docker.containers.inspect(ex.containerId as string);
        expect(info.HostConfig.Binds ?? []).toEqual([]);
        expect(info.Mounts.some((m) => m.Source === ex.workDir)).toBe(false);
        const result = await ex.executeCodeBlocks([
          { language: 'python', code: "print('hello from copy mode')" },
          { language: 'sh', code: '# filename: sub/run.sh\necho "$(pwd) $(ls sub)"' },
        ]);
        expect(result.exitCode).toBe(0);
        expect(result.output).toBe('hello from copy mode\n/workspace run.sh\n');
        expect(existsSync(result.codeFile as string)).toBe(true);
      } finally {
        await ex.stop();
      }
    });

    it('fetches files the code wrote with readFile', async () => {
      const ex = make();
      await ex.start();
      try {
        await ex.executeCodeBlocks([
          {
            language: 'python',
            code: "open('out/result.txt', 'w').write('42') if __import__('os').makedirs('out', exist_ok=True) is None else None",
          },
        ]);
        expect(new TextDecoder().decode(await ex.readFile('out/result.txt'))).toBe('42');
        expect(new TextDecoder().decode(await ex.readFile('/workspace/out/result.txt'))).toBe('42');
        await expect(ex.readFile('../etc/passwd')).rejects.toThrow(/not a path inside the workspace/);
        await expect(ex.readFile('missing.txt')).rejects.toMatchObject({ name: 'WorkspaceFileError', kind: 'missing' });
        await ex.executeCodeBlocks([{ language: 'sh', code: 'mkdir -p folder && ln -sf out/result.txt link && mkfifo fifo' }]);
        await expect(ex.readFile('folder')).rejects.toMatchObject({ name: 'WorkspaceFileError', kind: 'folder' });
        await expect(ex.readFile('link')).rejects.toMatchObject({ name: 'WorkspaceFileError', kind: 'symlink' });
        await expect(ex.readFile('fifo')).rejects.toThrow(/"fifo" is a FIFO \(named pipe\), not a regular file/);
      } finally {
        await ex.stop();
      }
    });

    it('deletes the files of a call in the container and on this machine with deleteTmpFiles', async () => {
      const ex = make({ deleteTmpFiles: true });
      await ex.start();
      try {
        const result = await ex.executeCodeBlocks([{ language: 'python', code: "print('x')" }]);
        expect(existsSync(result.codeFile as string)).toBe(false);
        const listing = await ex.executeCodeBlocks([{ language: 'sh', code: 'ls -A /workspace | grep -c tmp_code_ || true' }]);
        // Only this listing's own file is there while it runs.
        expect(listing.output.trim()).toBe('1');
      } finally {
        await ex.stop();
      }
    });

    it('works with the sandbox (read-only root, non-root user)', async () => {
      const ex = make({ sandbox: true });
      await ex.start();
      try {
        const result = await ex.executeCodeBlocks([{ language: 'sh', code: 'id -u; echo ok > /workspace/w.txt && cat w.txt' }]);
        expect(result.output).toBe('65534\nok\n');
      } finally {
        await ex.stop();
      }
    });
  });
}
