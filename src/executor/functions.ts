/**
 * User-defined functions for the executor: the TypeScript counterpart of autogen's
 * `FunctionWithRequirementsStr`. A function is Python source text plus the pip packages and the
 * global imports it needs. The executor writes every function into one module (`functions.py` by
 * default) in the workspace, so code can `from functions import name`.
 *
 * Nothing here runs Python: the source is checked by a small Python tokenizer that knows about
 * strings (including f-strings), comments, brackets and line continuations.
 *
 * @module
 */

/** `import name as alias`, or `name as alias` inside an {@link ImportFromModule}. */
export interface Alias {
  /** The imported name, e.g. `pandas`. */
  name: string;
  /** The local name, e.g. `pd`. */
  alias: string;
}

/** `from module import a, b as c`. */
export interface ImportFromModule {
  /** The module, e.g. `pandas` or `os.path`. */
  module: string;
  /** The names to import; at least one. */
  imports: Array<string | Alias>;
}

/** One global import of a function: `import x` (a string), `import x as y` or `from m import a`. */
export type Import = string | Alias | ImportFromModule;

/** Python source of exactly one function, with the pip packages it needs and its global imports. */
export interface FunctionWithRequirements {
  /** Python source holding exactly one top-level `def` or `async def` (decorators and constants allowed). */
  func: string;
  /** pip requirement specifiers the function needs, e.g. `['pandas>=2']`. Default none. */
  pythonPackages?: string[];
  /** Imports written at the top of the functions module. Default none. */
  globalImports?: Import[];
  /** The function's name, as {@link functionWithRequirements} found it. Parsed from `func` when absent. */
  readonly name?: string;
}

/**
 * The prompt text autogen's executors offer for user-defined functions (`FUNCTION_PROMPT_TEMPLATE`),
 * with the placeholders `$module_name` and `$functions`.
 */
export const FUNCTION_PROMPT_TEMPLATE: string =
  'You have access to the following user defined functions. They can be accessed from the module called `$module_name` by their function names.\n' +
  '\n' +
  'For example, if there was a function called `foo` you could import it by writing `from $module_name import foo`\n' +
  '\n' +
  '$functions';

/** The error autogen raises when the source does not hold exactly one function. */
const EXACTLY_ONE = 'The string must contain exactly one function';

const PYTHON_KEYWORDS: ReadonlySet<string> = new Set([
  'False',
  'None',
  'True',
  'and',
  'as',
  'assert',
  'async',
  'await',
  'break',
  'class',
  'continue',
  'def',
  'del',
  'elif',
  'else',
  'except',
  'finally',
  'for',
  'from',
  'global',
  'if',
  'import',
  'in',
  'is',
  'lambda',
  'nonlocal',
  'not',
  'or',
  'pass',
  'raise',
  'return',
  'try',
  'while',
  'with',
  'yield',
]);

// Python's str.isidentifier(): XID_Start or `_`, then XID_Continue.
const IDENTIFIER = /^[\p{XID_Start}_][\p{XID_Continue}]*$/u;
const WORD = /[\p{XID_Continue}]+/uy;
const STRING_PREFIX = /^(?:[rRuUbBfFtT]|[bBfFtT][rR]|[rR][bBfFtT])$/;

/**
 * True when `name` can be imported as a module: a Python identifier (as `str.isidentifier()`, so
 * Unicode letters are accepted) that is not a Python keyword. autogen only checked
 * `isidentifier()`, which lets keywords such as `class` through although they cannot be imported.
 */
export function isValidModuleName(name: string): boolean {
  return typeof name === 'string' && IDENTIFIER.test(name) && !PYTHON_KEYWORDS.has(name);
}

// ---------------------------------------------------------------------------------------------
// A small Python tokenizer: enough to find top-level statements, brackets and string literals.

type TokenKind = 'name' | 'string' | 'op' | 'newline' | 'comment';

interface Token {
  kind: TokenKind;
  start: number;
  end: number;
  /** Source text of the token. */
  text: string;
}

