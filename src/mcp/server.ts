/**
 * `berth mcp`: a Model Context Protocol server over stdio, written against the specification
 * (JSON-RPC 2.0, one message per line) without an SDK. It offers one sandbox: an executor made
 * on the first tool call and stopped when the server closes.
 * @module
 */

import { validateArguments } from '../agents/json-schema.js';
import { runForTool } from '../agents/run.js';
import type { DockerClient } from '../engine/index.js';
import type { DockerCommandLineCodeExecutor } from '../executor/executor.js';
import { type ToolDefinition, toolDefinitions } from './tools.js';
import { listWorkspace, readWorkspaceFile, WorkspacePathError, type WorkspaceTarget, writeWorkspaceFile } from './workspace.js';

/** Protocol versions this server speaks, newest first. */
export const PROTOCOL_VERSIONS: readonly string[] = ['2025-11-25', '2025-06-18', '2025-03-26'];
/** The first version with `structuredContent`, `outputSchema` and tool titles. */
const STRUCTURED_SINCE = '2025-06-18';

/** JSON-RPC 2.0 error codes. */
export const JsonRpcErrorCode = {
  ParseError: -32700,
  InvalidRequest: -32600,
  MethodNotFound: -32601,
  InvalidParams: -32602,
  InternalError: -32603,
} as const;

type Id = string | number;
type Json = Record<string, unknown>;
type Response =
  | { jsonrpc: '2.0'; id: Id | null; result: unknown }
  | { jsonrpc: '2.0'; id: Id | null; error: { code: number; message: string } };

interface ToolResult {
  content: Json[];
  structuredContent?: Json;
  isError?: boolean;
}

/** What {@link McpServer} needs. */
export interface McpServerOptions {
  /** Makes the sandbox's executor (not started), on the first tool call and after a failed start. */
  createExecutor: () => DockerCommandLineCodeExecutor;
  /** The engine client the executor uses; the file tools use it too. */
  docker: DockerClient;
  /** The user the code runs as (`uid:gid`), for the file tools; undefined for the image's. */
  codeUser: string | undefined;
  /** Most bytes `read_file` returns. */
  maxReadBytes: number;
  /** Writes one line (a serialised message plus `\n`) to the client. */
  send: (line: string) => void;
  /** Writes a log line (stderr). */
  log: (text: string) => void;
  /** Berth's version, for `serverInfo`. */
  version: string;
}

const INSTRUCTIONS =
  'Runs code in a sandboxed Docker container (no network unless the server was started with one). ' +
  'Use run_code to run python, bash, sh or pwsh; the files written by the code and by write_file stay in /workspace ' +
  'between calls. restart_sandbox stops every process in the sandbox.';

