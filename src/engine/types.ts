/**
 * Wire types of the Docker Engine API, PascalCase exactly as the engine sends and expects them
 * (API 1.41 and later). Fields an engine may leave out are optional. Types list the fields Berth
 * and its users rely on; an index signature keeps everything else the engine sends reachable.
 *
 * @module
 */

/** A device request: how the GPU (or other device) of `docker run --gpus` is asked for. */
export interface DeviceRequest {
  /** Device driver, e.g. `nvidia`; empty lets the engine choose by capabilities. */
  Driver?: string;
  /** Number of devices; -1 means all. Use 0 with `DeviceIDs`. */
  Count?: number;
  /** Specific device IDs or UUIDs. */
  DeviceIDs?: string[];
  /** A list of capability sets, any of which must match, e.g. `[["gpu"]]`. */
  Capabilities?: string[][];
  /** Driver-specific options. */
  Options?: Record<string, string>;
}

/** A mount in `HostConfig.Mounts`. */
export interface Mount {
  Target: string;
  Source?: string;
  Type: 'bind' | 'volume' | 'tmpfs' | 'npipe' | 'cluster';
  ReadOnly?: boolean;
  Consistency?: string;
  BindOptions?: { Propagation?: string; NonRecursive?: boolean };
  VolumeOptions?: { NoCopy?: boolean; Labels?: Record<string, string>; DriverConfig?: { Name?: string; Options?: Record<string, string> } };
  TmpfsOptions?: { SizeBytes?: number; Mode?: number };
}

/** Resource limits and host-side settings of a container (`HostConfig`). */
export interface HostConfig {
  Binds?: string[];
  Mounts?: Mount[];
  AutoRemove?: boolean;
  NetworkMode?: string;
  ExtraHosts?: string[];
  DeviceRequests?: DeviceRequest[];
  /** Run an init process (tini / docker-init) as PID 1 that reaps zombies and forwards signals. */
  Init?: boolean | null;
  /** Memory limit in bytes. */
  Memory?: number;
  /** Total memory + swap in bytes; -1 for unlimited swap. */
  MemorySwap?: number;
  /** CPU quota in units of 1e-9 CPUs. */
  NanoCpus?: number;
  /** Maximum number of processes; 0 or -1 for unlimited. */
  PidsLimit?: number | null;
  CapAdd?: string[];
  CapDrop?: string[];
  SecurityOpt?: string[];
  ReadonlyRootfs?: boolean;
  /** Tmpfs mounts: path to options, e.g. `{ "/tmp": "rw,size=64m" }`. */
  Tmpfs?: Record<string, string>;
  Privileged?: boolean;
  PortBindings?: Record<string, Array<{ HostIp?: string; HostPort?: string }>>;
  PublishAllPorts?: boolean;
  RestartPolicy?: { Name?: '' | 'no' | 'always' | 'unless-stopped' | 'on-failure'; MaximumRetryCount?: number };
  ShmSize?: number;
  Ulimits?: Array<{ Name: string; Soft: number; Hard: number }>;
  LogConfig?: { Type?: string; Config?: Record<string, string> };
  IpcMode?: string;
  PidMode?: string;
  UsernsMode?: string;
  Dns?: string[];
  OomKillDisable?: boolean;
  [key: string]: unknown;
}

/** The body of `POST /containers/create`: the container's configuration. */
export interface ContainerCreateBody {
  Image: string;
  Cmd?: string[];
  Entrypoint?: string[] | string;
  Env?: string[];
  WorkingDir?: string;
  User?: string;
  Labels?: Record<string, string>;
  Tty?: boolean;
  OpenStdin?: boolean;
  StdinOnce?: boolean;
  AttachStdin?: boolean;
  AttachStdout?: boolean;
  AttachStderr?: boolean;
  Hostname?: string;
  Domainname?: string;
  ExposedPorts?: Record<string, Record<string, never>>;
  Volumes?: Record<string, Record<string, never>>;
  NetworkDisabled?: boolean;
  StopSignal?: string;
  /** Seconds to wait for the stop signal before SIGKILL. */
  StopTimeout?: number;
  Healthcheck?: { Test?: string[]; Interval?: number; Timeout?: number; Retries?: number; StartPeriod?: number };
  HostConfig?: HostConfig;
  NetworkingConfig?: { EndpointsConfig?: Record<string, unknown> };
  [key: string]: unknown;
}

/** The answer of `POST /containers/create`. */
export interface ContainerCreateResponse {
  Id: string;
  Warnings: string[] | null;
}

/** Container status values. Podman also reports `stopped`, `configured` and `initialized`. */
export type ContainerStatus = 'created' | 'running' | 'paused' | 'restarting' | 'removing' | 'exited' | 'dead' | (string & {});

