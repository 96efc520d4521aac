import { constants } from 'node:fs';
import { type FileHandle, open } from 'node:fs/promises';
import { OutsideWorkspaceError } from './blocks.js';

/**
 * File access on this machine inside a bind-mounted workspace, where code in the container can
 * have put anything at a name: a symlink to any path of this machine (which this process, often
 * root, would follow), a FIFO (an open for writing would wait forever) or a device node (the
 * default capabilities include CAP_MKNOD: a block device of this machine's disk). So the last
 * component is opened without following a symlink and without blocking, and nothing is read or
 * written unless it is a regular file. Folders on the way are the caller's business: names at the
 * top of the workspace have none the code can swap (the workspace is the mount point itself).
 */
async function openRegular(path: string, flags: number, mode?: number): Promise<FileHandle> {
  let handle: FileHandle;
  try {
    // O_NOFOLLOW and O_NONBLOCK are 0 where the platform has none (Windows).
    handle = await open(path, flags | (constants.O_NOFOLLOW ?? 0) | (constants.O_NONBLOCK ?? 0), mode);
  } catch (error) {
    const code = (error as NodeJS.ErrnoException).code;
    // ELOOP: a symlink at the name; ENXIO: a FIFO nobody reads; EISDIR: a folder.
    if (code === 'ELOOP' || code === 'ENXIO' || code === 'EISDIR') throw new OutsideWorkspaceError(`${path} is not a regular file`);
    throw error;
  }
  try {
    if (!(await handle.stat()).isFile()) throw new OutsideWorkspaceError(`${path} is not a regular file`);
    return handle;
  } catch (error) {
    await handle.close();
    throw error;
  }
}

/**
 * Writes `content` to `path`, creating or truncating a regular file; refuses a symlink, FIFO,
 * device or folder at the name with {@link OutsideWorkspaceError}, having written nothing.
 */
export async function writeRegularFile(path: string, content: string): Promise<void> {
  const handle = await openRegular(path, constants.O_WRONLY | constants.O_CREAT, 0o644);
  try {
    await handle.truncate(0);
    await handle.writeFile(content, 'utf8');
  } finally {
    await handle.close();
  }
}

/** Reads a regular file; refuses a symlink, FIFO, device or folder at the name with {@link OutsideWorkspaceError}. */
export async function readRegularFile(path: string): Promise<Uint8Array> {
  const handle = await openRegular(path, constants.O_RDONLY);
  try {
    return new Uint8Array(await handle.readFile());
  } finally {
    await handle.close();
  }
}
