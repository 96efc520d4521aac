import { describe, expect, it } from 'vitest';
import { extractCodeBlocks } from '../../../src/cli/markdown.js';

const pick = (markdown: string) => extractCodeBlocks(markdown).map(({ language, code }) => ({ language, code }));

describe('extractCodeBlocks', () => {
  it('finds the blocks of a model-style message, in order', () => {
    const message = [
      'Let me compute that.',
      '',
      '```python',
      'print(1 + 1)',
      '```',
      '',
      'Then check the machine:',
      '```bash',
      'uname -a',
      'echo done',
      '```',
      'That is all.',
    ].join('\n');
    expect(extractCodeBlocks(message)).toEqual([
      { language: 'python', code: 'print(1 + 1)', info: 'python', line: 3 },
      { language: 'bash', code: 'uname -a\necho done', info: 'bash', line: 8 },
    ]);
  });

  it('returns nothing for text without fences, and ignores inline triple backticks', () => {
    expect(extractCodeBlocks('')).toEqual([]);
    expect(extractCodeBlocks('just text\nno code')).toEqual([]);
    expect(extractCodeBlocks('use ```inline``` spans\nand `code`')).toEqual([]);
  });

  it('keeps a block without a language, with an empty language', () => {
    expect(pick('```\nls\n```')).toEqual([{ language: '', code: 'ls' }]);
  });

  it('takes the first word of the info string as the language', () => {
    expect(pick('```python title="x.py" {linenos}\nprint(1)\n```')).toEqual([{ language: 'python', code: 'print(1)' }]);
    expect(pick('```  sh  \necho\n```')).toEqual([{ language: 'sh', code: 'echo' }]);
    expect(extractCodeBlocks('```python title="x"\n```')[0]?.info).toBe('python title="x"');
    expect(pick('```{.python}\nx\n```')).toEqual([{ language: 'python', code: 'x' }]);
    expect(pick('```{ .python }\nx\n```')).toEqual([{ language: 'python', code: 'x' }]);
    expect(pick('```{r, echo=FALSE}\nx\n```')).toEqual([{ language: 'r', code: 'x' }]);
  });

  it('keeps the language as written (the executor lower-cases it)', () => {
    expect(pick('```Python\nx\n```')).toEqual([{ language: 'Python', code: 'x' }]);
  });

  it('lets a longer fence hold shorter ones, and nested backticks in code', () => {
    const message = ['````markdown', 'Here:', '```python', 'print("```")', '```', '````', '```sh', 'echo "``` not a fence"', '```'].join(
      '\n',
    );
    expect(pick(message)).toEqual([
      { language: 'markdown', code: 'Here:\n```python\nprint("```")\n```' },
      { language: 'sh', code: 'echo "``` not a fence"' },
    ]);
  });

  it('closes only with a fence of the same character, at least as long, with nothing after it', () => {
    const message = ['~~~python', 'a = """', '```', '~~', '~~~ not closing', '"""', '~~~~'].join('\n');
    expect(pick(message)).toEqual([{ language: 'python', code: 'a = """\n```\n~~\n~~~ not closing\n"""' }]);
    expect(pick('```python\nx = 1\n```python\ny = 2\n```')).toEqual([{ language: 'python', code: 'x = 1\n```python\ny = 2' }]);
    expect(pick('```\na\n```   \nb')).toEqual([{ language: '', code: 'a' }]);
  });

  it('reads ~~~ fences, whose info string may hold backticks', () => {
    expect(pick('~~~bash `x`\necho hi\n~~~')).toEqual([{ language: 'bash', code: 'echo hi' }]);
    expect(pick('```bash `x`\necho hi')).toEqual([]);
  });

  it('removes the fence indentation from the code (fences in list items)', () => {
    const message = ['1. Install:', '   ```bash', '   pip install x', '     indented more', '  less', '   ```', '2. Done'].join('\n');
    expect(pick(message)).toEqual([{ language: 'bash', code: 'pip install x\n  indented more\nless' }]);
    const deep = ['- a', '  - b', '        ```python', '        def f():', '            return 1', '        ```'].join('\n');
    expect(pick(deep)).toEqual([{ language: 'python', code: 'def f():\n    return 1' }]);
  });

  it('does not close on a fence indented deeper than the opening one plus three spaces', () => {
    const message = ['```python', 'def f():', '    s = """', '    ```', '    """', '```'].join('\n');
    expect(pick(message)).toEqual([{ language: 'python', code: 'def f():\n    s = """\n    ```\n    """' }]);
  });

  it('handles tabs in the indentation', () => {
    expect(pick('\t```sh\n\techo a\n\t\techo b\n\t```')).toEqual([{ language: 'sh', code: 'echo a\n\techo b' }]);
  });

  it('handles CRLF and CR line endings', () => {
    expect(pick('text\r\n```python\r\nprint(1)\r\nprint(2)\r\n```\r\nmore\r\n')).toEqual([
      { language: 'python', code: 'print(1)\nprint(2)' },
    ]);
    expect(pick('```sh\recho 1\r```')).toEqual([{ language: 'sh', code: 'echo 1' }]);
  });

  it('runs an unterminated fence to the end of the message', () => {
    expect(pick('```python\nprint(1)\nprint(2)\n')).toEqual([{ language: 'python', code: 'print(1)\nprint(2)' }]);
    expect(pick('```python\nprint(1)\n\n')).toEqual([{ language: 'python', code: 'print(1)\n' }]);
    expect(pick('```python')).toEqual([{ language: 'python', code: '' }]);
    expect(pick('```sh\necho 1\n```\ntext\n~~~python\nx')).toEqual([
      { language: 'sh', code: 'echo 1' },
      { language: 'python', code: 'x' },
    ]);
  });

  it('keeps empty blocks, blank lines and trailing spaces inside code', () => {
    expect(pick('```sh\n```')).toEqual([{ language: 'sh', code: '' }]);
    expect(pick('```sh\n\necho a  \n\n```')).toEqual([{ language: 'sh', code: '\necho a  \n' }]);
  });

  it('ignores a leading byte order mark and counts lines from 1', () => {
    const blocks = extractCodeBlocks('\uFEFF```sh\necho\n```\n\n\n```python\nx\n```');
    expect(blocks.map((block) => [block.language, block.line])).toEqual([
      ['sh', 1],
      ['python', 6],
    ]);
  });
});
