import { describe, expect, it } from 'vitest';
import {
  DockerArgumentError,
  DockerBuildError,
  DockerClient,
  isDockerStreamError,
  type Transport,
  type TransportRequest,
  type TransportResponse,
} from '../../../src/engine/index.js';

/** A transport that records requests and answers each path with canned JSON lines. */
function fakeEngine(answers: Record<string, { status?: number; lines: unknown[] }>, engine: 'docker' | 'podman' = 'docker') {
  const requests: Array<TransportRequest & { bodyBytes: Uint8Array; url: URL }> = [];
  const transport: Transport = {
    address: 'unix:///fake.sock',
    async request(request) {
      const chunks: Uint8Array[] = [];
      const body = request.body;
      if (typeof body === 'string') chunks.push(new TextEncoder().encode(body));
      else if (body instanceof Uint8Array) chunks.push(body);
      else if (body) for await (const chunk of body) chunks.push(chunk);
      const bodyBytes = new Uint8Array(chunks.reduce((n, c) => n + c.length, 0));
      let offset = 0;
      for (const c of chunks) {
        bodyBytes.set(c, offset);
        offset += c.length;
      }
      const url = new URL(request.path, 'http://engine');
      requests.push({ ...request, bodyBytes, url });
      const path = decodeURIComponent(url.pathname.replace(/^\/v[\d.]+/, ''));
      if (path === '/_ping') return respond(200, [], { 'api-version': '1.41' });
      if (path === '/version')
        return respond(200, [{ Version: '1', Components: [{ Name: engine === 'podman' ? 'Podman Engine' : 'Engine' }] }]);
      const answer = answers[path];
      if (!answer) return respond(404, [{ message: `no route ${path}` }]);
      return respond(answer.status ?? 200, answer.lines);
    },
    hijack: () => Promise.reject(new Error('no hijack here')),
    close: async () => {},
  };
  return { docker: new DockerClient({ transport, env: { DOCKER_CONFIG: '/nonexistent/berth-config' } }), requests };
}

function respond(status: number, lines: unknown[], headers: Record<string, string> = {}): TransportResponse {
  const bytes = new TextEncoder().encode(lines.map((l) => `${JSON.stringify(l)}\n`).join(''));
  return {
    status,
    headers: { 'content-type': 'application/json', ...headers },
    body: {
      async *[Symbol.asyncIterator]() {
        if (bytes.length) yield bytes;
      },
      cancel: async () => {},
    },
  };
}

function decodeHeader(value: string | undefined): unknown {
  return JSON.parse(Buffer.from((value ?? '').replace(/-/g, '+').replace(/_/g, '/'), 'base64').toString('utf8'));
}

const ID = `sha256:${'ab'.repeat(32)}`;

