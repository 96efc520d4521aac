import { afterAll, beforeAll, describe, expect, it, test } from 'vitest';
import { DockerClient } from '../../src/engine/index.js';
import { type BlockContext, runBlock } from '../../src/executor/run-block.js';
import { createRunnerBackend, type RunnerBackend } from '../../src/executor/runner/backend.js';
import { DockerCommandLineCodeExecutor, type DockerCommandLineCodeExecutorOptions } from '../../src/index.js';
import { BUSYBOX, PYTHON, strayProcesses, TEST_LABEL } from '../helpers/engine.js';
import { isPodman } from '../helpers/podman.js';

const docker = new DockerClient();
const ENV = ['PYTHONUNBUFFERED=1'];

afterAll(async () => {
  await docker.close();
});

/** A labelled container as the executor makes one: /workspace, an init, a shell that waits. */
async function container(image: string, extra: { pidsLimit?: number } = {}): Promise<string> {
  const { Id } = await docker.containers.create({
    Image: image,
    Entrypoint: ['/bin/sh'],
    Tty: true,
    WorkingDir: '/workspace',
    Env: ENV,
    Labels: { [TEST_LABEL]: '1' },
    HostConfig: { Init: true, AutoRemove: false, PidsLimit: extra.pidsLimit ?? 4096 },
  });
  await docker.containers.start(Id);
  return Id;
}

function context(containerId: string, overrides: Partial<BlockContext> = {}): BlockContext {
  return {
    docker,
    containerId,
    env: ENV,
    user: undefined,
    timeout: 20,
    onOutput: undefined,
    reapAfterBlock: false,
    interpreters: new Map(),
    ...overrides,
    // Each run spends its own budget.
    budget: { ...(overrides.budget ?? { stdout: 1024 * 1024, stderr: 1024 * 1024 }) },
  };
}

const EXTENSION: Record<string, string> = { python: 'py', bash: 'sh', sh: 'sh' };
let counter = 0;

/** Writes a block's file into the container's workspace; returns its path relative to /workspace. */
async function put(containerId: string, language: string, code: string, name?: string): Promise<string> {
  const file = name ?? `block_${counter++}.${EXTENSION[language]}`;
  await docker.containers.putFiles(containerId, '/workspace', [{ path: file, data: code }]);
  return file;
}

/** Processes in the container other than PID 1, its shell, the runner and the probe (from /proc). */
const processes = (containerId: string) => strayProcesses(docker, containerId);

