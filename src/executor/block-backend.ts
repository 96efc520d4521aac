/**
 * How blocks run in one started container. The executor makes one backend after each container
 * (re)start and disposes it before stop, restart and reset. Two implementations: `exec` (here: an
 * exec per block, see {@link runBlock}) and `runner` (an in-container runner, plugged in through
 * {@link setBlockBackendFactory}; undefined from its factory falls back to `exec`).
 *
 * @module
 */

import type { DockerClient } from '../engine/index.js';
import { languageSpec } from './blocks.js';
import { type BlockContext, type BlockOutcome, runBlock } from './run-block.js';

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

/** The backend for a container just (re)started: the plugged-in factory's, else `exec`. */
export async function openBlockBackend(docker: DockerClient, containerId: string, options: BlockBackendOptions): Promise<BlockBackend> {
  return (await factory?.(docker, containerId, options)) ?? new ExecBlockBackend();
}
