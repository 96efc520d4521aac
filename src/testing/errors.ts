import { DockerError, isDockerError } from '../engine/errors.js';

/** A request as the replay saw it (method and path, after normalisation). */
export interface MismatchedRequest {
  /** HTTP method. */
  method: string;
  /** Path and query. */
  path: string;
}

/** The recorded exchange nearest to a request that matched nothing. */
export interface NearestExchange {
  /** Its file in the recording folder, e.g. `07-post-containers-id-exec.json`. */
  file: string;
  /** Its recorded method. */
  method: string;
  /** Its recorded path and query. */
  path: string;
  /** What differs between it and the request, e.g. `body.Cmd[1]: recorded "a", sent "b"`. */
  difference: string;
}

/**
 * A replay received a request that no recorded exchange answers: the code under test asked the
 * engine something other than what the recording holds (or in another order, with
 * `order: 'strict'`). `code` is `BERTH_ERR_FIXTURE_MISMATCH`; the message names the request, the
 * nearest recorded exchange and the difference. Re-record the scenario if the change is intended.
 */
export class FixtureMismatchError extends DockerError {
  override name = 'FixtureMismatchError';
  /** The request that matched nothing. */
  readonly request: MismatchedRequest;
  /** The nearest recorded exchange, when the recording has any left. */
  readonly nearest: NearestExchange | undefined;
  /** The recording folder. */
  readonly dir: string;

  constructor(message: string, details: { request: MismatchedRequest; nearest: NearestExchange | undefined; dir: string }) {
    super(message, { code: 'BERTH_ERR_FIXTURE_MISMATCH' });
    this.request = details.request;
    this.nearest = details.nearest;
    this.dir = details.dir;
  }
}

/** True for a {@link FixtureMismatchError} (also from another copy of the package). */
export function isFixtureMismatchError(error: unknown): error is FixtureMismatchError {
  return isDockerError(error) && error.code === 'BERTH_ERR_FIXTURE_MISMATCH';
}
