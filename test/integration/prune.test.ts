/**
 * The prune API (src/executor/prune.ts) against the real engine: containers labelled
 * `berth.executor` whose creating process on this host is gone are removed; those of live
 * processes, of other hosts, or without owner labels stay. The engine is shared, so `all` is only
 * ever tried as a dry run here.
 */
import { spawn } from 'node:child_process';
import { hostname } from 'node:os';
import { afterAll, describe, expect, it } from 'vitest';
import { DockerClient } from '../../src/engine/index.js';
import { EXECUTOR_LABEL } from '../../src/executor/executor.js';
import { decidePrune, HOST_NAME_LABEL, HOST_PID_LABEL, isProcessAlive, pruneContainers } from '../../src/executor/prune.js';
import { BUSYBOX, removeQuietly, TEST_LABEL } from '../helpers/engine.js';

const docker = new DockerClient();
const created: string[] = [];

afterAll(async () => {
  for (const id of created) await removeQuietly(docker, id);
  await docker.close();
});

/** The pid of a process that has exited. */
async function deadPid(): Promise<number> {
  const child = spawn(process.execPath, ['-e', ''], { stdio: 'ignore' });
  const pid = child.pid as number;
  await new Promise((resolve) => child.once('exit', resolve));
  expect(isProcessAlive(pid)).toBe(false);
  return pid;
}

/** A labelled busybox container as an executor would leave it, with the given owner labels. */
async function stray(owner: Record<string, string>, start = true): Promise<string> {
  const { Id } = await docker.containers.create({
    Image: BUSYBOX,
    Cmd: ['sleep', '3600'],
    Labels: { [TEST_LABEL]: '1', [EXECUTOR_LABEL]: '1', ...owner },
    HostConfig: { Init: true, AutoRemove: false },
  });
  created.push(Id);
  if (start) await docker.containers.start(Id);
  return Id;
}

async function exists(id: string): Promise<boolean> {
  try {
    await docker.containers.inspect(id);
    return true;
  } catch (error) {
    if ((error as { reason?: string }).reason === 'notFound') return false;
    throw error;
  }
}

describe('pruneContainers', () => {
  it('removes the containers of gone processes on this host and keeps the others', async () => {
    const host = hostname();
    const dead = await deadPid();
    const ofDeadRunning = await stray({ [HOST_PID_LABEL]: String(dead), [HOST_NAME_LABEL]: host });
    const ofDeadCreated = await stray({ [HOST_PID_LABEL]: String(dead), [HOST_NAME_LABEL]: host }, false);
    const ofSelf = await stray({ [HOST_PID_LABEL]: String(process.pid), [HOST_NAME_LABEL]: host });
    const ofOtherHost = await stray({ [HOST_PID_LABEL]: String(dead), [HOST_NAME_LABEL]: `not-${host}` });
    const ofNobody = await stray({});
    const mine = [ofDeadRunning, ofDeadCreated, ofSelf, ofOtherHost, ofNobody];

    // A dry run decides but removes nothing.
    const dry = await pruneContainers(docker, { dryRun: true });
    expect(dry.removed).toEqual(expect.arrayContaining([ofDeadRunning, ofDeadCreated]));
    expect(dry.kept).toEqual(expect.arrayContaining([ofSelf, ofOtherHost, ofNobody]));
    for (const id of mine) expect(await exists(id)).toBe(true);

    // `all` would take every labelled container (a dry run: other people's executors share this engine).
    const all = await pruneContainers(docker, { all: true, dryRun: true });
    expect(all.removed).toEqual(expect.arrayContaining(mine));
    expect(all.kept.filter((id) => mine.includes(id))).toEqual([]);

    const result = await pruneContainers(docker);
    expect(result.removed).toEqual(expect.arrayContaining([ofDeadRunning, ofDeadCreated]));
    expect(result.failed.filter((id) => mine.includes(id))).toEqual([]);
    expect(await exists(ofDeadRunning)).toBe(false);
    expect(await exists(ofDeadCreated)).toBe(false);
    for (const id of [ofSelf, ofOtherHost, ofNobody]) expect(await exists(id)).toBe(true);

    const reasons = new Map(result.decisions.map((d) => [d.id, d]));
    expect(reasons.get(ofDeadRunning)).toMatchObject({ action: 'remove', reason: `process ${dead} on ${host} is gone` });
    expect(reasons.get(ofSelf)).toMatchObject({ action: 'keep', reason: `process ${process.pid} on ${host} is running` });
    expect(reasons.get(ofOtherHost)).toMatchObject({ action: 'keep', reason: expect.stringMatching(/another host/) });
    expect(reasons.get(ofNobody)).toMatchObject({ action: 'keep', reason: expect.stringMatching(/no creating process/) });
  });

  it('rejects with the signal reason when aborted before listing', async () => {
    const controller = new AbortController();
    controller.abort(new Error('stop now'));
    await expect(pruneContainers(docker, { signal: controller.signal })).rejects.toThrow('stop now');
  });
});

describe('decidePrune', () => {
  const context = { all: false, hostName: 'here', selfPid: 10, isAlive: (pid: number) => pid === 20 };
  it.each([
    [{ [HOST_PID_LABEL]: '30', [HOST_NAME_LABEL]: 'here' }, true, 'process 30 on here is gone'],
    [{ [HOST_PID_LABEL]: '20', [HOST_NAME_LABEL]: 'here' }, false, 'process 20 on here is running'],
    [{ [HOST_PID_LABEL]: '10', [HOST_NAME_LABEL]: 'here' }, false, 'process 10 on here is running'],
    [{ [HOST_PID_LABEL]: '30', [HOST_NAME_LABEL]: 'there' }, false, 'created on another host, there (use --all)'],
    [{ [HOST_PID_LABEL]: 'x', [HOST_NAME_LABEL]: 'here' }, false, 'no creating process recorded (use --all)'],
    [{ [HOST_PID_LABEL]: '0', [HOST_NAME_LABEL]: 'here' }, false, 'no creating process recorded (use --all)'],
    [{}, false, 'no creating process recorded (use --all)'],
  ])('%j → remove %s (%s)', (labels, remove, reason) => {
    expect(decidePrune(labels, context)).toEqual({ remove, reason });
  });

  it('removes everything with all, naming the owner when known', () => {
    expect(decidePrune({ [HOST_PID_LABEL]: '20', [HOST_NAME_LABEL]: 'here' }, { ...context, all: true })).toEqual({
      remove: true,
      reason: '--all (created by process 20 on here)',
    });
    expect(decidePrune({}, { ...context, all: true })).toEqual({ remove: true, reason: '--all' });
  });
});
