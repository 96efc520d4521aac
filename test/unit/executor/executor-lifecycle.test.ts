/**
 * The executor's lifecycle wired to a fake engine (a literal unix-socket server, see
 * test/helpers/fake-engine.ts) that answers slowly: every interleaving of start, stop, restart and
 * an aborted start ends with no container on the engine, no temp workspace and no exit hook.
 */
import { mkdtempSync, readdirSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { DockerClient } from '../../../src/engine/index.js';
import { setBlockBackendFactory } from '../../../src/executor/block-backend.js';
import { DockerCommandLineCodeExecutor } from '../../../src/index.js';
import { type FakeEngine, jsonResponse, responseHead, startFakeEngine } from '../../helpers/fake-engine.js';

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

/** A tiny engine: containers live in `live` from create to DELETE; every answer takes `delay` ms. */
async function fakeDocker(delay: number): Promise<{ engine: FakeEngine; live: Set<string>; created: string[] }> {
  const live = new Set<string>();
  const created: string[] = [];
  const byName = new Map<string, string>();
  const engine = await startFakeEngine(async (request, connection) => {
    await sleep(delay);
    const url = new URL(request.path, 'http://d');
    const path = url.pathname.replace(/^\/v[\d.]+/, '');
    const send = (status: string, body: unknown) => connection.write(jsonResponse(status, body));
    const empty = () => connection.write(responseHead('204 No Content'));
    if (path === '/_ping') return void (await connection.write(jsonResponse('200 OK', 'OK', { 'Api-Version': '1.41' })));
    if (path === '/info') return void (await send('200 OK', { SecurityOptions: [] }));
    if (path.startsWith('/images/')) return void (await send('200 OK', { Id: 'sha256:fake' }));
    if (path === '/containers/create') {
      const id = String(created.length + 1).padStart(64, 'c');
      created.push(id);
      live.add(id);
      byName.set(url.searchParams.get('name') ?? '', id);
      return void (await send('201 Created', { Id: id, Warnings: [] }));
    }
    const match = /^\/containers\/([^/]+)(\/\w+)?$/.exec(path);
    if (match) {
      const ref = decodeURIComponent(match[1] as string);
      const id = live.has(ref) ? ref : byName.get(ref);
      if (!id || !live.has(id)) return void (await send('404 Not Found', { message: `No such container: ${ref}` }));
      const action = match[2] ?? '';
      if (request.method === 'DELETE') {
        live.delete(id);
        return void (await empty());
      }
      if (action === '/json') {
        return void (await send('200 OK', {
          Id: id,
          State: { Status: 'running', Running: true },
          Config: { Labels: { 'berth.executor': '1' } },
        }));
      }
      if (action === '/start' || action === '/restart' || action === '/kill') return void (await empty());
    }
    await send('500 Internal Server Error', { message: `unexpected ${request.method} ${path}` });
  });
  return { engine, live, created };
}

const listeners = () => process.listenerCount('SIGINT') + process.listenerCount('SIGTERM');
let before: number;
let temp: string;

beforeAll(() => {
  before = listeners();
  temp = mkdtempSync(join(tmpdir(), 'berth-unit-lifecycle-'));
  process.env.TMPDIR = temp;
});

afterAll(() => {
  rmSync(temp, { recursive: true, force: true });
});

type Step = 'start' | 'stop' | 'restart' | 'abortedStart';

async function scenario(steps: Step[], gap: number, delay: number): Promise<void> {
  const { engine, live } = await fakeDocker(delay);
  const docker = new DockerClient({ host: `unix://${engine.socketPath}` });
  const ex = new DockerCommandLineCodeExecutor({ docker, workspace: 'bind' });
  const pending: Promise<unknown>[] = [];
  try {
    for (const step of steps) {
      if (step === 'start') pending.push(ex.start());
      else if (step === 'stop') pending.push(ex.stop());
      else if (step === 'restart') pending.push(ex.restart());
      else {
        const controller = new AbortController();
        pending.push(ex.start({ signal: controller.signal }));
        setTimeout(() => controller.abort(new Error('aborted')), gap + delay);
      }
      await sleep(gap);
    }
    await Promise.allSettled(pending);
    await ex.stop();
    const label = `${steps.join(',')} gap ${gap} delay ${delay}`;
    expect([...live], label).toEqual([]);
    expect(ex.state, label).toBe('stopped');
  } finally {
    await docker.close();
    await engine.close();
  }
}

describe('executor lifecycle on a slow fake engine', () => {
  const steps: Step[] = ['start', 'stop', 'restart', 'abortedStart'];
  const sequences: Step[][] = [];
  for (const a of steps) for (const b of steps) for (const c of steps) sequences.push([a, b, c]);

  for (const [gap, delay] of [
    [0, 2],
    [5, 3],
    [20, 5],
  ] as const) {
    it(`${sequences.length} sequences of three steps, ${gap} ms apart, engine answers after ${delay} ms: nothing left`, async () => {
      for (let i = 0; i < sequences.length; i += 16) {
        await Promise.all(sequences.slice(i, i + 16).map((s) => scenario(s, gap, delay)));
        // Once a batch has stopped: no temp workspace and no exit hook of any of them.
        expect(readdirSync(temp)).toEqual([]);
        expect(listeners()).toBe(before);
      }
    });
  }

  it('a stop() during start() leaves no container, even one whose create was already on its way', async () => {
    const { engine, live, created } = await fakeDocker(15);
    const docker = new DockerClient({ host: `unix://${engine.socketPath}` });
    try {
      for (const at of [0, 20, 50, 80, 110, 140]) {
        const ex = new DockerCommandLineCodeExecutor({ docker, workspace: 'bind' });
        const start = ex.start().catch((error: unknown) => error);
        await sleep(at);
        await ex.stop();
        await start;
        expect([...live], `stop at ${at} ms`).toEqual([]);
      }
      expect(created.length).toBeGreaterThan(0);
    } finally {
      await docker.close();
      await engine.close();
    }
  });
});

describe('the BlockBackend seam', () => {
  it('runs blocks on the plugged-in backend, made after each (re)start and disposed before restart and stop', async () => {
    const { engine } = await fakeDocker(1);
    const docker = new DockerClient({ host: `unix://${engine.socketPath}` });
    const events: string[] = [];
    let made = 0;
    setBlockBackendFactory(async (_docker, containerId, options) => {
      const n = ++made;
      events.push(`made ${n} for ${containerId.slice(0, 4)} as ${options.user ?? 'image user'}`);
      return {
        mode: 'runner',
        async run(ctx, language, file) {
          events.push(`run ${n} ${language} ${file.slice(0, 9)} timeout ${ctx.timeout}`);
          const output = 'from the runner\n';
          return {
            exitCode: 0,
            output,
            stdout: output,
            stderr: '',
            timedOut: false,
            cancelled: false,
            truncated: false,
            failure: undefined,
            needsReset: false,
          };
        },
        async dispose() {
          events.push(`disposed ${n}`);
        },
      };
    });
    const ex = new DockerCommandLineCodeExecutor({ docker, workspace: 'bind', timeout: 7, user: '1000' });
    try {
      await ex.start();
      expect((await ex.executeCodeBlocks([{ language: 'python', code: 'print(1)' }])).output).toBe('from the runner\n');
      await ex.restart();
      await ex.executeCodeBlocks([{ language: 'sh', code: 'echo 1' }]);
      await ex.stop();
      expect(events).toEqual([
        'made 1 for cccc as 1000',
        'run 1 python tmp_code_ timeout 7',
        'disposed 1',
        'made 2 for cccc as 1000',
        'run 2 sh tmp_code_ timeout 7',
        'disposed 2',
      ]);
    } finally {
      setBlockBackendFactory(undefined);
      await ex.stop();
      await docker.close();
      await engine.close();
    }
  });
});
