import { describe, expect, it } from 'vitest';
import { DEFAULT_IMAGE, languageFromPath, parseCliArgs, UsageError } from '../../../src/cli/args.js';

function usageError(argv: string[]): UsageError {
  try {
    parseCliArgs(argv);
  } catch (error) {
    if (error instanceof UsageError) return error;
    throw error;
  }
  throw new Error(`no usage error for ${argv.join(' ')}`);
}

describe('parseCliArgs', () => {
  it('parses run with defaults', () => {
    expect(parseCliArgs(['run', 'hello.py'])).toEqual({
      command: 'run',
      source: 'hello.py',
      markdown: false,
      language: 'python',
      image: DEFAULT_IMAGE,
      timeout: 60,
      workDir: undefined,
      sandbox: false,
      pull: 'missing',
      quiet: false,
      maxOutput: undefined,
    });
  });

  it('parses every run option', () => {
    expect(
      parseCliArgs([
        'run',
        '--image',
        'img:1',
        '--timeout=5',
        '--work-dir',
        '/tmp/w',
        '--sandbox',
        '--pull',
        'never',
        '-q',
        '--lang',
        'BASH',
        'x.txt',
      ]),
    ).toMatchObject({ image: 'img:1', timeout: 5, workDir: '/tmp/w', sandbox: true, pull: 'never', quiet: true, language: 'bash' });
  });

  it('takes the language from the extension', () => {
    expect(languageFromPath('a.py')).toBe('python');
    expect(languageFromPath('dir.x/a.SH')).toBe('sh');
    expect(languageFromPath('a.bash')).toBe('bash');
    expect(languageFromPath('a.ps1')).toBe('pwsh');
    expect(languageFromPath('a.rb')).toBeUndefined();
    expect(languageFromPath('Makefile')).toBeUndefined();
  });

  it('reads stdin with -, python unless --lang', () => {
    expect(parseCliArgs(['run', '-'])).toMatchObject({ source: '-', language: 'python', markdown: false });
    expect(parseCliArgs(['run', '--lang', 'sh', '-'])).toMatchObject({ source: '-', language: 'sh' });
    expect(parseCliArgs(['run', '--markdown', '-'])).toMatchObject({ source: '-', language: undefined, markdown: true });
  });

  it('treats .md files as markdown, and --markdown any file', () => {
    expect(parseCliArgs(['run', 'reply.md'])).toMatchObject({ markdown: true, language: undefined });
    expect(parseCliArgs(['run', '--markdown', 'reply.txt'])).toMatchObject({ markdown: true });
    expect(parseCliArgs(['run', '--lang', 'sh', 'notes.md'])).toMatchObject({ markdown: false, language: 'sh' });
  });

  it('parses doctor and prune', () => {
    expect(parseCliArgs(['doctor'])).toEqual({ command: 'doctor', image: DEFAULT_IMAGE, json: false });
    expect(parseCliArgs(['doctor', '--json', '--image', 'x'])).toEqual({ command: 'doctor', image: 'x', json: true });
    expect(parseCliArgs(['prune'])).toEqual({ command: 'prune', all: false, dryRun: false });
    expect(parseCliArgs(['prune', '--all', '--dry-run'])).toEqual({ command: 'prune', all: true, dryRun: true });
  });

  it('parses help and version', () => {
    expect(parseCliArgs(['--help'])).toEqual({ command: 'help', topic: undefined });
    expect(parseCliArgs(['-h'])).toEqual({ command: 'help', topic: undefined });
    expect(parseCliArgs(['help', 'run'])).toEqual({ command: 'help', topic: 'run' });
    expect(parseCliArgs(['run', '--help'])).toEqual({ command: 'help', topic: 'run' });
    expect(parseCliArgs(['prune', '-h'])).toEqual({ command: 'help', topic: 'prune' });
    expect(parseCliArgs(['--version'])).toEqual({ command: 'version' });
    expect(parseCliArgs(['doctor', '--version'])).toEqual({ command: 'version' });
  });

  it('rejects bad usage with a message naming the problem', () => {
    expect(usageError([]).message).toMatch(/no command/);
    expect(usageError(['launch']).message).toMatch(/unknown command "launch"/);
    expect(usageError(['--bogus']).message).toMatch(/unknown option --bogus/);
    expect(usageError(['run']).message).toMatch(/needs a FILE/);
    expect(usageError(['run', 'a.py', 'b.py']).message).toMatch(/unexpected argument "b.py"/);
    expect(usageError(['run', '--frob', 'a.py']).message).toMatch(/--frob/);
    expect(usageError(['run', 'a.rb']).message).toMatch(/--lang/);
    expect(usageError(['run', '--lang', 'ruby', 'a.rb']).message).toMatch(/unsupported language "ruby"/);
    expect(usageError(['run', '--markdown', '--lang', 'sh', 'a.md']).message).toMatch(/--markdown/);
    expect(usageError(['run', '--image']).message).toMatch(/--image/);
    expect(usageError(['run', '--image', '', 'a.py']).message).toMatch(/--image needs a value/);
    expect(usageError(['doctor', 'extra']).message).toMatch(/unexpected argument/);
    expect(usageError(['prune', '--json']).message).toMatch(/--json/);
    expect(usageError(['help', 'nope']).message).toMatch(/unknown command/);
    expect(usageError(['run', '--sandbox=yes', 'a.py']).message).toMatch(/--sandbox/);
  });

  it('checks --timeout and --pull', () => {
    for (const bad of ['0', '-1', '1.5', 'abc', '', '1e3']) {
      expect(usageError(['run', `--timeout=${bad}`, 'a.py']).message).toMatch(/--timeout/);
    }
    expect(usageError(['run', '--pull', 'sometimes', 'a.py']).message).toMatch(/--pull must be missing, always or never/);
    expect(usageError(['run', '--timeout', '0', 'a.py']).topic).toBe('run');
  });

  it('parses --max-output BYTES and refuses what is not a whole number of bytes', () => {
    expect(parseCliArgs(['run', '--max-output', '1024', 'a.py'])).toMatchObject({ maxOutput: 1024 });
    expect(parseCliArgs(['run', '--max-output=0', 'a.py'])).toMatchObject({ maxOutput: 0 });
    for (const bad of ['-1', '1.5', 'abc', '', '1e3', '1k']) {
      expect(usageError(['run', `--max-output=${bad}`, 'a.py']).message).toMatch(/--max-output must be a whole number of bytes/);
    }
  });
});
