import { createHash } from 'node:crypto';
import { existsSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { DockerArgumentError, DockerClient, DockerConnectionError } from '../../src/engine/index.js';
import { DockerCommandLineCodeExecutor, type DockerCommandLineCodeExecutorOptions, ExecutorError } from '../../src/index.js';
import { PYTHON, TEST_LABEL } from '../helpers/engine.js';

/**
 * Issue 6, bad input: each kind of bad input gets a clear error or a defined result, against the
 * real engine, and nothing is written outside the workspace, also when the code itself plants
 * symlinks, FIFOs and device nodes in a bind-mounted workspace for Berth (on this machine, often
 * as root) to trip over.
 */

const docker = new DockerClient();
const labels = { [TEST_LABEL]: '1' };
const make = (options: DockerCommandLineCodeExecutorOptions = {}) =>
  new DockerCommandLineCodeExecutor({ image: PYTHON, labels, docker, ...options });
const defaultName = (code: string, ext: string) => `tmp_code_${createHash('sha256').update(code, 'utf8').digest('hex')}.${ext}`;

afterAll(() => docker.close());

describe('engine calls with bad IDs and image references', () => {
  const bad: [string, (client: DockerClient) => Promise<unknown>][] = [
    ['an empty container ID', (c) => c.containers.inspect('')],
    ['a container ID with a path in it', (c) => c.containers.inspect('../../info')],
    ['a container name with a space', (c) => c.containers.remove('my container')],
    ['a container ID that is not a string', (c) => c.containers.inspect(42 as unknown as string)],
    ['an exec ID that is not hex', (c) => c.exec.inspect('not-hex')],
    ['an empty image reference', (c) => c.images.inspect('')],
    ['an image reference with upper case', (c) => c.images.inspect('Berth-Test/Python')],
    ['an image reference with a space', (c) => c.images.inspect('python 3:slim')],
  ];

  it.each(bad)('rejects %s before any I/O, with DockerArgumentError naming the argument', async (_what, call) => {
    // A client on a socket that does not exist: any I/O would give DockerConnectionError instead.
    const dead = new DockerClient({ host: 'unix:///nonexistent/berth-bad-input.sock' });
    try {
      const error = await call(dead).catch((e: unknown) => e);
      expect(error).toBeInstanceOf(DockerArgumentError);
      expect(error).toMatchObject({ code: 'BERTH_ERR_INVALID_ARGUMENT', message: expect.stringMatching(/id|execId|image/) });
      // The same call on the real engine is refused the same way, not with the engine's 404.
      await expect(call(docker)).rejects.toBeInstanceOf(DockerArgumentError);
    } finally {
      await dead.close();
    }
  });

  it('does reach the engine for a well-formed ID (so the check above can fail)', async () => {
    const dead = new DockerClient({ host: 'unix:///nonexistent/berth-bad-input.sock' });
    try {
      await expect(dead.containers.inspect('berth-no-such-container')).rejects.toBeInstanceOf(DockerConnectionError);
    } finally {
      await dead.close();
    }
  });
});

describe('executor options', () => {
  it.each([
    [0, 'Timeout must be greater than or equal to 1.'],
    [-5, 'Timeout must be greater than or equal to 1.'],
    [0.5, 'Timeout must be greater than or equal to 1.'],
    [Number.NaN, 'timeout must be a number of seconds, got NaN'],
    ['30', 'timeout must be a number of seconds, got "30"'],
    [Number.POSITIVE_INFINITY, 'timeout must be finite'],
    // Longer than a timer holds: it would fire at once instead.
    [1e7, 'timeout must be at most 2147483 seconds (about 24 days), got 10000000'],
  ])('rejects the timeout %s with an ExecutorError', (timeout, message) => {
    expect(() => make({ timeout: timeout as number })).toThrow(new ExecutorError(message));
  });

  it.each(['my-functions', '1st', 'a.b', '', 'class', 'None', 'async', 'lambda', 'has space'])(
    'rejects the functions module name %j',
    (name) => {
      expect(() => make({ functionsModule: name })).toThrow(ExecutorError);
      expect(() => make({ functionsModule: name })).toThrow('Module name must be a valid Python identifier');
    },
  );

  it('fails start() when an extraVolumes host path does not exist, and leaves no container', async () => {
    const ex = make({ extraVolumes: { '/nonexistent/berth/data': { bind: '/data', mode: 'rw' } } });
    await expect(ex.start()).rejects.toThrow(new ExecutorError('extraVolumes: host path /nonexistent/berth/data does not exist'));
    expect(ex.isRunning).toBe(false);
    expect(await docker.containers.list({ all: true, filters: { name: [ex.containerName] } })).toEqual([]);
    expect(existsSync('/nonexistent/berth/data')).toBe(false);
  });
});

describe.each(['bind', 'copy'] as const)('code blocks, %s mode', (workspace) => {
  let ex: DockerCommandLineCodeExecutor;
  beforeAll(async () => {
    ex = make({ workspace });
    await ex.start();
  });
  afterAll(() => ex.stop());

  it('runs a 10 MiB python block', async () => {
    const size = 10 * 1024 * 1024;
    const code = `x = '${'a'.repeat(size)}'\nprint(len(x))`;
    const result = await ex.executeCodeBlocks([{ language: 'python', code }]);
    expect(result.output).toBe(`${size}\n`);
    expect(result.exitCode).toBe(0);
    expect(readFileSync(result.codeFile as string, 'utf8')).toBe(code);
  });

  it('runs a 10 MiB shell block', async () => {
    const line = `# ${'b'.repeat(1022)}\n`;
    const code = `${line.repeat(10 * 1024)}echo "$(wc -c < "$0")"`;
    const result = await ex.executeCodeBlocks([{ language: 'sh', code }]);
    expect(result.output).toBe(`${Buffer.byteLength(code)}\n`);
  });

  it.each(['PYTHON', ' Python ', 'Python3', '\tpy\n'])('runs the language %j as python', async (language) => {
    const result = await ex.executeCodeBlocks([{ language, code: 'import sys; print(sys.version_info[0])' }]);
    expect(result).toMatchObject({ exitCode: 0, output: '3\n' });
    expect(result.codeFile).toMatch(/\.py$/);
  });

  it.each(['BASH', ' Sh '])('runs the language %j as a shell', async (language) => {
    const result = await ex.executeCodeBlocks([{ language, code: 'echo "$0"' }]);
    expect(result.exitCode).toBe(0);
    expect(result.output).toMatch(/\.sh\n$/);
  });

  it.each([
    ['py thon', 'py thon'],
    ['c++', 'c++'],
    [' JavaScript ', 'javascript'],
    ['', ''],
  ])('says the language %j is unsupported, writing no file', async (language, shown) => {
    const result = await ex.executeCodeBlocks([{ language, code: 'print(1)' }]);
    expect(result).toMatchObject({ exitCode: 1, output: `Unsupported language: ${shown}`, codeFile: undefined });
  });

  it('refuses blocks that are not { language, code } with an ExecutorError', async () => {
    for (const blocks of [[{ language: 'python' }], [{ language: 5, code: 'x' }], [null], 'print(1)']) {
      await expect(ex.executeCodeBlocks(blocks as never)).rejects.toThrow(ExecutorError);
    }
  });

  it('passes code with a NUL byte to the interpreter verbatim, and reports what it said', async () => {
    const code = "print('a')\0print('b')";
    const result = await ex.executeCodeBlocks([{ language: 'python', code }]);
    expect(readFileSync(result.codeFile as string, 'utf8')).toBe(code);
    // What the image's python itself does with that file, run straight through the engine.
    const direct = await docker.exec.run(ex.containerId as string, ['python', `/workspace/${defaultName(code, 'py')}`]);
    expect({ exitCode: result.exitCode, output: result.output }).toEqual({
      exitCode: direct.exitCode,
      output: direct.stdout + direct.stderr,
    });
  });

  it('returns non-UTF-8 and binary output with replacement characters, and the exit code', async () => {
    const code = "import sys\nsys.stdout.buffer.write(b'ok \\xff\\xfe \\x00\\x01 end\\n')\nsys.exit(3)";
    const result = await ex.executeCodeBlocks([{ language: 'python', code }]);
    expect(result.exitCode).toBe(3);
    expect(result.output).toBe('ok \uFFFD\uFFFD \u0000\u0001 end\n');
  });
});

describe('bind mode: what the code plants in the workspace never leads Berth outside it', () => {
  let ex: DockerCommandLineCodeExecutor;
  let outside: string;
  let workDir: string;
  beforeAll(async () => {
    outside = mkdtempSync(join(tmpdir(), 'berth-outside-'));
    workDir = mkdtempSync(join(tmpdir(), 'berth-bind-'));
    ex = make({ workDir, workspace: 'bind', deleteTmpFiles: true });
    await ex.start();
  });
  afterAll(async () => {
    await ex.stop();
    rmSync(outside, { recursive: true, force: true });
    rmSync(workDir, { recursive: true, force: true });
  });

  const sh = (code: string) => ex.executeCodeBlocks([{ language: 'sh', code }]);

  it("refuses to write a block through a symlink the code left at the block's file name", async () => {
    const target = join(outside, 'precious.txt');
    writeFileSync(target, 'precious\n');
    const next = "print('next')";
    // In the container the link leads nowhere; on this machine it leads to the precious file.
    const plant = await sh(`ln -s ${target} /workspace/${defaultName(next, 'py')}; echo planted`);
    expect(plant.output).toBe('planted\n');
    const result = await ex.executeCodeBlocks([{ language: 'python', code: next }]);
    expect(result).toMatchObject({ exitCode: 1, output: 'Filename is not in the workspace' });
    expect(readFileSync(target, 'utf8')).toBe('precious\n');
  });

  it('refuses, without hanging, to write a block into a FIFO the code left at its name', async () => {
    const next = "print('fifo')";
    expect((await sh(`mkfifo /workspace/${defaultName(next, 'py')}; echo planted`)).output).toBe('planted\n');
    const result = await ex.executeCodeBlocks([{ language: 'python', code: next }]);
    expect(result).toMatchObject({ exitCode: 1, output: 'Filename is not in the workspace' });
  });

  it('refuses a # filename: through a symlinked folder, also one the code made in the container', async () => {
    expect((await sh(`ln -s ${outside} /workspace/out; ln -s /etc /workspace/etc; echo planted`)).output).toBe('planted\n');
    for (const name of ['out/evil.py', 'etc/evil.py', 'out/new/evil.py']) {
      const result = await ex.executeCodeBlocks([{ language: 'python', code: `# filename: ${name}\nprint('x')` }]);
      expect(result).toMatchObject({ exitCode: 1, output: 'Filename is not in the workspace' });
    }
    expect(readdirSync(outside).filter((n) => n.includes('evil') || n === 'new')).toEqual([]);
    expect(existsSync('/etc/evil.py')).toBe(false);
  });

  it('deleteTmpFiles does not follow a folder the code swapped for a symlink while it ran', async () => {
    const victim = join(outside, 'victim');
    writeFileSync(victim, 'keep me\n');
    // The block's own file is sub/victim; the block replaces sub with a link to the outside folder.
    const result = await sh(`# filename: sub/victim\nrm -rf /workspace/sub && ln -s ${outside} /workspace/sub && echo swapped`);
    expect(result.output).toBe('swapped\n');
    expect(readFileSync(victim, 'utf8')).toBe('keep me\n');
  });

  it('writes # filename: files in subfolders (through the engine) and deletes them with deleteTmpFiles', async () => {
    const result = await ex.executeCodeBlocks([
      { language: 'python', code: '# filename: deep/er/run.py\nprint(open(__file__).read()[:11])' },
    ]);
    expect(result).toMatchObject({ exitCode: 0, output: '# filename:\n', codeFile: join(workDir, 'deep/er/run.py') });
    expect(existsSync(join(workDir, 'deep/er/run.py'))).toBe(false);
    expect(existsSync(join(workDir, 'deep/er'))).toBe(true);
  });

  it('cannot make device nodes (MKNOD is dropped by default), and readFile refuses symlinks out and FIFOs', async () => {
    writeFileSync(join(outside, 'secret'), 'secret\n');
    const plant = await sh(
      `ln -sf ${join(outside, 'secret')} /workspace/link; mkfifo /workspace/pipe; mknod /workspace/disk b 7 0 || echo refused`,
    );
    // Each stream on its own: in runner mode a write to stderr and one to stdout a moment later
    // can reach the host in either order (two pipes read by one process).
    expect(plant.stderr).toMatch(/Operation not permitted/);
    expect(plant.stdout).toBe('refused\n');
    expect(existsSync(join(workDir, 'disk'))).toBe(false);
    for (const name of ['link', 'pipe']) {
      await expect(ex.readFile(name)).rejects.toThrow(ExecutorError);
    }
    writeFileSync(join(workDir, 'plain.txt'), 'plain\n');
    expect(new TextDecoder().decode(await ex.readFile('plain.txt'))).toBe('plain\n');
  });
});
