/**
 * Normalisation: the values that change from one run to the next (IDs, generated names, block
 * nonces, temp folders, timestamps, hashes) become stable placeholders, so that recording the same
 * scenario twice gives the same files and a replay matches a new run. The rules are documented
 * in `fixtures/README.md`; keep the two in step.
 *
 * A {@link Normaliser} is stateful: the n-th distinct value of a kind becomes the n-th placeholder
 * of that kind. A recording normalises its exchanges in request order; a replay normalises each
 * request as it arrives (so a new run's values get the same placeholders) and {@link Normaliser.restore}s
 * each answer (placeholders that stand for a value of this run become that value again).
 *
 * Pure web-standard code: runs on Node, Bun and Deno.
 *
 * @module
 */

import {
  base64ToBytes,
  bytesToBase64,
  type RecordedBody,
  type RecordedExchange,
  type RecordedFrame,
  type RecordedRequest,
  type RecordedResponse,
} from './format.js';

/** Every non-zero RFC 3339 timestamp becomes this. */
export const FIXED_TIME = '2000-01-01T00:00:00Z';
/** Unix seconds of {@link FIXED_TIME}. */
export const FIXED_UNIX = 946_684_800;
/** Unix nanoseconds of {@link FIXED_TIME}. */
export const FIXED_UNIX_NANO = 946_684_800_000_000_000;
/** Every non-zero PID becomes this. */
export const FIXED_PID = 4242;
/** This machine's host name becomes this. */
export const FIXED_HOST_NAME = 'docker-host';
/** The engine's ID (`/info` `ID`). */
export const FIXED_ENGINE_ID = 'AAAA:AAAA:AAAA:AAAA:AAAA:AAAA:AAAA:AAAA:AAAA:AAAA:AAAA:AAAA';

/**
 * The n-th (from 1) placeholder for a hex value of `length` digits (IDs, digests, hashes, nonces):
 * the counter in the first 12 digits (so that short IDs stay distinct), zeros after. Still hex, so
 * ID validation accepts it.
 */
export function fakeId(n: number, length = 64): string {
  const head = n.toString(16).padStart(12, '0');
  return length >= 12 ? head + '0'.repeat(length - 12) : head.slice(-length);
}

/** Hex runs of these lengths are IDs or hashes (sha256, sha1, md5). */
const HEX_ID = /(?<![0-9a-f])(?:[0-9a-f]{64}|[0-9a-f]{40}|[0-9a-f]{32})(?![0-9a-f])/g;
const HEX12 = /(?<![0-9a-zA-Z])[0-9a-f]{12}(?![0-9a-zA-Z])/g;
const UUID = /(?<![0-9a-fA-F])[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12}(?![0-9a-fA-F])/g;
/** A nonce in an environment entry: `BERTH_BLOCK=<nonce>`, or any `…_NONCE=<nonce>`. */
const NONCE_ENV = /\b(?:BERTH_BLOCK|[A-Z][A-Z0-9_]*_NONCE)=([0-9A-Za-z_-]{8,})/g;
const RFC3339 = /\b(\d{4})-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}(?:\.\d+)?(?:Z|[+-]\d{2}:\d{2})/g;
/** The age in a container summary's `Status` ("Up 3 seconds", "Exited (0) 2 minutes ago"). */
const STATUS_DURATION = /^((?:Up|Exited \(-?\d+\)) )(?:Less than a second|About an? \w+|\d+ \w+)/;
/** Unix-time fields (numbers) replaced wherever they occur in a JSON body. */
const UNIX_SECONDS_FIELDS = new Set(['Created', 'time', 'LastTagTime']);
const UNIX_NANO_FIELDS = new Set(['timeNano']);
/** Query parameters holding times, and what they become. */
const TIME_QUERY = new Map([
  ['since', String(FIXED_UNIX)],
  ['until', String(FIXED_UNIX + 60)],
]);
/** Fields of `/info` that change from call to call or with what else runs on the engine. */
const INFO_COUNTERS: Record<string, number> = {
  Containers: 1,
  Images: 2,
  ContainersRunning: 1,
  ContainersPaused: 0,
  ContainersStopped: 0,
  NFd: 42,
  NGoroutines: 42,
  NEventsListener: 0,
};

