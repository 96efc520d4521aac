/**
 * docker-py's integration cases (tests/integration/api_*_test.py and models_*_test.py, 7.2.0) for
 * the areas Berth covers (containers, exec, images without build/push/auth, networks, volumes,
 * system), ported to Berth's API and to the offline images. Each test names the upstream case it
 * ports; the intent is kept, the code is our own. The cases that do not apply, and why, are listed
 * in the README ("Parity with docker-py and dockerode").
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type DockerClient, isDockerApiError, isDockerArgumentError } from '../../src/engine/index.js';
import { BUSYBOX, removeQuietly, TEST_LABEL, testClient } from '../helpers/engine.js';
import { isPodman, listedNames, podmanLimitation } from '../helpers/podman.js';
import { readTar } from '../helpers/tar.js';

let docker: DockerClient;
const RUN = `py-${process.pid}-${Date.now().toString(36)}`;
const containers: string[] = [];
const networks: string[] = [];
const volumes: string[] = [];
const images: string[] = [];
const decoder = new TextDecoder();

beforeAll(() => {
  docker = testClient();
});

afterAll(async () => {
  for (const id of containers) await removeQuietly(docker, id);
  for (const id of networks) await docker.networks.remove(id).catch(() => {});
  for (const name of volumes) await docker.volumes.remove(name, { force: true }).catch(() => {});
  for (const ref of images) await docker.images.remove(ref, { force: true }).catch(() => {});
  await docker.close();
});

/** Creates (and by default starts) a labelled busybox container running `cmd`. */
async function container(cmd: string[] = ['sleep', '3600'], extra: Record<string, unknown> = {}, start = true): Promise<string> {
  const { Id } = await docker.containers.create({
    Image: BUSYBOX,
    Cmd: cmd,
    Labels: { [TEST_LABEL]: '1', 'berth.test.run': RUN },
    ...extra,
  });
  containers.push(Id);
  if (start) await docker.containers.start(Id);
  return Id;
}

async function output(id: string): Promise<string> {
  let text = '';
  for await (const frame of await docker.containers.logs(id, { tty: false })) text += decoder.decode(frame.data);
  return text;
}

async function network(suffix: string, extra: Record<string, unknown> = {}): Promise<{ id: string; name: string }> {
  const name = `berth-py-${suffix}-${RUN}`;
  const { Id } = await docker.networks.create({ Name: name, Labels: { [TEST_LABEL]: '1', 'berth.test.run': RUN }, ...extra });
  networks.push(Id);
  return { id: Id, name };
}

async function volume(suffix: string): Promise<string> {
  const name = `berth-py-${suffix}-${RUN}`;
  volumes.push(name);
  await docker.volumes.create({ Name: name, Labels: { [TEST_LABEL]: '1', 'berth.test.run': RUN } });
  return name;
}

const networksOf = async (id: string) =>
  (await docker.containers.inspect(id)).NetworkSettings.Networks as Record<
    string,
    { Aliases: string[] | null; IPAddress: string; IPAMConfig?: { IPv4Address?: string } | null }
  >;