describe('images.build request', () => {
  it('sends the context as the body and the options as the Engine API query', async () => {
    const { docker, requests } = fakeEngine({ '/build': { lines: [{ stream: 'Step 1/1 : FROM x\n' }, { aux: { ID } }] } });
    const context = new Uint8Array([1, 2, 3]);
    const result = await docker.images
      .build(context, {
        t: ['a/b:1', 'a/b:2'],
        buildargs: { X: '1' },
        labels: { l: 'v' },
        target: 'stage',
        nocache: true,
        pull: false,
        cachefrom: ['c:1'],
        extrahosts: ['h:1.2.3.4', 'i:5.6.7.8'],
        credentials: false,
      })
      .done();
    expect(result).toEqual({ id: ID, tags: ['a/b:1', 'a/b:2'], output: 'Step 1/1 : FROM x\n' });
    const build = requests.find((r) => r.url.pathname.endsWith('/build'));
    expect(build?.url.searchParams.getAll('t')).toEqual(['a/b:1', 'a/b:2']);
    expect(JSON.parse(build?.url.searchParams.get('buildargs') ?? '')).toEqual({ X: '1' });
    expect(JSON.parse(build?.url.searchParams.get('labels') ?? '')).toEqual({ l: 'v' });
    expect(JSON.parse(build?.url.searchParams.get('cachefrom') ?? '')).toEqual(['c:1']);
    expect(build?.url.searchParams.get('target')).toBe('stage');
    expect(build?.url.searchParams.get('nocache')).toBe('1');
    expect(build?.url.searchParams.get('pull')).toBe('0');
    expect(build?.url.searchParams.getAll('extrahosts')).toEqual(['h:1.2.3.4', 'i:5.6.7.8']);
    expect(build?.headers['content-type']).toBe('application/x-tar');
    expect(build?.headers['x-registry-config']).toBeUndefined();
    expect(build?.bodyBytes).toEqual(context);
  });

  it('sends extrahosts to Podman as one JSON array', async () => {
    const { docker, requests } = fakeEngine({ '/build': { lines: [{ aux: { ID } }] } }, 'podman');
    await docker.images.build(new Uint8Array(0), { extrahosts: ['h:1.2.3.4'], credentials: false }).done();
    const build = requests.find((r) => r.url.pathname.endsWith('/build'));
    expect(build?.url.searchParams.getAll('extrahosts')).toEqual(['["h:1.2.3.4"]']);
  });

  it('sends explicit credentials as X-Registry-Config, keyed by the normalised registry', async () => {
    const { docker, requests } = fakeEngine({ '/build': { lines: [{ aux: { ID } }] } });
    await docker.images
      .build(new Uint8Array(0), {
        credentials: { 'docker.io': { username: 'u', password: 'p' }, 'http://r.io:5000/v2/': { identityToken: 't' } },
      })
      .done();
    const build = requests.find((r) => r.url.pathname.endsWith('/build'));
    expect(decodeHeader(build?.headers['x-registry-config'])).toEqual({
      'https://index.docker.io/v1/': { username: 'u', password: 'p', serveraddress: 'https://index.docker.io/v1/' },
      'r.io:5000': { identitytoken: 't', serveraddress: 'r.io:5000' },
    });
  });

  it('reads the failing step and its output from a Docker or a Podman stream', async () => {
    const docker = fakeEngine({
      '/build': {
        lines: [
          { stream: 'Step 1/2 : FROM x\n' },
          { stream: ' ---> abc\n' },
          { stream: 'Step 2/2 : RUN make\n' },
          { stream: ' ---> Running in 123\n' },
          { stream: 'compiling\n\u001b[91mcc: error\n\u001b[0m' },
          { errorDetail: { code: 2, message: "The command '/bin/sh -c make' returned a non-zero code: 2" }, error: 'x' },
        ],
      },
    }).docker;
    const error = (await docker.images
      .build(new Uint8Array(0), { credentials: false })
      .done()
      .catch((e: unknown) => e)) as DockerBuildError;
    expect(error).toBeInstanceOf(DockerBuildError);
    expect([error.step, error.output, error.exitCode]).toEqual(['Step 2/2 : RUN make', 'compiling\ncc: error\n', 2]);

    const podman = fakeEngine({
      '/build': {
        lines: [
          { stream: 'STEP 1/2: FROM x\n' },
          { stream: 'STEP 2/2: RUN make\n' },
          { stream: 'compil' },
          { stream: 'ing\n' },
          { errorDetail: { message: 'building at STEP "RUN make": while running runtime: exit status 2\n' }, error: 'x' },
        ],
      },
    }).docker;
    const error2 = (await podman.images
      .build(new Uint8Array(0), { credentials: false })
      .done()
      .catch((e: unknown) => e)) as DockerBuildError;
    expect([error2.step, error2.output, error2.exitCode, error2.daemonMessage]).toEqual([
      'STEP 2/2: RUN make',
      'compiling\n',
      2,
      'building at STEP "RUN make": while running runtime: exit status 2',
    ]);
  });

  it('a refusal before the stream is a DockerBuildError with the DockerApiError as cause', async () => {
    const { docker } = fakeEngine({ '/build': { status: 500, lines: [{ message: 'Cannot locate specified Dockerfile: Dockerfile' }] } });
    const error = (await docker.images
      .build(new Uint8Array(0), { credentials: false })
      .done()
      .catch((e: unknown) => e)) as DockerBuildError;
    expect(error).toBeInstanceOf(DockerBuildError);
    expect(error.daemonMessage).toBe('Cannot locate specified Dockerfile: Dockerfile');
    expect((error.cause as Error).name).toBe('DockerApiError');
  });
});