function compileError(detail: string): Error {
  return new Error(`Could not compile function: ${detail}`);
}

function lineOf(src: string, at: number): number {
  let line = 1;
  for (let i = 0; i < at && i < src.length; i++) if (src[i] === '\n') line++;
  return line;
}

/** Length of the string prefix at `i` when a string literal starts there (0 for none), else -1. */
function stringStart(src: string, i: number): number {
  const c = src[i];
  if (c === '"' || c === "'") return 0;
  WORD.lastIndex = i;
  const m = WORD.exec(src);
  if (m === null) return -1;
  const q = src[i + m[0].length];
  return (q === '"' || q === "'") && STRING_PREFIX.test(m[0]) ? m[0].length : -1;
}

/** Scans the string literal whose prefix starts at `i`; returns the index after its closing quote. */
function scanString(src: string, i: number, prefixLength: number): number {
  const prefix = src.slice(i, i + prefixLength);
  const qpos = i + prefixLength;
  const q = src[qpos] as string;
  const q3 = q + q + q;
  const triple = src.startsWith(q3, qpos);
  const formatted = /[fFtT]/.test(prefix);
  let j = qpos + (triple ? 3 : 1);
  while (j < src.length) {
    const c = src[j];
    if (c === '\\') {
      j += 2;
      continue;
    }
    if (triple ? src.startsWith(q3, j) : c === q) return j + (triple ? 3 : 1);
    if (!triple && c === '\n') break;
    if (formatted && c === '{') {
      if (src[j + 1] === '{') {
        j += 2;
        continue;
      }
      j = scanReplacementField(src, j + 1);
      continue;
    }
    j++;
  }
  throw compileError(`unterminated string literal (line ${lineOf(src, i)})`);
}

/** Scans an f-string replacement field after its `{`; returns the index after its `}`. */
function scanReplacementField(src: string, i: number): number {
  let depth = 0;
  while (i < src.length) {
    const p = stringStart(src, i);
    if (p >= 0) {
      i = scanString(src, i, p);
      continue;
    }
    const c = src[i];
    if (c === '(' || c === '[' || c === '{') depth++;
    else if (c === ')' || c === ']') depth--;
    else if (c === '}') {
      if (depth === 0) return i + 1;
      depth--;
    } else if (c === ':' && depth === 0) return scanFormatSpec(src, i + 1);
    i++;
  }
  throw compileError('unterminated f-string replacement field');
}

/** Scans an f-string format spec (literal text with nested fields); returns the index after its `}`. */
function scanFormatSpec(src: string, i: number): number {
  while (i < src.length) {
    const c = src[i];
    if (c === '{') {
      i = scanReplacementField(src, i + 1);
      continue;
    }
    if (c === '}') return i + 1;
    i++;
  }
  throw compileError('unterminated f-string format spec');
}

/** Tokenizes Python source (LF line endings). Whitespace is dropped; `newline` ends a logical line. */
function tokenize(src: string): Token[] {
  const tokens: Token[] = [];
  const push = (kind: TokenKind, start: number, end: number): void => {
    tokens.push({ kind, start, end, text: src.slice(start, end) });
  };
  const open: Array<{ char: string; at: number }> = [];
  let i = 0;
  while (i < src.length) {
    const c = src[i] as string;
    if (c === ' ' || c === '\t' || c === '\f' || c === '\r') {
      i++;
      continue;
    }
    if (c === '\\' && src[i + 1] === '\n') {
      i += 2;
      continue;
    }
    if (c === '\n') {
      if (open.length === 0) push('newline', i, i + 1);
      i++;
      continue;
    }
    if (c === '#') {
      const nl = src.indexOf('\n', i);
      const end = nl < 0 ? src.length : nl;
      push('comment', i, end);
      i = end;
      continue;
    }
    const p = stringStart(src, i);
    if (p >= 0) {
      const end = scanString(src, i, p);
      push('string', i, end);
      i = end;
      continue;
    }
    WORD.lastIndex = i;
    const word = WORD.exec(src);
    if (word !== null) {
      push('name', i, i + word[0].length);
      i += word[0].length;
      continue;
    }
    if (c === '(' || c === '[' || c === '{') open.push({ char: c, at: i });
    else if (c === ')' || c === ']' || c === '}') {
      const top = open.pop();
      if (top === undefined || '([{'.indexOf(top.char) !== ')]}'.indexOf(c)) {
        throw compileError(`unmatched '${c}' (line ${lineOf(src, i)})`);
      }
    }
    // Surrogate pairs (non-BMP symbols) stay together.
    const width = (src.codePointAt(i) ?? 0) > 0xffff ? 2 : 1;
    push('op', i, i + width);
    i += width;
  }
  const unclosed = open.at(-1);
  if (unclosed !== undefined) throw compileError(`'${unclosed.char}' was never closed (line ${lineOf(src, unclosed.at)})`);
  return tokens;
}

