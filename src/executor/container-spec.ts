/**
 * The executor's container, as the engine's create body: options in, `ContainerCreateBody` out, no
 * I/O. Everything the executor asks of the engine about the container's shape is decided here.
 *
 * **One precedence rule** for a setting that both `sandbox` and a top-level option can set
 * (`networkMode`, `memoryBytes`, `cpus`, `pidsLimit`, `user`): the top-level option wins, then the
 * sandbox's own value, then the sandbox's default (when `sandbox` is on), then the engine's or the
 * image's default. So `{ sandbox: { pidsLimit: 64 }, pidsLimit: 256 }` runs with 256.
 *
 * @module
 */

import type { ContainerCreateBody, DeviceRequest, HostConfig } from '../engine/index.js';
import type { DockerCommandLineCodeExecutorOptions, SandboxOptions } from './types.js';
import type { WorkspaceMounts } from './workspace.js';

/** Label on every container an executor creates (value `1`); `berth prune` finds strays by it. */
export const EXECUTOR_LABEL = 'berth.executor';
/** Default pids limit: a fork bomb stays inside the container. */
export const DEFAULT_PIDS_LIMIT = 4096;

/** The sandbox's defaults, for whatever neither the sandbox object nor a top-level option sets. */
export const SANDBOX_DEFAULTS: Readonly<Required<SandboxOptions>> = Object.freeze({
  networkMode: 'none',
  memoryBytes: 512 * 1024 * 1024,
  cpus: 1,
  pidsLimit: 128,
  user: '65534:65534',
  tmpSize: '64m',
});

/**
 * PID 1 of our own, for engines that refuse `HostConfig.Init` (Podman without catatonit): a shell
 * that exits at once on SIGTERM or SIGINT (a trap makes PID 1 take the signal at all) and reaps
 * every child, orphans re-parented to it included (`wait` reaps any child that ends meanwhile).
 */
export const OWN_INIT_SCRIPT = "trap 'exit 0' TERM INT HUP; while :; do sleep 3600 & wait $!; done";

/** What {@link buildContainerSpec} needs besides the options. */
export interface ContainerSpecInput {
  /** The executor's options, already validated. */
  options: DockerCommandLineCodeExecutorOptions;
  /** Image to run. */
  image: string;
  /** How `/workspace` is mounted (the workspace strategy's {@link WorkspaceMounts}). */
  workspace: WorkspaceMounts;
  /** Labels that name the executor and its process (see `berth prune`). */
  ownerLabels: Record<string, string>;
  /** `engine`: `HostConfig.Init` (the engine's init binary); `own`: {@link OWN_INIT_SCRIPT} as PID 1. */
  init: 'engine' | 'own';
}

/** The sandbox options in effect: undefined when the sandbox is off, `{}` for `sandbox: true`. */
export function sandboxOf(options: DockerCommandLineCodeExecutorOptions): SandboxOptions | undefined {
  const sandbox = options.sandbox;
  if (sandbox === true) return {};
  if (sandbox === false || sandbox === undefined) return undefined;
  return sandbox;
}

/** One setting under the precedence rule (see the module's comment). */
function pick<K extends keyof SandboxOptions & keyof DockerCommandLineCodeExecutorOptions>(
  options: DockerCommandLineCodeExecutorOptions,
  key: K,
): SandboxOptions[K] | undefined {
  const sandbox = sandboxOf(options);
  return options[key] ?? sandbox?.[key] ?? (sandbox ? SANDBOX_DEFAULTS[key] : undefined);
}

/** The user the code runs as, when it is not the image's: `user`, else the sandbox's (default nobody). */
export function codeUser(options: DockerCommandLineCodeExecutorOptions): string | undefined {
  return pick(options, 'user');
}

/** The code's environment, `KEY=value`: unbuffered Python, then `environment`. */
export function codeEnv(options: DockerCommandLineCodeExecutorOptions): string[] {
  return ['PYTHONUNBUFFERED=1', ...Object.entries(options.environment ?? {}).map(([k, v]) => `${k}=${v}`)];
}

/** `deviceRequests` in the engine's shape (`docker run --gpus`: all devices with the `gpu` capability by default). */
export function deviceRequestsOf(options: DockerCommandLineCodeExecutorOptions): DeviceRequest[] | undefined {
  return options.deviceRequests?.map((request) => ({
    Driver: request.driver ?? '',
    Count: request.count ?? (request.deviceIds?.length ? 0 : -1),
    ...(request.deviceIds ? { DeviceIDs: request.deviceIds } : {}),
    Capabilities: request.capabilities ?? [['gpu']],
    Options: request.options ?? {},
  }));
}

/**
 * The create body of the executor's container. Never `AutoRemove`: the executor removes its
 * container itself in `stop()` (an engine-side removal raced dockerd 20.10's restart).
 */
export function buildContainerSpec(input: ContainerSpecInput): ContainerCreateBody {
  const { options } = input;
  const sandbox = sandboxOf(options);
  const binds = [...input.workspace.binds];
  for (const [host, binding] of Object.entries(options.extraVolumes ?? {})) binds.push(`${host}:${binding.bind}:${binding.mode ?? 'rw'}`);
  const hostConfig: HostConfig = {
    Binds: binds,
    AutoRemove: false,
    PidsLimit: pick(options, 'pidsLimit') ?? DEFAULT_PIDS_LIMIT,
    SecurityOpt: ['no-new-privileges'],
    // No device nodes: in a bind-mounted workspace one would be a door to this machine's disks
    // for whatever reads the folder here (Podman leaves MKNOD out of its defaults too).
    CapDrop: ['MKNOD'],
  };
  // An init process as PID 1 reaps zombies and makes the container stop at once.
  if (input.init === 'engine') hostConfig.Init = true;
  const extraHosts = Object.entries(options.extraHosts ?? {});
  if (extraHosts.length) hostConfig.ExtraHosts = extraHosts.map(([h, ip]) => `${h}:${ip}`);
  const devices = deviceRequestsOf(options);
  if (devices) hostConfig.DeviceRequests = devices;
  const networkMode = pick(options, 'networkMode');
  if (networkMode !== undefined) hostConfig.NetworkMode = networkMode;
  const memory = pick(options, 'memoryBytes');
  if (memory !== undefined) {
    hostConfig.Memory = memory;
    hostConfig.MemorySwap = memory;
  }
  const cpus = pick(options, 'cpus');
  if (cpus !== undefined) hostConfig.NanoCpus = Math.round(cpus * 1e9);
  if (sandbox) {
    hostConfig.CapDrop = ['ALL'];
    hostConfig.ReadonlyRootfs = true;
    hostConfig.Tmpfs = { '/tmp': `rw,nosuid,nodev,size=${sandbox.tmpSize ?? SANDBOX_DEFAULTS.tmpSize}` };
  }
  const user = codeUser(options);
  return {
    Image: input.image,
    ...(Object.keys(input.workspace.volumes).length ? { Volumes: input.workspace.volumes } : {}),
    // With the engine's init, a shell waiting on its terminal idles as the container's process.
    ...(input.init === 'engine' ? { Entrypoint: ['/bin/sh'] } : { Entrypoint: ['/bin/sh', '-c', OWN_INIT_SCRIPT] }),
    Tty: true,
    OpenStdin: false,
    WorkingDir: '/workspace',
    Env: codeEnv(options),
    ...(user !== undefined ? { User: user } : {}),
    Labels: { ...options.labels, ...input.ownerLabels, [EXECUTOR_LABEL]: '1' },
    HostConfig: hostConfig,
  };
}
