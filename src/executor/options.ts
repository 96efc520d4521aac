/**
 * The executor's options, checked once in the constructor: every bad value is an
 * {@link ExecutorError} naming the option (autogen's wording where autogen has one), and nothing
 * touches the engine or the disk unless every option is good.
 *
 * @module
 */

import { mkdirSync } from 'node:fs';
import { isAbsolute, resolve } from 'node:path';
import { ExecutorError } from './errors.js';
import { type FunctionWithRequirements, isValidModuleName } from './functions.js';
import type { DockerCommandLineCodeExecutorOptions } from './types.js';

/** Default cap of output kept per call and stream, in bytes (1 MiB). */
export const DEFAULT_MAX_OUTPUT_BYTES = 1024 * 1024;
/** The longest timeout a timer can hold: 2^31-1 ms, in whole seconds. */
const MAX_TIMEOUT_SECONDS = 2_147_483;

/** The options with their defaults applied. */
export interface ResolvedOptions {
  readonly raw: DockerCommandLineCodeExecutorOptions;
  readonly image: string;
  readonly timeout: number;
  readonly functionsModule: string;
  readonly functions: readonly FunctionWithRequirements[];
  readonly maxOutputBytes: number;
  readonly autoRemove: boolean;
  readonly stopContainer: boolean;
  readonly deleteTmpFiles: boolean;
}

function checkTimeout(timeout: unknown): number {
  if (typeof timeout !== 'number' || Number.isNaN(timeout))
    throw new ExecutorError(`timeout must be a number of seconds, got ${typeof timeout === 'number' ? timeout : JSON.stringify(timeout)}`);
  if (timeout < 1) throw new ExecutorError('Timeout must be greater than or equal to 1.');
  if (!Number.isFinite(timeout)) throw new ExecutorError('timeout must be finite');
  // Timers hold at most 2^31-1 ms; a longer one fires at once (Node's TimeoutOverflowWarning).
  if (timeout > MAX_TIMEOUT_SECONDS)
    throw new ExecutorError(`timeout must be at most ${MAX_TIMEOUT_SECONDS} seconds (about 24 days), got ${timeout}`);
  return timeout;
}

/**
 * Each entry of `functions` must be a {@link FunctionWithRequirements}: an object with the Python
 * source in `func`, and arrays where `pythonPackages` and `globalImports` are given.
 */
function checkFunctions(functions: unknown): FunctionWithRequirements[] {
  if (functions === undefined) return [];
  if (!Array.isArray(functions)) throw new ExecutorError('functions must be an array of { func, pythonPackages?, globalImports? }');
  return functions.map((fn: unknown, index) => {
    const where = `functions[${index}]`;
    if (typeof fn !== 'object' || fn === null)
      throw new ExecutorError(`${where} must be an object { func, pythonPackages?, globalImports? }`);
    const entry = fn as Record<string, unknown>;
    const label = typeof entry.name === 'string' ? ` (${entry.name})` : '';
    if (typeof entry.func !== 'string' || entry.func.trim() === '') {
      throw new ExecutorError(
        `${where}${label} has no func: each function needs its Python source in func (see functionWithRequirements())`,
      );
    }
    for (const key of ['pythonPackages', 'globalImports'] as const) {
      if (entry[key] !== undefined && !Array.isArray(entry[key])) throw new ExecutorError(`${where}${label}.${key} must be an array`);
    }
    return fn as FunctionWithRequirements;
  });
}

function checkMounts(options: DockerCommandLineCodeExecutorOptions): void {
  for (const [host, binding] of Object.entries(options.extraVolumes ?? {})) {
    if (!isAbsolute(host)) throw new ExecutorError(`extraVolumes: host path ${JSON.stringify(host)} must be absolute`);
    if (!binding || typeof binding.bind !== 'string' || !binding.bind.startsWith('/')) {
      throw new ExecutorError(`extraVolumes[${JSON.stringify(host)}].bind must be an absolute container path`);
    }
    if (binding.mode !== undefined && binding.mode !== 'rw' && binding.mode !== 'ro') {
      throw new ExecutorError(`extraVolumes[${JSON.stringify(host)}].mode must be 'rw' or 'ro', got ${JSON.stringify(binding.mode)}`);
    }
  }
  for (const [name, ip] of Object.entries(options.extraHosts ?? {})) {
    if (!name || /[\s:]/.test(name) || typeof ip !== 'string' || ip === '')
      throw new ExecutorError(`extraHosts: bad entry ${JSON.stringify(name)}: ${JSON.stringify(ip)}`);
  }
}

function oneOf(options: DockerCommandLineCodeExecutorOptions, key: 'workspace' | 'pullPolicy', allowed: readonly string[]): void {
  const value = options[key];
  if (value !== undefined && !allowed.includes(value)) {
    throw new ExecutorError(`${key} must be ${allowed.map((a) => `'${a}'`).join(' or ')}, got ${JSON.stringify(value)}`);
  }
}

/**
 * Checks the options and applies the defaults; makes `workDir` when it is missing (as autogen does).
 * @throws ExecutorError naming the first bad option.
 */
export function resolveOptions(options: DockerCommandLineCodeExecutorOptions): ResolvedOptions {
  if (typeof options !== 'object' || options === null) throw new ExecutorError('options must be an object');
  const timeout = checkTimeout(options.timeout ?? 60);
  const functionsModule = options.functionsModule ?? 'functions';
  if (typeof functionsModule !== 'string' || !isValidModuleName(functionsModule))
    throw new ExecutorError('Module name must be a valid Python identifier');
  const functions = checkFunctions(options.functions);
  const image = options.image ?? 'python:3-slim';
  if (typeof image !== 'string' || image.trim() === '') throw new ExecutorError(`image must name an image, got ${JSON.stringify(image)}`);
  if (options.containerName !== undefined && !/^[a-zA-Z0-9][a-zA-Z0-9_.-]*$/.test(options.containerName)) {
    throw new ExecutorError(
      `containerName ${JSON.stringify(options.containerName)} is not a valid container name ([a-zA-Z0-9][a-zA-Z0-9_.-]*)`,
    );
  }
  const maxOutputBytes = options.maxOutputBytes ?? DEFAULT_MAX_OUTPUT_BYTES;
  if (!Number.isInteger(maxOutputBytes) || maxOutputBytes < 0)
    throw new ExecutorError(`maxOutputBytes must be a non-negative integer, got ${maxOutputBytes}`);
  checkMounts(options);
  oneOf(options, 'workspace', ['bind', 'copy']);
  oneOf(options, 'pullPolicy', ['missing', 'always', 'never']);
  if (options.workDir !== undefined) {
    if (typeof options.workDir !== 'string' || options.workDir === '') throw new ExecutorError('workDir must be a non-empty path');
    if (resolve(options.workDir) === resolve(process.cwd())) {
      process.emitWarning('Using the current directory as work_dir is deprecated.', 'DeprecationWarning');
    }
    mkdirSync(options.workDir, { recursive: true });
  }
  return {
    raw: options,
    image,
    timeout,
    functionsModule,
    functions,
    maxOutputBytes,
    autoRemove: options.autoRemove ?? true,
    stopContainer: options.stopContainer ?? true,
    deleteTmpFiles: options.deleteTmpFiles ?? false,
  };
}
