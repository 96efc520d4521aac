import { readdirSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { DockerClient } from '../../src/engine/index.js';
import { TEMP_WORKSPACE_PREFIX } from '../../src/executor/workspace.js';
import { TEST_LABEL } from '../helpers/engine.js';

/** The executor temp workspaces (berth-ws-<pid>-XXXXXX) in the OS temp folder. */
const workspaces = () => new Set(readdirSync(tmpdir()).filter((name) => name.startsWith(TEMP_WORKSPACE_PREFIX)));
let workspacesBefore = new Set<string>();

// The integration suite always talks to a real engine: scripts/test.sh runs scripts/engine-up.sh
// first. If none answers, fail loudly instead of skipping.
export async function setup(): Promise<void> {
  workspacesBefore = workspaces();
  const docker = new DockerClient();
  try {
    await docker.system.ping({ signal: AbortSignal.timeout(10_000) });
  } catch (error) {
    throw new Error(`integration tests need a Docker engine; run \`npm run engine:up\` first (${(error as Error).message})`);
  } finally {
    await docker.close();
  }
}

// After the run, no container labelled by the tests and no executor temp workspace may remain:
// remove strays and fail if any. (Exit hooks are per process: each file that starts executors checks its own.)
// BERTH_TEST_SHARED_ENGINE=1 (several runs on one engine at once, as when developers work in
// parallel) skips the sweep, so other runs' containers are left alone. CI never sets it.
export async function teardown(): Promise<void> {
  if (process.env.BERTH_TEST_SHARED_ENGINE === '1') return;
  const docker = new DockerClient();
  try {
    const strays = await docker.containers.list({ all: true, filters: { label: [TEST_LABEL] } });
    for (const c of strays) await docker.containers.remove(c.Id, { force: true }).catch(() => {});
    if (strays.length > 0) {
      throw new Error(`tests left ${strays.length} labelled container(s) behind: ${strays.map((c) => c.Names.join(',')).join(' ')}`);
    }
    const folders = [...workspaces()].filter((name) => !workspacesBefore.has(name));
    for (const name of folders) rmSync(join(tmpdir(), name), { recursive: true, force: true });
    if (folders.length > 0) throw new Error(`tests left ${folders.length} executor temp workspace(s) behind: ${folders.join(' ')}`);
  } finally {
    await docker.close();
  }
}
