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

/** One decoded message: its payload as the pieces of the stream it arrived in (views, not copies). */
export interface RunnerMessage {
  type: string;
  parts: Uint8Array[];
}

/** A message's payload in one piece (copied only when it arrived in several). */
export function payloadOf(message: RunnerMessage): Uint8Array {
  const { parts } = message;
  if (parts.length === 1) return parts[0] as Uint8Array;
  const out = new Uint8Array(parts.reduce((n, part) => n + part.length, 0));
  let offset = 0;
  for (const part of parts) {
    out.set(part, offset);
    offset += part.length;
  }
  return out;
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
  return JSON.parse(decoder.decode(payloadOf(message))) as T;
}

/**
 * Splits a byte stream into messages, whatever the chunking: a queue of chunks and a cursor; a
 * payload is handed on as views of the chunks it arrived in (a large output message spans many
 * transport frames, and is never copied here).
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
      const header = payloadOf({ type: '', parts: this.#peek(5) });
      const size = new DataView(header.buffer, header.byteOffset, 5).getUint32(1);
      if (this.#buffered < 5 + size) break;
      this.#take(5);
      messages.push({ type: String.fromCharCode(header[0] as number), parts: this.#take(size) });
    }
    return messages;
  }

  /** Bytes received that do not yet make a whole message. */
  get pending(): number {
    return this.#buffered;
  }

  /** The next `n` bytes, as views of the chunks they are in. */
  #peek(n: number): Uint8Array[] {
    const out: Uint8Array[] = [];
    let left = n;
    let offset = this.#offset;
    for (const chunk of this.#chunks) {
      if (left === 0) break;
      const part = chunk.subarray(offset, offset + left);
      out.push(part);
      left -= part.length;
      offset = 0;
    }
    return out;
  }

  #take(n: number): Uint8Array[] {
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
    return out;
  }
}
