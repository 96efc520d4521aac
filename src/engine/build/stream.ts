/**
 * The progress of one image build (`POST /build`): an async iterable of the engine's JSON
 * messages that turns an error message into a {@link DockerBuildError} carrying the failing
 * step and what it printed, and a `done()` that reads to the end and gives the image ID.
 *
 * @module
 */

import { DockerBuildError, isDockerApiError } from '../errors.js';
import { jsonLines } from '../stream/json-lines.js';
import type { TransportResponse } from '../transport/types.js';
import type { BuildMessage } from '../types.js';

/** What a finished build produced. */
export interface ImageBuildResult {
  /** The new image's ID (`sha256:…`). */
  id: string;
  /** The tags given as `t`, now naming the image. */
  tags: string[];
  /** Everything the build printed (the `stream` messages, concatenated). */
  output: string;
}

// Docker's classic builder prints `Step 2/3 : RUN x`, Podman (buildah) `STEP 2/3: RUN x`.
const STEP_LINE = /^(?:Step|STEP) \d+\/\d+ ?: .*/;
// Builder chatter between steps that is not the step's own output.
const CHATTER = /^(?: ---> |Removing intermediate container |Successfully built |Successfully tagged |COMMIT |--> )/;

/**
 * One build: iterate it for the progress messages (once), and/or call {@link ImageBuild.done}
 * for the result. Nothing is sent until one of the two starts. Iteration throws a
 * {@link DockerBuildError} at the engine's error message; stopping early (`break`) or
 * {@link ImageBuild.cancel} closes the connection, which makes the engine stop the build.
 */
export class ImageBuild implements AsyncIterable<BuildMessage> {
  readonly #start: () => Promise<TransportResponse>;
  readonly #tags: string[];
  #generator: AsyncGenerator<BuildMessage, void, undefined> | undefined;
  #response: TransportResponse | undefined;
  #id = '';
  #output = '';
  #step: string | undefined;
  #stepOutput = '';
  /** The unfinished last line of the output so far. */
  #partial = '';
  #finished = false;

  /** @internal */
  constructor(start: () => Promise<TransportResponse>, tags: string[]) {
    this.#start = start;
    this.#tags = tags;
  }

  /** The progress messages, in order. Can be iterated once. */
  [Symbol.asyncIterator](): AsyncGenerator<BuildMessage, void, undefined> {
    if (this.#generator) throw new TypeError('an ImageBuild can be iterated only once');
    this.#generator = this.#run();
    return this.#generator;
  }

  /**
   * Reads the build to its end (the messages not yet iterated) and resolves to the image.
   * @throws {DockerBuildError} when the build fails; the abort reason when `signal` aborts.
   */
  async done(): Promise<ImageBuildResult> {
    const generator = this.#generator ?? this[Symbol.asyncIterator]();
    if (!this.#finished) {
      for (;;) {
        const next = await generator.next();
        if (next.done) break;
      }
    }
    if (!this.#finished)
      throw new DockerBuildError({
        daemonMessage: 'the build was stopped before it finished (cancel() or a break out of the loop)',
        output: this.#output,
      });
    if (!this.#id) throw new DockerBuildError({ daemonMessage: 'the build ended without reporting an image ID', output: this.#output });
    return { id: this.#id, tags: [...this.#tags], output: this.#output };
  }

  /** Stops reading and closes the connection (the engine then stops the build). */
  async cancel(): Promise<void> {
    await this.#generator?.return(undefined);
    await this.#response?.body.cancel();
  }

  async *#run(): AsyncGenerator<BuildMessage, void, undefined> {
    try {
      this.#response = await this.#start();
    } catch (error) {
      // Refused before any step (no Dockerfile in the context, a bad option): still a failed build.
      if (isDockerApiError(error)) throw new DockerBuildError({ daemonMessage: error.daemonMessage || error.message, cause: error });
      throw error;
    }
    const body = this.#response.body;
    try {
      for await (const message of jsonLines<BuildMessage>(body)) {
        if (message.error !== undefined || message.errorDetail?.message !== undefined) {
          throw new DockerBuildError({
            daemonMessage: String(message.errorDetail?.message ?? message.error).trim(),
            step: this.#step,
            output: this.#stepOutput + this.#partial,
          });
        }
        if (typeof message.stream === 'string') this.#observe(message.stream);
        const id = message.aux?.ID;
        if (typeof id === 'string') this.#id = id;
        yield message;
      }
      this.#finished = true;
      if (!this.#id) {
        // A quiet Docker build sends no `aux` ID, only `sha256:<id>`; without `aux` the last line `Successfully built <id>` says it.
        const last = /(?:^|\n)(?:Successfully built |sha256:)?([0-9a-f]{12,64})\s*$/.exec(this.#output);
        if (last?.[1]) this.#id = last[1].length === 64 ? `sha256:${last[1]}` : last[1];
      }
    } finally {
      await body.cancel();
    }
  }

  #observe(text: string): void {
    this.#output += text;
    // dockerd wraps a step's stderr in `ESC[91m` … `ESC[0m`: colours, not output.
    const lines = (this.#partial + text.replace(/\x1b\[[0-9;]*m/g, '')).split('\n');
    this.#partial = lines.pop() ?? '';
    for (const line of lines) {
      const step = STEP_LINE.exec(line);
      if (step) {
        this.#step = step[0].trim();
        this.#stepOutput = '';
      } else if (line !== '' && !CHATTER.test(line) && this.#step !== undefined) this.#stepOutput += `${line}\n`;
    }
  }
}
