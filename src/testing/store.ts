/**
 * Recording folders on disk: reading a recording, and the recording session that collects the
 * exchanges of one or more clients, normalises them and writes the folder (when a client is
 * closed, and at process exit).
 *
 * @module
 */

import { mkdirSync, readdirSync, readFileSync, realpathSync, rmSync, writeFileSync } from 'node:fs';
import { hostname, tmpdir } from 'node:os';
import { basename, join, resolve } from 'node:path';
import { DockerArgumentError } from '../engine/errors.js';
import { FIXTURE_FORMAT, type FixtureMeta, type RecordedExchange } from './format.js';
import { Normaliser } from './normalise.js';
import type { RawExchange } from './recorder.js';

/** A recording read from its folder. */
export interface Recording {
  /** The folder (absolute). */
  dir: string;
  meta: FixtureMeta;
  /** Exchange file names, in order. */
  files: string[];
  /** The exchanges, in order. */
  exchanges: RecordedExchange[];
}

/**
 * Reads a recording folder: `meta.json` and the exchange files it lists (or, without a list, every
 * other `.json` file in name order).
 * @throws DockerArgumentError when the folder or its `meta.json` cannot be read.
 */
export function readRecording(dir: string): Recording {
  const absolute = resolve(dir);
  let meta: FixtureMeta;
  try {
    meta = JSON.parse(readFileSync(join(absolute, 'meta.json'), 'utf8')) as FixtureMeta;
  } catch (error) {
    throw new DockerArgumentError('dir', `no recording in ${absolute}: cannot read meta.json (${(error as Error).message})`);
  }
  if (meta.format !== FIXTURE_FORMAT) {
    throw new DockerArgumentError(
      'dir',
      `${join(absolute, 'meta.json')} is format ${JSON.stringify(meta.format)}, expected ${FIXTURE_FORMAT}`,
    );
  }
  const files = Array.isArray(meta.exchanges)
    ? meta.exchanges
    : readdirSync(absolute)
        .filter((name) => name.endsWith('.json') && name !== 'meta.json')
        .sort();
  const exchanges = files.map((name) => JSON.parse(readFileSync(join(absolute, name), 'utf8')) as RecordedExchange);
  return { dir: absolute, meta, files, exchanges };
}

