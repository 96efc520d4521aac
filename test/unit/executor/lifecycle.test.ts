import { describe, expect, it } from 'vitest';
import { ExecutorError } from '../../../src/executor/errors.js';
import { Lifecycle, type LifecycleHooks } from '../../../src/executor/lifecycle.js';

const sleep = (ms: number, signal?: AbortSignal) =>
  new Promise<void>((resolve, reject) => {
    const timer = setTimeout(resolve, ms);
    signal?.addEventListener(
      'abort',
      () => {
        clearTimeout(timer);
        reject(signal.reason);
      },
      { once: true },
    );
  });

/**
 * A fake engine for the lifecycle: bring-up makes a temp folder, a container and a backend one
 * step at a time; restart replaces the backend (and sometimes the container); tear-down removes
 * everything. It records when each thing is made, and the exit hooks registered.
 */
function world(step = 4) {
  const made = new Map<string, number>();
  const creations: { what: string; at: number }[] = [];
  const exitHooks = new Set<() => Promise<void>>();
  let serial = 0;
  let lc: Lifecycle;
  const make = (what: string) => {
    const name = `${what}#${++serial}`;
    made.set(name, performance.now());
    creations.push({ what: name, at: performance.now() });
  };
  const drop = (prefix: string) => {
    for (const name of [...made.keys()]) if (name.startsWith(prefix)) made.delete(name);
  };
  const hooks: LifecycleHooks = {
    async bringUp(signal) {
      for (const what of ['temp', 'container', 'backend']) {
        await sleep(step, signal);
        make(what);
      }
    },
    async restart(signal) {
      drop('backend');
      await sleep(step, signal);
      if (serial % 2 === 0) {
        drop('container');
        await sleep(step, signal);
        make('container');
      }
      make('backend');
    },
    async tearDown() {
      await sleep(step);
      made.clear();
    },
    registerExitHook() {
      const hook = () => lc.stop();
      exitHooks.add(hook);
      return () => exitHooks.delete(hook);
    },
  };
  lc = new Lifecycle(hooks);
  return { lc, made, creations, exitHooks, fireExit: () => Promise.all([...exitHooks].map((hook) => hook())) };
}

type Op = 'start' | 'stop' | 'restart' | 'call' | 'reset' | 'exit';
const OPS: Op[] = ['start', 'stop', 'restart', 'call', 'reset', 'exit'];

/** Runs `ops` on a started (or not) lifecycle, each `gap` ms after the previous one, and checks the end state. */
async function interleave(ops: Op[], gap: number, startFirst: boolean): Promise<void> {
  const w = world();
  if (startFirst) await w.lc.start();
  const issued: { op: Op; at: number; done?: number }[] = [];
  const settled: Promise<unknown>[] = [];
  for (const op of ops) {
    const entry: { op: Op; at: number; done?: number } = { op, at: performance.now() };
    issued.push(entry);
    let promise: Promise<unknown>;
    switch (op) {
      case 'start':
        promise = w.lc.start();
        break;
      case 'stop':
        promise = w.lc.stop();
        break;
      case 'restart':
        promise = w.lc.restart();
        break;
      case 'call':
        promise = w.lc.call((signal) => sleep(6, signal));
        break;
      case 'reset':
        // A call whose block broke the container: it asks for the reset itself.
        promise = w.lc.call(async (signal, own) => {
          await sleep(2, signal);
          await w.lc.reset(own);
        });
        break;
      case 'exit':
        // A signal with no hook registered is Node's default (the process ends): not a stop.
        if (w.exitHooks.size === 0) entry.op = 'call';
        promise = w.fireExit();
        break;
    }
    settled.push(
      promise.then(
        () => {
          entry.done = performance.now();
        },
        (error: unknown) => {
          entry.done = performance.now();
          // Only the executor's own errors (not running, interrupted by stop) or an abort.
          if (!(error instanceof ExecutorError) && !(error instanceof DOMException)) throw error;
        },
      ),
    );
    if (gap) await sleep(gap);
  }
  await Promise.all(settled);
  // Nothing made after a stop() returned, unless a start() was asked for after that stop.
  for (const stop of issued.filter((e) => e.op === 'stop' || e.op === 'exit')) {
    const laterStart = issued.some((e) => e.op === 'start' && e.at > stop.at);
    if (laterStart) continue;
    const after = w.creations.filter((c) => c.at > (stop.done as number));
    expect(after, `${ops.join(',')} gap ${gap}: made after ${stop.op} returned`).toEqual([]);
  }
  await w.lc.stop();
  await sleep(20);
  expect([...w.made.keys()], `${ops.join(',')} gap ${gap}`).toEqual([]);
  expect(w.lc.state).toBe('stopped');
  expect(w.exitHooks.size).toBe(0);
}