describe('runner, fresh mode, on dockerd', () => {
  let id: string;
  let backend: RunnerBackend;

  beforeAll(async () => {
    id = await container(PYTHON);
    const made = await createRunnerBackend(docker, id, { user: undefined, env: ENV });
    if (!made) throw new Error('the runner did not start in the python image');
    backend = made;
  });

  afterAll(async () => {
    await backend?.dispose();
    await docker.containers.remove(id, { force: true }).catch(() => {});
  });

  /** Runs the same block through the exec path and the runner; both outcomes. */
  async function both(language: string, code: string, name?: string, overrides: Partial<BlockContext> = {}) {
    const file = await put(id, language, code, name);
    const viaExec = await runBlock(context(id, overrides), language, file, undefined);
    const viaRunner = await backend.run(context(id, overrides), language, file, undefined);
    return { viaExec, viaRunner, file };
  }

  const SAME: [string, string, string][] = [
    ['__name__, __file__, argv[0] and sys.path[0]', 'python', 'import sys\nprint(__name__, __file__, sys.argv, sys.path[0])'],
    ['a module named by the file imports from its folder', 'python', 'import os, sys\nprint(os.getcwd(), sys.path[0] in sys.path)'],
    ['sys.exit(n)', 'python', 'import sys\nprint("before")\nsys.exit(7)'],
    ['sys.exit with a message', 'python', 'import sys\nsys.exit("bad things")'],
    [
      'os._exit(n) without flushing atexit',
      'python',
      'import os, atexit\natexit.register(lambda: print("atexit"))\nprint("x", flush=True)\nos._exit(9)',
    ],
    [
      'an uncaught exception: traceback on stderr, exit 1',
      'python',
      'def inner():\n    raise ValueError("boom")\ndef outer():\n    inner()\nprint("out")\nouter()',
    ],
    ['a chained exception', 'python', 'try:\n    1/0\nexcept ZeroDivisionError as e:\n    raise KeyError("k") from e'],
    ['a syntax error', 'python', 'print("a"\nx = ('],
    [
      'atexit handlers run, in order',
      'python',
      'import atexit\natexit.register(print, "one")\natexit.register(print, "two")\nprint("main")',
    ],
    ['stdin reads end-of-file', 'python', 'import sys\nprint(repr(sys.stdin.read()), sys.stdin.isatty())'],
    [
      'signals have the default handlers of a fresh interpreter',
      'python',
      'import signal\nprint([str(signal.getsignal(s)) for s in (signal.SIGINT, signal.SIGTERM, signal.SIGPIPE, signal.SIGCHLD, signal.SIGHUP)])\nprint(signal.pthread_sigmask(signal.SIG_BLOCK, []))',
    ],
    ['a KeyboardInterrupt exits 130', 'python', 'raise KeyboardInterrupt'],
    [
      'objects are released at exit: an unclosed file is flushed, __del__ runs, after atexit',
      'python',
      'import atexit\nclass Noisy:\n    def __del__(self):\n        print("del ran")\nkeep = Noisy()\nf = open("/tmp/unclosed.txt", "w")\nf.write("data")\natexit.register(print, "atexit ran")\nimport subprocess, sys\nsubprocess.run([sys.executable, "-c", "import atexit; atexit.register(lambda: print(open(\'/tmp/unclosed.txt\').read()))"])',
    ],
    [
      'stdout that cannot be flushed at exit: status 120',
      'python',
      'import os, sys\nsys.stdout = open(os.devnull, "w", buffering=1)\nos.close(sys.stdout.fileno())\nprint("x", end="")',
    ],
    ['the process is killed by a signal', 'python', 'import os, signal\nos.kill(os.getpid(), signal.SIGKILL)'],
    [
      'threads run, and the interpreter waits for them',
      'python',
      'import threading, time\ndef work():\n    time.sleep(0.2)\n    print("thread done")\nthreading.Thread(target=work).start()\nprint("main done")',
    ],
    [
      'subprocess works',
      'python',
      'import subprocess, sys\nprint(subprocess.run(["sh", "-c", "echo $0; exit 3", "sub"], capture_output=True, text=True))\nprint(subprocess.call([sys.executable, "-c", "print(42)"]))',
    ],
    [
      'multiprocessing works (fork and spawn)',
      'python',
      'import multiprocessing as mp\ndef sq(x):\n    return x * x\nif __name__ == "__main__":\n    with mp.Pool(2) as pool:\n        print(pool.map(sq, range(5)))\n    ctx = mp.get_context("spawn")\n    with ctx.Pool(1) as pool:\n        print(pool.map(sq, [7]))',
    ],
    ['no module beyond a fresh interpreter is imported', 'python', 'import sys\nprint(sorted(sys.modules))'],
    ['open files: only stdin, stdout, stderr', 'python', 'import os\nprint(sorted(os.listdir("/proc/self/fd")))'],
    ['its own session and process group', 'python', 'import os\nprint(os.getsid(0) == os.getpid(), os.getpgid(0) == os.getpid())'],
    ['the environment', 'python', 'import os\nprint(sorted(k for k in os.environ if k != "BERTH_BLOCK"), len(os.environ["BERTH_BLOCK"]))'],
    [
      'stdout and stderr stay apart, in order on each',
      'python',
      'import sys\nfor i in range(50):\n    print("out", i)\n    print("err", i, file=sys.stderr)',
    ],
    [
      'invalid UTF-8 on both streams',
      'python',
      'import sys\nsys.stdout.buffer.write(b"a\\xff\\xfe b\\xc3")\nsys.stderr.buffer.write(b"\\x80z")',
    ],
    ['a bash block: $0, exit code, both streams', 'bash', 'echo "$0 $BASH_VERSION" | cut -c1-20\necho err >&2\nexit 5'],
    ['a sh block', 'sh', 'echo "$0"; ls /proc/self/fd; trap -p; exit 0'],
    [
      'bash: stdin at end-of-file, default traps',
      'bash',
      'cat; echo "read: $?"; trap -p; ls /proc/self/fd; [ "$(cut -d" " -f6 /proc/$$/stat)" = $$ ] && echo "own session"',
    ],
  ];

  for (const [name, language, code] of SAME) {
    it(`same as the exec path: ${name}`, async () => {
      const { viaExec, viaRunner } = await both(language, code);
      expect({ exitCode: viaRunner.exitCode, stdout: viaRunner.stdout, stderr: viaRunner.stderr }).toEqual({
        exitCode: viaExec.exitCode,
        stdout: viaExec.stdout,
        stderr: viaExec.stderr,
      });
      expect(viaRunner.timedOut).toBe(false);
    });
  }

  it('a block in a subfolder has __file__, argv[0] and sys.path[0] of the subfolder', async () => {
    const { viaExec, viaRunner } = await both('python', 'import sys\nprint(__file__, sys.argv[0], sys.path[0])', 'sub/dir/prog.py');
    expect(viaRunner.stdout).toBe('/workspace/sub/dir/prog.py sub/dir/prog.py /workspace/sub/dir\n');
    expect(viaRunner.stdout).toBe(viaExec.stdout);
  });

  it('caps output as the exec path does, and says so', async () => {
    const code = 'import sys\nsys.stdout.write("é" * 5000)\nsys.stderr.write("x" * 100)';
    const { viaExec, viaRunner } = await both('python', code, undefined, { budget: { stdout: 1001, stderr: 50 } });
    expect(viaRunner.truncated).toBe(true);
    expect(viaRunner.stdout).toBe(viaExec.stdout);
    expect(viaRunner.stderr).toBe(viaExec.stderr);
  });

  it('streams output through onOutput as it arrives', async () => {
    const file = await put(id, 'python', 'import time\nprint("first")\ntime.sleep(1.5)\nprint("second")');
    const seen: { at: number; text: string }[] = [];
    const started = Date.now();
    const outcome = await backend.run(
      context(id, { onOutput: (chunk) => seen.push({ at: Date.now() - started, text: chunk.text }) }),
      'python',
      file,
      undefined,
    );
    expect(outcome.stdout).toBe('first\nsecond\n');
    const first = seen.find((s) => s.text.includes('first'));
    const second = seen.find((s) => s.text.includes('second'));
    expect(second && first && second.at - first.at).toBeGreaterThan(1000);
  });

  it('a timeout kills every process the block started, daemons that left its session included', async () => {
    const code = [
      'import os, subprocess, time',
      // A daemon: double fork, new session, ignores TERM.
      'subprocess.Popen(["sh", "-c", "trap \\"\\" TERM; (setsid sh -c \\"trap \\\\\\"\\\\\\" TERM; sleep 1000\\" &); sleep 1000"], start_new_session=True)',
      'subprocess.Popen(["env", "-i", "sleep", "1000"])',
      'print("started", flush=True)',
      'time.sleep(1000)',
    ].join('\n');
    const file = await put(id, 'python', code);
    const outcome = await backend.run(context(id, { timeout: 2 }), 'python', file, undefined);
    expect(outcome).toMatchObject({ exitCode: 124, timedOut: true, stdout: 'started\n' });
    expect(await processes(id)).toEqual([]);
  });

  it('a cancel kills the block at once', async () => {
    const file = await put(id, 'bash', 'echo go; sleep 1000 & sleep 1000');
    const abort = new AbortController();
    const started = Date.now();
    const running = backend.run(
      context(id, {
        onOutput: () => abort.abort(),
      }),
      'bash',
      file,
      abort.signal,
    );
    const outcome = await running;
    expect(outcome).toMatchObject({ exitCode: 1, cancelled: true, timedOut: false });
    expect(Date.now() - started).toBeLessThan(15_000);
    expect((await processes(id)).filter((line) => line.includes('sleep'))).toEqual([]);
  });

  it('a block that kills the runner: the outcome says so, the next block gets a new runner', async () => {
    const file = await put(
      id,
      'python',
      'import os, signal, time\nprint("killing", flush=True)\ntime.sleep(0.5)\nos.kill(os.getppid(), signal.SIGKILL)\ntime.sleep(1000)',
    );
    const outcome = await backend.run(context(id), 'python', file, undefined);
    expect(outcome.exitCode).toBe(1);
    expect(outcome.stdout).toBe('killing\n');
    expect(outcome.output).toMatch(/runner .* ended while the block ran/);
    expect(await processes(id)).toEqual([]);
    const next = await backend.run(context(id), 'python', await put(id, 'python', 'print("alive")'), undefined);
    expect(next).toMatchObject({ exitCode: 0, stdout: 'alive\n' });
  });

  it('a block that stops the runner (SIGSTOP) is timed out from the host, and the next block runs', async () => {
    const file = await put(id, 'bash', 'kill -STOP $PPID; sleep 1000');
    const outcome = await backend.run(context(id, { timeout: 1 }), 'bash', file, undefined);
    expect(outcome).toMatchObject({ exitCode: 124, timedOut: true });
    expect((await processes(id)).filter((line) => line.includes('sleep'))).toEqual([]);
    const next = await backend.run(context(id), 'bash', await put(id, 'bash', 'echo alive'), undefined);
    expect(next).toMatchObject({ exitCode: 0, stdout: 'alive\n' });
  });

  it('a block that closes its stdout and stderr still ends with its exit code', async () => {
    const { viaExec, viaRunner } = await both(
      'python',
      'import os, time\nprint("bye", flush=True)\nos.close(1)\nos.close(2)\ntime.sleep(0.5)\nos._exit(3)',
    );
    expect(viaRunner).toMatchObject({ exitCode: 3, stdout: 'bye\n' });
    expect(viaRunner.exitCode).toBe(viaExec.exitCode);
  });

  it('a flood is capped and the runner stays responsive', async () => {
    const file = await put(id, 'python', 'import sys\nwhile True:\n    sys.stdout.write("x" * 65536)');
    const outcome = await backend.run(context(id, { timeout: 3, budget: { stdout: 100_000, stderr: 100_000 } }), 'python', file, undefined);
    expect(outcome).toMatchObject({ timedOut: true, truncated: true });
    expect(outcome.stdout.length).toBe(100_000);
    const next = await backend.run(context(id), 'python', await put(id, 'python', 'print("alive")'), undefined);
    expect(next.stdout).toBe('alive\n');
  });
});

