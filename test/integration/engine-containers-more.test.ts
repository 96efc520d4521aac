/**
 * The rest of the container surface against the real engine: pause and unpause, top, changes,
 * export, rename, port, commit, stats (one sample and streamed), prune, and a detached exec.
 * Every container is labelled `berth.test`; prune is narrowed to this run's label.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type DockerClient, isDockerApiError, isDockerArgumentError } from '../../src/engine/index.js';
import { BUSYBOX, removeQuietly, startSleeper, TEST_LABEL, testClient } from '../helpers/engine.js';
import { isPodman, podmanLimitation } from '../helpers/podman.js';
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

async function sleeper(extra: Record<string, unknown> = {}): Promise<string> {
  const id = await startSleeper(docker, extra);
  containers.push(id);
  return id;
}

async function sh(id: string, script: string): Promise<string> {
  const result = await docker.exec.run(id, ['sh', '-c', script]);
  expect(result.exitCode, result.stderr).toBe(0);
  return result.stdout;
}

const text = (bytes: Uint8Array) => new TextDecoder().decode(bytes);
const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

describe('pause and unpause', () => {
  it('freezes the processes of a paused container and lets them go on after unpause', async () => {
    const id = await sleeper({
      Cmd: ['sh', '-c', 'i=0; while true; do i=$((i+1)); echo $i > /tmp/n.new; mv /tmp/n.new /tmp/n; sleep 0.05; done'],
    });
    const counter = async () => Number(text(await docker.containers.readFile(id, '/tmp/n')).trim());
    await sleep(300);
    await docker.containers.pause(id);
    const state = (await docker.containers.inspect(id)).State;
    expect(state.Paused).toBe(true);
    expect(state.Status).toBe('paused');
    const frozen = await counter();
    await sleep(1000);
    // Twenty ticks would have passed: the counter has not moved.
    expect(await counter()).toBe(frozen);
    // A paused container takes no new process either.
    const refused = await docker.exec.run(id, ['true']).catch((e: unknown) => e);
    expect(isDockerApiError(refused) && refused.reason).toBe('conflict');

    await docker.containers.unpause(id);
    expect((await docker.containers.inspect(id)).State).toMatchObject({ Paused: false, Status: 'running' });
    await sleep(500);
    expect(await counter()).toBeGreaterThan(frozen);
  });

  it('refuses to unpause a running container, with reason conflict', async () => {
    const id = await sleeper();
    const error = await docker.containers.unpause(id).catch((e: unknown) => e);
    expect(isDockerApiError(error)).toBe(true);
    expect(isDockerApiError(error) && ['conflict', 'internal']).toContain(isDockerApiError(error) ? error.reason : '');
  });
});

describe('top', () => {
  it('lists the processes of a running container', async () => {
    const id = await sleeper();
    const top = await docker.containers.top(id);
    expect(top.Titles).toContain('PID');
    const cmd = top.Titles.findIndex((title) => /^(CMD|COMMAND)$/.test(title));
    expect(cmd).toBeGreaterThanOrEqual(0);
    expect(top.Processes.map((row) => row[cmd]).join('\n')).toContain('sleep 3600');
  });

  it('takes ps arguments (dockerd: ps options on its host; Podman: its descriptors)', async () => {
    const id = await sleeper();
    const podman = await isPodman(docker);
    const top = await docker.containers.top(id, { psArgs: podman ? 'pid,args' : '-o pid,args' });
    expect(top.Titles.length).toBe(2);
    expect(top.Processes.some((row) => row.join(' ').includes('sleep 3600'))).toBe(true);
  });
});

describe('changes', () => {
  it('lists the files a command added, changed and deleted, and nothing for a fresh container', async () => {
    // A container just created from the image differs from it in nothing (Init would add /sbin/docker-init).
    const { Id: fresh } = await docker.containers.create({ Image: BUSYBOX, Cmd: ['true'], Labels: { [TEST_LABEL]: '1' } });
    containers.push(fresh);
    expect(await docker.containers.changes(fresh)).toEqual([]);
    const id = await sleeper();
    await sh(id, 'echo new > /tmp/added.txt && echo "extra:x:1234:1234::/:/bin/sh" >> /etc/passwd && rm /bin/vi');
    const changes = await docker.containers.changes(id);
    expect(changes).toEqual(
      expect.arrayContaining([
        { Path: '/tmp/added.txt', Kind: 1 },
        { Path: '/etc/passwd', Kind: 0 },
        { Path: '/bin/vi', Kind: 2 },
      ]),
    );
  });
});

describe('export', () => {
  it('streams the whole filesystem as a tar, with the files written in the container', async () => {
    const id = await sleeper();
    await sh(id, 'mkdir -p /work && echo "exported content" > /work/out.txt');
    const tar = await docker.containers.export(id);
    const entries = await readTar(tar, (name) => name === 'work/out.txt');
    const names = entries.map((entry) => entry.name);
    expect(names).toContain('bin/busybox');
    expect(names).toContain('etc/passwd');
    const file = entries.find((entry) => entry.name === 'work/out.txt');
    expect(file?.data && text(file.data)).toBe('exported content\n');
  });

  it('can be cancelled part-way without reading the rest', async () => {
    const id = await sleeper();
    const tar = await docker.containers.export(id);
    let bytes = 0;
    for await (const chunk of tar) {
      bytes += chunk.length;
      break;
    }
    await tar.cancel();
    expect(bytes).toBeGreaterThan(0);
    // The client is still usable afterwards.
    expect((await docker.containers.inspect(id)).Id).toBe(id);
  });
});

describe('rename', () => {
  it('renames a container; the old name is free and a taken name is a conflict', async () => {
    const id = await sleeper();
    const other = await sleeper();
    const name = `berth-test-renamed-${RUN}`;
    await docker.containers.rename(id, name);
    expect((await docker.containers.inspect(name)).Id).toBe(id);
    expect((await docker.containers.inspect(id)).Name).toBe(`/${name}`);
    const error = await docker.containers.rename(other, name).catch((e: unknown) => e);
    expect(isDockerApiError(error) && error.reason).toBe('conflict');
  });
});

describe('port', () => {
  it('reports the published ports, and the host port really reaches the container', async () => {
    const id = await sleeper({
      Cmd: ['sh', '-c', 'mkdir -p /www && echo "served from the container" > /www/index.html && httpd -f -p 8080 -h /www'],
      ExposedPorts: { '8080/tcp': {}, '9999/udp': {}, '7000/tcp': {} },
      HostConfig: { Init: true, PortBindings: { '8080/tcp': [{ HostIp: '127.0.0.1', HostPort: '' }], '9999/udp': [{ HostPort: '' }] } },
    });
    const all = await docker.containers.port(id);
    const tcp = all.find((mapping) => mapping.containerPort === 8080);
    expect(tcp).toMatchObject({ protocol: 'tcp', hostIp: '127.0.0.1' });
    expect(tcp?.hostPort).toBeGreaterThan(0);
    expect(all.some((mapping) => mapping.containerPort === 9999 && mapping.protocol === 'udp' && mapping.hostPort > 0)).toBe(true);
    // Exposed but not published: no mapping.
    expect(all.some((mapping) => mapping.containerPort === 7000)).toBe(false);
    expect(await docker.containers.port(id, { privatePort: 8080 })).toEqual([tcp]);
    expect(await docker.containers.port(id, { privatePort: '8080/udp' })).toEqual([]);
    expect((await docker.containers.port(id, { privatePort: '9999/udp' })).length).toBeGreaterThan(0);

    let body = '';
    for (let attempt = 0; attempt < 50 && body === ''; attempt++) {
      body = await fetch(`http://127.0.0.1:${tcp?.hostPort}/index.html`).then(
        (response) => response.text(),
        () => '',
      );
      if (body === '') await sleep(100);
    }
    expect(body).toBe('served from the container\n');
  });
});

describe('commit', () => {
  it('makes an image of the container, with its files and the changes asked for', async () => {
    const id = await sleeper();
    await sh(id, 'mkdir -p /data && echo "committed state" > /data/marker');
    const repo = `berth-test/commit-${RUN}`;
    const { Id } = await docker.containers.commit(id, {
      repo,
      tag: 'v1',
      comment: 'a snapshot',
      author: 'Berth tests',
      changes: ['ENV MODE=ready', 'WORKDIR /data'],
      config: { Labels: { [TEST_LABEL]: '1', snapshot: RUN } },
    });
    images.push(`${repo}:v1`);
    const image = await docker.images.inspect(`${repo}:v1`);
    expect(image.Id).toBe(Id);
    expect(image.Config?.Env).toContain('MODE=ready');
    expect(image.Config?.WorkingDir).toBe('/data');
    if (await isPodman(docker)) {
      podmanLimitation('commit with config', 'Podman 4.3 ignores the config body of POST /commit (changes work)');
      expect(image.Config?.Labels?.snapshot).toBeUndefined();
    } else expect(image.Config?.Labels).toMatchObject({ snapshot: RUN });
    expect(image.Comment).toBe('a snapshot');
    expect(image.Author).toBe('Berth tests');
    // The container was paused for the copy, and runs on.
    expect((await docker.containers.inspect(id)).State.Running).toBe(true);

    const fromImage = await sleeper({ Image: `${repo}:v1` });
    expect(await sh(fromImage, 'cat marker; echo "$MODE"')).toBe('committed state\nready\n');
  });
});

describe('stats', () => {
  it('reads one sample of a running container', async () => {
    const id = await sleeper();
    const stats = await docker.containers.stats(id);
    expect(Date.parse(stats.read)).toBeGreaterThan(0);
    expect(stats.pids_stats.current).toBeGreaterThanOrEqual(1);
    expect(stats.memory_stats.usage).toBeGreaterThan(0);
    expect(stats.cpu_stats.cpu_usage.total_usage).toBeGreaterThan(0);
  });

  it('answers at once with oneShot, without a previous sample', async () => {
    const id = await sleeper();
    const stats = await docker.containers.stats(id, { oneShot: true });
    expect(stats.pids_stats.current).toBeGreaterThanOrEqual(1);
    expect(stats.precpu_stats.cpu_usage.total_usage ?? 0).toBe(0);
  });

  it('streams samples until the signal aborts, then the loop rejects with the reason', async () => {
    const id = await sleeper();
    const controller = new AbortController();
    const samples = await docker.containers.stats(id, { stream: true, signal: controller.signal });
    const seen: string[] = [];
    const reading = (async () => {
      for await (const sample of samples) {
        seen.push(sample.read);
        if (seen.length === 2) controller.abort(new Error('enough samples'));
      }
    })();
    await expect(reading).rejects.toThrow('enough samples');
    expect(seen).toHaveLength(2);
    expect(Date.parse(seen[1] as string)).toBeGreaterThan(Date.parse(seen[0] as string));
    // The client is still usable.
    expect((await docker.containers.inspect(id)).Id).toBe(id);
  });

  it('ends a streamed loop cleanly on cancel()', async () => {
    const id = await sleeper();
    const samples = await docker.containers.stats(id, { stream: true });
    let count = 0;
    for await (const sample of samples) {
      expect(sample.cpu_stats).toBeDefined();
      if (++count === 2) await samples.cancel();
    }
    expect(count).toBe(2);
  });
});

describe('prune', () => {
  it('removes the stopped containers that match a label filter, and only those', async () => {
    const label = `berth.test.prune=${RUN}`;
    const make = async (start: boolean) => {
      const { Id } = await docker.containers.create({
        Image: BUSYBOX,
        Cmd: start ? ['sleep', '3600'] : ['true'],
        Labels: { [TEST_LABEL]: '1', 'berth.test.prune': RUN },
      });
      containers.push(Id);
      if (start) await docker.containers.start(Id);
      return Id;
    };
    const stopped = await make(false);
    const running = await make(true);
    const unlabelled = await sleeper();
    await docker.containers.stop(unlabelled, { timeout: 0 });
    const result = await docker.containers.prune({ filters: { label: [label] } });
    expect(result.ContainersDeleted).toContain(stopped);
    expect(result.ContainersDeleted).not.toContain(running);
    expect(result.ContainersDeleted).not.toContain(unlabelled);
    await expect(docker.containers.inspect(stopped)).rejects.toMatchObject({ reason: 'notFound' });
    expect((await docker.containers.inspect(running)).State.Running).toBe(true);
    expect((await docker.containers.inspect(unlabelled)).Id).toBe(unlabelled);
    expect((await docker.containers.prune({ filters: { label: [`${label}-none`] } })).ContainersDeleted).toEqual([]);
  });
});

describe('exec start detached', () => {
  it('returns once the process started; the process runs on and finishes by itself', async () => {
    const id = await sleeper();
    const { Id: execId } = await docker.exec.create(id, { Cmd: ['sh', '-c', 'sleep 1; echo finished > /tmp/detached'] });
    const podman = await isPodman(docker);
    const result = await docker.exec.start(execId, { detach: true });
    expect(result).toBeUndefined();
    const started = await docker.exec.inspect(execId);
    expect(started.Running || started.ExitCode === 0).toBe(true);
    let info = started;
    for (let i = 0; i < (podman ? 30 : 200) && info.Running; i++) {
      await sleep(100);
      info = await docker.exec.inspect(execId);
    }
    // The process did its work.
    expect(text(await docker.containers.readFile(id, '/tmp/detached'))).toBe('finished\n');
    if (await isPodman(docker)) {
      podmanLimitation(
        'exec inspect after a detached start',
        'Podman 4.3 keeps reporting Running: true for a detached exec that has ended',
      );
      expect(info.Running).toBe(true);
    } else expect(info).toMatchObject({ Running: false, ExitCode: 0 });
  });
});

describe('bad arguments', () => {
  it('are refused before any I/O with DockerArgumentError', async () => {
    for (const call of [
      () => docker.containers.pause(''),
      () => docker.containers.resize('abc', { h: 0, w: 80 }),
      () => docker.containers.resize('abc', { h: 24, w: 1.5 }),
      () => docker.containers.unpause('bad name'),
      () => docker.containers.top('x', { psArgs: 1 as unknown as string }),
      () => docker.containers.changes('/'),
      () => docker.containers.export(''),
      () => docker.containers.rename('abc', 'has space'),
      () => docker.containers.port('abc', { privatePort: 'http' }),
      () => docker.containers.port('abc', { privatePort: 70000 }),
      () => docker.containers.commit('abc', { repo: 'Bad/Repo' }),
      () => docker.containers.commit('abc', { tag: 'v1' }),
      () => docker.containers.stats(''),
      () => docker.containers.prune({ filters: { label: 'x' as unknown as string[] } }),
      () => docker.exec.start('abc123', { detach: true, stdin: true }),
    ]) {
      const error = await call().catch((e: unknown) => e);
      expect(isDockerArgumentError(error), String(error)).toBe(true);
    }
  });
});
