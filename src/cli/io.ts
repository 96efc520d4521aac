import { readFileSync } from 'node:fs';
import { constants } from 'node:os';

/** A stream the CLI writes to. */
export interface CliOutput {
  write(text: string): unknown;
  isTTY?: boolean | undefined;
}

/** What the CLI talks to: the process's streams, environment and interruption, or fakes in tests. */
export interface CliIo {
  stdout: CliOutput;
  stderr: CliOutput;
  /** Read by `berth run -`. */
  stdin: AsyncIterable<string | Uint8Array> & { destroy?: () => unknown };
  /** Aborted when the process is interrupted; its reason is the signal's name (`SIGINT`, `SIGTERM`). */
  signal: AbortSignal;
  /** Environment read for `DOCKER_HOST`, `DOCKER_CONTEXT`, … */
  env: Record<string, string | undefined>;
}

/** The exit status after an interruption: 128 + the signal's number (130 for SIGINT, 143 for SIGTERM). */
export function interruptedExitCode(signal: AbortSignal): number {
  const name = typeof signal.reason === 'string' ? signal.reason : 'SIGINT';
  const number = (constants.signals as Record<string, number | undefined>)[name] ?? constants.signals.SIGINT;
  return 128 + number;
}

/** An error's message, or the value as text. */
export function messageOf(error: unknown): string {
  return error instanceof Error ? error.message : String(error);
}

/** Berth's version, read from the package.json next to `dist/` (or `src/`). */
export function berthVersion(): string {
  try {
    const json = JSON.parse(readFileSync(new URL('../../package.json', import.meta.url), 'utf8')) as { version?: unknown };
    return typeof json.version === 'string' ? json.version : 'unknown';
  } catch {
    return 'unknown';
  }
}

/**
 * Writes the code's output and Berth's notes, starting a note on a fresh line when the output
 * did not end with one.
 */
export class Console {
  readonly #io: CliIo;
  #atLineStart = true;

  constructor(io: CliIo) {
    this.#io = io;
  }

  /** Writes output of the code to the matching stream. */
  write(stream: 'stdout' | 'stderr', text: string): void {
    if (text === '') return;
    (stream === 'stdout' ? this.#io.stdout : this.#io.stderr).write(text);
    this.#atLineStart = text.endsWith('\n');
  }

  /** Writes `berth: <text>` on its own line to standard error. */
  note(text: string): void {
    this.#io.stderr.write(`${this.#atLineStart ? '' : '\n'}berth: ${text}\n`);
    this.#atLineStart = true;
  }
}
