/**
 * The workspace: the folder the code sees at `/workspace`, and how files get in and out of it.
 * Two strategies behind one small interface, chosen once per `start()`:
 *
 * - **bind**: a host folder mounted at `/workspace`. The code may have put anything at a name (a
 *   symlink to anywhere on this machine, a FIFO, a device), so files at the top are written here
 *   without following a symlink, and files in subfolders by the engine, inside the container,
 *   where any symlink resolves within the container.
 * - **copy**: the engine cannot see this machine's folders (a remote engine, or one that maps
 *   users): `/workspace` is a container volume, files go through the archive endpoint, and a host
 *   copy of each written file is kept in `workDir`.
 *
 * @module
 */

import { chmod, chown, lstat, mkdir, mkdtemp, realpath, rm, stat, unlink } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import type { ContainerPathStat, DockerClient } from '../engine/index.js';
import { isDockerApiError } from '../engine/index.js';
import { OutsideWorkspaceError } from './blocks.js';
import { ExecutorError } from './errors.js';
import { readRegularFile, writeRegularFile } from './host-files.js';
import type { WorkspaceMode } from './types.js';

/** Prefix of the executor's temp workspaces: `berth-ws-<pid>-XXXXXX` under the OS temp folder (see `berth prune`). */
export const TEMP_WORKSPACE_PREFIX = 'berth-ws-';

/** What a workspace path was, when it was not a regular file. */
export type WorkspaceFileKind = 'missing' | 'folder' | 'symlink' | 'fifo' | 'device' | 'socket' | 'outside';

const KIND_TEXT: Record<WorkspaceFileKind, string> = {
  missing: 'does not exist',
  folder: 'is a folder',
  symlink: 'is a symbolic link',
  fifo: 'is a FIFO (named pipe)',
  device: 'is a device',
  socket: 'is a socket',
  outside: 'is not a path inside the workspace',
};

/** A workspace file that cannot be read or written: missing, not a regular file, or outside `/workspace`. Same error in both modes. */
export class WorkspaceFileError extends ExecutorError {
  override name = 'WorkspaceFileError';
  /** What the path was. */
  readonly kind: WorkspaceFileKind;
  /** The path as the caller gave it. */
  readonly path: string;
  constructor(path: string, kind: WorkspaceFileKind, options?: { cause?: unknown }) {
    super(`${JSON.stringify(path)} ${KIND_TEXT[kind]}${kind === 'missing' || kind === 'outside' ? '' : ', not a regular file'}`, options);
    this.kind = kind;
    this.path = path;
  }
}

/** The container create body's share of the workspace: `HostConfig.Binds` entries and `Volumes`. */
export interface WorkspaceMounts {
  binds: string[];
  volumes: Record<string, Record<string, never>>;
}

/** The container a workspace serves; changes when the container is re-created. */
export interface WorkspaceContainer {
  docker: DockerClient;
  id: string;
}

/** How files reach the code. One per `start()`; {@link Workspace.dispose} at `stop()`. */
export interface Workspace {
  readonly mode: WorkspaceMode;
  /** The host folder of the code files (`workDir`). */
  readonly hostDir: string;
  /** How `/workspace` is mounted in the container: a bind of the host folder, or an anonymous volume. */
  readonly mounts: WorkspaceMounts;
  /** Readies `/workspace` in a container just started (and remembers it for the other calls). */
  prepare(container: WorkspaceContainer): Promise<void>;
  /** Writes a file by its path relative to `/workspace`. @throws OutsideWorkspaceError when something other than a regular file sits at the name. */
  writeFile(relative: string, content: string): Promise<void>;
  /** Deletes files by their paths relative to `/workspace`; missing ones are fine. */
  deleteFiles(relatives: readonly string[]): Promise<void>;
  /** Reads a regular file, by its path relative to `/workspace` or absolute under it. @throws WorkspaceFileError */
  readFile(path: string): Promise<Uint8Array>;
  /** Removes the temp folder it made (if any). Never throws. */
  dispose(): Promise<void>;
}

