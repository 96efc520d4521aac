/**
 * `berth mcp` at the wire: raw JSON-RPC lines in, raw lines out (the built command). Malformed
 * messages and unknown methods get the JSON-RPC errors; tools/list needs no engine.
 */
import { type ChildProcess, spawn } from 'node:child_process';
import { randomUUID } from 'node:crypto';
import { existsSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, describe, expect, it } from 'vitest';
import { DockerClient } from '../../src/engine/index.js';
import { PYTHON, TEST_LABEL } from '../helpers/engine.js';

const root = fileURLToPath(new URL('../../', import.meta.url));
const MAIN = join(root, 'dist', 'cli', 'main.js');
if (!existsSync(MAIN)) throw new Error(`${MAIN} is missing: run \`npm run build\` first`);

const nowhere = mkdtempSync(join(tmpdir(), 'berth-mcp-noengine-'));
const children: ChildProcess[] = [];

interface Message {
  jsonrpc: string;
  id?: string | number | null;
  result?: Record<string, unknown>;
  error?: { code: number; message: string };
}

/** A `berth mcp` process talked to line by line. With `engine: false` DOCKER_HOST points at a socket that does not exist. */
class Raw {
  readonly child: ChildProcess;
  readonly received: unknown[] = [];
  readonly #waiters: (() => void)[] = [];
  constructor(options: { engine: boolean; args?: string[] }) {
    this.child = spawn(process.execPath, [MAIN, 'mcp', '--image', PYTHON, '--label', `${TEST_LABEL}=1`, ...(options.args ?? [])], {
      env: { ...process.env, ...(options.engine ? {} : { DOCKER_HOST: `unix://${join(nowhere, 'docker.sock')}` }) },
      stdio: ['pipe', 'pipe', 'pipe'],
    });
    children.push(this.child);
    let buffer = '';
    this.child.stdout?.setEncoding('utf8').on('data', (text: string) => {
      buffer += text;
      for (let end = buffer.indexOf('\n'); end >= 0; end = buffer.indexOf('\n')) {
        this.received.push(JSON.parse(buffer.slice(0, end)));
        buffer = buffer.slice(end + 1);
        for (const wake of this.#waiters.splice(0)) wake();
      }
    });
    this.child.stderr?.resume();
  }
  send(line: string): void {
    this.child.stdin?.write(`${line}\n`);
  }
  /** The first message received that matches, waiting for it. */
  async next(match: (m: Message) => boolean): Promise<Message> {
    const deadline = Date.now() + 30_000;
    for (;;) {
      const found = this.received.find((m) => match(m as Message));
      if (found) return found as Message;
      if (Date.now() > deadline) throw new Error(`no matching answer; got ${JSON.stringify(this.received)}`);
      await new Promise<void>((wake) => {
        this.#waiters.push(wake);
        setTimeout(wake, 1000);
      });
    }
  }
  byId(id: string | number | null): Promise<Message> {
    return this.next((m) => m.id === id);
  }
  async close(): Promise<number | null> {
    this.child.stdin?.end();
    return new Promise((resolve) => {
      if (this.child.exitCode !== null) resolve(this.child.exitCode);
      else this.child.on('close', (code) => resolve(code));
    });
  }
}

const INIT = JSON.stringify({
  jsonrpc: '2.0',
  id: 0,
  method: 'initialize',
  params: { protocolVersion: '2025-06-18', capabilities: {}, clientInfo: { name: 'raw', version: '1' } },
});

afterAll(() => {
  for (const child of children) if (child.exitCode === null) child.kill('SIGKILL');
  rmSync(nowhere, { recursive: true, force: true });
});

describe('berth mcp on the wire', () => {
  it('answers a line that is not JSON with a parse error (-32700, id null) and goes on', async () => {
    const raw = new Raw({ engine: false });
    raw.send('{"jsonrpc": "2.0", "id": 1, "method": "ping"');
    expect(await raw.byId(null)).toMatchObject({ jsonrpc: '2.0', error: { code: -32700, message: expect.stringMatching(/^Parse error/) } });
    raw.send('{"jsonrpc":"2.0","id":2,"method":"ping"}');
    expect(await raw.byId(2)).toEqual({ jsonrpc: '2.0', id: 2, result: {} });
    expect(await raw.close()).toBe(0);
  });

  it('answers messages that are not JSON-RPC 2.0 requests with invalid request (-32600)', async () => {
    const raw = new Raw({ engine: false });
    raw.send('{"jsonrpc":"1.0","id":"old","method":"ping"}');
    expect(await raw.byId('old')).toMatchObject({ error: { code: -32600 } });
    raw.send('42');
    raw.send('{"jsonrpc":"2.0","id":{"no":1},"method":"ping"}');
    raw.send('[]');
    raw.send('{"jsonrpc":"2.0","id":5,"method":"ping","params":"text"}');
    expect(await raw.byId(5)).toMatchObject({ error: { code: -32600 } });
    await raw.next(() => raw.received.filter((m) => (m as Message).id === null).length >= 3);
    const nulls = raw.received.filter((m) => (m as Message).id === null) as Message[];
    expect(nulls.map((m) => m.error?.code)).toEqual([-32600, -32600, -32600]);
    await raw.close();
  });

  it('answers unknown methods with method not found (-32601) and ignores unknown notifications', async () => {
    const raw = new Raw({ engine: false });
    raw.send(INIT);
    await raw.byId(0);
    raw.send('{"jsonrpc":"2.0","method":"notifications/initialized"}');
    raw.send('{"jsonrpc":"2.0","method":"notifications/whatever","params":{}}');
    raw.send('{"jsonrpc":"2.0","id":"r1","method":"resources/list"}');
    expect(await raw.byId('r1')).toEqual({
      jsonrpc: '2.0',
      id: 'r1',
      error: { code: -32601, message: 'Method not found: resources/list' },
    });
    raw.send('{"jsonrpc":"2.0","id":9,"method":"ping"}');
    await raw.byId(9);
    // Only the three requests were answered: notifications get nothing.
    expect(raw.received.map((m) => (m as Message).id)).toEqual([0, 'r1', 9]);
    await raw.close();
  });

  it('answers an unknown tool and an initialize without a version with invalid params (-32602)', async () => {
    const raw = new Raw({ engine: false });
    raw.send('{"jsonrpc":"2.0","id":1,"method":"initialize","params":{}}');
    expect(await raw.byId(1)).toMatchObject({ error: { code: -32602 } });
    raw.send('{"jsonrpc":"2.0","id":2,"method":"tools/call","params":{"name":"rm_rf","arguments":{}}}');
    expect(await raw.byId(2)).toMatchObject({ error: { code: -32602, message: expect.stringMatching(/Unknown tool: rm_rf/) } });
    await raw.close();
  });

  it("negotiates: the client's version when supported, else its latest", async () => {
    const raw = new Raw({ engine: false });
    raw.send(INIT.replace('2025-06-18', '2025-03-26'));
    expect((await raw.byId(0)).result).toMatchObject({
      protocolVersion: '2025-03-26',
      serverInfo: { name: 'berth' },
      capabilities: { tools: {} },
    });
    raw.send(INIT.replace('"id":0', '"id":1').replace('2025-06-18', '1999-01-01'));
    expect((await raw.byId(1)).result).toMatchObject({ protocolVersion: '2025-11-25' });
    await raw.close();
  });

  it('answers a batch with an array of answers', async () => {
    const raw = new Raw({ engine: false });
    raw.send(
      '[{"jsonrpc":"2.0","id":"a","method":"ping"},{"jsonrpc":"2.0","method":"notifications/initialized"},{"jsonrpc":"2.0","id":"b","method":"nope"}]',
    );
    await raw.next(() => raw.received.some(Array.isArray));
    const batch = raw.received.find(Array.isArray) as Message[];
    expect(batch).toEqual([
      { jsonrpc: '2.0', id: 'a', result: {} },
      { jsonrpc: '2.0', id: 'b', error: { code: -32601, message: 'Method not found: nope' } },
    ]);
    await raw.close();
  });

  it('lists tools without an engine, and a tool call without one is a tool error saying so', async () => {
    const raw = new Raw({ engine: false });
    raw.send(INIT);
    raw.send('{"jsonrpc":"2.0","id":1,"method":"tools/list"}');
    const list = await raw.byId(1);
    expect(list.result?.tools).toHaveLength(5);
    raw.send('{"jsonrpc":"2.0","id":2,"method":"tools/call","params":{"name":"run_code","arguments":{"language":"sh","code":"echo hi"}}}');
    const result = (await raw.byId(2)).result as { isError: boolean; content: { text: string }[] };
    expect(result.isError).toBe(true);
    expect(result.content[0]?.text ?? '').toMatch(/run_code failed: .*(Docker|engine)/);
    expect(await raw.close()).toBe(0);
  });

  it('refuses options the executor refuses at once, exiting 2', async () => {
    const child = spawn(process.execPath, [MAIN, 'mcp', '--timeout', '99999999'], { stdio: ['pipe', 'pipe', 'pipe'] });
    children.push(child);
    let stderr = '';
    child.stderr?.setEncoding('utf8').on('data', (text: string) => (stderr += text));
    const code = await new Promise((resolve) => child.on('close', resolve));
    expect(code).toBe(2);
    expect(stderr).toMatch(/berth mcp: timeout must be at most 2147483 seconds/);
  });

  it('--no-sandbox and --network MODE opt out of the sandbox preset', async () => {
    const label = `berth.test.server=${randomUUID()}`;
    const raw = new Raw({ engine: true, args: ['--no-sandbox', '--network', 'bridge', '--label', label] });
    raw.send(INIT);
    raw.send(
      JSON.stringify({
        jsonrpc: '2.0',
        id: 1,
        method: 'tools/call',
        params: { name: 'run_code', arguments: { language: 'sh', code: 'id -u' } },
      }),
    );
    const result = (await raw.byId(1)).result as { structuredContent: { stdout: string } };
    expect(result.structuredContent.stdout).toBe('0\n');
    const docker = new DockerClient();
    try {
      const [container] = await docker.containers.list({ filters: { label: [label] } });
      const info = await docker.containers.inspect(container?.Id as string);
      expect(info.HostConfig?.NetworkMode).toBe('bridge');
      expect(info.HostConfig?.ReadonlyRootfs).not.toBe(true);
      expect(await raw.close()).toBe(0);
      expect(await docker.containers.list({ all: true, filters: { label: [label] } })).toEqual([]);
    } finally {
      await docker.close();
    }
  });

  it('--max-output caps the output kept and the files read_file returns; --timeout caps run_code', async () => {
    const raw = new Raw({ engine: true, args: ['--max-output', '100', '--timeout', '5'] });
    raw.send(INIT);
    const list = await (async () => {
      raw.send('{"jsonrpc":"2.0","id":"l","method":"tools/list"}');
      return (await raw.byId('l')).result as { tools: { inputSchema: { properties: { timeout?: { maximum: number } } } }[] };
    })();
    expect(list.tools[0]?.inputSchema.properties.timeout?.maximum).toBe(5);
    const run = (id: number, code: string) =>
      raw.send(
        JSON.stringify({ jsonrpc: '2.0', id, method: 'tools/call', params: { name: 'run_code', arguments: { language: 'python', code } } }),
      );
    run(1, 'print("x" * 1000)\nopen("big.txt", "w").write("y" * 200)');
    const big = (await raw.byId(1)).result as { structuredContent: { stdout: string; truncated: boolean } };
    expect(big.structuredContent.truncated).toBe(true);
    expect(big.structuredContent.stdout.length).toBeLessThanOrEqual(100);
    raw.send(
      JSON.stringify({ jsonrpc: '2.0', id: 2, method: 'tools/call', params: { name: 'read_file', arguments: { path: 'big.txt' } } }),
    );
    const read = (await raw.byId(2)).result as { isError: boolean; content: { text: string }[] };
    expect(read.isError).toBe(true);
    expect(read.content[0]?.text).toMatch(/larger than 100 bytes/);
    expect(await raw.close()).toBe(0);
  });

  it('--work-dir mounts a host folder at /workspace, kept after the server ends', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'berth-mcp-workdir-'));
    try {
      const raw = new Raw({ engine: true, args: ['--work-dir', dir, '--no-sandbox'] });
      raw.send(INIT);
      raw.send(
        JSON.stringify({
          jsonrpc: '2.0',
          id: 1,
          method: 'tools/call',
          params: { name: 'write_file', arguments: { path: 'from-mcp.txt', content: 'hi' } },
        }),
      );
      expect(((await raw.byId(1)).result as { isError?: boolean }).isError).toBeUndefined();
      expect(await raw.close()).toBe(0);
      expect(readFileSync(join(dir, 'from-mcp.txt'), 'utf8')).toBe('hi');
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });

