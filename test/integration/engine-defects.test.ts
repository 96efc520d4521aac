/**
 * The engine client's defects of issue 14, each against the real engine: exec stdin with output
 * backpressure, readFile of what is not a file, putFiles into a missing folder and the archive
 * stat, argument errors and notFound kinds, and cancel() on attach streams.
 */
import { createHash } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { DockerClient, DockerError, isDockerApiError, isDockerArgumentError } from '../../src/engine/index.js';
import { BUSYBOX, removeQuietly, startSleeper, TEST_LABEL, testClient } from '../helpers/engine.js';
import { isPodman, podmanLimitation } from '../helpers/podman.js';

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

function pattern(size: number, seed: number): Uint8Array {
  const bytes = new Uint8Array(size);
  let x = seed;
  for (let i = 0; i < size; i++) {
    x = (x * 1103515245 + 12345) >>> 0;
    bytes[i] = x >>> 24;
  }
  return bytes;
}

const md5 = (bytes: Uint8Array) => createHash('md5').update(bytes).digest('hex');

describe('exec.run with stdin (defect 1)', () => {
  it('passes 8 MiB of stdin through cat byte-identical (stdin written while output is read)', async () => {
    const input = pattern(8 * 1024 * 1024, 7);
    const result = await docker.exec.run(container, ['cat'], { stdin: input, signal: AbortSignal.timeout(90_000) });
    expect(result.exitCode).toBe(0);
    expect(result.stdoutBytes.length).toBe(input.length);
    expect(md5(result.stdoutBytes)).toBe(md5(input));
  });

  it('passes 6 MiB through tee to stdout and stderr at once, both byte-identical', async () => {
    const input = pattern(6 * 1024 * 1024, 11);
    const result = await docker.exec.run(container, ['sh', '-c', 'tee /dev/stderr'], { stdin: input, signal: AbortSignal.timeout(90_000) });
    expect(result.exitCode).toBe(0);
    expect(md5(result.stdoutBytes)).toBe(md5(input));
    expect(md5(result.stderrBytes)).toBe(md5(input));
  });

  it('does not hang when the program reads none of its stdin (true)', async () => {
    const input = pattern(8 * 1024 * 1024, 3);
    const result = await docker.exec.run(container, ['true'], { stdin: input, signal: AbortSignal.timeout(60_000) });
    expect(result).toMatchObject({ exitCode: 0, stdout: '' });
    if (await isPodman(docker)) {
      // Podman resets the connection (our bytes are still in its socket) and may write its own
      // complaint about that into the exec's stderr: `Error: write unixpacket …: connection reset by peer`.
      expect(result.stderr).toMatch(/^(|Error: .*connection reset by peer\n?)$/);
    } else expect(result.stderr).toBe('');
  });

  it('does not hang when the program exits later without reading (sleep 1; echo x)', async () => {
    const input = pattern(8 * 1024 * 1024, 5);
    const result = await docker.exec.run(container, ['sh', '-c', 'sleep 1; echo x; exit 4'], {
      stdin: input,
      signal: AbortSignal.timeout(60_000),
    });
    expect(result).toMatchObject({ exitCode: 4, stdout: 'x\n' });
  });
});

