/**
 * `berth/engine`: a typed Docker Engine API client.
 * @module
 */

export type { ArchiveFile, ContainerPathType } from './archive.js';
export { DockerClient, type DockerClientOptions } from './client.js';
export type {
  AttachedStream,
  ContainerArchive,
  ContainerAttachOptions,
  ContainerCreateOptions,
  ContainerKillOptions,
  ContainerListOptions,
  ContainerLogsOptions,
  ContainerPathStat,
  ContainerPutArchiveOptions,
  ContainerPutFilesOptions,
  ContainerReadFileOptions,
  ContainerRemoveOptions,
  ContainerStopOptions,
  ContainersApi,
  ContainerWaitOptions,
} from './containers.js';
export {
  DockerApiError,
  type DockerApiErrorReason,
  type DockerApiErrorResource,
  DockerArgumentError,
  DockerConnectionError,
  DockerError,
  type DockerErrorCode,
  DockerNotAFileError,
  DockerStreamError,
  isDockerApiError,
  isDockerArgumentError,
  isDockerConnectionError,
  isDockerError,
  isDockerNotAFileError,
  isDockerStreamError,
} from './errors.js';
export type { ExecApi, ExecRunOptions, ExecRunResult, ExecStartOptions } from './exec.js';
export type { OutputStream } from './frames.js';
export { MAX_API_VERSION, MIN_API_VERSION } from './http/core.js';
export type { ImageImportOptions, ImageListOptions, ImagePullOptions, ImageRemoveOptions, ImagesApi } from './images.js';
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
