/**
 * `berth mcp` from the packed package (npm pack, installed into a fresh project, run with
 * `npx berth mcp`), driven by the official MCP TypeScript client over stdio, against the engine.
 */
import { type ChildProcess, execFileSync, spawn } from 'node:child_process';
import { randomUUID } from 'node:crypto';
import { existsSync, mkdtempSync, readdirSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { Client } from '@modelcontextprotocol/sdk/client/index.js';
import { StdioClientTransport } from '@modelcontextprotocol/sdk/client/stdio.js';
import type { JSONRPCMessage } from '@modelcontextprotocol/sdk/types.js';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { DockerClient } from '../../src/engine/index.js';
import { PYTHON, TEST_LABEL } from '../helpers/engine.js';
import { installPackedBerth } from '../helpers/packed.js';

const docker = new DockerClient();
const RUN = `berth.test.mcp=${randomUUID()}`;
// The servers' temporary workspaces go here (TMPDIR), so the tests can see that none is left.
const tmp = mkdtempSync(join(tmpdir(), 'berth-mcp-test-'));
let app = '';
const clients: { client: Client; label: string }[] = [];

interface Connected {
  client: Client;
  transport: StdioClientTransport;
  /** The label on this server's sandbox container. */
  label: string;
  stderr: () => string;
}

/** Starts `npx berth mcp` in the project with the packed package and connects the SDK client; `protocolVersion` rewrites what the client asks for. */
async function connect(options: { args?: string[]; protocolVersion?: string } = {}): Promise<Connected> {
  const label = `berth.test.server=${randomUUID()}`;
  const transport = new StdioClientTransport({
    command: 'npx',
    args: ['berth', 'mcp', '--image', PYTHON, '--label', `${TEST_LABEL}=1`, '--label', RUN, '--label', label, ...(options.args ?? [])],
    cwd: app,
    env: { ...(process.env as Record<string, string>), TMPDIR: tmp },
    stderr: 'pipe',
  });
  let stderr = '';
  transport.stderr?.on('data', (chunk: Buffer) => (stderr += chunk.toString('utf8')));
  const asked = options.protocolVersion;
  if (asked) {
    // The SDK client always asks for its latest version; an older client asks for its own.
    const send = transport.send.bind(transport);
    transport.send = (message: JSONRPCMessage) =>
      send(
        'method' in message && message.method === 'initialize'
          ? ({ ...message, params: { ...message.params, protocolVersion: asked } } as JSONRPCMessage)
          : message,
      );
  }
  const client = new Client({ name: 'berth-test', version: '1.0.0' });
  await client.connect(transport);
  clients.push({ client, label });
  return { client, transport, label, stderr: () => stderr };
}

async function containersWith(label: string): Promise<string[]> {
  return (await docker.containers.list({ all: true, filters: { label: [label] } })).map((c) => c.Id);
}

async function until<T>(what: string, probe: () => Promise<T | undefined>, ms = 60_000): Promise<T> {
  const deadline = Date.now() + ms;
  for (;;) {
    const value = await probe().catch(() => undefined);
    if (value !== undefined) return value;
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 200));
  }
}

/** The sandbox container of a server, and the PID (inside it) that a block wrote to /workspace/`file`. */
async function startedBlock(label: string, file: string): Promise<{ id: string; pid: string }> {
  return until(`the block to write ${file}`, async () => {
    const [id] = await containersWith(label);
    if (!id) return undefined;
    const read = await docker.exec.run(id, ['cat', `/workspace/${file}`]);
    return read.exitCode === 0 && read.stdout.trim() !== '' ? { id, pid: read.stdout.trim() } : undefined;
  });
}

async function alive(id: string, pid: string): Promise<boolean> {
  return (await docker.exec.run(id, ['test', '-d', `/proc/${pid}`])).exitCode === 0;
}

type ToolResult = {
  content: { type: string; text?: string; data?: string; mimeType?: string }[];
  structuredContent?: Record<string, unknown>;
  isError?: boolean;
};

async function call(client: Client, name: string, args: Record<string, unknown>): Promise<ToolResult> {
  return (await client.callTool({ name, arguments: args }, undefined, { timeout: 180_000 })) as ToolResult;
}

