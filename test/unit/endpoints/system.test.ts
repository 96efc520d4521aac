import { describe, expect, it } from 'vitest';
import { DockerClient } from '../../../src/engine/client.js';
import { isFixtureMismatchError } from '../../../src/testing/index.js';
import { useFixture } from '../../helpers/replay.js';

const fixture = useFixture('system');
const { docker } = fixture;

describe('system (replayed through replayClient)', () => {
  it('ping reads the headers of the unversioned /_ping', async () => {
    const ping = await docker.system.ping();
    expect(ping).toEqual({ apiVersion: '1.41', osType: 'linux', experimental: false, builderVersion: undefined });
    expect(fixture.request(1).path).toBe('/_ping');
  });

  it('version parses the engine version', async () => {
    const version = await docker.system.version();
    expect(version.ApiVersion).toBe('1.41');
    expect(version.Os).toBe('linux');
    expect(version.Components?.map((c) => c.Name)).toContain('Engine');
    expect(fixture.request(2).path).toBe('/v1.41/version');
  });

  it('info parses system information', async () => {
    const info = await docker.system.info();
    expect(info.OSType).toBe('linux');
    expect(info.NCPU).toBeGreaterThan(0);
    expect(info.Name).toBe('docker-host');
    expect(fixture.request(3).path).toBe('/v1.41/info');
  });

  it('an unpinned client negotiates the version with /_ping first, then uses it (BERTH_REPLAY, strict order)', async () => {
    const negotiating = new DockerClient({ env: { BERTH_REPLAY: fixture.dir } });
    await expect(negotiating.apiVersion()).resolves.toBe('1.41');
    await negotiating.system.version();
    // Strict order: the next request must be the recorded /info; anything else is refused.
    const error = await negotiating.containers.list().catch((e: unknown) => e);
    expect(isFixtureMismatchError(error)).toBe(true);
    expect((error as Error).message).toContain('strict order expects next: 03-get-info.json');
    await negotiating.close();
  });
});
