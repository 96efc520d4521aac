/**
 * Parity with docker-py (tests/integration/api_build_test.py, models_images_test.py, the pull
 * cases of api_image_test.py, credentials/store_test.py) and dockerode (test/docker.js
 * #buildImage, #pull), adapted to the offline images (busybox for alpine) and the loopback
 * registries of scripts/registry-up.sh. Each case names its upstream test; the README's "Build
 * and registries" parity list says which upstream cases do not apply and why.
 */
import { createReadStream } from 'node:fs';
import { mkdtemp, readFile, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { gzipSync } from 'node:zlib';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { packFiles } from '../../src/engine/archive.js';
import {
  type BuildMessage,
  DockerBuildError,
  type DockerClient,
  DockerCredentialsError,
  isDockerApiError,
  isDockerStreamError,
  type ProgressMessage,
} from '../../src/engine/index.js';
import { BuildScratch, runImage, testRepo } from '../helpers/build.js';
import { BUSYBOX, testClient } from '../helpers/engine.js';
import { isPodman, podmanLimitation } from '../helpers/podman.js';
import { AUTH_REGISTRY, dockerConfig, OPEN_REGISTRY, REGISTRY_PASSWORD, REGISTRY_USER, registryUp } from '../helpers/registry.js';

let docker: DockerClient;
let podman = false;
const scratch = new BuildScratch();
const { images, folders } = scratch;
const clients: DockerClient[] = [];

beforeAll(async () => {
  docker = testClient();
  podman = await isPodman(docker);
});

afterAll(async () => {
  await Promise.all(clients.map((c) => c.close()));
  await scratch.cleanup(docker);
  await docker.close();
});

const tag = (what: string) => scratch.tag(what);
const folder = (files: Record<string, string>) => scratch.folder(files);

/** A tar context holding one Dockerfile made of `lines` (docker-py's `fileobj=`). */
function dockerfile(...lines: string[]): Promise<Uint8Array> {
  return packFiles([{ path: 'Dockerfile', data: lines.join('\n') }]);
}

async function collect(build: AsyncIterable<BuildMessage>): Promise<BuildMessage[]> {
  const out: BuildMessage[] = [];
  for await (const message of build) out.push(message);
  return out;
}

describe('docker-py api_build_test.py', () => {
  it('test_build_streaming: the progress is a stream of decoded messages', async () => {
    const messages = await collect(
      docker.images.build(await dockerfile(`FROM ${BUSYBOX}`, 'RUN mkdir -p /tmp/test', 'EXPOSE 8080'), { t: tag('streaming') }),
    );
    expect(messages.length).toBeGreaterThan(0);
    expect(messages.every((m) => typeof m === 'object' && m !== null)).toBe(true);
  });

  it('test_build_with_dockerignore: spaces trimmed, ! exceptions, # comments, Dockerfile and .dockerignore left out', async () => {
    const dir = await folder({
      Dockerfile: `FROM ${BUSYBOX}\nADD . /test`,
      '.dockerignore': [
        'ignored',
        'Dockerfile',
        '.dockerignore',
        ' ignored-with-spaces ',
        '!ignored/subdir/excepted-file',
        '! ignored/subdir/excepted-with-spaces  ',
        '',
        '#*',
      ].join('\n'),
      'not-ignored': 'this file should not be ignored',
      '#file.txt': 'this file should not be ignored',
      'ignored-with-spaces': 'this file should be ignored',
      'ignored/subdir/file': 'this file should be ignored',
      'ignored/subdir/excepted-file': 'this file should not be ignored',
      'ignored/subdir/excepted-with-spaces': 'this file should not be ignored',
    });
    const ref = tag('dockerignore');
    await docker.images.build(dir, { t: ref }).done();
    const run = await runImage(docker, ref, ['find', '/test', '-type', 'f']);
    expect(run.output.split('\n').filter(Boolean).sort()).toEqual(
      ['/test/#file.txt', '/test/ignored/subdir/excepted-with-spaces', '/test/ignored/subdir/excepted-file', '/test/not-ignored'].sort(),
    );
  });

  it('test_build_with_buildargs: ARG reaches USER of a FROM scratch image', async () => {
    const ref = tag('buildargs');
    await docker.images.build(await dockerfile('FROM scratch', 'ARG test', 'USER $test'), { t: ref, buildargs: { test: 'OK' } }).done();
    expect((await docker.images.inspect(ref)).Config?.User).toBe('OK');
  });

  it('test_build_shmsize: a build with shmsize succeeds', async () => {
    const ref = tag('shmsize');
    await docker.images.build(await dockerfile('FROM scratch', `CMD sh -c "echo 'Hello, World!'"`), { t: ref, shmsize: 134217728 }).done();
    expect((await docker.images.inspect(ref)).Config?.Cmd).toEqual(['/bin/sh', '-c', `sh -c "echo 'Hello, World!'"`]);
  });

  it('test_build_labels: labels land on the image', async () => {
    const ref = tag('labels');
    await docker.images.build(await dockerfile('FROM scratch'), { t: ref, labels: { test: 'OK' } }).done();
    expect((await docker.images.inspect(ref)).Config?.Labels).toMatchObject({ test: 'OK' });
  });

  it('test_build_with_cache_from: cachefrom reuses an image as cache; an unknown one gives none', async () => {
    const context = await dockerfile(`FROM ${BUSYBOX}`, 'ENV FOO=bar', 'RUN touch baz', 'RUN touch bax');
    const first = tag('cache1');
    await docker.images.build(context, { t: first, nocache: true }).done();
    const usingCache = (messages: BuildMessage[]) => messages.filter((m) => /Using cache/i.test(m.stream ?? '')).length;
    const cached = await collect(docker.images.build(context, { t: tag('cache2'), cachefrom: [first] }));
    expect(usingCache(cached)).toBe(3);
    const uncached = await collect(docker.images.build(context, { t: tag('cache3'), cachefrom: ['berth-build-test/nosuchtag:1'] }));
    if (podman) {
      // Podman's buildah uses its local layer cache whatever cachefrom says (README, Podman differences).
      podmanLimitation('cachefrom with an unknown image', 'buildah keeps using its local cache');
      expect(usingCache(uncached)).toBe(3);
    } else expect(usingCache(uncached)).toBe(0);
  });

  it('test_build_container_with_target: the target stage is the image, later ONBUILD left out', async () => {
    const ref = tag('target');
    const context = await dockerfile(
      `FROM ${BUSYBOX} as first`,
      'RUN mkdir -p /tmp/test',
      'RUN touch /tmp/silence.tar.gz',
      `FROM ${BUSYBOX}`,
      'WORKDIR /root/',
      'COPY --from=first /tmp/silence.tar.gz .',
      'ONBUILD RUN echo "This should not be in the final image"',
    );
    await docker.images.build(context, { t: ref, target: 'first' }).done();
    const onBuild = (await docker.images.inspect(ref)).Config?.OnBuild;
    expect(onBuild ?? []).toEqual([]);
  });

  it('test_build_with_network_mode (none): a RUN step has no network but loopback', async () => {
    const ref = tag('netnone');
    await docker.images
      .build(await dockerfile(`FROM ${BUSYBOX}`, 'RUN ls /sys/class/net > /nets'), { t: ref, networkmode: 'none', nocache: true })
      .done();
    const nets = (await runImage(docker, ref, ['cat', '/nets'])).output;
    if (podman) {
      // Podman 4.3's compatible build ignores networkmode (README, Podman differences): RUN sees the host's.
      podmanLimitation('networkmode none', "Podman 4.3's compatible build ignores networkmode");
      expect(nets).not.toBe('lo\n');
      return;
    }
    expect(nets).toBe('lo\n');
    // Upstream's failing half: a step that needs the network fails, and no image is made.
    const failed = tag('netnone-fail');
    const error = await docker.images
      .build(await dockerfile(`FROM ${BUSYBOX}`, 'RUN ping -c1 -W1 10.0.0.1'), {
        t: failed,
        networkmode: 'none',
        nocache: true,
        forcerm: true,
      })
      .done()
      .catch((e: unknown) => e);
    expect(error).toBeInstanceOf(DockerBuildError);
    expect((error as DockerBuildError).exitCode).toBe(1);
    await expect(docker.images.inspect(failed)).rejects.toSatisfy((e) => isDockerApiError(e) && e.reason === 'notFound');
  });

  it('test_build_with_extra_hosts: extrahosts are in /etc/hosts of RUN steps', async () => {
    const ref = tag('extrahosts');
    await docker.images
      .build(await dockerfile(`FROM ${BUSYBOX}`, 'RUN cp /etc/hosts /hosts-file'), {
        t: ref,
        nocache: true,
        extrahosts: ['extrahost.local.test:127.0.0.1', 'hello.world.test:127.0.0.1'],
      })
      .done();
    const hosts = (await runImage(docker, ref, ['cat', '/hosts-file'])).output;
    expect(hosts).toMatch(/127\.0\.0\.1\s+extrahost\.local\.test/);
    expect(hosts).toMatch(/127\.0\.0\.1\s+hello\.world\.test/);
  });

  it('test_build_stderr_data: stderr of a step reaches the stream (Docker colours it)', async () => {
    const snippet = 'Ancient Temple (Mystic Oriental Dream ~ Ancient Temple)';
    const messages = await collect(
      docker.images.build(await dockerfile(`FROM ${BUSYBOX}`, `RUN sh -c ">&2 echo '${snippet}'"`), { nocache: true, t: tag('stderr') }),
    );
    const lines = messages.map((m) => m.stream);
    if (podman) expect(lines).toContain(`${snippet}\n`);
    else expect(lines).toContain(`\x1b[91m${snippet}\n\x1b[0m`);
  });

  it('test_build_gzip_encoding: a gzip-compressed tar context builds', async () => {
    const context = gzipSync(await packFiles([{ path: 'Dockerfile', data: `FROM ${BUSYBOX}\nADD . /test\n` }]));
    const result = await docker.images.build(new Uint8Array(context), { nocache: true }).done();
    expect(result.output).toMatch(/Successfully built|[0-9a-f]{64}/);
    images.push(result.id);
  });

  it('test_build_with_dockerfile_empty_lines: a .dockerignore of blank lines ignores nothing', async () => {
    const dir = await folder({ Dockerfile: `FROM ${BUSYBOX}\nCOPY . /ctx\n`, '.dockerignore': '   \n\n\t\t\n\t     ', 'a.txt': 'a' });
    const ref = tag('emptylines');
    await docker.images.build(dir, { t: ref, nocache: true }).done();
    expect((await runImage(docker, ref, ['ls', '-A', '/ctx'])).output.split('\n').filter(Boolean).sort()).toEqual([
      '.dockerignore',
      'Dockerfile',
      'a.txt',
    ]);
  });

  it('test_build_out_of_context_dockerfile: an absolute Dockerfile outside the folder is sent, not copied', async () => {
    const dir = await folder({ 'file.txt': 'hello world', '.dockerignore': '.dockerignore\n' });
    const outside = await folder({ Dockerfile: `FROM ${BUSYBOX}\nCOPY . /src\nWORKDIR /src\n` });
    const ref = tag('outside');
    await docker.images.build(dir, { t: ref, dockerfile: join(outside, 'Dockerfile') }).done();
    expect((await runImage(docker, ref, ['ls', '-a'])).output.trim().split('\n').sort()).toEqual(['.', '..', 'file.txt']);
  });

  it('test_build_in_context_dockerfile, _nested_, _abs_: a Dockerfile by relative, nested or absolute path', async () => {
    const body = `FROM ${BUSYBOX}\nCOPY . /src\nWORKDIR /src\n`;
    const flat = await folder({ 'file.txt': 'hello world', 'custom.dockerfile': body });
    const nested = await folder({ 'file.txt': 'hello world', 'hello/world/custom.dockerfile': body });
    const cases: Array<[string, string, string[]]> = [
      [flat, 'custom.dockerfile', ['.', '..', 'custom.dockerfile', 'file.txt']],
      [nested, 'hello/world/custom.dockerfile', ['.', '..', 'file.txt', 'hello']],
      [flat, join(flat, 'custom.dockerfile'), ['.', '..', 'custom.dockerfile', 'file.txt']],
    ];
    for (const [dir, file, listing] of cases) {
      const ref = tag('incontext');
      await docker.images.build(dir, { t: ref, dockerfile: file }).done();
      expect((await runImage(docker, ref, ['ls', '-a'])).output.trim().split('\n').sort()).toEqual(listing);
    }
  });
});

describe('docker-py models_images_test.py', () => {
  it('test_build and test_build_with_multiple_success: the image runs', async () => {
    const result = await docker.images.build(await dockerfile(`FROM ${BUSYBOX}`, 'CMD echo hello world'), { t: tag('model') }).done();
    images.push(result.id);
    expect((await runImage(docker, result.id)).output).toBe('hello world\n');
  });

  it('test_build_with_error: a failing RUN is a DockerBuildError with the exit code', async () => {
    const error = await docker.images
      .build(await dockerfile(`FROM ${BUSYBOX}`, 'RUN exit 1'), { forcerm: true })
      .done()
      .catch((e: unknown) => e);
    expect(error).toBeInstanceOf(DockerBuildError);
    const build = error as DockerBuildError;
    expect(build.exitCode).toBe(1);
    expect(build.step).toMatch(/RUN exit 1/);
    // Docker: "The command '/bin/sh -c exit 1' returned a non-zero code: 1"; Podman: "… exit status 1".
    expect(build.daemonMessage).toMatch(/returned a non-zero code: 1|exit status 1/);
  });

  it('test_build_with_success_build_output: output that looks like "Successfully built" does not fool the ID', async () => {
    const ref = tag('fakeoutput');
    const result = await docker.images
      .build(await dockerfile(`FROM ${BUSYBOX}`, 'CMD echo Successfully built abcd1234'), { t: ref })
      .done();
    expect(result.id).toBe((await docker.images.inspect(ref)).Id);
    expect((await runImage(docker, ref)).output).toBe('Successfully built abcd1234\n');
  });
});

describe('dockerode test/docker.js #buildImage', () => {
  it('should build image from file / from readable stream: a tar file on disk, as bytes and streamed', async () => {
    const dir = await mkdtemp(join(tmpdir(), 'berth-parity-'));
    folders.push(dir);
    const file = join(dir, 'test.tar');
    await writeFile(file, await dockerfile(`FROM ${BUSYBOX}`, 'RUN echo from-a-tar-file'));
    const fromBytes = await docker.images.build(new Uint8Array(await readFile(file))).done();
    const fromStream = await docker.images.build(createReadStream(file)).done();
    expect(fromStream.id).toBe(fromBytes.id);
    expect(fromBytes.output).toContain('from-a-tar-file');
    images.push(fromBytes.id);
  });

  it('should build image from multiple files (src list), using cache (cachefrom of an absent image)', async () => {
    const context = await packFiles([
      { path: 'Dockerfile', data: `FROM ${BUSYBOX}\nCOPY a.txt b.txt /files/\n` },
      { path: 'a.txt', data: 'a' },
      { path: 'b.txt', data: 'b' },
    ]);
    const ref = tag('multiple-files');
    await docker.images.build(context, { t: ref, cachefrom: ['ubuntu:latest'] }).done();
    expect((await runImage(docker, ref, ['ls', '/files'])).output).toBe('a.txt\nb.txt\n');
  });

  it('should build image from multiple files while respecting the .dockerignore file (fixtures/dockerignore)', async () => {
    const dir = await folder({
      '.dockerignore': '# Ignore dirs\nignore-dir\n# Ignore blobs\n*.txt\n# Override rules\n!MC-hammer.txt\n',
      Dockerfile: `FROM ${BUSYBOX}\nCOPY . /ctx\n`,
      'MC-hammer.txt': "can't touch this",
      'empty.txt': '',
      'ignore-dir/.gitkeep': '',
      'ignore-dir/empty.txt': '',
    });
    const ref = tag('honor-dockerignore');
    await docker.images.build(dir, { t: ref }).done();
    expect((await runImage(docker, ref, ['find', '/ctx'])).output.trim().split('\n').sort()).toEqual([
      '/ctx',
      '/ctx/.dockerignore',
      '/ctx/Dockerfile',
      '/ctx/MC-hammer.txt',
    ]);
  });
});

describe('pulls and credentials (docker-py api_image_test.py PullImageTest, credentials/store_test.py; dockerode #pull)', () => {
  let pushed = '';

  beforeAll(async () => {
    if (!(await registryUp(OPEN_REGISTRY)) || !(await registryUp(AUTH_REGISTRY))) throw new Error('run bash scripts/registry-up.sh first');
    const source = tag('pullsrc');
    await docker.images.build(await dockerfile(`FROM ${BUSYBOX}`, 'CMD echo pulled'), { t: source }).done();
    pushed = `${OPEN_REGISTRY}/${testRepo('pull')}`;
    await docker.images.tag(source, { repo: pushed, tag: 'latest' });
    images.push(`${pushed}:latest`);
    await docker.images.push(`${pushed}:latest`, { tlsVerify: false });
  });

  it('test_pull and test_pull_streaming (dockerode followProgress): progress messages, then the tag is listed', async () => {
    await docker.images.remove(`${pushed}:latest`);
    const progress: ProgressMessage[] = [];
    await docker.images.pull(pushed, { onProgress: (m) => progress.push(m), tlsVerify: false });
    expect(progress.length).toBeGreaterThan(0);
    // Docker's progress says `status`; Podman's own pull (used for tlsVerify: false) says `stream`.
    expect(progress.some((m) => typeof (m.status ?? m.stream) === 'string')).toBe(true);
    expect((await docker.images.inspect(`${pushed}:latest`)).RepoTags).toContain(`${pushed}:latest`);
  });

  it('test_pull_invalid_platform: the engine refuses, a typed error', async () => {
    const error = await docker.images.pull(pushed, { platform: 'foobar', tlsVerify: false, credentials: false }).catch((e: unknown) => e);
    if (podman) {
      // Podman checks the platform only against a multi-platform manifest; this image has one platform.
      podmanLimitation('pull with an invalid platform', 'Podman does not check the platform of a single-platform image');
      expect(error).toBeUndefined();
      return;
    }
    expect(isDockerApiError(error) || isDockerStreamError(error)).toBe(true);
  });

  it('dockerode "followProgress and pause": stopping a pull midway (abort) rejects with the reason', async () => {
    const controller = new AbortController();
    const reason = new Error('stop the pull');
    const error = await docker.images
      .pull(pushed, { signal: controller.signal, tlsVerify: false, onProgress: () => controller.abort(reason) })
      .catch((e: unknown) => e);
    expect(error).toBe(reason);
  });

  it('store_test test_get_nonexistent and test_unavailable_store: a helper without the entry means none; a missing helper is typed', async () => {
    const made = await dockerConfig(
      { credHelpers: { [OPEN_REGISTRY]: 'emptystore', [AUTH_REGISTRY]: 'nosuchstore' } },
      {
        emptystore: { answer: 'credentials not found in native keychain', exit: 1 },
      },
    );
    folders.push(made.dir);
    const { DockerClient } = await import('../../src/engine/index.js');
    const client = new DockerClient({ env: made.env });
    clients.push(client);
    await client.images.pull(pushed, { tlsVerify: false });
    const error = await client.images.pull(`${AUTH_REGISTRY}/x/y:1`).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(DockerCredentialsError);
    expect((error as DockerCredentialsError).helper).toBe('docker-credential-nosuchstore');
  });

  it('store_test test_unicode_strings and test_execute_with_env_override: a helper run with the client env, unicode secrets intact', async () => {
    const made = await dockerConfig(
      { credsStore: 'unicode' },
      {
        unicode: { answer: JSON.stringify({ ServerURL: AUTH_REGISTRY, Username: REGISTRY_USER, Secret: REGISTRY_PASSWORD }) },
      },
    );
    folders.push(made.dir);
    const { DockerClient } = await import('../../src/engine/index.js');
    // The helper is found only through the client's env (its PATH), not this process's.
    const client = new DockerClient({ env: made.env });
    clients.push(client);
    const ref = `${AUTH_REGISTRY}/${testRepo('helperenv')}:1`;
    await docker.images.tag(images[images.length - 1] as string, { repo: ref.slice(0, -2), tag: '1' });
    images.push(ref);
    await client.images.push(ref, { tlsVerify: false });
    expect(await readFile(made.log, 'utf8')).toBe(`unicode get ${AUTH_REGISTRY}\n`);
    // A unicode password survives the X-Registry-Auth encoding: the registry refuses it as wrong, not as garbled.
    const wrong = await docker.images
      .push(ref, { credentials: { username: REGISTRY_USER, password: 'pässwörd-密码' }, tlsVerify: false })
      .catch((e: unknown) => e);
    expect((wrong as Error).message).toMatch(/unauthorized|authentication required/i);
  });
});