describe('runner fallback', () => {
  it('an image without python gives no runner (the caller uses the exec path)', async () => {
    const id = await container(BUSYBOX);
    try {
      expect(await createRunnerBackend(docker, id, { user: undefined, env: ENV })).toBeUndefined();
      expect(await processes(id)).toEqual([]);
    } finally {
      await docker.containers.remove(id, { force: true }).catch(() => {});
    }
  });
});

const MPL = process.env.BERTH_MPL_IMAGE ?? 'berth-test/python-mpl:3.11';
const labels = { [TEST_LABEL]: '1' };
const py = (code: string) => ({ language: 'python', code });
const bash = (code: string) => ({ language: 'bash', code });

function executor(options: DockerCommandLineCodeExecutorOptions = {}): DockerCommandLineCodeExecutor {
  return new DockerCommandLineCodeExecutor({ image: PYTHON, labels, docker, timeout: 20, ...options });
}

/** Width and height of a PNG, from its IHDR chunk. */
function pngSize(data: Uint8Array): [number, number] {
  const view = new DataView(data.buffer, data.byteOffset, data.byteLength);
  return [view.getUint32(16), view.getUint32(20)];
}
const PNG_SIGNATURE = [0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a];

describe('the executor in runner mode', () => {
  it('runs blocks through the runner on a python image, and through execs with runner: off', async () => {
    await using viaRunner = executor();
    await using viaExec = executor({ runner: 'off' });
    expect(viaRunner.executionMode).toBeUndefined();
    await Promise.all([viaRunner.start(), viaExec.start()]);
    expect(viaRunner.executionMode).toBe('runner');
    expect(viaExec.executionMode).toBe('exec');
    const blocks = [py('import sys\nprint(sys.argv[0].startswith("tmp_code_"), __name__)'), bash('echo "$0" | cut -c1-9; exit 3')];
    const [a, b] = await Promise.all([viaRunner.executeCodeBlocks(blocks), viaExec.executeCodeBlocks(blocks)]);
    expect(a).toMatchObject({ exitCode: 3, output: 'True __main__\ntmp_code_\n', images: [], stateLost: false });
    expect({ exitCode: a.exitCode, output: a.output, stdout: a.stdout, stderr: a.stderr }).toEqual({
      exitCode: b.exitCode,
      output: b.output,
      stdout: b.stdout,
      stderr: b.stderr,
    });
  });

  it('falls back to an exec per block on an image without python (busybox)', async () => {
    await using ex = executor({ image: BUSYBOX });
    await ex.start();
    expect(ex.executionMode).toBe('exec');
    const result = await ex.executeCodeBlocks([{ language: 'sh', code: 'echo "busybox $0"' }]);
    expect(result).toMatchObject({ exitCode: 0, output: expect.stringMatching(/^busybox tmp_code_/), images: [] });
    const timed = await ex.executeCodeBlocks([{ language: 'sh', code: 'sleep 100' }]);
    expect(timed).toMatchObject({ exitCode: 124, timedOut: true });
  });

  it('a fork bomb at the pids limit is timed out, killed from inside, and the next block runs', async () => {
    await using ex = executor({ pidsLimit: 64, timeout: 3 });
    await ex.start();
    const bomb = await ex.executeCodeBlocks([bash('bomb() { bomb | bomb & }; bomb; sleep 100')]);
    expect(bomb).toMatchObject({ exitCode: 124, timedOut: true });
    const next = await ex.executeCodeBlocks([py('print("alive")')]);
    expect(next).toMatchObject({ exitCode: 0, output: 'alive\n' });
    expect(ex.executionMode).toBe('runner');
  });

  it('after a timeout every process of the block is gone, seen from inside through /proc', async () => {
    await using ex = executor({ timeout: 2 });
    await ex.start();
    const result = await ex.executeCodeBlocks([
      py('import subprocess, time\nsubprocess.Popen(["setsid", "sh", "-c", "trap \\"\\" TERM; sleep 1000"])\ntime.sleep(1000)'),
    ]);
    expect(result).toMatchObject({ exitCode: 124, timedOut: true });
    expect(await strayProcesses(docker, ex.containerId as string)).toEqual([]);
  });
});

