import { describe, expect, it } from 'vitest';
import { DockerClient } from '../../../src/engine/client.js';
import { DockerArgumentError } from '../../../src/engine/errors.js';
import { sshAddress, sshArguments } from '../../../src/engine/transport/ssh-endpoint.js';

describe('the ssh command line for an ssh:// engine', () => {
  it('is what the docker CLI runs: no prompt, a connect timeout, no TTY, then `-- host docker system dial-stdio`', () => {
    expect(sshArguments({ kind: 'ssh', host: 'box' })).toEqual([
      '-o',
      'BatchMode=yes',
      '-o',
      'ConnectTimeout=5',
      '-T',
      '--',
      'box',
      'docker',
      'system',
      'dial-stdio',
    ]);
  });

  it('puts the caller’s arguments first, then user and port, and names a remote socket to the remote CLI', () => {
    const args = sshArguments(
      { kind: 'ssh', host: 'box', user: 'me', port: 2200, socketPath: '/run/user/1000/docker.sock' },
      { args: ['-i', '/keys/id'] },
      1500,
    );
    expect(args).toEqual([
      '-i',
      '/keys/id',
      '-o',
      'BatchMode=yes',
      '-o',
      'ConnectTimeout=2',
      '-T',
      '-l',
      'me',
      '-p',
      '2200',
      '--',
      'box',
      'docker',
      '--host=unix:///run/user/1000/docker.sock',
      'system',
      'dial-stdio',
    ]);
  });

  it('describes the endpoint as the address the user wrote', () => {
    expect(sshAddress({ kind: 'ssh', host: 'box', user: 'me', port: 2200, socketPath: '/d.sock' })).toBe('ssh://me@box:2200/d.sock');
    expect(sshAddress({ kind: 'ssh', host: '::1' })).toBe('ssh://[::1]');
  });
});

describe('ssh options', () => {
  it.each([
    [{ command: '' }, /^ssh\.command: /],
    [{ args: '-i key' }, /^ssh\.args: /],
    [{ args: ['-i', 3] }, /^ssh\.args: /],
  ])('rejects %j before running anything', (ssh, message) => {
    const docker = new DockerClient({ host: 'ssh://box', ssh: ssh as never });
    expect(() => docker.describe()).toThrow(DockerArgumentError);
    expect(() => docker.describe()).toThrow(message);
  });
});
