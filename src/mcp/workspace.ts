/**
 * Files of the sandbox's `/workspace` for `berth mcp`'s file tools, handled inside the container
 * (so a copied workspace on a remote engine works as a bound one): every path is resolved there,
 * symlinks included, and refused when it leads out of `/workspace`.
 * @module
 */

import { posix } from 'node:path';
import type { DockerClient } from '../engine/index.js';
import { isDockerApiError } from '../engine/index.js';

/** The workspace folder inside the container. */
export const WORKSPACE = '/workspace';

/** A path the file tools refuse, or a file they cannot serve; the message says which and why. */
export class WorkspacePathError extends Error {
  override name = 'WorkspacePathError';
}

/** One entry of a folder. */
export interface WorkspaceEntry {
  name: string;
  type: 'file' | 'directory' | 'symlink' | 'other';
  /** Bytes, for files; 0 otherwise. */
  size: number;
}

/** The container to work in: its engine, ID, and the user the code runs as. */
export interface WorkspaceTarget {
  docker: DockerClient;
  containerId: string;
  /** The code's user (`uid:gid` or a name); undefined for the image's. */
  user: string | undefined;
}

/**
 * Resolves the path in the container and checks what is there. `$1` is an absolute, lexically
 * normalised path under /workspace. The deepest part of it that exists (a dangling symlink
 * counts) is resolved with `readlink -f`; the rest does not exist yet, so holds no symlink.
 * Exit codes: 3 outside (stderr: where it leads), 4 unresolvable, 5 missing, 6 not a regular
 * file, 7 a folder where a file is to be written, 8 cannot create or enter, 9 not a folder.
 */
const RESOLVE_SCRIPT = `p=$1; mode=$2; d=$p
while [ ! -e "$d" ] && [ ! -L "$d" ]; do d=$(dirname -- "$d"); done
r=$(readlink -f -- "$d") || exit 4
case $r in ${WORKSPACE}|${WORKSPACE}/*) ;; *) printf '%s' "$r" >&2; exit 3;; esac
real=$r\${p#"$d"}
case $mode in
read) [ -e "$real" ] || exit 5; [ -f "$real" ] || exit 6; printf '%s' "$real";;
write) [ -d "$real" ] && exit 7; mkdir -p -- "$(dirname -- "$real")" || exit 8; printf '%s' "$real";;
list) [ -e "$real" ] || exit 5; [ -d "$real" ] || exit 9; cd -- "$real" || exit 8; printf '%s\\0' "$real"
  for f in * .[!.]* ..?*; do
    if [ -L "$f" ]; then t=symlink; elif [ -d "$f" ]; then t=directory; elif [ -f "$f" ]; then t=file; elif [ -e "$f" ]; then t=other; else continue; fi
    s=0; [ $t = file ] && s=$(stat -c %s -- "$f" 2>/dev/null || wc -c < "$f")
    printf '%s %s %s\\0' $t $s "$f"
  done;;
esac`;

/**
 * The absolute container path of a tool's `path` argument (relative to /workspace, or absolute
 * under it), normalised without touching the container.
 * @throws WorkspacePathError for a path that leaves /workspace on its face (`..`, `/etc/x`) or holds NUL.
 */
export function workspacePath(path: string): string {
  if (path.includes('\0')) throw new WorkspacePathError(`path ${JSON.stringify(path)} holds a NUL character`);
  const absolute = posix.resolve(WORKSPACE, path.replace(/\\/g, '/'));
  if (absolute !== WORKSPACE && !absolute.startsWith(`${WORKSPACE}/`)) {
    throw new WorkspacePathError(`path ${JSON.stringify(path)} is outside ${WORKSPACE}; only files in ${WORKSPACE} can be reached`);
  }
  return absolute;
}

