/**
 * `docker.volumes` against the real engine: create, inspect, list, remove, prune, and what a
 * volume is for (a workspace that outlives one container). Every volume is named and labelled for
 * this run; prune is always narrowed to this run's label: the engine is shared.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type DockerClient, isDockerApiError, isDockerArgumentError } from '../../src/engine/index.js';
import { BUSYBOX, removeQuietly, TEST_LABEL, testClient } from '../helpers/engine.js';
import { isPodman, podmanLimitation } from '../helpers/podman.js';

let docker: DockerClient;
const RUN = `${process.pid}-${Date.now().toString(36)}`;
const RUN_LABEL = `berth.test.run=${RUN}`;
const volumes: string[] = [];
const containers: string[] = [];

beforeAll(() => {
  docker = testClient();
});

afterAll(async () => {
  for (const id of containers) await removeQuietly(docker, id);
  for (const name of volumes) await docker.volumes.remove(name, { force: true }).catch(() => {});
  await docker.close();
});

async function makeVolume(suffix: string, labels: Record<string, string> = {}): Promise<string> {
  const name = `berth-test-${suffix}-${RUN}`;
  volumes.push(name);
  const volume = await docker.volumes.create({ Name: name, Labels: { [TEST_LABEL]: '1', 'berth.test.run': RUN, ...labels } });
  expect(volume.Name).toBe(name);
  return name;
}

/** Runs `script` in a new container with `volume` mounted at /ws, to the end; returns its output and exit code. */
async function runWith(volume: string, script: string, readOnly = false): Promise<{ code: number; output: string }> {
  const { Id } = await docker.containers.create({
    Image: BUSYBOX,
    Cmd: ['sh', '-c', script],
    Labels: { [TEST_LABEL]: '1' },
    HostConfig: { Mounts: [{ Type: 'volume', Source: volume, Target: '/ws', ReadOnly: readOnly }] },
  });
  containers.push(Id);
  await docker.containers.start(Id);
  const { StatusCode } = await docker.containers.wait(Id);
  let output = '';
  for await (const frame of await docker.containers.logs(Id, { tty: false })) output += new TextDecoder().decode(frame.data);
  await docker.containers.remove(Id);
  return { code: StatusCode, output };
}