/** What {@link openWorkspace} needs. */
export interface WorkspaceOptions {
  mode: WorkspaceMode;
  /** The user's `workDir`; undefined for a temp folder made here. */
  workDir: string | undefined;
  /** The user's `bindDir` (Docker-outside-of-Docker). */
  bindDir: string | undefined;
  /** The code's user, when it is not the image's. */
  user: string | undefined;
  /** Called with the temp folder as soon as it exists (before anything else can fail), so an interruption can remove it. */
  onTemp?: (dir: string) => void;
}

/** The path relative to `/workspace`, or a {@link WorkspaceFileError} (`outside`). */
function relativeOf(path: string): string {
  let relative = String(path).replace(/\\/g, '/');
  if (relative.startsWith('/workspace/')) relative = relative.slice('/workspace/'.length);
  const parts = relative.split('/');
  if (relative === '' || relative.startsWith('/') || parts.includes('..') || relative.includes('\0')) {
    throw new WorkspaceFileError(path, 'outside');
  }
  return relative;
}

function numericOwner(user: string | undefined): { uid: number; gid: number } | undefined {
  const numeric = /^(\d+)(?::(\d+))?$/.exec(user ?? '');
  return numeric ? { uid: Number(numeric[1]), gid: Number(numeric[2] ?? numeric[1]) } : undefined;
}

abstract class BaseWorkspace implements Workspace {
  abstract readonly mode: WorkspaceMode;
  abstract readonly mounts: WorkspaceMounts;
  protected container: WorkspaceContainer | undefined;
  readonly hostDir: string;
  protected readonly user: string | undefined;
  protected readonly temporary: boolean;
  constructor(hostDir: string, user: string | undefined, temporary: boolean) {
    this.hostDir = hostDir;
    this.user = user;
    this.temporary = temporary;
  }

  async prepare(container: WorkspaceContainer): Promise<void> {
    this.container = container;
  }

  abstract writeFile(relative: string, content: string): Promise<void>;
  abstract deleteFiles(relatives: readonly string[]): Promise<void>;
  abstract readFile(path: string): Promise<Uint8Array>;

  async dispose(): Promise<void> {
    if (this.temporary) await rm(this.hostDir, { recursive: true, force: true, maxRetries: 3 }).catch(() => {});
    this.container = undefined;
  }

  /** Writes into `/workspace` through the archive endpoint, owned by the code's user when it is numeric. */
  protected async putInContainer(relative: string, content: string): Promise<void> {
    const { docker, id } = this.#current();
    const owner = numericOwner(this.user);
    await docker.containers.putFiles(id, '/workspace', [{ path: relative, data: content, ...(owner ?? {}) }]);
  }

  /** Removes workspace paths from inside the container: as the code's user, then as root for what the engine unpacked as root. */
  protected async removeInContainer(relatives: readonly string[]): Promise<void> {
    const container = this.container;
    if (relatives.length === 0 || !container) return;
    const paths = relatives.map((r) => `/workspace/${r}`);
    const remove = (user: string | undefined) =>
      container.docker.exec
        .run(container.id, ['rm', '-rf', '--', ...paths], { ...(user !== undefined ? { user } : {}), signal: AbortSignal.timeout(10_000) })
        .then(
          (result) => result.exitCode === 0,
          () => true,
        );
    if (!(await remove(this.user)) && this.user !== undefined) await remove('0');
  }

  #current(): WorkspaceContainer {
    if (!this.container) throw new ExecutorError('the workspace has no container (the executor is not started)');
    return this.container;
  }
}

/** The host folder mounted at `/workspace`. */
class BindWorkspace extends BaseWorkspace {
  readonly mode = 'bind' as const;
  readonly mounts: WorkspaceMounts;
  constructor(hostDir: string, bindSource: string, user: string | undefined, temporary: boolean) {
    super(hostDir, user, temporary);
    this.mounts = { binds: [`${bindSource}:/workspace:rw`], volumes: {} };
  }

  async writeFile(relative: string, content: string): Promise<void> {
    // A top-level name has no folder the code can swap for a symlink (the top is the mount point).
    if (!relative.includes('/')) return writeRegularFile(join(this.hostDir, relative), content);
    return this.putInContainer(relative, content);
  }

