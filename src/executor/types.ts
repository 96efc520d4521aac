import type { DockerClient, ProgressMessage } from '../engine/index.js';
import type { FunctionWithRequirements } from './functions.js';

/** One code block, as a model writes it in a fenced block. */
export interface CodeBlock {
  /** `python`, `bash`, `sh`, `shell`, `pwsh`, `powershell` or `ps1` (any case, surrounding spaces ignored). */
  language: string;
  code: string;
}

/** A device request, in camelCase; becomes `HostConfig.DeviceRequests` (as `docker run --gpus`). */
export interface DeviceRequestOption {
  /** Device driver, e.g. `nvidia`; empty lets the engine choose by capabilities. */
  driver?: string;
  /** Number of devices; -1 for all. Leave out (or 0) with `deviceIds`. */
  count?: number;
  /** Specific device IDs or UUIDs. */
  deviceIds?: string[];
  /** Capability sets, any of which must match, e.g. `[['gpu']]`. */
  capabilities?: string[][];
  /** Driver-specific options. */
  options?: Record<string, string>;
}

/** An extra bind mount: host path to container path and mode, as autogen's `extra_volumes`. */
export interface VolumeBinding {
  /** Path inside the container. */
  bind: string;
  /** `rw` (default) or `ro`. */
  mode?: 'rw' | 'ro' | (string & {});
}

/**
 * How the workspace reaches the container: `bind` mounts the host folder at `/workspace`; `copy`
 * sends each file through the engine's archive endpoint into a container volume, for engines
 * that cannot see this machine's folders (a remote engine over TCP).
 */
export type WorkspaceMode = 'bind' | 'copy';

/** How images are made available in `start()`. */
export type PullPolicy = 'missing' | 'always' | 'never';

/**
 * The sandbox preset for model-written code: no network, all capabilities dropped,
 * no-new-privileges, a read-only root filesystem with writable `/tmp` and `/workspace`, a pids
 * limit, memory and CPU limits and a non-root user. `true` takes every default; an object
 * overrides single settings.
 *
 * Precedence: a top-level option (`networkMode`, `memoryBytes`, `cpus`, `pidsLimit`, `user`)
 * always wins over the same setting here, which wins over the sandbox's default.
 */
export interface SandboxOptions {
  /** Network mode. Default `none`. */
  networkMode?: string;
  /** Memory limit in bytes. Default 512 MiB. */
  memoryBytes?: number;
  /** CPU limit in CPUs. Default 1. */
  cpus?: number;
  /** Most processes. Default 128. */
  pidsLimit?: number;
  /** User to run as. Default `65534:65534` (nobody). */
  user?: string;
  /** Size of the writable `/tmp` tmpfs. Default `64m`. */
  tmpSize?: string;
}

/** Options of {@link DockerCommandLineCodeExecutor}; names follow autogen's, in camelCase. */
export interface DockerCommandLineCodeExecutorOptions {
  /** Image to run. Default `python:3-slim`. */
  image?: string;
  /** Container name. Default `autogen-code-exec-<uuid>`, generated per executor. */
  containerName?: string;
  /** Seconds each code block may run (per block, not per call): at least 1, at most 2147483 (about 24 days, what a timer holds). Default 60. */
  timeout?: number;
  /** Host folder the code files are written to. Default: a fresh temp folder made by `start()` and removed by `stop()`. */
  workDir?: string;
  /** Host path mounted at `/workspace` when it differs from `workDir` (Docker-outside-of-Docker). Default `workDir`. */
  bindDir?: string;
  /** Remove the container in `stop()` (otherwise it is killed and kept). Default true. */
  autoRemove?: boolean;
  /** Stop the container when the process exits or is interrupted (SIGINT, SIGTERM) without `stop()`. Default true. */
  stopContainer?: boolean;
  /** Device requests, e.g. `[{ count: -1, capabilities: [['gpu']] }]` for all GPUs. */
  deviceRequests?: DeviceRequestOption[];
  /** User-defined functions, importable by the code from `functionsModule`. */
  functions?: FunctionWithRequirements[];
  /** Name of the module the functions are written to. Default `functions`. */
  functionsModule?: string;
  /** Extra bind mounts: host path to `{ bind, mode }`. */
  extraVolumes?: Record<string, VolumeBinding>;
  /** Extra `/etc/hosts` entries: host name to IP (or `host-gateway`). */
  extraHosts?: Record<string, string>;
  /** Shell command run once after the container starts (and after each restart), before the first block. */
  initCommand?: string;
  /** Delete the files each `executeCodeBlocks` call wrote once it ends. Default false. */
  deleteTmpFiles?: boolean;
  /** The engine client. Default: a `DockerClient` found like the docker CLI finds the engine. */
  docker?: DockerClient;

  /** Environment variables for the code. */
  environment?: Record<string, string>;
  /** User to run the code as (`uid:gid` or name). Default: the image's user. */
  user?: string;
  /** Network mode (`bridge`, `none`, …). Default: the engine's default (`bridge`). */
  networkMode?: string;
  /** Memory limit in bytes. */
  memoryBytes?: number;
  /** CPU limit in CPUs (e.g. 1.5). */
  cpus?: number;
  /** Most processes in the container. Default 4096 (a fork bomb cannot take the host down). */
  pidsLimit?: number;
  /** Extra container labels (Berth's own labels are always set). */
  labels?: Record<string, string>;
  /** `missing` (default): pull only when absent; `always`: pull every start; `never`: fail when absent. */
  pullPolicy?: PullPolicy;
  /** Called with pull progress messages during `start()`. */
  onPullProgress?: (message: ProgressMessage) => void;
  /** Most bytes of output kept per block and stream; the rest is dropped and marked. Default 1 MiB. */
  maxOutputBytes?: number;
  /** The sandbox preset for untrusted code (see {@link SandboxOptions}). Default off. */
  sandbox?: boolean | SandboxOptions;
  /**
   * `bind` or `copy` (see {@link WorkspaceMode}). Default: `bind` for an engine on a unix socket, `copy` otherwise, and
   * `copy` for the executor's own temp workspace when the engine maps container users to other host users (userns-remap,
   * or a rootless engine of another user).
   */
  workspace?: WorkspaceMode;
}

/** What `executeCodeBlocks` reports: autogen's `CommandLineCodeResult`, plus more. */
export interface CommandLineCodeResult {
  /** Exit code of the last block that ran; 124 on timeout, 1 on cancellation or a rejected block. */
  exitCode: number;
  /** Output of every block that ran, stdout and stderr interleaved in arrival order, joined without separators. */
  output: string;
  /** Host path of the first file written, or undefined when none was. */
  codeFile: string | undefined;
  /** Standard output alone. */
  stdout: string;
  /** Standard error alone. */
  stderr: string;
  /** True when the last block hit the timeout. */
  timedOut: boolean;
  /** True when the call was cancelled. */
  cancelled: boolean;
  /** True when output beyond `maxOutputBytes` was dropped. */
  truncated: boolean;
  /** Wall time of the whole call in milliseconds. */
  durationMs: number;
}

/** Options of `start()`. */
export interface StartOptions {
  /** Aborts the start (a long pull, a slow engine): whatever it made is removed, and `start()` rejects with the signal's reason. */
  signal?: AbortSignal;
}

/** Options of one `executeCodeBlocks` call. */
export interface ExecuteOptions {
  /** Receives output as it arrives. If it throws, the block is killed and the call rejects with that error. */
  onOutput?: (chunk: { stream: 'stdout' | 'stderr'; text: string }) => void;
}
