import type { DockerClient } from '../../src/engine/index.js';
import { testClient } from './engine.js';

let cached: Promise<boolean> | undefined;

/**
 * True when the engine under test is Podman's Docker-compatible service (scripts/podman-up.sh),
 * told by `GET /version`: Podman lists a `Podman Engine` component (Docker lists `Engine`).
 * Asked once per test file.
 */
export function isPodman(docker?: DockerClient): Promise<boolean> {
  cached ??= (async () => {
    const client = docker ?? testClient();
    try {
      const version = await client.system.version();
      const names = [version.Platform?.Name ?? '', ...(version.Components ?? []).map((c) => c.Name)];
      return names.some((name) => /podman/i.test(name));
    } finally {
      if (!docker) await client.close();
    }
  })();
  return cached;
}

/**
 * Says, on the test's output, that a test checks a documented Podman limitation instead of the
 * Docker behaviour (README, "Podman 4.3 differences").
 */
export function podmanLimitation(test: string, reason: string): void {
  console.warn(`podman: ${test} cannot work because ${reason}; asserting the documented limitation instead`);
}

/**
 * Image names as Podman's Docker API lists them: Podman qualifies short names (`localhost/…` for
 * images loaded or built locally, `docker.io/…` for others), Docker does not.
 */
export function listedNames(name: string): string[] {
  const slash = name.indexOf('/');
  const qualified = slash > 0 && /[.:]|^localhost$/.test(name.slice(0, slash));
  if (qualified) return [name];
  return [name, `localhost/${name}`, `docker.io/${name}`, ...(slash < 0 ? [`docker.io/library/${name}`] : [])];
}
