/**
 * Transports of `berth/testing` over folders: a recording transport that feeds a
 * {@link RecordingSession}, and a replay transport over a {@link ReplaySession}.
 *
 * @module
 */

import type { Transport } from '../engine/transport/types.js';
import { createRecordingTransport, createSequenceCounter, type SequenceCounter } from './recorder.js';
import { createReplayTransport, type ReplayOptions, ReplaySession, TESTING_TRANSPORT } from './replay.js';
import { machineNormaliser, RecordingSession, readRecording } from './store.js';

/** A recording session and the sequence counter its clients share. */
export interface RecordingTarget {
  session: RecordingSession;
  counter: SequenceCounter;
}

/** A new recording into `dir` (replacing what the folder holds when it is written). */
export function newRecordingTarget(dir: string): RecordingTarget {
  return { session: new RecordingSession(dir), counter: createSequenceCounter() };
}

/** Wraps `inner` so that its exchanges go into `target`; closing it writes the folder. */
export function recordInto(inner: Transport, target: RecordingTarget): Transport {
  target.session.setAddress(inner.address);
  const recording = createRecordingTransport(inner, (raw) => target.session.add(raw), target.counter);
  return {
    [TESTING_TRANSPORT]: true,
    get address() {
      return inner.address;
    },
    request: (request) => recording.request(request),
    hijack: (request) => recording.hijack(request),
    async close() {
      try {
        await recording.close();
      } finally {
        target.session.flush();
      }
    },
  } as Transport;
}

/** A new replay of the recording in `dir`. */
export function newReplaySession(dir: string, options: ReplayOptions = {}): ReplaySession {
  return new ReplaySession(readRecording(dir), machineNormaliser(), options);
}

/** A transport answering from `session`; its address is the recorded one (so `isLocal()` answers as it did). */
export function replayFrom(session: ReplaySession): Transport {
  return createReplayTransport(session, session.recording.meta.address ?? `replay://${session.recording.dir}`);
}
