/** 3. Output throughput: every contender reads in a process of its own (bench/throughput-reader.mjs). */
import { spawn } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { check, engineCpuMs, LABELS, log, MiB, PYTHON_IMAGE, SOCKET } from '../lib/common.mjs';
import { median, paired, summarize } from '../lib/stats.mjs';
import { CHUNK } from '../throughput-reader.mjs';

const READER = fileURLToPath(new URL('../throughput-reader.mjs', import.meta.url));
const CONTENDERS = ['raw', 'berth', 'dockerode', 'docker exec'];

function measure(job, cpuProfDir) {
  const args = [
    ...(cpuProfDir ? ['--cpu-prof', `--cpu-prof-dir=${cpuProfDir}`] : []),
    READER,
    JSON.stringify({ ...job, socketPath: SOCKET }),
  ];
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, args, { stdio: ['ignore', 'pipe', 'pipe'] });
    let out = '';
    let err = '';
    child.stdout.on('data', (d) => (out += d));
    child.stderr.on('data', (d) => (err += d));
    child.on('error', reject);
    child.on('close', (code) => {
      if (code !== 0) return reject(new Error(`throughput reader (${job.contender}, ${job.mode}) exited ${code}: ${err}`));
      try {
        resolve(JSON.parse(out.trim().split('\n').pop()));
      } catch {
        reject(new Error(`throughput reader (${job.contender}, ${job.mode}) printed no result: ${out} ${err}`));
      }
    });
  });
}

function expect(result, job) {
  const per = job.chunks * CHUNK;
  check(result.exitCode === 0, `${job.contender} ${job.mode}: producer exit code ${result.exitCode}`);
  check(result.stdoutBytes === per, `${job.contender} ${job.mode}: ${result.stdoutBytes} stdout bytes, expected ${per}`);
  check(result.stderrBytes === (job.mode === 'alternate' ? per : 0), `${job.contender} ${job.mode}: ${result.stderrBytes} stderr bytes`);
  check(result.badPieces === 0, `${job.contender} ${job.mode}: ${result.badPieces} pieces with wrong bytes (stream mix-up)`);
}

export async function run(ctx) {
  const { config } = ctx;
  const t = config.throughput;
  const id = await ctx.container({ Image: PYTHON_IMAGE, Cmd: ['sleep', 'infinity'], Labels: LABELS, HostConfig: { Init: true } });
  const modes = [
    { mode: 'stdout', name: `${t.stdoutMiB} MiB to stdout`, chunks: (t.stdoutMiB * MiB) / CHUNK },
    {
      mode: 'alternate',
      name: `${t.alternateMiB} MiB alternating stdout/stderr (64 KiB chunks)`,
      chunks: (t.alternateMiB * MiB) / CHUNK / 2,
    },
  ];
  // Verify each contender's bytes (content checked byte by byte) before timing it. (Quick mode
  // checks every byte of the timed runs instead.)
  for (const m of t.verifyInline ? [] : modes) {
    const chunks = Math.max(2, Math.min(m.chunks, (t.verifyMiB * MiB) / CHUNK));
    for (const contender of CONTENDERS) {
      const job = { contender, containerId: id, mode: m.mode, chunks, verify: true };
      expect(await measure(job), job);
    }
  }
  const cases = [];
  const targets = [];
  for (const m of modes) {
    log(`  throughput: ${m.name} (${t.iterations} iterations)`);
    const results = Object.fromEntries(CONTENDERS.map((c) => [c, []]));
    for (let i = -t.warmup; i < t.iterations; i++) {
      const start = ((i % CONTENDERS.length) + CONTENDERS.length) % CONTENDERS.length;
      for (let k = 0; k < CONTENDERS.length; k++) {
        const contender = CONTENDERS[(start + k) % CONTENDERS.length];
        const job = { contender, containerId: id, mode: m.mode, chunks: m.chunks, verify: Boolean(t.verifyInline) };
        const e0 = engineCpuMs(id);
        const r = await measure(job, ctx.cpuProfDir);
        const e1 = engineCpuMs(id);
        r.engineCpuMs = e0 === null || e1 === null ? null : e1 - e0;
        expect(r, job);
        if (i >= 0) results[contender].push(r);
      }
    }
    const rate = (c) => results[c].map((r) => r.mbPerSecond);
    const rss = (c) => results[c].map((r) => r.peakRssBytes);
    const rows = CONTENDERS.map((c) => ({
      contender: c,
      ...summarize(rate(c)),
      peakRss: summarize(rss(c)),
      peakHeapUsed: median(results[c].map((r) => r.peakHeapUsedBytes)),
      peakArrayBuffers: median(results[c].map((r) => r.peakArrayBuffersBytes)),
      readerCpuMsPerMB: median(results[c].map((r) => r.readerCpuMs / ((r.stdoutBytes + r.stderrBytes) / 1e6))),
      engineCpuMsPerMB: median(results[c].map((r) => (r.engineCpuMs ?? Number.NaN) / ((r.stdoutBytes + r.stderrBytes) / 1e6))),
      ...(c === 'raw' ? {} : { vsFloor: paired(rate(c), rate('raw')) }),
      ...(c === 'berth' ? { vsDockerode: paired(rate('berth'), rate('dockerode')) } : {}),
    }));
    cases.push({ name: m.name, unit: 'MB/s', higherIsBetter: true, rows, samples: results });
    const vsRaw = paired(rate('berth'), rate('raw')).ratio.median;
    const vsDockerode = paired(rate('berth'), rate('dockerode')).ratio.median;
    const rssBerth = median(rss('berth'));
    const rssDockerode = median(rss('dockerode'));
    targets.push(
      {
        id: `throughput.${m.mode}.raw`,
        label: `${m.name}: ≥ 1.0× raw floor`,
        value: vsRaw,
        limit: 1.0,
        unit: '×',
        op: '>=',
        met: vsRaw >= 1.0,
      },
      {
        id: `throughput.${m.mode}.dockerode`,
        label: `${m.name}: ≥ 1.3× dockerode`,
        value: vsDockerode,
        limit: 1.3,
        unit: '×',
        op: '>=',
        met: vsDockerode >= 1.3,
        note: `the raw floor itself reached ${paired(rate('raw'), rate('dockerode')).ratio.median.toFixed(2)}× dockerode; engine CPU ${median(results.raw.map((r) => (r.engineCpuMs ?? Number.NaN) / ((r.stdoutBytes + r.stderrBytes) / 1e6))).toFixed(1)} ms/MB vs reader ${median(results.raw.map((r) => r.readerCpuMs / ((r.stdoutBytes + r.stderrBytes) / 1e6))).toFixed(1)} ms/MB (raw)`,
      },
      {
        id: `throughput.${m.mode}.rss`,
        label: `${m.name}: peak RSS below dockerode's (${(rssDockerode / MiB).toFixed(1)} MiB)`,
        value: rssBerth / MiB,
        limit: rssDockerode / MiB,
        unit: 'MiB',
        op: '<',
        met: rssBerth < rssDockerode,
      },
    );
  }
  return { title: '3. Output throughput', cases, targets };
}