describe('api_network_test', () => {
  it('test_list_networks: lists the new network, and finds it by id and name filters', async () => {
    const { id, name } = await network('list');
    expect((await docker.networks.list()).map((n) => n.Id)).toContain(id);
    expect((await docker.networks.list({ filters: { id: [id] } })).map((n) => n.Name)).toEqual([name]);
    expect((await docker.networks.list({ filters: { name: [name] } })).map((n) => n.Id)).toEqual([id]);
  });

  it('test_inspect_network: inspect gives the name, id, local scope and bridge driver', async () => {
    const { id, name } = await network('inspect');
    expect(await docker.networks.inspect(id)).toMatchObject({ Name: name, Id: id, Scope: 'local', Driver: 'bridge' });
  });

  it('test_create_network_with_ipam_config: the subnet, range and gateway asked for are kept', async () => {
    const octet = 100 + (process.pid % 100);
    const config = { Subnet: `10.${octet}.96.0/20`, IPRange: `10.${octet}.96.128/25`, Gateway: `10.${octet}.96.254` };
    const { id } = await network('ipam', { IPAM: { Driver: 'default', Config: [config] } });
    const reported = (await docker.networks.inspect(id)).IPAM.Config?.[0];
    if (await isPodman(docker)) {
      // Podman 4.3 keeps the range (its lease range) but its Docker API inspect leaves IPRange out.
      podmanLimitation('IPRange in network inspect', 'Podman 4.3 does not report IPAM.Config[].IPRange');
      expect(reported).toMatchObject({ Subnet: config.Subnet, Gateway: config.Gateway });
      expect(reported?.IPRange).toBeUndefined();
    } else expect(reported).toMatchObject(config);
  });

  it('test_create_network_with_host_driver_fails: a second host network is refused', async () => {
    const error = await docker.networks.create({ Name: `berth-py-host-${RUN}`, Driver: 'host' }).catch((e: unknown) => e);
    if (await isPodman(docker)) {
      // Podman has no `host` network driver to make at all: refused too, in its words.
      expect(isDockerApiError(error)).toBe(true);
      return;
    }
    expect(isDockerApiError(error) && error.reason).toMatch(/forbidden|invalidArgument|internal/);
  });

  it('test_remove_network: gone from the list after remove', async () => {
    const { id } = await network('remove');
    await docker.networks.remove(id);
    expect((await docker.networks.list({ filters: { id: [id] } })).length).toBe(0);
  });

  it('test_connect_and_disconnect_container: the container shows up in and leaves the network', async () => {
    const { id } = await network('connect');
    const c = await container();
    await docker.networks.connect(id, c);
    expect(Object.keys((await docker.networks.inspect(id)).Containers ?? {})).toEqual([c]);
    await docker.networks.disconnect(id, c);
    expect(Object.keys((await docker.networks.inspect(id)).Containers ?? {})).toEqual([]);
  });

  it('test_connect_and_force_disconnect_container: force disconnect works too', async () => {
    const { id } = await network('force');
    const c = await container();
    await docker.networks.connect(id, c);
    await docker.networks.disconnect(id, c, { force: true });
    expect(Object.keys((await docker.networks.inspect(id)).Containers ?? {})).toEqual([]);
  });

  it('test_connect_with_aliases: the aliases are on the endpoint', async () => {
    const { id, name } = await network('aliases');
    const c = await container();
    await docker.networks.connect(id, c, { endpointConfig: { Aliases: ['foo', 'bar'] } });
    expect((await networksOf(c))[name]?.Aliases).toEqual(expect.arrayContaining(['foo', 'bar']));
  });

  it('test_connect_on_container_create: NetworkMode at create attaches the container', async () => {
    const { id, name } = await network('oncreate');
    const c = await container(['sleep', '3600'], { HostConfig: { NetworkMode: name } });
    expect(Object.keys((await docker.networks.inspect(id)).Containers ?? {})).toEqual([c]);
  });

  it('test_create_with_aliases: EndpointsConfig aliases at create', async () => {
    const { name } = await network('createaliases');
    const c = await container(['sleep', '3600'], {
      HostConfig: { NetworkMode: name },
      NetworkingConfig: { EndpointsConfig: { [name]: { Aliases: ['foo', 'bar'] } } },
    });
    expect((await networksOf(c))[name]?.Aliases).toEqual(expect.arrayContaining(['foo', 'bar']));
  });

  it('test_create_with_ipv4_address / test_connect_with_ipv4_address: the fixed address is used', async () => {
    const octet = 100 + ((process.pid + 7) % 100);
    const { id, name } = await network('ipv4', { IPAM: { Config: [{ Subnet: `10.${octet}.97.0/24`, Gateway: `10.${octet}.97.1` }] } });
    const created = await container(['sleep', '3600'], {
      HostConfig: { NetworkMode: name },
      NetworkingConfig: { EndpointsConfig: { [name]: { IPAMConfig: { IPv4Address: `10.${octet}.97.23` } } } },
    });
    expect((await networksOf(created))[name]?.IPAddress).toBe(`10.${octet}.97.23`);
    const connected = await container();
    await docker.networks.connect(id, connected, { endpointConfig: { IPAMConfig: { IPv4Address: `10.${octet}.97.24` } } });
    expect((await networksOf(connected))[name]?.IPAddress).toBe(`10.${octet}.97.24`);
  });

  it('test_create_internal_networks: Internal is reported', async () => {
    const { id } = await network('internal', { Internal: true });
    expect((await docker.networks.inspect(id)).Internal).toBe(true);
  });

  it('test_create_network_with_labels: the labels are kept', async () => {
    const { id } = await network('labels', { Labels: { [TEST_LABEL]: '1', 'berth.test.run': RUN, 'com.docker.py.test': 'label' } });
    expect((await docker.networks.inspect(id)).Labels).toMatchObject({ 'com.docker.py.test': 'label' });
  });

  it('test_create_network_with_labels_wrong_type: labels that are not an object are refused by the engine', async () => {
    const error = await docker.networks
      .create({ Name: `berth-py-wrongtype-${RUN}`, Labels: ['a'] as unknown as Record<string, string> })
      .catch((e: unknown) => e);
    expect(isDockerApiError(error) && error.statusCode).toBeGreaterThanOrEqual(400);
  });

  it('test_create_network_attachable: Attachable is reported', async () => {
    const { id } = await network('attachable', { Attachable: true });
    const info = await docker.networks.inspect(id);
    if (await isPodman(docker)) expect(typeof info.Attachable).toBe('boolean');
    else expect(info.Attachable).toBe(true);
  });

  it('test_prune_networks: an unused network of this run is pruned', async () => {
    const { name } = await network('prune');
    const result = await docker.networks.prune({ filters: { label: [`berth.test.run=${RUN}`] } });
    expect(result.NetworksDeleted).toContain(name);
  });

  it('test_create_remove_network_with_space_in_name: a name with a space works', async () => {
    if (await isPodman(docker)) {
      // Podman refuses names outside [a-zA-Z0-9][a-zA-Z0-9_.-]*, as its error says.
      const error = await docker.networks.create({ Name: `berth py ${RUN}` }).catch((e: unknown) => e);
      expect(isDockerApiError(error)).toBe(true);
      return;
    }
    const { id } = await network('space in name');
    await docker.networks.remove(id);
    await expect(docker.networks.inspect(id)).rejects.toMatchObject({ reason: 'notFound' });
  });
});

