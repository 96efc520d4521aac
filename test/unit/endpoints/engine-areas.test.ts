/**
 * Request shapes and answer normalisation of the networks, volumes, container-surface and image
 * save/load/prune calls, through an in-memory transport that answers canned JSON (written by
 * hand, in the shapes dockerd 20.10 and Podman 4.3 sent in the integration runs).
 */
import { describe, expect, it } from 'vitest';
import { DockerClient, type Transport, type TransportRequest } from '../../../src/engine/index.js';

type Answer = { status?: number; json?: unknown; text?: string };

/** A client whose transport records each request and answers from `route` (404 when it returns nothing). */
function fakeClient(route: (request: TransportRequest) => Answer | undefined): { docker: DockerClient; requests: TransportRequest[] } {
  const requests: TransportRequest[] = [];
  const body = (text: string) => {
    const bytes = new TextEncoder().encode(text);
    return {
      async *[Symbol.asyncIterator]() {
        if (bytes.length) yield bytes;
      },
      cancel: async () => {},
    };
  };
  const transport: Transport = {
    address: 'unix:///fake.sock',
    async request(request) {
      requests.push(request);
      const answer = route(request);
      const text = answer?.text ?? (answer?.json === undefined ? '' : JSON.stringify(answer.json));
      return { status: answer ? (answer.status ?? 200) : 404, headers: { 'content-type': 'application/json' }, body: body(text) };
    },
    hijack: () => Promise.reject(new Error('no hijack here')),
    close: async () => {},
  };
  return { docker: new DockerClient({ transport, apiVersion: '1.41' }), requests };
}

const url = (request: TransportRequest | undefined) => new URL(`http://x${request?.path ?? ''}`);

describe('containers: the new calls', () => {
  it("top splits Podman's one-string rows into columns, the command keeping its spaces", async () => {
    const { docker } = fakeClient(() => ({
      json: { Titles: ['PID   USER     COMMAND'], Processes: [['    1 root     sleep 300 --long arg']] },
    }));
    expect(await docker.containers.top('abc', { psArgs: '-ef' })).toEqual({
      Titles: ['PID', 'USER', 'COMMAND'],
      Processes: [['1', 'root', 'sleep 300 --long arg']],
    });
  });

  it("top leaves dockerd's columns as they are and sends ps_args", async () => {
    const docker_ = { Titles: ['UID', 'PID', 'CMD'], Processes: [['root', '42', 'sleep 3600']] };
    const { docker, requests } = fakeClient(() => ({ json: docker_ }));
    expect(await docker.containers.top('abc', { psArgs: '-o pid,args' })).toEqual(docker_);
    expect(url(requests[0]).searchParams.get('ps_args')).toBe('-o pid,args');
  });

  it('changes turns the null of an unchanged container into []', async () => {
    const { docker } = fakeClient(() => ({ text: 'null' }));
    expect(await docker.containers.changes('abc')).toEqual([]);
  });

  it('commit sends the query and the config, and gives a bare hex ID its sha256: prefix', async () => {
    const hex = 'a'.repeat(64);
    const { docker, requests } = fakeClient(() => ({ status: 201, json: { Id: hex } }));
    const result = await docker.containers.commit('abc', {
      repo: 'sandbox/snap',
      tag: 'v1',
      pause: false,
      changes: ['ENV A=1', 'CMD ["sh"]'],
      config: { Labels: { a: 'b' } },
    });
    expect(result).toEqual({ Id: `sha256:${hex}` });
    const query = url(requests[0]).searchParams;
    expect(url(requests[0]).pathname).toBe('/v1.41/commit');
    expect(Object.fromEntries(query)).toEqual({
      container: 'abc',
      repo: 'sandbox/snap',
      tag: 'v1',
      pause: '0',
      changes: 'ENV A=1\nCMD ["sh"]',
    });
    expect(JSON.parse(String(requests[0]?.body))).toEqual({ Labels: { a: 'b' } });
  });

  it('port flattens the published bindings and filters by private port', async () => {
    const { docker } = fakeClient(() => ({
      json: {
        Id: 'abc',
        NetworkSettings: {
          Ports: {
            '80/tcp': [
              { HostIp: '0.0.0.0', HostPort: '32768' },
              { HostIp: '::', HostPort: '32768' },
            ],
            '53/udp': [{ HostIp: '0.0.0.0', HostPort: '32769' }],
            '7000/tcp': null,
          },
        },
      },
    }));
    expect(await docker.containers.port('abc')).toEqual([
      { containerPort: 80, protocol: 'tcp', hostIp: '0.0.0.0', hostPort: 32768 },
      { containerPort: 80, protocol: 'tcp', hostIp: '::', hostPort: 32768 },
      { containerPort: 53, protocol: 'udp', hostIp: '0.0.0.0', hostPort: 32769 },
    ]);
    expect(await docker.containers.port('abc', { privatePort: '53/udp' })).toHaveLength(1);
    expect(await docker.containers.port('abc', { privatePort: 53 })).toEqual([]);
  });

  it('stats asks for one sample (stream=0, one-shot) by default', async () => {
    const { docker, requests } = fakeClient(() => ({ json: { read: '2026-01-01T00:00:00Z' } }));
    await docker.containers.stats('abc', { oneShot: true });
    expect(Object.fromEntries(url(requests[0]).searchParams)).toEqual({ stream: '0', 'one-shot': '1' });
  });

  it('a streamed stats yields each JSON line as a sample', async () => {
    const { docker } = fakeClient(() => ({ text: '{"read":"a"}\n{"read":"b"}\n' }));
    const reads: string[] = [];
    for await (const sample of await docker.containers.stats('abc', { stream: true })) reads.push(sample.read);
    expect(reads).toEqual(['a', 'b']);
  });

  it('prune sends the filters as JSON and fills a missing list', async () => {
    const { docker, requests } = fakeClient(() => ({ json: { ContainersDeleted: null, SpaceReclaimed: 0 } }));
    expect(await docker.containers.prune({ filters: { label: ['a=b'] } })).toEqual({ ContainersDeleted: [], SpaceReclaimed: 0 });
    expect(JSON.parse(url(requests[0]).searchParams.get('filters') ?? '')).toEqual({ label: ['a=b'] });
  });
});