interface LogicalLine {
  /** Column of the line's first token. */
  indent: number;
  /** Tokens without comments; the `newline` token is not included. */
  tokens: Token[];
}

function logicalLines(src: string, tokens: readonly Token[]): LogicalLine[] {
  const lines: LogicalLine[] = [];
  let current: Token[] = [];
  const flush = (): void => {
    const first = current[0];
    if (first !== undefined) lines.push({ indent: first.start - (src.lastIndexOf('\n', first.start - 1) + 1), tokens: current });
    current = [];
  };
  for (const t of tokens) {
    if (t.kind === 'comment') continue;
    if (t.kind === 'newline') flush();
    else current.push(t);
  }
  flush();
  return lines;
}

// ---------------------------------------------------------------------------------------------
// The one function in a source string.

interface ParsedFunction {
  name: string;
  isAsync: boolean;
  /** Type parameters (`[T]`, Python 3.12+), normalised, or ''. */
  typeParams: string;
  /** `(a: int, b: int) -> int`. */
  signature: string;
  /** The docstring's text as written between the quotes, or undefined. */
  docstring: string | undefined;
}

function normaliseSource(func: unknown): string {
  if (typeof func !== 'string') {
    throw new TypeError(`func must be a string of Python source holding one function, got ${func === null ? 'null' : typeof func}`);
  }
  const src = func.replace(/^\uFEFF/, '').replace(/\r\n?/g, '\n');
  if (src.trim() === '') throw new Error('func must be non-empty Python source holding one function');
  return src;
}

const cache = new Map<string, ParsedFunction>();

function parseFunction(func: unknown): ParsedFunction {
  const src = normaliseSource(func);
  const hit = cache.get(src);
  if (hit !== undefined) return hit;
  const parsed = parseSource(src);
  if (cache.size >= 256) cache.clear();
  cache.set(src, parsed);
  return parsed;
}

