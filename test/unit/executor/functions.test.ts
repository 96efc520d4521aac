import { describe, expect, it } from 'vitest';
import {
  buildFunctionsModule,
  FUNCTION_PROMPT_TEMPLATE,
  type FunctionWithRequirements,
  formatFunctionsForPrompt,
  functionName,
  functionWithRequirements,
  importToSource,
  isValidModuleName,
  requiredPackages,
  toStub,
} from '../../../src/executor/functions.js';

const ADD = `def add_two_numbers(a: int, b: int) -> int:
    """Add two numbers together."""
    return a + b
`;

const ADD_STUB = 'def add_two_numbers(a: int, b: int) -> int:\n    """Add two numbers together."""\n    ...';

function stub(source: string): string {
  return toStub(functionWithRequirements(source));
}

describe('functionWithRequirements', () => {
  it('extracts the name and copies packages and imports', () => {
    const packages = ['pandas'];
    const fn = functionWithRequirements(ADD, packages, ['os']);
    expect(fn).toEqual({ func: ADD, pythonPackages: ['pandas'], globalImports: ['os'], name: 'add_two_numbers' });
    packages.push('numpy');
    expect(fn.pythonPackages).toEqual(['pandas']);
  });

  it('defaults packages and imports to empty lists', () => {
    const fn = functionWithRequirements('def f():\n    pass\n');
    expect(fn.pythonPackages).toEqual([]);
    expect(fn.globalImports).toEqual([]);
  });

  it('accepts decorators, constants, comments, nested defs, classes and methods', () => {
    const source = [
      '# a helper',
      'import math',
      'LIMIT = 10',
      '',
      '@functools.lru_cache(',
      '    maxsize=None,',
      ')',
      'def outer(x):',
      '    def inner(y):',
      '        return y',
      '    async def inner_async():',
      '        pass',
      '    return inner(x)',
      '',
      'class Helper:',
      '    def method(self):',
      '        pass',
      '',
      'if __name__ == "__main__":',
      '    print(outer(1))',
    ].join('\n');
    expect(functionWithRequirements(source).name).toBe('outer');
  });

  it('accepts async def', () => {
    expect(functionWithRequirements('async def fetch(url):\n    return url\n').name).toBe('fetch');
  });

  it('ignores def inside strings and comments', () => {
    const source = 'TEXT = """\ndef fake():\n    pass\n"""\n# def other(): pass\ndef real():\n    s = "def x(): pass"\n    return s\n';
    expect(functionWithRequirements(source).name).toBe('real');
  });

  it('accepts a one-line function and Windows line endings', () => {
    expect(functionWithRequirements('def one(x): return x').name).toBe('one');
    expect(functionWithRequirements('def crlf(x):\r\n    return x\r\n').name).toBe('crlf');
  });

  it('accepts Unicode names', () => {
    expect(functionWithRequirements('def grüße():\n    pass\n').name).toBe('grüße');
  });

  it('throws when there is no function', () => {
    expect(() => functionWithRequirements('x = 1\n')).toThrow(new Error('The string must contain exactly one function'));
    expect(() => functionWithRequirements('f = lambda x: x\n')).toThrow('The string must contain exactly one function');
  });

  it('throws when there are two functions', () => {
    expect(() => functionWithRequirements('def a():\n    pass\n\ndef b():\n    pass\n')).toThrow(
      new Error('The string must contain exactly one function'),
    );
    expect(() => functionWithRequirements('def a():\n    pass\nasync def b():\n    pass\n')).toThrow(
      'The string must contain exactly one function',
    );
  });

  it('throws for empty and non-string sources', () => {
    expect(() => functionWithRequirements('')).toThrow(/non-empty/);
    expect(() => functionWithRequirements('   \n  ')).toThrow(/non-empty/);
    expect(() => functionWithRequirements(42 as unknown as string)).toThrow(TypeError);
    expect(() => functionWithRequirements(undefined as unknown as string)).toThrow(/must be a string/);
  });

  it('throws for sources Python could not compile', () => {
    expect(() => functionWithRequirements('def f(:\n    pass\n')).toThrow(/Could not compile function/);
    expect(() => functionWithRequirements('def f():\n    return """never closed\n')).toThrow(/unterminated string/);
    expect(() => functionWithRequirements('def f():\n    return "x\n')).toThrow(/unterminated string/);
    expect(() => functionWithRequirements('def f():\n    return (1]\n')).toThrow(/unmatched/);
    expect(() => functionWithRequirements('def f()\n    pass\n')).toThrow(/expected ':'/);
    expect(() => functionWithRequirements('def class():\n    pass\n')).toThrow(/invalid syntax/);
  });

  it('throws a clear error for a uniformly indented source', () => {
    expect(() => functionWithRequirements('\n    def f():\n        pass\n')).toThrow(/unexpected indent.*dedent/);
  });

  it('validates packages and imports', () => {
    expect(() => functionWithRequirements(ADD, 'pandas' as unknown as string[])).toThrow(TypeError);
    expect(() => functionWithRequirements(ADD, [''])).toThrow(/pythonPackages\[0\]/);
    expect(() => functionWithRequirements(ADD, [], [42 as unknown as string])).toThrow(TypeError);
  });
});

