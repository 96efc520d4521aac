/**
 * Load and leaks, against the real engine:
 * - 16 executors on one engine (one shared client), 25 blocks each, all queued at once: every
 *   result, and every streamed chunk, belongs to its own block.
 * - 1,000 sequential blocks on one executor, in a child process started with --expose-gc (it runs
 *   the built package, dist/): the heap after GC stays flat, and the engine holds no exec
 *   instance of the container afterwards.
 * - SIGINT or SIGTERM of a process with two running executors, one of them mid-block: both
 *   containers are gone when it has exited.
 */
import { type ChildProcessByStdio, spawn } from 'node:child_process';
import { randomUUID } from 'node:crypto';
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import type { Readable } from 'node:stream';
import { afterAll, describe, expect, it } from 'vitest';
import { DockerClient } from '../../src/engine/index.js';
import { DockerCommandLineCodeExecutor } from '../../src/index.js';
import { BUSYBOX, PYTHON, removeQuietly, startSleeper } from '../helpers/engine.js';

/**
 * The containers here carry their own run label, not `berth.test`: the engine may be shared, and
 * another run's global teardown removes every `berth.test` container, which would kill these
 * executors mid-run. afterAll removes whatever carries this run's label (and fails if any was left).
 */
const LOAD_LABEL = 'berth.load.run';
const run = randomUUID();
const labels = { [LOAD_LABEL]: run };
const docker = new DockerClient();

afterAll(async () => {
  try {
    const left = await docker.containers.list({ all: true, filters: { label: [`${LOAD_LABEL}=${run}`] } });
    for (const c of left) await removeQuietly(docker, c.Id);
    expect(left.map((c) => c.Names.join(','))).toEqual([]);
  } finally {
    await docker.close();
  }
});

function distEntry(): string {
  const dist = join(process.cwd(), 'dist/index.js');
  if (!existsSync(dist)) throw new Error('dist/ is missing: npm test builds it before the tests (npm run build)');
  return dist;
}

/** Starts `node [flags] --input-type=module -e script` and collects its stdout lines. */
function child(
  script: string,
  flags: string[] = [],
): { process: ChildProcessByStdio<null, Readable, Readable>; lines: string[]; stderr: () => string } {
  const proc = spawn(process.execPath, [...flags, '--input-type=module', '-e', script], { stdio: ['ignore', 'pipe', 'pipe'] });
  const lines: string[] = [];
  let buffer = '';
  let stderr = '';
  proc.stdout.on('data', (d: Buffer) => {
    buffer += d.toString();
    const parts = buffer.split('\n');
    buffer = parts.pop() ?? '';
    lines.push(...parts.filter((line) => line !== ''));
  });
  proc.stderr.on('data', (d: Buffer) => {
    stderr += d.toString();
  });
  return { process: proc, lines, stderr: () => stderr };
}

function exited(proc: ChildProcessByStdio<null, Readable, Readable>): Promise<{ code: number | null; signal: NodeJS.Signals | null }> {
  if (proc.exitCode !== null || proc.signalCode !== null) return Promise.resolve({ code: proc.exitCode, signal: proc.signalCode });
  return new Promise((resolve) => proc.once('exit', (code, signal) => resolve({ code, signal })));
}

async function waitFor<T>(get: () => T | undefined, ms: number, what: string): Promise<T> {
  const deadline = Date.now() + ms;
  for (;;) {
    const value = get();
    if (value !== undefined) return value;
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 25));
  }
}

/** True when `merged` is `a` and `b` shuffled together, each keeping its own order. */
function isInterleaving(a: string, b: string, merged: string): boolean {
  if (merged.length !== a.length + b.length) return false;
  // can[j] after row i: merged[0, i + j) is an interleaving of a[0, i) and b[0, j).
  let can = Array.from({ length: b.length + 1 }, (_, j) => b.slice(0, j) === merged.slice(0, j));
  for (let i = 1; i <= a.length; i++) {
    const next: boolean[] = [can[0] === true && a[i - 1] === merged[i - 1]];
    for (let j = 1; j <= b.length; j++) {
      next[j] = (can[j] === true && a[i - 1] === merged[i + j - 1]) || (next[j - 1] === true && b[j - 1] === merged[i + j - 1]);
    }
    can = next;
  }
  return can[b.length] === true;
}