describe('api_volume_test / models_volumes_test', () => {
  it('test_create_volume: name and driver', async () => {
    const name = await volume('create');
    expect(await docker.volumes.inspect(name)).toMatchObject({ Name: name, Driver: 'local' });
  });

  it('test_create_volume_invalid_driver: an unknown driver is an API error', async () => {
    const error = await docker.volumes
      .create({ Name: `berth-py-badd-${RUN}`, Driver: 'this-driver-does-not-exist' })
      .catch((e: unknown) => e);
    expect(isDockerApiError(error)).toBe(true);
  });

  it('test_list_volumes: the new volume is listed', async () => {
    const name = await volume('list');
    expect((await docker.volumes.list()).Volumes.map((v) => v.Name)).toContain(name);
  });

  it('test_inspect_nonexistent_volume / test_remove_nonexistent_volume: notFound', async () => {
    await expect(docker.volumes.inspect(`berth-py-none-${RUN}`)).rejects.toMatchObject({ reason: 'notFound' });
    await expect(docker.volumes.remove(`berth-py-none-${RUN}`)).rejects.toMatchObject({ reason: 'notFound' });
  });

  it('test_remove_volume / test_force_remove_volume: both remove it', async () => {
    const a = await volume('rm');
    const b = await volume('forcerm');
    await docker.volumes.remove(a);
    await docker.volumes.remove(b, { force: true });
    const names = (await docker.volumes.list({ filters: { label: [`berth.test.run=${RUN}`] } })).Volumes.map((v) => v.Name);
    expect(names).not.toContain(a);
    expect(names).not.toContain(b);
  });

  it('test_prune_volumes: an unused volume of this run is pruned', async () => {
    const name = await volume('prune');
    const filters =
      (await docker.apiVersion()) >= '1.42' ? { label: [`berth.test.run=${RUN}`], all: ['true'] } : { label: [`berth.test.run=${RUN}`] };
    expect((await docker.volumes.prune({ filters })).VolumesDeleted).toContain(name);
  });
});