describe('functionName', () => {
  it('uses name when set and parses the source otherwise', () => {
    expect(functionName({ func: ADD })).toBe('add_two_numbers');
    expect(functionName(functionWithRequirements(ADD))).toBe('add_two_numbers');
  });

  it('validates a plain object', () => {
    expect(() => functionName({ func: 'x = 1' })).toThrow('The string must contain exactly one function');
  });
});

describe('toStub', () => {
  it('matches autogen for a one-line docstring', () => {
    expect(stub(ADD)).toBe(ADD_STUB);
  });

  it('writes only the signature and ... without a docstring', () => {
    expect(stub('def f(x, y=2):\n    return x + y\n')).toBe('def f(x, y=2):\n    ...');
    expect(stub('def g(): return 1')).toBe('def g():\n    ...');
  });

  it('does not take a string expression that is not a docstring', () => {
    expect(stub('def f():\n    "abc".upper()\n')).toBe('def f():\n    ...');
    expect(stub('def f():\n    x = "doc"\n')).toBe('def f():\n    ...');
    expect(stub('def f():\n    f"doc {x}"\n')).toBe('def f():\n    ...');
  });

  it('collapses a multi-line signature with comments and a trailing comma', () => {
    const source = [
      'def load(',
      '    path: str,  # where from',
      '    limit: int = 10,',
      '    *,',
      '    sep: str = ",",',
      ') -> list[',
      '    str',
      ']:',
      '    return []',
    ].join('\n');
    expect(stub(source)).toBe('def load(path: str, limit: int = 10, *, sep: str = ",") -> list[str]:\n    ...');
  });

  it('keeps defaults with parentheses and strings holding ) verbatim', () => {
    const source = 'def f(a=(1, 2), b="x)", c=\')(\', d=(1,), e: tuple[int, ...] = (), **kw) -> None:\n    pass\n';
    expect(stub(source)).toBe('def f(a=(1, 2), b="x)", c=\')(\', d=(1,), e: tuple[int, ...] = (), **kw) -> None:\n    ...');
  });

  it('normalises spacing like inspect.signature', () => {
    expect(stub("def f( a:int,b : str='s  t' ,c = 3 )->dict[ str,int ]:\n    pass\n")).toBe(
      "def f(a: int, b: str = 's  t', c=3) -> dict[str, int]:\n    ...",
    );
    expect(stub('def f(x=a==b, y=a<=b, *args, **kwargs):\n    pass\n')).toBe('def f(x=a==b, y=a<=b, *args, **kwargs):\n    ...');
  });

  it('keeps async def', () => {
    expect(stub('async def fetch(url: str) -> bytes:\n    """Fetch a URL."""\n    return b""\n')).toBe(
      'async def fetch(url: str) -> bytes:\n    """Fetch a URL."""\n    ...',
    );
  });

  it('finds the def under decorators', () => {
    expect(stub('@decorator(")")\ndef d(x):\n    """Doc."""\n    return x\n')).toBe('def d(x):\n    """Doc."""\n    ...');
  });

  it('handles single-quoted and one-line double-quoted docstrings', () => {
    expect(stub("def f():\n    '''Single quoted.'''\n")).toBe('def f():\n    """Single quoted."""\n    ...');
    expect(stub("def f():\n    'Short.'\n")).toBe('def f():\n    """Short."""\n    ...');
    expect(stub('def f():\n    "Short."\n    return 1\n')).toBe('def f():\n    """Short."""\n    ...');
    expect(stub('def f(): "Same line."; return 1')).toBe('def f():\n    """Same line."""\n    ...');
    expect(stub('def f():\n    r"""Raw \\d."""\n')).toBe('def f():\n    """Raw \\d."""\n    ...');
  });

  it('skips comments before the docstring', () => {
    expect(stub('def f():\n    # note\n\n    """Doc."""\n')).toBe('def f():\n    """Doc."""\n    ...');
  });

  it('dedents and indents a multi-line docstring', () => {
    const source = ['def f(a):', '    """Summary line.', '', '    Args:', '        a: the value.', '    """', '    return a'].join('\n');
    expect(stub(source)).toBe(
      ['def f(a):', '    """Summary line.', '', '    Args:', '        a: the value.', '    """', '    ...'].join('\n'),
    );
  });

  it('dedents a docstring that starts on its own line', () => {
    const source = 'def f():\n    """\n    Summary.\n    """\n';
    expect(stub(source)).toBe('def f():\n    """\n    Summary.\n    """\n    ...');
  });

  it('switches quotes when the docstring holds """', () => {
    expect(stub('def f():\n    \'\'\'Say """hi""".\'\'\'\n')).toBe('def f():\n    \'\'\'Say """hi""".\'\'\'\n    ...');
  });

  it('copes with f-strings in the body', () => {
    const source = 'def f(d):\n    """Doc."""\n    return f"{d["k"]!r:>{10}} {{literal}} {\'x\'}"\n';
    expect(stub(source)).toBe('def f(d):\n    """Doc."""\n    ...');
  });

  it('keeps type parameters', () => {
    expect(stub('def first[T](xs: list[T]) -> T:\n    return xs[0]\n')).toBe('def first[T](xs: list[T]) -> T:\n    ...');
  });
});