/** Resolves when the container is gone (404); fails if it is still there after `ms`. */
async function gone(id: string, ms = 10_000): Promise<void> {
  const deadline = Date.now() + ms;
  for (;;) {
    try {
      const info = await docker.containers.inspect(id);
      if (Date.now() > deadline) throw new Error(`container ${id} is still there (${info.State.Status})`);
    } catch (error) {
      if ((error as { reason?: string }).reason === 'notFound') return;
      throw error;
    }
    await new Promise((r) => setTimeout(r, 100));
  }
}

describe('16 executors on one engine', () => {
  it('runs 25 blocks on each, all queued at once: every result and every streamed chunk is its own', async () => {
    const EXECUTORS = 16;
    const BLOCKS = 25;
    const executors = Array.from(
      { length: EXECUTORS },
      () => new DockerCommandLineCodeExecutor({ image: PYTHON, labels, docker, timeout: 120 }),
    );
    try {
      await Promise.all(executors.map((ex) => ex.start()));
      expect(new Set(executors.map((ex) => ex.containerId)).size).toBe(EXECUTORS);
      const calls = executors.flatMap((ex, e) =>
        Array.from({ length: BLOCKS }, async (_, b) => {
          const streamed: string[] = [];
          const code = `import sys, time\nprint('out-${e}-${b}')\ntime.sleep(0.01)\nprint('err-${e}-${b}', file=sys.stderr)\nprint('end-${e}-${b}')`;
          const result = await ex.executeCodeBlocks([{ language: 'python', code }], undefined, {
            onOutput: (chunk) => streamed.push(chunk.text),
          });
          return { e, b, ex, result, streamed: streamed.join('') };
        }),
      );
      const results = await Promise.all(calls);
      // stdout and stderr reach the engine through two pipes, so their relative order in `output`
      // is not fixed under load (not even within a line): `output` must be an interleaving of
      // exactly this block's stdout and stderr.
      const wrong = results.filter(
        ({ e, b, result, streamed }) =>
          result.exitCode !== 0 ||
          result.stdout !== `out-${e}-${b}\nend-${e}-${b}\n` ||
          result.stderr !== `err-${e}-${b}\n` ||
          !isInterleaving(result.stdout, result.stderr, result.output) ||
          streamed !== result.output,
      );
      expect(wrong.map(({ e, b, result }) => ({ e, b, exitCode: result.exitCode, output: result.output }))).toEqual([]);
      for (const { ex, result } of results) expect(result.codeFile?.startsWith(`${ex.workDir}/`)).toBe(true);
    } finally {
      await Promise.all(executors.map((ex) => ex.stop()));
    }
  }, 600_000);
});

