import tar from 'tar-stream';
import { DockerError } from './errors.js';

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
  for (const file of files) {
    const name = file.path.replace(/^\/+/, '');
    if (!name || name.split('/').includes('..'))
      throw new DockerError(`archive path must be relative and stay inside the folder: ${JSON.stringify(file.path)}`);
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

/** One entry read from a tar archive. */
export interface ExtractedEntry {
  name: string;
  type: string;
  mode: number | undefined;
  size: number;
  data: Uint8Array;
}

/**
 * Reads the entries of a tar stream, keeping file contents up to `maxBytes` in total.
 * @throws DockerError when the contents exceed `maxBytes`.
 */
export async function unpackEntries(source: AsyncIterable<Uint8Array>, maxBytes = 256 * 1024 * 1024): Promise<ExtractedEntry[]> {
  const extract = tar.extract();
  const pump = (async () => {
    try {
      for await (const chunk of source) {
        if (!extract.write(Buffer.from(chunk.buffer, chunk.byteOffset, chunk.byteLength))) {
          await new Promise<void>((resolve) => extract.once('drain', () => resolve()));
        }
      }
      extract.end();
    } catch (error) {
      extract.destroy(error as Error);
    }
  })();
  const entries: ExtractedEntry[] = [];
  let total = 0;
  for await (const entry of extract) {
    const parts: Uint8Array[] = [];
    let size = 0;
    for await (const chunk of entry as AsyncIterable<Uint8Array>) {
      size += chunk.length;
      total += chunk.length;
      if (total > maxBytes) {
        extract.destroy();
        throw new DockerError(`archive contents exceed ${maxBytes} bytes`);
      }
      parts.push(chunk);
    }
    const data = new Uint8Array(size);
    let offset = 0;
    for (const part of parts) {
      data.set(part, offset);
      offset += part.length;
    }
    entries.push({ name: entry.header.name, type: entry.header.type ?? 'file', mode: entry.header.mode, size, data });
  }
  await pump;
  return entries;
}
