/**
 * dockerode's test cases (test/container.js, docker.js, image.js, networks.js, 5.0.1) for the
 * areas Berth covers, ported to Berth's API and to the offline images. Each test names the
 * upstream `describe`/`it` it ports; the intent is kept, the code is our own. The cases that do not
 * apply, and why, are listed in the README ("Parity with docker-py and dockerode").
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { DockerClient } from '../../src/engine/index.js';
import { BUSYBOX, removeQuietly, TEST_LABEL, testClient } from '../helpers/engine.js';
import { isPodman, listedNames } from '../helpers/podman.js';
import { readTar } from '../helpers/tar.js';

let docker: DockerClient;
const RUN = `dode-${process.pid}-${Date.now().toString(36)}`;
const containers: string[] = [];
const networks: string[] = [];
const volumes: string[] = [];
const images: string[] = [];
const decoder = new TextDecoder();

beforeAll(() => {
  docker = testClient();
});

afterAll(async () => {
  for (const id of containers) await removeQuietly(docker, id);
  for (const id of networks) await docker.networks.remove(id).catch(() => {});
  for (const name of volumes) await docker.volumes.remove(name, { force: true }).catch(() => {});
  for (const ref of images) await docker.images.remove(ref, { force: true }).catch(() => {});
  await docker.close();
});

async function container(cmd: string[] = ['sleep', '3600'], extra: Record<string, unknown> = {}, start = true): Promise<string> {
  const { Id } = await docker.containers.create({
    Image: BUSYBOX,
    Cmd: cmd,
    Labels: { [TEST_LABEL]: '1', 'berth.test.run': RUN },
    ...extra,
  });
  containers.push(Id);
  if (start) await docker.containers.start(Id);
  return Id;
}

describe('container.js', () => {
  it('#inspect should inspect a container, with opts (size)', async () => {
    const c = await container();
    expect((await docker.containers.inspect(c)).Id).toBe(c);
    const sized = await docker.containers.inspect(c, { size: true });
    expect(sized).toHaveProperty('SizeRootFs');
  });

  it('#archive should put, get and inspect an archive inside the container', async () => {
    const c = await container();
    await docker.containers.putFiles(c, '/tmp', [{ path: 'file.txt', data: 'archived\n' }]);
    const archive = await docker.containers.getArchive(c, '/tmp/file.txt');
    expect(archive.stat).toMatchObject({ name: 'file.txt', size: 9 });
    const entries = await readTar(archive.body, () => true);
    expect(entries[0]?.data && decoder.decode(entries[0].data)).toBe('archived\n');
  });

  it('#start should start a container', async () => {
    const c = await container(['sleep', '3600'], {}, false);
    await docker.containers.start(c);
    expect((await docker.containers.inspect(c)).State.Running).toBe(true);
  });

  it('#resize should resize the TTY of a container', async () => {
    const c = await container(['sh', '-c', 'while true; do stty size; sleep 0.2; done'], { Tty: true });
    await docker.containers.resize(c, { h: 40, w: 100 });
    let seen = '';
    for (let i = 0; i < 50 && !seen.includes('40 100'); i++) {
      await new Promise((resolve) => setTimeout(resolve, 100));
      seen = '';
      for await (const frame of await docker.containers.logs(c, { tail: 3, tty: true })) seen += decoder.decode(frame.data);
    }
    expect(seen).toContain('40 100');
  });

  it('#update should update a container', async () => {
    if (await isPodman(docker)) return expect(await isPodman(docker)).toBe(true); // Podman 4 has no update endpoint (README)
    const c = await container();
    await docker.containers.update(c, { CpuShares: 512 });
    expect((await docker.containers.inspect(c)).HostConfig.CpuShares).toBe(512);
  });

  it('#stats should get container stats', async () => {
    const c = await container();
    const stats = await docker.containers.stats(c);
    expect(stats.memory_stats).toBeDefined();
    expect(stats.cpu_stats.cpu_usage.total_usage).toBeGreaterThan(0);
  });

  it('#stdin should support attach with tty enabled writing 1000 bytes, and disabled writing 5000', async () => {
    for (const [tty, size] of [
      [true, 1000],
      [false, 5000],
    ] as const) {
      const c = await container(['sh', '-c', `head -c ${size} | wc -c`], { Tty: tty, OpenStdin: true, StdinOnce: true }, false);
      const stream = await docker.containers.attach(c, { stdin: true, tty });
      await docker.containers.start(c);
      // A TTY hands input over line by line: end the bytes with a newline (counted in the size).
      const bytes = new Uint8Array(size).fill(0x61);
      bytes[size - 1] = 0x0a;
      await stream.write(bytes);
      if (!tty) await stream.end();
      let text = '';
      for await (const frame of stream) text += decoder.decode(frame.data);
      expect(text.trim().split(/\s+/).pop()).toBe(String(size));
    }
  });

  it('#attach should attach and wait for a container', async () => {
    const c = await container(['sh', '-c', 'echo attached; sleep 0.5; echo done'], {}, false);
    const stream = await docker.containers.attach(c, { tty: false });
    await docker.containers.start(c);
    let text = '';
    for await (const frame of stream) text += decoder.decode(frame.data);
    expect(text).toBe('attached\ndone\n');
    expect((await docker.containers.wait(c)).StatusCode).toBe(0);
  });

  it('#restart should restart a container', async () => {
    const c = await container();
    await docker.containers.restart(c, { timeout: 1 });
    expect((await docker.containers.inspect(c)).RestartCount).toBeGreaterThanOrEqual(0);
    expect((await docker.containers.inspect(c)).State.Running).toBe(true);
  });

  it('#export should export a container', async () => {
    const c = await container();
    let bytes = 0;
    for await (const chunk of await docker.containers.export(c)) bytes += chunk.length;
    expect(bytes).toBeGreaterThan(512);
  });

  it('#top should return top', async () => {
    const c = await container();
    const top = await docker.containers.top(c);
    expect(top.Titles.length).toBeGreaterThan(1);
    expect(top.Processes.length).toBeGreaterThan(0);
  });

  it('#changes should list container changes', async () => {
    const c = await container();
    await docker.exec.run(c, ['touch', '/changed']);
    expect(await docker.containers.changes(c)).toContainEqual({ Path: '/changed', Kind: 1 });
  });

  it('#logs should get the logs for a container as a stream', async () => {
    const c = await container(['sh', '-c', 'echo logged']);
    await docker.containers.wait(c);
    let text = '';
    for await (const frame of await docker.containers.logs(c, { tty: false })) text += decoder.decode(frame.data);
    expect(text).toBe('logged\n');
  });

  it('#exec should run exec, resolve with a stream, and allow hijacking stdin', async () => {
    const c = await container();
    expect((await docker.exec.run(c, ['echo', 'hi'])).stdout).toBe('hi\n');
    expect((await docker.exec.run(c, ['cat'], { stdin: 'through stdin' })).stdout).toBe('through stdin');
  });

  it('#commit should commit a container', async () => {
    const c = await container();
    const { Id } = await docker.containers.commit(c, { repo: `berth-dode/commit-${RUN}`, tag: 'v1' });
    images.push(`berth-dode/commit-${RUN}:v1`);
    expect(Id).toMatch(/^sha256:[a-f0-9]{64}$/);
  });

  it('#stop should stop a container', async () => {
    const c = await container();
    await docker.containers.stop(c, { timeout: 1 });
    expect((await docker.containers.inspect(c)).State.Running).toBe(false);
  });

  it('#wait should accept the next-exit condition before start is called', async () => {
    const c = await container(['true'], {}, false);
    const waiting = docker.containers.wait(c, { condition: 'next-exit' });
    await docker.containers.start(c);
    expect((await waiting).StatusCode).toBe(0);
  });

  it('#wait should allow aborting pending waits', async () => {
    const c = await container();
    const controller = new AbortController();
    const waiting = docker.containers.wait(c, { signal: controller.signal });
    controller.abort(new Error('no longer waiting'));
    await expect(waiting).rejects.toThrow('no longer waiting');
  });

  it('#non-responsive container: restart and stop are forced after the timeout', async () => {
    const c = await container(['sh', '-c', 'trap "" TERM; while true; do sleep 0.1; done']);
    await docker.containers.restart(c, { timeout: 1 });
    expect((await docker.containers.inspect(c)).State.Running).toBe(true);
    await docker.containers.stop(c, { timeout: 1 });
    expect((await docker.containers.inspect(c)).State).toMatchObject({ Running: false, ExitCode: 137 });
  });
});

describe('docker.js', () => {
  it('#getPing, #version and #info', async () => {
    expect((await docker.system.ping()).apiVersion).toMatch(/^\d+\.\d+$/);
    expect((await docker.system.version()).ApiVersion).toMatch(/^\d+\.\d+$/);
    expect((await docker.system.info()).Containers).toBeGreaterThanOrEqual(0);
  });

  it('#df should return df', async () => {
    const usage = await docker.system.df();
    expect(usage.LayersSize).toBeGreaterThanOrEqual(0);
    expect(Array.isArray(usage.Images)).toBe(true);
    expect(usage.Images.length).toBeGreaterThan(0);
    expect(Array.isArray(usage.Containers)).toBe(true);
  });

  it('#getEvents should get events', async () => {
    const events = await docker.system.events({ filters: { type: ['container'], label: [`berth.test.run=${RUN}`] } });
    const c = await container(['true']);
    for await (const event of events) {
      if (event.Actor.ID === c) {
        expect(event.Type).toBe('container');
        break;
      }
    }
    await events.cancel();
  });

  it('#createVolume should create and remove a volume, and a default (anonymous) one', async () => {
    const named = await docker.volumes.create({ Name: `berth-dode-${RUN}`, Labels: { [TEST_LABEL]: '1' } });
    volumes.push(named.Name);
    const anonymous = await docker.volumes.create({ Labels: { [TEST_LABEL]: '1' } });
    volumes.push(anonymous.Name);
    await docker.volumes.remove(named.Name);
    await docker.volumes.remove(anonymous.Name);
    await expect(docker.volumes.inspect(named.Name)).rejects.toMatchObject({ reason: 'notFound' });
  });

  it('#createContainer should create and remove a container', async () => {
    const c = await container(['true'], {}, false);
    await docker.containers.remove(c);
    await expect(docker.containers.inspect(c)).rejects.toMatchObject({ reason: 'notFound' });
  });

  it('#importImage should import an image from a tar archive', async () => {
    const c = await container(['true'], {}, false);
    const { id } = await docker.images.import(await docker.containers.export(c), { repo: `berth-dode/import-${RUN}` });
    images.push(`berth-dode/import-${RUN}`);
    expect(id).toMatch(/^sha256:/);
  });

  it('#loadImage should load an image from a readable stream', async () => {
    const c = await container(['true'], {}, false);
    await docker.containers.commit(c, { repo: `berth-dode/load-${RUN}`, tag: 'v1' });
    images.push(`berth-dode/load-${RUN}:v1`);
    const { loaded } = await docker.images.load(await docker.images.save(`berth-dode/load-${RUN}:v1`));
    expect(loaded.some((name) => listedNames(`berth-dode/load-${RUN}:v1`).includes(name))).toBe(true);
  });

  it('#listContainers, #listImages, #listVolumes, #listNetworks', async () => {
    const c = await container();
    expect((await docker.containers.list()).map((x) => x.Id)).toContain(c);
    expect((await docker.images.list()).length).toBeGreaterThan(0);
    expect(Array.isArray((await docker.volumes.list()).Volumes)).toBe(true);
    expect((await docker.networks.list()).length).toBeGreaterThan(0);
  });

  it('#run should run a command with create options (create, start, wait, logs)', async () => {
    const c = await container(['sh', '-c', 'echo $GREETING'], { Env: ['GREETING=run'] });
    expect((await docker.containers.wait(c)).StatusCode).toBe(0);
    let text = '';
    for await (const frame of await docker.containers.logs(c, { tty: false })) text += decoder.decode(frame.data);
    expect(text).toBe('run\n');
  });

  it('#labelsAndFilters: empty-value and valued labels, filtered by name only and by name=value', async () => {
    const empty = await container(['true'], { Labels: { [TEST_LABEL]: '1', [`berth.dode.empty.${RUN}`]: '' } }, false);
    const valued = await container(['true'], { Labels: { [TEST_LABEL]: '1', [`berth.dode.valued.${RUN}`]: 'yes' } }, false);
    expect((await docker.containers.inspect(empty)).Config.Labels).toMatchObject({ [`berth.dode.empty.${RUN}`]: '' });
    const byName = await docker.containers.list({ all: true, filters: { label: [`berth.dode.empty.${RUN}`] } });
    expect(byName.map((x) => x.Id)).toEqual([empty]);
    const byValue = await docker.containers.list({ all: true, filters: { label: [`berth.dode.valued.${RUN}=yes`] } });
    expect(byValue.map((x) => x.Id)).toEqual([valued]);
    expect(await docker.containers.list({ all: true, filters: { label: [`berth.dode.valued.${RUN}=no`] } })).toEqual([]);
  });
});

describe('image.js', () => {
  it('#inspect should inspect an image', async () => {
    const image = await docker.images.inspect(BUSYBOX);
    expect(image.Id).toMatch(/^sha256:/);
    expect(image.RepoTags.some((tag) => listedNames(BUSYBOX).includes(tag))).toBe(true);
  });

  it('#history should get image history', async () => {
    const history = await docker.images.history(BUSYBOX);
    expect(history.length).toBeGreaterThan(0);
    expect(history[0]).toMatchObject({ Created: expect.any(Number), CreatedBy: expect.any(String), Size: expect.any(Number) });
  });

  it('#get should get an image (docker save)', async () => {
    const entries = await readTar(await docker.images.save(BUSYBOX));
    expect(entries.some((entry) => entry.name === 'manifest.json')).toBe(true);
  });
});

describe('networks.js', () => {
  it('#connect, #inspect (verbose too) and #disconnect', async () => {
    const octet = 100 + ((process.pid + 13) % 100);
    const { Id } = await docker.networks.create({
      Name: `berth-dode-nw-${RUN}`,
      Driver: 'bridge',
      Labels: { [TEST_LABEL]: '1' },
      IPAM: { Config: [{ Subnet: `10.${octet}.0.0/16`, IPRange: `10.${octet}.10.0/24`, Gateway: `10.${octet}.10.12` }] },
    });
    networks.push(Id);
    const c = await container();
    await docker.networks.connect(Id, c);
    expect(Object.keys((await docker.networks.inspect(Id)).Containers ?? {})).toContain(c);
    expect((await docker.networks.inspect(Id, { verbose: true })).Id).toBe(Id);
    await docker.networks.disconnect(Id, c);
    expect(Object.keys((await docker.networks.inspect(Id)).Containers ?? {})).not.toContain(c);
  });
});
