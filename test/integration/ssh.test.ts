import { spawnSync } from 'node:child_process';
import { existsSync, readdirSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { DockerApiError, DockerArgumentError, DockerClient, DockerConnectionError } from '../../src/engine/index.js';
import { DockerCommandLineCodeExecutor } from '../../src/index.js';
import { copyModeSuite } from '../helpers/copy-mode-suite.js';
import { BUSYBOX, loopbackListening, PYTHON, TEST_LABEL } from '../helpers/engine.js';

// scripts/sshd-up.sh (run by npm test) starts an sshd on loopback that lets this user in with a
// throw-away key, and writes an ssh_config naming that key and pinning the host key. Through it,
// `ssh … docker system dial-stdio` reaches the local dockerd exactly as it would a remote one.
const DIR = process.env.BERTH_SSH_DIR ?? '/tmp/berth-sshd';
const PORT = Number(process.env.BERTH_SSH_PORT ?? 2222);
const USER = (process.env.USER || spawnSync('id', ['-un'], { encoding: 'utf8' }).stdout.trim()) as string;
const HOST = `ssh://${USER}@127.0.0.1:${PORT}`;
const SSH = { args: ['-F', join(DIR, 'ssh_config')] };

const available = await loopbackListening(PORT, join(DIR, 'ssh_config'));
if (!available) {
  console.warn(`ssh:// tests skipped: no sshd on 127.0.0.1:${PORT} with ${DIR}/ssh_config; run scripts/sshd-up.sh (npm test does)`);
}

/** The SSH bridges' private folders (`berth-ssh-*`) in the temp folder. */
function bridgeFolders(): string[] {
  return readdirSync(tmpdir()).filter((name) => name.startsWith('berth-ssh-'));
}

/** ssh processes running `docker system dial-stdio` for the given address. */
function sshProcesses(): string[] {
  const out = spawnSync('sh', ['-c', 'for d in /proc/[0-9]*; do tr "\\0" " " < $d/cmdline 2>/dev/null; echo; done'], {
    encoding: 'utf8',
  }).stdout;
  return out.split('\n').filter((line) => line.startsWith('ssh ') && line.includes('dial-stdio') && line.includes(join(DIR, 'ssh_config')));
}

describe.runIf(available)('an engine over ssh:// (system ssh running docker system dial-stdio)', () => {
  it('pings, inspects and runs commands with demultiplexed output, like the local engine', async () => {
    const docker = new DockerClient({ host: HOST, ssh: SSH });
    let id: string | undefined;
    try {
      expect(docker.describe()).toEqual({ address: HOST, source: 'option' });
      expect(docker.isLocal()).toBe(false);
      const ping = await docker.system.ping();
      expect(ping.apiVersion).toMatch(/^\d+\.\d+$/);
      const local = new DockerClient();
      expect((await docker.system.version()).Version).toBe((await local.system.version()).Version);
      await local.close();
      ({ Id: id } = await docker.containers.create({ Image: BUSYBOX, Cmd: ['sleep', '60'], Labels: { [TEST_LABEL]: 'ssh' } }));
      await docker.containers.start(id);
      // exec start is hijacked: the multiplexed stream travels through ssh both ways.
      const run = await docker.exec.run(id, ['sh', '-c', 'printf out; printf err >&2; exit 3']);
      expect(run).toMatchObject({ stdout: 'out', stderr: 'err', exitCode: 3 });
      // With stdin the exec is hijacked (Upgrade: tcp), and the half-close travels through ssh too.
      const piped = await docker.exec.run(id, ['sh', '-c', 'wc -c; echo done'], { stdin: 'x'.repeat(100_000) });
      expect(piped.stdout.trim().split(/\s+/)).toEqual(['100000', 'done']);
      // A body larger than one ssh channel window comes back byte-exact.
      const big = await docker.exec.run(id, ['sh', '-c', 'head -c 3000000 /dev/zero | tr "\\0" x']);
      expect(big.stdout.length).toBe(3_000_000);
      expect(big.stdout).toMatch(/^x+$/);
      // Engine errors are the engine's, typed, through the tunnel.
      const missing = await docker.containers.inspect('berth-no-such-container-ssh').catch((e: unknown) => e);
      expect(missing).toBeInstanceOf(DockerApiError);
      expect((missing as DockerApiError).statusCode).toBe(404);
    } finally {
      if (id) await docker.containers.remove(id, { force: true }).catch(() => {});
      await docker.close();
    }
  });

  it('follows DOCKER_HOST=ssh://… and streams logs', async () => {
    const docker = new DockerClient({ env: { DOCKER_HOST: HOST }, ssh: SSH });
    let id: string | undefined;
    try {
      expect(docker.describe()).toEqual({ address: HOST, source: 'DOCKER_HOST' });
      ({ Id: id } = await docker.containers.create({
        Image: BUSYBOX,
        Cmd: ['sh', '-c', 'for i in 1 2 3; do echo line$i; done; echo oops >&2'],
        Labels: { [TEST_LABEL]: 'ssh' },
      }));
      await docker.containers.start(id);
      await docker.containers.wait(id);
      const seen = { stdout: '', stderr: '' };
      for await (const frame of await docker.containers.logs(id, { stdout: true, stderr: true })) {
        seen[frame.stream] += new TextDecoder().decode(frame.data);
      }
      expect(seen).toEqual({ stdout: 'line1\nline2\nline3\n', stderr: 'oops\n' });
    } finally {
      if (id) await docker.containers.remove(id, { force: true }).catch(() => {});
      await docker.close();
    }
  });

  it('says what ssh said when it cannot log in, within seconds', async () => {
    const docker = new DockerClient({ host: `ssh://berth-no-such-user@127.0.0.1:${PORT}`, ssh: SSH });
    const started = Date.now();
    try {
      const error = await docker.system.ping().catch((e: unknown) => e);
      expect(error).toBeInstanceOf(DockerConnectionError);
      expect((error as Error).message).toContain(`ssh://berth-no-such-user@127.0.0.1:${PORT}`);
      expect((error as Error).message).toMatch(/Permission denied/);
      expect((error as DockerConnectionError).tried).toEqual([`ssh://berth-no-such-user@127.0.0.1:${PORT}`]);
      expect(Date.now() - started).toBeLessThan(15_000);
    } finally {
      await docker.close();
    }
  });

  it('says what ssh said when nothing listens on the port', async () => {
    const docker = new DockerClient({ host: `ssh://${USER}@127.0.0.1:1`, ssh: SSH, timeouts: { connect: 2000 } });
    try {
      const error = await docker.system.ping().catch((e: unknown) => e);
      expect(error).toBeInstanceOf(DockerConnectionError);
      expect((error as Error).message).toMatch(/Connection refused/);
    } finally {
      await docker.close();
    }
  });

  it('says so when the remote engine socket does not exist', async () => {
    const docker = new DockerClient({ host: `${HOST}/run/berth-no-such.sock`, ssh: SSH });
    try {
      const error = await docker.system.ping().catch((e: unknown) => e);
      expect(error).toBeInstanceOf(DockerConnectionError);
      expect((error as Error).message).toMatch(/berth-no-such\.sock/);
    } finally {
      await docker.close();
    }
  });

  it('gives a clear error when the ssh program cannot be run', async () => {
    const docker = new DockerClient({ host: HOST, ssh: { command: '/nonexistent/berth-ssh' } });
    try {
      const error = await docker.system.ping().catch((e: unknown) => e);
      expect(error).toBeInstanceOf(DockerConnectionError);
      expect((error as Error).message).toMatch(/cannot run \/nonexistent\/berth-ssh/);
    } finally {
      await docker.close();
    }
  });

  it('rejects hosts and users that would be read as ssh options, before running anything', () => {
    for (const host of ['ssh://-oProxyCommand=touch%20x', 'ssh://-x@host', 'ssh://host:0', 'ssh://host:99999', 'ssh://', 'ssh://a b']) {
      expect(() => new DockerClient({ host, ssh: SSH }).describe(), host).toThrow(DockerArgumentError);
    }
  });

  it('leaves no ssh process and no bridge folder after close(), nor when the process exits without close()', async () => {
    const before = new Set(bridgeFolders());
    const docker = new DockerClient({ host: HOST, ssh: SSH });
    await Promise.all([docker.system.ping(), docker.system.info(), docker.system.version()]);
    expect(sshProcesses().length).toBeGreaterThan(0);
    expect(bridgeFolders().filter((f) => !before.has(f))).toHaveLength(1);
    await docker.close();
    expect(bridgeFolders().filter((f) => !before.has(f))).toEqual([]);
    expect(sshProcesses()).toEqual([]);

    // A script that never closes its client: the process still ends on its own, and cleans up.
    const script = `
      const { DockerClient } = await import(${JSON.stringify(new URL('../../dist/engine/index.js', import.meta.url).href)});
      const docker = new DockerClient({ host: ${JSON.stringify(HOST)}, ssh: ${JSON.stringify(SSH)} });
      console.log((await docker.system.ping()).apiVersion);`;
    if (!existsSync(new URL('../../dist/engine/index.js', import.meta.url))) {
      console.warn('exit-without-close check needs dist/ (npm run build); npm test builds it first');
      return;
    }
    const child = spawnSync(process.execPath, ['--input-type=module', '-e', script], { encoding: 'utf8', timeout: 30_000 });
    expect(child.stderr).toBe('');
    expect(child.status).toBe(0);
    expect(child.stdout.trim()).toMatch(/^\d+\.\d+$/);
    expect(bridgeFolders().filter((f) => !before.has(f))).toEqual([]);
    expect(sshProcesses()).toEqual([]);
  });

  it('runs the executor over ssh in copy mode, chosen automatically, and stops cleanly', async () => {
    const docker = new DockerClient({ host: HOST, ssh: SSH });
    const executor = new DockerCommandLineCodeExecutor({ image: PYTHON, docker, labels: { [TEST_LABEL]: 'ssh' }, timeout: 5 });
    try {
      await executor.start();
      expect(executor.workspaceMode).toBe('copy');
      const result = await executor.executeCodeBlocks([{ language: 'python', code: "open('out.txt','w').write('via ssh'); print(6*7)" }]);
      expect(result).toMatchObject({ exitCode: 0, output: '42\n' });
      expect(new TextDecoder().decode(await executor.readFile('out.txt'))).toBe('via ssh');
      const slow = await executor.executeCodeBlocks([{ language: 'python', code: 'import time; time.sleep(30)' }]);
      expect(slow.exitCode).toBe(124);
      expect(slow.output).toContain('Timeout');
    } finally {
      await executor.stop();
      await docker.close();
    }
  });
});

if (available) {
  copyModeSuite('the executor in copy mode over ssh:// (chosen automatically)', () => new DockerClient({ host: HOST, ssh: SSH }));
}
