import { describe, expect, it } from 'vitest';
import { executorNotes, unstreamedParts } from '../../../src/cli/output.js';

describe('unstreamedParts', () => {
  it('is empty when everything was streamed', () => {
    expect(unstreamedParts('a\nb\n', ['a\n', 'b\n'])).toEqual([]);
    expect(unstreamedParts('', [])).toEqual([]);
  });

  it('finds messages after and between the streamed chunks', () => {
    expect(unstreamedParts('Unsupported language: rust', [])).toEqual(['Unsupported language: rust']);
    expect(unstreamedParts('1\nUnsupported language: rust', ['1\n'])).toEqual(['Unsupported language: rust']);
    expect(unstreamedParts('start\n Timeout', ['st', 'art'])).toEqual(['\n Timeout']);
    expect(unstreamedParts('aaa\n[output truncated: more than maxOutputBytes]bbb', ['aaa', 'bbb'])).toEqual([
      '\n[output truncated: more than maxOutputBytes]',
    ]);
  });
});

describe('executorNotes', () => {
  it('drops the timeout and cancellation marks and blank lines', () => {
    expect(executorNotes('x\n Timeout', ['x'])).toEqual([]);
    expect(executorNotes('x\nCode execution was cancelled.', ['x'])).toEqual([]);
    expect(executorNotes('x\nThe container died while the code ran (exit code 137). Call restart() to continue.', ['x'])).toEqual([
      'The container died while the code ran (exit code 137). Call restart() to continue.',
    ]);
  });

  it("names the CLI's --max-output in the truncation note, not the library's option", () => {
    expect(executorNotes('aaa\n[output truncated: more than maxOutputBytes]', ['aaa'])).toEqual([
      '[output truncated: more than --max-output bytes]',
    ]);
  });
});
