import type { CodeBlock } from '../executor/types.js';

/** A fenced code block found in a markdown message, with where it was found. */
export interface MarkdownCodeBlock extends CodeBlock {
  /** The first word of the info string (`python` for ```` ```python title="x" ````), or `''` when there is none. */
  language: string;
  /** The code, lines joined with `\n` (CRLF and CR become LF), without the line break before the closing fence. */
  code: string;
  /** The whole info string, trimmed. */
  info: string;
  /** 1-based line number of the opening fence. */
  line: number;
}

const OPENING = /^([ \t]*)(`{3,}|~{3,})(.*)$/;
const CLOSING = /^([ \t]*)(`{3,}|~{3,})[ \t]*$/;

/** Width of leading white space in columns (tabs stop every 4 columns). */
function indentWidth(whitespace: string): number {
  let width = 0;
  for (const char of whitespace) width = char === '\t' ? width + 4 - (width % 4) : width + 1;
  return width;
}

/** Removes up to `columns` columns of leading white space from a line. */
function stripIndent(line: string, columns: number): string {
  let width = 0;
  let index = 0;
  while (index < line.length && width < columns) {
    const char = line[index];
    if (char === ' ') width += 1;
    else if (char === '\t') {
      const next = width + 4 - (width % 4);
      if (next > columns) break;
      width = next;
    } else break;
    index += 1;
  }
  return line.slice(index);
}

/** The language named by an info string: its first word; `{.python}` and `{python, echo=FALSE}` give `python`. */
function languageOf(info: string): string {
  let word = info.split(/[ \t]/, 1)[0] ?? '';
  if (word.startsWith('{')) {
    word = word.slice(1).replace(/[},].*$/, '');
    if (word === '' && info.startsWith('{')) {
      // `{ .python }`: the first attribute after the brace.
      word = (
        info
          .slice(1)
          .trim()
          .split(/[ \t,}]/, 1)[0] ?? ''
      ).replace(/^\./, '');
    }
    word = word.replace(/^\./, '');
  }
  return word;
}

/**
 * Extracts the fenced code blocks of a markdown message the way a model writes them, in order:
 * ```` ``` ```` and `~~~` fences of three or more characters, closed by a fence of the same
 * character at least as long (so a ```` ```` ```` block may contain ```` ``` ```` lines), the
 * language being the first word of the info string. Follows CommonMark, with two allowances for
 * model output: an opening fence may be indented any amount (fences inside list items), and
 * that indentation is removed from the code's lines; a fence left open runs to the end of the
 * message. A backtick fence whose info string holds a backtick is inline code, not a fence.
 * Blocks without a language are kept, with `language: ''` (as autogen's
 * `extract_markdown_code_blocks` keeps them).
 *
 * @param markdown The message.
 * @returns The blocks, in order of appearance.
 *
 * @example
 * ```ts
 * extractCodeBlocks('Run this:\n```python\nprint(1)\n```\n');
 * // [{ language: 'python', code: 'print(1)', info: 'python', line: 2 }]
 * ```
 */
export function extractCodeBlocks(markdown: string): MarkdownCodeBlock[] {
  const lines = markdown.replace(/^\uFEFF/, '').split(/\r\n|\r|\n/);
  const blocks: MarkdownCodeBlock[] = [];
  let index = 0;
  while (index < lines.length) {
    const opening = OPENING.exec(lines[index] ?? '');
    const fence = opening?.[2] ?? '';
    const rest = opening?.[3] ?? '';
    if (!opening || (fence.startsWith('`') && rest.includes('`'))) {
      index += 1;
      continue;
    }
    const indent = indentWidth(opening[1] ?? '');
    const info = rest.trim();
    const body: string[] = [];
    let end = index + 1;
    let closed = false;
    for (; end < lines.length; end += 1) {
      const line = lines[end] ?? '';
      const closing = CLOSING.exec(line);
      const closingFence = closing?.[2] ?? '';
      if (closing && closingFence[0] === fence[0] && closingFence.length >= fence.length && indentWidth(closing[1] ?? '') <= indent + 3) {
        closed = true;
        break;
      }
      body.push(stripIndent(line, indent));
    }
    // An unterminated block runs to the end; the message's final line break is not code.
    if (!closed && body.length > 0 && body[body.length - 1] === '') body.pop();
    blocks.push({ language: languageOf(info), code: body.join('\n'), info, line: index + 1 });
    index = end + 1;
  }
  return blocks;
}
