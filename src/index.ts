/**
 * `berth`: run model-written code blocks in a long-lived Docker container
 * ({@link DockerCommandLineCodeExecutor}), plus the engine's error classes.
 * The engine client itself is `berth/engine`.
 * @module
 */

export {
  DockerApiError,
  type DockerApiErrorReason,
  DockerArgumentError,
  DockerConnectionError,
  DockerError,
  type DockerErrorCode,
  DockerStreamError,
  isDockerApiError,
  isDockerArgumentError,
  isDockerConnectionError,
  isDockerError,
  isDockerStreamError,
} from './engine/errors.js';
export { type CancellationLike, CancellationToken } from './executor/cancellation.js';
export { COMPONENT_PROVIDER, type ComponentModel, type DockerCommandLineCodeExecutorConfig } from './executor/config.js';
export { ExecutorError, isExecutorError } from './executor/errors.js';
export { DEFAULT_MAX_OUTPUT_BYTES, DEFAULT_PIDS_LIMIT, DockerCommandLineCodeExecutor, EXECUTOR_LABEL } from './executor/executor.js';
export {
  type Alias,
  FUNCTION_PROMPT_TEMPLATE,
  type FunctionWithRequirements,
  functionWithRequirements,
  type Import,
  type ImportFromModule,
} from './executor/functions.js';
export type { ExecutorState } from './executor/lifecycle.js';
export { ExecutorPool, type ExecutorPoolAcquireOptions, type ExecutorPoolOptions, POOL_LABEL } from './executor/pool.js';
export type {
  CodeBlock,
  CommandLineCodeResult,
  DeviceRequestOption,
  DockerCommandLineCodeExecutorOptions,
  ExecuteOptions,
  PullPolicy,
  SandboxOptions,
  StartOptions,
  VolumeBinding,
  WorkspaceMode,
} from './executor/types.js';
export { WorkspaceFileError, type WorkspaceFileKind } from './executor/workspace.js';