function textOf(result: ToolResult): string {
  return result.content.map((c) => c.text ?? '').join('');
}

beforeAll(() => {
  app = installPackedBerth();
}, 180_000);

afterAll(async () => {
  try {
    for (const { client } of clients) await client.close().catch(() => {});
    // Every server stopped its sandbox: no container of this run, no temporary workspace.
    const left = await until(
      'the servers to remove their containers',
      async () => {
        const ids = await containersWith(RUN);
        return ids.length === 0 ? ids : undefined;
      },
      30_000,
    ).catch(async () => containersWith(RUN));
    for (const id of left) await docker.containers.remove(id, { force: true }).catch(() => {});
    expect(left).toEqual([]);
    // (Node's own compile cache may appear in TMPDIR; Berth's workspaces are berth-*.)
    expect(readdirSync(tmp).filter((name) => name.startsWith('berth-'))).toEqual([]);
  } finally {
    rmSync(tmp, { recursive: true, force: true });
    if (app) rmSync(dirname(app), { recursive: true, force: true });
    await docker.close();
  }
}, 120_000);

describe('berth mcp with the MCP TypeScript SDK client (packed package, npx)', () => {
  let server: Connected;
  beforeAll(async () => {
    server = await connect();
  }, 60_000);

  it("initializes with the client's protocol version and names itself", () => {
    expect(server.client.getServerVersion()).toMatchObject({ name: 'berth' });
    expect(server.client.getServerCapabilities()).toMatchObject({ tools: {} });
    expect(server.client.getInstructions()).toMatch(/sandboxed Docker container/);
  });

  it('lists the five tools with input and output schemas, without starting a container', async () => {
    const { tools } = await server.client.listTools();
    expect(tools.map((t) => t.name)).toEqual(['run_code', 'write_file', 'read_file', 'list_files', 'restart_sandbox']);
    const run = tools[0];
    expect(run?.inputSchema).toMatchObject({ type: 'object', required: ['language', 'code'] });
    expect(run?.outputSchema).toMatchObject({ type: 'object', required: ['exitCode', 'stdout', 'stderr', 'timedOut', 'truncated'] });
    expect(await containersWith(server.label)).toEqual([]);
  });

  it('answers ping', async () => {
    expect(await server.client.ping()).toEqual({});
  });

  it('run_code runs python in a sandbox and returns structured output', async () => {
    const result = await call(server.client, 'run_code', {
      language: 'python',
      code: 'import os, sys\nprint("hello", os.getuid())\nprint("warn", file=sys.stderr)\n',
    });
    expect(result.isError).toBeFalsy();
    expect(result.structuredContent).toEqual({ exitCode: 0, stdout: 'hello 65534\n', stderr: 'warn\n', timedOut: false, truncated: false });
    expect(textOf(result)).toContain('hello 65534');
    // Sandboxed by default: no network, read-only root.
    const [id] = await containersWith(server.label);
    const info = await docker.containers.inspect(id as string);
    expect(info.HostConfig?.NetworkMode).toBe('none');
    expect(info.HostConfig?.ReadonlyRootfs).toBe(true);
  });

  it('run_code reports a non-zero exit as isError with the exit code', async () => {
    const result = await call(server.client, 'run_code', { language: 'bash', code: 'echo before; exit 3' });
    expect(result.isError).toBe(true);
    expect(result.structuredContent).toMatchObject({ exitCode: 3, stdout: 'before\n', timedOut: false });
    expect(textOf(result)).toMatch(/exit code 3/);
  });

  it("run_code stops a block at the call's timeout", async () => {
    const result = await call(server.client, 'run_code', {
      language: 'python',
      code: 'import time\nprint("zz", flush=True)\ntime.sleep(60)',
      timeout: 2,
    });
    expect(result.isError).toBe(true);
    expect(result.structuredContent).toMatchObject({ exitCode: 124, timedOut: true, stdout: 'zz\n' });
    expect(textOf(result)).toMatch(/Timeout/);
  });

  it('write_file, read_file and list_files work on /workspace, shared with the code', async () => {
    const written = await call(server.client, 'write_file', { path: 'data/notes.txt', content: 'héllo\n' });
    expect(written.isError).toBeFalsy();
    expect(written.structuredContent).toEqual({ path: '/workspace/data/notes.txt', bytes: 7 });
    const binary = await call(server.client, 'write_file', {
      path: '/workspace/data/blob.bin',
      content: Buffer.from([0, 1, 2, 255]).toString('base64'),
      encoding: 'base64',
    });
    expect(binary.structuredContent).toMatchObject({ bytes: 4 });

    const ran = await call(server.client, 'run_code', {
      language: 'python',
      code: 'print(open("data/notes.txt").read().upper(), end="")\nopen("made.txt", "w").write("by code")',
    });
    expect(ran.structuredContent).toMatchObject({ exitCode: 0, stdout: 'HÉLLO\n' });

    const read = await call(server.client, 'read_file', { path: 'made.txt' });
    expect(read.structuredContent).toEqual({ path: '/workspace/made.txt', encoding: 'utf8', content: 'by code', bytes: 7 });
    expect(textOf(read)).toBe('by code');
    const blob = await call(server.client, 'read_file', { path: 'data/blob.bin' });
    expect(blob.structuredContent).toMatchObject({ encoding: 'base64', content: Buffer.from([0, 1, 2, 255]).toString('base64'), bytes: 4 });

    const listed = await call(server.client, 'list_files', {});
    expect(listed.structuredContent?.path).toBe('/workspace');
    const entries = listed.structuredContent?.entries as { name: string; type: string; size: number }[];
    expect(entries).toEqual(
      expect.arrayContaining([
        { name: 'data', type: 'directory', size: 0 },
        { name: 'made.txt', type: 'file', size: 7 },
      ]),
    );
    const sub = await call(server.client, 'list_files', { path: 'data' });
    expect(sub.structuredContent?.entries).toEqual([
      { name: 'blob.bin', type: 'file', size: 4 },
      { name: 'notes.txt', type: 'file', size: 7 },
    ]);
  });

  it('refuses paths that leave /workspace, also through symlinks the code made', async () => {
    for (const path of ['../etc/passwd', '/etc/passwd', 'data/../../etc/passwd']) {
      const result = await call(server.client, 'read_file', { path });
      expect(result.isError).toBe(true);
      expect(textOf(result)).toMatch(/outside \/workspace/);
    }
    const linked = await call(server.client, 'run_code', {
      language: 'sh',
      code: 'ln -s /etc etc-link && ln -s /tmp/x tmp-file && ln -s .. up',
    });
    expect(linked.structuredContent).toMatchObject({ exitCode: 0 });
    for (const [tool, args] of [
      ['read_file', { path: 'etc-link/passwd' }],
      ['list_files', { path: 'etc-link' }],
      ['list_files', { path: 'up' }],
      ['write_file', { path: 'etc-link/evil', content: 'x' }],
      ['write_file', { path: 'tmp-file', content: 'x' }],
      ['write_file', { path: 'etc-link/new/deeper.txt', content: 'x' }],
    ] as const) {
      const result = await call(server.client, tool, args);
      expect(result.isError, `${tool} ${JSON.stringify(args)}`).toBe(true);
      expect(textOf(result)).toMatch(/leads outside \/workspace/);
    }
    // Nothing was written outside: /tmp/x does not exist.
    const check = await call(server.client, 'run_code', { language: 'sh', code: 'test ! -e /tmp/x && test ! -e /tmp/evil && echo clean' });
    expect(check.structuredContent).toMatchObject({ stdout: 'clean\n' });
  });

  it('answers bad arguments with isError naming the argument', async () => {
    const missing = await call(server.client, 'run_code', { language: 'python' });
    expect(missing.isError).toBe(true);
    expect(textOf(missing)).toMatch(/argument `code` is required/);
    const wrong = await call(server.client, 'run_code', { language: 'cobol', code: 'x', timeout: 'soon' });
    expect(textOf(wrong)).toMatch(/argument `language` must be one of "python", "bash", "sh", "pwsh"/);
    expect(textOf(wrong)).toMatch(/argument `timeout` must be a whole number/);
    const extra = await call(server.client, 'read_file', { path: 'x', mode: 'r' });
    expect(textOf(extra)).toMatch(/unknown argument `mode`/);
    const tooLong = await call(server.client, 'run_code', { language: 'sh', code: 'true', timeout: 3600 });
    expect(textOf(tooLong)).toMatch(/argument `timeout` must be at most 60/);
  });

  it('a cancelled call kills its block, and the server goes on', async () => {
    const controller = new AbortController();
    const pending = server.client.callTool(
      {
        name: 'run_code',
        arguments: { language: 'python', code: 'import os, time\nopen("cancel.pid", "w").write(str(os.getpid()))\ntime.sleep(120)\n' },
      },
      undefined,
      { signal: controller.signal, timeout: 180_000 },
    );
    const outcome = pending.then(
      () => 'answered',
      (error: Error) => error.message,
    );
    const { id, pid } = await startedBlock(server.label, 'cancel.pid');
    expect(await alive(id, pid)).toBe(true);
    controller.abort('the user changed their mind');
    // The SDK sent notifications/cancelled and ended the call with the reason (it drops the server's late 'cancelled' answer).
    expect(await outcome).toMatch(/the user changed their mind/);
    // The block's process is gone, seen from inside the container.
    await until('the cancelled block to die', async () => ((await alive(id, pid)) ? undefined : true), 15_000);
    const after = await call(server.client, 'run_code', { language: 'sh', code: 'echo still here' });
    expect(after.structuredContent).toMatchObject({ exitCode: 0, stdout: 'still here\n' });
  });

  it('restart_sandbox stops every process and keeps the files', async () => {
    await call(server.client, 'write_file', { path: 'kept.txt', content: 'kept' });
    const result = await call(server.client, 'restart_sandbox', {});
    expect(result.isError).toBeFalsy();
    expect(textOf(result)).toMatch(/restarted/);
    const read = await call(server.client, 'read_file', { path: 'kept.txt' });
    expect(read.structuredContent).toMatchObject({ content: 'kept' });
  });

  it('returns figures as image content when the executor captures them', async (context) => {
    // The matplotlib image that scripts/engine-up.sh --mpl builds (the runner's figures, issue 11).
    const image = process.env.BERTH_MPL_IMAGE ?? 'berth-test/python-mpl:3.11';
    const present = await docker.images.inspect(image).then(
      () => true,
      () => false,
    );
    if (!present) {
      console.warn(`figure test skipped: no image ${image} on the engine (scripts/engine-up.sh --mpl builds it)`);
      context.skip();
      return;
    }
    const figures = await connect({ args: ['--image', image] });
    const result = await call(figures.client, 'run_code', {
      language: 'python',
      code: 'import matplotlib.pyplot as plt\nplt.plot([1, 2, 3])\nplt.show()\nprint("drawn")',
    });
    expect(result.structuredContent).toMatchObject({ exitCode: 0, stdout: expect.stringContaining('drawn') });
    const images = result.content.filter((c) => c.type === 'image');
    await figures.client.close();
    if (images.length === 0) {
      console.warn('figure test skipped: this executor reports no result.images (figures come with the in-container runner, issue 11)');
      context.skip();
      return;
    }
    expect(images[0]?.mimeType).toBe('image/png');
    expect(
      Buffer.from(images[0]?.data ?? '', 'base64')
        .subarray(1, 4)
        .toString(),
    ).toBe('PNG');
  });
});

