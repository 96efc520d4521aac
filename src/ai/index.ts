/**
 * `berth/ai`: a code-execution tool for the Vercel AI SDK (`ai` 5 to 7), built without importing
 * `ai` or zod: its input schema is a JSON Schema in the SDK's own schema shape (and a Standard
 * Schema too), so `generateText({ tools: { runCode: codeExecutionTool(executor) } })` just works.
 * @module
 */

import { type ObjectSchema, validateArguments } from '../agents/json-schema.js';
import { runForTool } from '../agents/run.js';
import { ExecutorError } from '../executor/errors.js';
import type { DockerCommandLineCodeExecutor } from '../executor/executor.js';

/** What the model passes to the tool. */
export interface CodeExecutionInput {
  /** One of the tool's languages. */
  language: string;
  /** The code to run. */
  code: string;
}

/** What the tool returns to the model. */
export interface CodeExecutionOutput {
  /** Exit code of the block; 124 on timeout. */
  exitCode: number;
  /** stdout and stderr interleaved, with the executor's notes (timeout, truncation). */
  output: string;
  timedOut: boolean;
  /** True when output beyond the executor's `maxOutputBytes` was dropped. */
  truncated: boolean;
  /** Figures the code produced (PNG, base64), when the executor captures any. */
  images?: { mimeType: string; data: string }[];
}

/** Options of {@link codeExecutionTool}. */
export interface CodeExecutionToolOptions {
  /** What the model reads about the tool. Default: a description naming the languages and /workspace. */
  description?: string;
  /** Languages the model may use. Default `['python', 'bash']`. */
  languages?: readonly string[];
  /** Seconds a block may run, at most the executor's `timeout` (its default). */
  timeout?: number;
}

/** The Standard Schema v1 interface (standardschema.dev), as far as the tool implements it. */
interface StandardSchema<T> {
  readonly '~standard': {
    readonly version: 1;
    readonly vendor: string;
    readonly validate: (value: unknown) => { value: T; issues?: undefined } | { issues: readonly { message: string }[] };
    readonly types?: { readonly input: T; readonly output: T } | undefined;
  };
}

/** The tool's input schema: a JSON Schema the AI SDK recognises as its own schema object, and a Standard Schema. */
export type CodeExecutionInputSchema = StandardSchema<CodeExecutionInput> & {
  readonly jsonSchema: ObjectSchema;
  readonly validate: (value: unknown) => { success: true; value: CodeExecutionInput } | { success: false; error: Error };
};

/** The tool object: pass it in `tools` of `generateText` or `streamText`. */
export interface CodeExecutionTool {
  description: string;
  inputSchema: CodeExecutionInputSchema;
  /** Runs the block (starting the executor if it is not running); an aborted `abortSignal` kills it and rejects with the signal's reason. */
  execute: (input: CodeExecutionInput, options?: { abortSignal?: AbortSignal | undefined }) => Promise<CodeExecutionOutput>;
}

/** The AI SDK marks its schema objects with this registered symbol (`jsonSchema()` in `@ai-sdk/provider-utils`). */
const AI_SDK_SCHEMA = Symbol.for('vercel.ai.schema');

/**
 * A code-execution tool for the Vercel AI SDK that runs each call's block on `executor`.
 * The executor is started on the first call if it is not running; stopping it stays the
 * caller's job (`await using executor = ...`).
 *
 * @throws ExecutorError when `languages` is empty or `timeout` is not a whole number of seconds between 1 and the executor's timeout.
 *
 * @example
 * ```ts
 * import { generateText, isStepCount } from 'ai'; // stepCountIs in ai 5 and 6
 * import { DockerCommandLineCodeExecutor } from 'berth';
 * import { codeExecutionTool } from 'berth/ai';
 *
 * await using executor = new DockerCommandLineCodeExecutor({ sandbox: true });
 * const { text } = await generateText({
 *   model,
 *   tools: { runCode: codeExecutionTool(executor) },
 *   stopWhen: isStepCount(5),
 *   prompt: 'What is the 20th Fibonacci number? Compute it.',
 * });
 * ```
 */
export function codeExecutionTool(executor: DockerCommandLineCodeExecutor, options: CodeExecutionToolOptions = {}): CodeExecutionTool {
  const languages = [...(options.languages ?? ['python', 'bash'])];
  if (languages.length === 0 || languages.some((l) => typeof l !== 'string' || l.trim() === '')) {
    throw new ExecutorError('codeExecutionTool: languages must name at least one language');
  }
  const timeout = options.timeout;
  if (timeout !== undefined && (!Number.isInteger(timeout) || timeout < 1 || timeout > executor.timeout)) {
    throw new ExecutorError(
      `codeExecutionTool: timeout must be a whole number of seconds from 1 to the executor's ${executor.timeout}, got ${timeout}`,
    );
  }
  const jsonSchema: ObjectSchema = {
    type: 'object',
    properties: {
      language: { type: 'string', enum: languages, description: 'The language of the code.' },
      code: { type: 'string', description: 'The code to run.' },
    },
    required: ['language', 'code'],
    additionalProperties: false,
  };
  const check = (value: unknown): string[] => validateArguments(jsonSchema, value);
  const inputSchema = {
    [AI_SDK_SCHEMA]: true,
    jsonSchema,
    validate: (value: unknown) => {
      const problems = check(value);
      return problems.length === 0
        ? { success: true as const, value: value as CodeExecutionInput }
        : { success: false as const, error: new TypeError(`Invalid input: ${problems.join('; ')}`) };
    },
    '~standard': {
      version: 1 as const,
      vendor: 'berth',
      validate: (value: unknown) => {
        const problems = check(value);
        return problems.length === 0 ? { value: value as CodeExecutionInput } : { issues: problems.map((message) => ({ message })) };
      },
    },
  };
  const description =
    options.description ??
    `Runs a block of code (${languages.join(' or ')}) in a Docker container and returns its exit code and output. ` +
      `Files stay in /workspace, the working directory, between calls.${timeout ? ` A block may run ${timeout} s.` : ''}`;

  return {
    description,
    inputSchema,
    async execute(input, callOptions = {}) {
      const problems = check(input);
      if (problems.length > 0) throw new ExecutorError(`codeExecutionTool: ${problems.join('; ')}`);
      const signal = callOptions.abortSignal;
      signal?.throwIfAborted();
      if (!executor.isRunning) await executor.start();
      signal?.throwIfAborted();
      const run = await runForTool(executor, input, { signal, timeout });
      signal?.throwIfAborted();
      return {
        exitCode: run.exitCode,
        output: run.output,
        timedOut: run.timedOut,
        truncated: run.truncated,
        ...(run.images.length > 0
          ? { images: run.images.map((image) => ({ mimeType: image.mimeType, data: Buffer.from(image.data).toString('base64') })) }
          : {}),
      };
    },
  };
}
