/**
 * The scenarios the berth/testing integration tests record and replay. They take everything they
 * use as arguments (no imports of Berth), so that a child process can load them from the built
 * package as well as vitest from the sources: `child.ts` runs them under Node 24, Bun and Deno.
 *
 * Each returns what a user of the client observes (no IDs: a replay answers with placeholders).
 */
import type { DockerClient } from '../../../src/engine/index.js';
import type { DockerCommandLineCodeExecutor } from '../../../src/index.js';

/** The busybox image built by scripts/engine-up.sh. */
export const BUSYBOX = 'berth-test/busybox:latest';
/** The python image built by scripts/engine-up.sh. */
export const PYTHON = 'berth-test/python:3.11';

/** What {@link engineScenario} may vary, to show a mismatch. */
export interface EngineScenarioOptions {
  /** The command of the first exec (default prints `out` and `err`). */
  command?: string[];
  /** Include the exec with stdin (a hijacked connection, which msw cannot serve). Default true. */
  stdin?: boolean;
}

/**
 * A container's life through the engine client: create (a generated name), start, exec with
 * multiplexed output, exec with stdin (hijacked), exec with a TTY, a file in and out (tar
 * archives), logs, an image import (JSON lines) and removal, stop and remove.
 */
export async function engineScenario(docker: DockerClient, options: EngineScenarioOptions = {}): Promise<Record<string, unknown>> {
  const out: Record<string, unknown> = {};
  const decode = (bytes: Uint8Array) => new TextDecoder().decode(bytes);
  out.ping = await docker.system.ping();
  const name = `berth-testing-${crypto.randomUUID()}`;
  const { Id } = await docker.containers.create(
    {
      Image: BUSYBOX,
      Cmd: ['sh', '-c', 'echo started; exec sleep 3600'],
      Labels: { 'berth.test': '1', 'berth.testing': 'scenario' },
      HostConfig: { NetworkMode: 'none', Init: true },
    },
    { name },
  );
  try {
    await docker.containers.start(Id);
    const inspect = await docker.containers.inspect(Id);
    out.name = inspect.Name === `/${name}` ? 'the generated name' : inspect.Name;
    out.running = inspect.State?.Running;
    const run = await docker.exec.run(Id, options.command ?? ['sh', '-c', 'printf out; sleep 0.2; printf err >&2; exit 3']);
    out.exec = { stdout: run.stdout, stderr: run.stderr, exitCode: run.exitCode };
    if (options.stdin ?? true) {
      const cat = await docker.exec.run(Id, ['sh', '-c', 'tr a-z A-Z'], { stdin: 'hello through stdin\n' });
      out.stdin = { stdout: cat.stdout, exitCode: cat.exitCode };
      // An interactive exchange: each line written is answered before the next is written.
      const { Id: replId } = await docker.exec.create(Id, {
        Cmd: ['sh', '-c', 'while read -r line; do echo "got $line"; done; echo bye'],
        AttachStdin: true,
        AttachStdout: true,
        AttachStderr: true,
      });
      const repl = await docker.exec.start(replId, { stdin: true });
      const replies = repl[Symbol.asyncIterator]();
      const dialogue: string[] = [];
      for (const line of ['one', 'two']) {
        await repl.write(`${line}\n`);
        const next = await replies.next();
        dialogue.push(next.done ? '(end)' : decode(next.value.data));
      }
      await repl.end();
      for (let next = await replies.next(); !next.done; next = await replies.next()) dialogue.push(decode(next.value.data));
      out.interactive = dialogue;
    }
    const tty = await docker.exec.run(Id, ['sh', '-c', 'echo one; sleep 0.2; echo two'], { tty: true });
    out.tty = { stdout: tty.stdout, exitCode: tty.exitCode };
    const chunks: string[] = [];
    const { Id: execId } = await docker.exec.create(Id, {
      Cmd: ['sh', '-c', 'for i in 1 2 3; do echo line $i; sleep 0.1; done'],
      AttachStdout: true,
      AttachStderr: true,
    });
    for await (const frame of await docker.exec.start(execId)) chunks.push(`${frame.stream}:${decode(frame.data)}`);
    out.chunks = chunks;
    await docker.containers.putFiles(Id, '/tmp', [{ path: 'note.txt', data: 'a note\n' }]);
    out.file = decode(await docker.containers.readFile(Id, '/tmp/note.txt'));
    const logs: string[] = [];
    for await (const frame of await docker.containers.logs(Id)) logs.push(decode(frame.data));
    out.logs = logs.join('');
    const image = `berth-testing/imported-${crypto.randomUUID()}`;
    const { id } = await docker.images.import(await tarOf('hello.txt', 'hello\n'), { repo: image, tag: 'latest' });
    out.imported = /^sha256:[0-9a-f]{64}$/.test(id);
    await docker.images.remove(`${image}:latest`);
    await docker.containers.stop(Id, { timeout: 0 });
    await docker.containers.remove(Id);
    out.removed = true;
  } finally {
    if (out.removed !== true) await docker.containers.remove(Id, { force: true }).catch(() => {});
  }
  return out;
}

