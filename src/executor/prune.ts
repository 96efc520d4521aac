/**
 * Finds and removes the containers that executors left behind: every container an executor
 * creates carries the label `berth.executor` and the creating process's ID and host name
 * (`berth.host.pid`, `berth.host.name`). A container whose process, on this host, is gone is a
 * stray (the process was killed with SIGKILL, crashed, or its machine's engine was shared).
 * `berth prune` is the command-line face of {@link pruneContainers} and {@link pruneTempWorkspaces}.
 *
 * @module
 */

import { readdir, rm } from 'node:fs/promises';
import { hostname, tmpdir } from 'node:os';
import { join } from 'node:path';
import type { ContainerSummary, DockerClient } from '../engine/index.js';
import { isDockerApiError } from '../engine/index.js';
import { EXECUTOR_LABEL } from './container-spec.js';
import { TEMP_WORKSPACE_PREFIX } from './workspace.js';

/** Label with the process ID of the process that created an executor's container. */
export const HOST_PID_LABEL = 'berth.host.pid';
/** Label with the host name of the machine that created an executor's container. */
export const HOST_NAME_LABEL = 'berth.host.name';

/** Options of {@link pruneContainers}. */
export interface PruneOptions {
  /** Remove every labelled container, also those of live processes, other hosts, or without owner labels. Default false. */
  all?: boolean | undefined;
  /** Decide, but remove nothing. Default false. */
  dryRun?: boolean | undefined;
  /** Aborts listing and removals. */
  signal?: AbortSignal | undefined;
}

/** What {@link pruneContainers} decided for one container. */
export interface PruneDecision {
  /** Full container ID. */
  id: string;
  /** Container name, without the leading `/`. */
  name: string;
  /** `remove` (removed, or would be in a dry run), `keep`, or `failed` (removal failed). */
  action: 'remove' | 'keep' | 'failed';
  /** Why, in words (`process 123 on host is gone`, `process 123 on host is running`, …) or the removal error. */
  reason: string;
}

/** The answer of {@link pruneContainers}. */
export interface PruneResult {
  /** IDs of the containers removed (in a dry run: those that would be). */
  removed: string[];
  /** IDs of the containers left alone. */
  kept: string[];
  /** IDs of the containers whose removal failed (see the decisions for why). */
  failed: string[];
  /** Every decision, in the engine's listing order. */
  decisions: PruneDecision[];
}

/** What {@link decidePrune} needs to know about this machine. */
export interface PruneContext {
  /** Remove every labelled container. */
  all: boolean;
  /** This machine's host name. */
  hostName: string;
  /** This process's ID: never counted as gone. */
  selfPid: number;
  /** Whether a process with this ID runs on this machine. */
  isAlive: (pid: number) => boolean;
}

/**
 * True when a process with this ID exists on this machine (`kill(pid, 0)`): `ESRCH` means gone;
 * `EPERM` means it exists but belongs to someone else.
 */
export function isProcessAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (error) {
    return (error as NodeJS.ErrnoException).code !== 'ESRCH';
  }
}

/**
 * Decides whether one labelled container is a stray, from its labels alone: its creating process
 * must be on this host and gone. Containers of other hosts, of live processes, or without the
 * owner labels are kept unless `all`. A process ID reused since keeps its container (the safe mistake).
 */
export function decidePrune(labels: Readonly<Record<string, string>>, context: PruneContext): { remove: boolean; reason: string } {
  const host = labels[HOST_NAME_LABEL];
  const pidText = labels[HOST_PID_LABEL];
  const pid = pidText !== undefined && /^\d+$/.test(pidText) ? Number(pidText) : undefined;
  const owner = pid !== undefined && host !== undefined ? `process ${pid} on ${host}` : undefined;
  if (context.all) return { remove: true, reason: owner ? `--all (created by ${owner})` : '--all' };
  if (pid === undefined || host === undefined || pid <= 0) return { remove: false, reason: 'no creating process recorded (use --all)' };
  if (host !== context.hostName) return { remove: false, reason: `created on another host, ${host} (use --all)` };
  if (pid === context.selfPid || context.isAlive(pid)) return { remove: false, reason: `${owner} is running` };
  return { remove: true, reason: `${owner} is gone` };
}

