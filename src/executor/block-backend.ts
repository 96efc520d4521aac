/**
 * How blocks run in one started container. The executor makes one backend after each container
 * (re)start and disposes it before stop, restart and reset. Two implementations: `exec` (here: an
 * exec per block, see {@link runBlock}) and `runner` (the in-container runner, see
 * runner/backend.ts; undefined from its factory falls back to `exec`). Tests may plug in another
 * factory through {@link setBlockBackendFactory}.
 *
 * @module
 */

import type { DockerClient } from '../engine/index.js';
import { languageSpec } from './blocks.js';
import { ExecutorError } from './errors.js';
import { type BlockContext, type BlockOutcome, runBlock } from './run-block.js';
import { createRunnerBackend } from './runner/backend.js';
import type { RunnerMode } from './types.js';

/** How blocks run in one started container: one per container (re)start, disposed at stop/reset. */
export interface BlockBackend {
  readonly mode: 'runner' | 'exec';
  /** Runs one block file (path inside the container) with the interpreter for `language`. */
  run(ctx: BlockContext, language: string, file: string, signal: AbortSignal | undefined): Promise<BlockOutcome>;
  /** Releases what the backend holds (the runner's exec stream). Never throws. */
  dispose(): Promise<void>;
}

/** What a backend factory is told about the container. */
export interface BlockBackendOptions {
  /** The code's environment, `KEY=value`. */
  env: string[];
  /** The code's user, when it is not the image's. */
  user: string | undefined;
  /** The image the container runs. */
  image: string;
  /** `off`: the exec backend, whatever the image. Default `auto`. */
  runner?: RunnerMode | undefined;
  /** Persistent sessions (the runner backend). */
  persistent?: boolean | undefined;
}

/** Makes a backend for a container just (re)started; undefined falls back to `exec`. */
export type BlockBackendFactory = (
  docker: DockerClient,
  containerId: string,
  options: BlockBackendOptions,
) => Promise<BlockBackend | undefined>;

/** The exec backend: each block is an exec of its interpreter (interpreters looked up once per container). */
export class ExecBlockBackend implements BlockBackend {
  readonly mode = 'exec' as const;
  /** The interpreters found in this container, by language: new with each backend, so with each (re)start. */
  readonly #interpreters = new Map<string, string>();

  run(ctx: BlockContext, language: string, file: string, signal: AbortSignal | undefined): Promise<BlockOutcome> {
    const interpreter = languageSpec(language)?.interpreter ?? language;
    return runBlock({ ...ctx, interpreters: this.#interpreters }, interpreter, file, signal);
  }

  async dispose(): Promise<void> {
    this.#interpreters.clear();
  }
}

let factory: BlockBackendFactory | undefined;

/**
 * Plugs in the factory of the other backend (the in-container runner). Internal: not exported
 * from the package. `undefined` goes back to `exec` only.
 */
export function setBlockBackendFactory(next: BlockBackendFactory | undefined): void {
  factory = next;
}

/**
 * The backend for a container just (re)started: the plugged-in factory's, else the runner's
 * (unless `runner` is `off`), else `exec` (an image without Python 3.8+).
 */
export async function openBlockBackend(docker: DockerClient, containerId: string, options: BlockBackendOptions): Promise<BlockBackend> {
  const recorded = recordedSession(docker);
  if (recorded && options.persistent) {
    throw new ExecutorError(
      `persistent: true cannot be used with a berth/testing ${recorded} client: a persistent session lives in the runner's long-lived stream, whose replay would depend on timing; record and replay with persistent: false`,
    );
  }
  const make = factory ?? (options.runner === 'off' || recorded ? undefined : createRunnerBackend);
  return (await make?.(docker, containerId, options)) ?? new ExecBlockBackend();
}

/**
 * `'record'` or `'replay'` when berth/testing records or replays this client (recordingClient,
 * replayClient, BERTH_RECORD, BERTH_REPLAY). Blocks then run by exec: the runner's one long-lived
 * stream interleaves output with the host's timers, so its replay would depend on timing, while an
 * exec per block replays exchange by exchange.
 */
function recordedSession(docker: DockerClient): 'record' | 'replay' | undefined {
  return (docker as unknown as Record<symbol, 'record' | 'replay' | undefined>)[Symbol.for('berth.testing.mode')];
}