/** A one-file tar archive (ustar), written by hand so the scenarios need no import. */
async function tarOf(name: string, text: string): Promise<Uint8Array> {
  const data = new TextEncoder().encode(text);
  const header = new Uint8Array(512);
  const put = (at: number, value: string) => {
    for (let i = 0; i < value.length; i++) header[at + i] = value.charCodeAt(i);
  };
  put(0, name);
  put(100, '0000644\0');
  put(108, '0000000\0');
  put(116, '0000000\0');
  put(124, `${data.length.toString(8).padStart(11, '0')}\0`);
  put(
    136,
    `${Math.floor(Date.now() / 1000)
      .toString(8)
      .padStart(11, '0')}\0`,
  );
  put(148, '        ');
  put(156, '0');
  put(257, 'ustar\x0000');
  let sum = 0;
  for (const byte of header) sum += byte;
  put(148, `${sum.toString(8).padStart(6, '0')}\0 `);
  const out = new Uint8Array(512 + Math.ceil(data.length / 512) * 512 + 1024);
  out.set(header, 0);
  out.set(data, 512);
  return out;
}

/** The fields of a result that a replay must reproduce. */
function fields(result: {
  exitCode: number;
  output: string;
  stdout: string;
  stderr: string;
  timedOut: boolean;
  codeFile: string | undefined;
}) {
  return {
    exitCode: result.exitCode,
    output: result.output,
    stdout: result.stdout,
    stderr: result.stderr,
    timedOut: result.timedOut,
    codeFile: result.codeFile?.split('/').pop(),
  };
}

/**
 * An executor session: start, python and bash blocks, a block that writes a file and a later one
 * that reads it, a block that times out, readFile(), restart(), a block after it, stop().
 */
export async function executorScenario(executor: DockerCommandLineCodeExecutor): Promise<Record<string, unknown>> {
  const out: Record<string, unknown> = {};
  await executor.start();
  try {
    const run = async (language: string, code: string) => fields(await executor.executeCodeBlocks([{ language, code }]));
    // A recorded session runs blocks by exec, not through the runner (whose replay would depend on timing).
    out.executionMode = executor.executionMode;
    out.python = await run('python', "print('hello from python')\nimport sys\nprint('to stderr', file=sys.stderr)");
    out.bash = await run('bash', 'echo "bash $BASH_VERSINFO"; exit 4');
    out.write = await run('python', "open('data.txt', 'w').write('written by a block\\n')\nprint('wrote')");
    out.read = await run('bash', 'cat data.txt');
    out.timeout = await run('python', "import time\nprint('before the sleep', flush=True)\ntime.sleep(30)\nprint('never')");
    out.readFile = new TextDecoder().decode(await executor.readFile('data.txt'));
    await executor.restart();
    out.afterRestart = await run('python', "import os\nprint(os.path.exists('data.txt'))");
  } finally {
    await executor.stop();
  }
  return out;
}
