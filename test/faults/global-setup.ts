import { spawnSync } from 'node:child_process';
import { randomUUID } from 'node:crypto';
import type { TestProject } from 'vitest/node';
import { DockerClient } from '../../src/engine/index.js';
import { FAULTS_LABEL, SECOND_SOCKET } from './helpers.js';

let run = '';

function script(command: 'up' | 'down'): void {
  const result = spawnSync('bash', ['scripts/second-daemon.sh', command], { stdio: 'inherit', timeout: 300_000 });
  if (result.status !== 0)
    throw new Error(`scripts/second-daemon.sh ${command} failed (${result.status ?? result.signal ?? result.error})`);
}

// The main engine (scripts/engine-up.sh) must answer; the second daemon is started here.
export async function setup(project: TestProject): Promise<void> {
  const main = new DockerClient();
  try {
    await main.system.ping({ signal: AbortSignal.timeout(10_000) });
  } catch (error) {
    throw new Error(`the fault tests need the main engine; run \`npm run engine:up\` first (${(error as Error).message})`);
  } finally {
    await main.close();
  }
  script('up');
  run = randomUUID();
  project.provide('faultsRun', run);
}

// Removes what this run created, on both engines (and only that on the main engine: other people
// may share it; on the second daemon, also what an earlier, interrupted run left), then stops the
// second daemon unless BERTH_FAULTS_KEEP=1.
export async function teardown(): Promise<void> {
  const strays: string[] = [];
  for (const docker of [new DockerClient(), new DockerClient({ socketPath: SECOND_SOCKET })]) {
    try {
      const label = docker.describe().address.includes(SECOND_SOCKET) ? FAULTS_LABEL : `${FAULTS_LABEL}=${run}`;
      for (const c of await docker.containers.list({ all: true, filters: { label: [label] } })) {
        strays.push(`${c.Names.join(',')} (${c.State})`);
        await docker.containers.remove(c.Id, { force: true }).catch(() => {});
      }
    } catch {
      // The second daemon may be down after a failed test: `down` below deals with it.
    } finally {
      await docker.close().catch(() => {});
    }
  }
  if (process.env.BERTH_FAULTS_KEEP !== '1') script('down');
  if (strays.length > 0) console.warn(`fault tests left ${strays.length} container(s), removed now: ${strays.join(' ')}`);
}
