import { execFile } from 'node:child_process';
import { randomUUID } from 'node:crypto';
import { existsSync } from 'node:fs';
import { mkdtemp, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { TEST_LABEL, testClient } from '../helpers/engine.js';

// The benchmarks are not tests, but their harness must not rot: run it once on tiny sizes
// (`--quick`: a few iterations, MiB instead of hundreds, no npm installs) against the real engine.

const ROOT = resolve(import.meta.dirname, '../..');
const SECTIONS = ['exec', 'block', 'throughput', 'lifecycle', 'concurrency', 'footprint', 'pool'] as const;

interface Row {
  contender: string;
  median?: number;
  p95?: number;
  peakRss?: { median: number };
}
interface Section {
  title: string;
  error?: string;
  cases: { name: string; rows: Row[] }[];
  targets: { id: string; met: boolean | null; value: number | null }[];
  installs?: unknown;
}
interface Results {
  meta: { mode: string; runId: string; leftoverContainers: number; engine: { ApiVersion: string } };
  benchmarks: Record<string, Section>;
  targets: { id: string }[];
}

function run(args: string[], env: Record<string, string>): Promise<{ code: number; stdout: string; stderr: string }> {
  return new Promise((done) => {
    execFile(
      process.execPath,
      args,
      { cwd: ROOT, env: { ...process.env, ...env }, maxBuffer: 64 * 1024 * 1024, timeout: 170_000 },
      (error, stdout, stderr) => {
        const code = error ? (typeof error.code === 'number' ? error.code : 1) : 0;
        done({ code, stdout, stderr });
      },
    );
  });
}

describe('bench harness (npm run bench --quick)', () => {
  const runId = randomUUID();
  let out: string | undefined;

  afterAll(async () => {
    if (out) await rm(out, { recursive: true, force: true });
  });

  it('runs every benchmark on tiny sizes, writes the JSON and the table, and leaves no container behind', {
    timeout: 180_000,
  }, async () => {
    if (!existsSync(join(ROOT, 'dist/index.js')) || !existsSync(join(ROOT, 'dist/engine/index.js'))) {
      throw new Error('dist/ is missing: the bench harness runs against the built package; run `npm run build` first');
    }
    out = await mkdtemp(join(tmpdir(), 'berth-bench-test-'));
    const result = await run(['bench/run.mjs', '--quick', '--out', out], { BENCH_RUN_ID: runId, BENCH_LABEL: TEST_LABEL });
    expect(result.code, `bench/run.mjs failed:\n${result.stderr}`).toBe(0);

    const results = JSON.parse(await readFile(join(out, 'latest.json'), 'utf8')) as Results;
    expect(results.meta.mode).toBe('quick');
    expect(results.meta.runId).toBe(runId);
    expect(results.meta.engine.ApiVersion).toMatch(/^\d+\.\d+$/);
    for (const name of SECTIONS) {
      const section = results.benchmarks[name];
      expect(section, `section ${name}`).toBeDefined();
      expect(section?.error, `section ${name} failed`).toBeUndefined();
      expect(section?.cases.length, `section ${name} has no cases`).toBeGreaterThan(0);
      for (const c of section?.cases ?? []) {
        expect(c.rows.length, `${name} / ${c.name} has no rows`).toBeGreaterThan(0);
        for (const row of c.rows) {
          expect(row.median, `${name} / ${c.name} / ${row.contender}: median`).toBeGreaterThan(0);
          expect(row.p95, `${name} / ${c.name} / ${row.contender}: p95`).toBeGreaterThan(0);
          if (row.peakRss) expect(row.peakRss.median).toBeGreaterThan(0);
        }
      }
      expect(section?.targets.length, `section ${name} has no targets`).toBeGreaterThan(0);
    }
    expect(results.benchmarks.footprint?.installs).toBe('skipped in quick mode');
    expect(results.targets.length).toBeGreaterThanOrEqual(10);

    // The Markdown table is printed and written, with every target marked.
    const markdown = await readFile(join(out, 'RESULTS.md'), 'utf8');
    expect(result.stdout).toBe(markdown);
    expect(markdown).toMatch(/## Targets/);
    expect(markdown).toMatch(/✅ met|❌ missed/);

    // Nothing of this run is left on the engine.
    expect(results.meta.leftoverContainers).toBe(0);
    const docker = testClient();
    try {
      const left = await docker.containers.list({ all: true, filters: { label: [`berth.bench.run=${runId}`] } });
      expect(left.filter((c) => c.State !== 'removing').map((c) => c.Names.join(','))).toEqual([]);
    } finally {
      await docker.close();
    }
  });
});