function parseSource(src: string): ParsedFunction {
  const tokens = tokenize(src);
  const lines = logicalLines(src, tokens);
  const first = lines[0];
  if (first !== undefined && first.indent > 0) {
    throw compileError(
      `unexpected indent (line ${lineOf(src, first.tokens[0]?.start ?? 0)}); the source must start at column 0, dedent it first`,
    );
  }
  const defs = lines.filter((l) => {
    if (l.indent !== 0) return false;
    const [a, b] = l.tokens;
    return a?.text === 'def' || (a?.text === 'async' && b?.text === 'def');
  });
  const def = defs[0];
  if (def === undefined || defs.length !== 1) throw new Error(EXACTLY_ONE);

  const ts = def.tokens;
  const isAsync = ts[0]?.text === 'async';
  let k = isAsync ? 2 : 1;
  const nameToken = ts[k];
  if (nameToken === undefined || nameToken.kind !== 'name' || !IDENTIFIER.test(nameToken.text) || PYTHON_KEYWORDS.has(nameToken.text)) {
    throw compileError(`invalid syntax after 'def' (line ${lineOf(src, ts[0]?.start ?? 0)})`);
  }
  k++;
  let typeParams = '';
  if (ts[k]?.text === '[') {
    const close = matching(ts, k);
    typeParams = joinTokens(src, ts.slice(k, close + 1), false);
    k = close + 1;
  }
  if (ts[k]?.text !== '(') throw compileError(`expected '(' after the function name '${nameToken.text}'`);
  const closeParen = matching(ts, k);
  let signature = joinTokens(src, ts.slice(k, closeParen + 1), true);
  k = closeParen + 1;
  if (ts[k]?.text === '-' && ts[k + 1]?.text === '>' && ts[k + 1]?.start === ts[k]?.end) {
    const colon = colonAtDepth0(ts, k + 2);
    if (colon < 0 || colon === k + 2) throw compileError(`invalid return annotation of '${nameToken.text}'`);
    signature += ` -> ${joinTokens(src, ts.slice(k + 2, colon), false)}`;
    k = colon;
  }
  if (ts[k]?.text !== ':') throw compileError(`expected ':' to end the definition of '${nameToken.text}'`);

  // The first statement of the body: on the same logical line, or the next line.
  let body = ts.slice(k + 1);
  if (body.length === 0) {
    const next = lines[lines.indexOf(def) + 1];
    body = next !== undefined && next.indent > 0 ? next.tokens : [];
  }
  return { name: nameToken.text, isAsync, typeParams, signature, docstring: docstringOf(body) };
}

/** Index of the bracket closing the one at `open`. */
function matching(ts: readonly Token[], open: number): number {
  let depth = 0;
  for (let i = open; i < ts.length; i++) {
    const t = ts[i] as Token;
    if (t.kind !== 'op') continue;
    if (t.text === '(' || t.text === '[' || t.text === '{') depth++;
    else if (t.text === ')' || t.text === ']' || t.text === '}') {
      depth--;
      if (depth === 0) return i;
    }
  }
  throw compileError('unbalanced brackets in the function definition');
}

/** Index of the first `:` at bracket depth 0 from `from`, or -1. */
function colonAtDepth0(ts: readonly Token[], from: number): number {
  let depth = 0;
  for (let i = from; i < ts.length; i++) {
    const t = ts[i] as Token;
    if (t.kind !== 'op') continue;
    if (t.text === '(' || t.text === '[' || t.text === '{') depth++;
    else if (t.text === ')' || t.text === ']' || t.text === '}') depth--;
    else if (t.text === ':' && depth === 0) return i;
  }
  return -1;
}

const OPENERS = new Set(['(', '[', '{']);
const CLOSERS = new Set([')', ']', '}']);
// Characters that, glued before `=`, make an operator (`==`, `<=`, `:=`, `+=` …) rather than a default.
const OPERATOR_CHARS = new Set(['=', '<', '>', '!', ':', '+', '-', '*', '/', '%', '&', '|', '^', '@']);

/** True when the `=` token at `i` stands alone (a parameter default, not part of `==`, `<=`, `:=` …). */
function isLoneEquals(ts: readonly Token[], i: number): boolean {
  const t = ts[i];
  if (t === undefined || t.kind !== 'op' || t.text !== '=') return false;
  const prev = ts[i - 1];
  const next = ts[i + 1];
  const gluedBefore = prev !== undefined && prev.kind === 'op' && prev.end === t.start && OPERATOR_CHARS.has(prev.text);
  const gluedAfter = next !== undefined && next.kind === 'op' && next.text === '=' && next.start === t.end;
  return !gluedBefore && !gluedAfter;
}

/**
 * Joins tokens on one line the way `inspect.signature` prints a parameter list: a single space
 * where the source had any whitespace, none just inside brackets or before commas, one after
 * commas; with `parameterList`, also `name: annotation`, ` = ` before an annotated default and `=`
 * before a plain one, and no trailing comma before the closing parenthesis. Strings stay verbatim.
 */
