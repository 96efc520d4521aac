import { existsSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { createFetchTransport, DockerClient } from '../../../src/engine/index.js';
import { CancellationToken, DockerCommandLineCodeExecutor, ExecutorError, isExecutorError } from '../../../src/index.js';

describe('constructor validation (autogen tests 10, 11)', () => {
  it('rejects a timeout below 1 with autogen message', () => {
    expect(() => new DockerCommandLineCodeExecutor({ timeout: 0 })).toThrow('Timeout must be greater than or equal to 1.');
    expect(() => new DockerCommandLineCodeExecutor({ timeout: 0.5 })).toThrow(ExecutorError);
  });

  it('rejects a timeout that is not a number', () => {
    expect(() => new DockerCommandLineCodeExecutor({ timeout: '60' as unknown as number })).toThrow(/timeout must be a number/);
    expect(() => new DockerCommandLineCodeExecutor({ timeout: Number.NaN })).toThrow(/timeout must be a number/);
  });

  it('rejects module names that are not importable identifiers, keywords included', () => {
    for (const name of ['1abc', 'a-b', '', 'class', 'import']) {
      expect(() => new DockerCommandLineCodeExecutor({ functionsModule: name })).toThrow('Module name must be a valid Python identifier');
    }
  });

  it('does not create the work dir when the options are invalid', () => {
    const parent = mkdtempSync(join(tmpdir(), 'berth-unit-'));
    try {
      expect(() => new DockerCommandLineCodeExecutor({ workDir: join(parent, 'made'), functionsModule: 'class' })).toThrow();
      expect(() => new DockerCommandLineCodeExecutor({ workDir: join(parent, 'made'), timeout: 0 })).toThrow();
      expect(existsSync(join(parent, 'made'))).toBe(false);
    } finally {
      rmSync(parent, { recursive: true, force: true });
    }
  });

  it('says the working directory is not initialized before start', () => {
    const ex = new DockerCommandLineCodeExecutor();
    expect(() => ex.workDir).toThrow('Working directory not properly initialized');
    expect(() => ex.bindDir).toThrow('Working directory not properly initialized');
  });

  it('generates a distinct autogen-style container name per executor', () => {
    const a = new DockerCommandLineCodeExecutor();
    const b = new DockerCommandLineCodeExecutor();
    expect(a.containerName).toMatch(/^autogen-code-exec-[0-9a-f-]{36}$/);
    expect(a.containerName).not.toBe(b.containerName);
  });

  it('rejects bad extra volumes, hosts, names and pull policies with the option named', () => {
    expect(() => new DockerCommandLineCodeExecutor({ extraVolumes: { relative: { bind: '/x' } } })).toThrow(/extraVolumes/);
    expect(() => new DockerCommandLineCodeExecutor({ extraVolumes: { '/tmp': { bind: '/x', mode: 'rx' } } })).toThrow(/mode/);
    expect(() => new DockerCommandLineCodeExecutor({ extraHosts: { 'bad host': '1.2.3.4' } })).toThrow(/extraHosts/);
    expect(() => new DockerCommandLineCodeExecutor({ containerName: '../x' })).toThrow(/containerName/);
    expect(() => new DockerCommandLineCodeExecutor({ pullPolicy: 'sometimes' as 'always' })).toThrow(/pullPolicy/);
  });

  it('exposes autogen statics', () => {
    expect(DockerCommandLineCodeExecutor.SUPPORTED_LANGUAGES).toEqual(['bash', 'shell', 'sh', 'pwsh', 'powershell', 'ps1', 'python']);
    expect(DockerCommandLineCodeExecutor.FUNCTION_PROMPT_TEMPLATE).toContain('$module_name');
  });

  it('refuses a second argument that is neither token nor signal', async () => {
    const ex = new DockerCommandLineCodeExecutor();
    await expect(ex.executeCodeBlocks([], {} as AbortSignal)).rejects.toThrow(/CancellationToken or an AbortSignal/);
  });
});

describe('CancellationToken', () => {
  it('runs callbacks once, aborts its signal, and calls late callbacks at once', () => {
    const token = new CancellationToken();
    const calls: string[] = [];
    const remove = token.addCallback(() => calls.push('removed'));
    token.addCallback(() => calls.push('a'));
    remove();
    expect(token.isCancelled()).toBe(false);
    token.cancel();
    token.cancel();
    expect(token.isCancelled()).toBe(true);
    expect(token.signal.aborted).toBe(true);
    token.addCallback(() => calls.push('late'));
    expect(calls).toEqual(['a', 'late']);
  });
});

/** A fake engine behind the fetch transport: answers what start() asks, in order. */
function engineAnswering(startAnswer: { status: number; body: unknown }): { docker: DockerClient; calls: string[] } {
  const calls: string[] = [];
  const json = (status: number, body: unknown) =>
    new Response(body === undefined ? null : JSON.stringify(body), {
      status,
      headers: { 'content-type': 'application/json', 'api-version': '1.41' },
    });
  const fetch = async (input: RequestInfo | URL, init?: RequestInit) => {
    const url = new URL(String(input));
    const key = `${init?.method ?? 'GET'} ${url.pathname}`;
    calls.push(key);
    if (key.endsWith('/_ping')) return new Response('OK', { headers: { 'api-version': '1.41' } });
    if (key.startsWith('GET') && key.includes('/images/')) return json(200, { Id: 'sha256:x' });
    if (key.startsWith('GET') && key.includes('/containers/')) return json(404, { message: 'No such container' });
    if (key.endsWith('/containers/create')) return json(201, { Id: 'a'.repeat(64), Warnings: [] });
    if (key.endsWith('/start')) return json(startAnswer.status, startAnswer.body);
    if (key.startsWith('DELETE')) return new Response(null, { status: 204 });
    return json(500, { message: `unexpected ${key}` });
  };
  return { docker: new DockerClient({ transport: createFetchTransport({ fetch: fetch as typeof globalThis.fetch }) }), calls };
}

describe('start() failures', () => {
  it('maps the engine GPU error to what to install, and removes the container it made', async () => {
    const { docker, calls } = engineAnswering({
      status: 500,
      body: { message: 'could not select device driver "" with capabilities: [[gpu]]' },
    });
    const ex = new DockerCommandLineCodeExecutor({
      docker,
      deviceRequests: [{ count: -1, capabilities: [['gpu']] }],
      stopContainer: false,
    });
    const error = await ex.start().catch((e: unknown) => e);
    expect(isExecutorError(error)).toBe(true);
    expect((error as Error).message).toMatch(/NVIDIA Container Toolkit/);
    expect((error as Error).message).toContain('could not select device driver');
    expect(calls.some((c) => c.startsWith('DELETE /v1.41/containers/'))).toBe(true);
    expect(ex.isRunning).toBe(false);
    expect(() => ex.workDir).toThrow('Working directory not properly initialized');
  });

  it('sends the device request, labels, init and workspace bind in the create body', async () => {
    let body: Record<string, unknown> | undefined;
    const fetch = async (input: RequestInfo | URL, init?: RequestInit) => {
      const url = new URL(String(input));
      if (url.pathname.endsWith('/containers/create')) {
        body = JSON.parse(String(init?.body));
        return new Response(JSON.stringify({ message: 'stop here' }), { status: 400 });
      }
      if (url.pathname.endsWith('/_ping')) return new Response('OK', { headers: { 'api-version': '1.41' } });
      if (url.pathname.includes('/images/')) return new Response(JSON.stringify({ Id: 'sha256:x' }), { status: 200 });
      return new Response(JSON.stringify({ message: 'No such container' }), { status: 404 });
    };
    const docker = new DockerClient({ transport: createFetchTransport({ fetch: fetch as typeof globalThis.fetch }) });
    const ex = new DockerCommandLineCodeExecutor({
      docker,
      deviceRequests: [{ deviceIds: ['0'], capabilities: [['gpu']] }],
      extraHosts: { 'example.com': '127.0.0.1' },
      stopContainer: false,
      // This fake engine is not on a unix socket, so `copy` would be chosen; ask for the bind.
      workspace: 'bind',
    });
    await expect(ex.start()).rejects.toThrow('stop here');
    const host = body?.HostConfig as Record<string, unknown>;
    expect(host.DeviceRequests).toEqual([{ Driver: '', Count: 0, DeviceIDs: ['0'], Capabilities: [['gpu']], Options: {} }]);
    expect(host.Init).toBe(true);
    expect(host.CapDrop).toEqual(['MKNOD']);
    expect(host.ExtraHosts).toEqual(['example.com:127.0.0.1']);
    expect((host.Binds as string[])[0]).toMatch(/:\/workspace:rw$/);
    expect((body?.Labels as Record<string, string> | undefined)?.['berth.executor']).toBe('1');
    expect(body?.Entrypoint).toEqual(['/bin/sh']);
    expect(body?.Tty).toBe(true);
    expect(body?.WorkingDir).toBe('/workspace');
  });
});

type Answer = { status: number; message?: string; body?: unknown };

/**
 * A fake engine for restart() and stop(): a container runs once created; `/restart` answers
 * `restart`, and `answers` overrides other calls by method and path suffix (`POST /update`,
 * `DELETE`, `GET /info`). Unlisted calls the executor may make answer 500.
 */
function restartEngine(
  restart: { status: number; message: string },
  answers: Record<string, Answer | Answer[]> = {},
): { docker: DockerClient; calls: string[] } {
  const calls: string[] = [];
  let created = 0;
  const json = (code: number, body: unknown) => new Response(body === null ? null : JSON.stringify(body), { status: code });
  const fetch = async (input: RequestInfo | URL, init?: RequestInit) => {
    const url = new URL(String(input));
    const method = init?.method ?? 'GET';
    const key = `${method} ${url.pathname}`;
    calls.push(key);
    for (const [match, answer] of Object.entries(answers)) {
      const [m, suffix = ''] = match.split(' ');
      if (m !== method || !url.pathname.endsWith(suffix)) continue;
      const next = Array.isArray(answer) ? (answer.length > 1 ? answer.shift() : answer[0]) : answer;
      if (next) return json(next.status, next.body ?? (next.message === undefined ? null : { message: next.message }));
    }
    if (url.pathname.endsWith('/_ping')) return new Response('OK', { headers: { 'api-version': '1.41' } });
    if (url.pathname.includes('/images/')) return json(200, { Id: 'sha256:x' });
    if (key.endsWith('/containers/create')) return json(201, { Id: String(++created).repeat(64), Warnings: [] });
    if (key.endsWith('/restart')) return json(restart.status, restart.status === 204 ? null : { message: restart.message });
    if (key.endsWith('/wait')) return json(200, { StatusCode: 137 });
    if (key.endsWith('/start') || key.endsWith('/kill')) return json(204, null);
    // Looked up by name before it exists: not there yet.
    if (key.endsWith('/json'))
      return key.includes('autogen-code-exec')
        ? json(404, { message: 'No such container' })
        : json(200, { State: { Status: 'running', Running: true } });
    if (key.startsWith('DELETE')) return json(204, null);
    return json(500, { message: `unexpected ${key}` });
  };
  return { docker: new DockerClient({ transport: createFetchTransport({ fetch: fetch as typeof globalThis.fetch }) }), calls };
}

describe('restart() of a container that is removed under it', () => {
  it('starts a fresh container when the engine answers 404', async () => {
    const { docker, calls } = restartEngine({ status: 404, message: 'No such container: x' });
    const ex = new DockerCommandLineCodeExecutor({ docker, workspace: 'bind' });
    await ex.start();
    try {
      expect(ex.containerId).toBe('1'.repeat(64));
      await ex.restart();
      expect(ex.isRunning).toBe(true);
      expect(ex.containerId).toBe('2'.repeat(64));
      expect(calls.filter((c) => c.endsWith('/containers/create'))).toHaveLength(2);
      // No probe of a pending removal: containers are never AutoRemove.
      expect(calls.filter((c) => c.endsWith('/update'))).toEqual([]);
    } finally {
      await ex.stop();
    }
  });

  it('passes any other restart failure on, and stops the executor', async () => {
    const { docker, calls } = restartEngine({ status: 500, message: 'disk full' });
    const ex = new DockerCommandLineCodeExecutor({ docker, workspace: 'bind' });
    await ex.start();
    await expect(ex.restart()).rejects.toThrow('disk full');
    expect(ex.state).toBe('stopped');
    expect(calls.filter((c) => c.startsWith('DELETE'))).toHaveLength(1);
  });
});

describe('stop()', () => {
  it('passes on a removal failure that is not about the container being gone', async () => {
    const { docker } = restartEngine({ status: 204, message: '' }, { DELETE: { status: 500, message: 'driver failed' } });
    const ex = new DockerCommandLineCodeExecutor({ docker, workspace: 'bind' });
    await ex.start();
    await expect(ex.stop()).rejects.toThrow('driver failed');
    expect(ex.isRunning).toBe(false);
  });
});
