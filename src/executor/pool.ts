/**
 * {@link ExecutorPool}: one started executor per key (a conversation, a user), handed out at once
 * from a set of warm ones, bounded in number, stopped when idle.
 * @module
 */

import { randomUUID } from 'node:crypto';
import { DockerClient } from '../engine/index.js';
import { ExecutorError } from './errors.js';
import { DockerCommandLineCodeExecutor } from './executor.js';
import type { DockerCommandLineCodeExecutorOptions } from './types.js';

/** Label on every container of a pool; its value is the pool's name. */
export const POOL_LABEL = 'berth.pool';

/** Options of {@link ExecutorPool}. */
export interface ExecutorPoolOptions {
  /** Options of every executor (not `containerName`, `workDir` or `bindDir`: each executor has its own). */
  executor?: DockerCommandLineCodeExecutorOptions;
  /** Started executors kept ready for new keys. Default 1. */
  warm?: number;
  /** Most executors at once, warm ones included; an `acquire` beyond it waits. Default: no bound. */
  max?: number;
  /** Seconds after its last `acquire` that a key's executor is stopped and forgotten. Default: never. */
  idleTimeout?: number;
  /** The pool's name, the value of its containers' {@link POOL_LABEL} label. Default `pool-` and 8 random hex digits. */
  name?: string;
}

/** Options of {@link ExecutorPool.acquire}. */
export interface ExecutorPoolAcquireOptions {
  /** Stops waiting (for a free place under `max`, or a start); the acquire rejects with the signal's reason. */
  signal?: AbortSignal | undefined;
}

interface Bound {
  executor: DockerCommandLineCodeExecutor;
  timer: ReturnType<typeof setTimeout> | undefined;
}

function count(value: unknown, name: string, least: number): number | undefined {
  if (value === undefined || value === Number.POSITIVE_INFINITY) return undefined;
  if (typeof value !== 'number' || !Number.isInteger(value) || value < least) {
    throw new ExecutorError(`ExecutorPool: ${name} must be a whole number, at least ${least}; got ${JSON.stringify(value)}`);
  }
  return value;
}

/**
 * A pool of started executors, one per key. `acquire(key)` returns the key's executor, the same
 * one until `release(key)`, an idle expiry or `close()`; for a new key it takes a warm one at once
 * (and starts a replacement in the background), or starts one, or, at `max`, waits until one is
 * released. Every container carries the label `berth.pool=<name>` beside the executor's own
 * labels, so `berth prune` removes those of a process that died without `close()`.
 *
 * Each executor runs its calls in turn; keep one key per conversation. Stop a key's executor
 * with `release(key)`, not `executor.stop()`, so that its place is freed.
 *
 * @example
 * ```ts
 * await using pool = new ExecutorPool({ executor: { sandbox: true }, warm: 2, max: 16, idleTimeout: 600 });
 * const executor = await pool.acquire(conversationId);
 * const result = await executor.executeCodeBlocks([{ language: 'python', code: 'print(1)' }]);
 * await pool.release(conversationId); // when the conversation ends
 * ```
 */
export class ExecutorPool {
  /** The pool's name (value of the {@link POOL_LABEL} label on its containers). */
  readonly name: string;
  readonly #options: DockerCommandLineCodeExecutorOptions;
  readonly #warmTarget: number;
  readonly #max: number;
  readonly #idleMs: number | undefined;
  readonly #ownDocker: DockerClient | undefined;
  readonly #warm: DockerCommandLineCodeExecutor[] = [];
  readonly #bound = new Map<string, Bound>();
  readonly #binding = new Map<string, Promise<DockerCommandLineCodeExecutor>>();
  readonly #inflight = new Set<Promise<unknown>>();
  readonly #wakers = new Set<() => void>();
  /** Executors that exist or are being started: what `max` bounds. */
  #slots = 0;
  #starting = 0;
  #lastError: unknown;
  #closed = false;

