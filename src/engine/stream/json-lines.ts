/**
 * Decoder for newline-delimited JSON streams (image pull and push progress, events, build
 * output). Lines are split on `\n` (a trailing `\r` is tolerated), blank lines are skipped, and
 * several JSON objects or arrays concatenated on one line (`{…}{…}`) are decoded one by one, as
 * the daemon's own streaming decoder accepts them. Pure web-standard code: runs on Node, Bun
 * and Deno.
 *
 * @module
 */

import { DockerArgumentError, DockerStreamError } from '../errors.js';

/** Options of {@link JsonLineDecoder} and {@link jsonLines}. */
export interface JsonLinesOptions {
  /** The longest line accepted, in bytes; a longer line is an error. Default: 16 MiB. */
  maxLineBytes?: number;
}

const DEFAULT_MAX_LINE_BYTES = 16 * 1024 * 1024;
const NEWLINE = 0x0a;
const SNIPPET = 200;

/**
 * Incremental JSON-lines decoder: feed it chunks with {@link JsonLineDecoder.push} and call
 * {@link JsonLineDecoder.end} at the end of input. Chunks may be split at any byte, including
 * inside a multi-byte UTF-8 character. Memory is bounded by `maxLineBytes` plus one chunk.
 * After it throws, the decoder is unusable and every further call throws the same error.
 *
 * @typeParam T The type of each decoded value (not validated).
 */
export class JsonLineDecoder<T = unknown> {
  readonly #maxLineBytes: number;
  readonly #text = new TextDecoder();
  /** Copies of the bytes of the current, unfinished line. */
  #pending: Uint8Array[] = [];
  #pendingLength = 0;
  #failure: DockerStreamError | undefined;

  /** @param options `maxLineBytes`: the longest line accepted (default 16 MiB). */
  constructor(options?: JsonLinesOptions) {
    const max = options?.maxLineBytes ?? DEFAULT_MAX_LINE_BYTES;
    if (!(max >= 1)) throw new DockerArgumentError('maxLineBytes', `must be a positive number, got ${max}`);
    this.#maxLineBytes = max;
  }

  /**
   * Feeds bytes; returns the values of the lines that are now complete.
   *
   * @throws {DockerStreamError} on invalid JSON or a line longer than `maxLineBytes`.
   */
  push(chunk: Uint8Array): T[] {
    if (this.#failure) throw this.#failure;
    const out: T[] = [];
    let pos = 0;
    for (;;) {
      const nl = chunk.indexOf(NEWLINE, pos);
      if (nl === -1) break;
      const piece = chunk.subarray(pos, nl);
      pos = nl + 1;
      if (this.#pendingLength === 0) {
        this.#checkLength(piece.length);
        this.#parseLine(piece, out);
      } else {
        this.#checkLength(this.#pendingLength + piece.length);
        this.#pending.push(piece);
        this.#parseLine(this.#takePending(), out);
      }
    }
    if (pos < chunk.length) {
      this.#checkLength(this.#pendingLength + chunk.length - pos);
      // Copy, so that a small unfinished tail does not keep a large chunk alive.
      this.#pending.push(chunk.slice(pos));
      this.#pendingLength += chunk.length - pos;
    }
    return out;
  }

  /**
   * Call at the end of input; returns the values of a last line that had no final newline.
   *
   * @throws {DockerStreamError} if that line is invalid JSON.
   */
  end(): T[] {
    if (this.#failure) throw this.#failure;
    const out: T[] = [];
    if (this.#pendingLength > 0) this.#parseLine(this.#takePending(), out);
    return out;
  }

  #checkLength(length: number): void {
    if (length > this.#maxLineBytes) {
      this.#pending = [];
      this.#pendingLength = 0;
      this.#fail(`JSON line longer than the limit of ${this.#maxLineBytes} bytes`);
    }
  }

  #takePending(): Uint8Array {
    const parts = this.#pending;
    let total = 0;
    for (const p of parts) total += p.length;
    const bytes = new Uint8Array(total);
    let offset = 0;
    for (const p of parts) {
      bytes.set(p, offset);
      offset += p.length;
    }
    this.#pending = [];
    this.#pendingLength = 0;
    return bytes;
  }

  #parseLine(bytes: Uint8Array, out: T[]): void {
    if (bytes.length === 0) return;
    const line = this.#text.decode(bytes).trim();
    if (line === '') return;
    try {
      out.push(JSON.parse(line) as T);
      return;
    } catch (error) {
      // Maybe several values concatenated on one line: `{…}{…}`.
      const values = splitConcatenated(line);
      if (values === undefined || values.length < 2) this.#invalid(line, error);
      for (const text of values) {
        try {
          out.push(JSON.parse(text) as T);
        } catch (inner) {
          this.#invalid(line, inner);
        }
      }
    }
  }

  #invalid(line: string, cause: unknown): never {
    const detail = cause instanceof Error ? `${cause.message}; ` : '';
    const snippet = line.length > SNIPPET ? `${line.slice(0, SNIPPET)}…` : line;
    this.#failure = new DockerStreamError(`invalid JSON in stream (${detail}line: ${snippet})`, { cause });
    throw this.#failure;
  }

  #fail(message: string): never {
    this.#failure = new DockerStreamError(message);
    throw this.#failure;
  }
}

/**
 * Splits a line of concatenated top-level JSON objects and arrays (`{…} {…}[…]`) into the text
 * of each. Tracks strings, escapes and bracket depth; does not validate (JSON.parse does).
 * Returns `undefined` when the line holds something else at top level.
 */
function splitConcatenated(line: string): string[] | undefined {
  const values: string[] = [];
  const n = line.length;
  let i = 0;
  while (i < n) {
    let c = line.charCodeAt(i);
    if (c === 0x20 || c === 0x09 || c === 0x0d || c === 0x0a) {
      i++;
      continue;
    }
    if (c !== 0x7b /* { */ && c !== 0x5b /* [ */) return undefined;
    const start = i;
    let depth = 0;
    let inString = false;
    for (; i < n; i++) {
      c = line.charCodeAt(i);
      if (inString) {
        if (c === 0x5c /* \ */) i++;
        else if (c === 0x22 /* " */) inString = false;
      } else if (c === 0x22) inString = true;
      else if (c === 0x7b || c === 0x5b) depth++;
      else if (c === 0x7d /* } */ || c === 0x5d /* ] */) {
        if (--depth === 0) break;
      }
    }
    if (i >= n) return undefined; // unbalanced
    i++;
    values.push(line.slice(start, i));
  }
  return values;
}

/**
 * Decodes a newline-delimited JSON stream into values. Pull-based: the next chunk is read only
 * when the consumer asks for the next value. When the consumer stops early, the source
 * iterator's `return()` is called.
 *
 * @typeParam T The type of each decoded value (not validated).
 * @param source The raw response body.
 * @param options `maxLineBytes`: the longest line accepted (default 16 MiB).
 * @throws {DockerStreamError} on invalid JSON or an over-long line.
 */
export async function* jsonLines<T = unknown>(
  source: AsyncIterable<Uint8Array>,
  options?: JsonLinesOptions,
): AsyncGenerator<T, void, undefined> {
  const decoder = new JsonLineDecoder<T>(options);
  for await (const chunk of source) {
    const values = decoder.push(chunk);
    for (let i = 0; i < values.length; i++) yield values[i] as T;
  }
  yield* decoder.end();
}
