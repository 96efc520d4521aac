/**
 * `berth/ai` with the real AI SDK (`ai`, mock language model from `ai/test`): the SDK accepts the
 * tool, validates the model's input with its schema, runs the block on the engine, and passes the
 * result to the model's next step; an aborted generation kills the block.
 */
import { generateText, isStepCount } from 'ai';
import { MockLanguageModelV4 } from 'ai/test';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { codeExecutionTool } from '../../src/ai/index.js';
import { DockerClient } from '../../src/engine/index.js';
import { DockerCommandLineCodeExecutor } from '../../src/executor/executor.js';
import { PYTHON, TEST_LABEL } from '../helpers/engine.js';

type GenerateResult = Awaited<ReturnType<MockLanguageModelV4['doGenerate']>>;
type CallOptions = Parameters<MockLanguageModelV4['doGenerate']>[0];

const usage: GenerateResult['usage'] = {
  inputTokens: { total: 10, noCache: 10, cacheRead: 0, cacheWrite: 0 },
  outputTokens: { total: 5, text: 5, reasoning: 0 },
};

function toolCall(input: unknown): GenerateResult {
  return {
    content: [{ type: 'tool-call', toolCallId: 'call-1', toolName: 'runCode', input: JSON.stringify(input) }],
    finishReason: { unified: 'tool-calls', raw: 'tool_calls' },
    usage,
    warnings: [],
  };
}

function answer(text: string): GenerateResult {
  return { content: [{ type: 'text', text }], finishReason: { unified: 'stop', raw: 'stop' }, usage, warnings: [] };
}

/** A model that calls the tool once with `input`, then answers with what the tool returned. */
function modelCalling(input: unknown): { model: MockLanguageModelV4; prompts: CallOptions['prompt'][] } {
  const prompts: CallOptions['prompt'][] = [];
  const model = new MockLanguageModelV4({
    doGenerate: async (options) => {
      prompts.push(options.prompt);
      if (prompts.length === 1) return toolCall(input);
      const tool = options.prompt.find((message) => message.role === 'tool');
      return answer(`tool said: ${JSON.stringify(tool?.content)}`);
    },
  });
  return { model, prompts };
}

const docker = new DockerClient();
const executor = new DockerCommandLineCodeExecutor({ image: PYTHON, docker, labels: { [TEST_LABEL]: '1' } });

beforeAll(async () => {
  await executor.start();
}, 120_000);

afterAll(async () => {
  await executor.stop();
  await docker.close();
});

describe('codeExecutionTool with the AI SDK', () => {
  it('generateText calls the tool, the block runs on the engine, and the result reaches the next step', async () => {
    const { model, prompts } = modelCalling({ language: 'python', code: 'import socket\nprint(6 * 7, socket.gethostname() != "")' });
    const result = await generateText({
      model,
      tools: { runCode: codeExecutionTool(executor) },
      stopWhen: isStepCount(3),
      prompt: 'What is six times seven?',
    });
    expect(result.steps).toHaveLength(2);
    expect(result.steps[0]?.toolResults[0]?.output).toEqual({ exitCode: 0, output: '42 True\n', timedOut: false, truncated: false });
    // The model's second call saw the tool's result.
    expect(prompts).toHaveLength(2);
    expect(JSON.stringify(prompts[1])).toContain('42 True\\n');
    expect(result.text).toContain('"exitCode":0');
  });

  it('gives the SDK its JSON Schema, and the SDK refuses input that does not fit it', async () => {
    const tool = codeExecutionTool(executor, { languages: ['python'], description: 'Run Python.' });
    expect(tool.description).toBe('Run Python.');
    expect(tool.inputSchema.jsonSchema).toMatchObject({ properties: { language: { enum: ['python'] } }, required: ['language', 'code'] });
    const { model, prompts } = modelCalling({ language: 'bash', code: 'echo no' });
    const result = await generateText({ model, tools: { runCode: tool }, stopWhen: isStepCount(3), prompt: 'go' });
    const failure = result.steps[0]?.content.find((part) => part.type === 'tool-error');
    expect(String((failure as { error?: unknown } | undefined)?.error)).toMatch(/argument `language` must be one of "python"/);
    expect(prompts).toHaveLength(2);
  });

  it("reports a timeout below the executor's", async () => {
    const tool = codeExecutionTool(executor, { timeout: 1 });
    const output = await tool.execute({ language: 'bash', code: 'echo start; sleep 30' });
    expect(output).toMatchObject({ exitCode: 124, timedOut: true });
    expect(output.output).toMatch(/^start\n/);
  });

  it('an aborted generation kills the block (the process is gone inside the container)', async () => {
    const code = 'import os, time\nopen("ai-abort.pid", "w").write(str(os.getpid()))\ntime.sleep(120)\nprint("finished")';
    const { model } = modelCalling({ language: 'python', code });
    const controller = new AbortController();
    const generation = generateText({
      model,
      tools: { runCode: codeExecutionTool(executor) },
      stopWhen: isStepCount(3),
      prompt: 'sleep',
      abortSignal: controller.signal,
    }).then(
      () => 'finished',
      (error: unknown) => error,
    );
    const id = executor.containerId as string;
    const deadline = Date.now() + 60_000;
    let pid = '';
    while (!pid) {
      const read = await docker.exec.run(id, ['cat', '/workspace/ai-abort.pid']);
      if (read.exitCode === 0 && read.stdout.trim()) pid = read.stdout.trim();
      else if (Date.now() > deadline) throw new Error('the block never started');
      else await new Promise((r) => setTimeout(r, 200));
    }
    expect((await docker.exec.run(id, ['test', '-d', `/proc/${pid}`])).exitCode).toBe(0);
    controller.abort(new Error('the user left'));
    const outcome = await generation;
    expect(outcome).toBeInstanceOf(Error);
    // The executor's kill is done before execute returns: the process is already gone.
    const gone = Date.now() + 10_000;
    while ((await docker.exec.run(id, ['test', '-d', `/proc/${pid}`])).exitCode === 0) {
      if (Date.now() > gone) throw new Error(`process ${pid} still runs after the abort`);
      await new Promise((r) => setTimeout(r, 100));
    }
    // The executor goes on.
    const after = await codeExecutionTool(executor).execute({ language: 'bash', code: 'echo ok' });
    expect(after).toMatchObject({ exitCode: 0, output: 'ok\n' });
  });

  it('refuses bad options with a clear error', () => {
    expect(() => codeExecutionTool(executor, { languages: [] })).toThrow(/languages must name at least one language/);
    expect(() => codeExecutionTool(executor, { timeout: 0 })).toThrow(/timeout must be a whole number of seconds from 1/);
  });
});
