/** 5. Concurrency: 1, 4 and 16 executors on one engine, each running 20 python blocks in turn. */
import { mkdtemp, realpath, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { busyMs, check, cpuTimes, LABELS, log, machine, PYTHON_IMAGE } from '../lib/common.mjs';
import { median, summarize } from '../lib/stats.mjs';

const code = (e, b) => `print('executor ${e} block ${b}')`;
const expected = (e, b) => `executor ${e} block ${b}\n`;

/** Runs `count` workers at once, each doing warm-up then timed blocks in turn; returns the timed latencies. */
async function phase(count, blocks, warmup, setup, runBlock, teardown) {
  const workers = await Promise.all(Array.from({ length: count }, (_, i) => setup(i)));
  try {
    // Warm-up blocks (not timed), all workers at once.
    await Promise.all(
      workers.map(async (w, e) => {
        for (let b = 0; b < warmup; b++) await runBlock(w, e, -1 - b);
      }),
    );
    const latencies = [];
    const before = cpuTimes();
    const t0 = performance.now();
    await Promise.all(
      workers.map(async (w, e) => {
        for (let b = 0; b < blocks; b++) {
          const s = performance.now();
          await runBlock(w, e, b);
          latencies.push(performance.now() - s);
        }
      }),
    );
    const wallMs = performance.now() - t0;
    // Machine-wide: includes whatever else runs on the machine at the time.
    const cpuMs = busyMs(before, cpuTimes());
    return { latencies, wallMs, cpuMs, blocks: count * blocks };
  } finally {
    await Promise.all(workers.map((w) => teardown(w).catch(() => {})));
  }
}

export async function run(ctx) {
  const { raw, Executor, config } = ctx;
  const { levels, blocks, warmup } = config.concurrency;
  const results = [];
  for (const n of levels) {
    log(`  concurrency: ${n} executor(s) × ${blocks} blocks`);
    const berth = await phase(
      n,
      blocks,
      warmup,
      async () => {
        // The exec path; the runner's concurrency is in runner.mjs.
        const executor = new Executor({ image: PYTHON_IMAGE, labels: LABELS, runner: 'off' });
        ctx.onCleanup(() => executor.stop());
        await executor.start();
        return executor;
      },
      async (executor, e, b) => {
        const r = await executor.executeCodeBlocks([{ language: 'python', code: code(e, b) }]);
        check(r.exitCode === 0 && r.output === expected(e, b), `executor ${e} block ${b}: ${r.exitCode} ${JSON.stringify(r.output)}`);
      },
      (executor) => executor.stop(),
    );
    const floor = await phase(
      n,
      blocks,
      warmup,
      async () => {
        const dir = await realpath(await mkdtemp(join(tmpdir(), 'berth-bench-')));
        const id = await raw.run({
          Image: PYTHON_IMAGE,
          Entrypoint: ['/bin/sh'],
          Tty: true,
          WorkingDir: '/workspace',
          Labels: LABELS,
          HostConfig: { Binds: [`${dir}:/workspace:rw`], AutoRemove: true, Init: true },
        });
        ctx.onCleanup(() => raw.removeForce(id));
        return { dir, id };
      },
      async ({ dir, id }, e, b) => {
        const file = `block_${e}_${b < 0 ? 'w' : b}.py`;
        await writeFile(join(dir, file), code(e, b), 'utf8');
        const r = await raw.exec(id, ['python3', file], { env: ['PYTHONUNBUFFERED=1'], workingDir: '/workspace' });
        check(
          r.exitCode === 0 && r.stdout.toString() === expected(e, b),
          `raw ${e} block ${b}: ${r.exitCode} ${JSON.stringify(r.stdout.toString())} ${JSON.stringify(r.stderr.toString())}`,
        );
      },
      async ({ dir, id }) => {
        await raw.removeForce(id);
        await rm(dir, { recursive: true, force: true });
      },
    );
    results.push({ executors: n, berth, floor });
  }
  const cores = machine().cpus;
  const base = results[0];
  const rows = [];
  for (const r of results) {
    for (const [name, p] of [
      ['berth', r.berth],
      ['raw', r.floor],
    ]) {
      const s = summarize(p.latencies);
      const baseMedian = median(name === 'berth' ? base.berth.latencies : base.floor.latencies);
      rows.push({
        contender: `${name === 'berth' ? 'berth executors' : 'raw floor'} × ${r.executors}`,
        executors: r.executors,
        kind: name,
        ...s,
        vsOne: s.median / baseMedian,
        blocksPerSecond: p.blocks / (p.wallMs / 1000),
        cpuMsPerBlock: p.cpuMs / p.blocks,
      });
    }
  }
  const top = results[results.length - 1];
  const ratio = median(top.berth.latencies) / median(base.berth.latencies);
  // Little's law: with N blocks always in flight, per-block latency = N / throughput. The most
  // blocks per second this engine completed in any phase (floor included) bounds the latency any
  // client can see at N from below.
  const capacity = Math.max(
    ...results.flatMap((r) => [r.berth.blocks / (r.berth.wallMs / 1000), r.floor.blocks / (r.floor.wallMs / 1000)]),
  );
  const bound = Math.max(median(base.berth.latencies), (top.executors / capacity) * 1000);
  const floorRatio = median(top.floor.latencies) / median(base.floor.latencies);
  return {
    title: '5. Concurrency',
    cases: [
      {
        name: `${levels.join(', ')} executors × ${blocks} python blocks (per-block latency)`,
        unit: 'ms',
        rows,
        samples: Object.fromEntries(results.map((r) => [r.executors, { berth: r.berth.latencies, raw: r.floor.latencies }])),
      },
    ],
    capacity: {
      cores,
      blocksPerSecond: capacity,
      executors: top.executors,
      lowerBoundMs: bound,
      lowerBoundRatio: bound / median(base.berth.latencies),
      floorRatio,
    },
    targets: [
      {
        id: 'concurrency',
        label: `${top.executors} executors: per-block median ≤ 1.5× that of one`,
        value: ratio,
        limit: 1.5,
        unit: '×',
        met: top.executors === 16 ? ratio <= 1.5 : null,
        note:
          `${top.executors === 16 ? '' : `only ${top.executors} executors in this mode; `}` +
          `the engine completes at most ${capacity.toFixed(1)} blocks/s here, so ${top.executors} in flight wait ≥ ${(bound / median(base.berth.latencies)).toFixed(1)}× (Little's law); ` +
          `the raw floor: ${floorRatio.toFixed(2)}×`,
      },
    ],
  };
}
