import { spawnSync } from 'node:child_process';
import { existsSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { DockerClient } from '../../src/engine/index.js';
import { withDeadDockerSocket } from '../helpers/engine.js';

// Engine discovery with a stale Docker socket in front of a live Podman: the user's machine once
// had Docker (its socket file is still at /var/run/docker.sock, nothing listens) and now runs
// Podman's service. With no DOCKER_HOST and no context, Berth must find Podman.
//
// To put a stale socket at the real /var/run/docker.sock without touching the running dockerd,
// the check runs in a private mount namespace (`unshare -m`, root only) where a dead socket is
// bind-mounted over that path. It runs in the Podman stage of npm test (scripts/test.sh), where
// /run/podman/podman.sock answers.
const PODMAN = '/run/podman/podman.sock';
const DIST = new URL('../../dist/engine/index.js', import.meta.url);

async function podmanAnswers(): Promise<boolean> {
  if (!existsSync(PODMAN)) return false;
  const podman = new DockerClient({ socketPath: PODMAN });
  try {
    const version = await podman.system.version();
    return (version.Components ?? []).some((c) => /podman/i.test(c.Name));
  } catch {
    return false;
  } finally {
    await podman.close();
  }
}

const reasons: string[] = [];
if (process.getuid?.() !== 0) reasons.push('not root (unshare -m needs it)');
if (spawnSync('unshare', ['--version']).status !== 0) reasons.push('no unshare');
if (!existsSync(DIST)) reasons.push('no dist/ (npm run build)');
if (!(await podmanAnswers())) reasons.push(`Podman's service does not answer at ${PODMAN} (scripts/podman-up.sh)`);
if (reasons.length > 0) console.warn(`discovery test against Podman skipped: ${reasons.join('; ')}`);

describe.runIf(reasons.length === 0)('engine discovery on a machine with a stale Docker socket and a live Podman', () => {
  it('skips the socket nobody answers and uses Podman, with no DOCKER_HOST and no context', () => {
    const dir = mkdtempSync(join(tmpdir(), 'berth-discovery-'));
    try {
      const script = `
        const { DockerClient } = await import(${JSON.stringify(DIST.href)});
        const docker = new DockerClient();
        const version = await docker.system.version();
        console.log(JSON.stringify({ describe: docker.describe(), components: (version.Components ?? []).map((c) => c.Name) }));
        await docker.close();`;
      const env: Record<string, string> = {
        PATH: process.env.PATH ?? '/usr/bin:/bin',
        HOME: dir,
        DOCKER_CONFIG: join(dir, 'docker-config'),
      };
      const run = withDeadDockerSocket(dir, script, env);
      expect(run.stderr).toBe('');
      expect(run.status).toBe(0);
      const seen = JSON.parse(run.stdout) as { describe: { address: string; source: string }; components: string[] };
      expect(seen.describe).toEqual({ address: `unix://${PODMAN}`, source: 'default socket' });
      expect(seen.components.some((name) => /podman/i.test(name))).toBe(true);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
});

// Docker Desktop and most remote set-ups are reached through a docker context: the CLI writes it,
// Berth reads it. Here the real docker CLI writes the contexts and Berth follows them to the engine.
const cliReasons: string[] = [];
if (spawnSync('docker', ['--version']).status !== 0) cliReasons.push('no docker CLI');
if (cliReasons.length > 0) console.warn(`docker context tests skipped: ${cliReasons.join('; ')}`);

describe.runIf(cliReasons.length === 0)('docker contexts written by the docker CLI', () => {
  it('follows the current context (as Docker Desktop sets it) and DOCKER_CONTEXT, to a socket and to ssh://', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'berth-contexts-'));
    const config = join(dir, 'docker-config');
    const cli = (...args: string[]) => {
      const run = spawnSync('docker', ['--config', config, ...args], { encoding: 'utf8' });
      expect(run.status, run.stderr).toBe(0);
    };
    const local = new DockerClient();
    const socket = local.describe().address;
    const expected = (await local.system.version()).Version;
    await local.close();
    try {
      if (!socket.startsWith('unix://')) throw new Error(`the test engine is not on a unix socket: ${socket}`);
      cli('context', 'create', 'berth-desktop-like', '--docker', `host=${socket}`);
      cli('context', 'use', 'berth-desktop-like');
      const viaCurrent = new DockerClient({ env: { HOME: dir, DOCKER_CONFIG: config } });
      expect(viaCurrent.describe()).toEqual({ address: socket, source: 'context berth-desktop-like' });
      expect((await viaCurrent.system.version()).Version).toBe(expected);
      await viaCurrent.close();

      const sshConfig = join(process.env.BERTH_SSH_DIR ?? '/tmp/berth-sshd', 'ssh_config');
      if (!existsSync(sshConfig)) {
        console.warn('the ssh:// context check needs scripts/sshd-up.sh (npm test runs it); checked the socket context only');
        return;
      }
      const user = spawnSync('id', ['-un'], { encoding: 'utf8' }).stdout.trim();
      const sshHost = `ssh://${user}@127.0.0.1:${process.env.BERTH_SSH_PORT ?? 2222}`;
      cli('context', 'create', 'berth-over-ssh', '--docker', `host=${sshHost}`);
      const viaSsh = new DockerClient({
        env: { HOME: dir, DOCKER_CONFIG: config, DOCKER_CONTEXT: 'berth-over-ssh' },
        ssh: { args: ['-F', sshConfig] },
      });
      expect(viaSsh.describe()).toEqual({ address: sshHost, source: 'context berth-over-ssh' });
      // The remote docker CLI's own default engine answers (in the Podman stage that is still dockerd).
      expect((await viaSsh.system.ping()).apiVersion).toMatch(/^\d+\.\d+$/);
      await viaSsh.close();
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
});