function joinTokens(src: string, ts: readonly Token[], parameterList: boolean): string {
  let out = '';
  let depth = 0;
  let annotated = false;
  for (let i = 0; i < ts.length; i++) {
    const t = ts[i] as Token;
    const prev = ts[i - 1];
    const top = parameterList && depth === 1;
    if (top && t.text === ',' && i === ts.length - 2) continue; // trailing comma before the last ')'
    let space = prev !== undefined && /\s/.test(src.slice(prev.end, t.start));
    if (prev?.kind === 'op' && prev.text === ',') space = true;
    if ((prev?.kind === 'op' && OPENERS.has(prev.text)) || (t.kind === 'op' && (CLOSERS.has(t.text) || t.text === ','))) space = false;
    if (top && t.kind === 'op' && t.text === ':') space = false;
    if (top && prev?.kind === 'op' && prev.text === ':') space = true;
    if (top && (isLoneEquals(ts, i) || isLoneEquals(ts, i - 1))) space = annotated;
    if (out !== '' && space) out += ' ';
    out += t.text;
    if (t.kind !== 'op') continue;
    if (OPENERS.has(t.text)) depth++;
    else if (CLOSERS.has(t.text)) depth--;
    else if (top && t.text === ':') annotated = true;
    else if (top && t.text === ',') annotated = false;
  }
  return out;
}

/** The docstring text when the statement is a (possibly implicitly concatenated) plain string literal. */
function docstringOf(statement: readonly Token[]): string | undefined {
  let text = '';
  let i = 0;
  for (; i < statement.length; i++) {
    const t = statement[i] as Token;
    if (t.kind !== 'string') break;
    const p = stringStart(t.text, 0);
    const prefix = t.text.slice(0, p);
    if (/[bBfFtT]/.test(prefix)) return undefined; // bytes and f-strings are not docstrings
    const q = t.text[p] as string;
    const triple = t.text.startsWith(q + q + q, p);
    const width = triple ? 3 : 1;
    text += t.text.slice(p + width, t.text.length - width);
  }
  if (i === 0) return undefined;
  const after = statement[i];
  if (after !== undefined && after.text !== ';') return undefined; // e.g. "abc".upper()
  return text;
}

/**
 * Cleans a docstring the way Python 3.13 stores `__doc__` (common indentation of the lines after
 * the first removed), then applies autogen's `dedent`.
 */
function cleanDocstring(doc: string): string {
  const lines = doc.split('\n');
  let margin = Number.POSITIVE_INFINITY;
  for (const line of lines.slice(1)) {
    const stripped = line.replace(/^[ \t]+/, '');
    if (stripped !== '') margin = Math.min(margin, line.length - stripped.length);
  }
  const cleaned = lines.map((line, i) => (i === 0 ? line : line.trim() === '' ? '' : line.slice(Number.isFinite(margin) ? margin : 0)));
  return dedent(cleaned.join('\n'));
}

/** Python's `textwrap.dedent`: removes the common leading whitespace; blank lines become empty. */
function dedent(text: string): string {
  const lines = text.split('\n').map((l) => (l.trim() === '' ? '' : l));
  let margin: string | undefined;
  for (const line of lines) {
    if (line === '') continue;
    const indent = /^[ \t]*/.exec(line)?.[0] ?? '';
    if (margin === undefined) margin = indent;
    else {
      let n = 0;
      while (n < margin.length && n < indent.length && margin[n] === indent[n]) n++;
      margin = margin.slice(0, n);
    }
  }
  const m = margin ?? '';
  return m === '' ? lines.join('\n') : lines.map((l) => (l.startsWith(m) ? l.slice(m.length) : l)).join('\n');
}

// ---------------------------------------------------------------------------------------------
// Public API.

function checkStringArray(value: unknown, what: string): string[] {
  if (value === undefined) return [];
  if (!Array.isArray(value)) throw new TypeError(`${what} must be an array of strings`);
  return value.map((v, i) => {
    if (typeof v !== 'string' || v.trim() === '') throw new TypeError(`${what}[${i}] must be a non-empty string`);
    return v;
  });
}

