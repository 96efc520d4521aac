import { describe, expect, it } from 'vitest';
import { DockerApiError, type DockerApiError as DockerApiErrorType } from '../../../src/engine/index.js';
import { type FixtureMismatchError, isFixtureMismatchError, replayClient } from '../../../src/testing/index.js';
import { jsonOf, useFixture } from '../../helpers/replay.js';

const fixture = useFixture('containers');
const { docker } = fixture;
const createBody = jsonOf(fixture.exchange(1).request.body);
const id = jsonOf<{ Id: string }>(fixture.exchange(1).response.body).Id;
const CMD = ['sh', '-c', 'echo hello; sleep 0.2; echo oops >&2; exec sleep 3600'];
const LABELS = { 'berth.test': '1', 'berth.fixture': 'containers' };

async function rejection(promise: Promise<unknown>): Promise<unknown> {
  return promise.then(
    () => {
      throw new Error('expected a rejection');
    },
    (error: unknown) => error,
  );
}

describe('containers (replayed through replayClient)', () => {
  it('create sends the config as JSON and the name in the query, and returns the ID', async () => {
    const created = await docker.containers.create(
      { Image: 'berth-test/busybox:latest', Cmd: CMD, Labels: LABELS, HostConfig: { NetworkMode: 'none' } },
      { name: 'berth-fixture-containers' },
    );
    expect(created).toEqual({ Id: id, Warnings: [] });
    const request = fixture.request(1);
    expect(request.method).toBe('POST');
    expect(request.pathname).toBe('/v1.41/containers/create');
    expect(Object.fromEntries(request.query)).toEqual({ name: 'berth-fixture-containers' });
    expect(request.contentType).toBe('application/json');
    expect(request.json).toEqual(createBody);
  });

  it('create with another body is refused, naming the field that differs', async () => {
    const error = (await rejection(
      docker.containers.create({ Image: 'berth-test/busybox:latest', Cmd: ['true'], Labels: LABELS }, { name: 'berth-fixture-containers' }),
    )) as FixtureMismatchError;
    expect(isFixtureMismatchError(error)).toBe(true);
    expect(error.nearest?.file).toBe('01-post-containers-create.json');
    expect(error.nearest?.difference).toMatch(/^body\.Cmd\[0\]: recorded "sh", sent "true"$/);
  });

  it('start answers 204 with no body', async () => {
    await expect(docker.containers.start(id)).resolves.toBeUndefined();
    expect(`${fixture.request(2).method} ${fixture.request(2).path}`).toBe(`POST /v1.41/containers/${id}/start`);
  });

  it('inspect parses the container', async () => {
    const info = await docker.containers.inspect(id);
    expect(info.Id).toBe(id);
    expect(info.Name).toBe('/berth-fixture-containers');
    expect(info.State.Running).toBe(true);
    expect(info.State.Status).toBe('running');
    expect(info.Config.Labels).toEqual(LABELS);
    expect(info.Config.Tty).toBe(false);
    expect(info.HostConfig.NetworkMode).toBe('none');
    expect(fixture.request(3).path).toBe(`/v1.41/containers/${id}/json`);
  });

  it('list sends all=1 and the label filter as JSON', async () => {
    const list = await docker.containers.list({ all: true, filters: { label: ['berth.fixture=containers'] } });
    expect(list).toHaveLength(1);
    expect(list[0]).toMatchObject({ Id: id, Names: ['/berth-fixture-containers'], State: 'running', Labels: LABELS });
    const query = fixture.request(4).query;
    expect(query.get('all')).toBe('1');
    expect(JSON.parse(query.get('filters') ?? 'null')).toEqual({ label: ['berth.fixture=containers'] });
  });

  it('logs looks up the TTY with inspect, then demultiplexes the recorded frames', async () => {
    await docker.containers.inspect(id); // the inspect of the lifecycle, before logs
    const frames: Array<[string, string]> = [];
    for await (const frame of await docker.containers.logs(id)) frames.push([frame.stream, new TextDecoder().decode(frame.data)]);
    expect(frames).toEqual([
      ['stdout', 'hello\n'],
      ['stderr', 'oops\n'],
    ]);
    expect(fixture.request(6).path).toBe(`/v1.41/containers/${id}/logs?stdout=1&stderr=1`);
  });

  it('stop sends t=0; stopping again is answered 304 and is not an error', async () => {
    await docker.containers.stop(id, { timeout: 0 });
    await docker.containers.stop(id, { timeout: 0 });
    expect([fixture.request(7).path, fixture.request(8).path]).toEqual([
      `/v1.41/containers/${id}/stop?t=0`,
      `/v1.41/containers/${id}/stop?t=0`,
    ]);
  });

  it('remove sends DELETE without a query', async () => {
    await docker.containers.remove(id);
    expect(`${fixture.request(9).method} ${fixture.request(9).path}`).toBe(`DELETE /v1.41/containers/${id}`);
  });

  it('maps the 404 of a removed container to DockerApiError notFound with the daemon message', async () => {
    // The recorded inspects answer in order: running, running (for logs), then 404 after removal.
    await docker.containers.inspect(id);
    await docker.containers.inspect(id);
    const error = (await rejection(docker.containers.inspect(id))) as DockerApiErrorType;
    expect(error).toBeInstanceOf(DockerApiError);
    expect(error.statusCode).toBe(404);
    expect(error.reason).toBe('notFound');
    expect(error.daemonMessage).toBe(`No such container: ${id}`);
    expect(error.method).toBe('GET');
    expect(error.path).toBe(`/v1.41/containers/${id}/json`);
  });

  it('replays the whole recorded lifecycle in strict order', async () => {
    const strict = replayClient(fixture.dir);
    const { Id } = await strict.containers.create(createBody as never, { name: 'berth-fixture-containers' });
    await strict.containers.start(Id);
    await strict.containers.inspect(Id);
    await strict.containers.list({ all: true, filters: { label: ['berth.fixture=containers'] } });
    const logs = await strict.containers.logs(Id);
    for await (const _ of logs) {
      // drain
    }
    await strict.containers.stop(Id, { timeout: 0 });
    await strict.containers.stop(Id, { timeout: 0 });
    await strict.containers.remove(Id);
    await expect(strict.containers.inspect(Id)).rejects.toMatchObject({ reason: 'notFound' });
    await strict.close();
  });

  it('a request that was not recorded fails with FixtureMismatchError', async () => {
    const error = (await rejection(docker.containers.kill(id))) as FixtureMismatchError;
    expect(isFixtureMismatchError(error)).toBe(true);
    expect(error.request).toEqual({ method: 'POST', path: `/v1.41/containers/${id}/kill` });
    expect(error.message).toContain(`no recorded exchange matches request 1 of this replay: POST /v1.41/containers/${id}/kill`);
  });
});