  it('answers ping while a tool call runs, and a cancelled call answers as cancelled', async () => {
    const raw = new Raw({ engine: true });
    raw.send(INIT);
    await raw.byId(0);
    raw.send(
      JSON.stringify({
        jsonrpc: '2.0',
        id: 'slow',
        method: 'tools/call',
        params: { name: 'run_code', arguments: { language: 'sh', code: 'sleep 100' } },
      }),
    );
    raw.send('{"jsonrpc":"2.0","id":"p","method":"ping"}');
    expect(await raw.byId('p')).toEqual({ jsonrpc: '2.0', id: 'p', result: {} });
    raw.send('{"jsonrpc":"2.0","method":"notifications/cancelled","params":{"requestId":"slow","reason":"enough"}}');
    raw.send(
      JSON.stringify({
        jsonrpc: '2.0',
        id: 'next',
        method: 'tools/call',
        params: { name: 'run_code', arguments: { language: 'sh', code: 'echo next' } },
      }),
    );
    const next = (await raw.byId('next')).result as { structuredContent: { stdout: string } };
    expect(next.structuredContent.stdout).toBe('next\n');
    const slow = (await raw.byId('slow')) as unknown as { result: { isError: boolean; content: { text: string }[] } };
    expect(slow.result.isError).toBe(true);
    expect(slow.result.content[0]?.text).toMatch(/run_code was cancelled \(enough\)/);
    expect(await raw.close()).toBe(0);
  });
});
