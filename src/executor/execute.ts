/**
 * One `executeCodeBlocks` call: writes each block's file into the workspace, runs it, and gathers
 * autogen's result; plus the set-up of the user-defined functions. It knows the executor only
 * through {@link CallEnv}, which always answers for the container of the moment (a reset may
 * replace it mid-call).
 *
 * @module
 */

import { join } from 'node:path';
import { isDockerConnectionError } from '../engine/index.js';
import {
  declaredFilename,
  defaultFilename,
  languageSpec,
  normaliseLanguage,
  OutsideWorkspaceError,
  resolveInWorkspace,
  silencePip,
} from './blocks.js';
import { ExecutorError } from './errors.js';
import { buildFunctionsModule, type FunctionWithRequirements, requiredPackages } from './functions.js';
import type { BlockOutcome } from './run-block.js';
import type { CodeBlock, CommandLineCodeResult, ExecuteOptions } from './types.js';
import type { Workspace } from './workspace.js';

/** Bytes of each stream still allowed in a call's result. */
export interface OutputBudget {
  stdout: number;
  stderr: number;
}

/** What a call needs of the executor. */
export interface CallEnv {
  readonly workspace: Workspace;
  readonly maxOutputBytes: number;
  /** Runs one block file with the current container's backend (`timeout` in seconds; default the executor's). */
  run(
    language: string,
    file: string,
    signal: AbortSignal,
    budget: OutputBudget,
    options: ExecuteOptions,
    timeout?: number,
  ): Promise<BlockOutcome>;
  /** Restarts the container after a block left it unable to start processes; false when a stop or restart got there first. */
  reset(signal: AbortSignal): Promise<boolean>;
  /** The note for a block that failed on the engine's side (and marks the container dead when it died). */
  diagnose(failure: unknown): Promise<string>;
}

const HIDDEN = '.berth';

/** Writes the functions module, pip-installs the packages and checks that the module imports. */
export async function installFunctions(
  env: CallEnv,
  functions: readonly FunctionWithRequirements[],
  module: string,
  timeout: number,
  signal: AbortSignal,
): Promise<void> {
  await env.workspace.writeFile(`${module}.py`, buildFunctionsModule(functions));
  const packages = requiredPackages(functions);
  const budget = () => ({ stdout: env.maxOutputBytes, stderr: env.maxOutputBytes });
  const written: string[] = [];
  try {
    if (packages.length > 0) {
      const quoted = packages.map((p) => `'${p.replace(/'/g, `'\\''`)}'`).join(' ');
      const script = `${HIDDEN}/pip_install.sh`;
      written.push(script);
      await env.workspace.writeFile(script, `python -m pip install -qqq ${quoted} || python3 -m pip install -qqq ${quoted}\n`);
      // pip needs longer than a code block: at least five minutes.
      const outcome = await env.run('sh', script, signal, budget(), {}, Math.max(timeout, 300));
      if (outcome.exitCode !== 0) throw new ExecutorError(`Pip install failed. ${outcome.output}`, { output: outcome.output });
    }
    const check = `${HIDDEN}/check_functions.py`;
    written.push(check);
    await env.workspace.writeFile(
      check,
      `import sys\nsys.dont_write_bytecode = True\nsys.path.insert(0, '/workspace')\nimport ${module}\n`,
    );
    const outcome = await env.run('python', check, signal, budget(), {});
    if (outcome.exitCode !== 0) throw new ExecutorError(`Functions failed to load: ${outcome.output}`, { output: outcome.output });
  } finally {
    await env.workspace.deleteFiles([...written, HIDDEN]).catch(() => {});
  }
}

/**
 * Runs the blocks in order, stopping at the first non-zero exit code (see
 * `DockerCommandLineCodeExecutor.executeCodeBlocks`). Returns the files written, relative to the
 * workspace, for `deleteTmpFiles`.
 */
export async function executeBlocks(
  env: CallEnv,
  codeBlocks: readonly CodeBlock[],
  signal: AbortSignal,
  ownSignal: AbortSignal,
  options: ExecuteOptions,
  written: string[],
): Promise<Omit<CommandLineCodeResult, 'durationMs'>> {
  const { workspace } = env;
  const budget = { stdout: env.maxOutputBytes, stderr: env.maxOutputBytes };
  const result = {
    outputs: [] as string[],
    stdout: [] as string[],
    stderr: [] as string[],
    exitCode: 0,
    timedOut: false,
    cancelled: false,
    truncated: false,
  };
  const fail = (message: string) => {
    result.outputs.push(message);
    result.exitCode = 1;
  };
  for (const block of codeBlocks) {
    const lang = normaliseLanguage(block.language);
    const spec = languageSpec(lang);
    if (!spec) {
      fail(`Unsupported language: ${lang}`);
      break;
    }
    if (signal.aborted) {
      fail('Code execution was cancelled.');
      result.cancelled = true;
      break;
    }
    const code = silencePip(block.code, lang).replace(/\r\n/g, '\n');
    const declared = declaredFilename(code);
    let filename: string;
    try {
      // Missing folders are made by the workspace (bind: by the engine, inside the container).
      filename = declared === undefined ? defaultFilename(code, spec.extension) : await resolveInWorkspace(workspace.hostDir, declared);
      // The code of an earlier block may have left a symlink, FIFO, device or folder at the name.
      await workspace.writeFile(filename, code);
    } catch (error) {
      if (!(error instanceof OutsideWorkspaceError)) throw error;
      fail('Filename is not in the workspace');
      break;
    }
    written.push(filename);
    const outcome = await env.run(lang, filename, signal, budget, options);
    result.outputs.push(outcome.output);
    result.stdout.push(outcome.stdout);
    result.stderr.push(outcome.stderr);
    result.truncated ||= outcome.truncated;
    result.exitCode = outcome.exitCode;
    if (outcome.truncated) result.outputs.push('\n[output truncated: more than maxOutputBytes]');
    if (outcome.timedOut) {
      result.timedOut = true;
      result.outputs.push('\n Timeout');
    } else if (outcome.cancelled) {
      result.cancelled = true;
      result.outputs.push(`${outcome.output && !outcome.output.endsWith('\n') ? '\n' : ''}Code execution was cancelled.`);
    }
    // The container is full (a fork bomb at its pids limit): a restart is the only sure kill. When a
    // stop() or restart() cancelled this call, they own the container (see Lifecycle.reset).
    if (outcome.needsReset && (await env.reset(ownSignal))) {
      result.outputs.push('\nThe block left the container unable to start processes; the container was restarted.');
      if (result.exitCode === 0) result.exitCode = 1;
    }
    if (outcome.failure !== undefined) {
      try {
        result.outputs.push(await env.diagnose(outcome.failure));
      } catch (error) {
        // The engine went away mid-call: keep this call's output on the error.
        if (isDockerConnectionError(error)) {
          const encoder = new TextEncoder();
          error.partialOutput = { stdout: encoder.encode(result.stdout.join('')), stderr: encoder.encode(result.stderr.join('')) };
        }
        throw error;
      }
      if (result.exitCode === 0) result.exitCode = 1;
    }
    if (result.exitCode !== 0) break;
  }
  return {
    exitCode: result.exitCode,
    output: result.outputs.join(''),
    codeFile: written[0] === undefined ? undefined : join(workspace.hostDir, written[0]),
    stdout: result.stdout.join(''),
    stderr: result.stderr.join(''),
    timedOut: result.timedOut,
    cancelled: result.cancelled,
    truncated: result.truncated,
  };
}