  /**
   * Validates the options and starts filling the warm set in the background.
   * @throws ExecutorError for a bad `warm`, `max`, `idleTimeout` or `name`, `warm` above `max`, or a per-executor option (`containerName`, `workDir`, `bindDir`).
   */
  constructor(options: ExecutorPoolOptions = {}) {
    const executor = options.executor ?? {};
    for (const own of ['containerName', 'workDir', 'bindDir'] as const) {
      if (executor[own] !== undefined)
        throw new ExecutorError(`ExecutorPool: executor.${own} cannot be shared by a pool's executors; leave it out`);
    }
    this.#warmTarget = count(options.warm, 'warm', 0) ?? 1;
    this.#max = count(options.max, 'max', 1) ?? Number.POSITIVE_INFINITY;
    if (this.#warmTarget > this.#max)
      throw new ExecutorError(`ExecutorPool: warm (${this.#warmTarget}) must not exceed max (${this.#max})`);
    if (options.idleTimeout !== undefined) {
      const seconds = options.idleTimeout;
      if (typeof seconds !== 'number' || !(seconds > 0) || seconds * 1000 > 2 ** 31 - 1) {
        throw new ExecutorError(
          `ExecutorPool: idleTimeout must be a number of seconds above 0 (at most about 24 days); got ${JSON.stringify(seconds)}`,
        );
      }
      this.#idleMs = seconds * 1000;
    }
    const name = options.name ?? `pool-${randomUUID().slice(0, 8)}`;
    if (typeof name !== 'string' || name.trim() === '')
      throw new ExecutorError(`ExecutorPool: name must be a non-empty string; got ${JSON.stringify(name)}`);
    this.name = name;
    // One engine client for every executor of the pool (kept-alive connections), closed by close().
    if (!executor.docker) this.#ownDocker = new DockerClient();
    this.#options = {
      ...executor,
      ...(this.#ownDocker ? { docker: this.#ownDocker } : {}),
      labels: { ...executor.labels, [POOL_LABEL]: name },
    };
    // Validate the executor options now, not on the first start.
    new DockerCommandLineCodeExecutor(this.#options);
    this.#refill();
  }

  /**
   * Resolves once `warm` executors are started and idle (at once when `warm` is 0).
   * @throws the error of a warm executor that failed to start; ExecutorError when the pool is closed.
   */
  async ready(options: ExecutorPoolAcquireOptions = {}): Promise<void> {
    for (;;) {
      if (this.#closed) throw new ExecutorError('ExecutorPool: the pool is closed');
      if (this.#warm.length >= Math.min(this.#warmTarget, this.#max - this.#bound.size)) return;
      if (this.#starting === 0) {
        const error = this.#lastError;
        if (error !== undefined) {
          this.#lastError = undefined;
          throw error;
        }
        this.#refill();
        if (this.#starting === 0) return;
      }
      await this.#change(options.signal);
    }
  }

  /**
   * The executor bound to `key`, started: the same one for the same key until `release(key)`,
   * an idle expiry or `close()`. A new key takes a warm executor at once, else one is started;
   * at `max`, the call waits until a place is free or `signal` aborts.
   * @throws ExecutorError when the pool is closed (also while waiting); the error of a failed start; the signal's reason.
   */
  acquire(key: string, options: ExecutorPoolAcquireOptions = {}): Promise<DockerCommandLineCodeExecutor> {
    if (this.#closed) return Promise.reject(new ExecutorError('ExecutorPool: the pool is closed'));
    if (typeof key !== 'string') return Promise.reject(new ExecutorError(`ExecutorPool: key must be a string; got ${typeof key}`));
    const bound = this.#bound.get(key);
    if (bound?.executor.isRunning) {
      this.#touch(key, bound);
      return Promise.resolve(bound.executor);
    }
    const pending = this.#binding.get(key);
    if (pending) return this.#withSignal(pending, options.signal);
    const binding = this.#bind(key, bound, options.signal);
    this.#binding.set(key, binding);
    const forget = () => {
      if (this.#binding.get(key) === binding) this.#binding.delete(key);
    };
    binding.then(forget, forget);
    // The caller stops waiting at once when its signal aborts; a start under way then ends as a warm executor.
    return this.#withSignal(binding, options.signal);
  }

  /** Stops and removes `key`'s executor and frees its place. Nothing happens for an unknown key. */
  async release(key: string): Promise<void> {
    await this.#binding.get(key)?.catch(() => {});
    const bound = this.#bound.get(key);
    if (!bound) return;
    this.#unbind(key, bound);
    await this.#retire(bound.executor);
  }

  /** Stops every executor (bound, warm and starting) and rejects waiting acquires. Idempotent. */
  async close(): Promise<void> {
    this.#closed = true;
    this.#wake();
    const executors = [...this.#warm.splice(0)];
    for (const [key, bound] of [...this.#bound]) {
      this.#unbind(key, bound);
      executors.push(bound.executor);
    }
    const stops = await Promise.allSettled(executors.map((executor) => this.#retire(executor)));
    // Starts under way stop their executor themselves when they see the pool closed.
    while (this.#inflight.size > 0 || this.#binding.size > 0) await Promise.allSettled([...this.#inflight, ...this.#binding.values()]);
    await this.#ownDocker?.close().catch(() => {});
    const failed = stops.find((s): s is PromiseRejectedResult => s.status === 'rejected');
    if (failed) throw failed.reason;
  }

  /** Same as {@link ExecutorPool.close}, for `await using`. */
  [Symbol.asyncDispose](): Promise<void> {
    return this.close();
  }

  async #bind(key: string, stale: Bound | undefined, signal: AbortSignal | undefined): Promise<DockerCommandLineCodeExecutor> {
    if (stale) {
      // Stopped behind the pool's back, or its container died: replace it.
      this.#unbind(key, stale);
      await this.#retire(stale.executor).catch(() => {});
    }
    for (;;) {
      signal?.throwIfAborted();
      if (this.#closed) throw new ExecutorError('ExecutorPool: the pool is closed');
      const warm = this.#warm.shift();
      if (warm) {
        if (!warm.isRunning) {
          await this.#retire(warm).catch(() => {});
          continue;
        }
        this.#adopt(key, warm);
        this.#refill();
        return warm;
      }
      if (this.#slots < this.#max) {
        const executor = await this.#startOne();
        if (this.#closed) {
          await this.#retire(executor).catch(() => {});
          throw new ExecutorError('ExecutorPool: the pool is closed');
        }
        if (signal?.aborted) {
          // Started for nobody: keep it warm for the next key.
          this.#warm.push(executor);
          this.#wake();
          throw signal.reason;
        }
        this.#adopt(key, executor);
        this.#refill();
        return executor;
      }
      await this.#change(signal);
    }
  }

  /** Starts one executor in a place of its own; the place is given back when the start fails. */
  async #startOne(): Promise<DockerCommandLineCodeExecutor> {
    this.#slots++;
    const executor = new DockerCommandLineCodeExecutor(this.#options);
    const start = executor.start();
    this.#inflight.add(start);
    try {
      await start;
      return executor;
    } catch (error) {
      this.#slots--;
      this.#wake();
      await executor.stop().catch(() => {});
      throw error;
    } finally {
      this.#inflight.delete(start);
    }
  }

  /** Starts warm executors in the background until `warm` are ready or starting (within `max`). */
  #refill(): void {
    while (!this.#closed && this.#warm.length + this.#starting < this.#warmTarget && this.#slots < this.#max) {
      this.#starting++;
      const started = this.#startOne().then(
        async (executor) => {
          this.#starting--;
          if (this.#closed) await this.#retire(executor).catch(() => {});
          else this.#warm.push(executor);
          this.#wake();
        },
        (error: unknown) => {
          // Not retried here (no hot loop on a dead engine): the next acquire or release refills.
          this.#starting--;
          this.#lastError = error;
          this.#wake();
        },
      );
      this.#inflight.add(started);
      void started.finally(() => this.#inflight.delete(started));
    }
  }

  #adopt(key: string, executor: DockerCommandLineCodeExecutor): void {
    const bound: Bound = { executor, timer: undefined };
    this.#bound.set(key, bound);
    this.#touch(key, bound);
  }

  #touch(key: string, bound: Bound): void {
    if (this.#idleMs === undefined) return;
    if (bound.timer) clearTimeout(bound.timer);
    bound.timer = setTimeout(() => {
      if (this.#bound.get(key) !== bound) return;
      this.#unbind(key, bound);
      void this.#retire(bound.executor).catch(() => {});
    }, this.#idleMs);
    // An idle executor must not keep the process alive; its exit hook stops it.
    bound.timer.unref?.();
  }

  #unbind(key: string, bound: Bound): void {
    if (bound.timer) clearTimeout(bound.timer);
    if (this.#bound.get(key) === bound) this.#bound.delete(key);
  }

  /** Stops an executor that held a place, frees the place, and refills. */
  async #retire(executor: DockerCommandLineCodeExecutor): Promise<void> {
    try {
      await executor.stop();
    } finally {
      this.#slots--;
      this.#wake();
      this.#refill();
    }
  }

  #wake(): void {
    const wakers = [...this.#wakers];
    this.#wakers.clear();
    for (const wake of wakers) wake();
  }

  /** Resolves at the pool's next change (a place freed, a warm executor ready, a failure, close). */
  #change(signal: AbortSignal | undefined): Promise<void> {
    return new Promise<void>((resolve, reject) => {
      if (signal?.aborted) return reject(signal.reason);
      const onAbort = () => {
        this.#wakers.delete(wake);
        reject(signal?.reason);
      };
      const wake = () => {
        signal?.removeEventListener('abort', onAbort);
        resolve();
      };
      this.#wakers.add(wake);
      signal?.addEventListener('abort', onAbort, { once: true });
    });
  }

  #withSignal<T>(promise: Promise<T>, signal: AbortSignal | undefined): Promise<T> {
    if (!signal) return promise;
    if (signal.aborted) return Promise.reject(signal.reason);
    return new Promise<T>((resolve, reject) => {
      const onAbort = () => reject(signal.reason);
      signal.addEventListener('abort', onAbort, { once: true });
      promise.then(
        (value) => {
          signal.removeEventListener('abort', onAbort);
          resolve(value);
        },
        (error: unknown) => {
          signal.removeEventListener('abort', onAbort);
          reject(error);
        },
      );
    });
  }
}
