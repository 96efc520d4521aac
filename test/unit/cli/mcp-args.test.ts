import { describe, expect, it } from 'vitest';
import { DEFAULT_IMAGE, DEFAULT_TIMEOUT, parseCliArgs, UsageError, usage } from '../../../src/cli/args.js';

describe('berth mcp arguments', () => {
  it('is sandboxed by default, with the run defaults', () => {
    expect(parseCliArgs(['mcp'])).toEqual({
      command: 'mcp',
      image: DEFAULT_IMAGE,
      timeout: DEFAULT_TIMEOUT,
      workDir: undefined,
      persistent: false,
      maxOutput: undefined,
      sandbox: true,
      network: undefined,
      labels: {},
      pull: 'missing',
    });
  });

  it('takes every option', () => {
    const argv = ['mcp', '--image', 'img', '--timeout', '9', '--work-dir', '/w', '--persistent', '--max-output', '2048'];
    argv.push('--no-sandbox', '--network', 'bridge', '--label', 'a=1', '--label', 'b', '--label', 'c=x=y', '--pull', 'never');
    expect(parseCliArgs(argv)).toEqual({
      command: 'mcp',
      image: 'img',
      timeout: 9,
      workDir: '/w',
      persistent: true,
      maxOutput: 2048,
      sandbox: false,
      network: 'bridge',
      labels: { a: '1', b: '', c: 'x=y' },
      pull: 'never',
    });
  });

  it.each([
    [['mcp', '--timeout', '0'], /--timeout must be a whole number, at least 1/],
    [['mcp', '--max-output', '1.5'], /--max-output must be a whole number, at least 0/],
    [['mcp', '--sandbox', '--no-sandbox'], /contradict/],
    [['mcp', '--label', '=x'], /--label must be KEY=VALUE/],
    [['mcp', '--pull', 'sometimes'], /--pull must be missing, always or never/],
    [['mcp', 'extra'], /unexpected argument "extra"/],
    [['mcp', '--nope'], /Unknown option '--nope'/],
  ])('refuses %j', (argv, message) => {
    let caught: unknown;
    try {
      parseCliArgs(argv);
    } catch (error) {
      caught = error;
    }
    expect(caught).toBeInstanceOf(UsageError);
    expect((caught as UsageError).message).toMatch(message);
    expect((caught as UsageError).topic).toBe('mcp');
  });

  it('has help with the MCP client config', () => {
    expect(parseCliArgs(['mcp', '--help'])).toEqual({ command: 'help', topic: 'mcp' });
    expect(parseCliArgs(['help', 'mcp'])).toEqual({ command: 'help', topic: 'mcp' });
    expect(usage('mcp')).toContain('{ "command": "npx", "args": ["berth", "mcp"] }');
    expect(usage(undefined)).toMatch(/mcp +Serve MCP on stdio/);
  });
});