describe('exec.start detached', () => {
  it('sends Detach and resolves with nothing', async () => {
    const { docker, requests } = fakeClient(() => ({ text: '' }));
    await expect(docker.exec.start('abc123', { detach: true })).resolves.toBeUndefined();
    expect(JSON.parse(String(requests[0]?.body))).toEqual({ Detach: true, Tty: false });
  });
});

describe('networks and volumes', () => {
  it('connect and disconnect send the container (and Force) in the body', async () => {
    const { docker, requests } = fakeClient(() => ({ text: '' }));
    await docker.networks.connect('net', 'box', { endpointConfig: { Aliases: ['x'] } });
    await docker.networks.disconnect('net', 'box', { force: true });
    expect(JSON.parse(String(requests[0]?.body))).toEqual({ Container: 'box', EndpointConfig: { Aliases: ['x'] } });
    expect(JSON.parse(String(requests[1]?.body))).toEqual({ Container: 'box', Force: true });
  });

  it('network prune and volume list turn null lists into []', async () => {
    const { docker } = fakeClient((request) =>
      request.path.includes('/networks/prune') ? { json: { NetworksDeleted: null } } : { json: { Volumes: null, Warnings: null } },
    );
    expect(await docker.networks.prune()).toEqual({ NetworksDeleted: [] });
    expect(await docker.volumes.list()).toEqual({ Volumes: [], Warnings: null });
  });
});

describe('images: save, load, prune', () => {
  it('save uses /images/{name}/get for one image and /images/get?names= for several', async () => {
    const { docker, requests } = fakeClient(() => ({ text: 'tar bytes' }));
    await (await docker.images.save('busybox:latest')).cancel();
    await (await docker.images.save(['a:1', 'b:2'])).cancel();
    expect(url(requests[0]).pathname).toBe('/v1.41/images/busybox%3Alatest/get');
    expect(url(requests[1]).pathname).toBe('/v1.41/images/get');
    expect(url(requests[1]).searchParams.getAll('names')).toEqual(['a:1', 'b:2']);
  });

  it("load reads dockerd's and Podman's `Loaded image` lines", async () => {
    const { docker } = fakeClient(() => ({
      // dockerd ends each message with a newline; Podman 4.3 does not.
      text: '{"stream":"Loaded image: a:1\\n"}\n{"stream":"Loaded image ID: sha256:abc\\n"}\n{"stream":"Loaded image: localhost/b:2"}\n',
    }));
    expect((await docker.images.load(new Uint8Array([1]))).loaded).toEqual(['a:1', 'sha256:abc', 'localhost/b:2']);
  });

  it('load throws the error reported inside the stream', async () => {
    const { docker } = fakeClient(() => ({ text: '{"errorDetail":{"message":"unexpected EOF"},"error":"unexpected EOF"}\n' }));
    await expect(docker.images.load(new Uint8Array([1]))).rejects.toMatchObject({ code: 'BERTH_ERR_STREAM', message: /unexpected EOF/ });
  });

  it("prune gives Podman's bare-hex Deleted IDs their sha256: prefix", async () => {
    const hex = 'b'.repeat(64);
    const { docker } = fakeClient(() => ({ json: { ImagesDeleted: [{ Deleted: hex }, { Untagged: 'x:1' }], SpaceReclaimed: 5 } }));
    expect(await docker.images.prune()).toEqual({ ImagesDeleted: [{ Deleted: `sha256:${hex}` }, { Untagged: 'x:1' }], SpaceReclaimed: 5 });
  });
});
