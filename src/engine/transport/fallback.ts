/**
 * The first engine that answers, among several sockets. A socket file can outlive its engine (a
 * stopped or uninstalled Docker leaves `/var/run/docker.sock` behind), and then Podman's socket
 * further down the list is the engine the user meant. Pure web-standard code.
 *
 * @module
 */

import { DockerArgumentError, DockerConnectionError } from '../errors.js';
import type { HijackedConnection, Transport, TransportRequest, TransportResponse } from './types.js';

/** A transport that asks each candidate in turn and keeps the first that answers. */
export interface FallbackTransport extends Transport {
  /** The candidate in use once one answered, else the first. */
  readonly address: string;
}

/**
 * Creates a transport over `candidates`, in order. The first request sends `GET /_ping` to each
 * until one answers with any HTTP status; that one carries every request from then on, and the
 * others are closed. A candidate that cannot be reached (refused, missing, not answering within
 * `probeTimeout`) is skipped. With one candidate there is no probe.
 *
 * @param candidates Transports to try, first preferred.
 * @param probeTimeout Milliseconds each probe may wait for an answer. Default 5000.
 * @throws DockerConnectionError (from the first request) when none answers, listing each address and why.
 */
export function createFallbackTransport(candidates: readonly Transport[], probeTimeout = 5000): FallbackTransport {
  const [first] = candidates;
  if (first === undefined) throw new DockerArgumentError('candidates', 'createFallbackTransport needs at least one transport');
  if (candidates.length === 1) return first;
  let chosen: Transport | undefined;
  let probing: Promise<Transport> | undefined;

  const probe = async (): Promise<Transport> => {
    const failures: { address: string; error: unknown }[] = [];
    for (const candidate of candidates) {
      try {
        const response = await candidate.request({ method: 'GET', path: '/_ping', headers: {}, headersTimeout: probeTimeout });
        await response.body.cancel();
        chosen = candidate;
        await Promise.all(candidates.filter((c) => c !== candidate).map((c) => c.close().catch(() => {})));
        return candidate;
      } catch (error) {
        if (!(error instanceof DockerConnectionError)) throw error;
        failures.push({ address: candidate.address, error });
      }
    }
    const firstError = failures[0]?.error as DockerConnectionError | undefined;
    throw new DockerConnectionError(
      `no engine answered on any socket found: ${failures.map((f) => `${f.address}: ${(f.error as Error).message}`).join('; ')}`,
      { tried: failures.map((f) => f.address), cause: firstError, osCode: firstError?.osCode },
    );
  };

  const get = async (signal: AbortSignal | undefined): Promise<Transport> => {
    if (chosen) return chosen;
    signal?.throwIfAborted();
    // One probe for all callers (each bounded by probeTimeout per candidate); a failed probe is tried again by the next call.
    probing ??= probe().finally(() => {
      probing = undefined;
    });
    if (!signal) return probing;
    // A caller that gives up does not cancel the probe for the others.
    let onAbort: (() => void) | undefined;
    const aborted = new Promise<never>((_, reject) => {
      onAbort = () => reject(signal.reason);
      signal.addEventListener('abort', onAbort, { once: true });
    });
    try {
      return await Promise.race([probing, aborted]);
    } finally {
      if (onAbort) signal.removeEventListener('abort', onAbort);
    }
  };

  return {
    get address() {
      return (chosen ?? first).address;
    },
    async request(request: TransportRequest): Promise<TransportResponse> {
      return (await get(request.signal)).request(request);
    },
    async hijack(request: TransportRequest): Promise<HijackedConnection> {
      return (await get(request.signal)).hijack(request);
    },
    async close(): Promise<void> {
      await Promise.all(candidates.map((c) => c.close().catch(() => {})));
    },
  };
}
