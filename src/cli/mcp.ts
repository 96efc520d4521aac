import { DockerClient } from '../engine/index.js';
import { DEFAULT_MAX_OUTPUT_BYTES, DockerCommandLineCodeExecutor } from '../executor/executor.js';
import type { DockerCommandLineCodeExecutorOptions } from '../executor/types.js';
import { McpServer } from '../mcp/server.js';
import type { McpCommand } from './args.js';
import { berthVersion, type CliIo, interruptedExitCode, messageOf } from './io.js';

/** The sandbox preset's user (see SandboxOptions.user): the file tools act as the code does. */
const SANDBOX_USER = '65534:65534';

/** Logs an image pull's start and end (the first tool call waits for it), not every progress message. */
function pullLogger(log: (text: string) => void): NonNullable<DockerCommandLineCodeExecutorOptions['onPullProgress']> {
  let said = false;
  return (message) => {
    if (!said) log(`pulling the image (the first tool call waits for it)`);
    said = true;
    if (message.status?.startsWith('Status:')) log(message.status);
  };
}

/** The executor options `berth mcp` runs the code with. */
export function mcpExecutorOptions(
  command: McpCommand,
  docker: DockerClient,
  log: (text: string) => void = () => {},
): DockerCommandLineCodeExecutorOptions {
  // `persistent` is the in-container runner's option; an executor without it ignores it.
  const options: DockerCommandLineCodeExecutorOptions & { persistent?: boolean } = {
    image: command.image,
    timeout: command.timeout,
    sandbox: command.sandbox,
    pullPolicy: command.pull,
    docker,
    labels: command.labels,
    ...(command.network !== undefined ? { networkMode: command.network } : {}),
    ...(command.workDir !== undefined ? { workDir: command.workDir } : {}),
    ...(command.maxOutput !== undefined ? { maxOutputBytes: command.maxOutput } : {}),
    ...(command.persistent ? { persistent: true } : {}),
    onPullProgress: pullLogger(log),
  };
  return options;
}

/**
 * `berth mcp`: serves MCP on the process's stdin and stdout until stdin closes (exit 0) or the
 * process is interrupted (128 + the signal's number); the sandbox is stopped and removed either way.
 */
export async function serveMcp(command: McpCommand, io: CliIo): Promise<number> {
  const log = (text: string) => io.stderr.write(`berth mcp: ${text}\n`);
  const docker = new DockerClient({ env: io.env });
  try {
    // Bad options fail now, not on every tool call (the constructor touches no engine).
    new DockerCommandLineCodeExecutor(mcpExecutorOptions(command, docker));
  } catch (error) {
    log(messageOf(error));
    await docker.close().catch(() => {});
    return 2;
  }
  const server = new McpServer(
    {
      createExecutor: () => new DockerCommandLineCodeExecutor(mcpExecutorOptions(command, docker, log)),
      docker,
      codeUser: command.sandbox ? SANDBOX_USER : undefined,
      maxReadBytes: command.maxOutput ?? DEFAULT_MAX_OUTPUT_BYTES,
      send: (line) => io.stdout.write(line),
      log,
      version: berthVersion(),
    },
    command.timeout,
  );
  log(`ready (image ${command.image}, ${command.sandbox ? `sandboxed, network ${command.network ?? 'none'}` : 'not sandboxed'})`);

  const stdin = io.stdin;
  const ended = (async () => {
    const decoder = new TextDecoder();
    let buffered = '';
    for await (const chunk of stdin) {
      buffered += typeof chunk === 'string' ? chunk : decoder.decode(chunk, { stream: true });
      let end = buffered.indexOf('\n');
      while (end >= 0) {
        server.receive(buffered.slice(0, end).replace(/\r$/, ''));
        buffered = buffered.slice(end + 1);
        end = buffered.indexOf('\n');
      }
    }
    buffered += decoder.decode();
    if (buffered.trim() !== '') server.receive(buffered);
  })();
  let onAbort: (() => void) | undefined;
  const interrupted = new Promise<void>((done) => {
    onAbort = () => done();
    if (io.signal.aborted) done();
    else io.signal.addEventListener('abort', onAbort, { once: true });
  });
  try {
    await Promise.race([ended, interrupted]);
  } catch (error) {
    log(`cannot read standard input: ${(error as Error).message}`);
  } finally {
    if (onAbort) io.signal.removeEventListener('abort', onAbort);
    ended.catch(() => {});
    // An open stdin would keep the process alive after an interruption.
    stdin.destroy?.();
    await server.close();
    await docker.close().catch(() => {});
  }
  return io.signal.aborted ? interruptedExitCode(io.signal) : 0;
}
