/**
 * ExecutorPool on the engine: warm executors handed out at once, one per key, released, expired
 * when idle, bounded by max (waiting with a signal), closed with nothing left; and `berth prune`
 * finds the containers of a pool whose process died.
 */
import { spawnSync } from 'node:child_process';
import { randomUUID } from 'node:crypto';
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, describe, expect, it } from 'vitest';
import { DockerClient } from '../../src/engine/index.js';
import { ExecutorPool, POOL_LABEL } from '../../src/executor/pool.js';
import { PYTHON, TEST_LABEL } from '../helpers/engine.js';

const root = fileURLToPath(new URL('../../', import.meta.url));
const docker = new DockerClient();
const pools: ExecutorPool[] = [];

function pool(options: ConstructorParameters<typeof ExecutorPool>[0] = {}): ExecutorPool {
  const made = new ExecutorPool({
    name: `test-${randomUUID().slice(0, 8)}`,
    ...options,
    executor: { image: PYTHON, docker, labels: { [TEST_LABEL]: '1' }, ...options.executor },
  });
  pools.push(made);
  return made;
}

async function containersOf(name: string): Promise<string[]> {
  return (await docker.containers.list({ all: true, filters: { label: [`${POOL_LABEL}=${name}`] } })).map((c) => c.Id).sort();
}

async function until(what: string, check: () => Promise<boolean>, ms = 60_000): Promise<void> {
  const deadline = Date.now() + ms;
  while (!(await check())) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 200));
  }
}

afterAll(async () => {
  for (const p of pools) await p.close().catch(() => {});
  const left: string[] = [];
  for (const p of pools) left.push(...(await containersOf(p.name)));
  for (const id of left) await docker.containers.remove(id, { force: true }).catch(() => {});
  await docker.close();
  expect(left).toEqual([]);
}, 120_000);

describe('ExecutorPool', () => {
  it('hands out a warm executor at once, one per key, and starts a replacement', async () => {
    const p = pool({ warm: 1 });
    await p.ready();
    const [warmId] = await containersOf(p.name);
    expect(warmId).toBeDefined();
    const a = await p.acquire('a');
    expect(a.containerId).toBe(warmId);
    expect(a.isRunning).toBe(true);
    expect(await p.acquire('a')).toBe(a);
    const result = await a.executeCodeBlocks([{ language: 'python', code: 'print("in the pool")' }]);
    expect(result.output).toBe('in the pool\n');
    // The replacement: a second warm container, then a different executor for another key.
    await p.ready();
    expect(await containersOf(p.name)).toHaveLength(2);
    const b = await p.acquire('b');
    expect(b).not.toBe(a);
    const info = await docker.containers.inspect(b.containerId as string);
    expect(info.Config?.Labels?.[POOL_LABEL]).toBe(p.name);
    await p.close();
    expect(await containersOf(p.name)).toEqual([]);
  });

  it("release stops the key's executor; the key then gets a new one", async () => {
    const p = pool({ warm: 0 });
    const first = await p.acquire('k');
    const firstId = first.containerId as string;
    await p.release('k');
    expect(first.isRunning).toBe(false);
    expect(await containersOf(p.name)).toEqual([]);
    const second = await p.acquire('k');
    expect(second).not.toBe(first);
    expect(second.containerId).not.toBe(firstId);
    await p.release('unknown');
    await p.close();
  });

  it('stops executors idle for idleTimeout seconds', async () => {
    const p = pool({ warm: 0, idleTimeout: 1 });
    const idle = await p.acquire('idle');
    await until('the idle executor to stop', async () => !idle.isRunning && (await containersOf(p.name)).length === 0, 30_000);
    const fresh = await p.acquire('idle');
    expect(fresh).not.toBe(idle);
    expect(fresh.isRunning).toBe(true);
    await p.close();
  });

  it('at max, acquire waits for a free place; its signal stops the wait', async () => {
    const p = pool({ warm: 0, max: 1 });
    const a = await p.acquire('a');
    const controller = new AbortController();
    const gaveUp = p.acquire('b', { signal: controller.signal }).then(
      () => 'acquired',
      (error: unknown) => error,
    );
    await new Promise((r) => setTimeout(r, 300));
    controller.abort(new Error('no longer needed'));
    expect(await gaveUp).toEqual(new Error('no longer needed'));
    expect(await containersOf(p.name)).toHaveLength(1);

    let settled = false;
    const waiting = p.acquire('b').then((executor) => {
      settled = true;
      return executor;
    });
    await new Promise((r) => setTimeout(r, 500));
    expect(settled).toBe(false);
    await p.release('a');
    const b = await waiting;
    expect(b).not.toBe(a);
    expect(b.isRunning).toBe(true);
    expect(await containersOf(p.name)).toHaveLength(1);
    await p.close();
  });

  it('close stops everything, rejects waiting acquires and later ones', async () => {
    const p = pool({ warm: 2, max: 3 });
    await p.ready();
    await p.acquire('x');
    await p.acquire('y');
    await p.acquire('z');
    const waiting = p.acquire('w').then(
      () => 'acquired',
      (error: Error) => error.message,
    );
    await p.close();
    expect(await waiting).toMatch(/pool is closed/);
    await expect(p.acquire('v')).rejects.toThrow(/pool is closed/);
    expect(await containersOf(p.name)).toEqual([]);
  });

  it('refuses bad options with errors naming them', () => {
    expect(() => new ExecutorPool({ warm: -1 })).toThrow(/warm must be a whole number/);
    expect(() => new ExecutorPool({ warm: 3, max: 2 })).toThrow(/warm \(3\) must not exceed max \(2\)/);
    expect(() => new ExecutorPool({ idleTimeout: 0 })).toThrow(/idleTimeout must be a number of seconds above 0/);
    expect(() => new ExecutorPool({ executor: { workDir: '/tmp' } })).toThrow(/executor.workDir cannot be shared/);
    expect(() => new ExecutorPool({ executor: { timeout: 0 } })).toThrow(/Timeout must be greater than or equal to 1/);
  });

  it('berth prune finds the containers of a pool whose process was killed', async () => {
    const main = join(root, 'dist', 'cli', 'main.js');
    if (!existsSync(main)) throw new Error('run `npm run build` first (this test runs the built package and CLI)');
    const name = `test-killed-${randomUUID().slice(0, 8)}`;
    const script = `
      import { ExecutorPool } from ${JSON.stringify(join(root, 'dist', 'index.js'))};
      const pool = new ExecutorPool({ name: ${JSON.stringify(name)}, warm: 2, executor: { image: ${JSON.stringify(PYTHON)}, labels: { ${JSON.stringify(TEST_LABEL)}: '1' } } });
      await pool.ready();
      process.kill(process.pid, 'SIGKILL');`;
    const child = spawnSync(process.execPath, ['--input-type=module', '-e', script], { encoding: 'utf8', timeout: 120_000 });
    expect(child.signal).toBe('SIGKILL');
    const ids = await containersOf(name);
    expect(ids).toHaveLength(2);
    try {
      // A dry run, so that strays of other runs on a shared engine are left alone; ours are removed below.
      const prune = spawnSync(process.execPath, [main, 'prune', '--dry-run'], { encoding: 'utf8', timeout: 60_000 });
      expect(prune.status).toBe(0);
      for (const id of ids)
        expect(prune.stdout).toMatch(new RegExp(`would remove\\s+${id.slice(0, 12)} .*process ${child.pid} on .* is gone`));
    } finally {
      for (const id of ids) await docker.containers.remove(id, { force: true }).catch(() => {});
    }
  });
});
