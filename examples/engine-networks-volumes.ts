// The README's "Networks and volumes" example. `npm run typecheck` covers this file.
import { DockerClient } from 'berth/engine';

/** A sandbox on a network with no route out, with a workspace volume that outlives it. */
export async function isolatedWorkspace(): Promise<void> {
  const docker = new DockerClient();
  const { Id: network } = await docker.networks.create({ Name: 'agents-internal', Internal: true, Labels: { app: 'agents' } });
  const workspace = await docker.volumes.create({ Name: 'agent-workspace', Labels: { app: 'agents' } });

  const { Id } = await docker.containers.create({
    Image: 'python:3-slim',
    Cmd: ['sleep', 'infinity'],
    HostConfig: {
      NetworkMode: network,
      Mounts: [{ Type: 'volume', Source: workspace.Name, Target: '/workspace' }],
    },
  });
  await docker.containers.start(Id);
  await docker.exec.run(Id, ['sh', '-c', 'echo "kept for the next container" > /workspace/notes.txt']);
  await docker.containers.remove(Id, { force: true });

  // Later: the files are still there for the next container; then clean up by label.
  const { Volumes } = await docker.volumes.list({ filters: { label: ['app=agents'] } });
  console.log(Volumes.map((volume) => `${volume.Name} at ${volume.Mountpoint}`));
  await docker.networks.prune({ filters: { label: ['app=agents'] } });
  await docker.volumes.remove(workspace.Name);
  await docker.close();
}
