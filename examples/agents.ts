// The README's agent examples (berth/ai and ExecutorPool). `npm run typecheck` covers this file.
import { generateText, isStepCount, type LanguageModel } from 'ai';
import { DockerCommandLineCodeExecutor, ExecutorPool } from 'berth';
import { codeExecutionTool } from 'berth/ai';

/** A model-driven answer that may run Python in a sandbox. */
export async function answerWithCode(model: LanguageModel, prompt: string): Promise<string> {
  await using executor = new DockerCommandLineCodeExecutor({ sandbox: true });
  const { text } = await generateText({
    model,
    tools: { runCode: codeExecutionTool(executor, { languages: ['python'], timeout: 30 }) },
    stopWhen: isStepCount(5),
    prompt,
  });
  return text;
}

/** One sandbox per conversation, ready at once. */
export async function serveConversations(
  turns: AsyncIterable<{ conversationId: string; code: string; done: boolean }>,
  signal: AbortSignal,
) {
  await using pool = new ExecutorPool({ executor: { sandbox: true }, warm: 2, max: 16, idleTimeout: 600 });
  await pool.ready({ signal });
  for await (const turn of turns) {
    const executor = await pool.acquire(turn.conversationId, { signal }); // the same executor for the same key
    const result = await executor.executeCodeBlocks([{ language: 'python', code: turn.code }], signal);
    console.log(result.output);
    if (turn.done) await pool.release(turn.conversationId); // stops and removes it
  }
}
