import { spawn } from 'node:child_process';
import { existsSync, mkdtempSync, readdirSync, readFileSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { DockerClient } from '../../src/engine/index.js';
import { CancellationToken, DockerCommandLineCodeExecutor, type DockerCommandLineCodeExecutorOptions } from '../../src/index.js';
import { autogenDump } from '../helpers/autogen-reference.js';
import { PYTHON, strayProcesses as strayOf, TEST_LABEL } from '../helpers/engine.js';
import { isPodman, podmanLimitation } from '../helpers/podman.js';

const labels = { [TEST_LABEL]: '1' };
const docker = new DockerClient();

function executor(options: DockerCommandLineCodeExecutorOptions = {}): DockerCommandLineCodeExecutor {
  return new DockerCommandLineCodeExecutor({ image: PYTHON, labels, docker, ...options });
}

const strayProcesses = (ex: DockerCommandLineCodeExecutor) => strayOf(docker, ex.containerId as string);

const py = (code: string) => ({ language: 'python', code });

/**
 * Podman's Docker API drops HostConfig.DeviceRequests (README, Podman 4.3 differences): start must
 * fail with the executor's explanation and leave no container behind, not run without the devices.
 */
async function expectDeviceRequestsRefused(ex: DockerCommandLineCodeExecutor, test: string): Promise<void> {
  podmanLimitation(
    test,
    "Podman's Docker-compatible API accepts HostConfig.DeviceRequests and drops them (GPUs on Podman go through CDI devices)",
  );
  await expect(ex.start()).rejects.toMatchObject({ code: 'BERTH_ERR_EXECUTOR', message: expect.stringMatching(/dropped them/) });
  expect(ex.isRunning).toBe(false);
  expect(await docker.containers.list({ all: true, filters: { name: [ex.containerName] } })).toEqual([]);
}

let shared: DockerCommandLineCodeExecutor;
let sharedDir: string;
const isWorkspace = (name: string) => /^berth-ws-\d+-[A-Za-z0-9]{6}$/.test(name);
let tempBefore: Set<string>;

beforeAll(async () => {
  // A private temp folder: other test files (run in parallel) make workspaces of their own.
  process.env.TMPDIR = mkdtempSync(join(tmpdir(), 'berth-tmp-executor-'));
  tempBefore = new Set(readdirSync(tmpdir()).filter(isWorkspace));
  sharedDir = mkdtempSync(join(tmpdir(), 'berth-test-'));
  shared = executor({ workDir: sharedDir });
  await shared.start();
});

afterAll(async () => {
  await shared.stop();
  rmSync(sharedDir, { recursive: true, force: true });
  await docker.close();
  // Every temp workspace an executor made (tmpdir/berth-ws-PID-XXXXXX) must be gone.
  const left = readdirSync(tmpdir()).filter((name) => isWorkspace(name) && !tempBefore.has(name));
  expect(left).toEqual([]);
  rmSync(tmpdir(), { recursive: true, force: true });
});

beforeEach(() => {
  for (const entry of listDir(sharedDir)) rmSync(join(sharedDir, entry), { recursive: true, force: true });
});

function listDir(dir: string): string[] {
  return existsSync(dir) ? readdirSync(dir) : [];
}

describe('executeCodeBlocks (autogen test 1)', () => {
  it('runs a python block and sets codeFile', async () => {
    const result = await shared.executeCodeBlocks([py("print('hello world!')")]);
    expect(result.exitCode).toBe(0);
    expect(result.output).toContain('hello world!');
    expect(result.codeFile).toBeDefined();
    expect(result.timedOut).toBe(false);
    expect(result.cancelled).toBe(false);
  });

  it('runs several blocks and joins their output', async () => {
    const result = await shared.executeCodeBlocks([py("print('hello world!')"), py('print(200)')]);
    expect(result.exitCode).toBe(0);
    expect(result.output).toContain('hello world!');
    expect(result.output).toContain('200');
    expect(result.output).toBe('hello world!\n200\n');
  });

  it('runs bash, sh and shell blocks', async () => {
    for (const language of ['bash', 'sh', 'shell', 'BASH', ' Sh ']) {
      const result = await shared.executeCodeBlocks([{ language, code: 'echo hello from $0' }]);
      expect(result.exitCode).toBe(0);
      expect(result.output).toContain('hello from');
    }
  });

  it('saves the code file with the same lines as the block', async () => {
    const code = "import sys\nprint('line one')\nprint('line two', file=sys.stderr)";
    const result = await shared.executeCodeBlocks([py(code)]);
    expect(
      readFileSync(result.codeFile as string, 'utf8')
        .split('\n')
        .map((l) => l.trim()),
    ).toEqual(code.split('\n').map((l) => l.trim()));
    expect(result.codeFile).toMatch(/tmp_code_[0-9a-f]{64}\.py$/);
  });

  it('interleaves stdout and stderr in arrival order and keeps them apart', async () => {
    // The engine copies stdout and stderr from two pipes: a short pause makes the order observable.
    const result = await shared.executeCodeBlocks([
      py("import sys, time\nprint('a')\ntime.sleep(0.1)\nprint('b', file=sys.stderr)\ntime.sleep(0.1)\nprint('c')"),
    ]);
    expect(result.output).toBe('a\nb\nc\n');
    expect(result.stdout).toBe('a\nc\n');
    expect(result.stderr).toBe('b\n');
  });

  it('stops at the first non-zero exit code', async () => {
    const result = await shared.executeCodeBlocks([py('raise SystemExit(3)'), py("print('never')")]);
    expect(result.exitCode).toBe(3);
    expect(result.output).not.toContain('never');
  });

  it('includes stderr in the output (autogen test 12)', async () => {
    const result = await shared.executeCodeBlocks([py("open('/nonexistent_dir/x.txt', 'w').write('x')")]);
    expect(result.exitCode).not.toBe(0);
    expect(result.output).toContain('No such file or directory');
  });

  it('streams output through onOutput as it comes', async () => {
    const chunks: string[] = [];
    const result = await shared.executeCodeBlocks([py("import time\nprint('first')\ntime.sleep(0.3)\nprint('second')")], undefined, {
      onOutput: (chunk) => chunks.push(chunk.text),
    });
    expect(result.exitCode).toBe(0);
    expect(chunks.join('')).toBe('first\nsecond\n');
    expect(chunks.length).toBeGreaterThanOrEqual(2);
  });

  it('runs with the default image python:3-slim when no image is given', async () => {
    const ex = new DockerCommandLineCodeExecutor({ labels, docker });
    try {
      await ex.start();
      const result = await ex.executeCodeBlocks([py('import sys; print(sys.version_info[0])')]);
      expect(result.output.trim()).toBe('3');
    } finally {
      await ex.stop();
    }
  });
});

describe('languages', () => {
  it('gives exit code 1 and Unsupported language without writing a file', async () => {
    const result = await shared.executeCodeBlocks([{ language: 'Cobol', code: 'DISPLAY "x"' }]);
    expect(result.exitCode).toBe(1);
    expect(result.output).toBe('Unsupported language: cobol');
    expect(result.codeFile).toBeUndefined();
    expect(listDir(sharedDir)).toEqual([]);
  });

  it('keeps earlier outputs when a later block has an unsupported language', async () => {
    const result = await shared.executeCodeBlocks([py("print('kept')"), { language: 'rust', code: 'fn main(){}' }]);
    expect(result.exitCode).toBe(1);
    expect(result.output).toBe('kept\nUnsupported language: rust');
  });

  it('says pwsh is missing when the image has none', async () => {
    const result = await shared.executeCodeBlocks([{ language: 'pwsh', code: 'Write-Output hi' }]);
    expect(result.exitCode).toBe(1);
    expect(result.output).toContain('Powershell or pwsh is not installed. Please install one of them.');
    expect(result.codeFile).toMatch(/\.ps1$/);
  });

  it('silences pip install lines in shell blocks', async () => {
    const result = await shared.executeCodeBlocks([{ language: 'sh', code: 'pip() { echo "pip $*"; }\npip install requests' }]);
    expect(result.output).toBe('pip install -qqq requests\n');
  });
});

describe('# filename:', () => {
  it('rejects an absolute path outside the workspace (autogen test 4)', async () => {
    const result = await shared.executeCodeBlocks([py("# filename: /tmp/test.py\nprint('x')")]);
    expect(result.exitCode).toBe(1);
    expect(result.output).toContain('Filename is not in the workspace');
  });

  it('writes a relative name into the workspace (autogen test 5)', async () => {
    const result = await shared.executeCodeBlocks([py("# filename: test.py\nprint('hello world')")]);
    expect(result.exitCode).toBe(0);
    expect(result.output).toContain('hello world');
    expect(result.codeFile).toBe(join(sharedDir, 'test.py'));
    expect(existsSync(join(sharedDir, 'test.py'))).toBe(true);
  });

  it('creates parent folders and accepts /workspace/ paths', async () => {
    const a = await shared.executeCodeBlocks([py("# filename: sub/dir/a.py\nprint('a')")]);
    expect(a.exitCode).toBe(0);
    expect(existsSync(join(sharedDir, 'sub/dir/a.py'))).toBe(true);
    const b = await shared.executeCodeBlocks([py("# filename: /workspace/sub/b.py\nprint('b')")]);
    expect(b.exitCode).toBe(0);
    expect(b.output).toBe('b\n');
    expect(existsSync(join(sharedDir, 'sub/b.py'))).toBe(true);
  });

  it('rejects .. traversal and symlinks that leave the workspace, writing nothing outside', async () => {
    const outside = mkdtempSync(join(tmpdir(), 'berth-outside-'));
    try {
      symlinkSync(outside, join(sharedDir, 'escape'));
      for (const name of ['../evil.py', 'sub/../../evil.py', 'escape/evil.py', '/workspace/../etc/evil.py', 'a\0b.py']) {
        const result = await shared.executeCodeBlocks([py(`# filename: ${name}\nprint('x')`)]);
        expect(result.exitCode).toBe(1);
        expect(result.output).toBe('Filename is not in the workspace');
      }
      expect(listDir(outside)).toEqual([]);
    } finally {
      rmSync(outside, { recursive: true, force: true });
    }
  });
});

describe('timeout and cancellation', () => {
  it('times out with exit code 124 and the Timeout suffix, and kills the process (autogen test 2)', async () => {
    const ex = executor({ timeout: 1, workDir: sharedDir });
    await ex.start();
    try {
      const result = await ex.executeCodeBlocks([py('import time\ntime.sleep(10)')]);
      expect(result.exitCode).toBe(124);
      expect(result.timedOut).toBe(true);
      expect(result.output).toContain('Timeout');
      expect(result.output.endsWith('\n Timeout')).toBe(true);
      expect(await strayProcesses(ex)).toEqual([]);
    } finally {
      await ex.stop();
    }
  });

  const stubborn = 'import signal, subprocess, time\nsignal.signal(signal.SIGTERM, signal.SIG_IGN)\n';
  it.each([
    {
      what: 'code that ignores SIGTERM, with its children',
      children: ["subprocess.Popen(['sh', '-c', 'trap \"\" TERM; sleep 300'])", "subprocess.Popen(['sh', '-c', 'sleep 300 &'])"],
    },
    {
      what: 'children that cleared their environment (no BERTH_BLOCK marker)',
      children: [
        "subprocess.Popen(['/bin/sleep', '300'], env={})",
        "subprocess.Popen(['/bin/sh', '-c', 'trap \"\" TERM; /bin/sleep 301'], env={}, start_new_session=True)",
      ],
    },
  ])('kills $what, on timeout', async ({ children }) => {
    const ex = executor({ timeout: 1, workDir: sharedDir });
    await ex.start();
    try {
      const result = await ex.executeCodeBlocks([py(`${stubborn}${children.join('\n')}\ntime.sleep(300)`)]);
      expect(result.exitCode).toBe(124);
      expect(result.timedOut).toBe(true);
      expect(await strayProcesses(ex)).toEqual([]);
    } finally {
      await ex.stop();
    }
  });

  it('does not call a program that exits 124 by itself a timeout', async () => {
    const result = await shared.executeCodeBlocks([py('raise SystemExit(124)')]);
    expect(result.exitCode).toBe(124);
    expect(result.timedOut).toBe(false);
    expect(result.output).not.toContain('Timeout');
  });

  it('cancels with a token: exit 1, the message, and the process is killed at once (autogen test 3)', async () => {
    const token = new CancellationToken();
    const code = "import time\ntime.sleep(10)\nopen('hello.txt', 'w').write('hello')";
    setTimeout(() => token.cancel(), 1500);
    const result = await shared.executeCodeBlocks([py(code)], token);
    expect(result.exitCode).toBe(1);
    expect(result.cancelled).toBe(true);
    expect(result.output).toContain('Code execution was cancelled.');
    // Killed, not merely abandoned: nothing of the block is left in the container.
    expect(await strayProcesses(shared)).toEqual([]);
    expect(existsSync(join(sharedDir, 'hello.txt'))).toBe(false);
  });

  it('cancels with a plain AbortSignal, killing children too', async () => {
    const controller = new AbortController();
    setTimeout(() => controller.abort(), 1000);
    const result = await shared.executeCodeBlocks([{ language: 'bash', code: 'sleep 100 & sleep 100 & wait' }], controller.signal);
    expect(result.cancelled).toBe(true);
    expect(result.exitCode).toBe(1);
    expect(await strayProcesses(shared)).toEqual([]);
  });

  it('returns cancelled at once for an already-cancelled token', async () => {
    const token = new CancellationToken();
    token.cancel();
    const result = await shared.executeCodeBlocks([py("print('x')")], token);
    expect(result.cancelled).toBe(true);
    expect(result.output).toBe('Code execution was cancelled.');
  });

  it('runs concurrent calls in turn, and a cancel hits only its own call (autogen test 16)', async () => {
    const controller = new AbortController();
    const first = shared.executeCodeBlocks([{ language: 'bash', code: 'sleep 10' }], controller.signal);
    const second = shared.executeCodeBlocks([py("print('second')")]);
    setTimeout(() => controller.abort(), 800);
    const [a, b] = await Promise.all([first, second]);
    expect(a.cancelled).toBe(true);
    expect(b.exitCode).toBe(0);
    expect(b.output).toBe('second\n');
  });
});

describe('output', () => {
  it('returns a result for non-UTF-8 and binary output, with replacement characters', async () => {
    const result = await shared.executeCodeBlocks([py("import sys\nsys.stdout.buffer.write(b'ok \\xff\\xfe\\x00 end\\n')")]);
    expect(result.exitCode).toBe(0);
    expect(result.output).toContain('ok \uFFFD\uFFFD');
    expect(result.output).toContain(' end');
  });

  it('caps 200 MiB of output, marks the truncation and keeps memory bounded', async () => {
    const ex = executor({ workDir: sharedDir, maxOutputBytes: 64 * 1024 });
    await ex.start();
    try {
      globalThis.gc?.();
      const before = process.memoryUsage().rss;
      const code =
        "import sys\nchunk = b'x' * 65536\nfor _ in range(3200):\n    sys.stdout.buffer.write(chunk)\nprint('done', file=sys.stderr)";
      const result = await ex.executeCodeBlocks([py(code)]);
      const grown = process.memoryUsage().rss - before;
      expect(result.exitCode).toBe(0);
      expect(result.truncated).toBe(true);
      expect(result.stdout.length).toBe(64 * 1024);
      expect(result.stderr).toBe('done\n');
      expect(result.output).toContain('[output truncated');
      // 200 MiB went through; the process kept a bounded amount (well under the output size).
      expect(grown).toBeLessThan(100 * 1024 * 1024);
    } finally {
      await ex.stop();
    }
  });
});

describe('lifecycle', () => {
  it('starts and stops (autogen test 6), and a second start does nothing', async () => {
    const ex = executor();
    await ex.start();
    const id = ex.containerId;
    await ex.start();
    expect(ex.containerId).toBe(id);
    const running = await docker.containers.list({ filters: { label: [`berth.executor.id`], name: [ex.containerName] } });
    expect(running).toHaveLength(1);
    await ex.stop();
    await ex.stop(); // idempotent
    await expect(docker.containers.inspect(id as string)).rejects.toMatchObject({ reason: 'notFound' });
  });

  it('works with await using (autogen test 7)', async () => {
    let id: string | undefined;
    {
      await using ex = executor();
      await ex.start();
      id = ex.containerId;
    }
    await expect(docker.containers.inspect(id as string)).rejects.toMatchObject({ reason: 'notFound' });
  });

  it('creates a temp workspace on start and removes it on stop, root-owned files included (autogen test 14)', async () => {
    const ex = executor();
    expect(() => ex.workDir).toThrow('Working directory not properly initialized');
    await ex.start();
    const dir = ex.workDir;
    expect(existsSync(dir)).toBe(true);
    await ex.executeCodeBlocks([
      { language: 'sh', code: 'mkdir -p owned/deep && echo x > owned/deep/f && chown -R 0:0 owned && chmod 0500 owned' },
    ]);
    await ex.stop();
    expect(existsSync(dir)).toBe(false);
  });

  it('labels its container', async () => {
    const ex = executor();
    await ex.start();
    try {
      const info = await docker.containers.inspect(ex.containerId as string);
      expect(info.Config.Labels?.['berth.executor']).toBe('1');
      // The engine's init, or (an engine without one, see no-init.test.ts) the executor's own PID 1.
      if (info.HostConfig.Init !== true)
        expect(info.Config.Entrypoint).toEqual(['/bin/sh', '-c', expect.stringMatching(/^trap 'exit 0' TERM/)]);
      expect(info.HostConfig.SecurityOpt).toContain('no-new-privileges');
      expect(info.HostConfig.PidsLimit).toBeGreaterThan(0);
    } finally {
      await ex.stop();
    }
  });

  it('restart kills running executions, keeps the workspace and runs the init command again', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'berth-test-'));
    const ex = executor({ workDir: dir, initCommand: 'echo run >> /workspace/init.log' });
    await ex.start();
    try {
      const running = ex.executeCodeBlocks([{ language: 'sh', code: 'sleep 60' }]);
      await new Promise((r) => setTimeout(r, 500));
      await ex.restart();
      const result = await running;
      expect(result.exitCode).not.toBe(0);
      expect(readFileSync(join(dir, 'init.log'), 'utf8')).toBe('run\nrun\n');
      const after = await ex.executeCodeBlocks([py("print('alive')")]);
      expect(after.output).toBe('alive\n');
    } finally {
      await ex.stop();
      rmSync(dir, { recursive: true, force: true });
    }
  });

  it('stop cancels a running execution and returns', async () => {
    const ex = executor();
    await ex.start();
    const running = ex.executeCodeBlocks([{ language: 'sh', code: 'sleep 60' }]);
    await new Promise((r) => setTimeout(r, 500));
    await ex.stop();
    const result = await running;
    expect(result.exitCode).not.toBe(0);
  });

  it('refuses to run when not started', async () => {
    const ex = executor();
    await expect(ex.executeCodeBlocks([py('print(1)')])).rejects.toThrow(
      'Container is not running. Must first be started with start() or `await using`.',
    );
  });

  it('refuses an empty list of blocks', async () => {
    await expect(shared.executeCodeBlocks([])).rejects.toThrow('No code blocks to execute.');
  });

  it('deletes the files of each call with deleteTmpFiles, also after a failure (autogen test 15)', async () => {
    const keep = await shared.executeCodeBlocks([py("print('keep')")]);
    expect(existsSync(keep.codeFile as string)).toBe(true);
    const ex = executor({ workDir: sharedDir, deleteTmpFiles: true });
    await ex.start();
    try {
      const one = await ex.executeCodeBlocks([py("print('one')")]);
      expect(existsSync(one.codeFile as string)).toBe(false);
      const two = await ex.executeCodeBlocks([py("print('a')"), py("print('b')")]);
      expect(existsSync(two.codeFile as string)).toBe(false);
      const failed = await ex.executeCodeBlocks([py("raise Exception('boom')")]);
      expect(failed.exitCode).not.toBe(0);
      expect(existsSync(failed.codeFile as string)).toBe(false);
    } finally {
      await ex.stop();
    }
  });

  it('removes the container when the process is interrupted without stop()', async () => {
    const dist = join(process.cwd(), 'dist/index.js');
    if (!existsSync(dist)) throw new Error('dist/ is missing: npm test builds it before the tests (npm run build)');
    const script = `
      import { DockerCommandLineCodeExecutor } from ${JSON.stringify(dist)};
      const ex = new DockerCommandLineCodeExecutor({ image: ${JSON.stringify(PYTHON)}, labels: { 'berth.test': '1' } });
      await ex.start();
      console.log(ex.containerId);
      setInterval(() => {}, 1000);
    `;
    const child = spawn(process.execPath, ['--input-type=module', '-e', script], { stdio: ['ignore', 'pipe', 'inherit'] });
    const id = await new Promise<string>((resolve, reject) => {
      child.stdout.once('data', (d: Buffer) => resolve(d.toString().trim()));
      child.once('exit', (code) => reject(new Error(`child exited early with ${code}`)));
    });
    expect((await docker.containers.inspect(id)).State.Running).toBe(true);
    child.kill('SIGTERM');
    const exit = await new Promise<{ code: number | null; signal: string | null }>((resolve) =>
      child.once('exit', (code, signal) => resolve({ code, signal })),
    );
    expect(exit.signal).toBe('SIGTERM');
    await expect(docker.containers.inspect(id)).rejects.toMatchObject({ reason: 'notFound' });
  });
});