/** What this machine contributes to normalisation: its temp folders and host name. */
export function machineNormaliser(): Normaliser {
  const roots = [tmpdir()];
  try {
    roots.push(realpathSync(tmpdir()));
  } catch {
    // keep the one we have
  }
  return new Normaliser({ tmpRoots: roots, hostName: hostname() });
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

/**
 * Drops polls whose number is timing, not behaviour: a `GET` followed at once by the same `GET`
 * (waiting for a container to run), and `GET /exec/{id}/json` answers that still said
 * `Running: true` when a later inspect of the same exec follows.
 */
export function dropPolls(raws: readonly RawExchange[]): RawExchange[] {
  return raws.filter((raw, index) => {
    const { request, response } = raw.exchange;
    if (request.method !== 'GET') return true;
    const next = raws[index + 1]?.exchange.request;
    if (next?.method === 'GET' && next.path === request.path && !raw.exchange.hijacked) return false;
    if (!/\/exec\/[^/]+\/json$/.test(request.path)) return true;
    const body = response.body;
    const running = body !== null && 'json' in body && (body.json as { Running?: unknown } | null)?.Running === true;
    if (!running) return true;
    return !raws.slice(index + 1).some((later) => later.exchange.request.method === 'GET' && later.exchange.request.path === request.path);
  });
}

/** Options of a {@link RecordingSession}. */
export interface RecordingSessionOptions {
  /** Written into `meta.json` as `description`. */
  description?: string | undefined;
  /** Written into `meta.json` as `recordedWith`. */
  recordedWith?: string | undefined;
}

const openSessions = new Set<RecordingSession>();
let exitHookInstalled = false;

function installExitHook(): void {
  if (exitHookInstalled) return;
  exitHookInstalled = true;
  const flushAll = () => {
    for (const session of openSessions) {
      try {
        session.flush();
      } catch {
        // at exit there is nobody left to tell
      }
    }
  };
  const scope = globalThis as {
    Deno?: unknown;
    addEventListener?(event: string, listener: () => void): void;
    process?: { on?(event: string, listener: () => void): void };
  };
  // Deno runs `unload` listeners at exit (also on Deno.exit); Node and Bun emit process `exit`.
  if (scope.Deno !== undefined && scope.addEventListener) scope.addEventListener('unload', flushAll);
  else scope.process?.on?.('exit', flushAll);
}

/** Collects the exchanges recorded into one folder and writes them. */
export class RecordingSession {
  readonly dir: string;
  readonly #raws: RawExchange[] = [];
  /** When each exchange finished (1, 2, …): which answers the code had read when a stream ended. */
  readonly #finishOrder = new Map<RawExchange, number>();
  readonly #options: RecordingSessionOptions;
  #address: string | undefined;
  #dirty = true;

  constructor(dir: string, options: RecordingSessionOptions = {}) {
    if (typeof dir !== 'string' || dir === '') throw new DockerArgumentError('dir', 'expected the path of a recording folder');
    this.dir = resolve(dir);
    this.#options = options;
    openSessions.add(this);
    installExitHook();
  }

  /** Notes where the client sends its requests (written into `meta.json`). */
  setAddress(address: string): void {
    this.#address ??= address;
  }

  /** Adds one exchange (from the recording transport), as it finishes. */
  add(raw: RawExchange): void {
    this.#raws.push(raw);
    this.#finishOrder.set(raw, this.#raws.length);
    this.#dirty = true;
  }

  /** The exchanges so far, polls dropped, normalised, in request order. */
  exchanges(): RecordedExchange[] {
    const kept = dropPolls([...this.#raws].sort((a, b) => a.sequence - b.sequence));
    const normaliser = machineNormaliser();
    return kept.map((raw) => {
      const exchange = normaliser.exchange(raw.exchange);
      // The kept requests sent before this stream ended, and which of them had been read to their end.
      const later = kept.filter((other) => other.sequence > raw.sequence && other.sequence <= raw.lastSequenceAtEnd);
      if (later.length > 0) {
        exchange.response.endsAfter = later.length;
        const finished = this.#finishOrder.get(raw) ?? 0;
        const read = later.flatMap((other, k) => ((this.#finishOrder.get(other) ?? Number.POSITIVE_INFINITY) < finished ? [k + 1] : []));
        if (read.length > 0) exchange.response.endsAfterRead = read;
      }
      return exchange;
    });
  }

  /** Writes the folder: one file per exchange and `meta.json`; exchange files no longer produced are deleted. */
  flush(): void {
    if (!this.#dirty) return;
    this.#dirty = false;
    const exchanges = this.exchanges();
    mkdirSync(this.dir, { recursive: true });
    const width = Math.max(2, String(exchanges.length).length);
    const files = exchanges.map((exchange, i) => ({
      name: exchangeFileName(i, exchange, width),
      text: `${JSON.stringify(exchange, null, 2)}\n`,
    }));
    for (const name of readdirSync(this.dir)) {
      if (/^\d+-.*\.json$/.test(name) && !files.some((f) => f.name === name)) rmSync(join(this.dir, name));
    }
    for (const file of files) writeFileSync(join(this.dir, file.name), file.text);
    const apiVersion = exchanges.map((e) => /^\/v(\d+\.\d+)\//.exec(e.request.path)?.[1]).find((v) => v !== undefined);
    const meta: FixtureMeta = {
      format: FIXTURE_FORMAT,
      scenario: basename(this.dir),
      ...(this.#options.description !== undefined ? { description: this.#options.description } : {}),
      ...(apiVersion !== undefined ? { apiVersion } : {}),
      ...(this.#address !== undefined ? { address: this.#address } : {}),
      recordedWith: this.#options.recordedWith ?? 'berth/testing',
      exchanges: files.map((f) => f.name),
    };
    writeFileSync(join(this.dir, 'meta.json'), `${JSON.stringify(meta, null, 2)}\n`);
  }
}