function nameOf(container: ContainerSummary): string {
  return (container.Names?.[0] ?? '').replace(/^\//, '') || container.Id.slice(0, 12);
}

/**
 * Removes the containers executors left behind: those labelled `berth.executor` whose creating
 * process, on this host, is gone (see {@link decidePrune}); with `all`, every labelled container.
 * Removal is forced (the containers still run their idle shell). A container that vanished
 * meanwhile, or whose auto-removal is under way, counts as removed; other removal errors are
 * reported in `failed`, never thrown.
 *
 * @param docker The engine client (not closed).
 * @param options `all`, `dryRun`, `signal`.
 * @returns The IDs removed, kept and failed, and every decision with its reason.
 * @throws DockerConnectionError or DockerApiError when the containers cannot be listed; the signal's reason when aborted.
 *
 * @example
 * ```ts
 * const docker = new DockerClient();
 * const { removed, decisions } = await pruneContainers(docker, { dryRun: true });
 * for (const d of decisions) console.log(d.action, d.name, d.reason);
 * ```
 */
export async function pruneContainers(docker: DockerClient, options: PruneOptions = {}): Promise<PruneResult> {
  const signal = options.signal;
  const containers = await docker.containers.list({ all: true, filters: { label: [EXECUTOR_LABEL] }, signal });
  const context: PruneContext = { all: options.all ?? false, hostName: hostname(), selfPid: process.pid, isAlive: isProcessAlive };
  const result: PruneResult = { removed: [], kept: [], failed: [], decisions: [] };
  for (const container of containers) {
    const { remove, reason } = decidePrune(container.Labels ?? {}, context);
    const name = nameOf(container);
    if (!remove) {
      result.kept.push(container.Id);
      result.decisions.push({ id: container.Id, name, action: 'keep', reason });
      continue;
    }
    if (!options.dryRun) {
      try {
        await docker.containers.remove(container.Id, { force: true, signal });
      } catch (error) {
        if (signal?.aborted) throw signal.reason;
        // Gone already, or being removed (auto-remove): either way it goes.
        const going =
          isDockerApiError(error) && (error.reason === 'notFound' || /already in progress|marked for removal/.test(error.message));
        if (!going) {
          result.failed.push(container.Id);
          result.decisions.push({ id: container.Id, name, action: 'failed', reason: (error as Error).message });
          continue;
        }
      }
    }
    result.removed.push(container.Id);
    result.decisions.push({ id: container.Id, name, action: 'remove', reason });
  }
  return result;
}

/** What {@link pruneTempWorkspaces} decided for one temp workspace. */
export interface TempWorkspaceDecision {
  /** The folder. */
  path: string;
  /** `remove` (removed, or would be in a dry run), `keep`, or `failed`. */
  action: 'remove' | 'keep' | 'failed';
  /** Why, in words, or the removal error. */
  reason: string;
}

/**
 * Removes the temp workspaces executors left behind on this machine: folders
 * `berth-ws-<pid>-XXXXXX` in the OS temp folder whose process is gone (killed with SIGKILL, or
 * crashed before `stop()`). Folders of live processes are kept (unless `all`). Never throws for a
 * single folder; its failure is in the decision.
 */
export async function pruneTempWorkspaces(
  options: { all?: boolean | undefined; dryRun?: boolean | undefined; dir?: string | undefined } = {},
): Promise<TempWorkspaceDecision[]> {
  const dir = options.dir ?? tmpdir();
  const names = await readdir(dir).catch(() => [] as string[]);
  const decisions: TempWorkspaceDecision[] = [];
  for (const name of names) {
    const match = new RegExp(`^${TEMP_WORKSPACE_PREFIX}(\\d+)-[A-Za-z0-9]+$`).exec(name);
    if (!match) continue;
    const pid = Number(match[1]);
    const path = join(dir, name);
    const alive = pid === process.pid || isProcessAlive(pid);
    if (alive && !options.all) {
      decisions.push({ path, action: 'keep', reason: `process ${pid} is running` });
      continue;
    }
    const reason = alive ? `--all (process ${pid})` : `process ${pid} is gone`;
    try {
      if (!options.dryRun) await rm(path, { recursive: true, force: true, maxRetries: 3 });
      decisions.push({ path, action: 'remove', reason });
    } catch (error) {
      decisions.push({ path, action: 'failed', reason: (error as Error).message });
    }
  }
  return decisions;
}
