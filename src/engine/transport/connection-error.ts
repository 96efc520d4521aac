/**
 * What every socket adapter (Node, Bun, Deno) says when the engine cannot be reached: one
 * {@link DockerConnectionError} that names the address, the operating system's error code and
 * what to check. Pure web-standard code: runs on Node, Bun and Deno.
 *
 * @module
 */

import { DockerConnectionError, osCodeOf } from '../errors.js';

const HINTS: Record<string, string> = {
  ENOENT: 'no socket there: is the engine running? Start dockerd, or set DOCKER_HOST',
  ECONNREFUSED: 'nothing listens there: the engine is not running, or it is the wrong address',
  EACCES: 'permission denied: add your user to the docker group, or use rootless Docker',
  EPERM: 'permission denied: add your user to the docker group, or use rootless Docker',
  ENOTSOCK: 'that path is not a socket: check DOCKER_HOST or the socketPath option',
  UND_ERR_CONNECT_TIMEOUT: 'the connection timed out: is the engine overloaded, or the address wrong?',
  UND_ERR_HEADERS_TIMEOUT: 'the engine accepted the connection but did not answer in time',
  ECONNRESET: 'the engine closed the connection',
  UND_ERR_SOCKET: 'the engine closed the connection',
  EPROTO: 'TLS handshake failed: is this a TLS port, and is the certificate right?',
};

/** Linux `errno` values that runtimes report only inside a message, as `(os error N)` (Deno's fetch). */
const ERRNO: Record<number, string> = {
  1: 'EPERM',
  2: 'ENOENT',
  13: 'EACCES',
  32: 'EPIPE',
  88: 'ENOTSOCK',
  104: 'ECONNRESET',
  110: 'ETIMEDOUT',
  111: 'ECONNREFUSED',
  113: 'EHOSTUNREACH',
};

/**
 * The OS error code of an error: its own `code` or that of a `cause` (Node, Bun, `Deno.connect`),
 * else an `(os error N)` in the message of the error or a cause (Deno's `fetch`).
 *
 * @param error Anything thrown by a runtime's socket or fetch.
 */
export function runtimeErrorCode(error: unknown): string | undefined {
  const direct = osCodeOf(error) ?? (error as { code?: unknown } | undefined)?.code;
  if (typeof direct === 'string' && direct !== '') return direct;
  let current: unknown = error;
  for (let depth = 0; depth < 5 && typeof current === 'object' && current !== null; depth++) {
    const match = /\(os error (\d+)\)/.exec(String((current as { message?: unknown }).message ?? ''));
    const code = match ? ERRNO[Number(match[1])] : undefined;
    if (code) return code;
    current = (current as { cause?: unknown }).cause;
  }
  return undefined;
}

/** The most specific message of an error and its causes (Deno's fetch says only `fetch failed`; the cause says why). */
function messageOf(error: unknown): string {
  const message = (error as Error | undefined)?.message ?? String(error);
  const cause = (error as { cause?: unknown } | undefined)?.cause as { message?: unknown } | undefined;
  if (typeof cause?.message === 'string' && cause.message !== '' && !message.includes(cause.message)) {
    return `${message}: ${cause.message}`;
  }
  return message;
}

/**
 * Builds a {@link DockerConnectionError} that names the address, the OS error and what to check.
 *
 * @param address Where the transport connects, e.g. `unix:///var/run/docker.sock`.
 * @param error What the runtime threw.
 * @param what What failed; default `cannot reach the engine`.
 */
export function connectionError(address: string, error: unknown, what = 'cannot reach the engine'): DockerConnectionError {
  const code = runtimeErrorCode(error);
  const message = messageOf(error);
  let hint = code ? HINTS[code] : undefined;
  if (!hint && /certificate|self.signed|unable to verify|alert|ssl|tls/i.test(message)) {
    hint = 'TLS failed: check DOCKER_CERT_PATH (ca.pem, cert.pem, key.pem) and that the engine listens with TLS';
  }
  if (!hint && /HPE_|Parse Error|invalid HTTP/i.test(message)) {
    hint = 'the peer does not speak HTTP: a plain-HTTP client against a TLS port, or the wrong port';
  }
  return new DockerConnectionError(`${what} at ${address} (${code ?? 'error'}: ${message})${hint ? `; ${hint}` : ''}`, {
    tried: [address],
    cause: error,
    osCode: code,
  });
}
