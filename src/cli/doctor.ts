import { DockerClient, isDockerApiError, isDockerConnectionError } from '../engine/index.js';
import { EXECUTOR_LABEL } from '../executor/container-spec.js';
import { pruneContainers } from './prune.js';

/** What `berth doctor` found; printed as text or (`--json`) as this object. */
export interface DoctorReport {
  /** True when the engine answered and every check could be made. */
  ok: boolean;
  /** Berth's version. */
  berth: string;
  /** The JavaScript runtime `berth` runs on: `node`, `bun` or `deno`, its version, and the Node.js version it reports (`node`). */
  runtime: { name: 'node' | 'bun' | 'deno'; version: string; node: string; platform: string; arch: string };
  /** Where the engine is and how that was decided; absent when no engine could even be located. */
  engine?: {
    address: string;
    /** `option`, `DOCKER_HOST`, `context NAME` or `default socket`. */
    source: string;
    /** The engine's version, when it answered. */
    version?: string;
    /** The newest API version the engine speaks. */
    apiVersion?: string;
    minApiVersion?: string;
    os?: string;
    arch?: string;
  };
  /** The API version the client uses (negotiated). */
  apiVersion?: string;
  /** The image looked for and whether the engine has it. */
  image?: { name: string; present: boolean; id?: string; sizeBytes?: number };
  /** Containers labelled `berth.executor`: all of them, and those `berth prune` would remove. */
  containers?: { total: number; strays: number };
  /** Why the check failed. */
  error?: string;
  /** Every engine address tried, when no engine answered. */
  tried?: readonly string[];
}

/** The runtime this process is: Bun and Deno say `node v…` through `process.version`, so they are asked first. */
export function currentRuntime(): { name: 'node' | 'bun' | 'deno'; version: string } {
  const g = globalThis as { Bun?: { version: string }; Deno?: { version: { deno: string } } };
  if (g.Bun) return { name: 'bun', version: `v${g.Bun.version}` };
  if (g.Deno) return { name: 'deno', version: `v${g.Deno.version.deno}` };
  return { name: 'node', version: process.version };
}

/**
 * Checks the engine: how it is found, that it answers, its versions, the image, leftover
 * containers. Never throws for engine failures: they end up in `error` with `ok: false`.
 */
export async function runDoctor(options: {
  image: string;
  version: string;
  signal?: AbortSignal | undefined;
  env?: Record<string, string | undefined> | undefined;
}): Promise<DoctorReport> {
  const report: DoctorReport = {
    ok: false,
    berth: options.version,
    runtime: { ...currentRuntime(), node: process.version, platform: process.platform, arch: process.arch },
  };
  const docker = new DockerClient({ timeouts: { connect: 5000, headers: 15_000 }, env: options.env });
  const signal = options.signal;
  try {
    const where = docker.describe();
    report.engine = { address: where.address, source: where.source };
    const version = await docker.system.version({ signal });
    report.engine = {
      ...report.engine,
      version: version.Version,
      apiVersion: version.ApiVersion,
      ...(version.MinAPIVersion !== undefined ? { minApiVersion: version.MinAPIVersion } : {}),
      os: version.Os,
      arch: version.Arch,
    };
    report.apiVersion = await docker.apiVersion({ signal });
    try {
      const image = await docker.images.inspect(options.image, { signal });
      report.image = { name: options.image, present: true, id: image.Id, sizeBytes: image.Size };
    } catch (error) {
      if (!(isDockerApiError(error) && error.reason === 'notFound')) throw error;
      report.image = { name: options.image, present: false };
    }
    const prune = await pruneContainers(docker, { dryRun: true, signal });
    report.containers = { total: prune.decisions.length, strays: prune.removed.length };
    report.ok = true;
  } catch (error) {
    if (signal?.aborted) throw error;
    report.error = (error as Error).message;
    if (isDockerConnectionError(error)) report.tried = error.tried;
  } finally {
    await docker.close().catch(() => {});
  }
  return report;
}

/** The report as text lines, as `berth doctor` prints them. */
export function formatDoctorReport(report: DoctorReport): string {
  const lines: string[] = [];
  const row = (label: string, value: string) => lines.push(`${`${label}:`.padEnd(12)}${value}`);
  if (report.engine) row('engine', `${report.engine.address} (found via ${report.engine.source})`);
  else row('engine', 'not found');
  if (report.engine?.version !== undefined) {
    const platform = report.engine.os && report.engine.arch ? `, ${report.engine.os}/${report.engine.arch}` : '';
    row('version', `Docker Engine ${report.engine.version}${platform}`);
    const range = report.engine.minApiVersion ? `${report.engine.minApiVersion} to ${report.engine.apiVersion}` : report.engine.apiVersion;
    row('API', `${report.apiVersion ?? '?'} in use (engine speaks ${range})`);
  }
  if (report.image) {
    const present = report.image.present
      ? `present${report.image.id ? ` (${report.image.id.replace(/^sha256:/, '').slice(0, 12)}` : ''}${
          report.image.sizeBytes !== undefined ? `, ${Math.round(report.image.sizeBytes / 1e6)} MB)` : report.image.id ? ')' : ''
        }`
      : 'missing (berth run pulls it)';
    row('image', `${report.image.name} ${present}`);
  }
  if (report.containers) {
    const { total, strays } = report.containers;
    row('containers', `${total} labelled ${EXECUTOR_LABEL}${strays > 0 ? `, ${strays} left behind (berth prune removes them)` : ''}`);
  }
  const { name, version, node, platform, arch } = report.runtime;
  row('runtime', `${name} ${version}${name === 'node' ? '' : ` (Node.js ${node} compatible)`} (${platform}/${arch})`);
  row('berth', report.berth);
  return `${lines.join('\n')}\n`;
}

/** The failure of a report that is not ok, as one `berth: …` line (empty when ok). */
export function doctorFailure(report: DoctorReport): string {
  if (report.ok) return '';
  // `tried` is set for connection failures only: other errors (a bad DOCKER_HOST, an engine error) speak for themselves.
  return `berth: ${report.tried ? 'no Docker engine answers: ' : ''}${report.error ?? 'unknown error'}\n`;
}
