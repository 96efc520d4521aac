// The README's "Testing your agent without Docker". `npm run typecheck` covers this file, and CI
// runs it (scripts/test.sh): once against the real engine, then with no engine at all.
//
//   node examples/testing-without-docker.ts record fixtures/agent-step   # talks to Docker, writes the folder
//   DOCKER_HOST=unix:///nowhere node examples/testing-without-docker.ts replay fixtures/agent-step
//
// (Node >= 22.18 runs TypeScript as is; with older Node, compile it or use tsx.)
import { DockerCommandLineCodeExecutor } from 'berth';
import type { DockerClient } from 'berth/engine';
import { isFixtureMismatchError, recordingClient, replayClient } from 'berth/testing';

/** The code under test: one step of an agent, running the code a model wrote. */
export async function runAgentStep(docker: DockerClient): Promise<{ answer: string; exitCode: number; timedOut: boolean }> {
  const executor = new DockerCommandLineCodeExecutor({ docker, image: 'python:3-slim', timeout: 5 });
  await executor.start();
  try {
    const result = await executor.executeCodeBlocks([
      { language: 'python', code: "with open('answer.txt', 'w') as f:\n    f.write(str(6 * 7))" },
      { language: 'bash', code: 'echo "the answer is $(cat answer.txt)"' },
    ]);
    return { answer: result.output.trim(), exitCode: result.exitCode, timedOut: result.timedOut };
  } finally {
    await executor.stop();
  }
}

const [mode, dir = 'fixtures/agent-step'] = process.argv.slice(2);
if (mode === 'record' || mode === 'replay') {
  // Record once against the real engine; replay in tests, with no engine, no socket, no network.
  const docker = mode === 'record' ? recordingClient(dir) : replayClient(dir);
  try {
    console.log(JSON.stringify(await runAgentStep(docker)));
  } catch (error) {
    // The agent sent something the recording does not hold: the message names the request, the
    // nearest recorded exchange and the difference. Re-record if the change is intended.
    if (isFixtureMismatchError(error)) console.error(error.message);
    throw error;
  } finally {
    await docker.close(); // a recording is written here (and at process exit)
  }
}
