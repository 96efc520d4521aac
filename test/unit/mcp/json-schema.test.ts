import { describe, expect, it } from 'vitest';
import { type ObjectSchema, validateArguments } from '../../../src/agents/json-schema.js';

const schema: ObjectSchema = {
  type: 'object',
  properties: {
    language: { type: 'string', enum: ['python', 'sh'] },
    code: { type: 'string' },
    timeout: { type: 'integer', minimum: 1, maximum: 60 },
    verbose: { type: 'boolean' },
  },
  required: ['language', 'code'],
  additionalProperties: false,
};

describe('validateArguments', () => {
  it('accepts arguments that fit', () => {
    expect(validateArguments(schema, { language: 'sh', code: 'x', timeout: 5, verbose: true })).toEqual([]);
  });

  it('names each argument that does not fit', () => {
    expect(validateArguments(schema, { language: 'ruby', timeout: 1.5, verbose: 'yes', extra: 1 })).toEqual([
      'argument `code` is required',
      'argument `language` must be one of "python", "sh", got the string "ruby"',
      'argument `timeout` must be a whole number, got number 1.5',
      'argument `verbose` must be a boolean, got the string "yes"',
      'unknown argument `extra` (this tool takes `language`, `code`, `timeout`, `verbose`)',
    ]);
    expect(validateArguments(schema, { language: 'sh', code: 'x', timeout: 0 })).toEqual(['argument `timeout` must be at least 1, got 0']);
    expect(validateArguments(schema, { language: 'sh', code: 'x', timeout: 61 })).toEqual([
      'argument `timeout` must be at most 60, got 61',
    ]);
  });

  it('refuses arguments that are not an object, and treats missing ones as empty', () => {
    expect(validateArguments(schema, [1])).toEqual(['arguments must be an object, got an array']);
    expect(validateArguments(schema, 'x')).toEqual(['arguments must be an object, got the string "x"']);
    expect(validateArguments({ type: 'object', properties: {}, additionalProperties: false }, undefined)).toEqual([]);
  });
});