describe('options', () => {
  it('runs the init command before the first block and mounts extra volumes and hosts (autogen test 8)', async () => {
    const hostDir = mkdtempSync(join(tmpdir(), 'berth-vol-'));
    writeFileSync(join(hostDir, 'host_file.txt'), 'from the host');
    const dir = mkdtempSync(join(tmpdir(), 'berth-test-'));
    const ex = executor({
      workDir: dir,
      extraVolumes: { [hostDir]: { bind: '/container', mode: 'rw' } },
      extraHosts: { 'example.com': '127.0.0.1' },
      initCommand: 'echo init > /workspace/init_command.txt',
    });
    try {
      await ex.start();
      expect(readFileSync(join(dir, 'init_command.txt'), 'utf8')).toBe('init\n');
      const hosts = await ex.executeCodeBlocks([py("import socket\nprint(socket.gethostbyname('example.com'))")]);
      expect(hosts.output.trim()).toBe('127.0.0.1');
      const file = await ex.executeCodeBlocks([py("print(open('/container/host_file.txt').read())")]);
      expect(file.output).toContain('from the host');
    } finally {
      await ex.stop();
      rmSync(hostDir, { recursive: true, force: true });
      rmSync(dir, { recursive: true, force: true });
    }
  });

  it('mounts a read-only extra volume read-only', async () => {
    const hostDir = mkdtempSync(join(tmpdir(), 'berth-vol-'));
    const ex = executor({ extraVolumes: { [hostDir]: { bind: '/data', mode: 'ro' } } });
    try {
      await ex.start();
      const result = await ex.executeCodeBlocks([{ language: 'sh', code: 'echo x > /data/f' }]);
      expect(result.exitCode).not.toBe(0);
      expect(result.output).toMatch(/Read-only file system/);
      expect(listDir(hostDir)).toEqual([]);
    } finally {
      await ex.stop();
      rmSync(hostDir, { recursive: true, force: true });
    }
  });

  it('fails start with a clear error when an extra volume host path does not exist', async () => {
    const ex = executor({ extraVolumes: { '/nonexistent/berth/path': { bind: '/data', mode: 'ro' } } });
    await expect(ex.start()).rejects.toThrow('extraVolumes: host path /nonexistent/berth/path does not exist');
    expect(ex.isRunning).toBe(false);
  });

  it('fails start clearly when the init command fails, and removes what it created', async () => {
    const ex = executor({ initCommand: 'echo nope >&2; exit 7' });
    await expect(ex.start()).rejects.toThrow(/Init command failed with exit code 7[\s\S]*nope/);
    const left = await docker.containers.list({ all: true, filters: { name: [ex.containerName] } });
    expect(left).toEqual([]);
  });

  it('passes environment, user and network mode', async () => {
    const ex = executor({ environment: { GREETING: 'hi' }, user: '1000:1000', networkMode: 'none' });
    try {
      await ex.start();
      const result = await ex.executeCodeBlocks([{ language: 'sh', code: 'echo $GREETING $(id -u); ls /sys/class/net' }]);
      expect(result.output).toBe('hi 1000\nlo\n');
    } finally {
      await ex.stop();
    }
  });

  it('gives device requests to the container (GPU stand-in): NVIDIA_VISIBLE_DEVICES=all', async () => {
    const ex = executor({ deviceRequests: [{ count: -1, capabilities: [['gpu']] }] });
    if (await isPodman(docker)) return expectDeviceRequestsRefused(ex, 'gives device requests to the container');
    try {
      await ex.start();
      const result = await ex.executeCodeBlocks([
        { language: 'sh', code: "tr '\\0' '\\n' < /proc/1/environ | grep NVIDIA_VISIBLE_DEVICES" },
      ]);
      expect(result.output.trim()).toBe('NVIDIA_VISIBLE_DEVICES=all');
    } finally {
      await ex.stop();
    }
  });

  it('passes device IDs through', async () => {
    const ex = executor({ deviceRequests: [{ deviceIds: ['0', '1'], capabilities: [['gpu']] }] });
    if (await isPodman(docker)) return expectDeviceRequestsRefused(ex, 'passes device IDs through');
    try {
      await ex.start();
      const result = await ex.executeCodeBlocks([
        { language: 'sh', code: "tr '\\0' '\\n' < /proc/1/environ | grep NVIDIA_VISIBLE_DEVICES" },
      ]);
      expect(result.output.trim()).toBe('NVIDIA_VISIBLE_DEVICES=0,1');
    } finally {
      await ex.stop();
    }
  });

  it('warns about work dir "." and still runs (autogen test 13)', async () => {
    const warnings: string[] = [];
    const onWarning = (w: Error) => warnings.push(w.message);
    process.on('warning', onWarning);
    const ex = executor({ workDir: '.' });
    await new Promise((r) => setImmediate(r));
    process.off('warning', onWarning);
    expect(warnings).toContain('Using the current directory as work_dir is deprecated.');
    expect(ex.workDir).toBe('.');
  });
});

