/** 7. Pool: `acquire()` from a warm ExecutorPool vs a fresh executor's `start()`, interleaved. */
import { randomUUID } from 'node:crypto';
import { check, LABELS, log, PYTHON_IMAGE } from '../lib/common.mjs';
import { paired, summarize } from '../lib/stats.mjs';

async function timed(fn) {
  const t0 = performance.now();
  const value = await fn();
  return { ms: performance.now() - t0, value };
}

export async function run(ctx) {
  const { Executor, config } = ctx;
  const cfg = config.pool;
  const { ExecutorPool } = await import('../../dist/index.js');
  const pool = new ExecutorPool({ name: `bench-${randomUUID().slice(0, 8)}`, warm: 1, executor: { image: PYTHON_IMAGE, labels: LABELS } });
  ctx.onCleanup(() => pool.close());
  const samples = { acquire: [], start: [] };
  log(`  pool: ${cfg.iterations} iterations`);
  for (let i = -cfg.warmup; i < cfg.iterations; i++) {
    // A warm pool: the replacement of the last acquire has started (not timed).
    await pool.ready();
    const key = `conversation-${i}`;
    const acquired = await timed(() => pool.acquire(key));
    check(acquired.value.isRunning, 'pool: acquired executor not running');
    const ran = await acquired.value.executeCodeBlocks([{ language: 'python', code: 'print(1)' }]);
    check(ran.exitCode === 0 && ran.output === '1\n', `pool: acquired executor ran badly: ${ran.output}`);
    await pool.release(key);

    const executor = new Executor({ image: PYTHON_IMAGE, labels: LABELS });
    ctx.onCleanup(() => executor.stop());
    const started = await timed(() => executor.start());
    check(executor.isRunning, 'executor not running after start()');
    await executor.stop();
    if (i >= 0) {
      samples.acquire.push(acquired.ms);
      samples.start.push(started.ms);
    }
  }
  const acquire = summarize(samples.acquire);
  return {
    title: '7. Executor pool',
    cases: [
      {
        name: 'a ready executor for a new conversation (ratio: acquire ÷ start(), paired per iteration)',
        unit: 'ms',
        rows: [
          { contender: 'executor start()', ...summarize(samples.start) },
          { contender: 'pool.acquire(key), warm pool', ...acquire, vsFloor: paired(samples.acquire, samples.start) },
        ],
        samples,
      },
    ],
    targets: [
      {
        id: 'pool.acquire',
        label: 'acquire from a warm pool ≤ 5 ms median',
        value: acquire.median,
        limit: 5,
        unit: 'ms',
        met: acquire.median <= 5,
      },
    ],
  };
}
