/**
 * `berth/testing`: record your code's Docker Engine traffic once, replay it in tests without Docker.
 *
 * - {@link recordingClient} talks to the real engine and records every exchange into a folder.
 * - {@link replayClient} answers from that folder: no socket, no network, no msw.
 * - {@link mswHandlers} serves the same folder through msw (an optional peer dependency).
 * - `BERTH_RECORD=<dir>` / `BERTH_REPLAY=<dir>` make every `DockerClient` of a process record or replay.
 *
 * The folder format (`berth-fixtures/1`) and the normalisation rules are in `fixtures/README.md`.
 *
 * @module
 */

import { DockerClient, type DockerClientOptions } from '../engine/client.js';
import type { Transport } from '../engine/transport/types.js';
import type { ReplayOptions } from './replay.js';
import { newRecordingTarget, newReplaySession, recordInto, replayFrom } from './sessions.js';

export { FixtureMismatchError, isFixtureMismatchError, type MismatchedRequest, type NearestExchange } from './errors.js';
export {
  FIXTURE_FORMAT,
  type FixtureMeta,
  type RecordedBody,
  type RecordedExchange,
  type RecordedFrame,
  type RecordedFrameStream,
  type RecordedRequest,
  type RecordedResponse,
  recordedBodyBytes,
} from './format.js';
export { type MswHandlersOptions, mswHandlers } from './msw.js';
export type { ReplayOptions } from './replay.js';

const TESTING_WRAP = Symbol.for('berth.testing.wrap');
const TESTING_MODE = Symbol.for('berth.testing.mode');

/**
 * A client that talks to the real engine (found from `options` like any {@link DockerClient}) and
 * records every exchange into `dir`: plain requests, JSON-lines streams, multiplexed and TTY
 * output, hijacked attach and exec with what was written to stdin. Values that change from run
 * to run (IDs, generated names, block nonces, temp folders, timestamps) are written as stable
 * placeholders, so recording the same scenario twice gives the same files.
 *
 * The folder is written when the client is closed (`await docker.close()`) and when the process
 * exits; each write replaces the exchange files of an earlier recording in that folder.
 *
 * @param dir The recording folder (created if missing).
 * @param options Where the engine is, as for `new DockerClient(options)`.
 * @example
 * ```ts
 * const docker = recordingClient('fixtures/my-agent');
 * await runMyAgent(docker);
 * await docker.close(); // writes fixtures/my-agent/
 * ```
 */
export function recordingClient(dir: string, options: DockerClientOptions = {}): DockerClient {
  const target = newRecordingTarget(dir);
  return new DockerClient({
    ...options,
    [TESTING_WRAP]: (base: () => Transport) => recordInto(base(), target),
    [TESTING_MODE]: 'record',
  } as DockerClientOptions);
}

/**
 * A client that answers every request from the recording in `dir`, with no socket, no network and
 * no msw: it works with no engine at all, on Node, Bun and Deno. Streams come chunk by chunk (one
 * frame, one JSON line, one line of TTY output at a time); a stream that was still open when the
 * recording client sent later requests (a block that timed out) stays open until the code sends
 * them again. Requests are normalised as they were when recording, and the recorded answers get
 * this run's values back (the container name this run generated, its temp folder).
 *
 * A request that matches no recorded exchange rejects with a {@link FixtureMismatchError}.
 *
 * @param dir A folder written by {@link recordingClient} or `BERTH_RECORD`.
 * @param options `order: 'strict'` (default) or `'any'`; see {@link ReplayOptions}.
 * @throws DockerArgumentError when `dir` holds no recording.
 * @example
 * ```ts
 * const docker = replayClient('fixtures/my-agent');
 * await runMyAgent(docker); // the same answers as when it was recorded
 * ```
 */
export function replayClient(dir: string, options: ReplayOptions = {}): DockerClient {
  const session = newReplaySession(dir, options);
  const transport = replayFrom(session);
  const apiVersion = session.recording.meta.apiVersion;
  return new DockerClient({
    // Pinned to the recorded version: the recording's negotiation `/_ping` is then skipped.
    ...(apiVersion !== undefined ? { apiVersion } : {}),
    [TESTING_WRAP]: () => transport,
  } as DockerClientOptions);
}