/** What a normaliser needs to know about this machine. */
export interface NormaliserOptions {
  /** Folders that hold temp folders (`os.tmpdir()` and its real path): `<root>/<name>` becomes a placeholder. */
  tmpRoots?: readonly string[];
  /** This machine's host name: a string that is exactly it becomes {@link FIXED_HOST_NAME}. */
  hostName?: string | undefined;
}

type Kind = 'hex' | 'uuid' | 'nonce' | 'tmp' | 'address';

function escapeRegExp(text: string): string {
  return text.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');
}

/** Replaces run-to-run values by placeholders (and back). See the module documentation. */
export class Normaliser {
  readonly #forward = new Map<string, string>();
  readonly #reverse = new Map<string, string>();
  readonly #counters = new Map<string, number>();
  readonly #tmp: RegExp | undefined;
  readonly #hostName: string | undefined;
  /** Known nonces and temp folders, replaced literally wherever they occur. */
  #literals: RegExp | undefined;
  /** Placeholders of nonces, temp folders and UUIDs, restored literally. */
  #placeholders: RegExp | undefined;

  constructor(options: NormaliserOptions = {}) {
    const roots = [...new Set((options.tmpRoots ?? []).filter((root) => root.length > 1).map((root) => root.replace(/\/+$/, '')))];
    roots.sort((a, b) => b.length - a.length);
    this.#tmp = roots.length ? new RegExp(`(?:${roots.map(escapeRegExp).join('|')})/[^/\\s"'\\\\:]+`, 'g') : undefined;
    this.#hostName = options.hostName;
  }