describe('Lifecycle: every interleaving ends consistent, with nothing left', () => {
  const sequences: Op[][] = [];
  for (const a of OPS) for (const b of OPS) for (const c of OPS) sequences.push([a, b, c]);

  for (const startFirst of [true, false]) {
    for (const gap of [0, 3, 9]) {
      it(`${sequences.length} sequences of three, ${startFirst ? 'started first' : 'from stopped'}, ${gap} ms apart`, async () => {
        await Promise.all(sequences.map((ops) => interleave(ops, gap, startFirst)));
      });
    }
  }
});

describe('Lifecycle: states and rules', () => {
  it('goes stopped -> starting -> running -> restarting -> running -> stopping -> stopped', async () => {
    const w = world();
    const seen: string[] = [w.lc.state];
    const start = w.lc.start();
    seen.push(w.lc.state);
    await sleep(0);
    seen.push(w.lc.state);
    await start;
    seen.push(w.lc.state);
    const restart = w.lc.restart();
    await sleep(1);
    seen.push(w.lc.state);
    await restart;
    seen.push(w.lc.state);
    const stop = w.lc.stop();
    await sleep(1);
    seen.push(w.lc.state);
    await stop;
    seen.push(w.lc.state);
    expect(seen.filter((s, i) => s !== seen[i - 1])).toEqual([
      'stopped',
      'starting',
      'running',
      'restarting',
      'running',
      'stopping',
      'stopped',
    ]);
  });

  it('stop() during a call cancels it, waits for it, then tears down', async () => {
    const w = world();
    await w.lc.start();
    const order: string[] = [];
    const call = w.lc.call(async (signal) => {
      try {
        await sleep(10_000, signal);
      } finally {
        await sleep(5);
        order.push(`call ended with ${w.made.size} things`);
      }
    });
    await sleep(1);
    await w.lc.stop();
    order.push('stopped');
    await expect(call).rejects.toThrow('executor stopping');
    expect(order).toEqual(['call ended with 3 things', 'stopped']);
  });

  it('restart() during a call cancels it first; the next call waits for the restart', async () => {
    const w = world();
    await w.lc.start();
    const first = w.lc.call((signal) => sleep(10_000, signal));
    await sleep(1);
    const restart = w.lc.restart();
    const second = w.lc.call(async () => w.lc.state);
    await expect(first).rejects.toThrow('executor restarting');
    await restart;
    expect(await second).toBe('running');
    await w.lc.stop();
  });

  it('a reset asked for by a call that stop() cancelled does not happen', async () => {
    const w = world();
    await w.lc.start();
    let reset: boolean | undefined;
    const call = w.lc.call(async (signal, own) => {
      await sleep(10_000, signal).catch(() => {});
      reset = await w.lc.reset(own);
    });
    await sleep(1);
    await w.lc.stop();
    await call;
    expect(reset).toBe(false);
    expect(w.made.size).toBe(0);
  });

  it('calls and restart() while stopped say so', async () => {
    const w = world();
    await expect(w.lc.call(async () => 1)).rejects.toThrow('Must first be started with start() or `await using`');
    await expect(w.lc.restart()).rejects.toThrow('Container is not running');
  });

  it('start({ signal }) aborted mid-way removes what was made and unregisters the exit hook', async () => {
    const w = world();
    const controller = new AbortController();
    const reason = new Error('gave up');
    const start = w.lc.start(controller.signal);
    await sleep(6);
    controller.abort(reason);
    await expect(start).rejects.toBe(reason);
    expect(w.made.size).toBe(0);
    expect(w.exitHooks.size).toBe(0);
    expect(w.lc.state).toBe('stopped');
  });

  it('registers the exit hook before anything is made', async () => {
    const w = world();
    const start = w.lc.start();
    await sleep(0);
    expect(w.made.size).toBe(0);
    expect(w.exitHooks.size).toBe(1);
    await start;
    await w.lc.stop();
  });

  it('a call whose container died fails until restart()', async () => {
    const w = world();
    await w.lc.start();
    w.lc.markDead('exit code 137');
    await expect(w.lc.call(async () => 1)).rejects.toThrow('The container stopped (exit code 137); call restart() to continue.');
    await w.lc.restart();
    expect(await w.lc.call(async () => 1)).toBe(1);
    await w.lc.stop();
  });
});
