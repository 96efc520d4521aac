/**
 * Runs a scenario of scenarios.ts in a fresh process, through the built package (dist/), and
 * prints its result as one JSON line. Run by Node 24 (type stripping), Bun and Deno:
 *
 *   node child.ts <engine|executor> <record|replay|env> <dir> [strict|any]
 *
 * `record` uses recordingClient(dir), `replay` replayClient(dir), `env` a plain DockerClient (with
 * BERTH_RECORD or BERTH_REPLAY in the environment; the executor then makes its own client), and
 * `env-exit` the same without closing the client (a recording is then written at process exit).
 */
type Testing = typeof import('../../../src/testing/index.js');
type Engine = typeof import('../../../src/engine/index.js');
type Berth = typeof import('../../../src/index.js');
type Scenarios = typeof import('./scenarios.js');

const dist = (path: string) => new URL(`../../../dist/${path}`, import.meta.url).href;
const testing = (await import(dist('testing/index.js'))) as Testing;
const engine = (await import(dist('engine/index.js'))) as Engine;
const berth = (await import(dist('index.js'))) as Berth;
const scenarios = (await import(new URL('./scenarios.ts', import.meta.url).href)) as Scenarios;

const args = (globalThis as { Deno?: { args: string[] } }).Deno?.args ?? process.argv.slice(2);
const [scenario, mode, dir, order] = args;
if (!scenario || !mode || (!mode.startsWith('env') && !dir))
  throw new Error('usage: child.ts <engine|executor> <record|replay|env> <dir> [strict|any]');
const docker =
  mode === 'record'
    ? testing.recordingClient(dir as string)
    : mode === 'replay'
      ? testing.replayClient(dir as string, { order: order === 'any' ? 'any' : 'strict' })
      : new engine.DockerClient();
let result: Record<string, unknown>;
if (scenario === 'engine') {
  result = await scenarios.engineScenario(docker);
} else {
  const executor = new berth.DockerCommandLineCodeExecutor({
    image: scenarios.PYTHON,
    timeout: 5,
    workspace: 'copy',
    labels: { 'berth.test': '1' },
    ...(mode.startsWith('env') ? {} : { docker }),
  });
  result = await scenarios.executorScenario(executor);
}
if (mode !== 'env-exit') await docker.close();
console.log(JSON.stringify(result));
// Deno keeps the process alive for the executor's pending AbortSignal.timeout timers (Node and
// Bun do not): leave at once. Under BERTH_RECORD the recording is written by close() above.
(globalThis as { Deno?: { exit(code: number): never } }).Deno?.exit(0);
