// The README's "More of the container surface" example. `npm run typecheck` covers this file.
import { DockerClient } from 'berth/engine';

/** What an agent loop does around one sandbox: watch it, see what a block changed, snapshot it, freeze it while idle. */
export async function sandboxChores(id: string, signal: AbortSignal): Promise<void> {
  const docker = new DockerClient();

  // One sample of CPU and memory, then a live stream until the signal aborts.
  const sample = await docker.containers.stats(id);
  console.log(sample.memory_stats.usage, sample.pids_stats.current);
  const live = await docker.containers.stats(id, { stream: true, signal });
  try {
    for await (const next of live) console.log(next.read, next.cpu_stats.cpu_usage.total_usage);
  } catch (error) {
    if (!signal.aborted) throw error; // an abort ends the loop with the signal's reason
  }

  // The files the last code block added (1), changed (0) or deleted (2).
  for (const change of await docker.containers.changes(id)) console.log(change.Kind, change.Path);
  console.log((await docker.containers.top(id)).Processes);

  // Snapshot the container as an image, with a label (changes work on Docker and Podman alike).
  const { Id: image } = await docker.containers.commit(id, { repo: 'sandbox/snapshot', tag: 'v1', changes: ['LABEL step=3'] });
  console.log(image);

  // An idle sandbox costs no CPU while paused.
  await docker.containers.pause(id);
  await docker.containers.unpause(id);

  // Start a background process and return at once.
  const { Id: execId } = await docker.exec.create(id, { Cmd: ['sh', '-c', 'sleep 5; touch /tmp/done'] });
  await docker.exec.start(execId, { detach: true });

  // Remove the stopped containers of this app only.
  await docker.containers.prune({ filters: { label: ['app=agents'] } });
  await docker.close();
}
