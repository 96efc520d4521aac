import { createHash } from 'node:crypto';
import { lstat, realpath } from 'node:fs/promises';
import { basename, dirname, isAbsolute, join, relative, resolve, sep } from 'node:path';

/** The languages autogen lists (`SUPPORTED_LANGUAGES`). Berth also accepts `py` and `python3`. */
export const SUPPORTED_LANGUAGES: readonly string[] = Object.freeze(['bash', 'shell', 'sh', 'pwsh', 'powershell', 'ps1', 'python']);

/** How a language runs: the interpreter inside the container and the file extension. */
export interface LanguageSpec {
  interpreter: 'python' | 'bash' | 'sh' | 'pwsh';
  extension: 'py' | 'sh' | 'ps1';
}

/** Maps a lower-cased language to its interpreter, or undefined when unsupported. */
export function languageSpec(lang: string): LanguageSpec | undefined {
  if (lang === 'python' || lang === 'py' || /^python3(\.\d+)?$/.test(lang)) return { interpreter: 'python', extension: 'py' };
  if (lang === 'bash') return { interpreter: 'bash', extension: 'sh' };
  if (lang === 'sh' || lang === 'shell') return { interpreter: 'sh', extension: 'sh' };
  if (lang === 'pwsh' || lang === 'powershell' || lang === 'ps1') return { interpreter: 'pwsh', extension: 'ps1' };
  return undefined;
}

/** Normalises a block's language: trimmed and lower-cased. */
export function normaliseLanguage(language: string): string {
  return String(language).trim().toLowerCase();
}

const SHELLS = new Set(['bash', 'shell', 'sh', 'pwsh', 'powershell', 'ps1']);

/**
 * Adds ` -qqq` to pip install lines, as autogen does: `!pip install` / `! pip install` lines in
 * python, `pip install` lines in shells, unless the line already has `-qqq`.
 */
export function silencePip(code: string, lang: string): string {
  let pattern: RegExp;
  if (lang === 'python') pattern = /^! ?pip install/;
  else if (SHELLS.has(lang)) pattern = /^pip install/;
  else return code;
  return code
    .split('\n')
    .map((line) => {
      const match = pattern.exec(line);
      if (!match || line.includes('-qqq')) return line;
      return `${match[0]} -qqq${line.slice(match[0].length)}`;
    })
    .join('\n');
}

/** The file a block names on its first line with `# filename: <name>`, or undefined. */
export function declaredFilename(code: string): string | undefined {
  const first = code.split('\n', 1)[0] ?? '';
  if (!first.startsWith('# filename:')) return undefined;
  const name = first.slice('# filename:'.length).trim();
  return name === '' ? undefined : name;
}

/** Thrown by {@link resolveInWorkspace} for a name that leaves the workspace. */
export class OutsideWorkspaceError extends Error {
  override name = 'OutsideWorkspaceError';
}

/**
 * Resolves a `# filename:` name to a path relative to the workspace (POSIX separators); missing
 * parent folders are left to the workspace's writeFile. `/workspace/...` (the container path) is accepted.
 * Rejects names that leave the workspace, through `..`, an absolute path or a symlink, and names
 * with NUL bytes.
 */
export async function resolveInWorkspace(workDir: string, name: string): Promise<string> {
  if (name.includes('\0')) throw new OutsideWorkspaceError('NUL byte in file name');
  let candidate = name.replace(/\\/g, '/');
  if (candidate === '/workspace' || candidate.startsWith('/workspace/')) candidate = candidate.slice('/workspace/'.length);
  else if (isAbsolute(candidate)) throw new OutsideWorkspaceError(`absolute path ${name}`);
  const root = await realpath(workDir);
  const target = resolve(root, candidate);
  if (!isInside(root, target) || target === root) throw new OutsideWorkspaceError(`${name} resolves outside the workspace`);
  // Resolve the nearest existing parent through symlinks.
  let existing = dirname(target);
  const missing: string[] = [];
  for (;;) {
    try {
      await lstat(existing);
      break;
    } catch {
      missing.unshift(existing);
      existing = dirname(existing);
    }
  }
  // A symlink that leads nowhere (on this machine: an absolute link made in the container) is no way in either.
  const realParent = await realpath(existing).catch(() => {
    throw new OutsideWorkspaceError(`${name} leads through a symlink that does not resolve`);
  });
  if (!isInside(root, realParent)) throw new OutsideWorkspaceError(`${name} leaves the workspace through a symlink`);
  if (missing.length)
    return relative(root, join(realParent, relative(existing, target)))
      .split(sep)
      .join('/');
  const realDir = await realpath(dirname(target));
  if (!isInside(root, realDir)) throw new OutsideWorkspaceError(`${name} leaves the workspace through a symlink`);
  // A symlink at the file itself would make the write land wherever it points.
  try {
    const stat = await lstat(target);
    if (stat.isSymbolicLink()) {
      const real = await realpath(target).catch(() => undefined);
      if (!real || !isInside(root, real)) throw new OutsideWorkspaceError(`${name} is a symlink leading outside the workspace`);
    } else if (stat.isDirectory()) throw new OutsideWorkspaceError(`${name} is a folder`);
  } catch (error) {
    if (error instanceof OutsideWorkspaceError) throw error;
  }
  return relative(root, join(realDir, basename(target)))
    .split(sep)
    .join('/');
}

function isInside(root: string, path: string): boolean {
  const rel = relative(root, path);
  return rel === '' || (!rel.startsWith('..') && !isAbsolute(rel));
}

/** The default file name of a block: `tmp_code_<sha256 of the code>.<ext>`. */
export function defaultFilename(code: string, extension: string): string {
  return `tmp_code_${createHash('sha256').update(code, 'utf8').digest('hex')}.${extension}`;
}