  async deleteFiles(relatives: readonly string[]): Promise<void> {
    // unlink never follows a symlink at the name itself.
    const top = relatives.filter((r) => !r.includes('/'));
    await Promise.all(top.map((r) => unlink(join(this.hostDir, r)).catch(() => {})));
    await this.removeInContainer(relatives.filter((r) => r.includes('/')));
  }

  async readFile(path: string): Promise<Uint8Array> {
    const relative = relativeOf(path);
    const root = await realpath(this.hostDir);
    const parent = await realpath(dirname(join(root, relative))).catch((error: NodeJS.ErrnoException) => {
      throw new WorkspaceFileError(path, error.code === 'ENOENT' || error.code === 'ENOTDIR' ? 'missing' : 'outside', { cause: error });
    });
    if (parent !== root && !parent.startsWith(`${root}/`)) throw new WorkspaceFileError(path, 'outside');
    const target = join(parent, relative.split('/').pop() as string);
    const info = await lstat(target).catch((error: NodeJS.ErrnoException) => {
      throw new WorkspaceFileError(path, 'missing', { cause: error });
    });
    const kind = kindOfHostFile(info);
    if (kind) throw new WorkspaceFileError(path, kind);
    try {
      return await readRegularFile(target);
    } catch (error) {
      // Swapped between the lstat and the open: refused without following it.
      if (error instanceof OutsideWorkspaceError) throw new WorkspaceFileError(path, 'symlink', { cause: error });
      throw error;
    }
  }

  override async dispose(): Promise<void> {
    // Files the container wrote may belong to its user: empty the folder from inside first.
    const container = this.container;
    if (container && this.temporary && process.getuid?.() !== 0) {
      await container.docker.exec
        .run(container.id, ['sh', '-c', 'rm -rf /workspace/* /workspace/.[!.]* /workspace/..?*'], { signal: AbortSignal.timeout(5000) })
        .catch(() => {});
    }
    await super.dispose();
  }
}

/** `/workspace` is a container volume; files travel through the archive endpoint. */
class CopyWorkspace extends BaseWorkspace {
  readonly mode = 'copy' as const;
  /** An anonymous volume: writable even on a read-only root, and removed with the container. */
  readonly mounts: WorkspaceMounts = { binds: [], volumes: { '/workspace': {} } };

  /** Makes `/workspace` (a fresh root-owned volume) writable by the code's user: root owns it, so it may chmod it with every capability dropped. */
  override async prepare(container: WorkspaceContainer): Promise<void> {
    await super.prepare(container);
    if (this.user === undefined) return;
    const result = await container.docker.exec.run(container.id, ['chmod', '1777', '/workspace'], {
      user: '0',
      signal: AbortSignal.timeout(10_000),
    });
    if (result.exitCode !== 0) throw new ExecutorError(`could not open /workspace to user ${this.user}: ${result.stderr.trim()}`);
  }

  async writeFile(relative: string, content: string): Promise<void> {
    // The host copy lives in a folder the container cannot reach.
    if (relative.includes('/')) await mkdir(dirname(join(this.hostDir, relative)), { recursive: true });
    await writeRegularFile(join(this.hostDir, relative), content);
    await this.putInContainer(relative, content);
  }

  async deleteFiles(relatives: readonly string[]): Promise<void> {
    await Promise.all(relatives.map((r) => unlink(join(this.hostDir, r)).catch(() => {})));
    await this.removeInContainer(relatives);
  }

  async readFile(path: string): Promise<Uint8Array> {
    const relative = relativeOf(path);
    const { docker, id } = this.container ?? {};
    if (!docker || !id) throw new ExecutorError('the workspace has no container (the executor is not started)');
    const full = `/workspace/${relative}`;
    let pathStat: ContainerPathStat | undefined;
    try {
      const archive = await docker.containers.getArchive(id, full);
      pathStat = archive.stat;
      await archive.body.cancel().catch(() => {});
    } catch (error) {
      if (isDockerApiError(error) && error.reason === 'notFound') throw new WorkspaceFileError(path, 'missing', { cause: error });
      throw error;
    }
    const kind = pathStat ? kindOfGoMode(pathStat.fileMode) : undefined;
    if (kind) throw new WorkspaceFileError(path, kind);
    return docker.containers.readFile(id, full);
  }
}

