import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { packFiles } from '../../src/engine/archive.js';
import { type BuildMessage, DockerArgumentError, DockerBuildError, type DockerClient, isDockerBuildError } from '../../src/engine/index.js';
import { BuildScratch, runImage } from '../helpers/build.js';
import { BUSYBOX, testClient } from '../helpers/engine.js';
import { isPodman } from '../helpers/podman.js';

let docker: DockerClient;
let podman = false;
const scratch = new BuildScratch();
const tag = (what: string) => scratch.tag(what);

beforeAll(async () => {
  docker = testClient();
  podman = await isPodman(docker);
});

afterAll(async () => {
  await scratch.cleanup(docker);
  await docker.close();
});

describe('images.build from a folder', () => {
  it('sends the folder minus what .dockerignore names, with ! exceptions and ** patterns', async () => {
    const dir = await scratch.folder({
      Dockerfile: `FROM ${BUSYBOX}\nCOPY . /ctx\nCMD ["sh", "-c", "cd /ctx && find . -type f | sort"]\n`,
      '.dockerignore': '# comment\n*.log\n!keep.log\nsecrets\n**/*.tmp\ndocs/**/draft*\nDockerfile\n',
      'app.py': 'print(1)\n',
      'error.log': 'x',
      'keep.log': 'kept',
      'secrets/key': 'k',
      'deep/a/b/c.tmp': 't',
      'deep/a/b/c.txt': 't',
      'docs/x/y/draft1.md': 'd',
      'docs/x/final.md': 'f',
    });
    const ref = tag('ignore');
    const result = await docker.images.build(dir, { t: ref }).done();
    expect(result.id).toMatch(/^sha256:[0-9a-f]{64}$/);
    const run = await runImage(docker, ref);
    expect(run.exitCode).toBe(0);
    // The Dockerfile is sent although .dockerignore names it (the CLI's rule: else no build at
    // all); the engine then leaves it out of COPY, as .dockerignore says.
    expect(run.output.trim().split('\n')).toEqual(['./.dockerignore', './app.py', './deep/a/b/c.txt', './docs/x/final.md', './keep.log']);
  });

  it('refuses a path that is not a folder, naming it', async () => {
    const missing = '/nonexistent/berth-build-context';
    const error = await docker.images
      .build(missing)
      .done()
      .catch((e: unknown) => e);
    expect(error).toBeInstanceOf(DockerArgumentError);
    expect((error as Error).message).toContain(missing);
  });
});

describe('images.build from a tar context', () => {
  it('builds from tar bytes with buildargs, labels and several tags', async () => {
    const context = await packFiles([
      { path: 'Dockerfile', data: `FROM ${BUSYBOX}\nARG GREETING=none\nRUN echo "$GREETING" > /greeting\nCMD ["cat", "/greeting"]\n` },
    ]);
    const first = tag('args');
    const second = tag('args-two');
    const result = await docker.images
      .build(context, { t: [first, second], buildargs: { GREETING: 'hello from buildargs' }, labels: { 'berth.build': 'yes' } })
      .done();
    expect(result.tags).toEqual([first, second]);
    const inspect = await docker.images.inspect(first);
    expect(inspect.Id).toBe(result.id);
    expect(inspect.Config?.Labels?.['berth.build']).toBe('yes');
    expect((await docker.images.inspect(second)).Id).toBe(result.id);
    const run = await runImage(docker, first);
    expect(run.output).toBe('hello from buildargs\n');
  });

  it('builds from a byte stream, with a Dockerfile of another name and a target stage', async () => {
    const bytes = await packFiles([
      {
        path: 'build/Containerfile',
        data: `FROM ${BUSYBOX} AS base\nRUN echo base > /stage\nFROM base AS second\nRUN echo second > /stage\nFROM base AS last\nRUN echo last > /stage\n`,
      },
    ]);
    async function* stream(): AsyncGenerator<Uint8Array> {
      for (let i = 0; i < bytes.length; i += 1000) yield bytes.subarray(i, i + 1000);
    }
    const ref = tag('target');
    await docker.images.build(stream(), { t: ref, dockerfile: 'build/Containerfile', target: 'second' }).done();
    const run = await runImage(docker, ref, ['cat', '/stage']);
    expect(run.output).toBe('second\n');
  });

  it('streams the progress as messages, the step lines among them, and ends with the image ID', async () => {
    const context = await packFiles([{ path: 'Dockerfile', data: `FROM ${BUSYBOX}\nRUN echo progress-marker\n` }]);
    const build = docker.images.build(context, { t: tag('progress'), nocache: true });
    const messages: BuildMessage[] = [];
    for await (const message of build) messages.push(message);
    const text = messages.map((m) => m.stream ?? '').join('');
    expect(text).toMatch(/(Step|STEP) 2\/2 ?: RUN echo progress-marker/);
    expect(text).toContain('progress-marker\n');
    const result = await build.done();
    expect(result.output).toBe(text);
    expect((await docker.images.inspect(result.id)).Id).toBe(result.id);
  });

  it('q (quiet) prints no step output and still gives the image ID', async () => {
    const context = await packFiles([{ path: 'Dockerfile', data: `FROM ${BUSYBOX}\nRUN echo quiet-marker\n` }]);
    const ref = tag('quiet');
    const result = await docker.images.build(context, { t: ref, q: true, nocache: true }).done();
    expect(result.output).not.toContain('quiet-marker');
    expect(result.id).toBe((await docker.images.inspect(ref)).Id);
  });

  it('nocache rebuilds a step the cache would otherwise reuse', async () => {
    const context = await packFiles([{ path: 'Dockerfile', data: `FROM ${BUSYBOX}\nRUN date +%s%N > /stamp\n` }]);
    const ref = tag('cache');
    const first = await docker.images.build(context, { t: ref }).done();
    const cached = await docker.images.build(context, { t: ref }).done();
    expect(cached.id).toBe(first.id);
    const fresh = await docker.images.build(context, { t: ref, nocache: true }).done();
    scratch.images.push(first.id); // untagged by the rebuild: removed at the end
    expect(fresh.id).not.toBe(first.id);
  });
});

