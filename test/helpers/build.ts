import { mkdir, mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import type { DockerClient } from '../../src/engine/index.js';
import { TEST_LABEL } from './engine.js';

/** A unique repository name for images a test builds (`berth-build-test/<what>-<random>`). */
export function testRepo(what: string): string {
  return `berth-build-test/${what}-${Math.random().toString(36).slice(2, 10)}`;
}

/** Writes `files` (relative path to contents) into a new temp folder; returns its path. */
export async function tempFolder(files: Record<string, string>): Promise<string> {
  const dir = await mkdtemp(join(tmpdir(), 'berth-build-'));
  for (const [path, contents] of Object.entries(files)) {
    await mkdir(dirname(join(dir, path)), { recursive: true });
    await writeFile(join(dir, path), contents);
  }
  return dir;
}

/** Removes temp folders made by {@link tempFolder}. */
export async function removeFolders(dirs: readonly string[]): Promise<void> {
  await Promise.all(dirs.map((dir) => rm(dir, { recursive: true, force: true })));
}

/** Runs `cmd` in a new labelled container of `image`, waits for it, returns its exit code and output (stdout and stderr). */
export async function runImage(docker: DockerClient, image: string, cmd?: string[]): Promise<{ exitCode: number; output: string }> {
  const { Id } = await docker.containers.create({ Image: image, ...(cmd ? { Cmd: cmd } : {}), Labels: { [TEST_LABEL]: '1' } });
  try {
    await docker.containers.start(Id);
    const { StatusCode } = await docker.containers.wait(Id);
    const logs = await docker.containers.logs(Id, { stdout: true, stderr: true });
    const decoder = new TextDecoder();
    let output = '';
    for await (const frame of logs) output += decoder.decode(frame.data, { stream: true });
    return { exitCode: StatusCode, output };
  } finally {
    await docker.containers.remove(Id, { force: true }).catch(() => {});
  }
}

/** Removes every image whose tag starts with `repo`, ignoring ones already gone. */
export async function removeImages(docker: DockerClient, refs: readonly string[]): Promise<void> {
  for (const ref of refs) await docker.images.remove(ref, { force: true }).catch(() => {});
}

/** What one test file builds and writes: tags and temp folders, all removed by {@link BuildScratch.cleanup}. */
export class BuildScratch {
  readonly images: string[] = [];
  readonly folders: string[] = [];

  /** A unique `berth-build-test/<what>-<random>:1` tag, removed at cleanup. */
  tag(what: string): string {
    const ref = `${testRepo(what)}:1`;
    this.images.push(ref);
    return ref;
  }

  /** A temp folder holding `files`, removed at cleanup. */
  async folder(files: Record<string, string>): Promise<string> {
    const dir = await tempFolder(files);
    this.folders.push(dir);
    return dir;
  }

  /** Removes the images and folders. */
  async cleanup(docker: DockerClient): Promise<void> {
    await removeImages(docker, this.images);
    await removeFolders(this.folders);
  }
}
