/**
 * The README's quick start, pasted as a user would: its TypeScript block is transpiled (as tsc or
 * tsx would, `await using` included) and run with Node against the built package and the engine.
 */
import { spawnSync } from 'node:child_process';
import { existsSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import ts from 'typescript';
import { expect, it } from 'vitest';
import { DockerClient } from '../../src/engine/index.js';

it('the README quick start runs when pasted, and leaves no container behind', async () => {
  const readme = readFileSync(join(process.cwd(), 'README.md'), 'utf8');
  const section = readme.slice(readme.indexOf('## Quick start'));
  const block = /```ts\n([\s\S]*?)```/.exec(section)?.[1];
  expect(block).toContain('await using executor');
  const dist = join(process.cwd(), 'dist/index.js');
  if (!existsSync(dist)) throw new Error('dist/ is missing: npm test builds it before the tests (npm run build)');
  const { outputText } = ts.transpileModule(block as string, {
    compilerOptions: { target: ts.ScriptTarget.ES2022, module: ts.ModuleKind.ESNext },
  });
  // Inside the package, so that `import … from 'berth'` resolves to this package (its exports map).
  const file = join(process.cwd(), 'test', `.quick-start-${process.pid}.mjs`);
  writeFileSync(file, outputText);
  try {
    const run = spawnSync(process.execPath, [file], { encoding: 'utf8', timeout: 120_000 });
    expect(run.stderr).toBe('');
    expect(run.status).toBe(0);
    expect(run.stdout).toMatch(/^\d+\.\d+[^\n]*\nhello from python\nhi\n0 \/\S+\.py\n$/);
    const docker = new DockerClient();
    try {
      const left = await docker.containers.list({ all: true, filters: { label: [`berth.host.pid=${run.pid}`] } });
      expect(left).toEqual([]);
    } finally {
      await docker.close();
    }
  } finally {
    rmSync(file, { force: true });
  }
});
