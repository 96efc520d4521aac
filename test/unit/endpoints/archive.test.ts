import { describe, expect, it } from 'vitest';
import { readFirstEntry } from '../../../src/engine/archive.js';
import { type DockerApiError, isDockerApiError } from '../../../src/engine/index.js';
import { recordedBodyBytes } from '../../../src/testing/format.js';
import { type FixtureMismatchError, isFixtureMismatchError } from '../../../src/testing/index.js';
import { jsonOf, useFixture } from '../../helpers/replay.js';

const fixture = useFixture('archive');
const { docker } = fixture;
const id = jsonOf<{ Id: string }>(fixture.exchange(1).response.body).Id;
/** The exact tar the recorder uploaded (one file, fixed metadata). */
const uploaded = recordedBodyBytes(fixture.exchange(2).request.body);
const TEXT = 'hello from berth\n';

describe('archives (replayed through replayClient)', () => {
  it('putArchive sends the tar as application/x-tar with the folder in the query', async () => {
    await docker.containers.putArchive(id, '/tmp', uploaded);
    const request = fixture.request(2);
    expect(request.method).toBe('PUT');
    expect(request.pathname).toBe(`/v1.41/containers/${id}/archive`);
    expect(Object.fromEntries(request.query)).toEqual({ path: '/tmp' });
    expect(request.contentType).toBe('application/x-tar');
  });

  it('putArchive with other bytes is refused with the first differing byte', async () => {
    const other = uploaded.slice();
    other[600] = 0x41;
    const error = (await docker.containers.putArchive(id, '/tmp', other).catch((e: unknown) => e)) as FixtureMismatchError;
    expect(isFixtureMismatchError(error)).toBe(true);
    expect(error.nearest?.file).toBe('02-put-containers-id-archive.json');
    expect(error.nearest?.difference).toMatch(/^body: recorded 2048 bytes, sent 2048 bytes; first difference at byte 600/);
  });

  it('getArchive decodes the path-stat header and streams the tar', async () => {
    const archive = await docker.containers.getArchive(id, '/tmp/hello.txt');
    expect(archive.stat).toEqual({
      name: 'hello.txt',
      size: TEXT.length,
      type: 'file',
      mode: 0o644,
      fileMode: 0o644,
      mtime: '2000-01-01T00:00:00Z',
      linkTarget: '',
    });
    const entry = await readFirstEntry(archive.body, 'hello.txt', 1024);
    expect([entry.type, new TextDecoder().decode(entry.data)]).toEqual(['file', TEXT]);
    expect(fixture.request(3).path).toBe(`/v1.41/containers/${id}/archive?path=%2Ftmp%2Fhello.txt`);
  });

  it('readFile returns the file contents', async () => {
    const data = await docker.containers.readFile(id, '/tmp/hello.txt');
    expect(new TextDecoder().decode(data)).toBe(TEXT);
  });

  it('maps a missing path to DockerApiError notFound', async () => {
    const error = (await docker.containers.getArchive(id, '/tmp/missing.txt').catch((e: unknown) => e)) as DockerApiError;
    expect(isDockerApiError(error)).toBe(true);
    expect(error.reason).toBe('notFound');
    expect(error.daemonMessage).toBe(`Could not find the file /tmp/missing.txt in container ${id}`);
  });

  it('remove', async () => {
    await docker.containers.remove(id);
    expect(`${fixture.request(5).method} ${fixture.request(5).path}`).toBe(`DELETE /v1.41/containers/${id}`);
  });
});
