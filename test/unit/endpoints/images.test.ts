import { describe, expect, it } from 'vitest';
import { type DockerApiError, isDockerApiError, isDockerStreamError, type ProgressMessage } from '../../../src/engine/index.js';
import { recordedBodyBytes } from '../../../src/testing/format.js';
import { jsonOf, useFixture } from '../../helpers/replay.js';

const fixture = useFixture('images');
const { docker } = fixture;
const busyboxId = jsonOf<{ Id: string }>(fixture.exchange(1).response.body).Id;
const importTar = recordedBodyBytes(fixture.exchange(5).request.body);

describe('images (replayed through replayClient)', () => {
  it('inspect encodes the reference in the path and parses the image', async () => {
    const image = await docker.images.inspect('berth-test/busybox:latest');
    expect(image.Id).toBe(busyboxId);
    expect(image.Id).toMatch(/^sha256:[0-9a-f]{64}$/);
    expect(image.RepoTags).toEqual(['berth-test/busybox:latest']);
    expect(image.Os).toBe('linux');
    expect(fixture.request(1).path).toBe('/v1.41/images/berth-test%2Fbusybox%3Alatest/json');
  });

  it('list sends the reference filter as JSON', async () => {
    const images = await docker.images.list({ filters: { reference: ['berth-test/busybox'] } });
    expect(images.map((i) => [i.Id, i.RepoTags])).toEqual([[busyboxId, ['berth-test/busybox:latest']]]);
    expect(JSON.parse(fixture.request(2).query.get('filters') ?? 'null')).toEqual({ reference: ['berth-test/busybox'] });
  });

  it('maps a missing image to DockerApiError notFound', async () => {
    const error = (await docker.images.inspect('berth-test/missing:latest').catch((e: unknown) => e)) as DockerApiError;
    expect(isDockerApiError(error)).toBe(true);
    expect(error.reason).toBe('notFound');
    expect(error.daemonMessage).toMatch(/No such image: berth-test\/missing:latest/);
  });

  it('a pull the engine refuses before any progress is a DockerApiError (500, internal)', async () => {
    const error = (await docker.images.pull('localhost:1/berth-missing:latest').catch((e: unknown) => e)) as DockerApiError;
    expect(isDockerApiError(error)).toBe(true);
    expect(isDockerStreamError(error)).toBe(false);
    expect(error.statusCode).toBe(500);
    expect(error.reason).toBe('internal');
    expect(error.daemonMessage).toMatch(/localhost:1.*connection refused/);
    const request = fixture.request(4);
    expect(request.method).toBe('POST');
    expect(request.pathname).toBe('/v1.41/images/create');
    expect(Object.fromEntries(request.query)).toEqual({ fromImage: 'localhost:1/berth-missing', tag: 'latest' });
    expect(request.bytes).toHaveLength(0);
  });

  it('import uploads the tar and reads the new image ID from the JSON-lines progress', async () => {
    const progress: ProgressMessage[] = [];
    const result = await docker.images.import(importTar, {
      repo: 'berth-fixture/imported',
      tag: 'latest',
      onProgress: (m) => progress.push(m),
    });
    expect(result.id).toMatch(/^sha256:[0-9a-f]{64}$/);
    expect(progress).toEqual([{ status: result.id }]);
    const request = fixture.request(5);
    expect(request.contentType).toBe('application/x-tar');
    expect(Object.fromEntries(request.query)).toEqual({ fromSrc: '-', repo: 'berth-fixture/imported', tag: 'latest' });
  });

  it('remove returns what was untagged and deleted', async () => {
    const removed = await docker.images.remove('berth-fixture/imported:latest');
    expect(removed[0]).toEqual({ Untagged: 'berth-fixture/imported:latest' });
    expect(removed.slice(1).every((r) => /^sha256:[0-9a-f]{64}$/.test(r.Deleted ?? ''))).toBe(true);
    expect(fixture.request(6).path).toBe('/v1.41/images/berth-fixture%2Fimported%3Alatest');
  });
});
