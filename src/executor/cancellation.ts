/**
 * A cancellation token, as autogen's `CancellationToken`: `cancel()` runs the callbacks once and
 * aborts `signal`, which is what Berth listens to. A plain `AbortSignal` works wherever a token does.
 */
export class CancellationToken {
  readonly #controller = new AbortController();
  #callbacks: Array<() => void> = [];

  /** Cancels: runs every callback once (errors are reported, not thrown) and aborts {@link CancellationToken.signal}. */
  cancel(): void {
    if (this.#controller.signal.aborted) return;
    const callbacks = this.#callbacks;
    this.#callbacks = [];
    this.#controller.abort(new DOMException('Code execution was cancelled.', 'AbortError'));
    for (const callback of callbacks) {
      try {
        callback();
      } catch (error) {
        queueMicrotask(() => {
          throw error;
        });
      }
    }
  }

  /** True once {@link CancellationToken.cancel} has been called. */
  isCancelled(): boolean {
    return this.#controller.signal.aborted;
  }

  /** Runs `callback` on cancellation (at once if already cancelled). Returns a function that removes it. */
  addCallback(callback: () => void): () => void {
    if (this.isCancelled()) {
      callback();
      return () => {};
    }
    this.#callbacks.push(callback);
    return () => {
      this.#callbacks = this.#callbacks.filter((c) => c !== callback);
    };
  }

  /** An `AbortSignal` aborted by {@link CancellationToken.cancel}. */
  get signal(): AbortSignal {
    return this.#controller.signal;
  }
}

/** Either a {@link CancellationToken} or a plain `AbortSignal`. */
export type CancellationLike = CancellationToken | AbortSignal;

/** The signal behind a token or signal (undefined when none is given). */
export function signalOf(cancellation: CancellationLike | undefined): AbortSignal | undefined {
  if (cancellation === undefined) return undefined;
  if (cancellation instanceof CancellationToken) return cancellation.signal;
  if (typeof (cancellation as AbortSignal).aborted === 'boolean' && typeof (cancellation as AbortSignal).addEventListener === 'function') {
    return cancellation as AbortSignal;
  }
  throw new TypeError('executeCodeBlocks: the second argument must be a CancellationToken or an AbortSignal');
}
