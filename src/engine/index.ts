/**
 * `berth/engine`: a typed Docker Engine API client.
 * @module
 */

export type { ArchiveFile, ContainerPathType } from './archive.js';
export {
  DOCKER_HUB_ADDRESS,
  type DockerConfigFile,
  encodeRegistryAuth,
  encodeRegistryConfig,
  normaliseRegistry,
  type RegistryCredentials,
  registryOf,
} from './auth/registry.js';
export { DockerIgnore } from './build/dockerignore.js';
export type { ImageBuild, ImageBuildResult } from './build/stream.js';
export { DockerClient, type DockerClientOptions } from './client.js';
export type {
  AttachedStream,
  ContainerArchive,
  ContainerAttachOptions,
  ContainerCommitOptions,
  ContainerCreateOptions,
  ContainerKillOptions,
  ContainerListOptions,
  ContainerLogsOptions,
  ContainerPathStat,
  ContainerPortMapping,
  ContainerPruneOptions,
  ContainerPutArchiveOptions,
  ContainerPutFilesOptions,
  ContainerReadFileOptions,
  ContainerRemoveOptions,
  ContainerStatsOptions,
  ContainerStatsStream,
  ContainerStopOptions,
  ContainersApi,
  ContainerTopOptions,
  ContainerWaitOptions,
} from './containers.js';
export {
  DockerApiError,
  type DockerApiErrorReason,
  type DockerApiErrorResource,
  DockerArgumentError,
  DockerBuildError,
  DockerConnectionError,
  DockerCredentialsError,
  DockerError,
  type DockerErrorCode,
  DockerNotAFileError,
  DockerStreamError,
  isDockerApiError,
  isDockerArgumentError,
  isDockerBuildError,
  isDockerConnectionError,
  isDockerCredentialsError,
  isDockerError,
  isDockerNotAFileError,
  isDockerStreamError,
} from './errors.js';
export type { ExecApi, ExecRunOptions, ExecRunResult, ExecStartOptions } from './exec.js';
export type { OutputStream } from './frames.js';
export { MAX_API_VERSION, MIN_API_VERSION } from './http/core.js';
export type {
  ImageBuildContext,
  ImageBuildOptions,
  ImageImportOptions,
  ImageListOptions,
  ImageLoadOptions,
  ImagePruneOptions,
  ImagePullOptions,
  ImagePushOptions,
  ImageRemoveOptions,
  ImagesApi,
  RegistryAuthOptions,
} from './images.js';
export type {
  NetworkConnectOptions,
  NetworkCreateBody,
  NetworkCreateResponse,
  NetworkDisconnectOptions,
  NetworkEndpointSettings,
  NetworkInspect,
  NetworkInspectOptions,
  NetworkIpam,
  NetworkListOptions,
  NetworkPruneResponse,
  NetworksApi,
} from './networks.js';
export type { CallOptions, Filters } from './options.js';
export { demuxStream, encodeFrame, FrameDecoder, rawStream, type StdFrame, type StdStreamName } from './stream/demux.js';
export { JsonLineDecoder, jsonLines } from './stream/json-lines.js';
export type { EventStream, PingResult, SystemApi, SystemEventsOptions } from './system.js';
export type { EngineEndpoint } from './transport/auto.js';
export { createFetchTransport, type FetchTransportOptions } from './transport/fetch.js';
export { createNodeTransport, type NodeEndpoint, type NodeTransportOptions, type TlsMaterial } from './transport/node.js';
export { type EngineLocationOptions, type ResolvedEngine, resolveEngine, type TlsOption } from './transport/select.js';
export type { SshEndpoint, SshOptions } from './transport/ssh-endpoint.js';
export type {
  HijackedConnection,
  Transport,
  TransportRequest,
  TransportRequestBody,
  TransportResponse,
  TransportResponseBody,
} from './transport/types.js';
export type * from './types.js';
export type {
  Volume,
  VolumeCreateBody,
  VolumeListOptions,
  VolumeListResponse,
  VolumePruneResponse,
  VolumeRemoveOptions,
  VolumesApi,
} from './volumes.js';
