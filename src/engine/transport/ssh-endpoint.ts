/**
 * SSH engine addresses (`ssh://[user@]host[:port][/path]`) and the `ssh` command line that reaches
 * them. Pure code with no I/O: importing it loads nothing (the bridge itself is `./ssh.js`).
 *
 * @module
 */

import { DockerArgumentError } from '../errors.js';

/** An engine reached through SSH: `ssh://[user@]host[:port][/remote/socket/path]`. */
export interface SshEndpoint {
  kind: 'ssh';
  host: string;
  /** The SSH port; default: ssh's own (22, or `~/.ssh/config`). */
  port?: number | undefined;
  /** The remote user; default: ssh's own. */
  user?: string | undefined;
  /** The engine's socket on the remote machine; default: the remote docker CLI's default. */
  socketPath?: string | undefined;
}

/** How Berth runs `ssh` for an `ssh://` engine. */
export interface SshOptions {
  /** The ssh program. Default `ssh` (found on `PATH`). */
  command?: string | undefined;
  /**
   * Extra arguments put before Berth's own, e.g. `['-i', '/path/key']` or `['-F', '/path/config']`.
   * Berth always adds `-o BatchMode=yes` (never prompt: use keys or the agent), `-o ConnectTimeout`
   * and `-T`.
   */
  args?: readonly string[] | undefined;
}

/**
 * Describes an SSH endpoint as an address: `ssh://user@host:port/path`.
 *
 * @param endpoint The endpoint.
 */
export function sshAddress(endpoint: SshEndpoint): string {
  const host = endpoint.host.includes(':') ? `[${endpoint.host}]` : endpoint.host;
  return `ssh://${endpoint.user ? `${endpoint.user}@` : ''}${host}${endpoint.port ? `:${endpoint.port}` : ''}${endpoint.socketPath ?? ''}`;
}

/**
 * Parses `ssh://[user@]host[:port][/path]`.
 *
 * @param host The address.
 * @param argument The option or variable it came from, for errors.
 * @throws DockerArgumentError for a malformed address.
 */
export function parseSshHost(host: string, argument: string): SshEndpoint {
  const match = /^ssh:\/\/(?:([^@/\s]+)@)?(\[[^\]\s]+\]|[^:/@\s]+)(?::(\d+))?(\/[^\s]*)?$/.exec(host);
  if (!match) throw new DockerArgumentError(argument, `expected ssh://[user@]host[:port][/socket/path], got ${JSON.stringify(host)}`);
  const endpoint: SshEndpoint = { kind: 'ssh', host: (match[2] ?? '').replace(/^\[|\]$/g, '') };
  if (match[1]) endpoint.user = decodeURIComponent(match[1]);
  if (match[3]) endpoint.port = Number(match[3]);
  // `ssh://host/` names no socket: the remote CLI's default.
  if (match[4] && match[4] !== '/') endpoint.socketPath = match[4];
  checkSshEndpoint(endpoint, argument);
  return endpoint;
}

/**
 * Rejects an SSH endpoint that could not be reached or that could smuggle options into `ssh`
 * (a host or user starting with `-`), before anything runs.
 *
 * @param endpoint The endpoint.
 * @param argument The option or variable it came from, for errors.
 * @throws DockerArgumentError naming the bad part.
 */
export function checkSshEndpoint(endpoint: SshEndpoint, argument = 'endpoint'): void {
  const bad = (value: string) => value === '' || value.startsWith('-') || /[\s\0'"\\;|&$`<>]/.test(value);
  if (typeof endpoint.host !== 'string' || bad(endpoint.host)) {
    throw new DockerArgumentError(`${argument}`, `expected an SSH host name or address, got ${JSON.stringify(endpoint.host)}`);
  }
  if (endpoint.user !== undefined && (typeof endpoint.user !== 'string' || bad(endpoint.user))) {
    throw new DockerArgumentError(`${argument}`, `expected an SSH user name, got ${JSON.stringify(endpoint.user)}`);
  }
  if (endpoint.port !== undefined && !(Number.isInteger(endpoint.port) && endpoint.port >= 1 && endpoint.port <= 65535)) {
    throw new DockerArgumentError(`${argument}`, `SSH port out of range (1-65535): ${endpoint.port}`);
  }
  if (endpoint.socketPath !== undefined && !/^\/[\w./@+-]*$/.test(endpoint.socketPath)) {
    throw new DockerArgumentError(`${argument}`, `expected an absolute remote socket path, got ${JSON.stringify(endpoint.socketPath)}`);
  }
}

/**
 * The `ssh` arguments for one connection, as the docker CLI builds them: the caller's extra
 * arguments, then batch mode, a connect timeout, no TTY, user and port, `--`, the host and the
 * remote command.
 *
 * @param endpoint The engine.
 * @param options Extra ssh arguments.
 * @param connectTimeoutMs Milliseconds ssh may take to connect.
 */
export function sshArguments(endpoint: SshEndpoint, options: SshOptions = {}, connectTimeoutMs = 5000): string[] {
  const args = [...(options.args ?? [])];
  args.push('-o', 'BatchMode=yes', '-o', `ConnectTimeout=${Math.max(1, Math.ceil(connectTimeoutMs / 1000))}`, '-T');
  if (endpoint.user) args.push('-l', endpoint.user);
  if (endpoint.port) args.push('-p', String(endpoint.port));
  args.push('--', endpoint.host, 'docker');
  if (endpoint.socketPath) args.push(`--host=unix://${endpoint.socketPath}`);
  args.push('system', 'dial-stdio');
  return args;
}

/**
 * Rejects `ssh` options that cannot be passed to the ssh program, before anything runs.
 *
 * @param options The options.
 * @throws DockerArgumentError naming the bad field.
 */
export function checkSshOptions(options: SshOptions | undefined): void {
  if (options === undefined) return;
  if (options.command !== undefined && (typeof options.command !== 'string' || options.command === '' || options.command.includes('\0'))) {
    throw new DockerArgumentError('ssh.command', `expected the ssh program (a name or path), got ${JSON.stringify(options.command)}`);
  }
  if (options.args !== undefined && (!Array.isArray(options.args) || options.args.some((a) => typeof a !== 'string' || a.includes('\0')))) {
    throw new DockerArgumentError('ssh.args', `expected an array of strings, got ${JSON.stringify(options.args)}`);
  }
}
