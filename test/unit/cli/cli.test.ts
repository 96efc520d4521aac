import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { runCli } from '../../../src/cli/cli.js';
import type { CliIo } from '../../../src/cli/io.js';
import { interruptedExitCode } from '../../../src/cli/io.js';

function fakeIo(stdinText = '', signal: AbortSignal = new AbortController().signal) {
  const stdout: string[] = [];
  const stderr: string[] = [];
  const io: CliIo = {
    stdout: { write: (text: string) => stdout.push(text) },
    stderr: { write: (text: string) => stderr.push(text) },
    stdin: (async function* () {
      if (stdinText) yield Buffer.from(stdinText);
    })(),
    signal,
    // No engine is reachable here: nothing in these tests may get as far as the engine.
    env: { DOCKER_HOST: 'unix:///nonexistent/berth-unit.sock' },
  };
  return { io, out: () => stdout.join(''), err: () => stderr.join('') };
}

describe('runCli', () => {
  it('prints help and exits 0', async () => {
    const { io, out } = fakeIo();
    expect(await runCli(['--help'], io)).toBe(0);
    expect(out()).toMatch(/Usage: berth <command>/);
    const run = fakeIo();
    expect(await runCli(['run', '--help'], run.io)).toBe(0);
    expect(run.out()).toMatch(/--timeout SECONDS/);
  });

  it('prints the version of package.json', async () => {
    const { io, out } = fakeIo();
    expect(await runCli(['--version'], io)).toBe(0);
    const pkg = JSON.parse(readFileSync(new URL('../../../package.json', import.meta.url), 'utf8')) as { version: string };
    expect(out()).toBe(`${pkg.version}\n`);
  });

  it('exits 2 with the message and the usage on bad usage', async () => {
    for (const argv of [[], ['nope'], ['run'], ['run', '--timeout', 'x', 'a.py'], ['doctor', '--all']]) {
      const { io, err, out } = fakeIo();
      expect(await runCli(argv, io)).toBe(2);
      expect(err()).toMatch(/^berth: .+\n\nUsage: berth/);
      expect(out()).toBe('');
    }
  });

  it('exits 2 when the file cannot be read', async () => {
    const { io, err } = fakeIo();
    expect(await runCli(['run', '/nonexistent/berth/x.py'], io)).toBe(2);
    expect(err()).toMatch(/^berth: cannot read \/nonexistent\/berth\/x.py: ENOENT/);
  });

  it('exits 1 for a markdown message without runnable blocks, noting skipped ones', async () => {
    const { io, err } = fakeIo('Just text.\n\n```\nno language\n```\n');
    expect(await runCli(['run', '--markdown', '-'], io)).toBe(1);
    expect(err()).toMatch(/skipping the code block at line 3 of standard input: it names no language/);
    expect(err()).toMatch(/no code blocks to run in standard input/);
  });

  it('exits 130 when interrupted before anything ran', async () => {
    const controller = new AbortController();
    controller.abort('SIGINT');
    const { io } = fakeIo('print(1)', controller.signal);
    expect(await runCli(['run', '-'], io)).toBe(130);
  });

  it('exits 125 (as docker run) with a berth: message when no engine answers', async () => {
    const { io, err } = fakeIo('print(1)');
    expect(await runCli(['run', '--quiet', '-'], io)).toBe(125);
    expect(err()).toMatch(/^berth: .*nonexistent\/berth-unit\.sock/);
  });
});

describe('interruptedExitCode', () => {
  it('is 128 + the signal number', () => {
    const abort = (reason: unknown) => {
      const controller = new AbortController();
      controller.abort(reason);
      return interruptedExitCode(controller.signal);
    };
    expect(abort('SIGINT')).toBe(130);
    expect(abort('SIGTERM')).toBe(143);
    expect(abort('SIGPIPE')).toBe(141);
    expect(abort(new Error('x'))).toBe(130);
  });
});