describe('formatFunctionsForPrompt', () => {
  it('uses autogen’s template text', () => {
    expect(FUNCTION_PROMPT_TEMPLATE).toBe(
      'You have access to the following user defined functions. They can be accessed from the module called `$module_name` by their function names.\n\nFor example, if there was a function called `foo` you could import it by writing `from $module_name import foo`\n\n$functions',
    );
  });

  it('contains the stub lines', () => {
    const prompt = formatFunctionsForPrompt([functionWithRequirements(ADD)], 'functions');
    expect(prompt).toContain('def add_two_numbers(a: int, b: int) -> int:\n    """Add two numbers together."""');
    expect(prompt).toContain('from the module called `functions`');
    expect(prompt).toContain('by writing `from functions import foo`');
    expect(prompt.endsWith(ADD_STUB)).toBe(true);
  });

  it('joins stubs with a blank line', () => {
    const prompt = formatFunctionsForPrompt(
      [functionWithRequirements('def a():\n    pass\n'), functionWithRequirements('def b():\n    pass\n')],
      'tools',
      '$functions',
    );
    expect(prompt).toBe('def a():\n    ...\n\ndef b():\n    ...');
  });

  it('substitutes $name, the braced form and $$ like string.Template', () => {
    const fns = [functionWithRequirements('def a():\n    pass\n')];
    expect(formatFunctionsForPrompt(fns, 'mod', 'Use ${module_name}_x and $module_name; cost $$5.\n${functions}')).toBe(
      'Use mod_x and mod; cost $5.\ndef a():\n    ...',
    );
  });

  it('throws for unknown and invalid placeholders', () => {
    expect(() => formatFunctionsForPrompt([], 'm', 'Hi $who')).toThrow(/Unknown placeholder \$who/);
    expect(() => formatFunctionsForPrompt([], 'm', 'line\ncost $5')).toThrow(/Invalid placeholder.*line 2, col 6/);
  });

  it('formats an empty list', () => {
    expect(formatFunctionsForPrompt([], 'm', '[$functions]')).toBe('[]');
  });
});