function kindOfHostFile(info: Awaited<ReturnType<typeof lstat>>): WorkspaceFileKind | undefined {
  if (info.isFile()) return undefined;
  if (info.isDirectory()) return 'folder';
  if (info.isSymbolicLink()) return 'symlink';
  if (info.isFIFO()) return 'fifo';
  if (info.isSocket()) return 'socket';
  return 'device';
}

/** The kind of a path from the engine's stat (Go's `os.FileMode` bits: dir 1<<31, symlink 1<<27, device 1<<26, pipe 1<<25, socket 1<<24). */
export function kindOfGoMode(mode: number): WorkspaceFileKind | undefined {
  const bit = (n: number) => Math.floor(mode / 2 ** n) % 2 === 1;
  if (bit(31)) return 'folder';
  if (bit(27)) return 'symlink';
  if (bit(26) || bit(21)) return 'device';
  if (bit(25)) return 'fifo';
  if (bit(24)) return 'socket';
  return undefined;
}

/**
 * Lets a non-root code user write into the temp workspace (mkdtemp makes it 0700): chown it to
 * that user when we are root and the user is numeric, otherwise open it up (0777).
 */
async function shareWithUser(dir: string, user: string | undefined): Promise<void> {
  if (user === undefined) return;
  const owner = numericOwner(user);
  if (owner && process.getuid?.() === 0) await chown(dir, owner.uid, owner.gid);
  else await chmod(dir, 0o777);
}

/**
 * Opens the workspace: makes the temp folder (`berth-ws-<pid>-XXXXXX`) when no `workDir` was given,
 * and hands it to `onTemp` before anything else can fail.
 */
export async function openWorkspace(options: WorkspaceOptions): Promise<Workspace> {
  let hostDir = options.workDir;
  const temporary = hostDir === undefined;
  if (hostDir === undefined) {
    const made = await mkdtemp(join(tmpdir(), `${TEMP_WORKSPACE_PREFIX}${process.pid}-`));
    options.onTemp?.(made);
    hostDir = await realpath(made);
    await shareWithUser(hostDir, options.user);
  }
  if (options.mode === 'copy') return new CopyWorkspace(hostDir, options.user, temporary);
  return new BindWorkspace(hostDir, resolve(options.bindDir ?? hostDir), options.user, temporary);
}

/** What the executor needs to know about an engine, asked once per client (`GET /info`). */
const securityCache = new WeakMap<DockerClient, Promise<readonly string[]>>();
function engineSecurity(docker: DockerClient): Promise<readonly string[]> {
  let known = securityCache.get(docker);
  if (!known) {
    // An engine that will not say (a socket proxy refusing /info) is taken as a dockerd without
    // user namespaces, and asked again next time.
    known = docker.system.info({ signal: AbortSignal.timeout(30_000) }).then(
      (info) => info.SecurityOptions ?? [],
      () => {
        securityCache.delete(docker);
        return [];
      },
    );
    securityCache.set(docker, known);
  }
  return known;
}

/**
 * The workspace mode: `workspace` when given, else `copy` for an engine that is not on this
 * machine (its bind mounts would be of its own folders), and for Berth's own temp workspace when
 * the engine maps the container's users to other host users (userns-remap, or a rootless engine
 * run by another user than this process): the container's root could not enter a 0700 folder this
 * process owns. Else `bind`.
 */
export async function chooseWorkspaceMode(
  docker: DockerClient,
  requested: WorkspaceMode | undefined,
  workDir: string | undefined,
): Promise<WorkspaceMode> {
  if (requested) return requested;
  if (!docker.isLocal()) return 'copy';
  if (workDir !== undefined) return 'bind';
  const security = await engineSecurity(docker);
  if (security.some((o) => /^name=userns(,|$)/.test(o))) return 'copy';
  if (security.some((o) => /^name=rootless(,|$)/.test(o))) {
    const socket = docker.describe().address.slice('unix://'.length);
    const owner = await stat(socket).then(
      (s) => s.uid,
      () => undefined,
    );
    if (owner !== process.getuid?.()) return 'copy';
  }
  return 'bind';
}
