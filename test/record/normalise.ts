/**
 * Normalisation of recorded exchanges, so that re-recording the same scenario gives the same
 * files: IDs, timestamps, PIDs and host-specific values are replaced by fixed values. The rules
 * are documented in fixtures/README.md; keep the two in step.
 */
import type { RecordedBody, RecordedExchange, RecordedFrame } from '../../src/engine/transport/recording.js';
import { base64ToBytes, bytesToBase64 } from '../../src/engine/transport/recording.js';

/** Every non-zero RFC 3339 timestamp becomes this. */
export const FIXED_TIME = '2000-01-01T00:00:00Z';
/** Unix seconds of {@link FIXED_TIME}. */
export const FIXED_UNIX = 946_684_800;
/** Unix nanoseconds of {@link FIXED_TIME}. */
export const FIXED_UNIX_NANO = 946_684_800_000_000_000;
/** Every non-zero PID becomes this. */
export const FIXED_PID = 4242;
/** The engine host's name (`/info` `Name`). */
export const FIXED_HOST_NAME = 'docker-host';
/** The engine's ID (`/info` `ID`). */
export const FIXED_ENGINE_ID = 'AAAA:AAAA:AAAA:AAAA:AAAA:AAAA:AAAA:AAAA:AAAA:AAAA:AAAA:AAAA';

/**
 * The n-th (from 1) distinct 64-hex ID of a scenario: the counter in the first 12 digits (so that
 * short IDs stay distinct), zeros after. Still hex, so ID validation accepts it.
 */
export function fakeId(n: number): string {
  return n.toString(16).padStart(12, '0') + '0'.repeat(52);
}

const HEX64 = /(?<![0-9a-f])[0-9a-f]{64}(?![0-9a-f])/g;
const HEX12 = /(?<![0-9a-zA-Z])[0-9a-f]{12}(?![0-9a-zA-Z])/g;
const RFC3339 = /\b(\d{4})-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}(?:\.\d+)?(?:Z|[+-]\d{2}:\d{2})/g;

/** The age in a container summary's `Status` ("Up 3 seconds", "Exited (0) 2 minutes ago"). */
const STATUS_DURATION = /^((?:Up|Exited \(-?\d+\)) )(?:Less than a second|About an? \w+|\d+ \w+)/;

/** Unix-time fields (numbers) replaced wherever they occur in a JSON body. */
const UNIX_SECONDS_FIELDS = new Set(['Created', 'time', 'LastTagTime']);
const UNIX_NANO_FIELDS = new Set(['timeNano']);
/** Query parameters holding times, and what they become. */
const TIME_QUERY = new Map([
  ['since', FIXED_UNIX],
  ['until', FIXED_UNIX + 60],
]);
/** Fields of `/info` that change from call to call or with what else runs on the engine. */
const INFO_COUNTERS: Record<string, number> = {
  Containers: 1,
  ContainersRunning: 1,
  ContainersPaused: 0,
  ContainersStopped: 0,
  NFd: 42,
  NGoroutines: 42,
  NEventsListener: 0,
};

/**
 * Drops the polls of `GET /exec/{id}/json` that still said `Running: true` when a later inspect of
 * the same exec follows: how many polls `exec.run` needs is timing, not behaviour.
 */
export function dropExecPolls(exchanges: readonly RecordedExchange[]): RecordedExchange[] {
  return exchanges.filter((exchange, index) => {
    const { request, response } = exchange;
    if (request.method !== 'GET' || !/\/exec\/[^/]+\/json$/.test(request.path)) return true;
    const body = response.body;
    const running = body !== null && 'json' in body && (body.json as { Running?: unknown } | null)?.Running === true;
    if (!running) return true;
    return !exchanges.slice(index + 1).some((later) => later.request.method === 'GET' && later.request.path === request.path);
  });
}

/**
 * Normalises the exchanges of one scenario (the ID mapping spans the whole scenario, so the same
 * container has the same fake ID in every file of it).
 */
