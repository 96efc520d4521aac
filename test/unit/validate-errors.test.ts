import { describe, expect, it } from 'vitest';
import {
  DockerApiError,
  DockerArgumentError,
  DockerConnectionError,
  DockerError,
  DockerStreamError,
  isDockerApiError,
  isDockerArgumentError,
  isDockerConnectionError,
  isDockerError,
  isDockerStreamError,
  osCodeOf,
  reasonForStatus,
} from '../../src/engine/errors.js';
import { checkContainerId, checkContainerPath, checkExecId, checkImageRef, splitImageRef } from '../../src/engine/validate.js';

const HEX64 = '4f6b1e6a0d3c2b9e8a7f6e5d4c3b2a190817161514131211100f0e0d0c0b0a09';
const UUID = '123e4567-e89b-12d3-a456-426614174000';

function argumentError(fn: () => unknown): DockerArgumentError {
  try {
    fn();
  } catch (error) {
    expect(error).toBeInstanceOf(DockerArgumentError);
    return error as DockerArgumentError;
  }
  throw new Error('expected a DockerArgumentError');
}

describe('checkContainerId', () => {
  it.each([HEX64, HEX64.slice(0, 12), `autogen-code-exec-${UUID}`, 'berth_sandbox.1', '/my-container', 'a'.repeat(256)])(
    'accepts %s',
    (id) => {
      expect(checkContainerId(id)).toBe(id);
    },
  );

  it.each([
    ['empty', ''],
    ['dot-dot', '..'],
    ['a path', 'a/b'],
    ['a leading dash', '-rm'],
    ['a leading underscore', '_x'],
    ['a space', 'my container'],
    ['a NUL', 'abc\0def'],
    ['a trailing newline', 'abc\n'],
    ['a query', 'abc?force=1'],
    ['over-long', 'a'.repeat(257)],
  ])('rejects %s', (_label, id) => {
    const error = argumentError(() => checkContainerId(id));
    expect(error.argument).toBe('id');
    expect(error.code).toBe('BERTH_ERR_INVALID_ARGUMENT');
  });

  it.each([undefined, null, 42, {}])('rejects the non-string %s', (id) => {
    argumentError(() => checkContainerId(id));
  });

  it('names the argument it was given and quotes the value', () => {
    const error = argumentError(() => checkContainerId('a b', 'containerId'));
    expect(error.argument).toBe('containerId');
    expect(error.message).toMatch(/^containerId: .*"a b"/);
  });

  it('shortens a huge value in the message', () => {
    const error = argumentError(() => checkContainerId('x/'.repeat(10_000)));
    expect(error.message.length).toBeLessThan(300);
  });
});

describe('checkExecId', () => {
  it.each([HEX64, 'ab12'])('accepts the hex ID %s', (id) => {
    expect(checkExecId(id)).toBe(id);
  });

  it.each(['', 'xyz', HEX64.toUpperCase(), `${HEX64}0`, `${HEX64.slice(0, 10)}\n`, `../${HEX64.slice(0, 8)}`, 'ab 12'])(
    'rejects %j',
    (id) => {
      expect(argumentError(() => checkExecId(id)).argument).toBe('execId');
    },
  );
});

describe('checkImageRef', () => {
  it.each([
    'python:3-slim',
    'python',
    'busybox:1.36',
    'localhost:5000/a/b:tag',
    'docker.io/library/python:3.11-slim-bookworm',
    'ghcr.io/org/team/app:v1.2.3',
    'Registry.Example.com/team/app',
    '[::1]:5000/a',
    'berth-test/busybox:latest',
    `busybox@sha256:${HEX64}`,
    `registry.example.com:443/team/app:1@sha256:${HEX64}`,
    `sha256:${HEX64}`,
    HEX64,
    HEX64.slice(0, 12),
    'a__b',
    'a--b',
  ])('accepts %s', (ref) => {
    expect(checkImageRef(ref)).toBe(ref);
  });

  it.each([
    ['empty', ''],
    ['an upper-case name', 'UPPER:tag'],
    ['an upper-case first path component (not a registry)', 'Upper/x'],
    ['an upper-case path component under a registry', 'ghcr.io/Org/img'],
    ['dot-dot', '..'],
    ['a space', 'python:3 slim'],
    ['a NUL', 'python\0'],
    ['a trailing newline', 'python\n'],
    ['an empty path component', 'a//b'],
    ['only a tag', ':tag'],
    ['an empty tag', 'python:'],
    ['a short digest', 'python@sha256:abc'],
    ['a leading dash', '-a'],
    ['a trailing dash', 'a-'],
    ['three underscores', 'a___b'],
    ['a tag over 128 characters', `x:${'t'.repeat(129)}`],
    ['over-long', `${'a/'.repeat(300)}a`],
  ])('rejects %s', (_label, ref) => {
    const error = argumentError(() => checkImageRef(ref));
    expect(error.argument).toBe('image');
  });

  it.each([undefined, 3, ['python']])('rejects the non-string %j', (ref) => {
    argumentError(() => checkImageRef(ref));
  });
});