/** `State` of a container inspect. */
export interface ContainerState {
  Status: ContainerStatus;
  Running: boolean;
  Paused: boolean;
  Restarting: boolean;
  OOMKilled: boolean;
  Dead: boolean;
  Pid: number;
  ExitCode: number;
  Error: string;
  StartedAt: string;
  FinishedAt: string;
  [key: string]: unknown;
}

/** The answer of `GET /containers/{id}/json`. */
export interface ContainerInspect {
  Id: string;
  Name: string;
  Created: string;
  Path: string;
  Args: string[];
  State: ContainerState;
  Image: string;
  RestartCount: number;
  Config: ContainerCreateBody;
  HostConfig: HostConfig;
  Mounts: Array<{ Type: string; Source: string; Destination: string; Mode: string; RW: boolean; [key: string]: unknown }>;
  NetworkSettings: Record<string, unknown>;
  [key: string]: unknown;
}

/** One entry of `GET /containers/json`. */
export interface ContainerSummary {
  Id: string;
  Names: string[];
  Image: string;
  ImageID: string;
  Command: string;
  Created: number;
  State: ContainerStatus;
  Status: string;
  Labels: Record<string, string>;
  [key: string]: unknown;
}

/** The answer of `POST /containers/{id}/wait`. */
export interface ContainerWaitResponse {
  StatusCode: number;
  Error?: { Message?: string } | null;
}

/**
 * The body of `POST /containers/{id}/update`: the resource limits and restart policy to change.
 * Fields left out stay as they are.
 */
export interface ContainerUpdateBody extends Pick<HostConfig, 'Memory' | 'MemorySwap' | 'NanoCpus' | 'PidsLimit' | 'RestartPolicy'> {
  /** Relative CPU weight. */
  CpuShares?: number;
  [key: string]: unknown;
}

/** The answer of `POST /containers/{id}/update`. */
export interface ContainerUpdateResponse {
  Warnings: string[] | null;
}

/** The answer of `GET /containers/{id}/top`: a `ps` table of the container's processes. */
export interface ContainerTopResponse {
  /** Column names, e.g. `UID`, `PID`, `PPID`, `C`, `STIME`, `TTY`, `TIME`, `CMD` (dockerd's `ps -ef`). */
  Titles: string[];
  /** One row per process, one string per column. */
  Processes: string[][];
}

/** One entry of `GET /containers/{id}/changes`: a path of the container's filesystem and what happened to it. */
export interface ContainerChange {
  /** Absolute path inside the container. */
  Path: string;
  /** 0: modified, 1: added, 2: deleted. */
  Kind: 0 | 1 | 2;
}

/** The answer of `GET /containers/{id}/stats` (Linux fields; a subset is typed, the rest stays reachable). */
export interface ContainerStats {
  /** When the sample was read (RFC 3339). */
  read: string;
  /** When the previous sample was read (the zero time on the first sample and with `oneShot`). */
  preread: string;
  /** Name with a leading slash (dockerd); Podman may leave it out. */
  name?: string;
  id?: string;
  pids_stats: { current?: number; limit?: number };
  cpu_stats: ContainerCpuStats;
  /** The previous sample's CPU figures: with `cpu_stats`, what `docker stats` turns into a percentage. */
  precpu_stats: ContainerCpuStats;
  memory_stats: { usage?: number; max_usage?: number; limit?: number; stats?: Record<string, number>; [key: string]: unknown };
  /** Per interface, e.g. `eth0` (absent without networking). */
  networks?: Record<string, { rx_bytes: number; tx_bytes: number; rx_packets: number; tx_packets: number; [key: string]: unknown }>;
  blkio_stats: Record<string, unknown>;
  [key: string]: unknown;
}

/** CPU figures of a {@link ContainerStats} sample, in nanoseconds of CPU time. */
export interface ContainerCpuStats {
  cpu_usage: { total_usage: number; usage_in_kernelmode?: number; usage_in_usermode?: number; percpu_usage?: number[] };
  /** The host's CPU time (absent when the container is not running). */
  system_cpu_usage?: number;
  online_cpus?: number;
  throttling_data?: { periods: number; throttled_periods: number; throttled_time: number };
}

/** The answer of `POST /containers/prune`. */
export interface ContainerPruneResponse {
  /** IDs of the removed containers (`[]` when none). */
  ContainersDeleted: string[];
  /** Bytes freed on the engine's disk. */
  SpaceReclaimed: number;
}

/** The body of `POST /containers/{id}/exec`. */
export interface ExecCreateBody {
  Cmd: string[];
  AttachStdin?: boolean;
  AttachStdout?: boolean;
  AttachStderr?: boolean;
  Tty?: boolean;
  DetachKeys?: string;
  Env?: string[];
  WorkingDir?: string;
  User?: string;
  Privileged?: boolean;
  ConsoleSize?: [number, number];
}