describe('containers.readFile (defect 2)', () => {
  beforeAll(async () => {
    await docker.exec.run(container, [
      'sh',
      '-c',
      'mkdir -p /tmp/rf/dir && echo inner > /tmp/rf/dir/a.txt && echo file > /tmp/rf/file.txt && ln -sf /tmp/rf/file.txt /tmp/rf/link',
    ]);
  });

  it('reads a regular file', async () => {
    expect(new TextDecoder().decode(await docker.containers.readFile(container, '/tmp/rf/file.txt'))).toBe('file\n');
  });

  it('refuses a folder with a typed error that says it is a directory, without returning a file inside it', async () => {
    const error = await docker.containers.readFile(container, '/tmp/rf/dir').catch((e: unknown) => e);
    expect(error).toBeInstanceOf(DockerError);
    expect(error).toMatchObject({ code: 'BERTH_ERR_NOT_A_FILE', pathType: 'directory' });
    expect((error as Error).message).toMatch(/\/tmp\/rf\/dir in container \S+ is a directory, not a regular file/);
  });

  it('refuses a symbolic link, naming its target', async () => {
    const error = await docker.containers.readFile(container, '/tmp/rf/link').catch((e: unknown) => e);
    expect(error).toMatchObject({ code: 'BERTH_ERR_NOT_A_FILE', pathType: 'symlink' });
    expect((error as Error).message).toMatch(/symbolic link to \/tmp\/rf\/file\.txt/);
  });

  it('refuses a device and a named pipe', async () => {
    // /dev inside a running container is a mount the engine's archive does not see: make the nodes.
    const made = await docker.exec.run(container, ['sh', '-c', 'mkfifo /tmp/rf/fifo; mknod /tmp/rf/null c 1 3']);
    const fifo = await docker.containers.readFile(container, '/tmp/rf/fifo').catch((e: unknown) => e);
    expect(fifo).toMatchObject({ code: 'BERTH_ERR_NOT_A_FILE', pathType: 'fifo' });
    if (await isPodman(docker)) {
      // Podman drops CAP_MKNOD by default: no device node can be made in its containers.
      expect(made.stderr).toMatch(/mknod/);
      podmanLimitation('readFile of a device node', 'Podman drops CAP_MKNOD, so the test cannot make one');
      return;
    }
    expect(made.exitCode).toBe(0);
    const device = await docker.containers.readFile(container, '/tmp/rf/null').catch((e: unknown) => e);
    expect(device).toMatchObject({ code: 'BERTH_ERR_NOT_A_FILE', pathType: 'characterDevice' });
    expect((device as Error).message).toMatch(/is a character device, not a regular file/);
  });

  it('gives a DockerApiError notFound for a missing path', async () => {
    const error = await docker.containers.readFile(container, '/tmp/rf/missing').catch((e: unknown) => e);
    expect(isDockerApiError(error)).toBe(true);
    expect(error).toMatchObject({ reason: 'notFound', statusCode: 404 });
  });

  it('refuses a folder holding a large file without reading it (maxBytes is not reached)', async () => {
    await docker.exec.run(container, ['sh', '-c', 'mkdir -p /tmp/rf/big && head -c 20000000 /dev/zero > /tmp/rf/big/zeros']);
    const error = await docker.containers.readFile(container, '/tmp/rf/big', { maxBytes: 1000 }).catch((e: unknown) => e);
    expect(error).toMatchObject({ code: 'BERTH_ERR_NOT_A_FILE', pathType: 'directory' });
  });
});

