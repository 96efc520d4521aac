import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { DockerApiError, type DockerClient, DockerStreamError, isDockerApiError, isDockerArgumentError } from '../../src/engine/index.js';
import { BUSYBOX, removeQuietly, startSleeper, TEST_LABEL, testClient } from '../helpers/engine.js';
import { isPodman, listedNames } from '../helpers/podman.js';

let docker: DockerClient;
let container: string;

beforeAll(async () => {
  docker = testClient();
  container = await startSleeper(docker);
});

afterAll(async () => {
  await removeQuietly(docker, container);
  await docker.close();
});

describe('system', () => {
  it('pings the engine and negotiates an API version of at least 1.41', async () => {
    const ping = await docker.system.ping();
    expect(ping.apiVersion).toMatch(/^\d+\.\d+$/);
    const version = await docker.apiVersion();
    expect(Number(version.split('.')[1])).toBeGreaterThanOrEqual(41);
    const info = await docker.system.version();
    expect(info.ApiVersion).toBe(ping.apiVersion);
  });

  it('reads info', async () => {
    const info = await docker.system.info();
    expect(info.NCPU).toBeGreaterThan(0);
  });

  it('streams container events as decoded objects', async () => {
    const controller = new AbortController();
    // KEY=VALUE: Podman 4.3 matches no event with a bare label key (README, Podman differences).
    const events = await docker.system.events({ filters: { type: ['container'], label: [`${TEST_LABEL}=1`] }, signal: controller.signal });
    const id = (await docker.containers.create({ Image: BUSYBOX, Cmd: ['true'], Labels: { [TEST_LABEL]: '1' } })).Id;
    try {
      for await (const event of events) {
        if (event.Actor.ID === id && event.Action === 'create') break;
      }
    } finally {
      await events.cancel();
      await removeQuietly(docker, id);
    }
  });
});

describe('exec.run', () => {
  it('returns stdout, stderr and the exit code separately', async () => {
    const result = await docker.exec.run(container, ['sh', '-c', 'printf out; printf err >&2; exit 3']);
    expect(result.stdout).toBe('out');
    expect(result.stderr).toBe('err');
    expect(result.exitCode).toBe(3);
  });

  it('returns 4 MiB written alternately to stdout and stderr byte-exact and in order', async () => {
    // 32 rounds of 64 KiB to each stream; each chunk carries its index so order is checked too.
    const script =
      'i=0; while [ $i -lt 32 ]; do head -c 65536 /dev/zero | tr "\\0" "$(printf \\\\$(printf %o $((65 + i % 26))))"; ' +
      'head -c 65536 /dev/zero | tr "\\0" "$(printf \\\\$(printf %o $((97 + i % 26))))" >&2; i=$((i+1)); done';
    const result = await docker.exec.run(container, ['sh', '-c', script]);
    expect(result.exitCode).toBe(0);
    expect(result.stdoutBytes.length).toBe(32 * 65536);
    expect(result.stderrBytes.length).toBe(32 * 65536);
    for (let i = 0; i < 32; i++) {
      const out = result.stdoutBytes.subarray(i * 65536, (i + 1) * 65536);
      const err = result.stderrBytes.subarray(i * 65536, (i + 1) * 65536);
      expect(out.every((b) => b === 65 + (i % 26))).toBe(true);
      expect(err.every((b) => b === 97 + (i % 26))).toBe(true);
    }
  });

  it('feeds stdin and half-closes it so the process sees end of input', async () => {
    const result = await docker.exec.run(container, ['sh', '-c', 'cat; echo done'], { stdin: 'hello\n' });
    expect(result.stdout).toBe('hello\ndone\n');
    expect(result.exitCode).toBe(0);
  });

  it('returns raw output in TTY mode', async () => {
    const result = await docker.exec.run(container, ['sh', '-c', 'printf tty'], { tty: true });
    expect(result.stdout).toBe('tty');
    expect(result.stderr).toBe('');
  });

  it('streams frames from exec.start', async () => {
    const { Id } = await docker.exec.create(container, { Cmd: ['sh', '-c', 'echo a; echo b >&2'], AttachStdout: true, AttachStderr: true });
    const stream = await docker.exec.start(Id);
    const seen: string[] = [];
    for await (const frame of stream) seen.push(`${frame.stream}:${new TextDecoder().decode(frame.data)}`);
    expect(seen.join('')).toContain('stdout:a\n');
    expect(seen.join('')).toContain('stderr:b\n');
    const info = await docker.exec.inspect(Id);
    expect(info.ExitCode).toBe(0);
  });
});

