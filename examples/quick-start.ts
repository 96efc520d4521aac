// The README's quick start, as a function. `npm run typecheck` covers this file, so it cannot drift
// from the API; test/integration/quick-start.test.ts runs the README's block itself.
import { CancellationToken, DockerCommandLineCodeExecutor } from 'berth';
import { DockerClient } from 'berth/engine';

export async function quickStart(): Promise<void> {
  const docker = new DockerClient(); // found like the docker CLI: DOCKER_HOST, context, usual sockets
  console.log((await docker.system.version()).Version);
  await docker.close();

  await using executor = new DockerCommandLineCodeExecutor({
    image: 'python:3-slim',
    timeout: 30, // seconds per code block
    sandbox: true, // no network, no capabilities, read-only root, limits, non-root user
  });
  await executor.start();
  const result = await executor.executeCodeBlocks(
    [
      { language: 'python', code: "print('hello from python')" },
      { language: 'bash', code: 'echo hi' },
    ],
    new CancellationToken(), // or a plain AbortSignal
    { onOutput: (chunk) => process.stdout.write(chunk.text) },
  );
  console.log(result.exitCode, result.codeFile); // also output, stdout, stderr, timedOut, cancelled, truncated, durationMs
  // `await using` stops it here: the container and the temp workspace are removed.
}