describe('1,000 sequential blocks on one executor', () => {
  it('keeps the heap flat (after GC) and leaves no exec instance on the engine', async () => {
    const BLOCKS = 1000;
    const script = `
      import { DockerCommandLineCodeExecutor } from ${JSON.stringify(distEntry())};
      import { DockerClient } from ${JSON.stringify(join(process.cwd(), 'dist/engine/index.js'))};
      const docker = new DockerClient();
      const ex = new DockerCommandLineCodeExecutor({ image: ${JSON.stringify(BUSYBOX)}, labels: ${JSON.stringify(labels)}, docker, timeout: 60, deleteTmpFiles: true });
      await ex.start();
      const heap = () => { globalThis.gc(); globalThis.gc(); return process.memoryUsage().heapUsed; };
      const samples = [{ block: 0, heapUsed: heap() }];
      let wrong = 0;
      let firstWrong;
      const started = performance.now();
      for (let i = 1; i <= ${BLOCKS}; i++) {
        const r = await ex.executeCodeBlocks([{ language: 'sh', code: 'echo ' + i }]);
        if (r.exitCode !== 0 || r.output !== i + '\\n') { wrong++; firstWrong ??= { i, exitCode: r.exitCode, output: r.output }; }
        if (i % 100 === 0) samples.push({ block: i, heapUsed: heap() });
      }
      const ms = performance.now() - started;
      const info = await docker.containers.inspect(ex.containerId);
      console.log(JSON.stringify({ samples, wrong, firstWrong, ms, execIds: info.ExecIDs ?? [], rss: process.memoryUsage().rss }));
      await ex.stop();
      await docker.close();
    `;
    const gcRun = child(script, ['--expose-gc']);
    let exit: Awaited<ReturnType<typeof exited>>;
    try {
      exit = await exited(gcRun.process);
    } finally {
      // On a test timeout, SIGTERM makes the child's exit hook remove its container.
      if (gcRun.process.exitCode === null && gcRun.process.signalCode === null) gcRun.process.kill('SIGTERM');
    }
    expect(exit, gcRun.stderr()).toEqual({ code: 0, signal: null });
    const report = JSON.parse(gcRun.lines.at(-1) ?? '{}') as {
      samples: { block: number; heapUsed: number }[];
      wrong: number;
      firstWrong: unknown;
      ms: number;
      execIds: string[];
    };
    console.info(
      `${BLOCKS} blocks: ${(report.ms / 1000).toFixed(1)} s (${(report.ms / BLOCKS).toFixed(0)} ms a block); heap after GC, MiB: ${report.samples
        .map((s) => `${s.block}: ${(s.heapUsed / 1024 / 1024).toFixed(2)}`)
        .join(', ')}`,
    );
    expect(report.firstWrong).toBeUndefined();
    expect(report.wrong).toBe(0);
    const at = (block: number) => report.samples.find((s) => s.block === block)?.heapUsed ?? Number.NaN;
    const growth = at(BLOCKS) - at(100);
    const MiB = 1024 * 1024;
    // The heap settles once the client's caches and pools are warm: past block 100 it must not grow.
    expect(
      growth,
      `heap after GC by block: ${report.samples.map((s) => `${s.block}: ${(s.heapUsed / MiB).toFixed(1)} MiB`).join(', ')}`,
    ).toBeLessThan(4 * MiB);
    // dockerd drops a finished exec from the container's ExecIDs at once (it keeps it in its own
    // store a while, for inspect): whatever is listed after the run is a leftover process.
    expect(report.execIds).toEqual([]);
  }, 900_000);

  it('leaves no more exec instances than plain docker exec does for the same work', async () => {
    // The baseline the previous test is held to, measured rather than assumed.
    const id = await startSleeper(docker, { Labels: labels });
    try {
      for (let i = 0; i < 50; i++) {
        const result = await docker.exec.run(id, ['sh', '-c', `echo ${i}`]);
        expect(result.stdout).toBe(`${i}\n`);
      }
      const info = await docker.containers.inspect(id);
      expect(info.ExecIDs ?? []).toEqual([]);
    } finally {
      await removeQuietly(docker, id);
    }
  });
});

describe('interrupting a process with running executors', () => {
  it.each(['SIGINT', 'SIGTERM'] as const)('%s: both containers (one mid-block) are gone when the process has exited', async (signal) => {
    const script = `
      import { DockerCommandLineCodeExecutor } from ${JSON.stringify(distEntry())};
      const options = { image: ${JSON.stringify(PYTHON)}, labels: ${JSON.stringify(labels)}, timeout: 120 };
      const busy = new DockerCommandLineCodeExecutor(options);
      const idle = new DockerCommandLineCodeExecutor(options);
      await Promise.all([busy.start(), idle.start()]);
      let told = false;
      busy.executeCodeBlocks([{ language: 'sh', code: 'echo started; sleep 60; echo never' }], undefined, {
        onOutput: () => {
          if (told) return;
          told = true;
          console.log(JSON.stringify({ ids: [busy.containerId, idle.containerId] }));
        },
      }).catch(() => {});
      setInterval(() => {}, 1000);
    `;
    const sig = child(script);
    try {
      const line = await waitFor(
        () => sig.lines[0] ?? (sig.process.exitCode !== null ? 'exited' : undefined),
        120_000,
        'the child to start',
      );
      expect(line, sig.stderr()).not.toBe('exited');
      const { ids } = JSON.parse(line) as { ids: string[] };
      expect(ids).toHaveLength(2);
      for (const id of ids) expect((await docker.containers.inspect(id)).State.Running).toBe(true);
      sig.process.kill(signal);
      const exit = await exited(sig.process);
      // The exit hook stops the executors, then re-raises the signal with its default behaviour.
      expect(exit.signal, sig.stderr()).toBe(signal);
      for (const id of ids) await gone(id, 2000);
    } finally {
      if (sig.process.exitCode === null && sig.process.signalCode === null) sig.process.kill('SIGKILL');
    }
  });
});