describe('images.build errors', () => {
  it('a failing RUN step throws DockerBuildError with the step, its output and the exit code', async () => {
    const context = await packFiles([
      {
        path: 'Dockerfile',
        data: `FROM ${BUSYBOX}\nRUN echo fine\nRUN echo about to fail && echo on stderr >&2 && exit 3\nRUN echo never\n`,
      },
    ]);
    const error = await docker.images
      .build(context, { t: tag('fail'), forcerm: true })
      .done()
      .catch((e: unknown) => e);
    expect(isDockerBuildError(error)).toBe(true);
    const build = error as DockerBuildError;
    expect(build.code).toBe('BERTH_ERR_BUILD');
    expect(build.step).toMatch(/(Step|STEP) 3\/4 ?: RUN echo about to fail/);
    expect(build.output).toContain('about to fail\n');
    expect(build.output).toContain('on stderr\n');
    expect(build.output).not.toContain('fine');
    expect(build.exitCode).toBe(3);
    expect(build.message).toContain('RUN echo about to fail');
  });

  it('the iterator throws the same DockerBuildError at the failing step', async () => {
    const context = await packFiles([{ path: 'Dockerfile', data: `FROM ${BUSYBOX}\nRUN false\n` }]);
    const seen: string[] = [];
    const error = await (async () => {
      for await (const message of docker.images.build(context, { forcerm: true })) seen.push(message.stream ?? '');
    })().catch((e: unknown) => e);
    expect(error).toBeInstanceOf(DockerBuildError);
    expect((error as DockerBuildError).step).toMatch(/RUN false/);
    expect(seen.join('')).toMatch(/(Step|STEP) 1\/2/);
  });

  it('an unknown instruction and a missing base image are DockerBuildErrors with the engine message', async () => {
    const bad = await packFiles([{ path: 'Dockerfile', data: `FROM ${BUSYBOX}\nFROBNICATE now\n` }]);
    const parse = await docker.images
      .build(bad)
      .done()
      .catch((e: unknown) => e);
    expect(parse).toBeInstanceOf(DockerBuildError);
    expect((parse as DockerBuildError).daemonMessage.toLowerCase()).toContain('frobnicate');

    const missing = await packFiles([{ path: 'Dockerfile', data: 'FROM berth-build-test/no-such-base:never\n' }]);
    const base = await docker.images
      .build(missing, { pull: false })
      .done()
      .catch((e: unknown) => e);
    expect(base).toBeInstanceOf(DockerBuildError);
    // Offline, the engine's message is its failed attempt to pull; the step names the image.
    expect((base as DockerBuildError).step ?? (base as DockerBuildError).daemonMessage).toMatch(/no-such-base/);
  });

  it('a Dockerfile missing from the context is a DockerBuildError naming it', async () => {
    const context = await packFiles([{ path: 'README', data: 'no Dockerfile here' }]);
    const error = await docker.images
      .build(context, { dockerfile: 'Nope.Dockerfile' })
      .done()
      .catch((e: unknown) => e);
    expect(error).toBeInstanceOf(DockerBuildError);
    expect((error as DockerBuildError).message).toContain('Nope.Dockerfile');
  });

  it('refuses a bad tag or option before any I/O', () => {
    expect(() => docker.images.build(new Uint8Array(0), { t: 'Bad Tag' })).toThrow(DockerArgumentError);
    expect(() => docker.images.build(new Uint8Array(0), { dockerfile: '' })).toThrow(DockerArgumentError);
    expect(() => docker.images.build(new Uint8Array(0), { buildargs: { A: 1 as unknown as string } })).toThrow(/buildargs/);
    expect(() => docker.images.build('')).toThrow(DockerArgumentError);
  });

  it('breaking out of the loop stops the build on the engine; done() then says so', async () => {
    const marker = `started-${Math.random().toString(36).slice(2)}`;
    const context = await packFiles([{ path: 'Dockerfile', data: `FROM ${BUSYBOX}\nRUN echo ${marker} && sleep 60\n` }]);
    const build = docker.images.build(context, { nocache: true, forcerm: true });
    for await (const message of build) if (message.stream?.includes(marker)) break;
    await expect(build.done()).rejects.toThrow(/stopped before it finished/);
    // The step's container goes away: the engine saw the connection close and stopped the build.
    const stepContainers = async () =>
      (await docker.containers.list({ all: true })).filter((c) => String(c.Command ?? '').includes(marker)).length;
    for (let i = 0; i < 60 && (await stepContainers()) > 0; i++) await new Promise((resolve) => setTimeout(resolve, 500));
    expect(await stepContainers()).toBe(0);
  });

  it('an abort ends the build with the signal reason', async () => {
    const context = await packFiles([{ path: 'Dockerfile', data: `FROM ${BUSYBOX}\nRUN echo started && sleep 60\n` }]);
    const controller = new AbortController();
    const build = docker.images.build(context, { signal: controller.signal, nocache: true, forcerm: true });
    const reason = new Error('stop the build');
    const error = await (async () => {
      for await (const message of build) if (message.stream?.includes('started')) controller.abort(reason);
    })().catch((e: unknown) => e);
    expect(error).toBe(reason);
  });
});

describe('engine', () => {
  it('names the engine under test', () => {
    console.log(`build suite on ${podman ? 'Podman' : 'Docker'}`);
    expect(typeof podman).toBe('boolean');
  });
});
