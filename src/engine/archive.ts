import tar from 'tar-stream';
import { DockerArgumentError, DockerError } from './errors.js';

/** A file to put into a container: its path relative to the target folder, and its contents. */
export interface ArchiveFile {
  /** Relative path inside the archive, POSIX separators; parent folders are created. */
  path: string;
  /** Contents; text is written as UTF-8. */
  data: string | Uint8Array;
  /** Permission bits. Default 0o644. */
  mode?: number | undefined;
  /** `file` (default) or `directory` (then `data` is ignored). */
  type?: 'file' | 'directory' | undefined;
  /** Owner uid and gid inside the container. Default 0. */
  uid?: number | undefined;
  gid?: number | undefined;
}

/** Builds an uncompressed tar archive of in-memory files. */
export async function packFiles(files: readonly ArchiveFile[]): Promise<Uint8Array> {
  const pack = tar.pack();
  const chunks: Uint8Array[] = [];
  const collected = (async () => {
    for await (const chunk of pack as AsyncIterable<Uint8Array>) chunks.push(chunk);
  })();
  const mtime = new Date();
  // Checked before anything is packed: a bad entry is the caller's argument, named by its index.
  files.forEach((file, index) => {
    const name = typeof file?.path === 'string' ? file.path.replace(/^\/+/, '') : '';
    if (!name || name.split('/').includes('..') || name.includes('\0')) {
      throw new DockerArgumentError(
        `files[${index}].path`,
        `must be a relative path that stays inside the folder, got ${JSON.stringify(file?.path)}`,
      );
    }
    if (file.type !== 'directory' && typeof file.data !== 'string' && !(file.data instanceof Uint8Array)) {
      throw new DockerArgumentError(`files[${index}].data`, `expected a string or a Uint8Array, got ${typeof file.data}`);
    }
  });
  for (const file of files) {
    const name = file.path.replace(/^\/+/, '');
    const directory = file.type === 'directory';
    const data = directory ? new Uint8Array(0) : typeof file.data === 'string' ? new TextEncoder().encode(file.data) : file.data;
    await new Promise<void>((resolve, reject) => {
      pack.entry(
        {
          name,
          size: data.length,
          mode: file.mode ?? (directory ? 0o755 : 0o644),
          mtime,
          uid: file.uid ?? 0,
          gid: file.gid ?? 0,
          type: directory ? 'directory' : 'file',
        },
        Buffer.from(data.buffer, data.byteOffset, data.byteLength),
        (error?: Error | null) => (error ? reject(error) : resolve()),
      );
    });
  }
  pack.finalize();
  await collected;
  const size = chunks.reduce((n, c) => n + c.length, 0);
  const out = new Uint8Array(size);
  let offset = 0;
  for (const chunk of chunks) {
    out.set(chunk, offset);
    offset += chunk.length;
  }
  return out;
}

/** What a path in a container is, as the archive stat and tar headers tell it. */
export type ContainerPathType = 'file' | 'directory' | 'symlink' | 'blockDevice' | 'characterDevice' | 'fifo' | 'socket' | 'irregular';

// Go's io/fs.FileMode bits, as the engine sends them in `X-Docker-Container-Path-Stat`.
const GO_DIR = 0x80000000;
const GO_SYMLINK = 1 << 27;
const GO_DEVICE = 1 << 26;
const GO_NAMED_PIPE = 1 << 25;
const GO_SOCKET = 1 << 24;
const GO_SETUID = 1 << 23;
const GO_SETGID = 1 << 22;
const GO_CHAR_DEVICE = 1 << 21;
const GO_STICKY = 1 << 20;
const GO_IRREGULAR = 1 << 19;

const has = (mode: number, bit: number) => Math.floor(mode / bit) % 2 === 1;

/**
 * Splits Go's `FileMode` (what the engine reports: 2147484141 for a 0755 folder) into the path's
 * type and its POSIX permission bits (`0o7777`: rwx for owner, group, others, plus setuid,
 * setgid and sticky), as `chmod` takes them.
 */