describe('putFiles and the archive stat (defect 5)', () => {
  it('says precisely that the target folder must exist when it does not', async () => {
    const error = await docker.containers
      .putFiles(container, '/tmp/pf-missing/sub', [{ path: 'a.txt', data: 'a' }])
      .catch((e: unknown) => e);
    if (await isPodman(docker)) {
      // Podman creates a missing target folder on its own: the file is simply there.
      expect(error).toBeUndefined();
      expect(new TextDecoder().decode(await docker.containers.readFile(container, '/tmp/pf-missing/sub/a.txt'))).toBe('a');
      return;
    }
    expect(isDockerApiError(error)).toBe(true);
    expect((error as Error).message).toMatch(/\/tmp\/pf-missing\/sub does not exist.*mkdirs: true/);
  });

  it('creates the target folder and its parents with mkdirs', async () => {
    await docker.containers.putFiles(container, '/tmp/pf-new/deep/er', [{ path: 'x/a.txt', data: 'made' }], { mkdirs: true });
    const back = await docker.containers.readFile(container, '/tmp/pf-new/deep/er/x/a.txt');
    expect(new TextDecoder().decode(back)).toBe('made');
    // Into a folder that exists, mkdirs changes nothing.
    await docker.containers.putFiles(container, '/tmp/pf-new', [{ path: 'b.txt', data: 'b' }], { mkdirs: true });
    expect(new TextDecoder().decode(await docker.containers.readFile(container, '/tmp/pf-new/b.txt'))).toBe('b');
  });

  it('creates the folder with mkdirs in a volume of a read-only container, where `/` refuses uploads', async () => {
    const id = await startSleeper(docker, { Volumes: { '/scratch': {} }, HostConfig: { Init: true, ReadonlyRootfs: true } });
    try {
      await docker.containers.putFiles(id, '/scratch/a/b', [{ path: 'c.txt', data: 'in a volume' }], { mkdirs: true });
      expect(new TextDecoder().decode(await docker.containers.readFile(id, '/scratch/a/b/c.txt'))).toBe('in a volume');
      // The existing folder kept its mode; the made ones are 0755.
      expect(await docker.containers.statPath(id, '/scratch/a')).toMatchObject({ type: 'directory', mode: 0o755 });
    } finally {
      await docker.containers.remove(id, { force: true, volumes: true }).catch(() => {});
    }
  });

  it('exposes the stat as a type and POSIX permission bits, with the raw Go FileMode kept', async () => {
    await docker.exec.run(container, [
      'sh',
      '-c',
      'mkdir -p /tmp/st/d && chmod 750 /tmp/st/d && echo x > /tmp/st/f && chmod 640 /tmp/st/f && ln -sf f /tmp/st/l',
    ]);
    const stat = async (path: string) => {
      const archive = await docker.containers.getArchive(container, path);
      await archive.body.cancel();
      return archive.stat;
    };
    expect(await stat('/tmp/st/d')).toMatchObject({ name: 'd', type: 'directory', mode: 0o750, fileMode: 2147484136 });
    expect(await stat('/tmp/st/f')).toMatchObject({ name: 'f', type: 'file', mode: 0o640, fileMode: 0o640, size: 2 });
    // The engine reports the link's target resolved inside the container (Podman names the link
    // by its target's name, `f`).
    expect(await stat('/tmp/st/l')).toMatchObject({ name: (await isPodman(docker)) ? 'f' : 'l', type: 'symlink', linkTarget: '/tmp/st/f' });
    // Podman fills linkTarget for every path; Berth keeps it for links only.
    expect(await stat('/tmp/st/f')).toMatchObject({ linkTarget: '' });
    expect(await docker.containers.statPath(container, '/tmp')).toMatchObject({ type: 'directory', mode: 0o1777 });
    await expect(docker.containers.statPath(container, '/tmp/st/missing')).rejects.toMatchObject({ reason: 'notFound', resource: 'path' });
  });
});