describe('the packed package', () => {
  it('exports berth/ai and ExecutorPool, with neither ai nor zod installed', () => {
    expect(existsSync(join(app, 'node_modules', 'ai'))).toBe(false);
    expect(existsSync(join(app, 'node_modules', 'zod'))).toBe(false);
    const script = `
      import { codeExecutionTool } from 'berth/ai';
      import { DockerCommandLineCodeExecutor, ExecutorPool, POOL_LABEL } from 'berth';
      const tool = codeExecutionTool(new DockerCommandLineCodeExecutor(), { languages: ['python'] });
      console.log(JSON.stringify({
        marker: tool.inputSchema[Symbol.for('vercel.ai.schema')],
        schema: tool.inputSchema.jsonSchema,
        standard: tool.inputSchema['~standard'].validate({ language: 'python', code: 'x' }),
        pool: typeof ExecutorPool,
        label: POOL_LABEL,
      }));`;
    const out = execFileSync(process.execPath, ['--input-type=module', '-e', script], { cwd: app, encoding: 'utf8' });
    expect(JSON.parse(out)).toEqual({
      marker: true,
      schema: expect.objectContaining({ type: 'object', required: ['language', 'code'] }),
      standard: { value: { language: 'python', code: 'x' } },
      pool: 'function',
      label: 'berth.pool',
    });
  });
});

