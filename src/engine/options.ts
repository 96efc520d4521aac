/** Every call takes an `AbortSignal`: aborting rejects the call with the signal's reason. */
export interface CallOptions {
  /** Aborts the call (and closes its stream, if any). The call rejects with `signal.reason`. */
  signal?: AbortSignal | undefined;
}

/** Filters as the engine takes them: a name to a list of values, e.g. `{ label: ['a=b'] }`. */
export type Filters = Record<string, readonly string[]>;
