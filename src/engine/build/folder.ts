/**
 * Packs a folder of this machine into a build context tar stream, leaving out what its
 * `.dockerignore` names, as `docker build PATH` does: entries owned by 0:0, the folder's modes
 * and mtimes, symlinks kept as links, the Dockerfile and `.dockerignore` always included.
 * Node-side code (`node:fs`), loaded by `images.build` only when it is given a folder; Bun and
 * Deno run it through their `node:` compatibility.
 *
 * @module
 */

import { randomBytes } from 'node:crypto';
import { createReadStream } from 'node:fs';
import { lstat, readdir, readFile, readlink } from 'node:fs/promises';
import { isAbsolute, join, relative, resolve, sep } from 'node:path';
import { pipeline } from 'node:stream/promises';
import tar from 'tar-stream';
import { DockerArgumentError } from '../errors.js';
import { cleanPath, DockerIgnore } from './dockerignore.js';

/**
 * Reads `.dockerignore` of `root` (none: nothing left out) and keeps the Dockerfile and
 * `.dockerignore` in the context even when a pattern names them, as the docker CLI does (the
 * engine needs the Dockerfile; the CLI re-adds both).
 */
async function loadIgnore(root: string, dockerfile: string): Promise<DockerIgnore> {
  let text = '';
  try {
    text = await readFile(join(root, '.dockerignore'), 'utf8');
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code !== 'ENOENT') throw error;
  }
  const lines = text.split(/\r?\n/);
  const first = DockerIgnore.parse(lines);
  const keep = ['.dockerignore', cleanPath(dockerfile)].filter((name) => first.ignores(name)).map((name) => `!${name}`);
  return keep.length ? DockerIgnore.parse([...lines, ...keep]) : first;
}

/** A packed folder: the tar stream, and the Dockerfile's name inside it. */
export interface PackedFolder {
  stream: AsyncIterable<Uint8Array>;
  dockerfile: string;
  /** Stops the walk and closes open files, when the stream will not be read to its end. */
  cancel(reason?: unknown): void;
}

/**
 * Packs `root` as a build context, streaming (file contents are read as the engine takes them).
 * @param dockerfile The Dockerfile: a path relative to `root` (kept even if `.dockerignore`
 *   names it), or an absolute path; one outside `root` is added to the context under a random
 *   `.dockerfile.<hex>` name, as the docker CLI does with `-f`.
 * @throws {DockerArgumentError} when `root` is not a folder, the Dockerfile outside it cannot be
 *   read, or `.dockerignore` is malformed.
 */
export async function packFolder(root: string, dockerfile: string): Promise<PackedFolder> {
  const info = await lstat(root).catch(() => undefined);
  if (!info?.isDirectory()) throw new DockerArgumentError('context', `not a folder on this machine: ${JSON.stringify(root)}`);
  let name = dockerfile;
  let outside: Uint8Array | undefined;
  if (isAbsolute(dockerfile)) {
    const rel = relative(resolve(root), dockerfile);
    if (rel !== '' && !rel.startsWith('..') && !isAbsolute(rel)) name = rel.split(sep).join('/');
    else {
      outside = await readFile(dockerfile).catch((cause: unknown) => {
        throw new DockerArgumentError('dockerfile', `cannot read ${JSON.stringify(dockerfile)}: ${(cause as Error).message}`);
      });
      name = `.dockerfile.${randomBytes(10).toString('hex')}`;
    }
  }
  const ignore = await loadIgnore(root, name);
  const hasIgnoreFile = await lstat(join(root, '.dockerignore')).then(
    (found) => found.isFile(),
    () => false,
  );
  const pack = tar.pack();
  const fill = async (dir: string): Promise<void> => {
    const entries = await readdir(join(root, dir), { withFileTypes: true });
    entries.sort((a, b) => (a.name < b.name ? -1 : a.name > b.name ? 1 : 0));
    for (const entry of entries) {
      const rel = dir ? `${dir}/${entry.name}` : entry.name;
      const full = join(root, rel);
      const ignored = ignore.ignores(rel);
      const stat = await lstat(full);
      if (stat.isDirectory()) {
        if (ignored && !ignore.mayKeepInside(rel)) continue;
        if (!ignored) await addEntry(pack, { name: rel, type: 'directory', mode: stat.mode & 0o7777, mtime: stat.mtime });
        await fill(rel);
        continue;
      }
      if (ignored) continue;
      const header = { name: rel, mode: stat.mode & 0o7777, mtime: stat.mtime, uid: 0, gid: 0 };
      if (stat.isSymbolicLink()) {
        await addEntry(pack, { ...header, type: 'symlink', linkname: await readlink(full) });
      } else if (rel === '.dockerignore' && stat.isFile()) {
        const sent = DockerIgnore.parse(await readFile(full, 'utf8')).toString();
        await addEntry(pack, { ...header, type: 'file' }, withOutsideNames(sent, outside ? name : undefined));
      } else if (stat.isFile()) {
        const sink = pack.entry({ ...header, type: 'file', size: stat.size });
        await pipeline(createReadStream(full), sink);
      }
      // Sockets, FIFOs and devices are left out, as the docker CLI's archiver skips them.
    }
  };
  // Filled in the background: the engine reads the tar while the walk goes on.
  fill('')
    .then(async () => {
      if (outside) {
        await addEntry(pack, { name, type: 'file', mode: 0o644, mtime: new Date() }, outside);
        if (!hasIgnoreFile) {
          await addEntry(pack, { name: '.dockerignore', type: 'file', mode: 0o644, mtime: new Date() }, withOutsideNames('', name));
        }
      }
      pack.finalize();
    })
    .catch((error: unknown) => pack.destroy(error as Error));
  return {
    stream: pack as AsyncIterable<Uint8Array>,
    dockerfile: name,
    cancel: (reason) => pack.destroy(reason instanceof Error ? reason : undefined),
  };
}

/**
 * The `.dockerignore` sent: the folder's patterns, cleaned; with a Dockerfile from outside the
 * folder, also its random name and `.dockerignore`, so the engine leaves both out of `COPY .`
 * (what the docker CLI's `AddDockerfileToBuildContext` does).
 */
function withOutsideNames(patterns: string, outsideDockerfile: string | undefined): Uint8Array {
  return new TextEncoder().encode(outsideDockerfile ? `${patterns}${outsideDockerfile}\n.dockerignore\n` : patterns);
}

function addEntry(pack: tar.Pack, header: tar.Headers, data?: Uint8Array): Promise<void> {
  return new Promise((done, reject) => {
    const callback = (error?: Error | null) => (error ? reject(error) : done());
    const full = { uid: 0, gid: 0, ...header };
    if (data) pack.entry({ ...full, size: data.length }, Buffer.from(data.buffer, data.byteOffset, data.byteLength), callback);
    else pack.entry(full, callback);
  });
}
