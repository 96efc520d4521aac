/**
 * The runner's wire format (docs/runner-protocol.md): messages framed as one type byte, a
 * 4-byte big-endian payload length and the payload, over any bidirectional byte stream.
 */

/** Message types, host to runner. */
export const HOST = { run: 'R', cancel: 'C' } as const;
/** Message types, runner to host. */
export const RUNNER = {
  hello: 'H',
  started: 'S',
  stdout: 'O',
  stderr: 'E',
  image: 'I',
  exit: 'X',
  fatal: 'F',
} as const;

/** One decoded message. */
export interface RunnerMessage {
  type: string;
  payload: Uint8Array;
}

const encoder = new TextEncoder();
const decoder = new TextDecoder();

/** Encodes one message; `payload` is an object (sent as JSON) or bytes. */
export function encodeMessage(type: string, payload: object | Uint8Array = new Uint8Array(0)): Uint8Array {
  const body = payload instanceof Uint8Array ? payload : encoder.encode(JSON.stringify(payload));
  const out = new Uint8Array(5 + body.length);
  out[0] = type.charCodeAt(0);
  new DataView(out.buffer).setUint32(1, body.length);
  out.set(body, 5);
  return out;
}

/** The JSON payload of a control message. */
export function jsonPayload<T>(message: RunnerMessage): T {
  return JSON.parse(decoder.decode(message.payload)) as T;
}

/**
 * Splits a byte stream into messages, whatever the chunking: a queue of chunks and a cursor, so
 * a chunk is never copied unless a message straddles two of them.
 */
export class MessageReader {
  readonly #chunks: Uint8Array[] = [];
  #offset = 0;
  #buffered = 0;

  /** Adds bytes from the stream; returns the messages they complete, in order. */
  push(chunk: Uint8Array): RunnerMessage[] {
    if (chunk.length > 0) {
      this.#chunks.push(chunk);
      this.#buffered += chunk.length;
    }
    const messages: RunnerMessage[] = [];
    while (this.#buffered >= 5) {
      const header = this.#peek(5);
      const size = new DataView(header.buffer, header.byteOffset, 5).getUint32(1);
      if (this.#buffered < 5 + size) break;
      this.#take(5);
      messages.push({ type: String.fromCharCode(header[0] as number), payload: this.#take(size) });
    }
    return messages;
  }

  /** Bytes received that do not yet make a whole message. */
  get pending(): number {
    return this.#buffered;
  }

  #peek(n: number): Uint8Array {
    const first = this.#chunks[0] as Uint8Array;
    if (first.length - this.#offset >= n) return first.subarray(this.#offset, this.#offset + n);
    const out = new Uint8Array(n);
    let filled = 0;
    let offset = this.#offset;
    for (const chunk of this.#chunks) {
      const part = chunk.subarray(offset, offset + (n - filled));
      out.set(part, filled);
      filled += part.length;
      offset = 0;
      if (filled === n) break;
    }
    return out;
  }

  #take(n: number): Uint8Array {
    const out = this.#peek(n);
    this.#buffered -= n;
    let left = n;
    while (left > 0) {
      const first = this.#chunks[0] as Uint8Array;
      const available = first.length - this.#offset;
      if (available > left) {
        this.#offset += left;
        left = 0;
      } else {
        left -= available;
        this.#chunks.shift();
        this.#offset = 0;
      }
    }
    // A copy only when the message straddled chunks (peek made one); otherwise a view.
    return out;
  }
}