describe('persistent sessions', () => {
  it('python blocks share one namespace across blocks and calls; restart() starts afresh', async () => {
    await using ex = executor({ persistent: true });
    await ex.start();
    const first = await ex.executeCodeBlocks([
      py('import json\ncount = 41\nlog = open("/tmp/session.log", "w")\nprint("set")'),
      py('count += 1\nprint(count)'),
    ]);
    expect(first).toMatchObject({ exitCode: 0, output: 'set\n42\n', stateLost: false });
    const second = await ex.executeCodeBlocks([py('log.write("x")\nprint(json.dumps({"count": count}), log.closed)')]);
    expect(second).toMatchObject({ exitCode: 0, output: '{"count": 42} False\n' });
    await ex.restart();
    const after = await ex.executeCodeBlocks([py('print("count" in globals())')]);
    expect(after.output).toBe('False\n');
  });

  it('an exception or sys.exit ends the block, not the session', async () => {
    await using ex = executor({ persistent: true });
    await ex.start();
    const failed = await ex.executeCodeBlocks([py('kept = 1\nraise ValueError("no")')]);
    expect(failed).toMatchObject({ exitCode: 1, stateLost: false });
    expect(failed.stderr).toMatch(/ValueError: no\n$/);
    expect(failed.stderr).not.toMatch(/berth-runner/);
    const exited = await ex.executeCodeBlocks([py('import sys\nsys.exit(5)')]);
    expect(exited).toMatchObject({ exitCode: 5, stateLost: false });
    expect((await ex.executeCodeBlocks([py('print(kept)')])).output).toBe('1\n');
  });

  it('a timeout kills the session: stateLost, and the next block starts fresh', async () => {
    await using ex = executor({ persistent: true, timeout: 2 });
    await ex.start();
    await ex.executeCodeBlocks([py('kept = 1')]);
    const timed = await ex.executeCodeBlocks([py('import time\ntime.sleep(100)')]);
    expect(timed).toMatchObject({ exitCode: 124, timedOut: true, stateLost: true });
    const next = await ex.executeCodeBlocks([py('print("kept" in globals())')]);
    expect(next).toMatchObject({ exitCode: 0, output: 'False\n', stateLost: false });
  });

  it('shell blocks keep their working folder and exported variables', async () => {
    await using ex = executor({ persistent: true });
    await ex.start();
    await ex.executeCodeBlocks([bash('mkdir -p /tmp/place && cd /tmp/place\nexport GREETING=hello\nLOCAL=not-exported')]);
    const next = await ex.executeCodeBlocks([
      bash('pwd; echo "${GREETING}-${LOCAL:-unset}"'),
      { language: 'sh', code: 'echo "sh: $GREETING"' },
    ]);
    expect(next).toMatchObject({ exitCode: 0, output: '/tmp/place\nhello-unset\nsh: hello\n' });
  });

  it('works in the sandbox (read-only root, nobody, no capabilities)', async () => {
    await using ex = executor({ persistent: true, sandbox: true });
    await ex.start();
    await ex.executeCodeBlocks([py('import os\nuid = os.getuid()'), bash('cd /tmp && export MARK=sandboxed')]);
    const next = await ex.executeCodeBlocks([py('print(uid)'), bash('echo "$(pwd) $MARK"')]);
    expect(next).toMatchObject({ exitCode: 0, output: '65534\n/tmp sandboxed\n' });
    expect(ex.executionMode).toBe('runner');
  });

  it('dumpComponent carries persistent and runner, and loadComponent restores them', async () => {
    const ex = executor({ persistent: true });
    const dump = ex.dumpComponent();
    expect(dump.config).toMatchObject({ persistent: true });
    expect(executor({ runner: 'off' }).dumpComponent().config).toMatchObject({ runner: 'off' });
    await using loaded = DockerCommandLineCodeExecutor.loadComponent(dump, { docker, labels });
    await loaded.start();
    await loaded.executeCodeBlocks([py('v = 7')]);
    expect((await loaded.executeCodeBlocks([py('print(v)')])).output).toBe('7\n');
  });

  it('refuses persistent: true with runner: off, and bad values', () => {
    expect(() => executor({ persistent: true, runner: 'off' })).toThrow(/persistent: true needs the in-container runner/);
    expect(() => executor({ runner: 'on' as never })).toThrow(/runner must be 'auto' or 'off', got "on"/);
    expect(() => executor({ persistent: 'yes' as never })).toThrow(/persistent must be true or false/);
  });
});

