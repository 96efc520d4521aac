/**
 * 7. In-container runner: python and bash blocks through the runner (fresh and persistent mode)
 * beside the exec path (`runner: 'off'`) and the raw `docker exec` floor, interleaved in the same
 * run; 16 executors × 20 blocks; output throughput; how soon a timed-out block's processes are
 * gone (seen from inside the container through /proc); the runner's own memory.
 */
import { writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { check, LABELS, log, MB, MiB, PYTHON_IMAGE } from '../lib/common.mjs';
import { interleave, median, paired, summarize } from '../lib/stats.mjs';

const PY = "print('hello from a block')";
const PY_OUT = 'hello from a block\n';
const SH = 'echo hello from a block';

/** Median of a paired ratio to the floor. */
const vs = (samples, name, floor) => paired(samples[name], samples[floor]);

function executors(ctx, count, options) {
  return Promise.all(
    Array.from({ length: count }, async () => {
      const executor = new ctx.Executor({ image: PYTHON_IMAGE, labels: LABELS, timeout: 60, ...options });
      ctx.onCleanup(() => executor.stop());
      await executor.start();
      return executor;
    }),
  );
}

/** One python and one bash block: raw floor, exec path, runner fresh, runner persistent. */
async function blocks(ctx) {
  const { raw, config } = ctx;
  const [exec, fresh, persistent] = [
    ...(await executors(ctx, 1, { runner: 'off' })),
    ...(await executors(ctx, 1, {})),
    ...(await executors(ctx, 1, { persistent: true })),
  ];
  check(exec.executionMode === 'exec' && fresh.executionMode === 'runner', 'execution modes');
  const id = exec.containerId;
  const floorFile = 'floor_block.py';
  const py = (executor) => async () => {
    const r = await executor.executeCodeBlocks([{ language: 'python', code: PY }]);
    check(r.exitCode === 0 && r.output === PY_OUT, `python block gave ${r.exitCode} ${JSON.stringify(r.output)}`);
  };
  const sh = (executor) => async () => {
    const r = await executor.executeCodeBlocks([{ language: 'bash', code: SH }]);
    check(r.exitCode === 0 && r.output === PY_OUT, `bash block gave ${r.exitCode} ${JSON.stringify(r.output)}`);
  };
  const python = {
    raw: async () => {
      await writeFile(join(exec.workDir, floorFile), PY, 'utf8');
      const r = await raw.exec(id, ['python3', floorFile], { env: ['PYTHONUNBUFFERED=1'], workingDir: '/workspace' });
      check(r.exitCode === 0 && r.stdout.toString() === PY_OUT, `raw block gave ${r.exitCode}`);
    },
    exec: py(exec),
    fresh: py(fresh),
    persistent: py(persistent),
  };
  const bash = {
    raw: async () => {
      const r = await raw.exec(id, ['sh', '-c', SH], { workingDir: '/workspace' });
      check(r.exitCode === 0 && r.stdout.toString() === PY_OUT, `raw sh -c gave ${r.exitCode}`);
    },
    exec: sh(exec),
    fresh: sh(fresh),
  };
  for (const f of [...Object.values(python), ...Object.values(bash)]) await f();
  log(`  runner blocks: ${config.block.iterations} iterations`);
  const pySamples = await interleave(python, config.block);
  const shSamples = await interleave(bash, config.block);
  const names = {
    raw: 'raw floor (write + exec python3 FILE)',
    exec: "berth, exec path (runner: 'off')",
    fresh: 'berth, runner, fresh mode',
    persistent: 'berth, runner, persistent mode',
  };
  const shNames = { raw: 'raw floor (exec sh -c)', exec: "berth bash block, exec path (runner: 'off')", fresh: 'berth bash block, runner' };
  const rows = (samples, labels) =>
    Object.entries(samples).map(([name, ms]) => ({
      contender: labels[name],
      ...summarize(ms),
      ...(name === 'raw' ? {} : { vsFloor: paired(ms, samples.raw) }),
    }));
  const freshRatio = vs(pySamples, 'fresh', 'raw').ratio.median;
  const persistentRatio = vs(pySamples, 'persistent', 'raw').ratio.median;
  const bashRatio = vs(shSamples, 'fresh', 'raw').ratio.median;
  return {
    cases: [
      { name: 'one python block: runner vs exec path vs floor', unit: 'ms', rows: rows(pySamples, names), samples: pySamples },
      { name: 'one bash block: runner vs exec path vs raw sh -c', unit: 'ms', rows: rows(shSamples, shNames), samples: shSamples },
    ],
    targets: [
      {
        id: 'runner.python.fresh',
        label: 'runner, fresh mode: a python block ≤ 0.25× the raw exec python3 floor (paired median)',
        value: freshRatio,
        limit: 0.25,
        unit: '×',
        met: freshRatio <= 0.25,
        note: `medians ${median(pySamples.fresh).toFixed(1)} ms vs ${median(pySamples.raw).toFixed(1)} ms; exec path ${median(pySamples.exec).toFixed(1)} ms`,
      },
      {
        id: 'runner.python.persistent',
        label: 'runner, persistent mode: a python block ≤ 0.1× the raw floor (paired median)',
        value: persistentRatio,
        limit: 0.1,
        unit: '×',
        met: persistentRatio <= 0.1,
        note: `median ${median(pySamples.persistent).toFixed(1)} ms`,
      },
      {
        id: 'runner.bash',
        label: 'runner: a bash block ≤ 0.25× the raw exec of sh -c (paired median)',
        value: bashRatio,
        limit: 0.25,
        unit: '×',
        met: bashRatio <= 0.25,
        note: `medians ${median(shSamples.fresh).toFixed(1)} ms vs ${median(shSamples.raw).toFixed(1)} ms`,
      },
    ],
  };
}

/** 16 executors × 20 python blocks, all at once: runner vs exec path, blocks per second. */
async function concurrency(ctx) {
  const { levels, blocks: count } = ctx.config.concurrency;
  const n = levels[levels.length - 1];
  const phase = async (options) => {
    const list = await executors(ctx, n, options);
    try {
      const t0 = performance.now();
      await Promise.all(
        list.map(async (executor, e) => {
          for (let b = 0; b < count; b++) {
            const r = await executor.executeCodeBlocks([{ language: 'python', code: `print(${e * 1000 + b})` }]);
            check(r.exitCode === 0 && r.output === `${e * 1000 + b}\n`, `executor ${e} block ${b}: ${r.exitCode} ${r.output}`);
          }
        }),
      );
      return (n * count) / ((performance.now() - t0) / 1000);
    } finally {
      await Promise.all(list.map((executor) => executor.stop().catch(() => {})));
    }
  };
  log(`  runner concurrency: ${n} executors × ${count} blocks, exec path then runner, twice`);
  // Alternated and repeated, so that neither always runs on a machine warmed by the other.
  const exec = [];
  const runner = [];
  for (let round = 0; round < 2; round++) {
    exec.push(await phase({ runner: 'off' }));
    runner.push(await phase({}));
  }
  const ratio = median(runner) / median(exec);
  return {
    cases: [
      {
        name: `${n} executors × ${count} python blocks at once (blocks per second, 2 rounds each)`,
        unit: 'ms',
        rows: [
          { contender: "exec path (runner: 'off'), blocks/s", ...summarize(exec) },
          { contender: 'runner, blocks/s', ...summarize(runner) },
        ],
      },
    ],
    targets: [
      {
        id: 'runner.concurrency',
        label: `runner: ${n} executors × ${count} python blocks complete ≥ 4× the blocks/s of the exec path`,
        value: ratio,
        limit: 4,
        op: '>=',
        unit: '×',
        met: ratio >= 4,
        note: `${median(runner).toFixed(1)} vs ${median(exec).toFixed(1)} blocks/s`,
      },
    ],
  };
}

/** Output throughput through the executor: runner vs exec path, same bytes. */
async function throughput(ctx) {
  const mib = ctx.config.throughput.stdoutMiB;
  const bytes = mib * MiB;
  const code = `import sys\nchunk = b"x" * 65536\nfor _ in range(${bytes / 65536}):\n    sys.stdout.buffer.write(chunk)\n`;
  const [exec, runner] = [
    ...(await executors(ctx, 1, { runner: 'off', maxOutputBytes: bytes })),
    ...(await executors(ctx, 1, { maxOutputBytes: bytes })),
  ];
  const run = (executor) => async () => {
    const t0 = performance.now();
    const r = await executor.executeCodeBlocks([{ language: 'python', code }]);
    const ms = performance.now() - t0;
    check(r.exitCode === 0 && r.stdout.length === bytes && !r.truncated, `${mib} MiB gave ${r.exitCode} ${r.stdout.length}`);
    return { ms };
  };
  log(`  runner throughput: ${mib} MiB, ${ctx.config.throughput.iterations} iterations`);
  const samples = await interleave({ exec: run(exec), runner: run(runner) }, { warmup: 0, iterations: ctx.config.throughput.iterations });
  const mbps = (ms) => bytes / MB / (ms / 1000);
  // Throughput ratio runner/exec per iteration = exec time / runner time.
  const ratios = samples.exec.map((e, i) => e / samples.runner[i]);
  const ratio = median(ratios);
  await Promise.all([exec.stop(), runner.stop()]);
  return {
    cases: [
      {
        name: `${mib} MiB of stdout through executeCodeBlocks (MB/s)`,
        unit: 'ms',
        rows: [
          { contender: "exec path (runner: 'off'), ms", ...summarize(samples.exec) },
          { contender: 'runner, ms', ...summarize(samples.runner) },
        ],
      },
    ],
    targets: [
      {
        id: 'runner.throughput',
        label: `runner: ${mib} MiB of output ≥ 0.9× the exec path's MB/s (paired median)`,
        value: ratio,
        limit: 0.9,
        op: '>=',
        unit: '×',
        met: ratio >= 0.9,
        note: `${mbps(median(samples.runner)).toFixed(0)} vs ${mbps(median(samples.exec)).toFixed(0)} MB/s`,
      },
    ],
  };
}

/**
 * A watcher inside the container (its own exec): waits until the block's processes (the python
 * main process, whose pid it reads from a file, and its sleep children) exist, then polls /proc
 * every 2 ms until every one is gone, and prints when that was (the container shares the host's
 * clock: the engine runs on this machine).
 */
const WATCHER = `
import os, sys, time
mark = sys.argv[1]
me = str(os.getpid())
deadline_file = '/tmp/berth-kill-' + mark
while not os.path.exists(deadline_file):
    time.sleep(0.002)
time.sleep(0.01)
with open(deadline_file) as f:
    main_pid = f.read().split()[0]
def alive():
    left = []
    for name in os.listdir('/proc'):
        if not name.isdigit():
            continue
        try:
            with open('/proc/%s/cmdline' % name, 'rb') as f:
                cmd = f.read()
            with open('/proc/%s/stat' % name, 'rb') as f:
                state = f.read().rsplit(b')', 1)[1].split()[0]
        except OSError:
            continue
        if state != b'Z' and name != me and (name == main_pid or mark.encode() in cmd):
            left.append(name)
    return left
while alive():
    time.sleep(0.002)
print('%.3f' % time.time())
os.unlink(deadline_file)
`;

/** After a timeout, how soon every process of the block is gone (from inside, /proc), and the runner's RSS. */
async function kill(ctx) {
  const { raw } = ctx;
  const iterations = Math.max(3, Math.min(10, ctx.config.block.iterations));
  const [runner] = await executors(ctx, 1, { timeout: 1 });
  const id = runner.containerId;
  const latencies = [];
  log(`  runner kill latency: ${iterations} timeouts`);
  for (let i = 0; i < iterations; i++) {
    const mark = `9${i}7.5`;
    const watcher = raw.exec(id, ['python3', '-c', WATCHER, mark]);
    const code = [
      'import os, subprocess, time',
      `procs = [subprocess.Popen(["sleep", "${mark}"]) for _ in range(3)]`,
      `subprocess.Popen(["sh", "-c", "sleep ${mark}"], start_new_session=True)`,
      `open("/tmp/berth-kill-${mark}.part", "w").write("%d" % os.getpid())`,
      `os.rename("/tmp/berth-kill-${mark}.part", "/tmp/berth-kill-${mark}")`,
      'time.sleep(100)',
    ].join('\n');
    // The deadline as the host sees it: the call's start plus the timeout. The runner starts its
    // clock later (after the file is written and the run message arrives), so this errs high.
    const deadline = Date.now() + 1000;
    const r = await runner.executeCodeBlocks([{ language: 'python', code }]);
    check(r.timedOut && r.exitCode === 124, `kill block gave ${r.exitCode}`);
    const w = await watcher;
    check(w.exitCode === 0, `watcher: ${w.exitCode} ${w.stderr.toString()}`);
    latencies.push(Number(w.stdout.toString().trim()) * 1000 - deadline);
  }
  // The runner's resident memory, from inside the container.
  const rss = await raw.exec(id, [
    'sh',
    '-c',
    'for d in /proc/[0-9]*; do [ "$d" = /proc/$$ ] && continue; case "$(tr "\\0" " " < $d/cmdline 2>/dev/null)" in *" berth-runner "*) grep VmRSS $d/status;; esac; done',
  ]);
  const kib = Number(/VmRSS:\s+(\d+)/.exec(rss.stdout.toString())?.[1] ?? Number.NaN);
  await runner.stop();
  const killMedian = median(latencies);
  return {
    cases: [
      {
        name: 'after a timeout: every process of the block gone, ms after the deadline (from inside)',
        unit: 'ms',
        rows: [{ contender: 'runner', ...summarize(latencies) }],
      },
    ],
    targets: [
      {
        id: 'runner.kill',
        label: 'runner: after a timeout every process of the block is gone ≤ 100 ms after the deadline (median, /proc from inside)',
        value: killMedian,
        limit: 100,
        unit: 'ms',
        met: killMedian <= 100,
      },
      {
        id: 'runner.rss',
        label: "runner: the runner's own RSS in the container ≤ 20 MiB",
        value: kib / 1024,
        limit: 20,
        unit: 'MiB',
        met: kib / 1024 <= 20,
      },
    ],
  };
}

export async function run(ctx) {
  const parts = [];
  for (const part of [blocks, concurrency, throughput, kill]) parts.push(await part(ctx));
  return {
    title: '7. In-container runner',
    cases: parts.flatMap((p) => p.cases),
    targets: parts.flatMap((p) => p.targets),
  };
}
