import { describe, expect, it, vi } from 'vitest';
import { unpackEntries } from '../../../src/engine/archive.js';
import { type DockerApiError, isDockerApiError, isDockerConnectionError } from '../../../src/engine/index.js';
import { recordedBodyBytes } from '../../../src/testing/format.js';
import { jsonOf, useReplay } from '../../helpers/replay.js';

const replay = useReplay('archive');
const { docker, tracker } = replay;
const id = jsonOf<{ Id: string }>(replay.exchange(1).response.body).Id;
/** The exact tar the recorder uploaded (one file, fixed metadata). */
const uploaded = recordedBodyBytes(replay.exchange(2).request.body);
const TEXT = 'hello from berth\n';

describe('archives (replayed)', () => {
  it('putArchive sends the tar as application/x-tar with the folder in the query', async () => {
    await docker.containers.putArchive(id, '/tmp', uploaded);
    const [request] = tracker.requests;
    expect(request?.method).toBe('PUT');
    expect(request?.pathname).toBe(`/v1.41/containers/${id}/archive`);
    expect(Object.fromEntries(request?.query ?? [])).toEqual({ path: '/tmp' });
    expect(request?.headers.get('content-type')).toBe('application/x-tar');
    expect(request?.body).toEqual(uploaded);
  });

  it('putArchive with other bytes is not answered', async () => {
    const quiet = vi.spyOn(console, 'error').mockImplementation(() => {});
    try {
      const other = uploaded.slice();
      other[600] = 0x41;
      const error = await docker.containers.putArchive(id, '/tmp', other).catch((e: unknown) => e);
      expect(isDockerConnectionError(error)).toBe(true);
      expect(tracker.misses[0]).toMatch(/body differs/);
    } finally {
      quiet.mockRestore();
    }
  });

  it('getArchive decodes the path-stat header and streams the tar', async () => {
    const archive = await docker.containers.getArchive(id, '/tmp/hello.txt');
    expect(archive.stat).toEqual({ name: 'hello.txt', size: TEXT.length, mode: 0o644, mtime: '2000-01-01T00:00:00Z', linkTarget: '' });
    const entries = await unpackEntries(archive.body);
    expect(entries.map((e) => [e.name, e.type, new TextDecoder().decode(e.data)])).toEqual([['hello.txt', 'file', TEXT]]);
    expect(tracker.requests[0]?.path).toBe(`/v1.41/containers/${id}/archive?path=%2Ftmp%2Fhello.txt`);
  });

  it('readFile returns the file contents', async () => {
    const data = await docker.containers.readFile(id, '/tmp/hello.txt');
    expect(new TextDecoder().decode(data)).toBe(TEXT);
  });

  it('maps a missing path to DockerApiError notFound', async () => {
    await docker.containers.getArchive(id, '/tmp/hello.txt').then((a) => a.body.cancel());
    const error = (await docker.containers.getArchive(id, '/tmp/missing.txt').catch((e: unknown) => e)) as DockerApiError;
    expect(isDockerApiError(error)).toBe(true);
    expect(error.reason).toBe('notFound');
    expect(error.daemonMessage).toBe(`Could not find the file /tmp/missing.txt in container ${id}`);
  });

  it('remove', async () => {
    await docker.containers.remove(id);
    expect(tracker.requests.map((r) => `${r.method} ${r.path}`)).toEqual([`DELETE /v1.41/containers/${id}`]);
  });
});
