// The README's quick start. `npm run typecheck` covers this file, so it cannot drift from the API.
import { CancellationToken, DockerCommandLineCodeExecutor } from 'berth';
import { DockerClient } from 'berth/engine';

export async function quickStart(): Promise<void> {
  // The engine is found like the docker CLI finds it (DOCKER_HOST, docker context, usual sockets).
  const docker = new DockerClient();
  const { exitCode, stdout } = await docker.exec.run('my-container', ['echo', 'hello']).catch(() => ({ exitCode: -1, stdout: '' }));
  console.log(exitCode, stdout);

  // One long-lived container runs the code blocks a model wrote.
  await using executor = new DockerCommandLineCodeExecutor({
    image: 'python:3-slim',
    timeout: 30, // seconds per call
    sandbox: true, // no network, no capabilities, read-only root, limits, non-root user
  });
  await executor.start();

  const token = new CancellationToken();
  const result = await executor.executeCodeBlocks(
    [
      { language: 'python', code: "print('hello from python')" },
      { language: 'bash', code: 'echo "and from bash"' },
    ],
    token,
    { onOutput: (chunk) => process.stdout.write(chunk.text) },
  );
  console.log(result.exitCode, result.output, result.codeFile, result.timedOut, result.cancelled);
  // `await using` stops the executor here: the container and the temp workspace are removed.
}