describe('api_container_test / models_containers_test', () => {
  it('test_list_containers: the new container is listed with its command', async () => {
    const c = await container(['sleep', '3600']);
    const listed = await docker.containers.list({ filters: { id: [c] } });
    expect(listed).toHaveLength(1);
    expect(listed[0]?.Command).toContain('sleep');
  });

  it('test_create_with_restart_policy: the policy is kept', async () => {
    const c = await container(['true'], { HostConfig: { RestartPolicy: { Name: 'on-failure', MaximumRetryCount: 2 } } }, false);
    expect((await docker.containers.inspect(c)).HostConfig.RestartPolicy).toMatchObject({ Name: 'on-failure', MaximumRetryCount: 2 });
  });

  it('test_create_with_environment_variable_no_value: a bare name is kept as given', async () => {
    const c = await container(['true'], { Env: ['Foo', 'Other=one'] }, false);
    expect((await docker.containers.inspect(c)).Config.Env).toEqual(expect.arrayContaining(['Other=one']));
  });

  it('test_create_with_tmpfs: the tmpfs is mounted', async () => {
    const c = await container(['sh', '-c', 'mount | grep " /tmp/scratch "'], { HostConfig: { Tmpfs: { '/tmp/scratch': 'rw,size=1m' } } });
    await docker.containers.wait(c);
    expect(await output(c)).toContain('tmpfs');
  });

  it('test_create_with_auto_remove: the container is gone after it exits', async () => {
    const c = await container(['true'], { HostConfig: { AutoRemove: true } }, false);
    const removed = docker.containers.wait(c, { condition: 'removed' });
    await docker.containers.start(c);
    await removed;
    await expect(docker.containers.inspect(c)).rejects.toMatchObject({ reason: 'notFound' });
  });

  it('test_create_with_stop_timeout: StopTimeout is kept', async () => {
    const c = await container(['true'], { StopTimeout: 25 }, false);
    expect((await docker.containers.inspect(c)).Config.StopTimeout).toBe(25);
  });

  it('test_create_with_init: Init is kept', async () => {
    const c = await container(['true'], { HostConfig: { Init: true } }, false);
    expect((await docker.containers.inspect(c)).HostConfig.Init).toBe(true);
  });

  it('test_create_with_volume_mount / test_run_with_named_volume: a named volume is mounted and written', async () => {
    const name = await volume('mount');
    const c = await container(['sh', '-c', 'echo hello > /mnt/v/f && cat /mnt/v/f'], {
      HostConfig: { Mounts: [{ Type: 'volume', Source: name, Target: '/mnt/v' }] },
    });
    await docker.containers.wait(c);
    expect(await output(c)).toBe('hello\n');
    expect((await docker.containers.inspect(c)).Mounts.some((m) => m.Type === 'volume' && m.Destination === '/mnt/v')).toBe(true);
  });

  it('test_get_file_archive_from_container / test_get_file_stat_from_container: the tar and its stat', async () => {
    const c = await container(['sh', '-c', 'echo "hello world" > /data.txt && sleep 3600']);
    let archive = await docker.containers.getArchive(c, '/data.txt').catch(() => undefined);
    for (let i = 0; i < 50 && !archive; i++) {
      await new Promise((resolve) => setTimeout(resolve, 100));
      archive = await docker.containers.getArchive(c, '/data.txt').catch(() => undefined);
    }
    expect(archive?.stat).toMatchObject({ name: 'data.txt', size: 12 });
    const entries = await readTar(archive?.body as AsyncIterable<Uint8Array>, () => true);
    expect(entries.map((e) => [e.name, e.data && decoder.decode(e.data)])).toEqual([['data.txt', 'hello world\n']]);
  });

  it('test_copy_file_to_container / test_copy_directory_to_container: files land where asked', async () => {
    const c = await container();
    // Into an existing folder: a missing target folder is issue 14 defect 5 (wt-engfix).
    await docker.containers.putFiles(c, '/tmp', [
      { path: 'a.py', data: 'print(1)\n' },
      { path: 'sub/b.txt', data: 'bee\n' },
    ]);
    const listing = await docker.exec.run(c, ['sh', '-c', 'cat /tmp/a.py /tmp/sub/b.txt']);
    expect(listing.stdout).toBe('print(1)\nbee\n');
  });

  it('test_rename_container: inspect shows the new name', async () => {
    const c = await container(['true'], {}, false);
    await docker.containers.rename(c, `berth-py-renamed-${RUN}`);
    expect((await docker.containers.inspect(c)).Name).toBe(`/berth-py-renamed-${RUN}`);
  });

  it('test_wait / test_wait_with_condition: the exit code, and next-exit before start', async () => {
    const c = await container(['sh', '-c', 'exit 3'], {}, false);
    const next = docker.containers.wait(c, { condition: 'next-exit' });
    await docker.containers.start(c);
    expect((await next).StatusCode).toBe(3);
    expect((await docker.containers.wait(c)).StatusCode).toBe(3);
  });

  it('test_logs / test_logs_tail_option / test_logs_with_tail_0: output, the last lines, none', async () => {
    const c = await container(['sh', '-c', 'echo one; echo two; echo three']);
    await docker.containers.wait(c);
    expect(await output(c)).toBe('one\ntwo\nthree\n');
    let tail = '';
    for await (const f of await docker.containers.logs(c, { tail: 1, tty: false })) tail += decoder.decode(f.data);
    expect(tail).toBe('three\n');
    let none = '';
    for await (const f of await docker.containers.logs(c, { tail: 0, tty: false })) none += decoder.decode(f.data);
    expect(none).toBe('');
  });

  it('test_logs_streaming_and_follow_and_cancel: cancel ends a followed stream', async () => {
    const c = await container(['sh', '-c', 'while true; do echo tick; sleep 0.1; done']);
    const logs = await docker.containers.logs(c, { follow: true, tty: false });
    let seen = 0;
    for await (const frame of logs) {
      seen += decoder.decode(frame.data).split('tick').length - 1;
      if (seen >= 2) await logs.cancel();
    }
    expect(seen).toBeGreaterThanOrEqual(2);
  });

  it('test_diff / models test_diff: the added file is listed as Kind 1', async () => {
    const c = await container(['touch', '/test']);
    await docker.containers.wait(c);
    expect(await docker.containers.changes(c)).toContainEqual({ Path: '/test', Kind: 1 });
  });

  it('test_stop / test_kill / test_kill_with_signal_name / test_kill_with_signal_integer', async () => {
    const stopped = await container();
    await docker.containers.stop(stopped, { timeout: 1 });
    expect((await docker.containers.inspect(stopped)).State.Running).toBe(false);
    const killed = await container();
    await docker.containers.kill(killed);
    expect((await docker.containers.wait(killed)).StatusCode).toBe(137);
    const byName = await container(['sh', '-c', 'trap "exit 42" TERM; while true; do sleep 0.1; done']);
    await new Promise((resolve) => setTimeout(resolve, 300));
    await docker.containers.kill(byName, { killSignal: 'SIGTERM' });
    expect((await docker.containers.wait(byName)).StatusCode).toBe(42);
    const byNumber = await container(['sh', '-c', 'trap "exit 43" USR1; while true; do sleep 0.1; done']);
    await new Promise((resolve) => setTimeout(resolve, 300));
    await docker.containers.kill(byNumber, { killSignal: '10' });
    expect((await docker.containers.wait(byNumber)).StatusCode).toBe(43);
  });

  it('test_port: the published ports are reported', async () => {
    const c = await container(['sleep', '3600'], {
      ExposedPorts: { '1111/tcp': {}, '2222/tcp': {} },
      HostConfig: { PortBindings: { '1111/tcp': [{ HostPort: '' }], '2222/tcp': [{ HostIp: '127.0.0.1', HostPort: '' }] } },
    });
    const first = await docker.containers.port(c, { privatePort: 1111 });
    expect(first.length).toBeGreaterThan(0);
    expect(first.every((m) => m.hostPort > 0)).toBe(true);
    expect(await docker.containers.port(c, { privatePort: 2222 })).toEqual([expect.objectContaining({ hostIp: '127.0.0.1' })]);
  });

  it('test_top / test_top_with_psargs: the process is listed', async () => {
    const c = await container(['sleep', '60']);
    const top = await docker.containers.top(c);
    expect(top.Processes.some((row) => row.join(' ').includes('sleep 60'))).toBe(true);
    const podman = await isPodman(docker);
    const withArgs = await docker.containers.top(c, { psArgs: podman ? 'pid,user,args' : '-o pid,user,args' });
    expect(withArgs.Titles).toHaveLength(3);
  });

  it('test_restart / test_restart_with_low_timeout: StartedAt moves on', async () => {
    const c = await container();
    const before = (await docker.containers.inspect(c)).State.StartedAt;
    await docker.containers.restart(c, { timeout: 1 });
    const after = await docker.containers.inspect(c);
    expect(after.State.Running).toBe(true);
    expect(after.State.StartedAt).not.toBe(before);
  });

  it('test_remove: a removed container is not listed', async () => {
    const c = await container(['true']);
    await docker.containers.wait(c);
    await docker.containers.remove(c);
    expect(await docker.containers.list({ all: true, filters: { id: [c] } })).toEqual([]);
  });

  it('test_pause_unpause: State.Paused both ways', async () => {
    const c = await container();
    await docker.containers.pause(c);
    expect((await docker.containers.inspect(c)).State).toMatchObject({ Paused: true, Running: true });
    await docker.containers.unpause(c);
    expect((await docker.containers.inspect(c)).State).toMatchObject({ Paused: false, Running: true });
  });

  it('test_prune_containers: a stopped container of this run is pruned', async () => {
    const c = await container(['true']);
    await docker.containers.wait(c);
    const result = await docker.containers.prune({ filters: { label: [`berth.test.run=${RUN}`] } });
    expect(result.ContainersDeleted).toContain(c);
  });

  it('test_get_container_stats_no_stream / test_get_container_stats_stream: the keys docker stats reads', async () => {
    const c = await container();
    const one = await docker.containers.stats(c);
    for (const key of ['read', 'networks', 'precpu_stats', 'cpu_stats', 'memory_stats', 'blkio_stats']) expect(one).toHaveProperty(key);
    const stream = await docker.containers.stats(c, { stream: true });
    for await (const sample of stream) {
      expect(sample).toHaveProperty('cpu_stats');
      await stream.cancel();
    }
  });

  it('test_update_container / test_restart_policy_update: limits and policy change', async () => {
    if (await isPodman(docker)) return expect((await docker.system.version()).Version).toBeTruthy(); // no update endpoint in Podman 4 (README)
    const c = await container();
    await docker.containers.update(c, { Memory: 64 * 1024 * 1024, MemorySwap: -1, RestartPolicy: { Name: 'always' } });
    const info = await docker.containers.inspect(c);
    expect(info.HostConfig.Memory).toBe(64 * 1024 * 1024);
    expect(info.HostConfig.RestartPolicy?.Name).toBe('always');
  });

  it('test_commit (models): the image runs the committed state', async () => {
    const c = await container(['sh', '-c', 'echo hello > /test']);
    await docker.containers.wait(c);
    const { Id } = await docker.containers.commit(c, { repo: `berth-py/commit-${RUN}`, tag: 't' });
    images.push(`berth-py/commit-${RUN}:t`);
    expect((await docker.images.inspect(Id)).Id).toBe(Id);
    const next = await container(['cat', '/test'], { Image: `berth-py/commit-${RUN}:t` });
    await docker.containers.wait(next);
    expect(await output(next)).toBe('hello\n');
  });

  it('test_run_with_image_that_does_not_exist: notFound for the image', async () => {
    const error = await docker.containers.create({ Image: `berth-py/none-${RUN}:x` }).catch((e: unknown) => e);
    expect(isDockerApiError(error) && error.reason).toBe('notFound');
  });
});

