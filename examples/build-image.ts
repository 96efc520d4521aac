// The README's "Building images" example. `npm run typecheck` covers this file.
import { DockerClient, isDockerBuildError } from 'berth/engine';

export async function buildImage(): Promise<void> {
  const docker = new DockerClient();

  // A folder of this machine: packed here, its .dockerignore honoured (`!` exceptions, `**`).
  const build = docker.images.build('./agent-image', {
    t: ['my-agent:1.0', 'my-agent:latest'],
    buildargs: { PYTHON_PACKAGES: 'numpy pandas' },
    labels: { 'com.example.role': 'sandbox' },
    target: 'runtime', // a stage of a multi-stage Dockerfile
    signal: AbortSignal.timeout(10 * 60_000),
  });
  try {
    // The engine's JSON progress, as it comes (iterate once, or skip straight to done()).
    for await (const message of build) if (message.stream) process.stdout.write(message.stream);
    const { id, tags } = await build.done();
    console.log(`built ${id} as ${tags.join(', ')}`);
  } catch (error) {
    if (!isDockerBuildError(error)) throw error;
    // The failing step, what it printed, and its exit code.
    console.error(`${error.step} failed (exit ${error.exitCode}):\n${error.output}`);
  }

  // A tar archive as bytes or a stream works too: the Dockerfile by another name, no cache.
  const tar: Uint8Array = await buildContextSomehow();
  await docker.images.build(tar, { dockerfile: 'docker/Containerfile', nocache: true }).done();
}

declare function buildContextSomehow(): Promise<Uint8Array>;