/** The answer of `GET /exec/{id}/json`. */
export interface ExecInspect {
  ID: string;
  Running: boolean;
  /** Null while the process runs (and on some engines briefly after it ends). */
  ExitCode: number | null;
  Pid: number;
  ContainerID: string;
  OpenStdin: boolean;
  OpenStdout: boolean;
  OpenStderr: boolean;
  ProcessConfig: { tty: boolean; entrypoint: string; arguments: string[]; privileged: boolean; user?: string };
  [key: string]: unknown;
}

/** One entry of `GET /images/json`. */
export interface ImageSummary {
  Id: string;
  ParentId: string;
  RepoTags: string[] | null;
  RepoDigests: string[] | null;
  Created: number;
  Size: number;
  Labels: Record<string, string> | null;
  [key: string]: unknown;
}

/** The answer of `GET /images/{name}/json`. */
export interface ImageInspect {
  Id: string;
  RepoTags: string[];
  RepoDigests: string[];
  Created: string;
  Architecture: string;
  Os: string;
  Size: number;
  Config: Partial<ContainerCreateBody> | null;
  [key: string]: unknown;
}

/** One layer of `GET /images/{name}/history`. */
export interface ImageHistoryItem {
  /** The layer's image ID, or `<missing>` for a layer built elsewhere. */
  Id: string;
  /** Unix seconds. */
  Created: number;
  /** The instruction that made the layer, e.g. `/bin/sh -c #(nop)  CMD ["sh"]`. */
  CreatedBy: string;
  Tags: string[] | null;
  /** Bytes the layer adds. */
  Size: number;
  Comment: string;
}

/** The answer of `GET /system/df`: disk usage by images, containers, volumes and the build cache. */
export interface SystemDiskUsage {
  LayersSize: number;
  Images: Array<ImageSummary & { SharedSize?: number; Containers?: number }>;
  Containers: Array<ContainerSummary & { SizeRw?: number; SizeRootFs?: number }>;
  Volumes: Array<{
    Name: string;
    Driver: string;
    Mountpoint: string;
    UsageData?: { Size: number; RefCount: number } | null;
    [key: string]: unknown;
  }>;
  BuildCache?: Array<Record<string, unknown>> | null;
  [key: string]: unknown;
}

/** The answer of `POST /images/prune`. */
export interface ImagePruneResponse {
  /** What was untagged and deleted (`[]` when nothing). */
  ImagesDeleted: Array<{ Untagged?: string; Deleted?: string }>;
  /** Bytes freed on the engine's disk. */
  SpaceReclaimed: number;
}

/** One message of the image pull or import progress stream. */
export interface ProgressMessage {
  status?: string;
  id?: string;
  progress?: string;
  progressDetail?: { current?: number; total?: number };
  /** Present when the engine failed inside the stream (the HTTP status was already 200). */
  error?: string;
  errorDetail?: { code?: number; message?: string };
  stream?: string;
  [key: string]: unknown;
}

/** One message of the image build progress stream (`POST /build`). */
export interface BuildMessage extends ProgressMessage {
  /** A piece of the build's output (step headers and what the steps print). */
  stream?: string;
  /** `{ ID: 'sha256:…' }` once the image is written (Docker). */
  aux?: { ID?: string; [key: string]: unknown };
}

/** The answer of `GET /version`. */
export interface SystemVersion {
  Version: string;
  ApiVersion: string;
  MinAPIVersion?: string;
  GitCommit?: string;
  GoVersion?: string;
  Os: string;
  Arch: string;
  KernelVersion?: string;
  Platform?: { Name: string };
  Components?: Array<{ Name: string; Version: string; Details?: Record<string, unknown> }>;
  [key: string]: unknown;
}

/** The answer of `GET /info` (a subset is typed; the rest stays reachable). */
export interface SystemInfo {
  ID: string;
  Containers: number;
  ContainersRunning: number;
  Images: number;
  Driver: string;
  ServerVersion: string;
  OperatingSystem: string;
  OSType: string;
  Architecture: string;
  NCPU: number;
  MemTotal: number;
  DockerRootDir: string;
  Runtimes?: Record<string, unknown>;
  CgroupVersion?: string;
  SecurityOptions?: string[];
  [key: string]: unknown;
}

/** One message of `GET /events`. */
export interface EventMessage {
  Type: string;
  Action: string;
  Actor: { ID: string; Attributes: Record<string, string> };
  scope?: string;
  time: number;
  timeNano: number;
  [key: string]: unknown;
}