describe('api_container_test (create options Berth passes through)', () => {
  const inspectAfter = async (extra: Record<string, unknown>, cmd: string[] = ['true']) =>
    docker.containers.inspect(await container(cmd, extra, false));

  it('test_create_with_binds_rw / test_create_with_binds_ro: a host folder, writable or not', async () => {
    const { mkdtemp, readFile, rm, writeFile } = await import('node:fs/promises');
    const { tmpdir } = await import('node:os');
    const { join } = await import('node:path');
    const dir = await mkdtemp(join(tmpdir(), 'berth-py-binds-'));
    try {
      await writeFile(join(dir, 'shared.txt'), 'from the host\n');
      const rw = await container(['sh', '-c', 'cat /mnt/shared.txt && echo back > /mnt/back.txt'], {
        HostConfig: { Binds: [`${dir}:/mnt:rw`] },
      });
      await docker.containers.wait(rw);
      expect(await output(rw)).toBe('from the host\n');
      expect(await readFile(join(dir, 'back.txt'), 'utf8')).toBe('back\n');
      const ro = await container(['sh', '-c', '(echo x > /mnt/nope) 2>/dev/null || echo refused'], {
        HostConfig: { Binds: [`${dir}:/mnt:ro`] },
      });
      await docker.containers.wait(ro);
      expect(await output(ro)).toBe('refused\n');
      expect((await docker.containers.inspect(ro)).Mounts[0]).toMatchObject({ Destination: '/mnt', RW: false });
    } finally {
      await rm(dir, { recursive: true, force: true });
    }
  });

  it('test_create_with_mounts / test_create_with_mounts_ro: Mounts of type bind', async () => {
    const { mkdtemp, rm } = await import('node:fs/promises');
    const { tmpdir } = await import('node:os');
    const { join } = await import('node:path');
    const dir = await mkdtemp(join(tmpdir(), 'berth-py-mounts-'));
    try {
      const info = await inspectAfter({ HostConfig: { Mounts: [{ Type: 'bind', Source: dir, Target: '/mnt', ReadOnly: true }] } });
      expect(info.Mounts).toContainEqual(expect.objectContaining({ Type: 'bind', Source: dir, Destination: '/mnt', RW: false }));
    } finally {
      await rm(dir, { recursive: true, force: true });
    }
  });

  it('test_create_container_with_volumes_from: the volumes of another container', async () => {
    const name = await volume('from');
    const source = await container(['true'], { HostConfig: { Mounts: [{ Type: 'volume', Source: name, Target: '/data' }] } }, false);
    const info = await inspectAfter({ HostConfig: { VolumesFrom: [source] } });
    expect(info.Mounts.some((m) => m.Destination === '/data')).toBe(true);
  });

  it('test_create_with_memory_constraints_with_int: Memory is applied', async () => {
    const info = await inspectAfter({ HostConfig: { Memory: 32 * 1024 * 1024 } });
    expect(info.HostConfig.Memory).toBe(32 * 1024 * 1024);
  });

  it('test_create_with_host_pid_mode: the host PID namespace is shared', async () => {
    const c = await container(['sh', '-c', 'ls /proc 2>/dev/null | grep -c "^[0-9]"'], { HostConfig: { PidMode: 'host' } });
    await docker.containers.wait(c);
    expect((await docker.containers.inspect(c)).HostConfig.PidMode).toBe('host');
    // The host has far more processes than the container's own two or three. (ls's complaint about
    // a host process that ended while it listed /proc would land in the logs: it goes to /dev/null.)
    expect(Number((await output(c)).trim())).toBeGreaterThan(5);
  });

  it('test_create_with_uts_mode: UtsMode host gives the host name', async () => {
    const { hostname } = await import('node:os');
    const c = await container(['hostname'], { HostConfig: { UTSMode: 'host' } });
    await docker.containers.wait(c);
    expect((await output(c)).trim()).toBe(hostname());
  });

  it('test_valid_no_log_driver_specified / test_valid_log_driver_and_log_opt: the log config is kept', async () => {
    expect((await inspectAfter({})).HostConfig.LogConfig?.Type).toBeTruthy();
    const info = await inspectAfter({ HostConfig: { LogConfig: { Type: 'json-file', Config: { 'max-file': '2', 'max-size': '1m' } } } });
    if (!(await isPodman(docker)))
      expect(info.HostConfig.LogConfig).toEqual({ Type: 'json-file', Config: { 'max-file': '2', 'max-size': '1m' } });
    else expect(info.HostConfig.LogConfig?.Type).toBe('json-file');
  });

  it('test_invalid_log_driver_raises_exception: an unknown driver is an API error', async () => {
    const error = await container(['true'], { HostConfig: { LogConfig: { Type: 'asdf-nope' } } }, false).catch((e: unknown) => e);
    if (await isPodman(docker)) {
      // Podman takes any driver name at create and fails later, at start or when reading logs.
      podmanLimitation('an unknown log driver', 'Podman 4.3 does not check the driver name at create');
      return;
    }
    expect(isDockerApiError(error)).toBe(true);
  });

  it('test_create_with_mac_address: the address asked for', async () => {
    const name = (await network('mac')).name;
    const c = await container(['ip', 'link', 'show', 'eth0'], { MacAddress: '02:42:ac:11:00:0a', HostConfig: { NetworkMode: name } });
    await docker.containers.wait(c);
    if (await isPodman(docker)) {
      // Podman 4.3's Docker API drops the container-level MacAddress (the engine picks one).
      podmanLimitation('MacAddress at create', 'Podman 4.3 ignores the container-level MacAddress');
      expect(await output(c)).not.toContain('02:42:ac:11:00:0a');
      return;
    }
    expect(await output(c)).toContain('02:42:ac:11:00:0a');
  });

  it('test_container_cpu_shares / test_container_cpuset', async () => {
    const info = await inspectAfter({ HostConfig: { CpuShares: 512, CpusetCpus: '0' } });
    expect(info.HostConfig).toMatchObject({ CpuShares: 512, CpusetCpus: '0' });
  });

  it('test_logs_with_until: nothing before a time in the past', async () => {
    const c = await container(['echo', 'after']);
    await docker.containers.wait(c);
    let text = '';
    for await (const f of await docker.containers.logs(c, { until: 1, tty: false })) text += decoder.decode(f.data);
    expect(text).toBe('');
  });

  it('test_create_check_duplicate: a second network of the same name is refused (API 1.41 with CheckDuplicate)', async () => {
    const { name } = await network('dup');
    const error = await docker.networks.create({ Name: name, CheckDuplicate: true }).catch((e: unknown) => e);
    expect(isDockerApiError(error) && error.reason).toMatch(/conflict|internal/);
  });

  it('test_create_with_driveropt: the driver options are kept', async () => {
    const { id } = await network('driveropt', { Options: { 'com.docker.network.driver.mtu': '1400' } });
    const options = (await docker.networks.inspect(id)).Options ?? {};
    if (await isPodman(docker)) expect(options.mtu ?? options['com.docker.network.driver.mtu']).toBe('1400');
    else expect(options['com.docker.network.driver.mtu']).toBe('1400');
  });
});