function checkImports(value: unknown): Import[] {
  if (value === undefined) return [];
  if (!Array.isArray(value)) throw new TypeError('globalImports must be an array of imports');
  return value.map((i) => {
    importToSource(i as Import); // validates
    return i as Import;
  });
}

/**
 * Makes a {@link FunctionWithRequirements} from Python source, like autogen's
 * `FunctionWithRequirements.from_str`. The source is checked without running Python: it must
 * hold exactly one top-level `def` or `async def` (decorators above it, nested functions inside
 * it and other top-level statements are fine), otherwise it throws
 * `Error('The string must contain exactly one function')`. Unterminated strings, unbalanced
 * brackets and an indented first line throw `Could not compile function: …`.
 *
 * autogen executes the string and counts every function object in the module, so a top-level
 * `lambda` assignment or an imported function also counted there; here only `def` statements do.
 *
 * @param func Python source of the function.
 * @param pythonPackages pip requirement specifiers it needs.
 * @param globalImports imports written at the top of the functions module.
 * @returns the function, with its `name` filled in.
 */
export function functionWithRequirements(
  func: string,
  pythonPackages?: string[],
  globalImports?: Import[],
): FunctionWithRequirements & { name: string } {
  const { name } = parseFunction(func);
  return {
    func,
    pythonPackages: checkStringArray(pythonPackages, 'pythonPackages'),
    globalImports: checkImports(globalImports),
    name,
  };
}

/** The name of the function in `fn.func` (its `name` when set, otherwise parsed from the source). */
export function functionName(fn: FunctionWithRequirements): string {
  if (typeof fn !== 'object' || fn === null) throw new TypeError('expected a FunctionWithRequirements object');
  if (typeof fn.name === 'string' && fn.name !== '') return fn.name;
  return parseFunction(fn.func).name;
}

function checkName(value: unknown, what: string): string {
  if (typeof value !== 'string' || value.trim() === '') throw new TypeError(`${what} must be a non-empty string`);
  return value;
}

function isAlias(value: unknown): value is Alias {
  return typeof value === 'object' && value !== null && 'name' in value && 'alias' in value;
}

/**
 * Python source of one import: `import x`, `import name as alias` or `from m import a, b as c`
 * (autogen's `import_to_str`).
 */
export function importToSource(i: Import): string {
  if (typeof i === 'string') return `import ${checkName(i, 'import')}`;
  if (typeof i === 'object' && i !== null && 'module' in i) {
    const module = checkName(i.module, 'ImportFromModule.module');
    if (!Array.isArray(i.imports) || i.imports.length === 0)
      throw new TypeError(`ImportFromModule.imports of '${module}' must be a non-empty array`);
    const names = i.imports.map((n) =>
      typeof n === 'string'
        ? checkName(n, 'ImportFromModule.imports[]')
        : isAlias(n)
          ? `${checkName(n.name, 'Alias.name')} as ${checkName(n.alias, 'Alias.alias')}`
          : (() => {
              throw new TypeError(`ImportFromModule.imports of '${module}' must hold strings or { name, alias } objects`);
            })(),
    );
    return `from ${module} import ${names.join(', ')}`;
  }
  if (isAlias(i)) return `import ${checkName(i.name, 'Alias.name')} as ${checkName(i.alias, 'Alias.alias')}`;
  throw new TypeError('an import must be a string, { name, alias } or { module, imports }');
}

/**
 * The functions module's source, laid out like autogen's `build_python_functions_file`: the global
 * imports of every function (deduplicated and sorted, `from __future__` first, so the file is
 * deterministic, unlike autogen's set), joined by newlines, then a blank line, then each
 * function's source as given followed by `"\n\n"`. Throws when a source does not hold exactly one
 * function or two functions share a name.
 */