export function normaliseScenario(exchanges: readonly RecordedExchange[]): RecordedExchange[] {
  // IDs are numbered in order of first appearance, which is deterministic.
  const ids = new Map<string, string>();
  for (const exchange of exchanges) {
    for (const match of JSON.stringify(exchange).matchAll(HEX64)) {
      if (!ids.has(match[0])) ids.set(match[0], fakeId(ids.size + 1));
    }
  }
  const shortIds = new Map<string, string>();
  for (const [real, fake] of ids) shortIds.set(real.slice(0, 12), fake.slice(0, 12));

  const text = (value: string): string =>
    value
      .replace(HEX64, (id) => ids.get(id) ?? id)
      .replace(HEX12, (id) => shortIds.get(id) ?? id)
      .replace(RFC3339, (stamp, year: string) => (year === '0001' ? stamp : FIXED_TIME));

  const json = (value: unknown, key?: string): unknown => {
    if (typeof value === 'string') return key === 'Status' ? text(value).replace(STATUS_DURATION, '$1Less than a second') : text(value);
    if (typeof value === 'number' && key !== undefined) {
      if (UNIX_SECONDS_FIELDS.has(key) && value > 0) return FIXED_UNIX;
      if (UNIX_NANO_FIELDS.has(key) && value > 0) return FIXED_UNIX_NANO;
      if (key === 'Pid' && value > 0) return FIXED_PID;
      return value;
    }
    if (Array.isArray(value)) return value.map((item) => json(item));
    if (value !== null && typeof value === 'object') {
      const out: Record<string, unknown> = {};
      for (const [k, v] of Object.entries(value)) out[text(k)] = json(v, k);
      return out;
    }
    return value;
  };

  const frame = (f: RecordedFrame): RecordedFrame => ('text' in f ? { stream: f.stream, text: text(f.text) } : f);

  const body = (b: RecordedBody | null): RecordedBody | null => {
    if (b === null) return null;
    if ('json' in b) return { json: json(b.json) };
    if ('jsonLines' in b) return { jsonLines: b.jsonLines.map((v) => json(v)) };
    if ('text' in b) return { text: text(b.text) };
    if ('frames' in b) return { frames: b.frames.map(frame) };
    return b;
  };

  return exchanges.map((exchange) => {
    const { request, response } = exchange;
    const path = normalisePath(text(request.path));
    const headers: Record<string, string> = {};
    for (const [name, value] of Object.entries(response.headers)) {
      headers[name] = name === 'x-docker-container-path-stat' ? normaliseStat(value, json) : text(value);
    }
    let responseBody = body(response.body);
    if (request.method === 'GET' && /^\/v[\d.]+\/info$/.test(request.path) && responseBody && 'json' in responseBody) {
      responseBody = { json: normaliseInfo(responseBody.json as Record<string, unknown>) };
    }
    const out: RecordedExchange = {
      request: { method: request.method, path, headers: { ...request.headers }, body: body(request.body) },
      response: { status: response.status, headers, body: responseBody },
    };
    if (response.truncated) out.response.truncated = true;
    return out;
  });
}

/** Times in the query become fixed: `since` {@link FIXED_UNIX}, `until` a minute later. */
function normalisePath(path: string): string {
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

/** The path-stat header is base64 JSON: decode, normalise, re-encode. */
function normaliseStat(value: string, json: (value: unknown) => unknown): string {
  try {
    const stat = JSON.parse(new TextDecoder().decode(base64ToBytes(value))) as unknown;
    return bytesToBase64(new TextEncoder().encode(JSON.stringify(json(stat))));
  } catch {
    return value;
  }
}

function normaliseInfo(info: Record<string, unknown>): Record<string, unknown> {
  const out: Record<string, unknown> = { ...info };
  if (typeof out.ID === 'string' && out.ID !== '') out.ID = FIXED_ENGINE_ID;
  if (typeof out.Name === 'string') out.Name = FIXED_HOST_NAME;
  for (const [key, value] of Object.entries(INFO_COUNTERS)) if (typeof out[key] === 'number') out[key] = value;
  return out;
}

/** A file name for the n-th exchange: `NN-method-slug.json`, e.g. `03-get-containers-id-json.json`. */
export function exchangeFileName(index: number, exchange: RecordedExchange, width: number): string {
  const pathOnly = exchange.request.path.split('?')[0] ?? '';
  let decoded = pathOnly;
  try {
    decoded = decodeURIComponent(pathOnly);
  } catch {
    // keep it encoded
  }
  const slug =
    decoded
      .replace(/^\/v\d+\.\d+\//, '/')
      .replace(/sha256:[0-9a-f]{64}/g, 'id')
      .replace(/[0-9a-f]{64}/g, 'id')
      .toLowerCase()
      .replace(/[^a-z0-9]+/g, '-')
      .replace(/^-+|-+$/g, '')
      .slice(0, 60) || 'root';
  return `${String(index + 1).padStart(width, '0')}-${exchange.request.method.toLowerCase()}-${slug}.json`;
}
