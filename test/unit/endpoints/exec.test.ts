import { describe, expect, it, vi } from 'vitest';
import { isDockerConnectionError } from '../../../src/engine/index.js';
import { jsonOf, useReplay } from '../../helpers/replay.js';

const replay = useReplay('exec');
const { docker, tracker } = replay;
const containerId = jsonOf<{ Id: string }>(replay.exchange(1).response.body).Id;
const execId = jsonOf<{ Id: string }>(replay.exchange(3).response.body).Id;
const CMD = ['sh', '-c', 'printf out; printf err >&2; exit 3'];

describe('exec.run (replayed)', () => {
  it('returns stdout, stderr and the exit code from the recorded frames', async () => {
    const result = await docker.exec.run(containerId, CMD);
    expect(result.stdout).toBe('out');
    expect(result.stderr).toBe('err');
    expect(result.exitCode).toBe(3);
    expect(result.execId).toBe(execId);
    expect(result.truncated).toBe(false);
  });

  it('sends create, start and inspect with the expected paths and bodies', async () => {
    await docker.exec.run(containerId, CMD);
    const [create, start, inspect, ...rest] = tracker.requests;
    expect(rest).toEqual([]);
    expect(create?.method).toBe('POST');
    expect(create?.pathname).toBe(`/v1.41/containers/${containerId}/exec`);
    expect(create?.headers.get('content-type')).toBe('application/json');
    expect(create?.json).toEqual({ Cmd: CMD, AttachStdout: true, AttachStderr: true, AttachStdin: false, Tty: false });
    expect(start?.method).toBe('POST');
    expect(start?.pathname).toBe(`/v1.41/exec/${execId}/start`);
    expect(start?.json).toEqual({ Detach: false, Tty: false });
    expect(inspect?.method).toBe('GET');
    expect(inspect?.path).toBe(`/v1.41/exec/${execId}/json`);
    expect(tracker.misses).toEqual([]);
  });

  it('fails when the client sends another command than the recorded one', async () => {
    const quiet = vi.spyOn(console, 'error').mockImplementation(() => {});
    try {
      const error = await docker.exec.run(containerId, ['sh', '-c', 'exit 0']).catch((e: unknown) => e);
      expect(isDockerConnectionError(error)).toBe(true);
      expect(tracker.misses[0]).toMatch(/JSON body differs/);
    } finally {
      quiet.mockRestore();
    }
  });

  it('exec.start yields the recorded frames in order, and exec.inspect the exit code', async () => {
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
});
