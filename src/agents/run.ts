/**
 * One code block run for an agent tool (`berth mcp`'s `run_code`, `berth/ai`'s tool): a per-call
 * timeout below the executor's, cancellation by signal, and the figures the executor captured.
 * @module
 */

import type { DockerCommandLineCodeExecutor } from '../executor/executor.js';
import type { CommandLineCodeResult } from '../executor/types.js';

/** A figure the code produced. */
export interface CapturedImage {
  mimeType: string;
  data: Uint8Array;
}

/**
 * What {@link runForTool} reports: the executor's result fields (exit code 124 on timeout, 1 when
 * cancelled; `output` interleaved with the executor's notes), and the figures, when the executor
 * captures them (empty otherwise).
 */
export type ToolRun = Pick<CommandLineCodeResult, 'exitCode' | 'output' | 'stdout' | 'stderr' | 'timedOut' | 'cancelled' | 'truncated'> & {
  images: CapturedImage[];
};

/**
 * The figures of a result, when the executor reports any: the in-container runner adds
 * `images` to the result; an executor without it gives none.
 */
export function imagesOf(result: CommandLineCodeResult): CapturedImage[] {
  const images = (result as { images?: unknown }).images;
  if (!Array.isArray(images)) return [];
  return images.filter(
    (image): image is CapturedImage =>
      typeof image === 'object' && image !== null && typeof image.mimeType === 'string' && image.data instanceof Uint8Array,
  );
}

/**
 * Runs one block on a started executor. `timeout` (seconds) shorter than the executor's own is
 * enforced here by cancelling the call (the block is killed) and reported as a timeout (exit
 * code 124); the executor's own timeout applies either way. An aborted `signal` kills the block.
 */
export async function runForTool(
  executor: DockerCommandLineCodeExecutor,
  block: { language: string; code: string },
  options: { signal?: AbortSignal | undefined; timeout?: number | undefined } = {},
): Promise<ToolRun> {
  const timer = new AbortController();
  const ownTimeout = options.timeout !== undefined && options.timeout < executor.timeout;
  const handle = ownTimeout ? setTimeout(() => timer.abort(new Error('timeout')), (options.timeout as number) * 1000) : undefined;
  const signals = [timer.signal, ...(options.signal ? [options.signal] : [])];
  try {
    const result = await executor.executeCodeBlocks([block], AbortSignal.any(signals));
    const ourTimeout = timer.signal.aborted && !options.signal?.aborted;
    if (!ourTimeout) {
      return {
        exitCode: result.exitCode,
        output: result.output,
        stdout: result.stdout,
        stderr: result.stderr,
        timedOut: result.timedOut,
        cancelled: result.cancelled,
        truncated: result.truncated,
        images: imagesOf(result),
      };
    }
    const output = result.output.replace(/\n?Code execution was cancelled\.$/, '');
    return {
      exitCode: 124,
      output: `${output}${output === '' || output.endsWith('\n') ? '' : '\n'}Timeout: the code ran longer than ${options.timeout} s and was stopped.`,
      stdout: result.stdout,
      stderr: result.stderr,
      timedOut: true,
      cancelled: false,
      truncated: result.truncated,
      images: imagesOf(result),
    };
  } finally {
    if (handle) clearTimeout(handle);
  }
}
