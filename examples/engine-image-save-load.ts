// The README's "Image save and load" example. `npm run typecheck` covers this file.
import { createReadStream, createWriteStream } from 'node:fs';
import { Readable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import { DockerClient } from 'berth/engine';

/** `docker save` to a file and `docker load` back, streamed both ways (nothing held in memory). */
export async function saveAndLoad(file: string): Promise<string[]> {
  const docker = new DockerClient();
  const tar = await docker.images.save(['python:3-slim', 'busybox:latest']);
  await pipeline(Readable.from(tar), createWriteStream(file));

  const { loaded } = await docker.images.load(createReadStream(file));
  // Dangling images of this app only.
  await docker.images.prune({ filters: { label: ['app=agents'] } });
  await docker.close();
  return loaded; // e.g. ['python:3-slim', 'busybox:latest']
}