export function buildFunctionsModule(functions: readonly FunctionWithRequirements[]): string {
  const imports = new Set<string>();
  const names = new Set<string>();
  for (const fn of functions) {
    const name = functionName(fn);
    if (names.has(name)) throw new Error(`Two functions are named '${name}'; function names must be unique`);
    names.add(name);
    for (const i of fn.globalImports ?? []) imports.add(importToSource(i));
  }
  const future = (line: string): number => (line.startsWith('from __future__ ') ? 0 : 1);
  const sorted = [...imports].sort((a, b) => future(a) - future(b) || (a < b ? -1 : a > b ? 1 : 0));
  let content = `${sorted.join('\n')}\n\n`;
  for (const fn of functions) content += `${fn.func}\n\n`;
  return content;
}

/**
 * Every pip package the functions need: the union over all functions, deduplicated and sorted.
 * autogen installed only the packages of callables and ignored those of string functions (its bug B13).
 */
export function requiredPackages(functions: readonly FunctionWithRequirements[]): string[] {
  const all = new Set<string>();
  for (const fn of functions) for (const p of checkStringArray(fn.pythonPackages, 'pythonPackages')) all.add(p.trim());
  return [...all].sort();
}

/**
 * A stub of the function for a prompt, like autogen's `to_stub`: `def <name><signature>:`, then the
 * docstring (if any) dedented, wrapped in triple quotes and indented 4 spaces, then `    ...`.
 * The signature is read from the source and put on one line (`(a: int, b: int) -> int`).
 * `async def` stays `async def` (autogen printed `def`).
 */
export function toStub(fn: FunctionWithRequirements): string {
  if (typeof fn !== 'object' || fn === null) throw new TypeError('expected a FunctionWithRequirements object');
  const parsed = parseFunction(fn.func);
  let content = `${parsed.isAsync ? 'async ' : ''}def ${parsed.name}${parsed.typeParams}${parsed.signature}:\n`;
  if (parsed.docstring !== undefined && parsed.docstring !== '') {
    const doc = cleanDocstring(parsed.docstring);
    let quote = '"""';
    let body = doc;
    if (doc.includes('"""') || doc.endsWith('"')) {
      if (!doc.includes("'''") && !doc.endsWith("'")) quote = "'''";
      else body = doc.replace(/"/g, '\\"');
    }
    const wrapped = quote + body + quote;
    content += `${wrapped
      .split('\n')
      .map((l) => (l.trim() === '' ? l : `    ${l}`))
      .join('\n')}\n`;
  }
  return `${content}    ...`;
}

const TEMPLATE_PATTERN = /\$(?:(\$)|([_a-z][_a-z0-9]*)|\{([_a-z][_a-z0-9]*)\}|())/gi;

/**
 * Fills a prompt template like Python's `string.Template.substitute`: `$module_name` and
 * `${module_name}` become `moduleName`, `$functions` and `${functions}` become every function's
 * {@link toStub} joined by a blank line, and `$$` becomes `$`. An unknown placeholder or a `$`
 * not followed by a name throws.
 *
 * @param functions the functions to describe.
 * @param moduleName the module they are imported from (the executor's `functionsModule`).
 * @param template the template; default {@link FUNCTION_PROMPT_TEMPLATE}.
 */
export function formatFunctionsForPrompt(
  functions: readonly FunctionWithRequirements[],
  moduleName: string,
  template: string = FUNCTION_PROMPT_TEMPLATE,
): string {
  const values: Record<string, string> = {
    module_name: moduleName,
    functions: functions.map((f) => toStub(f)).join('\n\n'),
  };
  return template.replace(
    TEMPLATE_PATTERN,
    (match: string, escaped?: string, named?: string, braced?: string, _invalid?: string, offset = 0) => {
      if (escaped !== undefined) return '$';
      const key = named ?? braced;
      if (key === undefined) {
        const before = template.slice(0, offset);
        const line = before.split('\n').length;
        const col = offset - before.lastIndexOf('\n');
        throw new Error(`Invalid placeholder in the prompt template: line ${line}, col ${col}`);
      }
      const value = values[key];
      if (value === undefined) throw new Error(`Unknown placeholder ${match} in the prompt template (known: $module_name, $functions)`);
      return value;
    },
  );
}
