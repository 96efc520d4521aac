/**
 * Where the executor block's overhead over the floor goes: the same python file run four ways in
 * the executor's own container, interleaved.
 *
 *   node bench/diagnose-block.mjs [iterations]      (add --cpu-prof to profile the host side)
 *
 * 1. raw: python3 FILE (the floor of bench 2)
 * 2. raw + executor command: the executor's exec command (python FILE, with BERTH_BLOCK=<nonce>
 *    in its environment), sent raw
 * 3. raw + old sh wrapper: the executor's previous command (sh -c OLD_WRAPPER berth python FILE),
 *    sent raw, to show what dropping the shell saved
 * 4. exec.run + executor command: the executor's command through Berth's exec.run
 * 5. executeCodeBlocks: the whole executor path
 */
import { writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { createNodeTransport, DockerClient } from '../dist/engine/index.js';
import { DockerCommandLineCodeExecutor } from '../dist/index.js';
import { check, LABELS, PYTHON_IMAGE, SOCKET } from './lib/common.mjs';
import { RawEngine } from './lib/raw.mjs';
import { interleave, paired, summarize } from './lib/stats.mjs';
import { blockExec, OLD_WRAPPER } from './lib/wrapper.mjs';

const CODE = "print('hello from a block')";
const EXPECTED = 'hello from a block\n';
const iterations = Number(process.argv[2] ?? 40);

const raw = new RawEngine();
await raw.negotiate();
// Count the requests each path sends: Berth through a counting transport, the floor at its pool.
const counts = { berth: 0, raw: 0 };
const transport = createNodeTransport({ kind: 'unix', socketPath: SOCKET });
const counting = {
  ...transport,
  address: transport.address,
  request: (req) => {
    counts.berth++;
    return transport.request(req);
  },
  hijack: (req) => {
    counts.berth++;
    return transport.hijack(req);
  },
  close: () => transport.close(),
};
const rawDispatch = raw.pool.dispatch.bind(raw.pool);
raw.pool.dispatch = (...args) => {
  counts.raw++;
  return rawDispatch(...args);
};
const docker = new DockerClient({ transport: counting });
const executor = new DockerCommandLineCodeExecutor({ image: PYTHON_IMAGE, labels: LABELS, docker });
await executor.start();
try {
  const id = executor.containerId;
  const file = 'diag_block.py';
  await writeFile(join(executor.workDir, file), CODE);
  const opts = { env: ['PYTHONUNBUFFERED=1'], workingDir: '/workspace' };
  const ok = (r, what) => check(r.exitCode === 0 && Buffer.from(r.stdout).toString() === EXPECTED, `${what}: ${r.exitCode}`);
  // Requests and host CPU per call of each path, measured on their own before the timing.
  const perCall = {};
  const measure = async (name, fn, n = 20) => {
    const before = { ...counts };
    const cpu0 = process.cpuUsage();
    for (let i = 0; i < n; i++) await fn();
    const cpu = process.cpuUsage(cpu0);
    perCall[name] = {
      berthRequests: (counts.berth - before.berth) / n,
      rawRequests: (counts.raw - before.raw) / n,
      hostCpuMs: +((cpu.user + cpu.system) / 1000 / n).toFixed(2),
    };
  };
  const paths = {
    raw: async () => ok(await raw.exec(id, ['python3', file], opts), 'raw'),
    'raw + executor command': async () => {
      const { cmd, env } = blockExec(file);
      ok(await raw.exec(id, cmd, { ...opts, env }), 'raw + executor command');
    },
    'raw + old sh wrapper': async () =>
      ok(await raw.exec(id, ['sh', '-c', OLD_WRAPPER, 'berth', 'python', file], opts), 'raw + old sh wrapper'),
    'exec.run + executor command': async () => {
      const { cmd, env } = blockExec(file);
      ok(await docker.exec.run(id, cmd, { ...opts, env }), 'exec.run');
    },
    executeCodeBlocks: async () => {
      const r = await executor.executeCodeBlocks([{ language: 'python', code: CODE }]);
      check(r.exitCode === 0 && r.output === EXPECTED, `executeCodeBlocks: ${r.exitCode}`);
    },
  };
  for (const [name, fn] of Object.entries(paths)) await measure(name, fn);
  console.table(perCall);
  const samples = await interleave(paths, { warmup: 5, iterations });
  const rows = {};
  for (const [name, ms] of Object.entries(samples)) {
    const s = summarize(ms);
    const p = paired(ms, samples.raw);
    rows[name] = {
      median: +s.median.toFixed(1),
      p95: +s.p95.toFixed(1),
      overFloorMs: +p.diff.median.toFixed(2),
      ratio: +p.ratio.median.toFixed(3),
    };
  }
  console.table(rows);
  const saved = paired(samples['raw + old sh wrapper'], samples['raw + executor command']).diff.median;
  console.log(`old sh wrapper over the executor's command, paired median: ${saved >= 0 ? '+' : ''}${saved.toFixed(2)} ms`);
} finally {
  await executor.stop();
  await docker.close();
  await raw.close();
}
