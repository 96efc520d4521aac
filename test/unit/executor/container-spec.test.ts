import { describe, expect, it } from 'vitest';
import { buildContainerSpec, type ContainerSpecInput, OWN_INIT_SCRIPT } from '../../../src/executor/container-spec.js';
import type { DockerCommandLineCodeExecutorOptions } from '../../../src/index.js';

const BIND = { binds: ['/ws:/workspace:rw'], volumes: {} };
const VOLUME = { binds: [], volumes: { '/workspace': {} } };
const owner = { 'berth.executor.id': 'id', 'berth.host.pid': '1', 'berth.host.name': 'h' };
const spec = (options: DockerCommandLineCodeExecutorOptions, more: Partial<ContainerSpecInput> = {}) =>
  buildContainerSpec({ options, image: 'img', workspace: BIND, ownerLabels: owner, init: 'engine', ...more });

describe('buildContainerSpec: defaults', () => {
  it('builds the plain container: engine init, never AutoRemove, pids limit, no MKNOD, workspace bind, labels', () => {
    expect(spec({})).toEqual({
      Image: 'img',
      Entrypoint: ['/bin/sh'],
      Tty: true,
      OpenStdin: false,
      WorkingDir: '/workspace',
      Env: ['PYTHONUNBUFFERED=1'],
      Labels: { ...owner, 'berth.executor': '1' },
      HostConfig: {
        Binds: ['/ws:/workspace:rw'],
        AutoRemove: false,
        Init: true,
        PidsLimit: 4096,
        SecurityOpt: ['no-new-privileges'],
        CapDrop: ['MKNOD'],
      },
    });
  });

  it('is AutoRemove false whatever autoRemove says (stop() removes the container)', () => {
    expect(spec({ autoRemove: true }).HostConfig?.AutoRemove).toBe(false);
    expect(spec({ autoRemove: false }).HostConfig?.AutoRemove).toBe(false);
  });

  it('runs its own PID 1 (a trap loop) and no HostConfig.Init when the engine has no init', () => {
    const body = spec({}, { init: 'own' });
    expect(body.HostConfig?.Init).toBeUndefined();
    expect(body.Entrypoint).toEqual(['/bin/sh', '-c', OWN_INIT_SCRIPT]);
    expect(OWN_INIT_SCRIPT).toMatch(/trap 'exit 0' TERM/);
  });

  it('a workspace volume (copy mode) instead of the workspace bind', () => {
    const body = spec({ extraVolumes: { '/data': { bind: '/data', mode: 'ro' } } }, { workspace: VOLUME });
    expect(body.Volumes).toEqual({ '/workspace': {} });
    expect(body.HostConfig?.Binds).toEqual(['/data:/data:ro']);
  });
});

describe('buildContainerSpec: each option', () => {
  it.each<[string, DockerCommandLineCodeExecutorOptions, (body: ReturnType<typeof spec>) => unknown, unknown]>([
    [
      'extraVolumes (mode defaults to rw)',
      { extraVolumes: { '/a': { bind: '/b' } } },
      (b) => b.HostConfig?.Binds,
      ['/ws:/workspace:rw', '/a:/b:rw'],
    ],
    ['extraHosts', { extraHosts: { 'x.test': '10.0.0.1' } }, (b) => b.HostConfig?.ExtraHosts, ['x.test:10.0.0.1']],
    ['environment', { environment: { A: '1', B: 'two' } }, (b) => b.Env, ['PYTHONUNBUFFERED=1', 'A=1', 'B=two']],
    ['user', { user: '1000:1000' }, (b) => b.User, '1000:1000'],
    ['networkMode', { networkMode: 'none' }, (b) => b.HostConfig?.NetworkMode, 'none'],
    [
      'memoryBytes (swap the same: no swap)',
      { memoryBytes: 1 << 28 },
      (b) => [b.HostConfig?.Memory, b.HostConfig?.MemorySwap],
      [1 << 28, 1 << 28],
    ],
    ['cpus', { cpus: 1.5 }, (b) => b.HostConfig?.NanoCpus, 1_500_000_000],
    ['pidsLimit', { pidsLimit: 99 }, (b) => b.HostConfig?.PidsLimit, 99],
    [
      'labels (ours win)',
      { labels: { mine: 'x', 'berth.executor': 'no' } },
      (b) => b.Labels,
      { mine: 'x', ...owner, 'berth.executor': '1' },
    ],
    [
      'deviceRequests',
      { deviceRequests: [{ count: -1 }, { deviceIds: ['0'], driver: 'nvidia', options: { a: 'b' } }] },
      (b) => b.HostConfig?.DeviceRequests,
      [
        { Driver: '', Count: -1, Capabilities: [['gpu']], Options: {} },
        { Driver: 'nvidia', Count: 0, DeviceIDs: ['0'], Capabilities: [['gpu']], Options: { a: 'b' } },
      ],
    ],
  ])('%s', (_name, options, read, expected) => {
    expect(read(spec(options))).toEqual(expected);
  });

  it('sandbox: true takes every sandbox default', () => {
    const body = spec({ sandbox: true });
    expect(body.User).toBe('65534:65534');
    expect(body.HostConfig).toMatchObject({
      NetworkMode: 'none',
      Memory: 512 * 1024 * 1024,
      MemorySwap: 512 * 1024 * 1024,
      NanoCpus: 1e9,
      PidsLimit: 128,
      CapDrop: ['ALL'],
      ReadonlyRootfs: true,
      Tmpfs: { '/tmp': 'rw,nosuid,nodev,size=64m' },
    });
  });

  it('sandbox: false is no sandbox', () => {
    expect(spec({ sandbox: false })).toEqual(spec({}));
  });

  it("the sandbox object's settings beat its defaults", () => {
    const body = spec({ sandbox: { networkMode: 'bridge', memoryBytes: 1, cpus: 2, pidsLimit: 64, user: '7', tmpSize: '1m' } });
    expect(body.User).toBe('7');
    expect(body.HostConfig).toMatchObject({
      NetworkMode: 'bridge',
      Memory: 1,
      NanoCpus: 2e9,
      PidsLimit: 64,
      Tmpfs: { '/tmp': 'rw,nosuid,nodev,size=1m' },
    });
  });
});

describe('buildContainerSpec: one precedence rule, top-level option > sandbox setting > sandbox default', () => {
  const sandbox = { networkMode: 'bridge', memoryBytes: 2, cpus: 2, pidsLimit: 64, user: '7' };
  const top = { networkMode: 'host', memoryBytes: 3, cpus: 3, pidsLimit: 256, user: '8' };
  it('every top-level option beats the same sandbox setting', () => {
    const body = spec({ sandbox, ...top });
    expect(body.User).toBe('8');
    expect(body.HostConfig).toMatchObject({ NetworkMode: 'host', Memory: 3, NanoCpus: 3e9, PidsLimit: 256 });
  });
  it('every top-level option beats the sandbox default', () => {
    const body = spec({ sandbox: true, ...top });
    expect(body.User).toBe('8');
    expect(body.HostConfig).toMatchObject({ NetworkMode: 'host', Memory: 3, NanoCpus: 3e9, PidsLimit: 256 });
  });
  it('pidsLimit follows the rule too (the sandbox used to win it)', () => {
    expect(spec({ sandbox: { pidsLimit: 64 }, pidsLimit: 256 }).HostConfig?.PidsLimit).toBe(256);
  });
});