async function resolveIn(target: WorkspaceTarget, path: string, mode: 'read' | 'write' | 'list', signal?: AbortSignal): Promise<string> {
  const absolute = workspacePath(path);
  const result = await target.docker.exec.run(target.containerId, ['sh', '-c', RESOLVE_SCRIPT, 'sh', absolute, mode], {
    ...(target.user !== undefined ? { user: target.user } : {}),
    signal,
  });
  const shown = JSON.stringify(path);
  switch (result.exitCode) {
    case 0:
      return result.stdout;
    case 3:
      throw new WorkspacePathError(
        `path ${shown} leads outside ${WORKSPACE} (through a symlink, to ${result.stderr || 'elsewhere'}); only files in ${WORKSPACE} can be reached`,
      );
    case 4:
      throw new WorkspacePathError(`path ${shown} cannot be resolved (a symlink loop or a broken link)`);
    case 5:
      throw new WorkspacePathError(`${shown} does not exist in ${WORKSPACE}`);
    case 6:
      throw new WorkspacePathError(`${shown} is not a regular file`);
    case 7:
      throw new WorkspacePathError(`${shown} is a folder; give a file path`);
    case 8:
      throw new WorkspacePathError(`cannot create or enter the folder of ${shown}: ${result.stderr.trim() || 'permission denied'}`);
    case 9:
      throw new WorkspacePathError(`${shown} is not a folder`);
    default:
      throw new Error(`could not inspect ${shown} in the sandbox (exit code ${result.exitCode}): ${result.stderr.trim()}`);
  }
}

function numericOwner(user: string | undefined): { uid: number; gid: number } | undefined {
  const numeric = /^(\d+)(?::(\d+))?$/.exec(user ?? '');
  return numeric ? { uid: Number(numeric[1]), gid: Number(numeric[2] ?? numeric[1]) } : undefined;
}

/**
 * Writes a file (parent folders made), owned by the code's user when it is numeric.
 * @returns The resolved container path.
 */
export async function writeWorkspaceFile(target: WorkspaceTarget, path: string, data: Uint8Array, signal?: AbortSignal): Promise<string> {
  const real = await resolveIn(target, path, 'write', signal);
  const owner = numericOwner(target.user);
  await target.docker.containers.putFiles(
    target.containerId,
    posix.dirname(real),
    [{ path: posix.basename(real), data, ...(owner ? { uid: owner.uid, gid: owner.gid } : {}) }],
    { signal },
  );
  return real;
}

/**
 * Reads a regular file of at most `maxBytes`.
 * @returns The resolved container path and the bytes.
 */
export async function readWorkspaceFile(
  target: WorkspaceTarget,
  path: string,
  maxBytes: number,
  signal?: AbortSignal,
): Promise<{ path: string; data: Uint8Array }> {
  const real = await resolveIn(target, path, 'read', signal);
  try {
    return { path: real, data: await target.docker.containers.readFile(target.containerId, real, { maxBytes, signal }) };
  } catch (error) {
    if (signal?.aborted) throw error;
    if (isDockerApiError(error)) throw error;
    if (/exceed/i.test((error as Error).message)) {
      throw new WorkspacePathError(`${JSON.stringify(path)} is larger than ${maxBytes} bytes (the --max-output limit)`);
    }
    throw error;
  }
}

/** Lists a folder (not recursive), sorted by name. */
export async function listWorkspace(
  target: WorkspaceTarget,
  path: string,
  signal?: AbortSignal,
): Promise<{ path: string; entries: WorkspaceEntry[] }> {
  const [real = WORKSPACE, ...lines] = (await resolveIn(target, path, 'list', signal)).split('\0');
  const entries: WorkspaceEntry[] = [];
  for (const line of lines) {
    const match = /^(file|directory|symlink|other) (\d+) ([\s\S]+)$/.exec(line);
    if (match) entries.push({ type: match[1] as WorkspaceEntry['type'], size: Number(match[2]), name: match[3] as string });
  }
  entries.sort((a, b) => (a.name < b.name ? -1 : a.name > b.name ? 1 : 0));
  return { path: real, entries };
}