describe('containers', () => {
  it('gives a DockerApiError with reason notFound and the daemon message for a missing container', async () => {
    const error = await docker.containers.inspect('berth-no-such-container').catch((e: unknown) => e);
    expect(error).toBeInstanceOf(DockerApiError);
    expect(isDockerApiError(error)).toBe(true);
    const apiError = error as DockerApiError;
    expect(apiError.statusCode).toBe(404);
    expect(apiError.reason).toBe('notFound');
    // Podman words it `no container with name or ID "…" found: no such container`.
    expect(apiError.daemonMessage).toMatch(
      /No such container: berth-no-such-container|no container with name or ID "berth-no-such-container"/,
    );
    expect(apiError.path).toContain('/containers/berth-no-such-container/json');
  });

  it('rejects a malformed container ID before any I/O', async () => {
    const error = await Promise.resolve()
      .then(() => docker.containers.inspect('../etc'))
      .catch((e: unknown) => e);
    expect(isDockerArgumentError(error)).toBe(true);
  });

  it('reads a file back unchanged after putArchive', async () => {
    const bytes = new Uint8Array(100_000).map((_, i) => (i * 7) % 256);
    await docker.containers.putFiles(container, '/tmp', [{ path: 'berth/data.bin', data: bytes }]);
    const back = await docker.containers.readFile(container, '/tmp/berth/data.bin');
    expect(Buffer.from(back).equals(Buffer.from(bytes))).toBe(true);
    const archive = await docker.containers.getArchive(container, '/tmp/berth/data.bin');
    await archive.body.cancel();
    expect(archive.stat?.size).toBe(100_000);
  });

  it('ends a followed log stream promptly when its signal aborts', async () => {
    const id = await startSleeper(docker, { Cmd: ['sh', '-c', 'while true; do echo tick; sleep 0.1; done'] });
    try {
      const controller = new AbortController();
      const logs = await docker.containers.logs(id, { follow: true, signal: controller.signal });
      let ticks = 0;
      const started = Date.now();
      const reading = (async () => {
        for await (const frame of logs) {
          if (frame.stream === 'stdout') ticks++;
          if (ticks === 3) controller.abort(new Error('enough'));
        }
      })();
      await expect(reading).rejects.toThrow('enough');
      expect(Date.now() - started).toBeLessThan(10_000);
      expect(ticks).toBeGreaterThanOrEqual(3);
    } finally {
      await removeQuietly(docker, id);
    }
  });

  it('reads logs without following, demultiplexed', async () => {
    const { Id } = await docker.containers.create({
      Image: BUSYBOX,
      Cmd: ['sh', '-c', 'echo hello; echo oops >&2'],
      Labels: { [TEST_LABEL]: '1' },
    });
    try {
      await docker.containers.start(Id);
      const waited = await docker.containers.wait(Id);
      expect(waited.StatusCode).toBe(0);
      const out: Record<string, string> = { stdout: '', stderr: '' };
      for await (const frame of await docker.containers.logs(Id)) out[frame.stream] += new TextDecoder().decode(frame.data);
      expect(out).toEqual({ stdout: 'hello\n', stderr: 'oops\n' });
    } finally {
      await removeQuietly(docker, Id);
    }
  });

  it('attaches with stdin and half-closes it', async () => {
    const { Id } = await docker.containers.create({
      Image: BUSYBOX,
      Cmd: ['sh', '-c', 'cat; echo bye'],
      OpenStdin: true,
      StdinOnce: true,
      Labels: { [TEST_LABEL]: '1' },
    });
    try {
      const attached = await docker.containers.attach(Id, { stdin: true });
      await docker.containers.start(Id);
      await attached.write('ping\n');
      await attached.end();
      let out = '';
      for await (const frame of attached) out += new TextDecoder().decode(frame.data);
      expect(out).toBe('ping\nbye\n');
      expect((await docker.containers.wait(Id)).StatusCode).toBe(0);
    } finally {
      await removeQuietly(docker, Id);
    }
  });

  it('lists, stops, restarts, kills and removes a labelled container', async () => {
    const id = await startSleeper(docker, { Labels: { [TEST_LABEL]: '1', 'berth.case': 'lifecycle' } });
    try {
      const listed = await docker.containers.list({ filters: { label: ['berth.case=lifecycle'] } });
      expect(listed.map((c) => c.Id)).toContain(id);
      await docker.containers.stop(id, { timeout: 0 });
      expect((await docker.containers.inspect(id)).State.Running).toBe(false);
      await docker.containers.stop(id, { timeout: 0 }); // already stopped: not an error
      await docker.containers.restart(id, { timeout: 0 });
      expect((await docker.containers.inspect(id)).State.Running).toBe(true);
      await docker.containers.kill(id);
      expect((await docker.containers.wait(id)).StatusCode).toBe(137);
      await docker.containers.remove(id);
      await expect(docker.containers.inspect(id)).rejects.toMatchObject({ reason: 'notFound' });
    } finally {
      await removeQuietly(docker, id);
    }
  });

  it('updates the pids limit of a running container; an empty update changes nothing', async () => {
    const id = await startSleeper(docker, { HostConfig: { Init: true, Memory: 64 * 1024 * 1024, PidsLimit: 100 } });
    try {
      if (await isPodman(docker)) {
        // Podman 4 has no update endpoint in its Docker-compatible API (README, Podman differences).
        await expect(docker.containers.update(id, { PidsLimit: 64 })).rejects.toMatchObject({ statusCode: 404, reason: 'notFound' });
        return;
      }
      const pidsMax = async () =>
        (
          await docker.exec.run(id, ['sh', '-c', 'cat /sys/fs/cgroup/pids.max 2>/dev/null || cat /sys/fs/cgroup/pids/pids.max'])
        ).stdout.trim();
      expect(await pidsMax()).toBe('100');
      expect(await docker.containers.update(id, { PidsLimit: 64 })).toMatchObject({ Warnings: null });
      expect((await docker.containers.inspect(id)).HostConfig).toMatchObject({ PidsLimit: 64, Memory: 64 * 1024 * 1024 });
      expect(await pidsMax()).toBe('64');
      await docker.containers.update(id, {});
      expect((await docker.containers.inspect(id)).HostConfig).toMatchObject({ PidsLimit: 64, Memory: 64 * 1024 * 1024 });
      expect(await pidsMax()).toBe('64');
      await expect(docker.containers.update(id, null as never)).rejects.toMatchObject({ name: 'DockerArgumentError', argument: 'body' });
    } finally {
      await removeQuietly(docker, id);
    }
  });

  it('gives reason conflict when removing a running container without force', async () => {
    const id = await startSleeper(docker);
    try {
      // Podman answers 500 `container state improper`; Berth gives it the same reason.
      const statusCode = (await isPodman(docker)) ? 500 : 409;
      await expect(docker.containers.remove(id)).rejects.toMatchObject({ statusCode, reason: 'conflict' });
    } finally {
      await removeQuietly(docker, id);
    }
  });
});