  #counterKey(kind: Kind, length: number): string {
    return `${kind}:${length}`;
  }

  #placeholder(kind: Kind, real: string, n: number): string {
    switch (kind) {
      case 'hex':
        return fakeId(n, real.length);
      case 'uuid':
        return `00000000-0000-4000-8000-${n.toString(16).padStart(12, '0')}`;
      case 'nonce':
        return fakeId(n, real.length).replace(/^0/, 'n');
      case 'tmp':
        return `/berth-tmp-${n}`;
      case 'address':
        if (real.includes(':') && !real.includes('.')) {
          return /^[0-9a-f]{2}(?::[0-9a-f]{2}){5}$/i.test(real)
            ? `02:42:0a:00:00:${(n % 256).toString(16).padStart(2, '0')}`
            : `fd00::${n.toString(16)}`;
        }
        return `10.0.${Math.floor(n / 256) % 256}.${n % 256}`;
    }
  }

  /** The placeholder of `real`, allocating the next one of its kind when it is new. */
  #map(kind: Kind, real: string): string {
    const known = this.#forward.get(real);
    if (known !== undefined) return known;
    // Already a placeholder (a known value replaced earlier in the same string).
    if (this.#reverse.has(real)) return real;
    const key = this.#counterKey(kind, kind === 'hex' || kind === 'nonce' ? real.length : 0);
    const n = (this.#counters.get(key) ?? 0) + 1;
    this.#counters.set(key, n);
    const placeholder = this.#placeholder(kind, real, n);
    this.#forward.set(real, placeholder);
    this.#reverse.set(placeholder, real);
    if (kind !== 'hex') this.#rebuildLiterals();
    return placeholder;
  }

  #rebuildLiterals(): void {
    const literals: string[] = [];
    const placeholders: string[] = [];
    for (const [real, placeholder] of this.#forward) {
      if (/^[0-9a-f]+$/.test(real) && (real.length === 64 || real.length === 40 || real.length === 32)) continue;
      literals.push(real);
      placeholders.push(placeholder);
    }
    const build = (list: string[]) =>
      list.length
        ? new RegExp(
            [...list]
              .sort((a, b) => b.length - a.length)
              .map(escapeRegExp)
              .join('|'),
            'g',
          )
        : undefined;
    this.#literals = build(literals);
    this.#placeholders = build(placeholders);
  }

  /** Normalises a string: nonces, temp folders, IDs and hashes, short IDs, UUIDs, timestamps. */
  text(value: string): string {
    for (const match of value.matchAll(NONCE_ENV)) this.#map('nonce', match[1] as string);
    let out = value;
    if (this.#tmp) out = out.replace(this.#tmp, (path) => (isTempFolder(path) ? this.#map('tmp', path) : path));
    if (this.#literals) out = out.replace(this.#literals, (real) => this.#forward.get(real) ?? real);
    out = out.replace(HEX_ID, (id) => this.#map('hex', id));
    out = out.replace(HEX12, (short) => {
      for (const [real, placeholder] of this.#forward) {
        if (real.length === 64 && real.startsWith(short)) return placeholder.slice(0, 12);
      }
      return short;
    });
    out = out.replace(UUID, (uuid) => this.#map('uuid', uuid.toLowerCase()));
    return out.replace(RFC3339, (stamp, year: string) => (year === '0001' ? stamp : FIXED_TIME));
  }

  #json(value: unknown, key?: string): unknown {
    if (typeof value === 'string') {
      if (this.#hostName !== undefined && value === this.#hostName) return FIXED_HOST_NAME;
      if (key !== undefined && /(?:^|\.)pid$/i.test(key) && /^[1-9]\d*$/.test(value)) return String(FIXED_PID);
      // A container's addresses on a network depend on what else runs on the engine.
      if (key !== undefined && value !== '' && /^(?:IPAddress|GlobalIPv6Address|MacAddress)$/.test(key)) return this.#map('address', value);
      const text = this.text(value);
      return key === 'Status' ? text.replace(STATUS_DURATION, '$1Less than a second') : text;
    }
    if (typeof value === 'number' && key !== undefined) {
      if (UNIX_SECONDS_FIELDS.has(key) && value > 0) return FIXED_UNIX;
      if (UNIX_NANO_FIELDS.has(key) && value > 0) return FIXED_UNIX_NANO;
      if (key === 'Pid' && value > 0) return FIXED_PID;
      return value;
    }
    if (Array.isArray(value)) return value.map((item) => this.#json(item));
    if (value !== null && typeof value === 'object') {
      const out: Record<string, unknown> = {};
      for (const [k, v] of Object.entries(value)) out[this.text(k)] = this.#json(v, k);
      return out;
    }
    return value;
  }

  #body(body: RecordedBody | null | undefined): RecordedBody | null {
    if (body === null || body === undefined) return null;
    if ('json' in body) return { json: this.#json(body.json) };
    if ('jsonLines' in body) return { jsonLines: body.jsonLines.map((v) => this.#json(v)) };
    if ('text' in body) return { text: this.text(body.text) };
    if ('frames' in body)
      return { frames: body.frames.map((f): RecordedFrame => ('text' in f ? { stream: f.stream, text: this.text(f.text) } : f)) };
    return { base64: normaliseTarBase64(body.base64) };
  }

  /** Normalises a request (path, query times, body, stdin). */
  request(request: RecordedRequest): RecordedRequest {
    const out: RecordedRequest = {
      method: request.method,
      path: normaliseQueryTimes(this.text(request.path)),
      headers: { ...request.headers },
      body: this.#body(request.body),
    };
    if (request.stdin !== undefined) out.stdin = this.#body(request.stdin);
    return out;
  }

  /** Normalises a response (headers, body, `/info` counters). */
  response(response: RecordedResponse, request: RecordedRequest): RecordedResponse {
    const headers: Record<string, string> = {};
    for (const [name, value] of Object.entries(response.headers)) {
      headers[name] = name === 'x-docker-container-path-stat' ? this.#stat(value) : this.text(value);
    }
    let body = this.#body(response.body);
    if (request.method === 'GET' && /^(?:\/v[\d.]+)?\/info$/.test(request.path) && body && 'json' in body) {
      body = { json: normaliseInfo(body.json as Record<string, unknown>) };
    }
    const out: RecordedResponse = { status: response.status, headers, body };
    if (response.truncated) out.truncated = true;
    if (response.endsAfter !== undefined) out.endsAfter = response.endsAfter;
    if (response.endsAfterRead !== undefined) out.endsAfterRead = response.endsAfterRead;
    if (response.stdinBefore !== undefined) out.stdinBefore = response.stdinBefore;
    return out;
  }

  /** Normalises an exchange, request first. */
  exchange(exchange: RecordedExchange): RecordedExchange {
    const request = this.request(exchange.request);
    const response = this.response(exchange.response, exchange.request);
    return exchange.hijacked ? { request, response, hijacked: true } : { request, response };
  }

  #stat(value: string): string {
    try {
      const stat = JSON.parse(new TextDecoder().decode(base64ToBytes(value))) as unknown;
      return bytesToBase64(new TextEncoder().encode(JSON.stringify(this.#json(stat))));
    } catch {
      return value;
    }
  }

  /**
   * Replay: turns the placeholders of a recorded string back into this run's values (a container
   * name this run generated, its temp folder). A placeholder that stands for no value of this run
   * (an ID the engine made up) stays as it is, and from then on stands for itself.
   */
  restoreText(value: string): string {
    let out = value.replace(HEX12, (short) => {
      for (const [placeholder, real] of this.#reverse) {
        if (placeholder.length === 64 && placeholder.startsWith(short)) return real.slice(0, 12);
      }
      return short;
    });
    // One pass, so that a restored value is never taken for a placeholder.
    const sources = [HEX_ID.source, UUID.source];
    if (this.#placeholders) sources.unshift(this.#placeholders.source);
    out = out.replace(new RegExp(sources.join('|'), 'g'), (token) => {
      const real = this.#reverse.get(token);
      if (real !== undefined) return real;
      if (/^[0-9a-f]+$/.test(token)) return this.#restoreOne('hex', token);
      if (/-/.test(token) && token.length === 36) return this.#restoreOne('uuid', token);
      return token;
    });
    return out;
  }

  #restoreOne(kind: Kind, placeholder: string): string {
    const real = this.#reverse.get(placeholder);
    if (real !== undefined) return real;
    // An answer's own value (an ID the engine made): it stands for itself from now on, and the
    // numbering goes on after it, as it did when recording.
    this.#forward.set(placeholder, placeholder);
    this.#reverse.set(placeholder, placeholder);
    const key = this.#counterKey(kind, kind === 'hex' ? placeholder.length : 0);
    const n = Number.parseInt(kind === 'hex' ? placeholder.slice(0, 12) : placeholder.slice(-12), 16);
    if (Number.isFinite(n)) this.#counters.set(key, Math.max(this.#counters.get(key) ?? 0, n));
    return placeholder;
  }

  #restoreJson(value: unknown): unknown {
    if (typeof value === 'string') return this.restoreText(value);
    if (Array.isArray(value)) return value.map((item) => this.#restoreJson(item));
    if (value !== null && typeof value === 'object') {
      const out: Record<string, unknown> = {};
      for (const [k, v] of Object.entries(value)) out[this.restoreText(k)] = this.#restoreJson(v);
      return out;
    }
    return value;
  }

  /** Replay: {@link Normaliser.restoreText} over a recorded response (headers and body). */
  restore(response: RecordedResponse): RecordedResponse {
    const headers: Record<string, string> = {};
    for (const [name, value] of Object.entries(response.headers)) headers[name] = this.restoreText(value);
    const body = response.body;
    let restored: RecordedBody | null = body;
    if (body !== null) {
      if ('json' in body) restored = { json: this.#restoreJson(body.json) };
      else if ('jsonLines' in body) restored = { jsonLines: body.jsonLines.map((v) => this.#restoreJson(v)) };
      else if ('text' in body) restored = { text: this.restoreText(body.text) };
      else if ('frames' in body)
        restored = {
          frames: body.frames.map((f): RecordedFrame => ('text' in f ? { stream: f.stream, text: this.restoreText(f.text) } : f)),
        };
    }
    return { ...response, headers, body: restored };
  }
}

/**
 * Whether `<root>/<name>` looks like a folder made by `mkdtemp` (a prefix ending in `-`, `_` or `.`
 * and six random letters and digits, e.g. `/tmp/berth-Ab3xYz`), not a path that merely lies under
 * the temp root (`/tmp/missing.txt` inside a container).
 */
function isTempFolder(path: string): boolean {
  const name = path.slice(path.lastIndexOf('/') + 1);
  return /^[^/]*[-_.][A-Za-z0-9]{6}$/.test(name);
}

/** Times in the query become fixed: `since` {@link FIXED_UNIX}, `until` a minute later. */
function normaliseQueryTimes(path: string): string {
  const q = path.indexOf('?');
  if (q < 0) return path;
  const parts = path
    .slice(q + 1)
    .split('&')
    .map((part) => {
      const key = part.split('=')[0] ?? '';
      const fixed = TIME_QUERY.get(decodeURIComponent(key));
      return fixed === undefined ? part : `${key}=${fixed}`;
    });
  return `${path.slice(0, q)}?${parts.join('&')}`;
}

function normaliseInfo(info: Record<string, unknown>): Record<string, unknown> {
  const out: Record<string, unknown> = { ...info };
  if (typeof out.ID === 'string' && out.ID !== '') out.ID = FIXED_ENGINE_ID;
  if (typeof out.Name === 'string') out.Name = FIXED_HOST_NAME;
  for (const [key, value] of Object.entries(INFO_COUNTERS)) if (typeof out[key] === 'number') out[key] = value;
  return out;
}

/** A base64 body that is a tar archive gets its entries' mtimes fixed (everything else is kept). */
function normaliseTarBase64(base64: string): string {
  const bytes = base64ToBytes(base64);
  const fixed = normaliseTar(bytes);
  return fixed === bytes ? base64 : bytesToBase64(fixed);
}

/**
 * Sets the modification time of every entry of a ustar archive to {@link FIXED_UNIX} (and fixes
 * the header checksums): archives built at run time (code files copied into a container) differ
 * only by their mtimes. Returns the same array when the bytes are not a tar archive.
 */
export function normaliseTar(bytes: Uint8Array): Uint8Array {
  const magic = (at: number) => String.fromCharCode(...bytes.subarray(at + 257, at + 262));
  if (bytes.length < 512 || magic(0) !== 'ustar') return bytes;
  const out = bytes.slice();
  const mtime = `${FIXED_UNIX.toString(8).padStart(11, '0')}\0`;
  let pos = 0;
  while (pos + 512 <= out.length && magic(pos) === 'ustar') {
    const size = Number.parseInt(String.fromCharCode(...out.subarray(pos + 124, pos + 136)).replace(/[\0 ]/g, '') || '0', 8);
    const next = pos + 512 + Math.ceil(size / 512) * 512;
    const current = Number.parseInt(String.fromCharCode(...out.subarray(pos + 136, pos + 148)).replace(/[\0 ]/g, '') || '0', 8);
    // Already the fixed time: the header (and its checksum's layout) stays as it was.
    if (current === FIXED_UNIX) {
      pos = next;
      continue;
    }
    for (let i = 0; i < 12; i++) out[pos + 136 + i] = mtime.charCodeAt(i);
    for (let i = 0; i < 8; i++) out[pos + 148 + i] = 32;
    let sum = 0;
    for (let i = 0; i < 512; i++) sum += out[pos + i] as number;
    const checksum = `${sum.toString(8).padStart(6, '0')}\0 `;
    for (let i = 0; i < 8; i++) out[pos + 148 + i] = checksum.charCodeAt(i);
    pos = next;
  }
  return out;
}