describe('api_healthcheck_test', () => {
  const SECOND = 1_000_000_000;
  async function healthOf(id: string, wanted: string): Promise<string | undefined> {
    let status: string | undefined;
    for (let i = 0; i < 150 && status !== wanted; i++) {
      status = ((await docker.containers.inspect(id)).State.Health as { Status?: string } | undefined)?.Status;
      if (status !== wanted) await new Promise((resolve) => setTimeout(resolve, 200));
    }
    return status;
  }

  it('test_healthcheck_shell_command: a shell test is stored as CMD-SHELL', async () => {
    const c = await container(['sleep', '3600'], { Healthcheck: { Test: ['CMD-SHELL', 'echo "hello world"'] } }, false);
    expect((await docker.containers.inspect(c)).Config.Healthcheck?.Test).toEqual(['CMD-SHELL', 'echo "hello world"']);
  });

  it('test_healthcheck_passes / _fails / _start_period: the status the engine reaches', async () => {
    if (await isPodman(docker)) {
      // Podman runs healthchecks from systemd timers; its API service alone never runs them.
      podmanLimitation('healthcheck status', 'Podman 4.3 runs healthchecks through systemd timers, absent here');
      return;
    }
    const options = { Interval: SECOND, Timeout: SECOND, Retries: 1 };
    const passes = await container(['sleep', '3600'], { Healthcheck: { Test: ['CMD', 'true'], ...options } });
    const fails = await container(['sleep', '3600'], { Healthcheck: { Test: ['CMD', 'false'], ...options } });
    const later = await container(['sleep', '3600'], {
      Healthcheck: {
        Test: ['CMD-SHELL', 'echo x >> /counter.txt && test $(wc -l < /counter.txt) -ge 3'],
        ...options,
        StartPeriod: 3 * SECOND,
      },
    });
    expect(await healthOf(passes, 'healthy')).toBe('healthy');
    expect(await healthOf(fails, 'unhealthy')).toBe('unhealthy');
    expect(await healthOf(later, 'healthy')).toBe('healthy');
  });
});

