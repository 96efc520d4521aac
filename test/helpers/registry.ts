import { chmod, mkdir, mkdtemp, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

/** The registry without authentication that scripts/registry-up.sh starts. */
export const OPEN_REGISTRY = `127.0.0.1:${process.env.BERTH_REGISTRY_PORT ?? '5510'}`;
/** The registry with htpasswd authentication that scripts/registry-up.sh starts. */
export const AUTH_REGISTRY = `127.0.0.1:${process.env.BERTH_REGISTRY_AUTH_PORT ?? '5511'}`;
/** Its user and password. */
export const REGISTRY_USER = process.env.BERTH_REGISTRY_USER ?? 'berth';
export const REGISTRY_PASSWORD = process.env.BERTH_REGISTRY_PASSWORD ?? 'berth-secret';

/** True when `registry` answers `/v2/` (200 or 401); else prints why the suite cannot run. */
export async function registryUp(registry: string): Promise<boolean> {
  try {
    const response = await fetch(`http://${registry}/v2/`);
    return response.status === 200 || response.status === 401;
  } catch {
    console.warn(`registry ${registry} does not answer: run bash scripts/registry-up.sh`);
    return false;
  }
}

/**
 * A temp DOCKER_CONFIG folder with `config` as config.json, and a bin folder holding a fake
 * `docker-credential-<name>` for each helper: a shell script that logs its stdin and prints
 * `answer` (or exits with `exit`) for `get`, and `list` as JSON for `list` (else exits 9).
 */
export async function dockerConfig(
  config: unknown,
  helpers: Record<string, { answer: string; exit?: number; list?: Record<string, string> }> = {},
): Promise<{ dir: string; bin: string; log: string; env: Record<string, string | undefined> }> {
  const dir = await mkdtemp(join(tmpdir(), 'berth-docker-config-'));
  const bin = join(dir, 'bin');
  const log = join(dir, 'helper.log');
  await writeFile(join(dir, 'config.json'), typeof config === 'string' ? config : JSON.stringify(config));
  await mkdir(bin);
  for (const [name, { answer, exit, list }] of Object.entries(helpers)) {
    const script = join(bin, `docker-credential-${name}`);
    const onList = list ? `[ "$1" = list ] && { echo "${name} list " >> '${log}'; echo '${JSON.stringify(list)}'; exit 0; }\n` : '';
    await writeFile(
      script,
      `#!/bin/sh\n${onList}[ "$1" = get ] || exit 9\nserver=$(cat)\necho "${name} $1 $server" >> '${log}'\ncat <<'JSON'\n${answer}\nJSON\nexit ${exit ?? 0}\n`,
    );
    await chmod(script, 0o755);
  }
  const env = { ...process.env, DOCKER_CONFIG: dir, PATH: `${bin}:${process.env.PATH ?? ''}` };
  return { dir, bin, log, env };
}

/** base64 of `user:password`, as `docker login` writes `auths.*.auth`. */
export function authField(user: string, password: string): string {
  return Buffer.from(`${user}:${password}`).toString('base64');
}
