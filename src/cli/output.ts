/**
 * The parts of a result's `output` that were not streamed: the executor's own messages
 * (`Unsupported language: …`, `\n Timeout`, `Code execution was cancelled.`, the truncation mark,
 * a dead container's note), which sit between or after the streamed chunks. `chunks` are the
 * texts `onOutput` received, in order; `output` is built from the same texts in the same order
 * with the messages inserted, so each chunk is found after the previous one.
 *
 * @returns The gaps between and after the chunks, non-empty ones only, in order.
 */
export function unstreamedParts(output: string, chunks: readonly string[]): string[] {
  const parts: string[] = [];
  let position = 0;
  for (const chunk of chunks) {
    if (chunk === '') continue;
    const at = output.indexOf(chunk, position);
    if (at < 0) break;
    if (at > position) parts.push(output.slice(position, at));
    position = at + chunk.length;
  }
  if (position < output.length) parts.push(output.slice(position));
  return parts;
}

/** The executor's messages the CLI replaces with its own words. */
const REPLACED = new Set(['Timeout', 'Code execution was cancelled.']);

/**
 * The executor's messages in the unstreamed parts as lines for `berth: …` notes: trimmed,
 * non-empty, without the timeout and cancellation marks (the CLI says those itself).
 */
export function executorNotes(output: string, chunks: readonly string[]): string[] {
  return unstreamedParts(output, chunks)
    .flatMap((part) => part.split('\n'))
    .map((line) => line.trim())
    .filter((line) => line !== '' && !REPLACED.has(line))
    .map((line) => (line === TRUNCATED ? '[output truncated: more than --max-output bytes]' : line));
}

/** The executor's truncation mark, which names its option; the CLI names its own. */
const TRUNCATED = '[output truncated: more than maxOutputBytes]';
