import { readdirSync, readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';
import * as testing from '../../../src/testing/index.js';

const dir = fileURLToPath(new URL('../../../src/testing/', import.meta.url));

describe('berth/testing entry point', () => {
  it('exports the API the issue names, and nothing loads msw until mswHandlers is called', () => {
    expect(Object.keys(testing).sort()).toEqual([
      'FIXTURE_FORMAT',
      'FixtureMismatchError',
      'isFixtureMismatchError',
      'mswHandlers',
      'recordedBodyBytes',
      'recordingClient',
      'replayClient',
    ]);
    // msw is an optional peer dependency: only `import type` and the require inside mswHandlers.
    for (const name of readdirSync(dir).filter((n) => n.endsWith('.ts'))) {
      const text = readFileSync(`${dir}${name}`, 'utf8');
      const staticImports = [...text.matchAll(/^import(?! type)[^;]*? from '([^']+)';/gms)].map((m) => m[1]);
      expect(
        staticImports.filter((spec) => spec?.startsWith('msw')),
        name,
      ).toEqual([]);
    }
  });

  it('replayClient of a folder without a recording says so', () => {
    expect(() => testing.replayClient('/nonexistent/berth-recording')).toThrow(
      expect.objectContaining({
        argument: 'dir',
        message: expect.stringMatching(/^dir: no recording in \/nonexistent\/berth-recording: cannot read meta\.json/),
      }),
    );
  });

  it('replayClient refuses an unknown order', () => {
    const fixtures = fileURLToPath(new URL('../../../fixtures/system', import.meta.url));
    expect(() => testing.replayClient(fixtures, { order: 'random' as never })).toThrow(
      expect.objectContaining({
        code: 'BERTH_ERR_INVALID_ARGUMENT',
        argument: 'order',
        message: `order: must be 'strict' or 'any', got "random"`,
      }),
    );
  });
});