function isObject(value: unknown): value is Json {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

function isId(value: unknown): value is Id {
  return typeof value === 'string' || (typeof value === 'number' && Number.isFinite(value));
}

function failure(id: Id | null, code: number, message: string): Response {
  return { jsonrpc: '2.0', id, error: { code, message } };
}

function text(value: string): Json {
  return { type: 'text', text: value };
}

function toolError(message: string): ToolResult {
  return { content: [text(message)], isError: true };
}

function messageOf(error: unknown): string {
  return error instanceof Error ? error.message : String(error);
}

/**
 * An MCP server: feed it lines with {@link McpServer.receive}, and it answers through `send`.
 * Tool calls run in turn on one sandbox; `notifications/cancelled` stops a call: its block is
 * killed and the call answers as cancelled (an `isError` result saying so). The specification lets
 * a receiver skip that answer; we send it, so a client that waits for every answer (a raw
 * JSON-RPC peer) is not left hanging, and clients that already gave up (the official SDK) drop it.
 */
export class McpServer {
  readonly #options: McpServerOptions;
  readonly #tools: ToolDefinition[];
  readonly #calls = new Map<string, AbortController>();
  #protocol = PROTOCOL_VERSIONS[0] as string;
  #executor: DockerCommandLineCodeExecutor | undefined;
  #queue: Promise<unknown> = Promise.resolve();
  #pending = new Set<Promise<unknown>>();
  #closed = false;

  constructor(options: McpServerOptions, maxTimeout: number) {
    this.#options = options;
    this.#tools = toolDefinitions(maxTimeout);
  }

  /** The protocol version agreed in `initialize` (the newest supported before it). */
  get protocolVersion(): string {
    return this.#protocol;
  }

  /** Handles one line from the client; answers (if any) are sent when ready. */
  receive(line: string): void {
    if (this.#closed || line.trim() === '') return;
    let message: unknown;
    try {
      message = JSON.parse(line);
    } catch (error) {
      this.#send(failure(null, JsonRpcErrorCode.ParseError, `Parse error: ${messageOf(error)}`));
      return;
    }
    const work = (async () => {
      if (Array.isArray(message)) {
        if (message.length === 0) return this.#send(failure(null, JsonRpcErrorCode.InvalidRequest, 'Invalid Request: empty batch'));
        const answers = (await Promise.all(message.map((item) => this.#handle(item)))).filter((a) => a !== undefined);
        if (answers.length > 0) this.#send(answers);
        return;
      }
      const answer = await this.#handle(message);
      if (answer) this.#send(answer);
    })().catch((error: unknown) => this.#options.log(`internal error: ${messageOf(error)}`));
    this.#pending.add(work);
    void work.finally(() => this.#pending.delete(work));
  }

  /**
   * Closes the server: running and queued calls are cancelled (their blocks killed, no answers
   * sent), and the sandbox is stopped and removed. Idempotent.
   */
  async close(): Promise<void> {
    this.#closed = true;
    for (const call of this.#calls.values()) call.abort(new Error('the MCP server is closing'));
    this.#calls.clear();
    const executor = this.#executor;
    this.#executor = undefined;
    if (executor) {
      try {
        await executor.stop();
        this.#options.log('sandbox stopped');
      } catch (error) {
        this.#options.log(`could not stop the sandbox: ${messageOf(error)}`);
      }
    }
    await Promise.allSettled([...this.#pending]);
  }

  #send(message: Response | Response[]): void {
    if (!this.#closed) this.#options.send(`${JSON.stringify(message)}\n`);
  }

  async #handle(message: unknown): Promise<Response | undefined> {
    if (!isObject(message) || message.jsonrpc !== '2.0' || (message.method !== undefined && typeof message.method !== 'string')) {
      const id = isObject(message) && isId(message.id) ? message.id : null;
      return failure(id, JsonRpcErrorCode.InvalidRequest, 'Invalid Request: expected a JSON-RPC 2.0 request or notification');
    }
    if (message.method === undefined) {
      // A response to a request of ours: this server sends none, so there is nothing to match.
      if ('result' in message || 'error' in message) return undefined;
      return failure(isId(message.id) ? message.id : null, JsonRpcErrorCode.InvalidRequest, 'Invalid Request: no method');
    }
    const method = message.method as string;
    const params = message.params;
    if (params !== undefined && !isObject(params) && !Array.isArray(params)) {
      return 'id' in message
        ? failure(isId(message.id) ? message.id : null, JsonRpcErrorCode.InvalidRequest, 'Invalid Request: params must be an object')
        : undefined;
    }
    if (!('id' in message)) {
      this.#notification(method, isObject(params) ? params : {});
      return undefined;
    }
    if (!isId(message.id)) return failure(null, JsonRpcErrorCode.InvalidRequest, 'Invalid Request: id must be a string or a number');
    const id = message.id;
    const answer = (result: unknown): Response => ({ jsonrpc: '2.0', id, result });
    switch (method) {
      case 'initialize':
        return this.#initialize(id, params);
      case 'ping':
        return answer({});
      case 'tools/list':
        return answer({ tools: this.#tools.map((tool) => this.#describe(tool)) });
      case 'tools/call': {
        if (!isObject(params) || typeof params.name !== 'string') {
          return failure(id, JsonRpcErrorCode.InvalidParams, 'Invalid params: tools/call needs a tool name (params.name)');
        }
        const tool = this.#tools.find((t) => t.name === params.name);
        if (!tool) {
          return failure(
            id,
            JsonRpcErrorCode.InvalidParams,
            `Unknown tool: ${params.name} (tools: ${this.#tools.map((t) => t.name).join(', ')})`,
          );
        }
        const result = await this.#call(id, tool, params.arguments);
        return result === undefined ? undefined : answer(result);
      }
      default:
        return failure(id, JsonRpcErrorCode.MethodNotFound, `Method not found: ${method}`);
    }
  }

  #notification(method: string, params: Json): void {
    if (method === 'notifications/cancelled' && isId(params.requestId)) {
      // Unknown or finished requests are ignored, as the specification allows.
      this.#calls.get(JSON.stringify(params.requestId))?.abort(new Error(typeof params.reason === 'string' ? params.reason : 'cancelled'));
    }
    // notifications/initialized and anything else: nothing to do.
  }

  #initialize(id: Id, params: unknown): Response {
    if (!isObject(params) || typeof params.protocolVersion !== 'string') {
      return failure(id, JsonRpcErrorCode.InvalidParams, 'Invalid params: initialize needs params.protocolVersion');
    }
    const asked = params.protocolVersion;
    this.#protocol = PROTOCOL_VERSIONS.includes(asked) ? asked : (PROTOCOL_VERSIONS[0] as string);
    return {
      jsonrpc: '2.0',
      id,
      result: {
        protocolVersion: this.#protocol,
        capabilities: { tools: { listChanged: false } },
        serverInfo: { name: 'berth', version: this.#options.version },
        instructions: INSTRUCTIONS,
      },
    };
  }

  get #structured(): boolean {
    return this.#protocol >= STRUCTURED_SINCE;
  }

  #describe(tool: ToolDefinition): Json {
    const { title, outputSchema, ...rest } = tool;
    return this.#structured ? { ...rest, title, ...(outputSchema ? { outputSchema } : {}) } : rest;
  }

  /** Runs a call in turn; a cancelled call answers as cancelled, one cut short by close() not at all. */
  async #call(id: Id, tool: ToolDefinition, args: unknown): Promise<ToolResult | undefined> {
    const problems = validateArguments(tool.inputSchema, args);
    if (problems.length > 0) return toolError(`Invalid arguments for ${tool.name}: ${problems.join('; ')}`);
    const input = (args ?? {}) as Json;
    const key = JSON.stringify(id);
    const controller = new AbortController();
    this.#calls.set(key, controller);
    const signal = controller.signal;
    const cancelled = (): ToolResult | undefined =>
      this.#closed ? undefined : toolError(`${tool.name} was cancelled (${messageOf(signal.reason)}); its block was killed.`);
    const task = async (): Promise<ToolResult | undefined> => {
      if (signal.aborted) return cancelled();
      try {
        const result = await this.#run(tool.name, input, signal);
        return signal.aborted ? cancelled() : result;
      } catch (error) {
        if (signal.aborted) return cancelled();
        return toolError(`${tool.name} failed: ${messageOf(error)}`);
      }
    };
    const run = this.#queue.then(task);
    this.#queue = run.catch(() => {});
    try {
      return await run;
    } finally {
      if (this.#calls.get(key) === controller) this.#calls.delete(key);
    }
  }

  /** The started sandbox: made and started on first use; a failed start is forgotten, so the next call tries again. */
  async #sandbox(): Promise<DockerCommandLineCodeExecutor> {
    if (this.#closed) throw new Error('the MCP server is closing');
    if (!this.#executor) this.#executor = this.#options.createExecutor();
    const executor = this.#executor;
    if (executor.isRunning) return executor;
    this.#options.log('starting the sandbox');
    try {
      await executor.start();
    } catch (error) {
      if (this.#executor === executor) this.#executor = undefined;
      await executor.stop().catch(() => {});
      throw error;
    }
    if (this.#closed) {
      // close() ran while this start was under way and found no container yet.
      await executor.stop().catch(() => {});
      throw new Error('the MCP server is closing');
    }
    this.#options.log(`sandbox started (container ${executor.containerName})`);
    return executor;
  }

  async #target(): Promise<WorkspaceTarget> {
    const executor = await this.#sandbox();
    return { docker: this.#options.docker, containerId: executor.containerId as string, user: this.#options.codeUser };
  }

  async #run(name: string, input: Json, signal: AbortSignal): Promise<ToolResult> {
    try {
      switch (name) {
        case 'run_code':
          return await this.#runCode(input, signal);
        case 'write_file': {
          const encoding = (input.encoding as string | undefined) ?? 'utf8';
          const content = input.content as string;
          const data = encoding === 'base64' ? Buffer.from(content, 'base64') : Buffer.from(content, 'utf8');
          const path = await writeWorkspaceFile(await this.#target(), input.path as string, data, signal);
          return this.#result(`Wrote ${data.length} bytes to ${path}.`, { path, bytes: data.length });
        }
        case 'read_file': {
          const { path, data } = await readWorkspaceFile(await this.#target(), input.path as string, this.#options.maxReadBytes, signal);
          let content: string;
          let encoding: 'utf8' | 'base64' = 'utf8';
          try {
            content = new TextDecoder('utf-8', { fatal: true }).decode(data);
            if (content.includes('\0')) throw new Error('binary');
          } catch {
            encoding = 'base64';
            content = Buffer.from(data).toString('base64');
          }
          const shown = encoding === 'utf8' ? content : `(binary, ${data.length} bytes, base64)\n${content}`;
          return this.#result(shown, { path, encoding, content, bytes: data.length });
        }
        case 'list_files': {
          const { path, entries } = await listWorkspace(await this.#target(), (input.path as string | undefined) ?? '.', signal);
          const lines = entries.map(
            (e) =>
              `${e.type === 'directory' ? `${e.name}/` : e.name}${e.type === 'file' ? `  ${e.size} bytes` : e.type === 'symlink' ? '  (symlink)' : ''}`,
          );
          return this.#result(lines.length ? `${path}:\n${lines.join('\n')}` : `${path} is empty.`, { path, entries });
        }
        default: {
          // restart_sandbox. A sandbox that cannot restart (its container died and is gone) is replaced.
          const executor = this.#executor;
          if (executor) {
            try {
              await executor.restart();
            } catch (error) {
              this.#options.log(`restart failed (${messageOf(error)}); starting a new sandbox`);
              if (this.#executor === executor) this.#executor = undefined;
              await executor.stop().catch(() => {});
            }
          }
          await this.#sandbox();
          return { content: [text('The sandbox was restarted: no process of earlier calls runs; files in /workspace are kept.')] };
        }
      }
    } catch (error) {
      if (error instanceof WorkspacePathError) return toolError(error.message);
      throw error;
    }
  }

  async #runCode(input: Json, signal: AbortSignal): Promise<ToolResult> {
    const executor = await this.#sandbox();
    const run = await runForTool(
      executor,
      { language: input.language as string, code: input.code as string },
      {
        signal,
        timeout: input.timeout as number | undefined,
      },
    );
    let body = run.output === '' ? '(no output)' : run.output;
    if (run.exitCode !== 0 && !run.timedOut) body += `${body.endsWith('\n') ? '' : '\n'}[exit code ${run.exitCode}]`;
    const result = this.#result(body, {
      exitCode: run.exitCode,
      stdout: run.stdout,
      stderr: run.stderr,
      timedOut: run.timedOut,
      truncated: run.truncated,
    });
    for (const image of run.images)
      result.content.push({ type: 'image', data: Buffer.from(image.data).toString('base64'), mimeType: image.mimeType });
    if (run.exitCode !== 0) result.isError = true;
    return result;
  }

  /**
   * A result with text and `structuredContent`. The field is sent in every protocol version: a
   * 2025-03-26 client ignores it (results allow extra members), and code reading it works the same
   * whatever version was agreed. Only `outputSchema` in tools/list follows the version.
   */
  #result(body: string, structured: Json): ToolResult {
    return { content: [text(body)], structuredContent: structured };
  }
}
