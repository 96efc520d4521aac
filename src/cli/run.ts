import { readFile } from 'node:fs/promises';
import { DockerClient } from '../engine/index.js';
import { DockerCommandLineCodeExecutor } from '../executor/executor.js';
import type { CodeBlock } from '../executor/types.js';
import type { RunCommand } from './args.js';
import { type CliIo, Console, interruptedExitCode, messageOf } from './io.js';
import { extractCodeBlocks } from './markdown.js';
import { executorNotes } from './output.js';
import { PullProgress } from './progress.js';

/** The exit status when the engine or Berth itself failed, as `docker run` says it: never the code's own. */
export const BERTH_FAILURE = 125;

/** Notes the interruption, except for a closed output pipe (nobody is reading). */
function sayInterrupted(out: Console, io: CliIo, text: string): void {
  if (io.signal.reason !== 'SIGPIPE') out.note(text);
}

/** Reads a stream to its end as UTF-8, or gives up (destroying the stream) when `signal` aborts. */
async function readAll(stream: CliIo['stdin'], signal: AbortSignal): Promise<string | undefined> {
  if (signal.aborted) return undefined;
  const parts: Uint8Array[] = [];
  const reading = (async () => {
    for await (const chunk of stream) parts.push(typeof chunk === 'string' ? Buffer.from(chunk, 'utf8') : chunk);
    return Buffer.concat(parts).toString('utf8');
  })();
  let onAbort: (() => void) | undefined;
  const aborted = new Promise<undefined>((done) => {
    onAbort = () => {
      // An open stdin would keep the process alive.
      reading.catch(() => {});
      stream.destroy?.();
      done(undefined);
    };
    signal.addEventListener('abort', onAbort, { once: true });
  });
  try {
    return await Promise.race([reading, aborted]);
  } finally {
    if (onAbort) signal.removeEventListener('abort', onAbort);
  }
}

/** The blocks to run: the whole source as one block, or the markdown's fenced blocks that name a language. */
function blocksOf(command: RunCommand, text: string, say: (note: string) => void, name: string): CodeBlock[] {
  if (!command.markdown) return [{ language: command.language ?? 'python', code: text }];
  const blocks: CodeBlock[] = [];
  for (const block of extractCodeBlocks(text)) {
    if (block.language === '') {
      say(`skipping the code block at line ${block.line} of ${name}: it names no language`);
      continue;
    }
    blocks.push({ language: block.language, code: block.code });
  }
  return blocks;
}

/**
 * `berth run`: runs a code file or a markdown message's code blocks in a fresh executor,
 * streaming the output, and returns the exit status (the code's; 124 on timeout; 128 + the
 * signal's number when interrupted; {@link BERTH_FAILURE} (125, as `docker run`) when the engine
 * or Berth fails; 2 when the source cannot be read). The executor is always stopped.
 */
export async function runCode(command: RunCommand, io: CliIo): Promise<number> {
  const out = new Console(io);
  const name = command.source === '-' ? 'standard input' : command.source;
  let text: string | undefined;
  try {
    text = command.source === '-' ? await readAll(io.stdin, io.signal) : await readFile(command.source, 'utf8');
  } catch (error) {
    out.note(`cannot read ${name}: ${messageOf(error)}`);
    return 2;
  }
  if (text === undefined || io.signal.aborted) return interruptedExitCode(io.signal);

  const blocks = blocksOf(command, text, (note) => out.note(note), name);
  if (blocks.length === 0) {
    out.note(`no code blocks to run in ${name} (fenced blocks need a language, as in \`\`\`python)`);
    return 1;
  }

  const progress = command.quiet ? undefined : new PullProgress(command.image, io.stderr);
  const docker = new DockerClient({ env: io.env });
  let executor: DockerCommandLineCodeExecutor;
  try {
    executor = new DockerCommandLineCodeExecutor({
      image: command.image,
      timeout: command.timeout,
      sandbox: command.sandbox,
      pullPolicy: command.pull,
      docker,
      ...(command.maxOutput !== undefined ? { maxOutputBytes: command.maxOutput } : {}),
      ...(command.workDir !== undefined ? { workDir: command.workDir } : {}),
      ...(progress ? { onPullProgress: (message) => progress.update(message) } : {}),
    });
  } catch (error) {
    out.note(messageOf(error));
    await docker.close().catch(() => {});
    return BERTH_FAILURE;
  }

  let code: number;
  try {
    code = await execute(executor, blocks, command, io, out, progress);
  } catch (error) {
    if (io.signal.aborted) sayInterrupted(out, io, 'interrupted');
    else out.note(messageOf(error));
    code = io.signal.aborted ? interruptedExitCode(io.signal) : BERTH_FAILURE;
  }
  try {
    await executor.stop();
  } catch (error) {
    out.note(`could not stop the executor: ${messageOf(error)}`);
    if (code === 0) code = BERTH_FAILURE;
  } finally {
    await docker.close().catch(() => {});
  }
  return code;
}

/** Starts the executor, runs the blocks and says what the executor said; returns the exit status. */
async function execute(
  executor: DockerCommandLineCodeExecutor,
  blocks: readonly CodeBlock[],
  command: RunCommand,
  io: CliIo,
  out: Console,
  progress: PullProgress | undefined,
): Promise<number> {
  try {
    await executor.start();
    progress?.finish(true);
  } catch (error) {
    progress?.finish(false);
    throw error;
  }
  if (io.signal.aborted) {
    sayInterrupted(out, io, 'interrupted');
    return interruptedExitCode(io.signal);
  }
  const chunks: string[] = [];
  const result = await executor.executeCodeBlocks(blocks, io.signal, {
    onOutput: ({ stream, text }) => {
      chunks.push(text);
      out.write(stream, text);
    },
  });
  if (io.signal.aborted) {
    // Whatever the executor says about the killed block is noise after Ctrl-C.
    sayInterrupted(out, io, 'interrupted; the code was stopped');
    return interruptedExitCode(io.signal);
  }
  for (const note of executorNotes(result.output, chunks)) out.note(note);
  if (result.timedOut) out.note(`timed out after ${command.timeout} s`);
  else if (result.cancelled) out.note('cancelled');
  return result.exitCode;
}
