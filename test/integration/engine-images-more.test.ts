/**
 * Image save and load (`docker save` tar streams, both directions) and image prune against the
 * real engine. Every image is made for this run (a commit of a labelled container, so it has a
 * layer of its own) and removed at the end; prune is narrowed to this run's label.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type DockerClient, isDockerArgumentError, isDockerError } from '../../src/engine/index.js';
import { removeQuietly, startSleeper, TEST_LABEL, testClient } from '../helpers/engine.js';
import { isPodman, listedNames } from '../helpers/podman.js';
import { readTar } from '../helpers/tar.js';

let docker: DockerClient;
const RUN = `${process.pid}-${Date.now().toString(36)}`;
const containers: string[] = [];
const images: string[] = [];

beforeAll(() => {
  docker = testClient();
});

afterAll(async () => {
  for (const id of containers) await removeQuietly(docker, id);
  for (const ref of images) await docker.images.remove(ref, { force: true }).catch(() => {});
  await docker.close();
});

/** An image of its own: busybox plus a file whose contents are unique to this run; tagged `repo:tag` unless `repo` is undefined. */
async function uniqueImage(content: string, repo: string | undefined, labels: Record<string, string> = {}): Promise<string> {
  const id = await startSleeper(docker);
  containers.push(id);
  await docker.containers.putFiles(id, '/', [{ path: 'marker.txt', data: content }]);
  // `changes`, not `config`: Podman 4.3 ignores the config body of a commit.
  const all = { [TEST_LABEL]: '1', 'berth.test.run': RUN, ...labels };
  const { Id } = await docker.containers.commit(id, {
    ...(repo ? { repo, tag: 'v1' } : {}),
    changes: [...Object.entries(all).map(([key, value]) => `LABEL ${key}=${value}`), 'CMD ["cat", "/marker.txt"]'],
  });
  images.push(repo ? `${repo}:v1` : Id);
  await removeQuietly(docker, id);
  return Id;
}

/** Runs an image's default command to the end and returns its output. */
async function runImage(ref: string): Promise<string> {
  const { Id } = await docker.containers.create({ Image: ref, Labels: { [TEST_LABEL]: '1' } });
  containers.push(Id);
  await docker.containers.start(Id);
  await docker.containers.wait(Id);
  let output = '';
  for await (const frame of await docker.containers.logs(Id, { tty: false })) output += new TextDecoder().decode(frame.data);
  return output;
}

async function exists(ref: string): Promise<boolean> {
  return docker.images.inspect(ref).then(
    () => true,
    (error: unknown) => {
      if ((error as { reason?: string }).reason === 'notFound') return false;
      throw error;
    },
  );
}

