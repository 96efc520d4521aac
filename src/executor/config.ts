/**
 * The executor's component config, in and out, in the JSON shape of autogen's
 * `DockerCommandLineCodeExecutor.dump_component()`, so configs round-trip with autogen and
 * autogen-studio.
 *
 * @module
 */

import type { ResolvedOptions } from './options.js';
import type { DockerCommandLineCodeExecutorOptions, SandboxOptions, VolumeBinding, WorkspaceMode } from './types.js';

/** autogen's provider string for the Docker executor. */
export const COMPONENT_PROVIDER = 'autogen_ext.code_executors.docker.DockerCommandLineCodeExecutor';

/** The component's `label`. */
export const COMPONENT_LABEL = 'DockerCommandLineCodeExecutor';

/** The component's `description` (the first paragraph of autogen's class docstring). */
export const COMPONENT_DESCRIPTION = 'Executes code through a command line environment in a Docker container.';

/** Provider strings {@link fromComponent} accepts: autogen's, the class's module path, and the bare class name. */
export const ACCEPTED_PROVIDERS: readonly string[] = Object.freeze([
  COMPONENT_PROVIDER,
  'autogen_ext.code_executors.docker._docker_code_executor.DockerCommandLineCodeExecutor',
  'DockerCommandLineCodeExecutor',
]);

/** autogen's `DockerCommandLineCodeExecutorConfig`: snake_case, fields left out when unset. */
export interface DockerCommandLineCodeExecutorConfig {
  /** Image to run. */
  image: string;
  /** Container name; left out when it was generated, so a loaded copy generates its own. */
  container_name?: string;
  /** Seconds a code block may run. */
  timeout: number;
  /** Host folder of the code files; left out when a temp folder is used. */
  work_dir?: string;
  /** Host path mounted at `/workspace`; equals `work_dir` unless set apart. */
  bind_dir?: string;
  /** Remove the container when it stops. */
  auto_remove: boolean;
  /** Stop the container at process exit. */
  stop_container: boolean;
  /** Name of the functions module. */
  functions_module: string;
  /** Extra bind mounts: host path to `{ bind, mode }`. */
  extra_volumes: Record<string, Record<string, string>>;
  /** Extra `/etc/hosts` entries. */
  extra_hosts: Record<string, string>;
  /** Shell command run when the container starts. */
  init_command?: string;
  /** Delete each call's code files when it ends. */
  delete_tmp_files: boolean;
  /** Berth: the sandbox preset (`true`, or its settings in snake_case). Left out when off. */
  sandbox?: boolean | SandboxConfig;
  /** Berth: the code's user. */
  user?: string;
  /** Berth: network mode. */
  network_mode?: string;
  /** Berth: memory limit in bytes. */
  memory_bytes?: number;
  /** Berth: CPU limit in CPUs. */
  cpus?: number;
  /** Berth: most processes in the container. */
  pids_limit?: number;
  /** Berth: environment variables of the code. */
  environment?: Record<string, string>;
  /** Berth: `bind` or `copy`. */
  workspace?: WorkspaceMode;
}

/** {@link SandboxOptions} in snake_case, as a component config carries them. */
export interface SandboxConfig {
  network_mode?: string;
  memory_bytes?: number;
  cpus?: number;
  pids_limit?: number;
  user?: string;
  tmp_size?: string;
}

/** Berth's sandbox keys: option name to config key. */
const SANDBOX_KEYS = [
  ['networkMode', 'network_mode'],
  ['memoryBytes', 'memory_bytes'],
  ['cpus', 'cpus'],
  ['pidsLimit', 'pids_limit'],
  ['user', 'user'],
  ['tmpSize', 'tmp_size'],
] as const;