describe('volumes', () => {
  it('creates a labelled volume, inspects and lists it by label, removes it', async () => {
    const name = await makeVolume('plain');
    const info = await docker.volumes.inspect(name);
    expect(info.Name).toBe(name);
    expect(info.Driver).toBe('local');
    expect(info.Mountpoint).toMatch(/^\//);
    expect(info.Labels?.[TEST_LABEL]).toBe('1');

    const listed = await docker.volumes.list({ filters: { label: [RUN_LABEL] } });
    expect(listed.Volumes.map((volume) => volume.Name)).toContain(name);
    expect(listed.Volumes.every((volume) => volume.Labels?.['berth.test.run'] === RUN)).toBe(true);

    await docker.volumes.remove(name);
    const error = await docker.volumes.inspect(name).catch((e: unknown) => e);
    expect(isDockerApiError(error) && error.reason).toBe('notFound');
    expect((await docker.volumes.list({ filters: { name: [name] } })).Volumes).toEqual([]);
  });

  it('keeps files written by one container for the next: the volume outlives the container', async () => {
    const name = await makeVolume('workspace');
    const writer = await runWith(name, 'mkdir -p /ws/src && echo "state from the first container" > /ws/src/notes.txt && echo written');
    expect(writer).toEqual({ code: 0, output: 'written\n' });
    const reader = await runWith(name, 'cat /ws/src/notes.txt', true);
    expect(reader).toEqual({ code: 0, output: 'state from the first container\n' });
    // Mounted read-only, the second container could not have written it.
    const refused = await runWith(name, '(echo x > /ws/other) 2>/dev/null || echo read-only', true);
    expect(refused.output).toBe('read-only\n');
  });

  it('creates an anonymous volume with a generated name when none is given', async () => {
    const volume = await docker.volumes.create({ Labels: { [TEST_LABEL]: '1', 'berth.test.run': RUN } });
    volumes.push(volume.Name);
    expect(volume.Name).toMatch(/^[a-f0-9]{64}$/);
    expect((await docker.volumes.inspect(volume.Name)).Name).toBe(volume.Name);
  });

  it('returns the existing volume when one of that name is created again', async () => {
    const name = await makeVolume('twice', { first: 'yes' });
    const again = await docker.volumes.create({ Name: name });
    expect(again.Name).toBe(name);
    expect(again.Labels?.first).toBe('yes');
  });

  it('refuses to remove a volume a container uses, with reason conflict', async () => {
    const name = await makeVolume('in-use');
    const { Id } = await docker.containers.create({
      Image: BUSYBOX,
      Cmd: ['true'],
      Labels: { [TEST_LABEL]: '1' },
      HostConfig: { Mounts: [{ Type: 'volume', Source: name, Target: '/ws' }] },
    });
    containers.push(Id);
    const error = await docker.volumes.remove(name).catch((e: unknown) => e);
    expect(isDockerApiError(error) && error.reason).toBe('conflict');
    expect((await docker.volumes.inspect(name)).Name).toBe(name);
    await docker.containers.remove(Id);
    await docker.volumes.remove(name);
  });

  it('prunes the unused volumes that match a label filter, and only those', async () => {
    const unused = await makeVolume('prune-unused');
    const used = await makeVolume('prune-used');
    const kept = await makeVolume('prune-kept', { keep: '1' });
    await runWith(unused, 'dd if=/dev/zero of=/ws/blob bs=1024 count=64 2>/dev/null');
    const { Id } = await docker.containers.create({
      Image: BUSYBOX,
      Cmd: ['true'],
      Labels: { [TEST_LABEL]: '1' },
      HostConfig: { Mounts: [{ Type: 'volume', Source: used, Target: '/ws' }] },
    });
    containers.push(Id);
    // API 1.42+ prunes only anonymous volumes unless `all` is set; 1.41 (dockerd 20.10) takes named ones too.
    const all = (await docker.apiVersion()) >= '1.42' ? { all: ['true'] } : {};
    let result: Awaited<ReturnType<typeof docker.volumes.prune>>;
    if (await isPodman(docker)) {
      // Podman 4.3 knows `label` and `until` for volume prune, not `label!`: the engine says so.
      podmanLimitation('volume prune with label!', 'Podman 4.3 refuses the label! filter of POST /volumes/prune');
      await expect(docker.volumes.prune({ filters: { label: [RUN_LABEL], 'label!': ['keep'] } })).rejects.toThrow(/label!/);
      await docker.volumes.remove(kept);
      result = await docker.volumes.prune({ filters: { label: [RUN_LABEL] } });
    } else result = await docker.volumes.prune({ filters: { label: [RUN_LABEL], 'label!': ['keep'], ...all } });
    expect(result.VolumesDeleted).toContain(unused);
    expect(result.VolumesDeleted).not.toContain(used);
    expect(result.VolumesDeleted).not.toContain(kept);
    expect(result.VolumesDeleted.every((name) => name.endsWith(RUN) || /^[a-f0-9]{64}$/.test(name))).toBe(true);
    expect(result.SpaceReclaimed).toBeGreaterThanOrEqual(0);
    await expect(docker.volumes.inspect(unused)).rejects.toMatchObject({ reason: 'notFound' });
    expect((await docker.volumes.inspect(used)).Name).toBe(used);
    expect(await docker.volumes.prune({ filters: { label: [`berth.test.run=none-${RUN}`] } })).toEqual({
      VolumesDeleted: [],
      SpaceReclaimed: 0,
    });
  });

  it('refuses bad arguments before any I/O', async () => {
    for (const call of [
      () => docker.volumes.inspect(''),
      () => docker.volumes.inspect('x'),
      () => docker.volumes.remove('../etc'),
      () => docker.volumes.create({ Name: 'has space' }),
      () => docker.volumes.create('ws' as unknown as { Name: string }),
      () => docker.volumes.list({ filters: { label: [1] as unknown as string[] } }),
      () => docker.volumes.prune({ filters: 'label=a' as unknown as Record<string, string[]> }),
    ]) {
      const error = await call().catch((e: unknown) => e);
      expect(isDockerArgumentError(error), String(error)).toBe(true);
    }
  });
});