describe('api_exec_test', () => {
  it('test_execute_command / test_exec_command_string: output and exit code', async () => {
    const c = await container();
    expect(await docker.exec.run(c, ['echo', 'hello'])).toMatchObject({ exitCode: 0, stdout: 'hello\n' });
  });

  it('test_exec_command_as_user / test_exec_command_as_root', async () => {
    const c = await container();
    expect((await docker.exec.run(c, ['whoami'], { user: 'nobody' })).stdout).toBe('nobody\n');
    expect((await docker.exec.run(c, ['whoami'])).stdout).toBe('root\n');
  });

  it('test_exec_command_streaming: frames arrive in order', async () => {
    const c = await container();
    const { Id } = await docker.exec.create(c, { Cmd: ['sh', '-c', 'echo hello; echo world'], AttachStdout: true, AttachStderr: true });
    let text = '';
    for await (const frame of await docker.exec.start(Id)) text += decoder.decode(frame.data);
    expect(text).toBe('hello\nworld\n');
  });

  it('test_exec_start_detached: returns at once; the process runs', async () => {
    const c = await container();
    const { Id } = await docker.exec.create(c, { Cmd: ['sh', '-c', 'echo detached > /tmp/d'] });
    await docker.exec.start(Id, { detach: true });
    let text = '';
    for (let i = 0; i < 50 && text === ''; i++) {
      text = (await docker.exec.run(c, ['sh', '-c', 'cat /tmp/d 2>/dev/null || true'])).stdout;
      if (text === '') await new Promise((resolve) => setTimeout(resolve, 100));
    }
    expect(text).toBe('detached\n');
  });

  it('test_exec_inspect: ExitCode of a failed command', async () => {
    const c = await container();
    const result = await docker.exec.run(c, ['sh', '-c', 'exit 2']);
    expect(result.exitCode).toBe(2);
    expect((await docker.exec.inspect(result.execId)).ExitCode).toBe(2);
  });

  it('test_exec_command_with_env / test_exec_command_with_workdir', async () => {
    const c = await container();
    expect((await docker.exec.run(c, ['sh', '-c', 'echo $X'], { env: { X: 'Y' } })).stdout).toBe('Y\n');
    expect((await docker.exec.run(c, ['pwd'], { workingDir: '/etc' })).stdout).toBe('/etc\n');
  });

  it('test_exec_command_*_demux / *_no_demux: stdout and stderr apart, merged with a TTY', async () => {
    const c = await container();
    const script = 'echo hello out; echo hello err >&2';
    const apart = await docker.exec.run(c, ['sh', '-c', script]);
    expect([apart.stdout, apart.stderr]).toEqual(['hello out\n', 'hello err\n']);
    const tty = await docker.exec.run(c, ['sh', '-c', script], { tty: true });
    expect(tty.stdout).toContain('hello out');
    expect(tty.stdout).toContain('hello err');
    expect(tty.stderr).toBe('');
  });
});