/** autogen's `ComponentModel`: what `dump_component()` returns and `load_component()` reads. */
export interface ComponentModel<C> {
  /** Dotted path of the class that loads the config. */
  provider: string;
  /** Always `code_executor` here. */
  component_type: 'code_executor';
  /** Version of the component model schema (1). */
  version: number;
  /** Version of the component's config (1). */
  component_version: number;
  /** One-line description. */
  description: string;
  /** Human-readable label. */
  label: string;
  /** The component's own config. */
  config: C;
}

/** An executor's settings as {@link toComponent} reads them: resolved values, not the raw options. */
export interface ExecutorConfigSource {
  /** Image to run. */
  image: string;
  /** The container name in use. */
  containerName: string;
  /** True when `containerName` was generated (`autogen-code-exec-<uuid>`) rather than chosen by the user. */
  containerNameGenerated: boolean;
  /** Seconds a code block may run. */
  timeout: number;
  /** The user's `workDir`, or undefined when a temp folder is used. */
  workDir: string | undefined;
  /** The user's `bindDir`, or undefined when it follows `workDir`. */
  bindDir: string | undefined;
  /** Remove the container when it stops. */
  autoRemove: boolean;
  /** Stop the container at process exit. */
  stopContainer: boolean;
  /** Name of the functions module. */
  functionsModule: string;
  /** Extra bind mounts. */
  extraVolumes: Record<string, VolumeBinding>;
  /** Extra `/etc/hosts` entries. */
  extraHosts: Record<string, string>;
  /** Shell command run when the container starts. */
  initCommand: string | undefined;
  /** Delete each call's code files when it ends. */
  deleteTmpFiles: boolean;
  /** True when the executor has user-defined functions (they are not serialised). */
  hasFunctions: boolean;
  /** True when the executor has device requests (they are not serialised). */
  hasDeviceRequests: boolean;
  /** Berth's own settings, written when set. */
  sandbox?: boolean | SandboxOptions | undefined;
  user?: string | undefined;
  networkMode?: string | undefined;
  memoryBytes?: number | undefined;
  cpus?: number | undefined;
  pidsLimit?: number | undefined;
  environment?: Record<string, string> | undefined;
  workspace?: WorkspaceMode | undefined;
}

/** An executor's settings for {@link toComponent}, from its resolved options and container name. */
export function configSourceOf(options: ResolvedOptions, containerName: string): ExecutorConfigSource {
  const raw = options.raw;
  return {
    image: options.image,
    containerName,
    containerNameGenerated: raw.containerName === undefined,
    timeout: options.timeout,
    workDir: raw.workDir,
    bindDir: raw.bindDir ?? raw.workDir,
    autoRemove: options.autoRemove,
    stopContainer: options.stopContainer,
    functionsModule: options.functionsModule,
    extraVolumes: { ...raw.extraVolumes },
    extraHosts: { ...raw.extraHosts },
    initCommand: raw.initCommand,
    deleteTmpFiles: options.deleteTmpFiles,
    hasFunctions: options.functions.length > 0,
    hasDeviceRequests: raw.deviceRequests !== undefined,
    sandbox: raw.sandbox,
    user: raw.user,
    networkMode: raw.networkMode,
    memoryBytes: raw.memoryBytes,
    cpus: raw.cpus,
    pidsLimit: raw.pidsLimit,
    environment: raw.environment,
    workspace: raw.workspace,
  };
}

