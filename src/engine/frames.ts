import type { HttpCore } from './http/core.js';
import { frameIterator, type StdFrame } from './stream/demux.js';
import type { HijackedConnection, TransportResponse } from './transport/types.js';

/** An output stream of the engine (logs, exec, attach): frames to iterate, and a way to stop early. */
export interface OutputStream extends AsyncIterable<StdFrame> {
  /** Stops the stream and releases its connection. Safe to call more than once. */
  cancel(): Promise<void>;
}

/**
 * Decides between demultiplexing and passthrough from what is known, never from the bytes: on
 * API >= 1.42 the engine's Content-Type says it; on 1.41 (which labels multiplexed bodies
 * `raw-stream`) the container's or exec's `Tty` flag decides.
 */
export async function isMultiplexed(core: HttpCore, response: Pick<TransportResponse, 'headers'>, tty: boolean): Promise<boolean> {
  const type = response.headers['content-type'] ?? '';
  if (type.includes('application/vnd.docker.multiplexed-stream')) return true;
  if (type.includes('application/vnd.docker.raw-stream') && (await core.atLeast('1.42'))) return false;
  return !tty;
}

/** Wraps a response body as an {@link OutputStream}. */
export function outputStream(response: TransportResponse, multiplexed: boolean): OutputStream {
  const frames = frameIterator(response.body, multiplexed);
  return {
    [Symbol.asyncIterator]: () => frames,
    async cancel() {
      // The body first: it ends a read in progress (as attach's close does), then the iterator stops.
      await response.body.cancel();
      await frames.return();
    },
  };
}

/** A hijacked attach (or exec) connection: output frames, and stdin when attached. */
export interface AttachedStream extends OutputStream {
  /** Writes to the process's stdin. */
  write(data: Uint8Array | string): Promise<void>;
  /** Half-closes stdin: the process reads end-of-file while its output keeps coming. */
  end(): Promise<void>;
}

/** Wraps a hijacked connection as an {@link AttachedStream} (attach, exec with stdin). */
export function attachedStream(connection: HijackedConnection, multiplexed: boolean): AttachedStream {
  const frames = frameIterator(connection.body, multiplexed);
  return {
    [Symbol.asyncIterator]: () => frames,
    write: (data) => connection.write(data),
    end: () => connection.closeWrite(),
    async cancel() {
      connection.close();
      await frames.return();
    },
  };
}
