/**
 * `berth/ai` with the older AI SDK majors (`ai` 5 and 6, installed under the aliases `ai5` and
 * `ai6`): generateText with each one's mock model calls the tool, the block runs on the engine,
 * and the result reaches the model's next step. (ai 7 is covered in ai-tool.test.ts.)
 */
import { generateText as generateText5, stepCountIs as stepCountIs5, type Tool as Tool5 } from 'ai5';
import { MockLanguageModelV2 } from 'ai5/test';
import { generateText as generateText6, stepCountIs as stepCountIs6 } from 'ai6';
import { MockLanguageModelV3 } from 'ai6/test';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { codeExecutionTool } from '../../src/ai/index.js';
import { DockerClient } from '../../src/engine/index.js';
import { DockerCommandLineCodeExecutor } from '../../src/executor/executor.js';
import { PYTHON, TEST_LABEL } from '../helpers/engine.js';

const docker = new DockerClient();
const executor = new DockerCommandLineCodeExecutor({ image: PYTHON, docker, labels: { [TEST_LABEL]: '1' } });
const INPUT = JSON.stringify({ language: 'python', code: 'print(6 * 7)' });
const OUTPUT = { exitCode: 0, output: '42\n', timedOut: false, truncated: false };

beforeAll(async () => {
  await executor.start();
}, 120_000);

afterAll(async () => {
  await executor.stop();
  await docker.close();
});

describe('codeExecutionTool with older AI SDK majors', () => {
  it('ai 5: generateText runs the tool and the next step sees its result', async () => {
    const prompts: unknown[] = [];
    const usage = { inputTokens: 1, outputTokens: 1, totalTokens: 2 };
    const model = new MockLanguageModelV2({
      doGenerate: async (options) => {
        prompts.push(options.prompt);
        if (prompts.length === 1) {
          return {
            content: [{ type: 'tool-call', toolCallId: 'c1', toolName: 'runCode', input: INPUT }],
            finishReason: 'tool-calls',
            usage,
            warnings: [],
          };
        }
        return { content: [{ type: 'text', text: 'done' }], finishReason: 'stop', usage, warnings: [] };
      },
    });
    // ai 5's TypeScript types know only its own (nominal) schema type: a cast, at the type level only.
    const runCode = codeExecutionTool(executor) as unknown as Tool5;
    const result = await generateText5({ model, tools: { runCode }, stopWhen: stepCountIs5(3), prompt: 'x' });
    expect(result.steps[0]?.toolResults[0]?.output).toEqual(OUTPUT);
    expect(JSON.stringify(prompts[1])).toContain('"output":"42\\n"');
  });

  it('ai 6: generateText runs the tool and the next step sees its result', async () => {
    const prompts: unknown[] = [];
    const usage = { inputTokens: { total: 1, noCache: 1, cacheRead: 0, cacheWrite: 0 }, outputTokens: { total: 1, text: 1, reasoning: 0 } };
    const model = new MockLanguageModelV3({
      doGenerate: async (options) => {
        prompts.push(options.prompt);
        if (prompts.length === 1) {
          return {
            content: [{ type: 'tool-call', toolCallId: 'c1', toolName: 'runCode', input: INPUT }],
            finishReason: { unified: 'tool-calls', raw: 'tool_calls' },
            usage,
            warnings: [],
          };
        }
        return { content: [{ type: 'text', text: 'done' }], finishReason: { unified: 'stop', raw: 'stop' }, usage, warnings: [] };
      },
    });
    const result = await generateText6({ model, tools: { runCode: codeExecutionTool(executor) }, stopWhen: stepCountIs6(3), prompt: 'x' });
    expect(result.steps[0]?.toolResults[0]?.output).toEqual(OUTPUT);
    expect(JSON.stringify(prompts[1])).toContain('"output":"42\\n"');
  });
});