describe('protocol versions', () => {
  it.each([
    ['2025-06-18', true],
    ['2025-03-26', false],
  ])('speaks %s (outputSchema listed: %s)', async (version, structured) => {
    const server = await connect({ protocolVersion: version });
    const { tools } = await server.client.listTools();
    expect('outputSchema' in (tools[0] ?? {})).toBe(structured);
    const result = await call(server.client, 'run_code', { language: 'sh', code: 'echo v' });
    expect(textOf(result)).toBe('v\n');
    // structuredContent is sent whatever the version (a 2025-03-26 client ignores it).
    expect(result.structuredContent).toMatchObject({ exitCode: 0, stdout: 'v\n' });
    await server.client.close();
  });

  it('answers an unsupported version with its latest', async () => {
    const server = await connect({ protocolVersion: '2024-11-05' });
    // The SDK client accepted the answer: it supports 2025-11-25, the server's latest.
    expect(server.client.getServerVersion()).toMatchObject({ name: 'berth' });
    expect(await server.client.ping()).toEqual({});
    await server.client.close();
  });
});

describe('shutdown', () => {
  function spawnPacked(label: string, useNpx: boolean): ChildProcess {
    const args = ['mcp', '--image', PYTHON, '--label', `${TEST_LABEL}=1`, '--label', RUN, '--label', label];
    const child = useNpx
      ? spawn('npx', ['berth', ...args], { cwd: app, env: { ...process.env, TMPDIR: tmp }, stdio: ['pipe', 'pipe', 'pipe'] })
      : spawn(process.execPath, [join(app, 'node_modules', 'berth', 'dist', 'cli', 'main.js'), ...args], {
          cwd: app,
          env: { ...process.env, TMPDIR: tmp },
          stdio: ['pipe', 'pipe', 'pipe'],
        });
    const lines = [
      {
        jsonrpc: '2.0',
        id: 1,
        method: 'initialize',
        params: { protocolVersion: '2025-06-18', capabilities: {}, clientInfo: { name: 'raw', version: '1' } },
      },
      { jsonrpc: '2.0', method: 'notifications/initialized' },
      {
        jsonrpc: '2.0',
        id: 2,
        method: 'tools/call',
        params: {
          name: 'run_code',
          arguments: { language: 'python', code: 'import os, time\nopen("long.pid", "w").write(str(os.getpid()))\ntime.sleep(120)' },
        },
      },
    ];
    child.stdin?.write(`${lines.map((l) => JSON.stringify(l)).join('\n')}\n`);
    return child;
  }

  function exited(child: ChildProcess): Promise<{ code: number | null; stdout: string }> {
    let stdout = '';
    child.stdout?.setEncoding('utf8').on('data', (text: string) => (stdout += text));
    child.stderr?.resume();
    return new Promise((resolve) => child.on('close', (code) => resolve({ code, stdout })));
  }

  it('stdin closed mid-call: the block is killed, the container removed, and the server exits 0', async () => {
    const label = `berth.test.server=${randomUUID()}`;
    const child = spawnPacked(label, true);
    const done = exited(child);
    await startedBlock(label, 'long.pid');
    child.stdin?.end();
    const { code, stdout } = await done;
    expect(code).toBe(0);
    // The cancelled call gets no answer; initialize did.
    expect(
      stdout
        .trim()
        .split('\n')
        .map((l) => JSON.parse(l).id),
    ).toEqual([1]);
    expect(await containersWith(label)).toEqual([]);
  });

  it('SIGTERM mid-call: the container is removed and the server exits 143', async () => {
    const label = `berth.test.server=${randomUUID()}`;
    const child = spawnPacked(label, false);
    const done = exited(child);
    await startedBlock(label, 'long.pid');
    child.kill('SIGTERM');
    expect((await done).code).toBe(143);
    expect(await containersWith(label)).toEqual([]);
  });
});
