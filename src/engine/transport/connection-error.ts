/**
 * What every socket adapter (Node, Bun, Deno) says when the engine cannot be reached: one
 * {@link DockerConnectionError} that names the address, the operating system's error code and
 * what to check. Pure web-standard code: runs on Node, Bun and Deno.
 *
 * @module
 */

import { DockerConnectionError, osCodeOf } from '../errors.js';
import type { Transport, TransportRequest } from './types.js';

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

/** TLS alert numbers (RFC 8446 §6) that an engine sends when it refuses a client. */
const ALERTS: Record<number, string> = {
  40: 'handshake failure',
  42: 'bad certificate',
  43: 'unsupported certificate',
  44: 'certificate revoked',
  45: 'certificate expired',
  46: 'certificate unknown',
  48: 'unknown ca',
  49: 'access denied',
  116: 'certificate required',
};

/**
 * The TLS alert a runtime reports, in words: Node's `ERR_SSL_…_ALERT_BAD_CERTIFICATE` or
 * `SSL alert number 42`, Deno's `received fatal alert: BadCertificate`. Bun reports none.
 */
export function tlsAlertOf(error: unknown): string | undefined {
  let current: unknown = error;
  for (let depth = 0; depth < 5 && typeof current === 'object' && current !== null; depth++) {
    const { code, message } = current as { code?: unknown; message?: unknown };
    const fromCode = typeof code === 'string' ? /ALERT_([A-Z_]+)$/.exec(code)?.[1] : undefined;
    if (fromCode) return fromCode.toLowerCase().replace(/_/g, ' ');
    const text = typeof message === 'string' ? message : '';
    const numbered = /alert number (\d+)/i.exec(text);
    if (numbered) return ALERTS[Number(numbered[1])] ?? `alert ${numbered[1]}`;
    const named = /fatal alert: ([A-Za-z]+)/.exec(text)?.[1] ?? /alert ([a-z ]+?)(?::|$)/.exec(text)?.[1];
    if (named) return named.replace(/([a-z])([A-Z])/g, '$1 $2').toLowerCase();
    current = (current as { cause?: unknown }).cause;
  }
  return undefined;
}

/**
 * Wraps a TLS transport so that a connection the engine ends during or right after the handshake
 * says so: an engine started with `--tlsverify` closes it when no client certificate (or one it
 * does not trust) is offered, and the runtime then reports only `other side closed`, `EPROTO` or
 * a TLS alert. Other errors pass through as they are.
 *
 * @param transport The runtime's transport to a `tcp://` engine with TLS.
 * @param clientCertificate Whether a client certificate and key were given.
 */
export function explainTlsFailures(transport: Transport, clientCertificate: boolean): Transport {
  const explain = (error: unknown): unknown => {
    if (!(error instanceof DockerConnectionError) || !error.message.startsWith('cannot reach the engine')) return error;
    const alert = tlsAlertOf(error.cause);
    const code = error.osCode ?? runtimeErrorCode(error.cause);
    const closed = ['UND_ERR_SOCKET', 'ECONNRESET', 'EPIPE', 'EPROTO'].includes(code ?? '') || /^ERR_SSL_/.test(code ?? '');
    if (!alert && !closed) return error;
    const address = error.tried[0] ?? transport.address;
    const happened = `the engine at ${address} closed the TLS connection during or right after the handshake${alert ? ` (TLS alert: ${alert})` : ''}`;
    const advice = clientCertificate
      ? 'check that it trusts the client certificate given (signed by the CA it was started with) and that ca signs its own certificate'
      : 'it may require a client certificate, and none was given: set DOCKER_CERT_PATH to a folder with cert.pem and key.pem, or pass tls: { ca, cert, key }';
    return new DockerConnectionError(`${happened}; ${advice} (${code ?? 'error'}: ${messageOf(error.cause)})`, {
      tried: error.tried,
      cause: error.cause,
      osCode: error.osCode,
    });
  };
  return {
    address: transport.address,
    request: (request: TransportRequest) => transport.request(request).catch((error: unknown) => Promise.reject(explain(error))),
    hijack: (request: TransportRequest) => transport.hijack(request).catch((error: unknown) => Promise.reject(explain(error))),
    close: () => transport.close(),
  };
}
