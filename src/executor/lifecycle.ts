/**
 * The executor's lifecycle as one state machine: `start`, `stop`, `restart`, the internal reset
 * after a block broke the container, and the exit hook, with the call queue subordinate to it.
 *
 * - Lifecycle operations run one at a time (a chain). Calls run one at a time (a queue), and only
 *   while no lifecycle operation is pending: a call waits for the one in progress.
 * - `stop()` and `restart()` first cancel the active call (and `stop()` an unfinished `start()`,
 *   restart or reset, through the epoch's signal), wait for it, then act.
 * - A reset is asked for by the active call itself, so it never waits for calls; it is skipped
 *   when that call was cancelled (a `stop()` or `restart()` owns the container then).
 * - The exit hook is registered before anything is made and unregistered once everything is gone:
 *   an interrupt during `start()` stops it and removes what it made.
 *
 * The owner supplies what is made and removed ({@link LifecycleHooks}); nothing here touches the engine.
 *
 * @module
 */

import { ExecutorError } from './errors.js';

/** The executor's state, as `executor.state` reports it. */
export type ExecutorState = 'stopped' | 'starting' | 'running' | 'restarting' | 'stopping';

/** What the lifecycle drives. */
export interface LifecycleHooks {
  /** Makes everything (workspace, container, backend). On failure or abort it may leave things behind: {@link LifecycleHooks.tearDown} follows. */
  bringUp(signal: AbortSignal): Promise<void>;
  /** Restarts the container (or makes a fresh one). On failure {@link LifecycleHooks.tearDown} follows. */
  restart(signal: AbortSignal): Promise<void>;
  /** Removes whatever exists. Idempotent; throws only what the caller of `stop()` should see. */
  tearDown(): Promise<void>;
  /** Registers the exit hook (or not); returns its remover. */
  registerExitHook(): (() => void) | undefined;
}

/** The message of a call or restart made while stopped. */
export const NOT_RUNNING = 'Container is not running. Must first be started with start() or `await using`.';

/** The lifecycle; see the module's comment. */
export class Lifecycle {
  readonly #hooks: LifecycleHooks;
  #state: ExecutorState = 'stopped';
  /** Why the container is gone while the state is still `running` (it died under a block). */
  #dead: string | undefined;
  #chain: Promise<unknown> = Promise.resolve();
  /** Lifecycle operations asked for and not finished: calls wait while this is above 0. */
  #pending = 0;
  #calls: Promise<unknown> = Promise.resolve();
  #active: { controller: AbortController; done: Promise<unknown> } | undefined;
  /** Aborted by `stop()`: ends an unfinished start, restart or reset. */
  #epoch = new AbortController();
  #unregister: (() => void) | undefined;

  constructor(hooks: LifecycleHooks) {
    this.#hooks = hooks;
  }

  /** The current state. */
  get state(): ExecutorState {
    return this.#state;
  }

  /** Why the container is gone, when it died under a block; cleared by a restart. */
  get dead(): string | undefined {
    return this.#dead;
  }

  /** Notes that the container died under a block: calls fail until `restart()`. */
  markDead(why: string): void {
    this.#dead = why;
  }