describe('checkContainerPath and splitImageRef', () => {
  it('accepts absolute paths and rejects relative ones and NUL', () => {
    expect(checkContainerPath('/workspace/a b.py')).toBe('/workspace/a b.py');
    expect(argumentError(() => checkContainerPath('workspace')).argument).toBe('path');
    argumentError(() => checkContainerPath('/a\0b'));
  });

  it('splits repository, tag and digest, defaulting the tag to latest', () => {
    expect(splitImageRef('python')).toEqual({ repo: 'python', tag: 'latest', digest: undefined });
    expect(splitImageRef('localhost:5000/a/b:tag')).toEqual({ repo: 'localhost:5000/a/b', tag: 'tag', digest: undefined });
    expect(splitImageRef('localhost:5000/a/b')).toEqual({ repo: 'localhost:5000/a/b', tag: 'latest', digest: undefined });
    expect(splitImageRef(`busybox@sha256:${HEX64}`)).toEqual({ repo: 'busybox', tag: undefined, digest: `sha256:${HEX64}` });
  });
});

describe('error guards', () => {
  const BRAND = Symbol.for('berth.error');
  /** What an error thrown by another copy of the package looks like: its own classes, the shared brand. */
  const foreign = (code: string): object => Object.assign(new Error('from another copy'), { [BRAND]: code, code });

  it.each([
    ['BERTH_ERR_CONNECTION', isDockerConnectionError],
    ['BERTH_ERR_API', isDockerApiError],
    ['BERTH_ERR_STREAM', isDockerStreamError],
    ['BERTH_ERR_INVALID_ARGUMENT', isDockerArgumentError],
  ] as const)('recognises a %s error from another copy of the package', (code, guard) => {
    const error = foreign(code);
    expect(error).not.toBeInstanceOf(DockerError);
    expect(guard(error)).toBe(true);
    expect(isDockerError(error)).toBe(true);
    for (const other of [isDockerConnectionError, isDockerApiError, isDockerStreamError, isDockerArgumentError]) {
      if (other !== guard) expect(other(error)).toBe(false);
    }
  });

  it('recognises a plain object that carries only the brand', () => {
    const plain = { [BRAND]: 'BERTH_ERR_API' };
    expect(isDockerApiError(plain)).toBe(true);
    expect(isDockerError(plain)).toBe(true);
  });

  it('recognises a code a newer copy may add as a DockerError but not as a specific kind', () => {
    const newer = foreign('BERTH_ERR_RATE_LIMIT');
    expect(isDockerError(newer)).toBe(true);
    expect(isDockerApiError(newer)).toBe(false);
  });

  it.each([
    ['no brand, same name and code', Object.assign(new Error('x'), { name: 'DockerApiError', code: 'BERTH_ERR_API' })],
    ['a non-registered symbol with the same description', { [Symbol('berth.error')]: 'BERTH_ERR_API' }],
    ['a string key instead of the symbol', { 'berth.error': 'BERTH_ERR_API' }],
    ['a non-string brand', { [Symbol.for('berth.error')]: true }],
    ['a numeric brand', { [Symbol.for('berth.error')]: 1 }],
    ['a brand that is not a Berth code', { [Symbol.for('berth.error')]: 'EACCES' }],
    ['null', null],
    ['undefined', undefined],
    ['a string', 'BERTH_ERR_API'],
    ['a plain Error', new Error('BERTH_ERR_API')],
  ])('rejects a look-alike: %s', (_label, value) => {
    expect(isDockerError(value)).toBe(false);
    expect(isDockerApiError(value)).toBe(false);
    expect(isDockerConnectionError(value)).toBe(false);
  });

  it('brands real instances with a non-enumerable property that survives no spreading', () => {
    const error = new DockerApiError({ statusCode: 404, method: 'GET', path: '/v1.41/x', daemonMessage: 'gone' });
    expect(isDockerApiError(error)).toBe(true);
    expect(Object.keys(error)).not.toContain(String(BRAND));
    expect(JSON.stringify(Object.getOwnPropertySymbols(error).map(String))).toContain('berth.error');
    // A copy made by spreading drops the brand (and its prototype): it is no longer a Berth error.
    expect(isDockerApiError({ ...error })).toBe(false);
  });

  it('gives every class its stable code and name', () => {
    const cases: Array<[DockerError, string, string]> = [
      [new DockerError('x'), 'BERTH_ERR', 'DockerError'],
      [new DockerConnectionError('x', { tried: ['unix:///a'] }), 'BERTH_ERR_CONNECTION', 'DockerConnectionError'],
      [new DockerApiError({ statusCode: 409, method: 'POST', path: '/p', daemonMessage: 'm' }), 'BERTH_ERR_API', 'DockerApiError'],
      [new DockerStreamError('x'), 'BERTH_ERR_STREAM', 'DockerStreamError'],
      [new DockerArgumentError('arg', 'x'), 'BERTH_ERR_INVALID_ARGUMENT', 'DockerArgumentError'],
    ];
    for (const [error, code, name] of cases) {
      expect(error.code).toBe(code);
      expect(error.name).toBe(name);
      expect(isDockerError(error)).toBe(true);
      expect(error).toBeInstanceOf(Error);
    }
  });

  it('reads the OS code from the cause chain of a connection error', () => {
    const cause = new Error('outer', { cause: Object.assign(new Error('connect ENOENT /x'), { code: 'ENOENT' }) });
    expect(new DockerConnectionError('x', { tried: [], cause }).osCode).toBe('ENOENT');
    expect(osCodeOf({ code: 'UND_ERR_SOCKET' })).toBeUndefined();
    expect(osCodeOf('ENOENT')).toBeUndefined();
  });

  it('maps statuses to reasons', () => {
    expect([304, 400, 401, 403, 404, 409, 500, 503, 502, 200].map(reasonForStatus)).toEqual([
      'notModified',
      'invalidArgument',
      'unauthorized',
      'forbidden',
      'notFound',
      'conflict',
      'internal',
      'unavailable',
      'unknown',
      'unknown',
    ]);
  });
});
