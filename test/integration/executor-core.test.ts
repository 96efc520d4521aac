/**
 * The executor core's lifecycle edges (issue 10, defects 1-9), each against the real engine.
 * Every test here failed on the executor before the rebuild.
 */
import { spawn } from 'node:child_process';
import { existsSync, mkdirSync, mkdtempSync, readdirSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { runCli } from '../../src/cli/cli.js';
import { DockerClient } from '../../src/engine/index.js';
import { DockerCommandLineCodeExecutor, type DockerCommandLineCodeExecutorOptions, ExecutorError } from '../../src/index.js';
import { PYTHON, TEST_LABEL } from '../helpers/engine.js';

const labels = { [TEST_LABEL]: '1' };
const docker = new DockerClient();
const py = (code: string) => ({ language: 'python', code });
const sh = (code: string) => ({ language: 'sh', code });
const executor = (options: DockerCommandLineCodeExecutorOptions = {}) =>
  new DockerCommandLineCodeExecutor({ image: PYTHON, labels, docker, ...options });

const signalListeners = () => ({ SIGINT: process.listenerCount('SIGINT'), SIGTERM: process.listenerCount('SIGTERM') });
let listenersBefore: ReturnType<typeof signalListeners>;
const isOwnWorkspace = (name: string) => name.startsWith(`berth-ws-${process.pid}-`);

/** Containers of this test process (executor labels carry our pid). */
async function ourContainers(): Promise<string[]> {
  const list = await docker.containers.list({ all: true, filters: { label: [`berth.host.pid=${process.pid}`, TEST_LABEL] } });
  return list.map((c) => c.Id);
}

beforeAll(() => {
  // A private temp folder: other test files (run in parallel) make workspaces of their own.
  process.env.TMPDIR = mkdtempSync(join(tmpdir(), 'berth-tmp-core-'));
  listenersBefore = signalListeners();
});

afterAll(async () => {
  // After the whole file: no container, no temp workspace, no exit hook of ours is left.
  try {
    expect(await ourContainers()).toEqual([]);
    expect(readdirSync(tmpdir()).filter(isOwnWorkspace)).toEqual([]);
    expect(signalListeners()).toEqual(listenersBefore);
  } finally {
    rmSync(tmpdir(), { recursive: true, force: true });
    await docker.close();
  }
});

const FUNCTION = { func: 'def answer() -> int:\n    return 42\n', pythonPackages: [], globalImports: [] };
const useFunction = py('from functions import answer\nprint(answer())');

describe('defect 1: functions are there after every (re)start', () => {
  it('after stop() and start()', async () => {
    const ex = executor({ functions: [FUNCTION] });
    try {
      await ex.start();
      expect((await ex.executeCodeBlocks([useFunction])).output).toBe('42\n');
      await ex.stop();
      await ex.start();
      const again = await ex.executeCodeBlocks([useFunction]);
      expect(again.output).toBe('42\n');
      expect(again.exitCode).toBe(0);
    } finally {
      await ex.stop();
    }
  });

  it('after a restart() that had to make a fresh container (copy mode: the module lived in the old one)', async () => {
    const ex = executor({ functions: [FUNCTION], workspace: 'copy' });
    try {
      await ex.start();
      expect((await ex.executeCodeBlocks([useFunction])).output).toBe('42\n');
      const first = ex.containerId as string;
      await docker.containers.remove(first, { force: true });
      await ex.restart();
      expect(ex.containerId).not.toBe(first);
      expect((await ex.executeCodeBlocks([useFunction])).output).toBe('42\n');
    } finally {
      await ex.stop();
    }
  });
});

describe('defect 2: dumpComponent keeps the sandbox and Berth settings; loadComponent restores them', () => {
  it('round-trips through JSON into a container with the same limits, user, network and environment', async () => {
    const options = {
      sandbox: { tmpSize: '16m' },
      user: '1234:1234',
      networkMode: 'none',
      memoryBytes: 256 * 1024 * 1024,
      cpus: 0.5,
      pidsLimit: 77,
      environment: { GREETING: 'hi' },
      workspace: 'copy',
    } as const;
    const dump = executor(options).dumpComponent();
    expect(dump.config).toMatchObject({
      sandbox: { tmp_size: '16m' },
      user: '1234:1234',
      network_mode: 'none',
      memory_bytes: 256 * 1024 * 1024,
      cpus: 0.5,
      pids_limit: 77,
      environment: { GREETING: 'hi' },
      workspace: 'copy',
      // autogen's keys as they were
      timeout: 60,
      auto_remove: true,
    });
    const loaded = DockerCommandLineCodeExecutor.loadComponent(JSON.stringify(dump), { docker, labels });
    try {
      await loaded.start();
      expect(loaded.workspaceMode).toBe('copy');
      const info = await docker.containers.inspect(loaded.containerId as string);
      expect(info.Config?.User).toBe('1234:1234');
      expect(info.HostConfig).toMatchObject({
        NetworkMode: 'none',
        Memory: 256 * 1024 * 1024,
        NanoCpus: 5e8,
        PidsLimit: 77,
        ReadonlyRootfs: true,
      });
      const result = await loaded.executeCodeBlocks([sh('id -u; echo $GREETING')]);
      expect(result.output).toBe('1234\nhi\n');
    } finally {
      await loaded.stop();
    }
  });
});

describe('defect 3: an interrupt during start() leaves nothing; berth prune removes dead temp workspaces', () => {
  it.each([400, 600, 800])('SIGTERM %i ms into start() removes the container and the temp workspace', async (delay) => {
    const dist = join(process.cwd(), 'dist/index.js');
    if (!existsSync(dist)) throw new Error('dist/ is missing: npm test builds it before the tests (npm run build)');
    const tmp = mkdtempSync(join(tmpdir(), 'child-'));
    const script = `
      import { DockerCommandLineCodeExecutor } from ${JSON.stringify(dist)};
      const ex = new DockerCommandLineCodeExecutor({ image: ${JSON.stringify(PYTHON)}, labels: { 'berth.test': '1' }, initCommand: 'sleep 2' });
      console.log('starting');
      await ex.start();
      setInterval(() => {}, 1000);
    `;
    const child = spawn(process.execPath, ['--input-type=module', '-e', script], {
      stdio: ['ignore', 'pipe', 'inherit'],
      env: { ...process.env, TMPDIR: tmp },
    });
    await new Promise<void>((resolve) => child.stdout.once('data', () => resolve()));
    await new Promise((resolve) => setTimeout(resolve, delay));
    child.kill('SIGTERM');
    await new Promise((resolve) => child.once('exit', resolve));
    const left = await docker.containers.list({ all: true, filters: { label: [`berth.host.pid=${child.pid}`] } });
    expect(left.map((c) => c.Id)).toEqual([]);
    expect(readdirSync(tmp)).toEqual([]);
    rmSync(tmp, { recursive: true, force: true });
  });

  it('berth prune removes temp workspaces whose process is gone, and keeps live ones', async () => {
    const dead = spawn(process.execPath, ['-e', '0']);
    await new Promise((resolve) => dead.once('exit', resolve));
    const gone = join(tmpdir(), `berth-ws-${dead.pid}-abcdef`);
    const live = join(tmpdir(), `berth-ws-${process.pid}-ghijkl`);
    mkdirSync(join(gone, 'sub'), { recursive: true });
    mkdirSync(live);
    const out: string[] = [];
    const io = {
      stdout: { write: (s: string) => out.push(s) },
      stderr: { write: (s: string) => out.push(s) },
      stdin: process.stdin,
      env: process.env,
      signal: new AbortController().signal,
    } as unknown as Parameters<typeof runCli>[1];
    try {
      await runCli(['prune'], io);
      expect(existsSync(gone)).toBe(false);
      expect(existsSync(live)).toBe(true);
      expect(out.join('')).toContain(`removed  ${gone}  (process ${dead.pid} is gone)`);
    } finally {
      rmSync(live, { recursive: true, force: true });
      rmSync(gone, { recursive: true, force: true });
    }
  });
});

describe('defect 4: stop() during the internal reset after a block left the container unable to start processes', () => {
  it('nothing is made after stop() returned, and no exit hook is left', async () => {
    const ex = executor({ timeout: 2 });
    await ex.start();
    try {
      // A block that takes the container's sh away: at its timeout the killer (an `sh -c` exec)
      // cannot start, which is what a full pids cgroup looks like, so the call resets the container.
      const fill = "import os, shutil, time\nos.rename(shutil.which('sh'), '/tmp/sh.off')\ntime.sleep(1000)";
      const call = ex.executeCodeBlocks([py(fill)]).catch((e: unknown) => e);
      const deadline = Date.now() + 60_000;
      while (ex.state !== 'restarting' && Date.now() < deadline) await new Promise((resolve) => setTimeout(resolve, 20));
      expect(ex.state).toBe('restarting');
      await ex.stop();
      await call;
      // Give a reset that went on regardless the time to make its container and folder.
      await new Promise((resolve) => setTimeout(resolve, 3000));
      expect(ex.state).toBe('stopped');
      expect(await ourContainers()).toEqual([]);
      expect(readdirSync(tmpdir()).filter(isOwnWorkspace)).toEqual([]);
      expect(signalListeners()).toEqual(listenersBefore);
    } finally {
      await ex.stop();
    }
  });
});

describe('defect 5: an onOutput callback that throws', () => {
  it('kills the block and rejects the call with the callback error', async () => {
    const ex = executor({ workspace: 'bind' });
    await ex.start();
    try {
      const boom = new Error('callback failed');
      const code = 'import time\nfor i in range(600):\n    print(i, flush=True)\n    open("beat", "w").write(str(i))\n    time.sleep(0.1)';
      await expect(
        ex.executeCodeBlocks([py(code)], undefined, {
          onOutput: () => {
            throw boom;
          },
        }),
      ).rejects.toBe(boom);
      const beat = async () => new TextDecoder().decode(await ex.readFile('beat'));
      const before = await beat();
      await new Promise((resolve) => setTimeout(resolve, 1000));
      expect(await beat()).toBe(before);
      // The executor goes on.
      expect((await ex.executeCodeBlocks([py('print(1)')])).output).toBe('1\n');
    } finally {
      await ex.stop();
    }
  });
});

describe('defect 6: a timeout under load is a timeout, not a full container', () => {
  it('two busy loops on the host: 6 timeouts in a row each report the timeout and no restart', async () => {
    const loops = [0, 1].map(() => spawn('sh', ['-c', 'while :; do :; done'], { stdio: 'ignore' }));
    const ex = executor({ timeout: 1 });
    await ex.start();
    try {
      const id = ex.containerId;
      for (let i = 0; i < 6; i++) {
        const result = await ex.executeCodeBlocks([sh('sleep 30 & sleep 30; echo never')]);
        expect(result.timedOut).toBe(true);
        expect(result.exitCode).toBe(124);
        expect(result.output).not.toContain('unable to start processes');
      }
      // Never restarted: the same container, started once.
      expect(ex.containerId).toBe(id);
      expect((await docker.containers.inspect(id as string)).RestartCount ?? 0).toBe(0);
    } finally {
      for (const loop of loops) loop.kill('SIGKILL');
      await ex.stop();
    }
  });
});

describe('defect 7: functions entries are checked in the constructor', () => {
  it('names the entry and the missing field', () => {
    const bad = [FUNCTION, { name: 'f', code: 'def f(): pass' }] as unknown as NonNullable<
      DockerCommandLineCodeExecutorOptions['functions']
    >;
    expect(() => executor({ functions: bad })).toThrow(ExecutorError);
    expect(() => executor({ functions: bad })).toThrow(/functions\[1\] \(f\) has no func/);
    expect(() => executor({ functions: [null] as never })).toThrow(/functions\[0\] must be an object/);
    expect(() => executor({ functions: [{ func: 'def f(): pass', pythonPackages: 'numpy' }] as never })).toThrow(
      /functions\[0\]\.pythonPackages must be an array/,
    );
  });
});

describe('defect 8: start({ signal })', () => {
  it.each([0, 50, 150, 300])('an abort %i ms in removes whatever was made', async (delay) => {
    const ex = executor({ initCommand: 'sleep 5' });
    const controller = new AbortController();
    const reason = new Error('user gave up');
    setTimeout(() => controller.abort(reason), delay);
    await expect(ex.start({ signal: controller.signal })).rejects.toBe(reason);
    expect(ex.state).toBe('stopped');
    expect(await docker.containers.list({ all: true, filters: { name: [ex.containerName] } })).toEqual([]);
    expect(readdirSync(tmpdir()).filter(isOwnWorkspace)).toEqual([]);
    expect(signalListeners()).toEqual(listenersBefore);
  });

  it('an already aborted signal makes nothing', async () => {
    const ex = executor();
    await expect(ex.start({ signal: AbortSignal.abort(new Error('no')) })).rejects.toThrow('no');
    expect(ex.state).toBe('stopped');
  });
});

describe('defect 9: messages', () => {
  it('says start() or `await using`, not "context manager"', async () => {
    const ex = executor();
    await expect(ex.executeCodeBlocks([py('1')])).rejects.toThrow(
      'Container is not running. Must first be started with start() or `await using`.',
    );
  });
});
