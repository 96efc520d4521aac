/**
 * `.dockerignore` as the docker CLI reads it (moby's `patternmatcher`): one pattern a line,
 * `#` comments, `!` exceptions, the last matching pattern wins, `*` `?` `[…]` within one path
 * component, `**` across any number of them, and a pattern that matches a folder also matches
 * everything inside it. Pure code: no file system access.
 *
 * @module
 */

import { DockerArgumentError } from '../errors.js';

/** One compiled `.dockerignore` pattern. */
interface Pattern {
  /** The cleaned pattern text, as written (without `!`). */
  readonly text: string;
  /** True for a `!` line: a match re-includes the path. */
  readonly exception: boolean;
  readonly regexp: RegExp;
}

/**
 * Cleans a path or pattern like Go's `filepath.Clean` on POSIX, then drops a leading `/`
 * (patterns are relative to the context root, `/foo` and `foo` are the same).
 */
export function cleanPath(path: string): string {
  const parts: string[] = [];
  for (const part of path.split('/')) {
    if (part === '' || part === '.') continue;
    if (part === '..') {
      if (parts.length > 0 && parts[parts.length - 1] !== '..') parts.pop();
      else if (!path.startsWith('/')) parts.push('..');
      continue;
    }
    parts.push(part);
  }
  return parts.length ? parts.join('/') : '.';
}

/** Translates one pattern to an anchored regular expression, as patternmatcher does. */
function compile(pattern: string, line: string): RegExp {
  let source = '^';
  const n = pattern.length;
  for (let i = 0; i < n; i++) {
    const c = pattern[i] as string;
    if (c === '*') {
      if (pattern[i + 1] === '*') {
        i++; // `**`
        if (i + 1 >= n) source += '.*';
        else if (pattern[i + 1] === '/') {
          // `**/` matches zero or more whole folders.
          i++;
          source += '(?:.*/)?';
        } else source += '.*';
      } else source += '[^/]*';
    } else if (c === '?') source += '[^/]';
    else if (c === '\\') {
      const next = pattern[i + 1];
      if (next === undefined) throw new DockerArgumentError('dockerignore', `pattern ends with a lone backslash: ${line}`);
      i++;
      source += escapeRegExp(next);
    } else if (c === '[') {
      const end = pattern.indexOf(']', i + 2);
      if (end < 0) throw new DockerArgumentError('dockerignore', `unterminated [ in pattern: ${line}`);
      // Go's class syntax (`[a-z]`, `[^0-9]`) reads the same in JavaScript.
      source += pattern.slice(i, end + 1);
      i = end;
    } else source += escapeRegExp(c); // patternmatcher leaves `+`, `(` … as regexp syntax; here they are literal
  }
  try {
    return new RegExp(`${source}$`);
  } catch (cause) {
    throw new DockerArgumentError('dockerignore', `bad pattern ${line}: ${(cause as Error).message}`);
  }
}

function escapeRegExp(c: string): string {
  return /[.*+?^${}()|[\]\\/]/.test(c) ? `\\${c}` : c;
}

/**
 * The patterns of a `.dockerignore` file, ready to test paths. Build one with
 * {@link DockerIgnore.parse}; {@link DockerIgnore.ignores} says whether a context path is left
 * out of the build context.
 */
export class DockerIgnore {
  readonly #patterns: readonly Pattern[];

  private constructor(patterns: readonly Pattern[]) {
    this.#patterns = patterns;
  }

  /**
   * Reads the text of a `.dockerignore` file (or a list of patterns, one per entry).
   * @throws {DockerArgumentError} for a malformed pattern (an unterminated `[`, a trailing `\`).
   */
  static parse(text: string | readonly string[]): DockerIgnore {
    const lines = typeof text === 'string' ? text.split(/\r?\n/) : text;
    const patterns: Pattern[] = [];
    for (const raw of lines) {
      let line = raw.trim();
      if (line === '' || line.startsWith('#')) continue;
      let exception = false;
      if (line.startsWith('!')) {
        exception = true;
        line = line.slice(1).trim();
        if (line === '') throw new DockerArgumentError('dockerignore', 'an exception "!" must name a pattern');
      }
      const cleaned = cleanPath(line);
      patterns.push({ text: cleaned, exception, regexp: compile(cleaned, raw.trim()) });
    }
    return new DockerIgnore(patterns);
  }

  /**
   * The patterns one per line, trimmed and cleaned (`! a/b ` → `!a/b`): the `.dockerignore` sent
   * with a folder context, so that the engine, which applies it again to `COPY`, reads the same
   * patterns (Podman's parser keeps the space after `!`, Docker's drops it).
   */
  toString(): string {
    return this.#patterns.map((p) => `${p.exception ? '!' : ''}${p.text}\n`).join('');
  }

  /** True when there are `!` exceptions (a left-out folder may then still hold files to keep). */
  get hasExceptions(): boolean {
    return this.#patterns.some((p) => p.exception);
  }

  /**
   * True when `path` (relative to the context root, `/`-separated) is left out: the last pattern
   * matching it or one of its parent folders decides.
   */
  ignores(path: string): boolean {
    const file = cleanPath(path);
    const parents = file.split('/');
    parents.pop();
    let ignored = false;
    for (const pattern of this.#patterns) {
      let match = pattern.regexp.test(file);
      if (!match && parents.length > 0) {
        let prefix = '';
        for (const part of parents) {
          prefix = prefix ? `${prefix}/${part}` : part;
          if (pattern.regexp.test(prefix)) {
            match = true;
            break;
          }
        }
      }
      if (match) ignored = !pattern.exception;
    }
    return ignored;
  }

  /**
   * True when a `!` exception could re-include something below the left-out folder `dir`, so the
   * walk must enter it (patternmatcher's rule: an exception whose text starts inside `dir`, or
   * one with wildcards that could reach there).
   */
  mayKeepInside(dir: string): boolean {
    const folder = `${cleanPath(dir)}/`;
    return this.#patterns.some((p) => p.exception && (p.text.startsWith(folder) || /[*?[\\]/.test(p.text)));
  }
}