  #serialise<T>(task: () => Promise<T>): Promise<T> {
    this.#pending++;
    const run = async () => {
      try {
        return await task();
      } finally {
        this.#pending--;
      }
    };
    const next = this.#chain.then(run, run);
    this.#chain = next.catch(() => {});
    return next;
  }

  #cancelActive(reason: string): void {
    this.#active?.controller.abort(new ExecutorError(reason));
  }

  async #drainActive(): Promise<void> {
    while (this.#active) await this.#active.done.catch(() => {});
  }

  /**
   * Starts; does nothing when running. After the container died under a block (or the engine went
   * away), what is left of it is removed and a fresh one started. `signal` aborts it, as `stop()`
   * does; what was made is removed.
   */
  start(signal?: AbortSignal): Promise<void> {
    if (signal?.aborted) return Promise.reject(signal.reason);
    return this.#serialise(async () => {
      if (this.#state === 'running') {
        if (this.#dead === undefined) return;
        await this.#down();
      }
      signal?.throwIfAborted();
      this.#epoch = new AbortController();
      const epoch = this.#epoch.signal;
      const abort = signal ? AbortSignal.any([epoch, signal]) : epoch;
      this.#state = 'starting';
      this.#dead = undefined;
      // Before the first thing is made: an interrupt from here on removes it.
      this.#unregister ??= this.#hooks.registerExitHook();
      try {
        abort.throwIfAborted();
        await this.#hooks.bringUp(abort);
        abort.throwIfAborted();
        this.#state = 'running';
      } catch (error) {
        await this.#down();
        if (epoch.aborted && !signal?.aborted) throw new ExecutorError('start() was interrupted by stop()', { cause: error });
        throw signal?.aborted ? signal.reason : error;
      }
    });
  }

  /** Stops: cancels the active call and any unfinished start, restart or reset, waits for them, then removes everything. Idempotent. */
  stop(): Promise<void> {
    this.#epoch.abort(new ExecutorError('the executor is stopping'));
    this.#cancelActive('executor stopping');
    return this.#serialise(async () => {
      if (this.#state === 'stopped' && !this.#unregister) return;
      this.#state = 'stopping';
      await this.#drainActive();
      await this.#down();
    });
  }

  async #down(): Promise<void> {
    this.#state = 'stopping';
    try {
      await this.#hooks.tearDown();
    } finally {
      this.#state = 'stopped';
      this.#dead = undefined;
      this.#unregister?.();
      this.#unregister = undefined;
    }
  }

  /** Restarts: cancels the active call, waits for it, restarts. A failed restart stops the executor. */
  restart(): Promise<void> {
    this.#cancelActive('executor restarting');
    return this.#serialise(async () => {
      if (this.#state !== 'running') throw new ExecutorError(NOT_RUNNING);
      this.#state = 'restarting';
      await this.#drainActive();
      await this.#restart('restart()');
    });
  }

  async #restart(what: string): Promise<void> {
    const epoch = this.#epoch.signal;
    try {
      await this.#hooks.restart(epoch);
      epoch.throwIfAborted();
      this.#dead = undefined;
      this.#state = 'running';
    } catch (error) {
      // stop() got here: it removes everything once this returns.
      if (epoch.aborted) throw new ExecutorError(`${what} was interrupted by stop()`, { cause: error });
      await this.#down();
      throw error;
    }
  }

  /**
   * The reset a call asks for after its block broke the container (a restart that does not wait
   * for calls: the caller is the active call). False when it did not happen: the call was
   * cancelled (a stop or restart owns the container now) or the executor is not running.
   */
  reset(callSignal: AbortSignal): Promise<boolean> {
    if (callSignal.aborted || this.#epoch.signal.aborted) return Promise.resolve(false);
    return this.#serialise(async () => {
      if (this.#state !== 'running' || callSignal.aborted) return false;
      this.#state = 'restarting';
      await this.#restart('the reset after a broken block');
      return true;
    });
  }

  /**
   * Runs `task` as a call: in turn with other calls, once no lifecycle operation is pending, and
   * only while running. `signal` aborts on `callerSignal`, `stop()` or `restart()`; `own` on the
   * last two only (what {@link Lifecycle.reset} is given).
   * @throws ExecutorError when not running, or when the container died (restart() to continue).
   */
  call<T>(task: (signal: AbortSignal, own: AbortSignal) => Promise<T>, callerSignal?: AbortSignal): Promise<T> {
    const run = async (): Promise<T> => {
      while (this.#pending > 0) await this.#chain;
      if (this.#dead) throw new ExecutorError(`The container stopped (${this.#dead}); call restart() to continue.`);
      if (this.#state !== 'running') throw new ExecutorError(NOT_RUNNING);
      const controller = new AbortController();
      const signal = callerSignal ? AbortSignal.any([callerSignal, controller.signal]) : controller.signal;
      const done = task(signal, controller.signal);
      const active = { controller, done };
      this.#active = active;
      try {
        return await done;
      } finally {
        if (this.#active === active) this.#active = undefined;
      }
    };
    const next = this.#calls.then(run, run);
    this.#calls = next.catch(() => {});
    return next;
  }
}
