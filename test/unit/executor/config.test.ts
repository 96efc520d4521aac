import { describe, expect, it } from 'vitest';
import {
  ACCEPTED_PROVIDERS,
  COMPONENT_PROVIDER,
  type ExecutorConfigSource,
  fromComponent,
  isGeneratedContainerName,
  toComponent,
} from '../../../src/executor/config.js';
import { autogenDump, autogenDumpText, INLINE_REFERENCE } from '../../helpers/autogen-reference.js';

const reference = autogenDump();

/** The executor state that produced the reference dump. */
function referenceSource(overrides: Partial<ExecutorConfigSource> = {}): ExecutorConfigSource {
  return {
    image: 'python:3-slim',
    containerName: reference.config.container_name,
    containerNameGenerated: true,
    timeout: 60,
    workDir: 'coding',
    bindDir: undefined,
    autoRemove: true,
    stopContainer: true,
    functionsModule: 'functions',
    extraVolumes: {},
    extraHosts: {},
    initCommand: undefined,
    deleteTmpFiles: false,
    hasFunctions: false,
    hasDeviceRequests: false,
    ...overrides,
  };
}

function withoutContainerName<T extends { config: Record<string, unknown> }>(model: T): T {
  const { container_name: _dropped, ...config } = model.config;
  return { ...model, config };
}

describe('the reference dump', () => {
  it('matches the inline copy', () => {
    expect(reference).toEqual(INLINE_REFERENCE);
  });
});

describe('toComponent', () => {
  it('gives autogen’s dump without the generated container name', () => {
    expect(toComponent(referenceSource())).toEqual(withoutContainerName(reference));
  });

  it('gives autogen’s dump exactly when the name was chosen by the user', () => {
    const model = toComponent(referenceSource({ containerNameGenerated: false }));
    expect(model).toEqual(reference);
    expect(JSON.stringify(model)).toBe(JSON.stringify(reference));
  });

  it('keeps autogen’s key order', () => {
    const model = toComponent(referenceSource({ containerNameGenerated: false }));
    expect(Object.keys(model)).toEqual(Object.keys(reference));
    expect(Object.keys(model.config)).toEqual(Object.keys(reference.config));

    const full = toComponent(
      referenceSource({
        containerName: 'mine',
        containerNameGenerated: false,
        bindDir: '/host/coding',
        initCommand: 'pip install x',
        extraVolumes: { '/h': { bind: '/c' } },
      }),
    );
    expect(Object.keys(full.config)).toEqual([
      'image',
      'container_name',
      'timeout',
      'work_dir',
      'bind_dir',
      'auto_remove',
      'stop_container',
      'functions_module',
      'extra_volumes',
      'extra_hosts',
      'init_command',
      'delete_tmp_files',
    ]);
  });

  it('writes bind_dir equal to work_dir unless set apart', () => {
    expect(toComponent(referenceSource()).config.bind_dir).toBe('coding');
    expect(toComponent(referenceSource({ bindDir: '/host/coding' })).config).toMatchObject({
      work_dir: 'coding',
      bind_dir: '/host/coding',
    });
  });

  it('leaves out unset values', () => {
    const { config } = toComponent(referenceSource({ workDir: undefined, bindDir: undefined, initCommand: undefined }));
    expect(config).not.toHaveProperty('work_dir');
    expect(config).not.toHaveProperty('bind_dir');
    expect(config).not.toHaveProperty('init_command');
    expect(config).not.toHaveProperty('container_name');
    expect(config).toHaveProperty('delete_tmp_files', false);
  });

  it('writes volumes as { bind, mode } with mode rw by default, and copies the maps', () => {
    const hosts = { 'example.com': '127.0.0.1' };
    const volumes = { '/data': { bind: '/mnt/data' }, '/ro': { bind: '/mnt/ro', mode: 'ro' } };
    const { config } = toComponent(referenceSource({ extraVolumes: volumes, extraHosts: hosts, initCommand: 'echo hi' }));
    expect(config.extra_volumes).toEqual({ '/data': { bind: '/mnt/data', mode: 'rw' }, '/ro': { bind: '/mnt/ro', mode: 'ro' } });
    expect(config.extra_hosts).toEqual(hosts);
    expect(config.extra_hosts).not.toBe(hosts);
    expect(config.init_command).toBe('echo hi');
  });

  it('warns about functions and device requests, which are not serialised', () => {
    const messages: string[] = [];
    const model = toComponent(referenceSource({ hasFunctions: true, hasDeviceRequests: true }), (m) => messages.push(m));
    expect(messages).toEqual([
      'Functions will not be included in serialized configuration',
      'deviceRequests are not included in serialized configuration',
    ]);
    expect(model.config).not.toHaveProperty('functions');
    expect(model.config).not.toHaveProperty('device_requests');
  });

  it('is silent without functions or device requests, and by default', () => {
    const messages: string[] = [];
    toComponent(referenceSource(), (m) => messages.push(m));
    expect(messages).toEqual([]);
    expect(() => toComponent(referenceSource({ hasFunctions: true }))).not.toThrow();
  });
});