/** Names autogen (and Berth) generate: `autogen-code-exec-` and a hyphenated UUID. */
const GENERATED_NAME = /^autogen-code-exec-[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i;

/** True when `name` has the shape of a generated container name (`autogen-code-exec-<uuid>`). */
export function isGeneratedContainerName(name: string): boolean {
  return GENERATED_NAME.test(name);
}

/**
 * The executor's config as autogen's `dump_component()` writes it: the same keys in the same order,
 * unset values left out (`exclude_none`), `bind_dir` equal to `work_dir` unless set apart, and each
 * extra volume as `{ bind, mode }` with `mode` defaulting to `rw`.
 *
 * Differences from autogen: a generated container name is not written (autogen wrote it, so
 * every loaded copy fought the original over one container; its bug B10). User-defined functions
 * and device requests are never serialised; `warn` is told about each (autogen logged the first
 * at info level and dropped the second silently).
 *
 * @param source the executor's resolved settings.
 * @param warn receives a message for each setting that is left out. Default: ignore.
 */
export function toComponent(
  source: ExecutorConfigSource,
  warn: (message: string) => void = () => {},
): ComponentModel<DockerCommandLineCodeExecutorConfig> {
  if (source.hasFunctions) warn('Functions will not be included in serialized configuration');
  if (source.hasDeviceRequests) warn('deviceRequests are not included in serialized configuration');

  const config: Record<string, unknown> = {};
  config.image = source.image;
  if (!source.containerNameGenerated) config.container_name = source.containerName;
  config.timeout = source.timeout;
  if (source.workDir !== undefined) config.work_dir = source.workDir;
  const bindDir = source.bindDir ?? source.workDir;
  if (bindDir !== undefined) config.bind_dir = bindDir;
  config.auto_remove = source.autoRemove;
  config.stop_container = source.stopContainer;
  config.functions_module = source.functionsModule;
  const volumes: Record<string, Record<string, string>> = {};
  for (const [host, v] of Object.entries(source.extraVolumes)) volumes[host] = { bind: v.bind, mode: v.mode ?? 'rw' };
  config.extra_volumes = volumes;
  config.extra_hosts = { ...source.extraHosts };
  if (source.initCommand !== undefined) config.init_command = source.initCommand;
  config.delete_tmp_files = source.deleteTmpFiles;
  // Berth's own keys, after autogen's (its loader ignores unknown keys).
  if (source.sandbox !== undefined && source.sandbox !== false) {
    if (source.sandbox === true) config.sandbox = true;
    else {
      const sandbox: Record<string, unknown> = {};
      for (const [option, key] of SANDBOX_KEYS) if (source.sandbox[option] !== undefined) sandbox[key] = source.sandbox[option];
      config.sandbox = sandbox;
    }
  }
  if (source.user !== undefined) config.user = source.user;
  if (source.networkMode !== undefined) config.network_mode = source.networkMode;
  if (source.memoryBytes !== undefined) config.memory_bytes = source.memoryBytes;
  if (source.cpus !== undefined) config.cpus = source.cpus;
  if (source.pidsLimit !== undefined) config.pids_limit = source.pidsLimit;
  if (source.environment !== undefined) config.environment = { ...source.environment };
  if (source.workspace !== undefined) config.workspace = source.workspace;

  return {
    provider: COMPONENT_PROVIDER,
    component_type: 'code_executor',
    version: 1,
    component_version: 1,
    description: COMPONENT_DESCRIPTION,
    label: COMPONENT_LABEL,
    config: config as unknown as DockerCommandLineCodeExecutorConfig,
  };
}

function isRecord(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

function typeName(value: unknown): string {
  if (value === null) return 'null';
  if (Array.isArray(value)) return 'array';
  return typeof value;
}

function wrongType(key: string, expected: string, value: unknown): TypeError {
  return new TypeError(`config.${key} must be ${expected}, got ${typeName(value)}`);
}

function stringField(config: Record<string, unknown>, key: string, optional: boolean): string | undefined {
  const value = config[key];
  if (value === undefined || (optional && value === null)) return undefined;
  if (typeof value !== 'string') throw wrongType(key, optional ? 'a string or null' : 'a string', value);
  return value;
}

function booleanField(config: Record<string, unknown>, key: string): boolean | undefined {
  const value = config[key];
  if (value === undefined) return undefined;
  if (typeof value !== 'boolean') throw wrongType(key, 'a boolean', value);
  return value;
}

function stringMapField(config: Record<string, unknown>, key: string): Record<string, string> | undefined {
  const value = config[key];
  if (value === undefined) return undefined;
  if (!isRecord(value)) throw wrongType(key, 'an object of strings', value);
  const out: Record<string, string> = {};
  for (const [k, v] of Object.entries(value)) {
    if (typeof v !== 'string') throw new TypeError(`config.${key}[${JSON.stringify(k)}] must be a string, got ${typeName(v)}`);
    out[k] = v;
  }
  return out;
}

function volumesField(config: Record<string, unknown>): Record<string, VolumeBinding> | undefined {
  const value = config.extra_volumes;
  if (value === undefined) return undefined;
  if (!isRecord(value)) throw wrongType('extra_volumes', 'an object of { bind, mode }', value);
  const out: Record<string, VolumeBinding> = {};
  for (const [host, v] of Object.entries(value)) {
    const where = `config.extra_volumes[${JSON.stringify(host)}]`;
    if (!isRecord(v)) throw new TypeError(`${where} must be an object { bind, mode }, got ${typeName(v)}`);
    if (typeof v.bind !== 'string') throw new TypeError(`${where}.bind must be a string, got ${typeName(v.bind)}`);
    if (v.mode !== undefined && typeof v.mode !== 'string') throw new TypeError(`${where}.mode must be a string, got ${typeName(v.mode)}`);
    out[host] = typeof v.mode === 'string' ? { bind: v.bind, mode: v.mode } : { bind: v.bind };
  }
  return out;
}

function parseInput(json: unknown): Record<string, unknown> {
  if (typeof json === 'string') {
    let parsed: unknown;
    try {
      parsed = JSON.parse(json);
    } catch (error) {
      throw new TypeError(`component config is not valid JSON: ${(error as Error).message}`, { cause: error });
    }
    return parseInput(parsed);
  }
  if (!isRecord(json)) throw new TypeError(`component config must be an object or its JSON text, got ${typeName(json)}`);
  if (!('provider' in json) && !('config' in json)) return json; // a bare config object

  const { provider, component_type, version, component_version, config } = json;
  if (typeof provider !== 'string') throw new TypeError(`provider must be a string, got ${typeName(provider)}`);
  if (!ACCEPTED_PROVIDERS.includes(provider)) {
    throw new Error(`Unsupported provider ${JSON.stringify(provider)}; expected ${JSON.stringify(COMPONENT_PROVIDER)}`);
  }
  if (component_type !== undefined && component_type !== null) {
    if (typeof component_type !== 'string') throw new TypeError(`component_type must be a string, got ${typeName(component_type)}`);
    if (component_type !== 'code_executor')
      throw new Error(`Unsupported component_type ${JSON.stringify(component_type)}; expected "code_executor"`);
  }
  if (version !== undefined && typeof version !== 'number') throw new TypeError(`version must be a number, got ${typeName(version)}`);
  if (component_version !== undefined && component_version !== null && typeof component_version !== 'number') {
    throw new TypeError(`component_version must be a number, got ${typeName(component_version)}`);
  }
  if (!isRecord(config)) throw new TypeError(`config must be an object, got ${typeName(config)}`);
  return config;
}

/**
 * Executor options from a component config: a `ComponentModel` object (as autogen's
 * `dump_component()` or {@link toComponent} writes it), its JSON text, or a bare config object.
 * snake_case keys become the camelCase options; keys that are missing are left out so the
 * executor's defaults apply, `null` optional values count as missing, unknown keys are ignored
 * (like pydantic), and a value of the wrong type throws a `TypeError` naming the key. The provider
 * must be one of {@link ACCEPTED_PROVIDERS}, and `component_type`, when given, `code_executor`.
 * Range checks (a timeout below 1, a bad module name) are the executor's, with autogen's messages.
 *
 * A `container_name` of the generated shape `autogen-code-exec-<uuid>` is dropped, so the loaded
 * executor generates its own name. autogen wrote its generated names into every dump, and a
 * loaded copy with that name force-removed the original's container on `start()` (autogen's bug
 * B10); since a generated name cannot be told from a user who chose that exact shape, the shape
 * decides. Any other name is kept.
 */
export function fromComponent(json: unknown): DockerCommandLineCodeExecutorOptions {
  const config = parseInput(json);
  const options: DockerCommandLineCodeExecutorOptions = {};

  const image = stringField(config, 'image', false);
  if (image !== undefined) options.image = image;
  const containerName = stringField(config, 'container_name', true);
  if (containerName !== undefined && !isGeneratedContainerName(containerName)) options.containerName = containerName;
  const timeout = config.timeout;
  if (timeout !== undefined) {
    if (typeof timeout !== 'number' || !Number.isInteger(timeout)) throw wrongType('timeout', 'an integer number of seconds', timeout);
    options.timeout = timeout;
  }
  const workDir = stringField(config, 'work_dir', true);
  if (workDir !== undefined) options.workDir = workDir;
  const bindDir = stringField(config, 'bind_dir', true);
  if (bindDir !== undefined) options.bindDir = bindDir;
  const autoRemove = booleanField(config, 'auto_remove');
  if (autoRemove !== undefined) options.autoRemove = autoRemove;
  const stopContainer = booleanField(config, 'stop_container');
  if (stopContainer !== undefined) options.stopContainer = stopContainer;
  const functionsModule = stringField(config, 'functions_module', false);
  if (functionsModule !== undefined) options.functionsModule = functionsModule;
  const extraVolumes = volumesField(config);
  if (extraVolumes !== undefined) options.extraVolumes = extraVolumes;
  const extraHosts = stringMapField(config, 'extra_hosts');
  if (extraHosts !== undefined) options.extraHosts = extraHosts;
  const initCommand = stringField(config, 'init_command', true);
  if (initCommand !== undefined) options.initCommand = initCommand;
  const deleteTmpFiles = booleanField(config, 'delete_tmp_files');
  if (deleteTmpFiles !== undefined) options.deleteTmpFiles = deleteTmpFiles;
  readBerthKeys(config, options);
  return options;
}

function numberField(config: Record<string, unknown>, key: string, where = 'config'): number | undefined {
  const value = config[key];
  if (value === undefined || value === null) return undefined;
  if (typeof value !== 'number' || !Number.isFinite(value)) throw new TypeError(`${where}.${key} must be a number, got ${typeName(value)}`);
  return value;
}

/** Berth's own keys (see {@link DockerCommandLineCodeExecutorConfig}). */
function readBerthKeys(config: Record<string, unknown>, options: DockerCommandLineCodeExecutorOptions): void {
  const sandbox = config.sandbox;
  if (typeof sandbox === 'boolean') options.sandbox = sandbox;
  else if (isRecord(sandbox)) {
    const out: Record<string, unknown> = {};
    for (const [option, key] of SANDBOX_KEYS) {
      const value =
        key === 'network_mode' || key === 'user' || key === 'tmp_size'
          ? stringField(sandbox, key, true)
          : numberField(sandbox, key, 'config.sandbox');
      if (value !== undefined) out[option] = value;
    }
    options.sandbox = out as SandboxOptions;
  } else if (sandbox !== undefined && sandbox !== null) throw wrongType('sandbox', 'a boolean or an object', sandbox);
  const user = stringField(config, 'user', true);
  if (user !== undefined) options.user = user;
  const networkMode = stringField(config, 'network_mode', true);
  if (networkMode !== undefined) options.networkMode = networkMode;
  const memoryBytes = numberField(config, 'memory_bytes');
  if (memoryBytes !== undefined) options.memoryBytes = memoryBytes;
  const cpus = numberField(config, 'cpus');
  if (cpus !== undefined) options.cpus = cpus;
  const pidsLimit = numberField(config, 'pids_limit');
  if (pidsLimit !== undefined) options.pidsLimit = pidsLimit;
  const environment = stringMapField(config, 'environment');
  if (environment !== undefined) options.environment = environment;
  const workspace = stringField(config, 'workspace', true);
  if (workspace !== undefined) options.workspace = workspace as WorkspaceMode;
}
