import { DockerClient } from '../../src/engine/index.js';
import { TEST_LABEL } from '../helpers/engine.js';

// The integration suite always talks to a real engine: scripts/test.sh runs scripts/engine-up.sh
// first. If none answers, fail loudly instead of skipping.
export async function setup(): Promise<void> {
  const docker = new DockerClient();
  try {
    await docker.system.ping({ signal: AbortSignal.timeout(10_000) });
  } catch (error) {
    throw new Error(`integration tests need a Docker engine; run \`npm run engine:up\` first (${(error as Error).message})`);
  } finally {
    await docker.close();
  }
}

// After the run, no container labelled by the tests may remain: remove strays and fail if any.
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
  } finally {
    await docker.close();
  }
}
