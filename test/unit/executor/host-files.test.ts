import { execFileSync } from 'node:child_process';
import { mkdirSync, mkdtempSync, readFileSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { OutsideWorkspaceError } from '../../../src/executor/blocks.js';
import { readRegularFile, writeRegularFile } from '../../../src/executor/host-files.js';

// What code in a container can leave at a name of a bind-mounted workspace; Berth must neither
// follow it, nor block on it, nor read or write a device through it.
const dir = mkdtempSync(join(tmpdir(), 'berth-host-files-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

describe('host files in a shared workspace', () => {
  const target = join(dir, 'target.txt');
  writeFileSync(target, 'keep\n');
  symlinkSync(target, join(dir, 'link'));
  execFileSync('mkfifo', [join(dir, 'fifo')]);
  mkdirSync(join(dir, 'folder'));

  it.each([
    ['a symlink', join(dir, 'link')],
    ['a FIFO nobody reads (it would block)', join(dir, 'fifo')],
    ['a device', '/dev/null'],
    ['a folder', join(dir, 'folder')],
  ])('refuses to write through %s, writing nothing', async (_what, path) => {
    await expect(writeRegularFile(path, 'code')).rejects.toBeInstanceOf(OutsideWorkspaceError);
    expect(readFileSync(target, 'utf8')).toBe('keep\n');
  });

  it.each([
    ['a symlink', join(dir, 'link')],
    ['a FIFO (it would block)', join(dir, 'fifo')],
    ['a device', '/dev/zero'],
  ])('refuses to read through %s', async (_what, path) => {
    await expect(readRegularFile(path)).rejects.toBeInstanceOf(OutsideWorkspaceError);
  });

  it('writes, truncates and reads a regular file', async () => {
    const file = join(dir, 'plain.py');
    await writeRegularFile(file, 'a much longer first version\n');
    await writeRegularFile(file, 'short\n');
    expect(new TextDecoder().decode(await readRegularFile(file))).toBe('short\n');
  });
});
