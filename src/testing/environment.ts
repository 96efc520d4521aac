/**
 * `BERTH_RECORD=<dir>` and `BERTH_REPLAY=<dir>`: every `DockerClient` of the process records into
 * the folder, or replays from it. Loaded by the client's first request, only when one is set.
 *
 * @module
 */

import { resolve } from 'node:path';
import { DockerArgumentError } from '../engine/errors.js';
import type { Transport } from '../engine/transport/types.js';
import type { ReplaySession } from './replay.js';
import { newRecordingTarget, newReplaySession, type RecordingTarget, recordInto, replayFrom } from './sessions.js';

// One recording (and one replay) per folder for the whole process: every client adds to it.
const recordings = new Map<string, RecordingTarget>();
const replays = new Map<string, ReplaySession>();

/**
 * The transport a client uses under `BERTH_RECORD` / `BERTH_REPLAY` (`BERTH_REPLAY_ORDER=any`
 * relaxes the order of a replay).
 *
 * @param env The environment the client reads.
 * @param base The transport the client would use otherwise (not created for a replay).
 * @throws DockerArgumentError when both are set, or `BERTH_REPLAY_ORDER` is not `strict` or `any`.
 */
export function environmentTransport(env: Record<string, string | undefined>, base: () => Transport): Transport {
  if (env.BERTH_RECORD && env.BERTH_REPLAY) {
    throw new DockerArgumentError('BERTH_REPLAY', 'BERTH_RECORD and BERTH_REPLAY are both set: set one of them');
  }
  if (env.BERTH_REPLAY) {
    const order = env.BERTH_REPLAY_ORDER || 'strict';
    if (order !== 'strict' && order !== 'any') {
      throw new DockerArgumentError('BERTH_REPLAY_ORDER', `expected strict or any, got ${JSON.stringify(order)}`);
    }
    const dir = resolve(env.BERTH_REPLAY);
    let session = replays.get(dir);
    if (!session) {
      session = newReplaySession(dir, { order });
      replays.set(dir, session);
    }
    return replayFrom(session);
  }
  const dir = resolve(env.BERTH_RECORD as string);
  let target = recordings.get(dir);
  if (!target) {
    target = newRecordingTarget(dir);
    recordings.set(dir, target);
  }
  return recordInto(base(), target);
}
