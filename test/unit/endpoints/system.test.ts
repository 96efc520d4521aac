import { describe, expect, it } from 'vitest';
import { DockerClient } from '../../../src/engine/client.js';
import { createFetchTransport } from '../../../src/engine/transport/fetch.js';
import { REPLAY_BASE_URL, useReplay } from '../../helpers/replay.js';

const { docker, tracker } = useReplay('system');

describe('system (replayed)', () => {
  it('ping reads the headers of the unversioned /_ping', async () => {
    const ping = await docker.system.ping();
    expect(ping).toEqual({ apiVersion: '1.41', osType: 'linux', experimental: false, builderVersion: undefined });
    expect(tracker.requests.map((r) => `${r.method} ${r.path}`)).toEqual(['GET /_ping']);
  });

  it('version parses the engine version', async () => {
    const version = await docker.system.version();
    expect(version.ApiVersion).toBe('1.41');
    expect(version.Os).toBe('linux');
    expect(version.Components?.map((c) => c.Name)).toContain('Engine');
    expect(tracker.requests[0]?.path).toBe('/v1.41/version');
  });

  it('info parses system information', async () => {
    const info = await docker.system.info();
    expect(info.OSType).toBe('linux');
    expect(info.NCPU).toBeGreaterThan(0);
    expect(info.Name).toBe('docker-host');
    expect(tracker.requests[0]?.path).toBe('/v1.41/info');
  });

  it('an unpinned client negotiates the version with /_ping first, then uses it', async () => {
    const negotiating = new DockerClient({ transport: createFetchTransport({ baseUrl: REPLAY_BASE_URL }) });
    await expect(negotiating.apiVersion()).resolves.toBe('1.41');
    await negotiating.system.version();
    expect(tracker.requests.map((r) => r.path)).toEqual(['/_ping', '/v1.41/version']);
  });
});