describe('images.push and pull requests', () => {
  it('push splits name and tag, and sends {} as X-Registry-Auth without credentials', async () => {
    const { docker, requests } = fakeEngine({ '/images/r.io:5000/team/app/push': { lines: [{ status: 'pushed' }] } });
    await docker.images.push('r.io:5000/team/app:1', { credentials: false });
    const push = requests.find((r) => r.url.pathname.endsWith('/push'));
    expect(push?.url.pathname).toBe('/v1.41/images/r.io%3A5000%2Fteam%2Fapp/push');
    expect(push?.url.searchParams.get('tag')).toBe('1');
    expect(decodeHeader(push?.headers['x-registry-auth'])).toEqual({});
    await expect(docker.images.push(`r.io/app@sha256:${'a'.repeat(64)}`)).rejects.toThrow(DockerArgumentError);
  });

  it('push reports an error inside the progress stream as a DockerStreamError', async () => {
    const { docker } = fakeEngine({
      '/images/r.io/app/push': {
        lines: [{ status: 'preparing' }, { errorDetail: { message: 'unauthorized: authentication required' }, error: 'x' }],
      },
    });
    const error = await docker.images.push('r.io/app:1', { credentials: false }).catch((e: unknown) => e);
    expect(isDockerStreamError(error)).toBe(true);
    expect((error as Error).message).toBe('push of r.io/app:1 failed: unauthorized: authentication required');
  });

  it('pull sends explicit credentials with the registry of the reference; registryAuth wins', async () => {
    const { docker, requests } = fakeEngine({ '/images/create': { lines: [{ status: 'done' }] } });
    await docker.images.pull('localhost:5000/app:1', { credentials: { username: 'u', password: 'p' } });
    expect(decodeHeader(requests.at(-1)?.headers['x-registry-auth'])).toEqual({
      username: 'u',
      password: 'p',
      serveraddress: 'localhost:5000',
    });
    await docker.images.pull('python:3', { registryAuth: 'ready-made', credentials: { username: 'x' } });
    expect(requests.at(-1)?.headers['x-registry-auth']).toBe('ready-made');
    await docker.images.pull('python:3');
    expect(requests.at(-1)?.headers['x-registry-auth']).toBeUndefined();
  });

  it("pull with tlsVerify false goes through Podman's own pull on Podman, and stays compatible on Docker", async () => {
    const podman = fakeEngine({ '/libpod/images/pull': { lines: [{ stream: 'Trying to pull\n' }, { id: 'x' }] } }, 'podman');
    await podman.docker.images.pull('127.0.0.1:5000/app:1', { tlsVerify: false, credentials: false, platform: 'linux/arm64' });
    const libpod = podman.requests.at(-1);
    expect(libpod?.url.pathname).toBe('/v1.41/libpod/images/pull');
    expect(Object.fromEntries(libpod?.url.searchParams ?? [])).toEqual({
      reference: '127.0.0.1:5000/app:1',
      tlsVerify: 'false',
      OS: 'linux',
      Arch: 'arm64',
    });
    const docker = fakeEngine({ '/images/create': { lines: [{ status: 'done' }] } });
    await docker.docker.images.pull('127.0.0.1:5000/app:1', { tlsVerify: false, credentials: false });
    expect(docker.requests.at(-1)?.url.pathname).toBe('/v1.41/images/create');
  });
});
