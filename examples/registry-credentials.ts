// The README's "Registries and credentials" example. `npm run typecheck` covers this file.
import { DockerClient, isDockerCredentialsError, isDockerStreamError } from 'berth/engine';

export async function pushAndPull(): Promise<void> {
  // Credentials as `docker login` left them: $DOCKER_CONFIG/config.json or ~/.docker/config.json
  // (`credHelpers`, `credsStore` via docker-credential-<name>, `auths`).
  const docker = new DockerClient();
  await docker.images.tag('my-agent:1.0', { repo: 'registry.example.com/team/my-agent', tag: '1.0' });
  try {
    await docker.images.push('registry.example.com/team/my-agent:1.0', {
      onProgress: (message) => console.log(message.status, message.progress ?? ''),
    });
  } catch (error) {
    if (isDockerCredentialsError(error)) console.error(`${error.helper ?? 'config.json'}: ${error.message}`);
    else if (isDockerStreamError(error)) console.error(`the registry refused: ${error.message}`);
    else throw error;
  }

  // Explicit credentials win over config.json; `credentials: false` sends none.
  await docker.images.pull('registry.example.com/team/my-agent:1.0', {
    credentials: { username: 'ci-bot', password: process.env.REGISTRY_TOKEN ?? '' },
  });

  // Another user's docker config (and PATH for its helpers): the client's `env`.
  const other = new DockerClient({ env: { ...process.env, DOCKER_CONFIG: '/srv/ci/.docker' } });
  await other.images.pull('registry.example.com/team/my-agent:1.0');
}