export function fromGoFileMode(fileMode: number): { type: ContainerPathType; mode: number } {
  const type: ContainerPathType = has(fileMode, GO_DIR)
    ? 'directory'
    : has(fileMode, GO_SYMLINK)
      ? 'symlink'
      : has(fileMode, GO_DEVICE)
        ? has(fileMode, GO_CHAR_DEVICE)
          ? 'characterDevice'
          : 'blockDevice'
        : has(fileMode, GO_CHAR_DEVICE)
          ? 'characterDevice'
          : has(fileMode, GO_NAMED_PIPE)
            ? 'fifo'
            : has(fileMode, GO_SOCKET)
              ? 'socket'
              : has(fileMode, GO_IRREGULAR)
                ? 'irregular'
                : 'file';
  const mode =
    (fileMode % 0o1000) +
    (has(fileMode, GO_SETUID) ? 0o4000 : 0) +
    (has(fileMode, GO_SETGID) ? 0o2000 : 0) +
    (has(fileMode, GO_STICKY) ? 0o1000 : 0);
  return { type, mode };
}

/** The type of a tar entry (tar-stream's names) as a {@link ContainerPathType}. */
export function typeOfTarEntry(type: string | null | undefined): ContainerPathType {
  switch (type ?? 'file') {
    case 'file':
    case 'contiguous-file':
      return 'file';
    case 'directory':
      return 'directory';
    case 'symlink':
    case 'link':
      return 'symlink';
    case 'character-device':
      return 'characterDevice';
    case 'block-device':
      return 'blockDevice';
    case 'fifo':
      return 'fifo';
    default:
      return 'irregular';
  }
}

/**
 * Reads the first entry of a tar stream, which must be named `name` (the engine names the entry
 * of `GET /containers/{id}/archive` like the path's last component): its type and, for a regular
 * file, its contents. Nothing after that entry is read.
 * @throws DockerError when the first entry is not `name`, or its contents exceed `maxBytes`.
 */
export async function readFirstEntry(
  source: AsyncIterable<Uint8Array>,
  name: string,
  maxBytes: number,
): Promise<{ type: ContainerPathType; linkTarget: string; data: Uint8Array }> {
  const extract = tar.extract();
  let stopped = false;
  const pump = (async () => {
    try {
      for await (const chunk of source) {
        if (stopped) return;
        if (!extract.write(Buffer.from(chunk.buffer, chunk.byteOffset, chunk.byteLength))) {
          await new Promise<void>((resolve) => {
            const done = () => {
              extract.off('drain', done);
              extract.off('close', done);
              resolve();
            };
            extract.on('drain', done);
            extract.on('close', done);
          });
        }
      }
      extract.end();
    } catch (error) {
      extract.destroy(error as Error);
    }
  })();
  try {
    for await (const entry of extract) {
      const entryName = entry.header.name.replace(/\/+$/, '');
      if (name !== '' && entryName !== name)
        throw new DockerError(`the engine sent an archive whose first entry is ${JSON.stringify(entryName)}, not ${JSON.stringify(name)}`);
      const type = typeOfTarEntry(entry.header.type);
      const linkTarget = entry.header.linkname ?? '';
      if (type !== 'file') return { type, linkTarget, data: new Uint8Array(0) };
      if (entry.header.size !== undefined && entry.header.size > maxBytes)
        throw new DockerError(`${name} is ${entry.header.size} bytes, which exceeds maxBytes (${maxBytes})`);
      const parts: Uint8Array[] = [];
      let size = 0;
      for await (const chunk of entry as AsyncIterable<Uint8Array>) {
        size += chunk.length;
        if (size > maxBytes) throw new DockerError(`${name} exceeds maxBytes (${maxBytes})`);
        parts.push(chunk);
      }
      const data = new Uint8Array(size);
      let offset = 0;
      for (const part of parts) {
        data.set(part, offset);
        offset += part.length;
      }
      return { type, linkTarget, data };
    }
    throw new DockerError(`the engine sent an empty archive for ${JSON.stringify(name)}`);
  } finally {
    // Stop at the first entry: the pump ends at its next chunk, and the caller cancels the body.
    stopped = true;
    extract.destroy();
    pump.catch(() => {});
  }
}