describe('importToSource', () => {
  it('renders the three forms', () => {
    expect(importToSource('os')).toBe('import os');
    expect(importToSource({ name: 'pandas', alias: 'pd' })).toBe('import pandas as pd');
    expect(importToSource({ module: 'pandas', imports: ['DataFrame', 'concat'] })).toBe('from pandas import DataFrame, concat');
    expect(importToSource({ module: 'os', imports: ['path', { name: 'getcwd', alias: 'cwd' }] })).toBe(
      'from os import path, getcwd as cwd',
    );
  });

  it('rejects malformed imports', () => {
    expect(() => importToSource({ module: 'x', imports: [] })).toThrow(TypeError);
    expect(() => importToSource('')).toThrow(TypeError);
    expect(() => importToSource({ foo: 1 } as unknown as string)).toThrow(TypeError);
  });
});

describe('buildFunctionsModule', () => {
  it('lays the module out like autogen: imports, blank line, each source plus two newlines', () => {
    const a = functionWithRequirements('def a():\n    return os.getcwd()', [], ['os']);
    expect(buildFunctionsModule([a])).toBe('import os\n\ndef a():\n    return os.getcwd()\n\n');
  });

  it('starts with a blank line when there are no imports', () => {
    expect(buildFunctionsModule([{ func: 'def a(): pass' }])).toBe('\n\ndef a(): pass\n\n');
    expect(buildFunctionsModule([])).toBe('\n\n');
  });

  it('deduplicates and sorts imports, from __future__ first', () => {
    const a = functionWithRequirements(
      'def a(): pass',
      [],
      ['sys', { name: 'pandas', alias: 'pd' }, { module: 'pandas', imports: ['DataFrame', 'concat'] }],
    );
    const b = functionWithRequirements(
      'def b(): pass',
      [],
      ['os', 'sys', { name: 'pandas', alias: 'pd' }, { module: '__future__', imports: ['annotations'] }],
    );
    expect(buildFunctionsModule([b, a])).toBe(
      [
        'from __future__ import annotations',
        'from pandas import DataFrame, concat',
        'import os',
        'import pandas as pd',
        'import sys',
        '',
        'def b(): pass',
        '',
        'def a(): pass',
        '',
        '',
      ].join('\n'),
    );
  });

  it('keeps each source as given, decorators included', () => {
    const source = '@cache\ndef c(x):\n    return x\n';
    expect(buildFunctionsModule([functionWithRequirements(source)])).toBe(`\n\n${source}\n\n`);
  });

  it('rejects duplicate names and invalid sources', () => {
    const a = functionWithRequirements('def a(): pass');
    expect(() => buildFunctionsModule([a, { func: 'def a():\n    return 1' }])).toThrow(/named 'a'/);
    expect(() => buildFunctionsModule([{ func: 'x = 1' }])).toThrow('The string must contain exactly one function');
  });
});

describe('requiredPackages', () => {
  it('takes the union of every function’s packages, deduplicated and sorted', () => {
    const fns: FunctionWithRequirements[] = [
      functionWithRequirements('def a(): pass', ['polars', 'numpy']),
      { func: 'def b(): pass', pythonPackages: ['requests', 'numpy'] },
      { func: 'def c(): pass' },
    ];
    expect(requiredPackages(fns)).toEqual(['numpy', 'polars', 'requests']);
    expect(requiredPackages([])).toEqual([]);
  });
});

describe('isValidModuleName', () => {
  it.each(['functions', '_x', 'mod2', 'grüße', 'match', 'type'])('accepts %j', (name) => {
    expect(isValidModuleName(name)).toBe(true);
  });

  it.each(['class', 'def', 'None', 'import', 'await', '1abc', 'a-b', '', 'a.b', 'a b', ' x'])('rejects %j', (name) => {
    expect(isValidModuleName(name)).toBe(false);
  });

  it('rejects non-strings', () => {
    expect(isValidModuleName(undefined as unknown as string)).toBe(false);
  });
});