describe('figures', async () => {
  // The matplotlib image is built for dockerd (scripts/engine-up.sh --mpl); Podman's store does
  // not get a copy of its 1.1 GB, so there the figure tests say why they do not run.
  const missing =
    (await isPodman(docker)) &&
    !(await docker.images.inspect(MPL).then(
      () => true,
      () => false,
    ));
  if (missing) console.warn(`figures: ${MPL} is not in Podman's image store (only dockerd's); the figure tests run on dockerd`);
  const it = missing ? test.skip : test;

  const figures = [
    'import matplotlib.pyplot as plt',
    'plt.figure(figsize=(1, 1)); plt.plot([1, 2, 3])',
    'plt.show()',
    'plt.figure(figsize=(2, 1)); plt.bar([1, 2], [3, 4])',
    'plt.show()',
    'plt.figure(figsize=(3, 1)); plt.plot([3, 1])',
    'print(plt.get_backend())',
  ].join('\n');

  for (const persistent of [false, true]) {
    it(`shown and left-open figures come back as PNG, in order (${persistent ? 'persistent' : 'fresh'} mode)`, async () => {
      await using ex = executor({ image: MPL, persistent });
      await ex.start();
      const result = await ex.executeCodeBlocks([py(figures)]);
      expect(result).toMatchObject({ exitCode: 0, output: 'agg\n' });
      expect(result.images.map((image) => image.mimeType)).toEqual(['image/png', 'image/png', 'image/png']);
      for (const image of result.images) expect([...image.data.subarray(0, 8)]).toEqual(PNG_SIGNATURE);
      expect(result.images.map((image) => pngSize(image.data))).toEqual([
        [100, 100],
        [200, 100],
        [300, 100],
      ]);
      // Captured figures are closed: the next block starts with none.
      const next = await ex.executeCodeBlocks([py('import matplotlib.pyplot as plt\nprint(plt.get_fignums())')]);
      expect(next).toMatchObject({ output: '[]\n', images: [] });
    });
  }

  it('nothing changes for code that does not import matplotlib', async () => {
    await using ex = executor({ image: MPL });
    await ex.start();
    const result = await ex.executeCodeBlocks([
      py('import sys, os\nprint([m for m in sys.modules if "matplotlib" in m], os.environ.get("MPLBACKEND"))'),
    ]);
    expect(result).toMatchObject({ exitCode: 0, output: '[] None\n', images: [] });
  });
});