describe('argument errors and notFound kinds (defect 7)', () => {
  it('throws DockerArgumentError for a bad exec.create body before any I/O', async () => {
    for (const body of [{ Cmd: [] }, {}, null, { Cmd: 'ls' }]) {
      const error = await Promise.resolve()
        .then(() => docker.exec.create(container, body as never))
        .catch((e: unknown) => e);
      expect(isDockerArgumentError(error)).toBe(true);
      expect(error).toMatchObject({ argument: 'body.Cmd' });
    }
  });

  it('throws DockerArgumentError for a bad path, dir, maxBytes and resize size', async () => {
    await expect(docker.containers.readFile(container, 'relative')).rejects.toMatchObject({
      name: 'DockerArgumentError',
      argument: 'path',
    });
    await expect(docker.containers.readFile(container, '/x', { maxBytes: -1 })).rejects.toMatchObject({
      name: 'DockerArgumentError',
      argument: 'maxBytes',
    });
    await expect(docker.containers.putFiles(container, '/tmp', [{ path: '../x', data: '' }])).rejects.toMatchObject({
      name: 'DockerArgumentError',
      argument: 'files[0].path',
    });
    await expect(docker.exec.resize('a'.repeat(64), { h: -1, w: 80 })).rejects.toMatchObject({
      name: 'DockerArgumentError',
      argument: 'h',
    });
    await expect(docker.exec.run(container, [])).rejects.toMatchObject({ name: 'DockerArgumentError', argument: 'cmd' });
    await expect(docker.containers.logs(container, { tail: -5 })).rejects.toMatchObject({ name: 'DockerArgumentError', argument: 'tail' });
    await expect(docker.containers.list({ limit: 1.5 })).rejects.toMatchObject({ name: 'DockerArgumentError', argument: 'limit' });
    await expect(docker.containers.stop(container, { timeout: -1 })).rejects.toMatchObject({
      name: 'DockerArgumentError',
      argument: 'timeout',
    });
    const { Id } = await docker.exec.create(container, { Cmd: ['true'], AttachStdout: true });
    const started = await docker.exec.start(Id);
    await expect(started.write('x')).rejects.toMatchObject({ name: 'DockerArgumentError', argument: 'stdin' });
    await started.cancel();
  });

  it('tells a missing container from a missing image', async () => {
    const container404 = await docker.containers.inspect('berth-no-such-container').catch((e: unknown) => e);
    expect(container404).toMatchObject({ reason: 'notFound', resource: 'container' });
    const image404 = await docker.images.inspect('berth-test/no-such-image:never').catch((e: unknown) => e);
    expect(image404).toMatchObject({ reason: 'notFound', resource: 'image' });
    const create404 = await docker.containers.create({ Image: 'berth-test/no-such-image:never' }).catch((e: unknown) => e);
    expect(create404).toMatchObject({ reason: 'notFound', resource: 'image' });
    const exec404 = await docker.exec.inspect('a'.repeat(64)).catch((e: unknown) => e);
    expect(exec404).toMatchObject({ reason: 'notFound', resource: 'exec' });
    const path404 = await docker.containers.getArchive(container, '/no/such/path').catch((e: unknown) => e);
    expect(path404).toMatchObject({ reason: 'notFound', resource: 'path' });
  });
});

describe('cancel() on streams the caller reads (defect 8)', () => {
  for (const tty of [false, true]) {
    it(`ends the caller's loop cleanly on an attach stream (tty ${tty})`, async () => {
      const { Id } = await docker.containers.create({
        Image: BUSYBOX,
        Cmd: ['sh', '-c', 'while true; do echo tick; sleep 0.1; done'],
        Tty: tty,
        Labels: { [TEST_LABEL]: '1' },
        HostConfig: { Init: true },
      });
      try {
        const attached = await docker.containers.attach(Id, { tty });
        await docker.containers.start(Id);
        let frames = 0;
        for await (const _ of attached) {
          frames++;
          if (frames === 3) await attached.cancel();
        }
        expect(frames).toBeGreaterThanOrEqual(3);
        // A second cancel is harmless, and iterating again yields nothing.
        await attached.cancel();
        for await (const _ of attached) frames++;
        expect(frames).toBeLessThan(10);
      } finally {
        await removeQuietly(docker, Id);
      }
    });
  }

  it("ends the caller's loop cleanly on an exec stream with stdin, and on a followed log stream", async () => {
    const { Id } = await docker.exec.create(container, {
      Cmd: ['sh', '-c', 'while true; do echo tick; sleep 0.1; done'],
      AttachStdin: true,
      AttachStdout: true,
    });
    const stream = await docker.exec.start(Id, { stdin: true });
    let frames = 0;
    for await (const _ of stream) if (++frames === 2) await stream.cancel();
    expect(frames).toBe(2);
    const id = await startSleeper(docker, { Cmd: ['sh', '-c', 'while true; do echo tick; sleep 0.1; done'] });
    try {
      const logs = await docker.containers.logs(id, { follow: true });
      let lines = 0;
      for await (const _ of logs) if (++lines === 2) await logs.cancel();
      expect(lines).toBe(2);
    } finally {
      await removeQuietly(docker, id);
    }
  });

  /** `read`: frames that may arrive before the cancel (Podman replays the one log line despite `tail: 0`). */
  type Opened = { stream: AsyncIterable<unknown> & { cancel(): Promise<void> }; cleanup?: () => Promise<void>; read?: number };
  const quiet = async (tty: boolean): Promise<Opened> => {
    const { Id } = await docker.containers.create({
      Image: BUSYBOX,
      Cmd: ['sleep', '60'],
      Tty: tty,
      Labels: { [TEST_LABEL]: '1' },
      HostConfig: { Init: true },
    });
    const stream = await docker.containers.attach(Id, { tty });
    await docker.containers.start(Id);
    return { stream, cleanup: () => removeQuietly(docker, Id) };
  };
  const kinds: Record<string, () => Promise<Opened>> = {
    'attach without a TTY': () => quiet(false),
    'attach with a TTY': () => quiet(true),
    'exec with stdin (hijacked)': async () => {
      const { Id } = await docker.exec.create(container, { Cmd: ['sleep', '60'], AttachStdin: true, AttachStdout: true });
      return { stream: await docker.exec.start(Id, { stdin: true }) };
    },
    'exec without stdin': async () => {
      const { Id } = await docker.exec.create(container, { Cmd: ['sleep', '60'], AttachStdout: true });
      return { stream: await docker.exec.start(Id) };
    },
    // Podman sends the headers of a followed log only with its first output: the container prints one line.
    'followed logs': async () => {
      const id = await startSleeper(docker, { Cmd: ['sh', '-c', 'echo start; sleep 60'] });
      const stream = await docker.containers.logs(id, { follow: true, tail: 0 });
      return { stream, cleanup: () => removeQuietly(docker, id), read: 1 };
    },
    events: async () => ({ stream: await docker.system.events({ filters: { type: ['container'], label: ['berth.none=1'] } }) }),
  };
  for (const [kind, open] of Object.entries(kinds)) {
    it(`ends a pending read cleanly when cancelled from outside the loop: ${kind}`, async () => {
      const { stream, cleanup, read = 0 } = await open();
      try {
        const reading = (async () => {
          let n = 0;
          for await (const _ of stream) n++;
          return n;
        })();
        await new Promise((r) => setTimeout(r, 300));
        await stream.cancel();
        await expect(reading).resolves.toBeLessThanOrEqual(read);
      } finally {
        await cleanup?.();
      }
    });
  }
});