describe('images', () => {
  it('inspects and lists the busybox image', async () => {
    const info = await docker.images.inspect(BUSYBOX);
    expect(info.Id).toMatch(/^sha256:/);
    const list = await docker.images.list();
    // Podman lists the qualified name (localhost/berth-test/busybox:latest).
    expect(list.some((image) => listedNames(BUSYBOX).some((name) => image.RepoTags?.includes(name)))).toBe(true);
  });

  it('throws a typed error when no registry can serve a pull', async () => {
    const error = await docker.images
      .pull('berth-test/does-not-exist:never', { signal: AbortSignal.timeout(60_000) })
      .catch((e: unknown) => e);
    expect(error instanceof DockerApiError || error instanceof DockerStreamError).toBe(true);
    expect((error as Error).message.length).toBeGreaterThan(0);
  });

  it('imports a tar as an image, tags it and removes it', async () => {
    const tar = await import('../../src/engine/archive.js').then((m) => m.packFiles([{ path: 'hello.txt', data: 'hi' }]));
    const { id } = await docker.images.import(tar, { repo: 'berth-test/imported', tag: 'x', changes: ['ENV A=1'] });
    expect(id).toMatch(/^sha256:/);
    await docker.images.tag(id, { repo: 'berth-test/imported', tag: 'y' });
    const info = await docker.images.inspect('berth-test/imported:y');
    expect(info.Id).toBe(id);
    await docker.images.remove('berth-test/imported:x');
    await docker.images.remove('berth-test/imported:y');
  });
});
