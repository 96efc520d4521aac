import { DockerError } from '../engine/errors.js';

/**
 * An error of the code executor: bad options, a container that failed to start or died, an init
 * command or functions set-up that failed. Its `message` keeps autogen's wording where autogen has one.
 */
export class ExecutorError extends DockerError {
  override name = 'ExecutorError';
  /** Output of the command that failed (init command, pip install, functions import), if any. */
  readonly output: string | undefined;
  constructor(message: string, options?: { cause?: unknown; output?: string }) {
    super(message, { cause: options?.cause, code: 'BERTH_ERR_EXECUTOR' });
    this.output = options?.output;
  }
}

/** True for an {@link ExecutorError}, from any copy of the package. */
export function isExecutorError(value: unknown): value is ExecutorError {
  return (
    typeof value === 'object' && value !== null && (value as { code?: unknown }).code === 'BERTH_ERR_EXECUTOR' && value instanceof Error
  );
}
