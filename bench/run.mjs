#!/usr/bin/env node
/**
 * `npm run bench` (through scripts/bench.sh, which builds dist/ first): Berth against a raw undici
 * floor, dockerode 5 and the docker CLI. Writes <out>/<timestamp>.json, <out>/latest.json and a
 * Markdown summary (bench/RESULTS.md for a full run), and prints the tables.
 *
 *   node bench/run.mjs [--quick] [--out DIR] [--only exec,block,throughput,lifecycle,concurrency,footprint,pool]
 *                      [--iterations N] [--no-install] [--cpu-prof DIR] [--render-only]
 *
 * Environment: BENCH_LABEL (container label key, default berth.test), BENCH_SOCKET,
 * BERTH_PYTHON_IMAGE, BENCH_ITERATIONS, BENCH_ONLY, BENCH_STDOUT_MIB, BENCH_ALTERNATE_MIB.
 */
import { execFileSync } from 'node:child_process';
import { existsSync, mkdirSync, readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import os from 'node:os';
import { join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';
import { LABEL, log, machine, RUN_ID, RUN_LABEL, SOCKET } from './lib/common.mjs';
import { RawEngine } from './lib/raw.mjs';
import { render, renderSummary } from './lib/report.mjs';

const BENCH = fileURLToPath(new URL('.', import.meta.url));
const ROOT = resolve(BENCH, '..');
const require = createRequire(import.meta.url);

const { values: flags } = parseArgs({
  options: {
    quick: { type: 'boolean', default: false },
    out: { type: 'string' },
    only: { type: 'string' },
    iterations: { type: 'string' },
    'no-install': { type: 'boolean', default: false },
    'cpu-prof': { type: 'string' },
    'render-only': { type: 'boolean', default: false },
  },
});

const quick = flags.quick;
const config = quick
  ? {
      exec: { warmup: 1, iterations: 3 },
      block: { warmup: 1, iterations: 3 },
      throughput: { stdoutMiB: 4, alternateMiB: 4, verifyMiB: 1, verifyInline: true, warmup: 0, iterations: 2 },
      lifecycle: { warmup: 0, iterations: 2, autogenRuns: 1, autogenGrace: 1 },
      concurrency: { levels: [1, 2], blocks: 3, warmup: 1 },
      footprint: { install: false, importRuns: 3 },
      pool: { warmup: 1, iterations: 3 },
    }
  : {
      exec: { warmup: 5, iterations: 30 },
      block: { warmup: 5, iterations: 40 },
      throughput: { stdoutMiB: 256, alternateMiB: 128, verifyMiB: 8, warmup: 1, iterations: 6 },
      lifecycle: { warmup: 1, iterations: 8, autogenRuns: 1, autogenGrace: undefined },
      concurrency: { levels: [1, 4, 16], blocks: 20, warmup: 1 },
      footprint: { install: true, importRuns: 15 },
      pool: { warmup: 2, iterations: 20 },
    };
const iterations = flags.iterations ?? process.env.BENCH_ITERATIONS;
if (iterations) for (const k of ['exec', 'block', 'throughput', 'lifecycle', 'pool']) config[k].iterations = Number(iterations);
if (process.env.BENCH_STDOUT_MIB) config.throughput.stdoutMiB = Number(process.env.BENCH_STDOUT_MIB);
if (process.env.BENCH_ALTERNATE_MIB) config.throughput.alternateMiB = Number(process.env.BENCH_ALTERNATE_MIB);
if (flags['no-install']) config.footprint.install = false;

const ALL = ['exec', 'block', 'throughput', 'lifecycle', 'concurrency', 'footprint', 'pool'];
const only = (flags.only ?? process.env.BENCH_ONLY)?.split(',').map((s) => s.trim());
const selected = only ? ALL.filter((n) => only.includes(n)) : ALL;
const outDir = resolve(flags.out ?? join(BENCH, 'results', quick ? 'quick' : ''));
const markdownPath = flags.out || quick ? join(outDir, 'RESULTS.md') : join(BENCH, 'RESULTS.md');

function version(name) {
  try {
    return JSON.parse(readFileSync(require.resolve(`${name}/package.json`, { paths: [ROOT] }), 'utf8')).version;
  } catch {
    return 'unknown';
  }
}

/**
 * The targets of the last full runs kept in <out> (complete runs only), oldest first: on a shared
 * or small machine one run can land either side of a line, so the Markdown shows several.
 */
function history(keep = 6) {
  const runs = [];
  for (const name of readdirSync(outDir).filter((n) => /^2.*\.json$/.test(n))) {
    try {
      const r = JSON.parse(readFileSync(join(outDir, name), 'utf8'));
      if (r.meta?.mode !== 'full' || Object.values(r.benchmarks ?? {}).some((b) => b.error)) continue;
      runs.push({
        date: r.meta.date,
        load: r.meta.loadAverage?.[0],
        targets: Object.fromEntries(r.targets.map((t) => [t.id, t])),
      });
    } catch {}
  }
  return runs.sort((a, b) => a.date.localeCompare(b.date)).slice(-keep);
}

/** Replaces the README's block between `<!-- bench:begin -->` and `<!-- bench:end -->` with the run's summary. */
function updateReadme(results) {
  const readme = join(ROOT, 'README.md');
  const text = readFileSync(readme, 'utf8');
  const begin = '<!-- bench:begin -->';
  const end = '<!-- bench:end -->';
  const a = text.indexOf(begin);
  const b = text.indexOf(end);
  if (a < 0 || b < a) return log(`README.md has no ${begin} … ${end} block: left as it is`);
  writeFileSync(readme, `${text.slice(0, a + begin.length)}\n${renderSummary(results, 3)}\n${text.slice(b)}`);
  log('updated the latest targets table in README.md');
}

/** Re-renders the Markdown from <out>/latest.json (after editing bench/FINDINGS.md), without running anything. */
function renderOnly() {
  const results = JSON.parse(readFileSync(join(outDir, 'latest.json'), 'utf8'));
  const findings = join(BENCH, 'FINDINGS.md');
  if (results.meta.mode !== 'quick' && existsSync(findings)) results.findings = readFileSync(findings, 'utf8');
  if (results.meta.mode !== 'quick') results.history = history();
  const markdown = render(results);
  writeFileSync(markdownPath, markdown);
  process.stdout.write(markdown);
}

async function main() {
  if (flags['render-only']) return renderOnly();
  const started = performance.now();
  for (const f of ['dist/index.js', 'dist/engine/index.js']) {
    if (!existsSync(join(ROOT, f))) throw new Error(`${f} is missing: run \`npm run build\` first (npm run bench does)`);
  }
  const { DockerClient } = await import('../dist/engine/index.js');
  const { DockerCommandLineCodeExecutor } = await import('../dist/index.js');
  const { default: Dockerode } = await import('dockerode');

  const raw = new RawEngine(SOCKET);
  const engine = await raw.negotiate();
  const berth = new DockerClient({ socketPath: SOCKET });
  const dockerode = new Dockerode({ socketPath: SOCKET });
  const cleanups = [];
  const ctx = {
    config,
    raw,
    berth,
    dockerode,
    Executor: DockerCommandLineCodeExecutor,
    cpuProfDir: flags['cpu-prof'] ? resolve(flags['cpu-prof']) : undefined,
    onCleanup: (fn) => cleanups.push(fn),
    async container(body) {
      const id = await raw.run(body);
      cleanups.push(() => raw.removeForce(id));
      return id;
    },
  };
  let dockerCli = 'unknown';
  try {
    dockerCli = execFileSync('docker', ['version', '--format', '{{.Client.Version}}'], { encoding: 'utf8' }).trim();
  } catch {}

  const results = {
    meta: {
      date: new Date().toISOString(),
      mode: quick ? 'quick' : 'full',
      runId: RUN_ID,
      label: `${LABEL}=1`,
      machine: machine(),
      loadAverage: os.loadavg(),
      engine: {
        Version: engine.Version,
        ApiVersion: engine.ApiVersion,
        Os: engine.Os,
        Arch: engine.Arch,
        KernelVersion: engine.KernelVersion,
      },
      versions: { berth: version('berth'), dockerode: version('dockerode'), undici: version('undici'), dockerCli },
      config,
    },
    benchmarks: {},
    targets: [],
  };
  let failed = false;
  try {
    for (const name of selected) {
      log(`== ${name}`);
      const t0 = performance.now();
      const mod = await import(`./benchmarks/${name === 'exec' ? 'exec' : name}.mjs`);
      try {
        const section = await mod.run(ctx);
        section.seconds = (performance.now() - t0) / 1000;
        results.benchmarks[name] = section;
        results.targets.push(...section.targets);
      } catch (error) {
        failed = true;
        log(`   ${name} FAILED: ${error?.stack ?? error}`);
        results.benchmarks[name] = { title: name, error: String(error?.message ?? error) };
      } finally {
        // Release what this benchmark created before the next one runs.
        while (cleanups.length)
          await cleanups
            .pop()()
            .catch(() => {});
      }
      log(`   ${name}: ${((performance.now() - t0) / 1000).toFixed(1)} s`);
    }
  } finally {
    while (cleanups.length)
      await cleanups
        .pop()()
        .catch(() => {});
    results.meta.leftoverContainers = await sweep(raw);
    await berth.close();
    await raw.close();
  }
  results.meta.durationSeconds = (performance.now() - started) / 1000;
  results.meta.loadAverageAtEnd = os.loadavg();
  const findings = join(BENCH, 'FINDINGS.md');
  if (!quick && existsSync(findings)) results.findings = readFileSync(findings, 'utf8');

  mkdirSync(outDir, { recursive: true });
  const stamp = results.meta.date.replace(/[:.]/g, '-');
  const json = `${JSON.stringify(results, null, 2)}\n`;
  writeFileSync(join(outDir, `${stamp}.json`), json);
  writeFileSync(join(outDir, 'latest.json'), json);
  if (!quick) results.history = history();
  const markdown = render(results);
  writeFileSync(markdownPath, markdown);
  process.stdout.write(markdown);
  // A complete full run into the repository's own results is the README's latest table.
  const complete = !quick && !flags.out && selected.length === ALL.length && !Object.values(results.benchmarks).some((b) => b.error);
  if (complete) updateReadme(results);
  log(
    `\nwrote ${join(outDir, `${stamp}.json`)}, ${join(outDir, 'latest.json')} and ${markdownPath} (${results.meta.durationSeconds.toFixed(0)} s)`,
  );
  if (results.meta.leftoverContainers > 0) {
    log(`removed ${results.meta.leftoverContainers} container(s) of this run that were left behind`);
  }
  if (failed) process.exitCode = 1;
}

/** Removes every container of this run that is still there; returns how many there were. */
async function sweep(raw) {
  const filters = encodeURIComponent(JSON.stringify({ label: [`${RUN_LABEL}=${RUN_ID}`] }));
  const left = await raw.json('GET', `/containers/json?all=1&filters=${filters}`);
  for (const c of left) await raw.removeForce(c.Id).catch(() => {});
  // AutoRemove containers still being removed count as gone.
  return left.filter((c) => c.State !== 'removing').length;
}

// Interrupted (Ctrl-C, a CI timeout): remove this run's containers before going.
for (const signal of ['SIGINT', 'SIGTERM']) {
  process.once(signal, async () => {
    log(`\n${signal}: removing this run's containers`);
    const raw = new RawEngine(SOCKET);
    await sweep(raw).catch(() => {});
    await raw.close().catch(() => {});
    process.exit(130);
  });
}

async function fail(error) {
  log(error?.stack ?? String(error));
  const raw = new RawEngine(SOCKET);
  await sweep(raw).catch(() => {});
  await raw.close().catch(() => {});
  process.exit(1);
}
process.once('uncaughtException', fail);
main().catch(fail);
