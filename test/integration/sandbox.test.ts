import { mkdtempSync, readdirSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { DockerClient } from '../../src/engine/index.js';
import { DockerCommandLineCodeExecutor } from '../../src/index.js';
import { PYTHON, TEST_LABEL } from '../helpers/engine.js';
import { isPodman } from '../helpers/podman.js';

const docker = new DockerClient();
let ex: DockerCommandLineCodeExecutor;
let outside: string;

beforeAll(async () => {
  outside = mkdtempSync(join(tmpdir(), 'berth-outside-'));
  ex = new DockerCommandLineCodeExecutor({
    image: PYTHON,
    docker,
    labels: { [TEST_LABEL]: '1' },
    sandbox: { memoryBytes: 128 * 1024 * 1024, pidsLimit: 64 },
    timeout: 20,
  });
  await ex.start();
});

afterAll(async () => {
  await ex.stop();
  rmSync(outside, { recursive: true, force: true });
  await docker.close();
});

const sh = (code: string) => ex.executeCodeBlocks([{ language: 'sh', code }]);
const py = (code: string) => ex.executeCodeBlocks([{ language: 'python', code }]);

describe('sandbox: true', () => {
  it('sets the container up as documented', async () => {
    const info = await docker.containers.inspect(ex.containerId as string);
    expect(info.HostConfig.NetworkMode).toBe('none');
    // Podman lists the capabilities it dropped instead of `ALL`: the bounding set below is what counts.
    if (await isPodman(docker)) expect(info.HostConfig.CapAdd ?? []).toEqual([]);
    else expect(info.HostConfig.CapDrop).toEqual(['ALL']);
    const caps = await docker.exec.run(ex.containerId as string, ['sh', '-c', 'grep CapBnd /proc/1/status']);
    expect(caps.stdout).toMatch(/^CapBnd:\s+0{16}$/m);
    expect(info.HostConfig.ReadonlyRootfs).toBe(true);
    expect(info.HostConfig.SecurityOpt).toContain('no-new-privileges');
    expect(info.HostConfig.PidsLimit).toBe(64);
    expect(info.HostConfig.Memory).toBe(128 * 1024 * 1024);
    expect(info.Config.User).toBe('65534:65534');
    // The engine socket is never handed to the code.
    expect(info.Mounts.map((m) => m.Source)).not.toContain('/var/run/docker.sock');
  });

  it('runs the code as a non-root user', async () => {
    const result = await sh('id -u');
    expect(result.output.trim()).toBe('65534');
  });

  it('makes the network unreachable', async () => {
    const result = await py(
      "import socket\ns = socket.socket()\ns.settimeout(3)\ntry:\n    s.connect(('1.1.1.1', 53))\n    print('connected')\nexcept OSError as e:\n    print('unreachable', e.errno)",
    );
    expect(result.output).toMatch(/^unreachable/);
    const ifaces = await sh('ls /sys/class/net');
    expect(ifaces.output.trim()).toBe('lo');
  });

  it('writes only to /tmp and the workspace', async () => {
    const result = await sh(
      'for p in / /etc /usr /root /var; do touch "$p/berth-probe" 2>/dev/null && echo "wrote $p"; done; touch /tmp/ok /workspace/ok && echo fine',
    );
    expect(result.output).toBe('fine\n');
    expect(readdirSync(ex.workDir)).toContain('ok');
  });

  it('reaps what a block leaves running: a detached daemon, and a child of it that cleared its environment', async () => {
    const result = await sh('(setsid sh -c "sleep 300 & env -i sleep 301 & wait" > /dev/null 2>&1 &); echo started');
    expect(result.output).toBe('started\n');
    const probe = 'for d in /proc/[0-9]*; do c=$(tr "\\0" " " < "$d/cmdline" 2>/dev/null); case $c in "sleep 30"*) echo "$c" ;; esac; done';
    const left = await docker.exec.run(ex.containerId as string, ['sh', '-c', probe]);
    expect(left.stdout).toBe('');
  });

  it('contains a fork bomb, and the executor still answers', async () => {
    const bomb = await ex.executeCodeBlocks([{ language: 'bash', code: 'b() { b | b & }; b; sleep 3; echo survived' }]);
    expect(bomb.exitCode).toBeDefined();
    const after = await py("print('still here')");
    expect(after.exitCode).toBe(0);
    expect(after.output).toBe('still here\n');
  });

  it('OOM-kills a memory hog and reports it', async () => {
    const result = await py('x = []\nwhile True:\n    x.append(bytearray(16 * 1024 * 1024))');
    expect(result.exitCode).toBe(137);
    const after = await py("print('alive')");
    expect(after.output).toBe('alive\n');
  });
});
