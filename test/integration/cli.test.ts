import { type ChildProcess, spawn } from 'node:child_process';
import { randomUUID } from 'node:crypto';
import { existsSync, mkdtempSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import { hostname, tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, describe, expect, it } from 'vitest';
import { DockerClient, isDockerApiError } from '../../src/engine/index.js';
import { BUSYBOX, PYTHON, removeQuietly, TEST_LABEL } from '../helpers/engine.js';

const root = fileURLToPath(new URL('../../', import.meta.url));
const MAIN = join(root, 'dist', 'cli', 'main.js');
if (!existsSync(MAIN)) {
  throw new Error(`${MAIN} is missing: run \`npm run build\` first (the CLI tests run the built command)`);
}

const docker = new DockerClient();
// The CLI's temporary workspaces go here (TMPDIR), so they can be checked and do not mix with other tests'.
const tmp = mkdtempSync(join(tmpdir(), 'berth-cli-test-'));
const files = mkdtempSync(join(tmpdir(), 'berth-cli-files-'));
const children: number[] = [];

interface Outcome {
  code: number | null;
  signal: NodeJS.Signals | null;
  stdout: string;
  stderr: string;
  pid: number;
  ms: number;
}

function start(args: string[], options: { input?: string; env?: Record<string, string> } = {}): ChildProcess {
  const child = spawn(process.execPath, [MAIN, ...args], {
    cwd: root,
    env: { ...process.env, TMPDIR: tmp, ...options.env },
    stdio: ['pipe', 'pipe', 'pipe'],
  });
  if (child.pid !== undefined) children.push(child.pid);
  child.stdin?.end(options.input ?? '');
  return child;
}

function finish(child: ChildProcess): Promise<Outcome> {
  const began = performance.now();
  let stdout = '';
  let stderr = '';
  child.stdout?.setEncoding('utf8').on('data', (text: string) => (stdout += text));
  child.stderr?.setEncoding('utf8').on('data', (text: string) => (stderr += text));
  return new Promise((resolve, reject) => {
    child.on('error', reject);
    child.on('close', (code, signal) => resolve({ code, signal, stdout, stderr, pid: child.pid ?? -1, ms: performance.now() - began }));
  });
}

function berth(args: string[], options: { input?: string; env?: Record<string, string> } = {}): Promise<Outcome> {
  return finish(start(args, options));
}

function file(name: string, content: string): string {
  const path = join(files, name);
  writeFileSync(path, content);
  return path;
}

/** Containers an executor of process `pid` left behind. */
async function containersOf(pid: number): Promise<string[]> {
  const list = await docker.containers.list({ all: true, filters: { label: ['berth.executor', `berth.host.pid=${pid}`] } });
  return list.map((c) => c.Id);
}

afterAll(async () => {
  try {
    // Nothing the CLI started may remain: no container, no temporary workspace.
    const left: string[] = [];
    for (const pid of children) left.push(...(await containersOf(pid)));
    for (const id of left) await removeQuietly(docker, id);
    expect(left).toEqual([]);
    expect(readdirSync(tmp)).toEqual([]);
  } finally {
    rmSync(tmp, { recursive: true, force: true });
    rmSync(files, { recursive: true, force: true });
    await docker.close();
  }
});

describe('berth run', () => {
  it('runs a .py file, printing its output, and exits 0', async () => {
    const path = file('hello.py', 'import sys\nprint("hello from", sys.argv[0].endswith(".py"))\nprint("to stderr", file=sys.stderr)\n');
    const result = await berth(['run', '--image', PYTHON, path]);
    expect(result.stdout).toBe('hello from True\n');
    expect(result.stderr).toBe('to stderr\n');
    expect(result.code).toBe(0);
  });

  it("exits with the code's exit status", async () => {
    const path = file('exit3.py', 'print("before", flush=True)\nraise SystemExit(3)\n');
    const result = await berth(['run', '--image', PYTHON, '--quiet', path]);
    expect(result.stdout).toBe('before\n');
    expect(result.code).toBe(3);
  });

  it('exits 124 on timeout, saying so', async () => {
    const path = file('sleep.py', 'import time\nprint("sleeping", flush=True)\ntime.sleep(10)\n');
    const result = await berth(['run', '--image', PYTHON, '--timeout', '1', path]);
    expect(result.stdout).toBe('sleeping\n');
    expect(result.stderr).toMatch(/berth: timed out after 1 s/);
    expect(result.code).toBe(124);
    expect(result.ms).toBeLessThan(9000);
  });

  it('reads the code from stdin with -', async () => {
    const result = await berth(['run', '--image', PYTHON, '--lang', 'sh', '-'], { input: 'echo "from $0"; echo oops >&2; exit 5\n' });
    expect(result.stdout).toMatch(/^from /);
    expect(result.stderr).toBe('oops\n');
    expect(result.code).toBe(5);
  });

  it('runs the blocks of a markdown message in one container and prints every output', async () => {
    const message = [
      'First a file:',
      '',
      '```python',
      'open("shared.txt", "w").write("made by python")',
      'print("python says", 6 * 7)',
      '```',
      '',
      'Then read it back:',
      '',
      '~~~sh',
      'echo "sh says $(cat shared.txt)"',
      '~~~',
    ].join('\n');
    const result = await berth(['run', '--image', PYTHON, '--markdown', '-'], { input: message });
    expect(result.stdout).toBe('python says 42\nsh says made by python\n');
    expect(result.code).toBe(0);
    const fromFile = await berth(['run', '--image', PYTHON, file('reply.md', message)]);
    expect(fromFile.stdout).toBe(result.stdout);
  });

  it('exits 1 with "Unsupported language" for a block the executor cannot run, after the blocks before it', async () => {
    const message = '```python\nprint("first")\n```\n\n```rust\nfn main() {}\n```\n\n```python\nprint("never")\n```\n';
    const result = await berth(['run', '--image', PYTHON, '--markdown', file('rust.md', message)]);
    expect(result.stdout).toBe('first\n');
    expect(result.stderr).toMatch(/Unsupported language: rust/);
    expect(result.code).toBe(1);
  });

  it('exits 130 on SIGINT, killing the code and leaving no container', async () => {
    const child = start(['run', '--image', PYTHON, '--lang', 'sh', '-'], { input: 'echo started; sleep 30\n' });
    const done = finish(child);
    const pid = child.pid as number;
    try {
      await new Promise<void>((resolve, reject) => {
        const timer = setTimeout(() => reject(new Error('the code did not start within 30 s')), 30_000);
        child.stdout?.on('data', (text: Buffer | string) => {
          if (String(text).includes('started')) {
            clearTimeout(timer);
            resolve();
          }
        });
      });
      expect(await containersOf(pid)).toHaveLength(1);
      const interrupted = performance.now();
      child.kill('SIGINT');
      const result = await done;
      expect(result.code).toBe(130);
      expect(result.stderr).toMatch(/berth: interrupted/);
      expect(performance.now() - interrupted).toBeLessThan(10_000);
      expect(await containersOf(pid)).toEqual([]);
    } finally {
      child.kill('SIGKILL');
      for (const id of await containersOf(pid)) await removeQuietly(docker, id);
    }
  });
});

describe('berth run: --max-output and exit 125', () => {
  it("--max-output keeps that many bytes per stream and says so in the CLI's words", async () => {
    const result = await berth(['run', '--image', PYTHON, '--max-output', '10', '--lang', 'python', '-'], { input: "print('x' * 100)\n" });
    expect(result.stdout).toBe('xxxxxxxxxx');
    expect(result.stderr).toContain('[output truncated: more than --max-output bytes]');
    expect(result.code).toBe(0);
  });

  it("exits 125 when the engine cannot be reached, never the code's own status", async () => {
    const result = await berth(['run', '--quiet', '--lang', 'sh', '-'], {
      input: 'exit 1\n',
      env: { DOCKER_HOST: 'unix:///nonexistent.sock' },
    });
    expect(result.code).toBe(125);
    expect(result.stderr).toMatch(/^berth: .*nonexistent\.sock/m);
  });

  it('exits 125 when Berth itself refuses (an image that is not there with --pull never)', async () => {
    const result = await berth(['run', '--quiet', '--image', 'berth-test/not-there:nope', '--pull', 'never', '--lang', 'sh', '-'], {
      input: 'echo hi\n',
    });
    expect(result.code).toBe(125);
    expect(result.stderr).toMatch(/pullPolicy is 'never'/);
  });
});

describe('berth doctor', () => {
  it('reports Bun as Bun, with its version (not as the Node it emulates)', async () => {
    const bun = join(root, 'node_modules', '.bin', 'bun');
    const child = spawn(bun, [MAIN, 'doctor', '--json', '--image', PYTHON], {
      cwd: root,
      env: { ...process.env, TMPDIR: tmp },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    const result = await finish(child);
    const report = JSON.parse(result.stdout) as { runtime: { name: string; version: string } };
    const version = spawn(bun, ['--version'], { stdio: ['ignore', 'pipe', 'ignore'] });
    const bunVersion = (await finish(version)).stdout.trim();
    expect(report.runtime).toMatchObject({ name: 'bun', version: `v${bunVersion}` });
  });

  it('prints where the engine is, how it was found and the API version', async () => {
    const where = docker.describe();
    const apiVersion = await docker.apiVersion();
    const result = await berth(['doctor', '--image', PYTHON]);
    expect(result.code).toBe(0);
    expect(result.stdout).toContain(where.address);
    expect(result.stdout).toContain(where.source);
    expect(result.stdout).toContain(`${apiVersion} in use`);
    expect(result.stdout).toContain(`${PYTHON} present`);
    expect(result.stdout).toContain(`node ${process.version} (`);
  });

  it('prints a JSON object with --json', async () => {
    const result = await berth(['doctor', '--json', '--image', 'berth-test/not-there:nope']);
    expect(result.code).toBe(0);
    const report = JSON.parse(result.stdout) as Record<string, unknown>;
    expect(report).toMatchObject({
      ok: true,
      engine: { address: docker.describe().address },
      apiVersion: await docker.apiVersion(),
      image: { name: 'berth-test/not-there:nope', present: false },
      runtime: { name: 'node', version: process.version, node: process.version },
    });
  });

  it('exits 1 naming the address when no engine answers there', async () => {
    const env = { DOCKER_HOST: 'unix:///nonexistent.sock' };
    const result = await berth(['doctor'], { env });
    expect(result.code).toBe(1);
    expect(result.stderr).toMatch(/^berth: no Docker engine answers: .*unix:\/\/\/nonexistent\.sock/m);
    const json = await berth(['doctor', '--json'], { env });
    expect(json.code).toBe(1);
    expect(JSON.parse(json.stdout)).toMatchObject({ ok: false, error: expect.stringContaining('unix:///nonexistent.sock') });
  });
});

describe('usage', () => {
  it('exits 2 with the usage on bad usage', async () => {
    for (const args of [['frobnicate'], ['run'], ['run', '--timeout', 'soon', 'x.py'], ['run', 'script.rb']]) {
      const result = await berth(args);
      expect(result.code, args.join(' ')).toBe(2);
      expect(result.stderr).toMatch(/^berth: /);
      expect(result.stderr).toContain('Usage: berth');
    }
  });

  it('prints help and the version', async () => {
    const help = await berth(['--help']);
    expect(help.code).toBe(0);
    expect(help.stdout).toContain('berth run');
    const version = await berth(['--version']);
    expect(version.stdout).toMatch(/^\d+\.\d+\.\d+/);
  });
});

describe('berth prune', () => {
  it('lists (--dry-run) and removes a container whose creating process is gone', async () => {
    const name = `berth-cli-prune-${randomUUID().slice(0, 8)}`;
    const { Id } = await docker.containers.create(
      {
        Image: BUSYBOX,
        Cmd: ['sleep', '3600'],
        Labels: { 'berth.executor': '1', 'berth.host.pid': '999999', 'berth.host.name': hostname(), [TEST_LABEL]: '1' },
        HostConfig: { Init: true },
      },
      { name },
    );
    try {
      await docker.containers.start(Id);
      const dry = await berth(['prune', '--dry-run']);
      expect(dry.code).toBe(0);
      expect(dry.stdout).toMatch(new RegExp(`would remove\\s+${Id.slice(0, 12)}\\s+${name}\\s+\\(process 999999 on .+ is gone\\)`));
      expect((await docker.containers.inspect(Id)).State.Running).toBe(true);

      const real = await berth(['prune']);
      expect(real.code).toBe(0);
      expect(real.stdout).toMatch(new RegExp(`removed\\s+${Id.slice(0, 12)}\\s+${name}`));
      const gone = await docker.containers.inspect(Id).then(
        () => false,
        (error: unknown) => isDockerApiError(error) && error.reason === 'notFound',
      );
      expect(gone).toBe(true);
    } finally {
      await removeQuietly(docker, Id);
    }
  });
});