describe('images.save and images.load', () => {
  it('round-trips an image: save, remove, load restores it with its tag and its files', async () => {
    const repo = `berth-test/save-${RUN}`;
    const id = await uniqueImage(`saved by ${RUN}`, repo);
    const chunks: Uint8Array[] = [];
    for await (const chunk of await docker.images.save(`${repo}:v1`)) chunks.push(chunk);
    const tar = Buffer.concat(chunks);

    await docker.images.remove(`${repo}:v1`, { force: true });
    expect(await exists(`${repo}:v1`)).toBe(false);
    expect(await exists(id)).toBe(false);

    const { loaded } = await docker.images.load(new Uint8Array(tar));
    expect(loaded.some((name) => listedNames(`${repo}:v1`).includes(name))).toBe(true);
    expect((await docker.images.inspect(`${repo}:v1`)).Id).toBe(id);
    expect(await runImage(`${repo}:v1`)).toBe(`saved by ${RUN}`);
  });

  it('streams a save straight into a load, and the tar has the manifest docker load reads', async () => {
    const repo = `berth-test/pipe-${RUN}`;
    const id = await uniqueImage(`piped by ${RUN}`, repo);
    const entries = await readTar(await docker.images.save(`${repo}:v1`), (name) => name === 'manifest.json');
    const manifest = JSON.parse(new TextDecoder().decode(entries.find((entry) => entry.name === 'manifest.json')?.data)) as Array<{
      RepoTags: string[];
      Layers: string[];
    }>;
    expect(manifest[0]?.RepoTags.some((tag) => listedNames(`${repo}:v1`).includes(tag))).toBe(true);
    expect(manifest[0]?.Layers.length).toBeGreaterThan(0);

    // The saved stream goes into the load as it is read, never held whole: the engine reports the tag loaded.
    const { loaded } = await docker.images.load(await docker.images.save(`${repo}:v1`));
    expect(loaded.some((name) => listedNames(`${repo}:v1`).includes(name))).toBe(true);
    expect((await docker.images.inspect(`${repo}:v1`)).Id).toBe(id);
  });

  it('saves to a file and loads from a file stream (the README example)', async () => {
    const { createReadStream, createWriteStream } = await import('node:fs');
    const { mkdtemp, rm, stat } = await import('node:fs/promises');
    const { tmpdir } = await import('node:os');
    const { join } = await import('node:path');
    const { Readable } = await import('node:stream');
    const { pipeline } = await import('node:stream/promises');
    const repo = `berth-test/file-${RUN}`;
    const id = await uniqueImage(`filed by ${RUN}`, repo);
    const dir = await mkdtemp(join(tmpdir(), 'berth-save-'));
    try {
      const file = join(dir, 'image.tar');
      await pipeline(Readable.from(await docker.images.save(`${repo}:v1`)), createWriteStream(file));
      expect((await stat(file)).size).toBeGreaterThan(1024);
      await docker.images.remove(`${repo}:v1`, { force: true });
      expect(await exists(id)).toBe(false);
      const { loaded } = await docker.images.load(createReadStream(file));
      expect(loaded.some((name) => listedNames(`${repo}:v1`).includes(name))).toBe(true);
      expect(await runImage(`${repo}:v1`)).toBe(`filed by ${RUN}`);
    } finally {
      await rm(dir, { recursive: true, force: true });
    }
  });

  it('saves several images into one tar', async () => {
    const first = `berth-test/multi-a-${RUN}`;
    const second = `berth-test/multi-b-${RUN}`;
    await uniqueImage('a', first);
    await uniqueImage('b', second);
    const entries = await readTar(await docker.images.save([`${first}:v1`, `${second}:v1`]), (name) => name === 'manifest.json');
    const manifest = JSON.parse(new TextDecoder().decode(entries.find((entry) => entry.name === 'manifest.json')?.data)) as Array<{
      RepoTags: string[] | null;
    }>;
    const tags = manifest.flatMap((item) => item.RepoTags ?? []);
    expect(tags.some((tag) => listedNames(`${first}:v1`).includes(tag))).toBe(true);
    expect(tags.some((tag) => listedNames(`${second}:v1`).includes(tag))).toBe(true);
  });

  it('rejects a tar that is not an image archive with a typed error', async () => {
    const garbage = new TextEncoder().encode('this is not a tar archive at all'.repeat(40));
    const error = await docker.images.load(garbage).catch((e: unknown) => e);
    expect(isDockerError(error), String(error)).toBe(true);
  });

  it('gives notFound when saving an image that does not exist', async () => {
    const error = await docker.images.save(`berth-test/never-${RUN}:nope`).catch((e: unknown) => e);
    // dockerd refuses before the stream; Podman too (404 or 500 with "no such image").
    expect(isDockerError(error), String(error)).toBe(true);
    expect(String(error)).toMatch(/no such image|not found|does not exist|not known/i);
  });
});

describe('images.prune', () => {
  it('removes dangling images that match a label filter, and keeps tagged ones', async () => {
    const label = `berth.test.prune=${RUN}`;
    const dangling = await uniqueImage(`dangling ${RUN}`, undefined, { 'berth.test.prune': RUN });
    const tagged = await uniqueImage(`tagged ${RUN}`, `berth-test/prune-${RUN}`, { 'berth.test.prune': RUN });
    const result = await docker.images.prune({ filters: { label: [label] } });
    expect(result.ImagesDeleted.map((item) => item.Deleted)).toContain(dangling);
    expect(result.ImagesDeleted.map((item) => item.Deleted)).not.toContain(tagged);
    expect(await exists(dangling)).toBe(false);
    expect(await exists(tagged)).toBe(true);
    expect(await docker.images.prune({ filters: { label: [`${label}-none`] } })).toMatchObject({ ImagesDeleted: [] });
    if (await isPodman(docker)) return;
    // dangling=false takes unused tagged images too (still narrowed to the label).
    const wide = await docker.images.prune({ filters: { label: [label], dangling: ['false'] } });
    expect(wide.ImagesDeleted.some((item) => item.Deleted === tagged || item.Untagged !== undefined)).toBe(true);
    expect(await exists(tagged)).toBe(false);
  });
});

describe('bad arguments', () => {
  it('are refused before any I/O with DockerArgumentError', async () => {
    for (const call of [
      () => docker.images.save(''),
      () => docker.images.save([]),
      () => docker.images.save(['ok', 'Not Valid']),
      () => docker.images.load('a tar' as unknown as Uint8Array),
      () => docker.images.prune({ filters: { dangling: true as unknown as string[] } }),
    ]) {
      const error = await call().catch((e: unknown) => e);
      expect(isDockerArgumentError(error), String(error)).toBe(true);
    }
  });
});