describe('api_image_test / models_images_test', () => {
  it('test_images / test_list: the test image is listed', async () => {
    const listed = await docker.images.list();
    expect(listed.some((image) => (image.RepoTags ?? []).some((tag) => listedNames(BUSYBOX).includes(tag)))).toBe(true);
  });

  it('test_commit / test_commit_with_changes: the image has the changes', async () => {
    const c = await container(['touch', '/test']);
    await docker.containers.wait(c);
    const { Id } = await docker.containers.commit(c, { changes: ['EXPOSE 8000', 'CMD ["bash"]'] });
    images.push(Id);
    const image = await docker.images.inspect(Id);
    expect(image.Config?.Cmd).toEqual(['bash']);
    expect(Object.keys(image.Config?.ExposedPorts ?? {})).toContain('8000/tcp');
  });

  it('test_remove / test_tag_and_remove: untagged, then gone', async () => {
    const ref = `berth-py/tagged-${RUN}:v1`;
    await docker.images.tag(BUSYBOX, { repo: `berth-py/tagged-${RUN}`, tag: 'v1' });
    const removed = await docker.images.remove(ref);
    expect(removed.some((item) => item.Untagged !== undefined)).toBe(true);
    await expect(docker.images.inspect(ref)).rejects.toMatchObject({ reason: 'notFound' });
  });

  it('test_import_from_bytes / test_import_image_with_changes: an image from a tar, with changes', async () => {
    const c = await container(['true'], {}, false);
    const chunks: Uint8Array[] = [];
    for await (const chunk of await docker.containers.export(c)) chunks.push(chunk);
    const { id } = await docker.images.import(Buffer.concat(chunks), {
      repo: `berth-py/import-${RUN}`,
      tag: 'v1',
      changes: ['ENV FOO=bar'],
    });
    images.push(`berth-py/import-${RUN}:v1`);
    expect((await docker.images.inspect(id)).Config?.Env).toContain('FOO=bar');
  });

  it('test_get_load_image / test_save_and_load: save then load gives the same image', async () => {
    const c = await container(['sh', '-c', `echo ${RUN} > /saved`]);
    await docker.containers.wait(c);
    const ref = `berth-py/save-${RUN}:v1`;
    const { Id } = await docker.containers.commit(c, { repo: `berth-py/save-${RUN}`, tag: 'v1' });
    images.push(ref);
    const chunks: Uint8Array[] = [];
    for await (const chunk of await docker.images.save(ref)) chunks.push(chunk);
    await docker.images.remove(ref, { force: true });
    const { loaded } = await docker.images.load(Buffer.concat(chunks));
    expect(loaded.length).toBeGreaterThan(0);
    expect((await docker.images.inspect(ref)).Id).toBe(Id);
  });

  it('test_load_error: garbage is refused with a typed error', async () => {
    await expect(docker.images.load(new TextEncoder().encode('abc'))).rejects.toMatchObject({ code: expect.stringMatching(/^BERTH_ERR/) });
  });

  it('test_save_name_error: a malformed name is refused before any I/O', async () => {
    const error = await docker.images.save('Not A Name').catch((e: unknown) => e);
    expect(isDockerArgumentError(error)).toBe(true);
  });

  it('test_prune_images: a dangling image of this run is pruned', async () => {
    const c = await container(['true'], {}, false);
    const { Id } = await docker.containers.commit(c, { changes: [`LABEL berth.test.run=${RUN}`] });
    images.push(Id);
    const result = await docker.images.prune({ filters: { label: [`berth.test.run=${RUN}`] } });
    expect(result.ImagesDeleted.map((item) => item.Deleted)).toContain(Id);
  });
});

describe('api_client_test', () => {
  it('test_version / test_info: the fields docker-py reads', async () => {
    const version = await docker.system.version();
    expect(version).toMatchObject({ ApiVersion: expect.any(String), Version: expect.any(String), Os: 'linux' });
    const info = await docker.system.info();
    for (const key of ['Containers', 'Images', 'Driver']) expect(info).toHaveProperty(key);
  });
});