describe('API version floor (defect 4)', () => {
  it('speaks the engine version; stopSignal is refused below 1.42 and nothing is sent', async () => {
    const version = await docker.apiVersion();
    const id = await startSleeper(docker);
    try {
      if (Number(version.split('.')[1]) < 42) {
        // dockerd 20.10 and Podman 4 speak 1.41: they would ignore `signal` and stop with SIGTERM.
        await expect(docker.containers.stop(id, { stopSignal: 'SIGKILL', timeout: 30 })).rejects.toMatchObject({
          code: 'BERTH_ERR_UNSUPPORTED_ENGINE',
          message: `stopSignal needs Engine API 1.42 or newer; the engine speaks ${version}`,
        });
        expect((await docker.containers.inspect(id)).State.Running).toBe(true);
      } else {
        await docker.containers.stop(id, { stopSignal: 'SIGKILL', timeout: 30 });
        expect((await docker.containers.wait(id)).StatusCode).toBe(137);
      }
    } finally {
      await removeQuietly(docker, id);
    }
  });
});

describe('close() (defect 3)', () => {
  it('is terminal: later calls reject with BERTH_ERR_CLOSED, a stream opened before goes on', async () => {
    const id = await startSleeper(docker, { Cmd: ['sh', '-c', 'while true; do echo tick; sleep 0.1; done'] });
    const client = new DockerClient();
    try {
      await client.system.ping();
      const logs = await client.containers.logs(id, { follow: true });
      const frames = logs[Symbol.asyncIterator]();
      expect((await frames.next()).done).toBe(false);
      await client.close();
      expect((await frames.next()).done).toBe(false);
      await logs.cancel();
      await expect(client.system.version()).rejects.toMatchObject({ code: 'BERTH_ERR_CLOSED' });
      await expect(client.exec.start('a'.repeat(64), { stdin: true })).rejects.toMatchObject({ code: 'BERTH_ERR_CLOSED' });
      await client.close();
    } finally {
      await client.close();
      await removeQuietly(docker, id);
    }
  });
});