describe('functions', () => {
  it('writes the functions module and lets blocks import it', async () => {
    const { functionWithRequirements } = await import('../../src/index.js');
    const add = functionWithRequirements(
      'def add_two_numbers(a: int, b: int) -> int:\n    """Add two numbers together."""\n    return a + b\n',
    );
    const ex = executor({ functions: [add] });
    try {
      await ex.start();
      const result = await ex.executeCodeBlocks([py('from functions import add_two_numbers\nprint(add_two_numbers(1, 2))')]);
      expect(result.output).toBe('3\n');
      expect(ex.formatFunctionsForPrompt()).toContain('def add_two_numbers(a: int, b: int) -> int:');
    } finally {
      await ex.stop();
    }
  });

  it('fails with the reference message when the functions do not import', async () => {
    const { functionWithRequirements } = await import('../../src/index.js');
    const bad = functionWithRequirements('def f():\n    return 1\n', [], ['module_that_does_not_exist']);
    const ex = executor({ functions: [bad] });
    try {
      await ex.start();
      await expect(ex.executeCodeBlocks([py('print(1)')])).rejects.toThrow(/Functions failed to load: [\s\S]*module_that_does_not_exist/);
    } finally {
      await ex.stop();
    }
  });

  it('installs packages of every function with pip and reports a failure', async () => {
    const { functionWithRequirements } = await import('../../src/index.js');
    const needs = functionWithRequirements('def f():\n    return 1\n', ['some-package-that-cannot-install']);
    const ex = executor({ functions: [needs] });
    try {
      await ex.start();
      // The offline image has no pip and no network: the install fails, with autogen's message.
      await expect(ex.executeCodeBlocks([py('print(1)')])).rejects.toThrow(/^Pip install failed\./);
    } finally {
      await ex.stop();
    }
  });
});

describe('component config', () => {
  it('loads the JSON autogen wrote and gets its own container name', async () => {
    const json = autogenDump();
    const dir = mkdtempSync(join(tmpdir(), 'berth-test-'));
    json.config.work_dir = dir;
    json.config.bind_dir = dir;
    const loaded = DockerCommandLineCodeExecutor.loadComponent(json, { image: PYTHON, labels, docker });
    const again = DockerCommandLineCodeExecutor.loadComponent(json, { image: PYTHON, labels, docker });
    expect(loaded.containerName).not.toBe(again.containerName);
    expect(loaded.timeout).toBe(60);
    try {
      await loaded.start();
      await again.start();
      const [a, b] = await Promise.all([loaded.executeCodeBlocks([py("print('a')")]), again.executeCodeBlocks([py("print('b')")])]);
      expect(a.output + b.output).toBe('a\nb\n');
      const dumped = loaded.dumpComponent();
      expect(Object.keys(dumped)).toEqual(Object.keys(json));
      expect(dumped.provider).toBe(json.provider);
    } finally {
      await loaded.stop();
      await again.stop();
      rmSync(dir, { recursive: true, force: true });
    }
  });
});
