import { describe, expect, it } from 'vitest';
import { type FixtureMismatchError, isFixtureMismatchError, replayClient } from '../../../src/testing/index.js';
import { jsonOf, useFixture } from '../../helpers/replay.js';

const fixture = useFixture('exec');
const { docker } = fixture;
const containerId = jsonOf<{ Id: string }>(fixture.exchange(1).response.body).Id;
const execId = jsonOf<{ Id: string }>(fixture.exchange(3).response.body).Id;
const CMD = ['sh', '-c', 'printf out; printf err >&2; exit 3'];

describe('exec.run (replayed through replayClient)', () => {
  it('returns stdout, stderr and the exit code from the recorded frames', async () => {
    const result = await docker.exec.run(containerId, CMD);
    expect(result.stdout).toBe('out');
    expect(result.stderr).toBe('err');
    expect(result.exitCode).toBe(3);
    expect(result.execId).toBe(execId);
    expect(result.truncated).toBe(false);
  });

  it('sends create, start and inspect with the expected paths and bodies', async () => {
    // The replay answered each request, so the client sent exactly the recorded requests.
    await docker.exec.run(containerId, CMD);
    const [create, start, inspect] = [fixture.request(3), fixture.request(4), fixture.request(5)];
    expect(create.method).toBe('POST');
    expect(create.pathname).toBe(`/v1.41/containers/${containerId}/exec`);
    expect(create.contentType).toBe('application/json');
    expect(create.json).toEqual({ Cmd: CMD, AttachStdout: true, AttachStderr: true, AttachStdin: false, Tty: false });
    expect(start.method).toBe('POST');
    expect(start.pathname).toBe(`/v1.41/exec/${execId}/start`);
    expect(start.json).toEqual({ Detach: false, Tty: false });
    expect(inspect.method).toBe('GET');
    expect(inspect.path).toBe(`/v1.41/exec/${execId}/json`);
  });

  it('fails with FixtureMismatchError when the client sends another command than the recorded one', async () => {
    const error = (await docker.exec.run(containerId, ['sh', '-c', 'exit 0']).catch((e: unknown) => e)) as FixtureMismatchError;
    expect(isFixtureMismatchError(error)).toBe(true);
    expect(error.nearest?.file).toBe('03-post-containers-id-exec.json');
    expect(error.nearest?.difference).toBe('body.Cmd[2]: recorded "printf out; printf err >&2; exit 3", sent "exit 0"');
  });

  it('exec.start yields the recorded frames in order, one at a time, and exec.inspect the exit code', async () => {
    await docker.exec.create(containerId, { Cmd: CMD, AttachStdout: true, AttachStderr: true, AttachStdin: false, Tty: false });
    const frames: Array<[string, string]> = [];
    for await (const frame of await docker.exec.start(execId)) frames.push([frame.stream, new TextDecoder().decode(frame.data)]);
    expect(frames).toEqual([
      ['stdout', 'out'],
      ['stderr', 'err'],
    ]);
    const info = await docker.exec.inspect(execId);
    expect(info).toMatchObject({ ID: execId, ContainerID: containerId, Running: false, ExitCode: 3 });
  });

  it('replays the whole scenario in strict order', async () => {
    const strict = replayClient(fixture.dir);
    const { Id } = await strict.containers.create(jsonOf(fixture.exchange(1).request.body) as never, { name: 'berth-fixture-exec' });
    await strict.containers.start(Id);
    await expect(strict.exec.run(Id, CMD)).resolves.toMatchObject({ stdout: 'out', stderr: 'err', exitCode: 3 });
    await strict.containers.stop(Id, { timeout: 0 });
    await strict.containers.remove(Id);
    await strict.close();
  });
});