describe('fromComponent', () => {
  it('maps every field of autogen’s dump and drops the generated name', () => {
    expect(fromComponent(reference)).toEqual({
      image: 'python:3-slim',
      timeout: 60,
      workDir: 'coding',
      bindDir: 'coding',
      autoRemove: true,
      stopContainer: true,
      functionsModule: 'functions',
      extraVolumes: {},
      extraHosts: {},
      deleteTmpFiles: false,
    });
  });

  it('reads the JSON text, and a bare config object', () => {
    expect(fromComponent(autogenDumpText())).toEqual(fromComponent(reference));
    expect(fromComponent(reference.config)).toEqual(fromComponent(reference));
  });

  it('keeps a user-chosen name', () => {
    expect(fromComponent({ ...reference, config: { ...reference.config, container_name: 'my-sandbox' } }).containerName).toBe('my-sandbox');
  });

  it('maps every optional field', () => {
    const options = fromComponent({
      provider: 'DockerCommandLineCodeExecutor',
      config: {
        image: 'python:3.12',
        container_name: 'box',
        timeout: 5,
        work_dir: '/app/coding',
        bind_dir: '/host/coding',
        auto_remove: false,
        stop_container: false,
        functions_module: 'tools',
        extra_volumes: { '/data': { bind: '/mnt/data', mode: 'ro' }, '/x': { bind: '/y' } },
        extra_hosts: { 'example.com': 'host-gateway' },
        init_command: 'pip install -q numpy',
        delete_tmp_files: true,
      },
    });
    expect(options).toEqual({
      image: 'python:3.12',
      containerName: 'box',
      timeout: 5,
      workDir: '/app/coding',
      bindDir: '/host/coding',
      autoRemove: false,
      stopContainer: false,
      functionsModule: 'tools',
      extraVolumes: { '/data': { bind: '/mnt/data', mode: 'ro' }, '/x': { bind: '/y' } },
      extraHosts: { 'example.com': 'host-gateway' },
      initCommand: 'pip install -q numpy',
      deleteTmpFiles: true,
    });
  });

  it('leaves missing and null optional fields out, and ignores unknown keys', () => {
    expect(
      fromComponent({
        provider: COMPONENT_PROVIDER,
        config: { container_name: null, work_dir: null, init_command: null, device_requests: [], x: 1 },
        extra: 1,
      }),
    ).toEqual({});
    expect(fromComponent({})).toEqual({});
  });

  it('accepts every listed provider', () => {
    for (const provider of ACCEPTED_PROVIDERS) expect(fromComponent({ provider, config: { timeout: 3 } })).toEqual({ timeout: 3 });
  });

  it('round-trips bind_dir and timeout (autogen’s serialisation test)', () => {
    const dumped = toComponent(referenceSource({ timeout: 30, workDir: '/tmp/work', bindDir: '/host/work' }));
    const loaded = fromComponent(JSON.parse(JSON.stringify(dumped)));
    expect(loaded.bindDir).toBe('/host/work');
    expect(loaded.timeout).toBe(30);
    expect(loaded.workDir).toBe('/tmp/work');
    expect(loaded.containerName).toBeUndefined();
  });

  it('round-trips a user-chosen name and everything else', () => {
    const source = referenceSource({
      containerName: 'mine',
      containerNameGenerated: false,
      extraVolumes: { '/a': { bind: '/b', mode: 'ro' } },
      extraHosts: { h: '1.2.3.4' },
      initCommand: 'true',
      deleteTmpFiles: true,
    });
    const dumped = toComponent(source);
    const loaded = fromComponent(JSON.stringify(dumped));
    expect(loaded).toEqual({
      image: 'python:3-slim',
      containerName: 'mine',
      timeout: 60,
      workDir: 'coding',
      bindDir: 'coding',
      autoRemove: true,
      stopContainer: true,
      functionsModule: 'functions',
      extraVolumes: { '/a': { bind: '/b', mode: 'ro' } },
      extraHosts: { h: '1.2.3.4' },
      initCommand: 'true',
      deleteTmpFiles: true,
    });
    const again = toComponent({
      ...source,
      containerName: loaded.containerName ?? '',
      bindDir: loaded.bindDir,
      extraVolumes: loaded.extraVolumes ?? {},
      extraHosts: loaded.extraHosts ?? {},
      initCommand: loaded.initCommand,
    });
    expect(again).toEqual(dumped);
  });

  it('rejects values of the wrong type, naming the key', () => {
    const bad = (config: Record<string, unknown>) => () => fromComponent({ provider: COMPONENT_PROVIDER, config });
    expect(bad({ image: 3 })).toThrow(new TypeError('config.image must be a string, got number'));
    expect(bad({ image: null })).toThrow(/config\.image/);
    expect(bad({ container_name: 1 })).toThrow(/config\.container_name/);
    expect(bad({ timeout: '60' })).toThrow(/config\.timeout/);
    expect(bad({ timeout: 1.5 })).toThrow(TypeError);
    expect(bad({ work_dir: {} })).toThrow(/config\.work_dir/);
    expect(bad({ bind_dir: false })).toThrow(/config\.bind_dir/);
    expect(bad({ auto_remove: 'yes' })).toThrow(/config\.auto_remove/);
    expect(bad({ stop_container: 1 })).toThrow(/config\.stop_container/);
    expect(bad({ functions_module: [] })).toThrow(/config\.functions_module/);
    expect(bad({ extra_volumes: [] })).toThrow(/config\.extra_volumes/);
    expect(bad({ extra_volumes: { '/a': '/b' } })).toThrow(/config\.extra_volumes\["\/a"\]/);
    expect(bad({ extra_volumes: { '/a': { mode: 'ro' } } })).toThrow(/config\.extra_volumes\["\/a"\]\.bind/);
    expect(bad({ extra_volumes: { '/a': { bind: '/b', mode: 1 } } })).toThrow(/\.mode/);
    expect(bad({ extra_hosts: { h: 1 } })).toThrow(/config\.extra_hosts\["h"\]/);
    expect(bad({ extra_hosts: null })).toThrow(/config\.extra_hosts/);
    expect(bad({ init_command: 1 })).toThrow(/config\.init_command/);
    expect(bad({ delete_tmp_files: 'false' })).toThrow(/config\.delete_tmp_files/);
  });

  it('rejects bad envelopes', () => {
    expect(() => fromComponent('{not json')).toThrow(TypeError);
    expect(() => fromComponent(42)).toThrow(TypeError);
    expect(() => fromComponent(null)).toThrow(TypeError);
    expect(() => fromComponent([])).toThrow(TypeError);
    expect(() => fromComponent({ ...reference, provider: 'autogen_ext.code_executors.local.LocalCommandLineCodeExecutor' })).toThrow(
      /Unsupported provider/,
    );
    expect(() => fromComponent({ ...reference, provider: 1 })).toThrow(TypeError);
    expect(() => fromComponent({ ...reference, component_type: 'agent' })).toThrow(/component_type/);
    expect(() => fromComponent({ ...reference, config: 'x' })).toThrow(/config must be an object/);
    expect(() => fromComponent({ provider: COMPONENT_PROVIDER })).toThrow(/config must be an object/);
    expect(() => fromComponent({ ...reference, version: '1' })).toThrow(/version/);
  });
});

describe('isGeneratedContainerName', () => {
  it('recognises autogen-code-exec-<uuid>', () => {
    expect(isGeneratedContainerName(reference.config.container_name)).toBe(true);
    expect(isGeneratedContainerName('autogen-code-exec-ABCDEF01-2345-6789-abcd-ef0123456789')).toBe(true);
    expect(isGeneratedContainerName('autogen-code-exec-mine')).toBe(false);
    expect(isGeneratedContainerName('x-autogen-code-exec-0b6f3c52-8d1e-4c8e-9a51-3d0f2a7e9c14')).toBe(false);
  });
});
