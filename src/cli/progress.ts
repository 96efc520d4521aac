import type { ProgressMessage } from '../engine/index.js';

interface Layer {
  current: number;
  total: number;
  done: boolean;
}

const LAYER_STATUSES = new Set([
  'Pulling fs layer',
  'Waiting',
  'Downloading',
  'Verifying Checksum',
  'Download complete',
  'Extracting',
  'Pull complete',
  'Already exists',
]);

/** Bytes as `12.3 MB` (decimal units, as docker prints them). */
export function formatBytes(bytes: number): string {
  if (bytes < 1000) return `${bytes} B`;
  const units = ['kB', 'MB', 'GB', 'TB'];
  let value = bytes;
  let unit = 'B';
  for (const next of units) {
    if (value < 1000) break;
    value /= 1000;
    unit = next;
  }
  return `${value.toFixed(1)} ${unit}`;
}

/** Where {@link PullProgress} writes, and whether that is a terminal. */
export interface ProgressSink {
  write(text: string): unknown;
  isTTY?: boolean | undefined;
}

/**
 * Turns the engine's pull progress messages into one compact line on standard error: on a
 * terminal one line rewritten in place (at most every 100 ms), elsewhere a line when the pull
 * starts and one when it ends. Uses no timers.
 */
export class PullProgress {
  readonly #image: string;
  readonly #sink: ProgressSink;
  readonly #now: () => number;
  readonly #layers = new Map<string, Layer>();
  #started = false;
  #finished = false;
  #lastRender = Number.NEGATIVE_INFINITY;
  #status: string | undefined;
  #error: string | undefined;

  constructor(image: string, sink: ProgressSink, now: () => number = Date.now) {
    this.#image = image;
    this.#sink = sink;
    this.#now = now;
  }

  /** True once a progress message arrived. */
  get started(): boolean {
    return this.#started;
  }

  /** Takes one progress message of the pull. */
  update(message: ProgressMessage): void {
    if (this.#finished) return;
    const status = typeof message.status === 'string' ? message.status : '';
    const id = typeof message.id === 'string' ? message.id : undefined;
    if (message.error) this.#error = String(message.errorDetail?.message ?? message.error);
    if (status.startsWith('Status:')) this.#status = status.slice('Status:'.length).trim();
    if (id !== undefined && LAYER_STATUSES.has(status)) {
      const layer = this.#layers.get(id) ?? { current: 0, total: 0, done: false };
      const detail = message.progressDetail;
      if (status === 'Downloading' && detail) {
        if (typeof detail.total === 'number' && detail.total > 0) layer.total = detail.total;
        if (typeof detail.current === 'number') layer.current = Math.min(detail.current, layer.total || detail.current);
      } else if (status === 'Download complete' || status === 'Verifying Checksum' || status === 'Extracting') {
        layer.current = layer.total;
      } else if (status === 'Pull complete' || status === 'Already exists') {
        layer.current = layer.total;
        layer.done = true;
      }
      this.#layers.set(id, layer);
    }
    if (!this.#started) {
      this.#started = true;
      if (!this.#sink.isTTY) this.#sink.write(`berth: pulling ${this.#image}…\n`);
    }
    if (this.#sink.isTTY) {
      const now = this.#now();
      if (now - this.#lastRender >= 100) {
        this.#lastRender = now;
        this.#sink.write(`\r${this.line()}\x1b[K`);
      }
    }
  }

  /** The progress as one line, e.g. `berth: pulling python:3-slim: 2/5 layers, 45.2 MB of 120.1 MB`. */
  line(): string {
    const layers = [...this.#layers.values()];
    const done = layers.filter((layer) => layer.done).length;
    const current = layers.reduce((sum, layer) => sum + layer.current, 0);
    const total = layers.reduce((sum, layer) => sum + layer.total, 0);
    let text = `berth: pulling ${this.#image}`;
    if (layers.length > 0) text += `: ${done}/${layers.length} layers`;
    if (total > 0) text += `, ${formatBytes(current)} of ${formatBytes(total)}`;
    return text;
  }

  /** Ends the display (call it once the pull ended, successfully or not). Writes nothing if no message arrived. */
  finish(ok = true): void {
    if (this.#finished || !this.#started) return;
    this.#finished = true;
    const total = [...this.#layers.values()].reduce((sum, layer) => sum + layer.total, 0);
    const count = this.#layers.size;
    let summary: string;
    if (!ok) summary = `berth: pull of ${this.#image} failed${this.#error ? `: ${this.#error}` : ''}`;
    else {
      const size = total > 0 ? `, ${formatBytes(total)}` : '';
      const layers = count > 0 ? ` (${count} layer${count === 1 ? '' : 's'}${size})` : '';
      summary = `berth: pulled ${this.#image}${layers}${this.#status ? `: ${this.#status}` : ''}`;
    }
    this.#sink.write(this.#sink.isTTY ? `\r${summary}\x1b[K\n` : `${summary}\n`);
  }
}
