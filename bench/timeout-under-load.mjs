#!/usr/bin/env node
/**
 * Timeouts under load (issue 10, defect 6): two busy loops on the host, one executor, N blocks
 * that outlive a 1 s timeout. Prints p50, p95 and max of the call durations and how many results
 * reported a container reset ("unable to start processes"), which a plain timeout must never do.
 *
 *   node bench/timeout-under-load.mjs [path/to/dist/index.js] [N=20]
 *
 * Environment: BERTH_PYTHON_IMAGE (default berth-test/python:3.11); BENCH_RUNNER=off for the
 * exec-per-block path (default: the in-container runner). Build first (npm run build).
 */
import { spawn } from 'node:child_process';
import { resolve } from 'node:path';
import { pathToFileURL } from 'node:url';

const dist = resolve(process.argv[2] ?? 'dist/index.js');
const runs = Number(process.argv[3] ?? 20);
const { DockerCommandLineCodeExecutor } = await import(pathToFileURL(dist).href);
const loops = [0, 1].map(() => spawn('sh', ['-c', 'while :; do :; done'], { stdio: 'ignore' }));
const executor = new DockerCommandLineCodeExecutor({
  image: process.env.BERTH_PYTHON_IMAGE ?? 'berth-test/python:3.11',
  labels: { 'berth.test': '1' },
  timeout: 1,
  runner: process.env.BENCH_RUNNER ?? 'auto',
});
const durations = [];
let resets = 0;
try {
  await executor.start();
  for (let i = 0; i < runs; i++) {
    const result = await executor.executeCodeBlocks([{ language: 'sh', code: 'sleep 30 & sleep 30' }]);
    durations.push(result.durationMs);
    if (result.output.includes('unable to start processes')) resets++;
  }
} finally {
  for (const loop of loops) loop.kill('SIGKILL');
  await executor.stop();
}
durations.sort((a, b) => a - b);
const quantile = (q) => Math.round(durations[Math.min(durations.length - 1, Math.ceil(q * durations.length) - 1)]);
console.log(JSON.stringify({ runs, p50: quantile(0.5), p95: quantile(0.95), max: quantile(1), resets }));
